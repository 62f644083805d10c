"""Render a v1 ``recipe.yaml`` with py-rattler-build and turn each rendered variant into :class:`Output`.

Steps (see ``render_v1``):

1. merge the channel pinning with the recipe's own ``conda_build_config.yaml`` / ``variants.yaml``
   and keep only the variant keys the recipe's files mention (``compiler('c')`` counts as
   ``c_compiler``/``c_compiler_version``); cap the number of combinations (noted when cut);
2. write the recipe's own files into a temporary directory and parse ``recipe.yaml``; when
   rattler-build rejects a field conda-forge builds anyway (a relative ``homepage``, a ``python 3.9``
   spec), relax that one line in the temporary copy, retry, and note what was relaxed;
3. render once as rattler-build does (skips active) with ``PlatformConfig(target, build,
   host=target)``; ``env.get``/``env.exists`` read the real process environment and there is no
   API to pass one, so only the variables the recipe names are set (or unset) around the call;
4. *skip recovery*: rattler-build silently drops skipped outputs. Only the package outputs that
   rendered no variant at all are probed again, with the outputs they pin, on a reduced variant
   matrix (``PROBE_COMBINATIONS``): each ``build.skip`` condition becomes a probe (``if: <skip>
   then: newarch-skip-probe-N`` in ``run_constraints``), so the output is reported with the
   condition that skipped it. A ``${{ expr }}`` skip item becomes ``if: expr``;
5. convert, recover ``if:`` conditions (``v1_conditions``) and deduplicate.

``render_counts`` tells how many variants the last render of this thread asked rattler-build for
(``rendered``: the plain render; ``probed``: the skip-recovery render).
"""

from __future__ import annotations

import atexit
import json
import os
import re
import shutil
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path, PurePosixPath
from typing import Any

from newarch.errors import RenderError
from newarch.model import Dropped, Output, PlatformPair, RenderResult, Requirement, SECTIONS
from newarch.render.jinja import ensure_valid_spec
from newarch.render.pinning import Variants
from newarch.sources.recipes import RecipeSource
from newarch.render.v1_conditions import align
from newarch.render.v1_variants import (
    MAX_COMBINATIONS,
    cap_variants,
    combinations,
    has_exact_pins,
    rattler_keys,
    recipe_variants,
    split_variants,
    typed_value,
    used_keys,
    variant_config,
)

PROBE_COMBINATIONS = 8  # variant combinations a skip-recovery probe renders at most
MAX_RELAXATIONS = 8
PROBE_PREFIX = "newarch-skip-probe-"  # newarch-skip-probe-<output index>-<condition index>
OUTPUT_PROBE = "newarch-output-probe-"  # newarch-output-probe-<output index>: which stage0 output this is
NOISE_KEYS = frozenset({"target_platform", "build_platform", "host_platform", "channel_targets", "channel_sources"})
URL_FIELDS = ("homepage", "repository", "documentation")

_ENV_LOCK = threading.Lock()
_ENV_CALL = re.compile(r"""\benv\s*\.\s*(?:get|exists)\s*\(\s*(?:(["'])([^"']*)\1)?""")
_WRAPPED = re.compile(r"^\$\{\{(.*)\}\}$", re.S)
_LOCAL = threading.local()
_CONFIGS: dict[str, Any] = {}  # pair key -> rattler-build RenderConfig (read-only once made)

# Names that exist only once a build runs (rattler-build's ``env_vars.rs``: directories, python
# paths, package identity). rattler-build <= 0.57 rendered an undefined name as "" (minijinja's
# default lenient mode); since 0.58 most fields are strict, ``script.content`` is kept as a
# template for build time and only patches / license files keep ``${{ SRC_DIR }}`` late-bound.
# A recipe conda-forge built that names one elsewhere (``script.env``) is rendered with a stand-in.
BUILD_TIME_NAMES = frozenset(
    {
        "SRC_DIR",
        "PREFIX",
        "BUILD_PREFIX",
        "RECIPE_DIR",
        "BUILD_DIR",
        "PYTHON",
        "SP_DIR",
        "STDLIB_DIR",
        "PY_VER",
        "LIBRARY_PREFIX",
        "LIBRARY_BIN",
        "LIBRARY_LIB",
        "LIBRARY_INC",
        "SCRIPTS",
        "CPU_COUNT",
        "SHLIB_EXT",
        "PKG_NAME",
        "PKG_VERSION",
        "PKG_BUILDNUM",
        "PKG_BUILD_STRING",
        "PKG_HASH",
    }
)


