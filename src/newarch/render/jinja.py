"""conda-build's render context for meta.yaml Jinja, and the spec helpers it shares.

The context mirrors conda-build's ``_get_contents``: the selector namespace, ``environ.get_dict``
(``PY_VER``, ``PYTHON``, ``PREFIX``, ``PKG_*``, variant keys as strings ...) and the
``context_processor`` functions (``compiler``, ``stdlib``, ``cdt``, ``pin_subpackage``,
``pin_compatible``, ``load_*`` stand-ins that never read a file, ``datetime`` at a fixed date).
Templates are rendered in the sandbox of ``jinja_sandbox.py``.
"""

from __future__ import annotations

import datetime as _dt
import json
import re
import time
import tomllib
from dataclasses import dataclass, field
from typing import Any
from collections.abc import Mapping

import jinja2

from newarch.errors import RenderError
from newarch.render.selector_namespace import Environ, OSModule, py_int
from newarch.render.sizes import too_large
from newarch.render.jinja_sandbox import MAX_VALUE_CHARS, _budget

FIXED_NOW = _dt.datetime(2026, 1, 1, 0, 0, 0)

# conda-build's DEFAULT_COMPILERS (variants.py)
DEFAULT_COMPILERS: dict[str, dict[str, Any]] = {
    "win": {
        "c": {"2.7": "vs2008", "3.3": "vs2010", "3.4": "vs2010", "3.5": "vs2017", "3.6": "vs2022"},
        "cxx": {"2.7": "vs2008", "3.3": "vs2010", "3.4": "vs2010", "3.5": "vs2017", "3.6": "vs2022"},
        "vc": {"2.7": "9", "3.3": "10", "3.4": "10", "3.5": "14", "3.6": "17"},
        "fortran": "gfortran",
    },
    "linux": {"c": "gcc", "cxx": "gxx", "fortran": "gfortran"},
    "osx": {"c": "clang", "cxx": "clangxx", "fortran": "gfortran"},
}
# conda-build utils.spec_needing_star_re
_SPEC_NEEDING_STAR = re.compile(r"([\w\d\.\-\_]+)\s+((?<![><=])[\w\d\.\-\_]+?(?!\*))(\s+[\w\d\.\_]+)?$")
PIN_MARK = "@@NEWARCH_PIN_"
_PIN_RE = re.compile(r"@@NEWARCH_PIN_(\d+)@@")


def ensure_valid_spec(spec: str) -> str:
    """conda-build's ``ensure_valid_spec``: ``gcc_linux-64 15`` -> ``gcc_linux-64 15.*``."""
    match = _SPEC_NEEDING_STAR.match(spec)
    if match and not match.group(3):
        if match.group(1) in ("python", "numpy") and match.group(2) == "x.x":
            return _SPEC_NEEDING_STAR.sub(r"\1 \2", spec)
        if "*" not in spec:
            return _SPEC_NEEDING_STAR.sub(r"\1 \2.*", spec)
    return spec


def _increment(part: str, alpha_next: bool) -> str:
    try:
        return str(int(part) + 1) + ("a" if alpha_next else ".0a0")
    except ValueError:
        return chr(ord(part[-1]) + 1) if part else part


def apply_pin_expressions(version: str, min_pin: str | None = "x.x.x.x.x.x.x", max_pin: str | None = "x") -> str:
    """conda-build's ``apply_pin_expressions`` for plain dotted versions (``1.2.3`` -> ``>=1.2.3,<2.0a0``)."""
    flat = [p for p in re.split(r"[._-]", version.rstrip("*").rstrip(".")) if p]
    if not flat:
        return ""
    pins = [len(p.split(".")) if p else None for p in (min_pin, max_pin)]
    if max_pin and len(max_pin.split(".")) > len(flat):
        pins[1] = len(flat)
    out = ["", ""]
    for idx, pin in enumerate(pins):
        if not pin:
            continue
        parts = flat[:pin]
        if idx == 1:
            alpha_next = str(flat[min(pin, len(flat) - 1)]).isalpha()
            parts = parts[:-1] + [_increment(parts[-1], alpha_next)]
        out[idx] = ".".join(parts)
    if out[0]:
        out[0] = ">=" + out[0]
    if out[1]:
        out[1] = "<" + out[1]
    return ",".join(x for x in out if x)


# ----------------------------------------------------------------------------- context


class _FixedDatetimeClass:
    """``datetime.datetime`` with ``now()``/``today()``/``utcnow()`` pinned to a fixed date."""

    def now(self, tz: Any = None) -> _dt.datetime:
        return FIXED_NOW

    today = utcnow = now

    def __call__(self, *args: Any) -> _dt.datetime:
        return _dt.datetime(*args)


class _FixedDateClass:
    def today(self) -> _dt.date:
        return FIXED_NOW.date()

    def __call__(self, *args: int) -> _dt.date:
        return _dt.date(*args)


class _FixedDatetimeModule:
    datetime = _FixedDatetimeClass()
    date = _FixedDateClass()
    timedelta = _dt.timedelta


_StructTime = time.struct_time  # the name ``time`` inside _FixedTimeModule is its method


class _FixedTimeModule:
    def time(self) -> float:
        return FIXED_NOW.timestamp()

    def strftime(self, fmt: str, t: Any = None) -> str:
        return FIXED_NOW.strftime(fmt)

    def gmtime(self, t: Any = None) -> _StructTime:
        return FIXED_NOW.timetuple()

    localtime = gmtime


@dataclass(slots=True)
class PinRequest:
    """A ``pin_subpackage`` call, resolved after all outputs' versions are known."""

    name: str
    min_pin: str | None
    max_pin: str | None
    exact: bool


@dataclass(slots=True)
class RenderContext:
    """What one variant's Jinja render needs and what it learns (pins, used names)."""

    host: str
    build: str
    variant: dict[str, str]
    env: dict[str, str]
    selectors: dict[str, Any]
    recipe_display: str = "recipe"
    switches: list[bool] = field(default_factory=list)  # selector outcomes for ``_newarch_sel``
    pins: list[PinRequest] = field(default_factory=list)
    pkg_name: str = ""
    pkg_version: str = ""
    pkg_buildnum: str = "0"
    # names conda-build reads from the fetched source (``GIT_DESCRIBE_TAG`` ...): stand-ins
    source_vars: dict[str, str] = field(default_factory=dict)

    # --- conda-build jinja functions -------------------------------------------------

    def _target(self, language: Any, component: str) -> str:
        language = str(language)
        platform = self.host.split("-")[0]
        prefix: Any = language
        if component == "compiler":
            prefix = DEFAULT_COMPILERS.get(platform, {}).get(language, language)
            if isinstance(prefix, dict):
                prefix = prefix.get(self.variant.get("python", "nope"), "vs2017")
        key = f"{language}_{component}"
        prefix = self.variant.get(key, prefix)
        version = self.variant.get(key + "_version")
        target_platform = self.variant.get("target_platform", self.host)
        package = f"{prefix}_{target_platform}"
        if version:
            package = ensure_valid_spec(f"{package} {version}")
        return package

    def compiler(self, language: Any, *args: Any, **kwargs: Any) -> str:
        return self._target(language, "compiler")

    def stdlib(self, language: Any, *args: Any, **kwargs: Any) -> str:
        return self._target(language, "stdlib")

    def cdt(self, package_name: Any, *args: Any, **kwargs: Any) -> str:
        arch = self.host.split("-", 1)[1] if "-" in self.host else self.host
        if arch == "64":
            cdt_arch, cdt_name = "x86_64", "cos6"
        elif arch == "32":
            cdt_arch, cdt_name = "i686", "cos6"
        else:
            cdt_arch, cdt_name = arch, "cos7"
        cdt_name = self.variant.get("cdt_name", cdt_name)
        cdt_arch = self.variant.get("cdt_arch", cdt_arch)
        text = str(package_name)
        if " " in text:
            name, *rest = text.split(" ")
            return f"{name}-{cdt_name}-{cdt_arch} " + " ".join(rest)
        return f"{text}-{cdt_name}-{cdt_arch}"

    def pin_subpackage(
        self,
        subpackage_name: Any,
        min_pin: Any = "x.x.x.x.x.x",
        max_pin: Any = "x",
        exact: Any = False,
        *args: Any,
        **kwargs: Any,
    ) -> str:
        self.pins.append(PinRequest(str(subpackage_name), _opt_str(min_pin), _opt_str(max_pin), bool(exact)))
        return f"{subpackage_name} {PIN_MARK}{len(self.pins) - 1}@@"

    def pin_compatible(
        self,
        package_name: Any,
        lower_bound: Any = None,
        upper_bound: Any = None,
        min_pin: Any = "x.x.x.x.x.x",
        max_pin: Any = "x",
        exact: Any = False,
        *args: Any,
        **kwargs: Any,
    ) -> str:
        """The installed host version is unknown without solving; use ``lower_bound`` or the variant value."""
        name = str(package_name)
        version = str(lower_bound) if lower_bound else self.variant.get(name.replace("-", "_"))
        if version:
            version = version.split(" ")[0]
        if exact:
            return f"{name} {version}" if version else name
        if upper_bound:
            lower = f">={version}," if version and (min_pin or lower_bound) else ""
            return f"{name} {lower}<{upper_bound}"
        if version and "*" not in version:
            comp = apply_pin_expressions(version, _opt_str(min_pin), _opt_str(max_pin))
            return f"{name} {comp}" if comp else name
        return name

    def context(self) -> dict[str, Any]:
        """The Jinja globals, layered like conda-build: selectors, get_dict, context_processor."""
        env_dict = self.environ_dict()
        ctx: dict[str, Any] = dict(self.selectors)
        ctx.update(env_dict)
        ctx["CONDA_BUILD_STATE"] = "RENDER"
        environ = dict(self.env)
        environ.update(env_dict)
        none = _return_none
        ctx.update(
            compiler=self.compiler,
            stdlib=self.stdlib,
            cdt=self.cdt,
            pin_subpackage=self.pin_subpackage,
            pin_compatible=self.pin_compatible,
            load_setup_py_data=_return_empty,
            load_setuptools=_return_empty,
            load_npm=_return_empty,
            load_file_regex=none,
            load_file_data=_return_empty,
            load_str_data=load_str_data,
            installed={},
            resolved_packages=_return_list,
            ccache=_ccache,
            time=_FixedTimeModule(),
            datetime=_FixedDatetimeModule(),
            environ=Environ(environ),
            os=OSModule(Environ(environ)),
            _newarch_sel=self.switches,
        )
        return ctx

    def environ_dict(self) -> dict[str, str]:
        """The string variables of conda-build's ``environ.get_dict`` (paths are placeholders)."""
        win = self.host.startswith("win-")
        root = "C:/b" if win else "/b"  # placeholder paths, plain YAML scalars on every platform
        prefix = f"{root}/h_env"
        py = self.variant.get("python") or "3.12"
        py_ver = ".".join(py.split(" ")[0].split(".")[:2]).rstrip(".*")
        npy = self.variant.get("numpy") or "1.26"
        arch = self.host.split("-", 1)[1] if "-" in self.host else ""
        d = {
            "CONDA_BUILD": "1",
            "PYTHONNOUSERSITE": "1",
            "ARCH": {"64": "64", "32": "32"}.get(arch, arch),
            "PREFIX": prefix,
            "BUILD_PREFIX": f"{root}/build_env",
            "SRC_DIR": f"{root}/work",
            "RECIPE_DIR": f"{root}/recipe",
            "CONDA_PY": str(py_int(py)),
            "PY3K": "1" if py_ver.startswith("3") else "0",
            "PY_VER": py_ver,
            "STDLIB_DIR": f"{prefix}/lib/python{py_ver}",
            "SP_DIR": f"{prefix}/lib/python{py_ver}/site-packages",
            "PYTHON": f"{prefix}/python.exe" if win else f"{prefix}/bin/python",
            "NPY_VER": ".".join(npy.split(".")[:2]),
            "CONDA_NPY": "".join(npy.split(".")[:2]),
            "NPY_DISTUTILS_APPEND_FLAGS": "1",
            "PERL_VER": self.variant.get("perl", "5.26.2"),
            "LUA_VER": self.variant.get("lua", "5"),
            "R_VER": self.variant.get("r_base", "3.5"),
            "PKG_NAME": self.pkg_name,
            "PKG_VERSION": self.pkg_version,
            "PKG_BUILDNUM": self.pkg_buildnum,
            "PKG_BUILD_STRING": "placeholder",
            "PKG_HASH": "1234567",
            "CPU_COUNT": "2",
            "SHLIB_EXT": ".dll" if win else ".dylib" if self.host.startswith("osx-") else ".so",
            "target_platform": self.host,
            "build_platform": self.build,
            "HOST": self.host,
        }
        if self.host.startswith("osx-"):
            d.update(osx_vars(self.host, self.variant, self.env))
        if win:
            d.update(
                LIBRARY_PREFIX=f"{prefix}/Library",
                LIBRARY_BIN=f"{prefix}/Library/bin",
                LIBRARY_INC=f"{prefix}/Library/include",
                LIBRARY_LIB=f"{prefix}/Library/lib",
                SCRIPTS=f"{prefix}/Scripts",
            )
        d.update(self.source_vars)
        d.update(self.variant)
        return d