def build_time_names(message: str, known: set[str]) -> set[str]:
    """Build-time names in the template of an ``undefined value`` error, not yet given a stand-in."""
    if "undefined value" not in message:
        return set()
    m = re.search(r"\(template: (.+?)\)\s*$", message)
    found = set(re.findall(r"\b[A-Z][A-Z_]*\b", m.group(1))) if m else set()
    return (found & BUILD_TIME_NAMES) - known


# --------------------------------------------------------------------------- environment


@contextmanager
def controlled_environ(env: dict[str, str], names: set[str] | None = None) -> Iterator[None]:
    """Make ``env`` what the recipe sees of the process environment for the duration of the block.

    rattler-build evaluates ``env.get`` / ``env.exists`` against the process environment and offers
    no parameter for it. With ``names`` (the variables the recipe reads), only those are set from
    ``env`` or unset, and restored afterwards; with ``None`` the whole environment is swapped. This
    happens under a lock; other threads of this process see the change meanwhile.
    """
    with _ENV_LOCK:
        if names is None:
            saved = dict(os.environ)
            try:
                os.environ.clear()
                os.environ.update({str(k): str(v) for k, v in env.items()})
                yield
            finally:
                os.environ.clear()
                os.environ.update(saved)
            return
        before = {n: os.environ.get(n) for n in names}
        try:
            for n in names:
                if n in env:
                    os.environ[n] = str(env[n])
                else:
                    os.environ.pop(n, None)
            yield
        finally:
            for n, v in before.items():
                if v is None:
                    os.environ.pop(n, None)
                else:
                    os.environ[n] = v


def env_names(texts: list[str]) -> set[str] | None:
    """Variables a recipe can read with ``env.get("X")`` / ``env.exists("X")``.

    ``None`` when some call does not name its variable with a string literal (the whole environment
    must then be controlled).
    """
    found = _env_names(tuple(texts))
    return None if found is None else set(found)


@lru_cache(maxsize=512)
def _env_names(texts: tuple[str, ...]) -> frozenset[str] | None:
    names: set[str] = set()
    for text in texts:
        for m in _ENV_CALL.finditer(text):
            if m.group(1) is None:
                return None
            names.add(m.group(2))
    return frozenset(names)


# --------------------------------------------------------------------------- errors and relaxing


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def locate(text: str, message: str) -> int | None:
    """Best line number (1-based) in ``text`` for a rattler-build error message."""
    m = re.search(r"\bline: (\d+)", message)
    if m:
        return int(m.group(1))
    m = re.search(r"YAML: (\d+):(\d+)", message)
    if m:
        return int(m.group(1))
    lines = text.splitlines()
    m = re.search(r"\(template: (.+?)\)\s*(?:\}|$)", message)
    needles: list[str] = [m.group(1)] if m else []
    m = re.search(r"invalid value for '([\w\-]+)'", message)
    if m and m.group(1) != "item":
        needles.append(f"{m.group(1)}:")
    needles.extend(q for q in re.findall(r"'([^']{2,})'", message) if q not in ("item",))
    for needle in needles:
        for i, line in enumerate(lines, 1):
            if needle in line and not line.lstrip().startswith("#"):
                return i
    return None


_ABSOLUTE_URL = re.compile(r"^['\"]?[A-Za-z][A-Za-z0-9+.\-]*://\S")


def clean_message(message: str) -> str:
    """rattler-build's debug-formatted render errors -> the human part (``reason``/``message``)."""
    for key in ("reason", "message"):
        m = re.search(key + r': "((?:[^"\\]|\\.)*)"', message)
        if m:
            return m.group(1).replace('\\"', '"')
    return message