def osx_vars(host: str, variant: Mapping[str, str], env: Mapping[str, str]) -> dict[str, str]:
    """conda-build's ``environ.osx_vars`` for an osx host: ``OSX_ARCH``, ``MACOSX_DEPLOYMENT_TARGET``, ``BUILD``.

    Each comes from the environment, else the variant (``set_from_os_or_variant``), else
    conda-build's default (10.9 on x86_64, 11.0 on arm64). conda-forge's CI variant files carry
    ``MACOSX_DEPLOYMENT_TARGET`` equal to ``c_stdlib_version`` (conda-smithy writes both); the
    channel pinning has only ``c_stdlib_version``, so that is read before the default.
    """
    arm = host.endswith("-arm64")
    arch = "arm64" if arm else "x86_64"
    default_target = "11.0" if arm else "10.9"
    target = env.get("MACOSX_DEPLOYMENT_TARGET") or variant.get("MACOSX_DEPLOYMENT_TARGET")
    target = target or variant.get("c_stdlib_version") or default_target
    build = env.get("BUILD") or variant.get("BUILD") or f"{arch}-apple-darwin{'20.0.0' if arm else '13.4.0'}"
    return {
        "OSX_ARCH": env.get("OSX_ARCH") or variant.get("OSX_ARCH") or arch,
        "MACOSX_DEPLOYMENT_TARGET": str(target),
        "BUILD": build,
    }


# conda-build's ``environ.get_git_info`` names: defined from the git checkout of the first source,
# which conda-build fetches before rendering when the recipe mentions one of them
# (``MetaData.uses_vcs_in_meta``). newarch never fetches sources: these stand-ins keep the shape.
GIT_SOURCE_VARS: dict[str, str] = {
    "GIT_DESCRIBE_TAG": "v0.0.0",
    "GIT_DESCRIBE_NUMBER": "0",
    "GIT_DESCRIBE_HASH": "g0000000",
    "GIT_DESCRIBE_TAG_PEP440": "0.0.0",
    "GIT_FULL_HASH": "0" * 40,
    "GIT_BUILD_STR": "0_g0000000",
}
_GIT_VAR_RE = re.compile(r"\b(" + "|".join(GIT_SOURCE_VARS) + r")\b")


_GIT_URL_RE = re.compile(r"^\s*(?:-\s+)?git_url\s*:", re.M)


def git_source_vars(raw: str) -> dict[str, str]:
    """Stand-ins for the ``GIT_*`` names when ``raw`` mentions one and has a ``git_url`` source.

    conda-build defines them only from a git checkout (``meta_vars``: the first source's
    ``git_url``); without one ``environ.get('GIT_DESCRIBE_TAG', '1.0')`` gives ``'1.0'``.
    """
    if "GIT_" not in raw or not _GIT_VAR_RE.search(raw) or not _GIT_URL_RE.search(raw):
        return {}
    return dict(GIT_SOURCE_VARS)


def _opt_str(v: Any) -> str | None:
    if v is None or isinstance(v, jinja2.Undefined) or v is False:
        return None
    return str(v)


def _return_none(*args: Any, **kwargs: Any) -> None:
    return None


def _return_empty(*args: Any, **kwargs: Any) -> dict[str, Any]:
    return {}


def _return_list(*args: Any, **kwargs: Any) -> list[str]:
    return []


def _ccache(*args: Any, **kwargs: Any) -> str:
    return "ccache"


def load_str_data(string: Any, fmt: Any, *args: Any, **kwargs: Any) -> Any:
    """Parse a string that is in the recipe itself (json / toml / yaml, safe loaders only)."""
    text = str(string)
    if len(text) > MAX_VALUE_CHARS:
        raise RenderError("load_str_data: string too large", _budget().file)
    kind = str(fmt).lower()
    try:
        if kind == "json":
            return json.loads(text)
        if kind == "toml":
            return tomllib.loads(text)
        if kind in ("yaml", "yml"):
            from ruamel.yaml import YAML

            data = YAML(typ="safe", pure=True).load(text)
            if "&" in text and too_large(data, MAX_VALUE_CHARS):  # aliases share parts: never expand a bomb
                raise RenderError("load_str_data: YAML aliases expand beyond the size limit", _budget().file)
            return data
    except RenderError:
        raise
    except Exception as exc:  # parse errors of recipe-provided data
        raise RenderError(f"load_str_data: cannot parse {kind}: {type(exc).__name__}", _budget().file) from None
    raise RenderError(f"load_str_data: unknown format {fmt!r}", _budget().file)


def resolve_pins(text: str, pins: list[PinRequest], versions: Mapping[str, str]) -> str:
    """Replace ``pin_subpackage`` markers in a rendered spec with the pin conda-build would write."""
    if PIN_MARK not in text:
        return text

    def sub(m: re.Match[str]) -> str:
        idx = int(m.group(1))
        if idx >= len(pins):
            return ""
        pin = pins[idx]
        version = versions.get(pin.name, "")
        if not version:
            return ""
        if pin.exact:
            return f"{version} *"
        return apply_pin_expressions(version, pin.min_pin, pin.max_pin)

    return " ".join(_PIN_RE.sub(sub, text).split())