def _relax(text: str, message: str) -> tuple[str, str] | None:
    """Edit the one line rattler-build rejects but conda-build accepts. Returns (new text, note)."""
    lines = text.splitlines(keepends=True)
    m = re.search(r"invalid value for '(" + "|".join(URL_FIELDS) + r")': (.+)$", message)
    if m:
        field, why = m.groups()
        for i, line in enumerate(lines):
            mm = re.match(rf"(\s*){field}\s*:(.*)$", line.rstrip("\r\n"))
            if mm and not _ABSOLUTE_URL.match(mm.group(2).strip()) and not mm.group(2).strip().startswith("${{"):
                value = mm.group(2).strip()
                lines[i] = f"{mm.group(1)}# {field} removed by newarch\n"
                return "".join(lines), f"relaxed line {i + 1}: removed about.{field} {value!r} ({why})"
        return None
    m = re.search(r"missing range specifier for '([^']+)'", message)
    if m:
        version = m.group(1)
        named = re.search(r"match spec '([^' ]+) ", message)
        name = re.escape(named.group(1)) if named else r"[A-Za-z0-9_.\-]+"
        value = r"(?:" + re.escape(version) + r"|\$\{\{[^}]*\}\})"
        spec = re.compile(r"^(\s*-\s*['\"]?" + name + r"\s+)(" + value + r")(?=\s*['\"]?\s*(#.*)?$)")
        for i, line in enumerate(lines):
            bare = line.rstrip("\r\n")
            mm = spec.match(bare)
            if mm:
                lines[i] = bare[: mm.end(2)] + ".*" + bare[mm.end(2) :] + "\n"
                old = bare.strip()[1:].strip()
                return "".join(lines), (
                    f"relaxed line {i + 1}: spec {old!r} (renders to '{version}') read as "
                    f"'{version}.*', as conda reads a bare version"
                )
    return None


# --------------------------------------------------------------------------- files


def work_dir() -> Path:
    """This thread's work directory, created once and reused by every render of the thread."""
    root = getattr(_LOCAL, "root", None)
    if root is None or not root.is_dir():
        root = Path(tempfile.mkdtemp(prefix="newarch-v1-"))
        atexit.register(shutil.rmtree, root, True)
        _LOCAL.root = root
        _LOCAL.files = {}
    return root


def release_work_dir() -> None:
    """Remove this thread's work directory now (the next render makes a new one)."""
    root = getattr(_LOCAL, "root", None)
    if root is not None:
        shutil.rmtree(root, ignore_errors=True)
        _LOCAL.root = None
        _LOCAL.files = {}


def _write_recipe_dir(src: RecipeSource, root: Path) -> None:
    """Make ``root`` hold exactly the recipe's files (never a path outside it).

    Files already there with the same content are left alone (a snapshot renders one recipe for
    several pairs in a row); ``recipe.yaml`` is written by rattler-build itself at each parse.
    """
    written: dict[str, bytes] = getattr(_LOCAL, "files", None) if root == getattr(_LOCAL, "root", None) else None
    if written is None:
        written = {}
    wanted: dict[str, bytes] = {}
    for rel, data in src.files.items():
        p = PurePosixPath(rel)
        if p.is_absolute() or ".." in p.parts or not p.parts:
            continue
        wanted[p.as_posix()] = data
    for rel in [r for r in written if r not in wanted]:
        root.joinpath(*PurePosixPath(rel).parts).unlink(missing_ok=True)
        del written[rel]
    for rel, data in wanted.items():
        if written.get(rel) == data or (rel == "recipe.yaml" and rel in written):
            continue
        dest = root.joinpath(*PurePosixPath(rel).parts)
        dest.parent.mkdir(parents=True, exist_ok=True)
        dest.write_bytes(data)
        written[rel] = data
    if root == getattr(_LOCAL, "root", None):
        _LOCAL.files = written


def _parse(text: str, root: Path, display: str, notes: list[str]):
    """Parse recipe text into a Stage0Recipe, relaxing strict-validation rejections."""
    from rattler_build import Stage0Recipe

    for _ in range(MAX_RELAXATIONS + 1):
        try:
            return Stage0Recipe.from_yaml(text, recipe_dir=root), text
        except Exception as exc:  # rattler-build raises its own exception types
            raw = _first_line(exc)
            message = clean_message(raw)
            relaxed = _relax(text, message)
            if relaxed is None:
                raise RenderError(message, display, locate(text, raw)) from exc
            text, note = relaxed
            notes.append(note)
    raise RenderError("too many rejected fields", display)


# --------------------------------------------------------------------------- skip probes


def _skip_conditions(skip: Any) -> list[str]:
    if skip is None or skip == [] or skip is False:
        return []
    items = skip if isinstance(skip, list) else [skip]
    out: list[str] = []
    for item in items:
        if isinstance(item, bool):
            if item:
                out.append("true")
        elif isinstance(item, str) and item.strip():
            out.append(item.strip())
        elif isinstance(item, dict):
            out.append(json.dumps(item, sort_keys=True))
    return out


def probe_expression(condition: str) -> str | None:
    """A skip condition as an ``if:`` expression, or ``None`` when it cannot be one.

    rattler-build reads a skip item ``${{ win }}`` like ``win``, but ``if: ${{ win }}`` does not
    parse, so a fully wrapped item is unwrapped; any other ``${{`` (or a mapping) is not probed.
    """
    text = condition.strip()
    m = _WRAPPED.match(text)
    if m:
        text = m.group(1).strip()
    if not text or text.startswith("{") or "${{" in text or "}}" in text:
        return None
    return text


def package_outputs(stage0: dict[str, Any]) -> list[dict[str, Any]]:
    """The stage0 package outputs in order (the recipe itself for a single-output recipe)."""
    outputs = stage0.get("outputs")
    if not isinstance(outputs, list):
        return [stage0]
    return [o for o in outputs if isinstance(o, dict) and "package" in o]


@lru_cache(maxsize=1024)
def _name_regex(template: str) -> re.Pattern[str]:
    return re.compile(
        "".join(".+" if part.startswith("${{") else re.escape(part) for part in re.split(r"(\$\{\{.*?\}\})", template))
    )


def _output_name(o: dict[str, Any]) -> str:
    pkg = o.get("package")
    return str(pkg.get("name", "")).strip() if isinstance(pkg, dict) else ""


_PINNED = re.compile(r"""pin_subpackage\(\s*\\?["']([^"'\\]+)""")


def with_pinned(stage0: dict[str, Any], indexes: set[int]) -> set[int]:
    """``indexes`` and the package outputs they pin (``pin_subpackage``), transitively.

    rattler-build fails a render that pins an output it does not render (``MissingOutput``).
    """
    outs = package_outputs(stage0)
    patterns = [_name_regex(_output_name(o)) for o in outs]
    keep = set(indexes)
    todo = list(indexes)
    while todo:
        i = todo.pop()
        for name in _PINNED.findall(json.dumps(outs[i].get("requirements") or {})):
            for j, pattern in enumerate(patterns):
                if j not in keep and pattern.fullmatch(name):
                    keep.add(j)
                    todo.append(j)
    return keep


def _probed(o: dict[str, Any], index: int, extra: list[str]) -> tuple[dict[str, Any], list[str]]:
    """A shallow copy of output ``o`` with its skips replaced by probes (see ``probe_recipe``)."""
    conds = extra + _skip_conditions((o.get("build") or {}).get("skip") if isinstance(o.get("build"), dict) else None)
    new = dict(o)
    new["build"] = {**(o.get("build") if isinstance(o.get("build"), dict) else {}), "skip": []}
    reqs = dict(o.get("requirements") if isinstance(o.get("requirements"), dict) else {})
    rc = list(reqs.get("run_constraints") if isinstance(reqs.get("run_constraints"), list) else [])
    rc.append(f"{OUTPUT_PROBE}{index}")
    for k, cond in enumerate(conds):
        expr = probe_expression(cond)
        if expr is not None:
            rc.append({"if": expr, "then": [f"{PROBE_PREFIX}{index}-{k}"]})
    reqs["run_constraints"] = rc
    new["requirements"] = reqs
    return new, conds


def probe_recipe(stage0: dict[str, Any], indexes: set[int]) -> tuple[dict[str, Any], dict[int, list[str]]]:
    """A recipe of the package outputs ``indexes`` only, with ``build.skip`` replaced by probes.

    Each kept output ``i`` gets ``newarch-output-probe-<i>`` in ``run_constraints`` (outputs may share
    a name) and, per skip condition ``k`` that reads as an expression (``probe_expression``),
    ``{if: <condition>, then: [newarch-skip-probe-<i>-<k>]}``. Returns the recipe (sharing the
    unchanged parts of ``stage0``, which is not modified) and the skip conditions of each output.
    """
    build = stage0.get("build") if isinstance(stage0.get("build"), dict) else {}
    top = _skip_conditions(build.get("skip"))
    conds: dict[int, list[str]] = {}
    if not isinstance(stage0.get("outputs"), list):
        single, conds[0] = _probed(stage0, 0, [])
        return single, conds
    d = dict(stage0)
    if build:
        d["build"] = {**build, "skip": []}
    outputs: list[Any] = []
    index = 0
    for o in stage0["outputs"]:
        if not (isinstance(o, dict) and "package" in o):
            outputs.append(o)  # staging outputs stay: package outputs may inherit from them
            continue
        if index in indexes:
            new, conds[index] = _probed(o, index, top)
            outputs.append(new)
        index += 1
    d["outputs"] = outputs
    return d, conds


def add_skip_probes(d: dict[str, Any]) -> list[list[str]]:
    """Probes for every package output of ``d`` (replaced in place); the skip conditions per output."""
    probed, conds = probe_recipe(d, set(range(len(package_outputs(d)))))
    d.clear()
    d.update(probed)
    return [conds[i] for i in sorted(conds)]


# --------------------------------------------------------------------------- conversion


def _bound(version: str, bound: Any, upper: bool) -> str | None:
    if not isinstance(bound, str) or not re.fullmatch(r"x(\.x)*", bound):
        return None
    n = bound.count("x")
    parts = re.split(r"[.]", version)
    if upper:
        head = parts[:n]
        if not head:
            return None
        m = re.match(r"(\d+)(.*)", head[-1])
        if not m:
            return None
        head[-1] = str(int(m.group(1)) + 1)
        return "<" + ".".join(head) + "a0"
    return ">=" + ".".join(parts[:n])


def _pin_spec(kind: str, args: dict[str, Any], pins: dict[str, tuple[str, str]]) -> str:
    name = str(args.get("name", ""))
    if kind != "pin_subpackage" or name not in pins:
        return name
    version, build = pins[name]
    if args.get("exact"):
        return f"{name} =={version} {build}".strip() if build else f"{name} =={version}"
    lo = _bound(version, args.get("lower_bound"), upper=False)
    up = _bound(version, args.get("upper_bound"), upper=True)
    parts = ",".join(p for p in (lo, up) if p)
    return f"{name} {parts}" if parts else name


def _spec_text(item: Any, pins: dict[str, tuple[str, str]]) -> str | None:
    if isinstance(item, str):
        return item
    if isinstance(item, dict):
        for kind in ("pin_subpackage", "pin_compatible"):
            if isinstance(item.get(kind), dict):
                return _pin_spec(kind, item[kind], pins)
    return None


def _apply_variant(req: Requirement, variant: Any) -> Requirement:
    """rattler-build pins a bare build/host dependency named like a variant key to the variant's value
    (``openssl`` with ``openssl: 3.5`` -> ``openssl =3.5``, i.e. ``3.5.*``), as conda-build's
    ``insert_variant_versions`` does for v0; stage1 shows the bare name, the built package does not."""
    if " " in req.spec or req.name not in variant:
        return req
    value = _as_text(variant[req.name]).strip()
    if not value:
        return req
    return Requirement(req.name, ensure_valid_spec(f"{req.name} {value}"), req.condition, req.line)


def _requirements(items: Any, pins: dict[str, tuple[str, str]]) -> list[Requirement]:
    out: list[Requirement] = []
    for item in items or []:
        spec = _spec_text(item, pins)
        if spec and spec.strip():
            out.append(Requirement.from_spec(spec))
    return out


def stage0_outputs_by_name(stage0: dict[str, Any], names: set[str]) -> dict[str, dict[str, Any]]:
    """Rendered output name -> its stage0 output (``package.name`` may be a template)."""
    outputs = stage0.get("outputs")
    if not isinstance(outputs, list):
        return {n: stage0 for n in names}
    candidates = [o for o in outputs if isinstance(o, dict) and isinstance(o.get("package"), dict)]
    exact = {str(o["package"].get("name", "")).strip(): o for o in reversed(candidates)}
    found: dict[str, dict[str, Any]] = {}
    for name in names:
        if name in exact:
            found[name] = exact[name]
            continue
        for o in candidates:
            template = str(o["package"].get("name", ""))
            regex = "".join(
                ".+" if part.startswith("${{") else re.escape(part) for part in re.split(r"(\$\{\{.*?\}\})", template)
            )
            if re.fullmatch(regex, name):
                found[name] = o
                break
        else:
            found[name] = {}
    return found


def _context_values(stage0: dict[str, Any]) -> dict[str, str]:
    values: dict[str, str] = {}
    for k, v in (stage0.get("context") or {}).items():
        if isinstance(v, (str, int, float)) and not isinstance(v, bool) and "${{" not in str(v):
            values[str(k)] = str(v)
    return values


def _as_text(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    return str(v)


def probe_marks(d: dict[str, Any]) -> tuple[int | None, list[int]]:
    """(stage0 output index, fired skip-condition indexes) from a probed stage1 dict."""
    index: int | None = None
    fired: list[int] = []
    for item in (d.get("requirements") or {}).get("run_constraints") or []:
        if not isinstance(item, str):
            continue
        if item.startswith(OUTPUT_PROBE):
            index = int(item[len(OUTPUT_PROBE) :])
        elif item.startswith(PROBE_PREFIX):
            fired.append(int(item[len(PROBE_PREFIX) :].rsplit("-", 1)[1]))
    return index, sorted(set(fired))


def _is_probe(name: str) -> bool:
    return name.startswith((PROBE_PREFIX, OUTPUT_PROBE))


def pins_of(rv: Any) -> dict[str, tuple[str, str]]:
    """A rendered variant's exact pins: output name -> (version, build string)."""
    return {n: (str(i.version), str(i.build_string or "")) for n, i in rv.pin_subpackages.items()}


def convert(
    rv: Any,
    d: dict[str, Any],
    stage0: dict[str, Any],
    s0: dict[str, Any],
    conds: list[str],
    siblings: set[str],
    pair: PlatformPair,
    skipped: bool = False,
) -> Output:
    """One rendered variant (stage1 dict ``d``) -> :class:`Output`, with conditions recovered from stage0.

    ``skipped``: ``d`` comes from the skip-recovery render (rattler-build skips this variant);
    ``conds`` are then its skip conditions and the probes that fired name the reason.
    """
    pkg = d.get("package") or {}
    name = str(pkg.get("name", ""))
    build = d.get("build") or {}
    reqs = d.get("requirements") or {}
    pins = pins_of(rv)
    pins.setdefault(name, (str(pkg.get("version", "")), str(build.get("string") or "")))
    variant = {str(k): _as_text(v) for k, v in (rv.variant or {}).items() if k not in NOISE_KEYS and k not in siblings}
    s0_reqs = s0.get("requirements") or {}
    values = {
        **_context_values(stage0),
        **{str(k): _as_text(v) for k, v in (rv.variant or {}).items()},
        "target_platform": pair.target,
        "build_platform": pair.build,
        "host_platform": pair.target,
    }

    requirements: dict[str, tuple[Requirement, ...]] = {}
    dropped: list[Dropped] = []
    for section in SECTIONS:
        rendered = _requirements(reqs.get(section), pins)
        if section == "run_constraints":
            rendered = [r for r in rendered if not _is_probe(r.name)]
        stage0_items = s0_reqs.get(section)
        aligned, gone = align(section, stage0_items, rendered, pair.target, values)
        if section in ("build", "host"):
            aligned = [_apply_variant(r, rv.variant or {}) for r in aligned]
        if aligned:
            requirements[section] = tuple(aligned)
        dropped.extend(gone)

    run_exports: dict[str, tuple[str, ...]] = {}
    rex = reqs.get("run_exports")
    if isinstance(rex, list):
        rex = {"weak": rex}
    for kind, items in (rex or {}).items():
        specs = tuple(" ".join(s.split()) for s in (_spec_text(i, pins) for i in items or []) if s)
        if specs:
            run_exports[str(kind)] = specs
    ire = reqs.get("ignore_run_exports") or {}
    _, fired = probe_marks(d)
    skip_reason = ""
    if skipped:
        reasons = [conds[k] for k in fired if k < len(conds)]
        unprobed = [c for c in conds if probe_expression(c) is None]
        skip_reason = " or ".join(reasons or unprobed) or "skip"
    noarch = build.get("noarch")
    return Output(
        name=name,
        version=str(pkg.get("version", "")),
        noarch=str(noarch) if noarch else "",
        build_number=int(build.get("number") or 0) if str(build.get("number") or 0).isdigit() else 0,
        skip=skipped,
        skip_reason=skip_reason,
        variant=variant,
        requirements=requirements,
        run_exports=run_exports,
        ignore_run_exports=tuple(str(x) for x in ire.get("by_name") or ()),
        ignore_run_exports_from=tuple(str(x) for x in ire.get("from_package") or ()),
        dropped=tuple(dropped),
    )


# --------------------------------------------------------------------------- entry point


def _index_of(d: dict[str, Any], outputs: list[dict[str, Any]], patterns: list[re.Pattern[str]]) -> int | None:
    """Which stage0 package output a rendered variant comes from (by name, then by ``noarch``)."""
    if len(outputs) == 1:
        return 0
    name = str((d.get("package") or {}).get("name", ""))
    matches = [i for i, p in enumerate(patterns) if p.fullmatch(name)]
    exact = [i for i in matches if _output_name(outputs[i]) == name]
    matches = exact or matches
    if len(matches) > 1:
        noarch = str((d.get("build") or {}).get("noarch") or "")
        same = [i for i in matches if str((outputs[i].get("build") or {}).get("noarch") or "") == noarch]
        matches = same or matches
    return matches[0] if matches else None


def _from_dict(d: dict[str, Any], root: Path) -> Any:
    """``Stage0Recipe.from_dict`` without its pretty-printed copy: JSON is YAML, and ``json.dumps`` with
    no indent runs in C (``from_dict`` writes ``recipe.yaml`` with ``indent=2``, in pure Python)."""
    from rattler_build import Stage0Recipe

    return Stage0Recipe.from_yaml(json.dumps(d), recipe_dir=root)


def render_counts() -> dict[str, int]:
    """Variants rattler-build rendered in this thread's last v1 render: plain and skip-recovery."""
    return dict(getattr(_LOCAL, "counts", {"rendered": 0, "probed": 0, "calls": 0}))


def _render(
    recipe: Any,
    variants: Variants,
    config: Any,
    env: dict[str, str],
    names: set[str] | None,
    split: tuple[set[str], int] | None = None,
) -> list:
    """rattler-build's render of ``variants``; with ``split`` (combined keys, package outputs) one
    combination per call (``split_variants``) when the recipe pins outputs exactly.

    A split render that fails (an exact pin on an output its combination skips) or that returns more
    variants than one combination can (a key combined that ``rattler_keys`` missed) is redone whole,
    so errors and pin resolution stay rattler-build's own.
    """
    parts = split_variants(variants, split[0]) if split is not None else [variants]
    counts = _LOCAL.__dict__.setdefault("counts", {"rendered": 0, "probed": 0, "calls": 0})
    with controlled_environ(env, names):
        if len(parts) > 1 and split is not None:
            try:
                rendered: list = []
                for part in parts:
                    got = recipe.render(variant_config(part), config)
                    if len(got) > split[1]:
                        raise RenderError("more than one combination in a part", "")
                    rendered.extend(got)
                counts["calls"] += len(parts)
                return rendered
            except Exception:  # rattler-build raises its own exception types; the whole render decides
                pass
        counts["calls"] += 1
        return recipe.render(variant_config(variants), config)


def _error_line(exc: Exception, recipe: Any, probed: bool, text: str, message: str) -> int | None:
    """The recipe line of a render error (a probe copy is JSON: its lines mean nothing)."""
    m = None if probed else re.search(r"\bline: (\d+)", str(exc))
    if m and int(m.group(1)) > 1:
        return int(m.group(1))
    return locate(text, message)


def config_platform(pair: PlatformPair) -> Any:
    """rattler-build's ``PlatformConfig`` for ``pair`` (the host is the target)."""
    from rattler_build import PlatformConfig

    return PlatformConfig(target_platform=pair.target, build_platform=pair.build, host_platform=pair.target)


def render_v1(src: RecipeSource, pair: PlatformPair, pinning: Variants, env: dict[str, str]) -> RenderResult:
    """Render ``src`` (a v1 recipe) for ``pair``. Raises :class:`RenderError` for a bad recipe."""
    from rattler_build import RenderConfig

    display = src.display("recipe.yaml")
    text = src.text("recipe.yaml")
    if text is None:
        raise RenderError("no recipe.yaml", display)
    result = RenderResult(pair=pair)
    _LOCAL.counts = {"rendered": 0, "probed": 0, "calls": 0}

    merged = pinning.merged(recipe_variants(src, pair))
    texts = [
        t
        for t in (src.text(r) for r in sorted(src.files) if r.endswith((".yaml", ".yml", ".sh", ".bat")))
        if t is not None
    ]
    restricted = merged.restricted(used_keys(texts, merged))
    restricted, cut_notes = cap_variants(restricted)
    result.notes.extend(cut_notes)
    names = env_names([t for r, t in ((r, src.text(r)) for r in src.files if r.endswith((".yaml", ".yml"))) if t])

    config = _CONFIGS.get(pair.key)
    if config is None:
        config = _CONFIGS[pair.key] = RenderConfig(config_platform(pair))
    root = work_dir()
    _write_recipe_dir(src, root)
    conds: dict[int, list[str]] = {}
    stand_ins: dict[str, str] = {}
    for _ in range(MAX_RELAXATIONS + 1):
        stage0_recipe, text = _parse(text, root, display, result.notes)
        stage0 = stage0_recipe.to_dict()
        # rattler-build keeps the skipped variants of a single-output recipe, without saying so:
        # such a recipe is rendered once, with its skips as probes.
        single_skip = not isinstance(stage0.get("outputs"), list) and bool(
            _skip_conditions((stage0.get("build") or {}).get("skip"))
        )
        try:
            if single_skip:
                probe_dict, conds = probe_recipe(stage0, {0})
                recipe = _from_dict(probe_dict, root)
            else:
                recipe = stage0_recipe
            platforms = {"target_platform": pair.target, "build_platform": pair.build, "host_platform": pair.target}
            keys = rattler_keys(restricted, text, stage0, platforms) if has_exact_pins(text) else None
            split = (keys, max(1, len(package_outputs(stage0)))) if keys is not None else None
            rendered = _render(recipe, restricted, config, env, names, split)
            break
        except Exception as exc:  # rattler-build raises its own exception types
            message = clean_message(_first_line(exc))
            late = build_time_names(message, set(stand_ins))
            if late:
                stand_ins.update({n: f"${n}" for n in sorted(late)})
                config = RenderConfig(config_platform(pair), extra_context=dict(stand_ins))
                line = _error_line(exc, stage0_recipe, single_skip, text, message)
                result.notes.append(
                    f"{display}:{line or '?'}: {', '.join(sorted(late))}: defined only at build time; rendered "
                    "with a stand-in ('$NAME'), as rattler-build <= 0.57 rendered an undefined name as ''"
                )
                continue
            relaxed = _relax(text, message)
            if relaxed is None:
                line = _error_line(exc, stage0_recipe, single_skip, text, message)
                raise RenderError(message, display, line) from exc
            text, note = relaxed
            result.notes.append(note)
    else:
        raise RenderError("too many rejected fields", display)
    counts = _LOCAL.counts
    counts["probed" if single_skip else "rendered"] = len(rendered)

    outputs = package_outputs(stage0)
    patterns = [_name_regex(_output_name(o)) for o in outputs]
    placed: list[tuple[Any, dict[str, Any], int | None, bool]] = []
    for rv in rendered:
        d = rv.recipe.to_dict()
        placed.append(
            (rv, d, 0, bool(probe_marks(d)[1])) if single_skip else (rv, d, _index_of(d, outputs, patterns), False)
        )
    gone = set() if single_skip else set(range(len(outputs))) - {i for _, _, i, _ in placed}

    if gone:
        probe_dict, conds = probe_recipe(stage0, with_pinned(stage0, gone))
        small, _ = cap_variants(restricted, PROBE_COMBINATIONS)
        try:
            split = (keys, len(package_outputs(probe_dict))) if keys is not None else None
            probed = _render(_from_dict(probe_dict, root), small, config, env, names, split)
        except Exception as exc:  # rattler-build raises its own exception types
            result.notes.append(f"skipped outputs not recovered: {clean_message(_first_line(exc))}")
            probed = []
        counts["probed"] = len(probed)
        for rv in probed:
            d = rv.recipe.to_dict()
            index, _ = probe_marks(d)
            if index in gone:
                placed.append((rv, d, index, True))

    siblings = {str((d.get("package") or {}).get("name", "")) for _, d, _, _ in placed}
    s0_by_name = stage0_outputs_by_name(stage0, siblings)
    seen: set[str] = set()
    converted: set[str] = set()
    for rv, d, index, skipped in placed:
        # what convert() reads: identical inputs (an output that ignores a split key) convert once
        same = json.dumps(
            [
                index,
                skipped,
                d.get("package"),
                d.get("build"),
                d.get("requirements"),
                rv.variant,
                sorted(pins_of(rv).items()),
            ],
            sort_keys=True,
            default=str,
        )
        if same in converted:
            continue
        converted.add(same)
        # index is None is not expected: a rendered name always matches its output's template
        s0 = outputs[index] if index is not None else s0_by_name.get(str((d.get("package") or {}).get("name", "")), {})
        out = convert(rv, d, stage0, s0, conds.get(index, []) if skipped else [], siblings, pair, skipped)
        for name in stand_ins:  # rattler-build counts a read context name as a variant key
            out.variant.pop(name, None)
        key = json.dumps(out.to_dict(), sort_keys=True)
        if key not in seen:
            seen.add(key)
            result.outputs.append(out)
    result.outputs.sort(key=Output.sort_key)
    return result


__all__ = [
    "render_v1",
    "render_counts",
    "controlled_environ",
    "env_names",
    "probe_recipe",
    "probe_expression",
    "used_keys",
    "cap_variants",
    "combinations",
    "add_skip_probes",
    "locate",
    "MAX_COMBINATIONS",
    "PROBE_COMBINATIONS",
    "recipe_variants",
    "split_variants",
    "typed_value",
    "variant_config",
]
