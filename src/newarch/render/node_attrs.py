"""cf-graph-countyfair ``node_attrs/**.json`` (the autotick bot's own data) as a feedstock source.

One node_attrs file describes one feedstock as the bot rendered it: ``feedstock_name``, the
``conda-forge.yml`` it read, ``platforms`` it rendered (``linux_64``, ``win_64``...), and per
platform ``<platform>_meta_yaml`` (the rendered recipe: ``package``, ``build``, ``requirements``,
``outputs``) plus ``<platform>_requirements`` (the per-section union of names). ``meta_yaml`` is the
union over the platforms. Sets are stored as ``{"__set__": true, "elements": [...]}``.

The bot renders every platform natively (build platform == target platform), replaces
``compiler('c')`` by ``c_compiler_stub`` and ``stdlib('c')`` by ``c_stdlib_stub``, and keeps one
variant. So a node_attrs render is an approximation; every RenderResult says what it is built from
and what is approximate in its ``notes``. Nothing here executes or evaluates anything: it is JSON.

Scale: one file is read, converted and dropped at a time (a few ms each); batches of files can be
converted in separate processes (:func:`convert_batch`).
"""

from __future__ import annotations

import re
from datetime import datetime, UTC
from pathlib import Path
from typing import Any

from newarch.errors import NewarchError
from newarch.files import parse_json, read_bytes
from newarch.model import Feedstock, Output, PlatformPair, PlatformSettings, RenderResult, Requirement, SECTIONS
from newarch.render.pinning import Variants
from newarch.sources.node_attrs_files import is_node_attrs_source, iter_node_attrs_files  # noqa: F401

SOURCE_KIND = "node_attrs"
MAX_FILE_BYTES = 64 * 1024 * 1024
ORIGIN_NOTE = "from cf-graph node_attrs (the autotick bot's rendering), not rendered by newarch"

# Fallback order when the bot has no rendering for the target platform: same OS first.
_SAME_OS_FALLBACK: dict[str, tuple[str, ...]] = {
    "win": ("win_64",),
    "linux": ("linux_64", "linux_aarch64", "linux_ppc64le"),
    "osx": ("osx_64", "osx_arm64"),
}
_STUB_RE = re.compile(r"^(?P<lang>.+)_(?P<kind>compiler|stdlib)_stub$")
# conda-build's defaults when the pinning has no ``<lang>_compiler`` key.
_DEFAULT_COMPILERS: dict[str, dict[str, str]] = {
    "linux": {"c": "gcc", "cxx": "gxx", "fortran": "gfortran"},
    "osx": {"c": "clang", "cxx": "clangxx", "fortran": "gfortran"},
    "win": {"c": "vs2017", "cxx": "vs2017", "fortran": "flang"},
}
PINNING_KEY_SUFFIXES: tuple[str, ...] = ("_compiler", "_compiler_version", "_stdlib", "_stdlib_version")


# -- reading one file ------------------------------------------------------------------------------


def load_node_attrs(path: str | Path) -> dict[str, Any]:
    """Parse one node_attrs file. Malformed or truncated JSON -> NewarchError with file and line."""
    return parse_node_attrs(read_bytes(path, "node_attrs file", max_bytes=MAX_FILE_BYTES), str(path))


def parse_node_attrs(data: bytes | str, origin: str) -> dict[str, Any]:
    obj = parse_json(data, "node_attrs file", origin)
    if not isinstance(obj, dict):
        raise NewarchError(f"node_attrs file must hold a JSON object, not {type(obj).__name__}", origin, 1)
    return obj


# -- conversion ------------------------------------------------------------------------------------


def _elements(value: Any) -> list[Any]:
    """The bot's set encoding ``{"__set__": true, "elements": [...]}``, a list, or nothing."""
    if isinstance(value, dict) and value.get("__set__"):
        value = value.get("elements")
    if isinstance(value, (list, tuple)):
        return list(value)
    return []


def _plat_key(subdir: str) -> str:
    return subdir.replace("-", "_")


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _as_str(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def compact_pinning(variants: Variants) -> dict[str, list[str]]:
    """Only the pinning keys node_attrs conversion uses (compiler and stdlib names/versions)."""
    return {k: list(v) for k, v in variants.values.items() if k.endswith(PINNING_KEY_SUFFIXES)}


class _Converter:
    def __init__(self, data: dict[str, Any], origin: str) -> None:
        self.data = data
        self.origin = origin
        # platforms share renderings (fallbacks, noarch): parse each spec once per pair
        self._reqs: dict[tuple[str, str], Requirement | None] = {}

    def fail(self, message: str) -> NewarchError:
        return NewarchError(message, self.origin)

    # stubs -> real toolchain names, as conda-build's compiler()/stdlib() would give them
    def resolve_stub(self, name: str, pair: PlatformPair, pinning: dict[str, list[str]]) -> tuple[str, str]:
        m = _STUB_RE.match(name)
        if not m:
            return name, ""
        lang, kind = m.group("lang"), m.group("kind")
        values = pinning.get(f"{lang}_{kind}") or []
        versions = pinning.get(f"{lang}_{kind}_version") or []
        if values:
            pkg = values[0]
        elif kind == "compiler":
            pkg = _DEFAULT_COMPILERS.get(pair.target.split("-")[0], {}).get(lang, lang)
        else:
            pkg = lang
        spec = f"{pkg}_{pair.target}"
        if versions and versions[0]:
            version = versions[0]
            if re.fullmatch(r"\d[\w.]*", version):  # conda-build's ensure_valid_spec: "14" -> "14.*"
                version += ".*"
            spec += f" {version}"
        return spec, f"{kind}('{lang}') stub from the bot"

    def requirement(self, raw: Any, pair: PlatformPair, pinning: dict[str, list[str]]) -> Requirement | None:
        if not isinstance(raw, str) or not raw.strip():
            return None
        key = (raw, pair.key)
        if key in self._reqs:
            return self._reqs[key]
        req = self._reqs[key] = self._requirement(raw, pair, pinning)
        return req

    def _requirement(self, raw: str, pair: PlatformPair, pinning: dict[str, list[str]]) -> Requirement | None:
        spec = " ".join(raw.split())
        name = spec.split(" ", 1)[0]
        resolved, cond = self.resolve_stub(name, pair, pinning)
        if cond:
            spec = resolved
        return Requirement.from_spec(spec, cond)

    def section_reqs(
        self, reqs: Any, pair: PlatformPair, pinning: dict[str, list[str]]
    ) -> dict[str, tuple[Requirement, ...]]:
        out: dict[str, tuple[Requirement, ...]] = {}
        if not isinstance(reqs, dict):
            return out
        for section in SECTIONS:
            raw = reqs.get(section)
            if raw is None and section == "run_constraints":
                raw = reqs.get("run_constrained")
            items = [r for r in (self.requirement(x, pair, pinning) for x in _elements(raw)) if r]
            seen: dict[str, Requirement] = {}
            for r in items:
                seen.setdefault(r.spec, r)
            if seen:
                out[section] = tuple(seen.values())
        return out

    def run_exports(
        self, build: dict[str, Any], reqs: Any, pair: PlatformPair, pinning: dict[str, list[str]]
    ) -> dict[str, tuple[str, ...]]:
        raw: Any = build.get("run_exports")
        if raw is None and isinstance(reqs, dict):
            raw = reqs.get("run_exports")  # v1 puts them under requirements
        kinds: dict[str, list[str]] = {}
        if isinstance(raw, dict):
            for kind, specs in raw.items():
                kinds[str(kind)] = [s for s in _elements(specs) if isinstance(s, str)]
        else:
            kinds["weak"] = [s for s in _elements(raw) if isinstance(s, str)]
        result: dict[str, tuple[str, ...]] = {}
        for kind, specs in kinds.items():
            names = []
            for s in specs:
                r = self.requirement(s, pair, pinning)
                if r:
                    names.append(r.spec)
            if names:
                result[kind] = tuple(dict.fromkeys(names))
        return result

    def ignore_lists(
        self, build: dict[str, Any], reqs: Any, pair: PlatformPair, pinning: dict[str, list[str]]
    ) -> tuple[tuple[str, ...], tuple[str, ...]]:
        names: Any = build.get("ignore_run_exports")
        from_pkgs: Any = build.get("ignore_run_exports_from")
        if isinstance(reqs, dict) and isinstance(reqs.get("ignore_run_exports"), dict):  # v1
            v1 = reqs["ignore_run_exports"]
            names, from_pkgs = v1.get("by_name"), v1.get("from_package")
        if isinstance(names, dict):
            names = names.get("by_name")

        def conv(items: Any) -> tuple[str, ...]:
            out = []
            for x in _elements(items):
                r = self.requirement(x, pair, pinning)
                if r:
                    out.append(r.name)
            return tuple(dict.fromkeys(out))

        return conv(names), conv(from_pkgs)

    def output(
        self,
        raw: dict[str, Any],
        top: dict[str, Any],
        pair: PlatformPair,
        pinning: dict[str, list[str]],
        default_name: str,
        top_reqs: Any,
    ) -> Output:
        build = _dict(raw.get("build"))
        top_build = _dict(top.get("build"))
        package = _dict(raw.get("package"))
        name = _as_str(raw.get("name") or package.get("name") or default_name)
        top_package = _dict(top.get("package"))
        version = _as_str(raw.get("version") or package.get("version") or top_package.get("version"))
        reqs = raw.get("requirements", top_reqs)
        noarch = _as_str(build.get("noarch") or top_build.get("noarch") or "")
        if noarch in ("true", "True"):
            noarch = "generic"
        skip_val = build.get("skip", False) or top_build.get("skip", False)
        skip = skip_val is True or (isinstance(skip_val, str) and skip_val.lower() in ("true", "yes"))
        if isinstance(skip_val, list):
            skip = any(x is True or str(x).lower() == "true" for x in skip_val)
        ignore_names, ignore_from = self.ignore_lists(build, reqs, pair, pinning)
        return Output(
            name=name,
            version=version,
            noarch=noarch if noarch in ("python", "generic") else "",
            skip=skip,
            skip_reason="build.skip is true in the bot's rendering" if skip else "",
            requirements=self.section_reqs(reqs, pair, pinning),
            run_exports=self.run_exports(build, reqs, pair, pinning),
            ignore_run_exports=ignore_names,
            ignore_run_exports_from=ignore_from,
        )

    def outputs_of(
        self, meta: dict[str, Any], pair: PlatformPair, pinning: dict[str, list[str]], notes: list[str]
    ) -> list[Output]:
        """Outputs of one ``<platform>_meta_yaml`` (or the union ``meta_yaml``)."""
        fs_name = _as_str(self.data.get("feedstock_name") or self.data.get("name"))
        raw_outputs = [o for o in _elements(meta.get("outputs")) if isinstance(o, dict)]
        top_reqs = meta.get("requirements")
        if not raw_outputs:
            package = _dict(meta.get("package"))
            return [
                self.output({**meta, "name": package.get("name") or fs_name}, meta, pair, pinning, fs_name, top_reqs)
            ]
        outs: dict[tuple[str, bool], Output] = {}
        for raw in raw_outputs:
            out = self.output(raw, meta, pair, pinning, fs_name, top_reqs)
            key = (out.name, out.skip)
            if key in outs:  # the union meta_yaml repeats outputs once per platform
                continue
            outs[key] = out
        # the top-level build environment is needed to build the feedstock at all
        top = self.section_reqs(top_reqs, pair, pinning)
        if top and any(not o.noarch for o in outs.values()):
            notes.append(
                "top-level build/host requirements of this multi-output recipe were added to "
                "each non-noarch output (the bot keeps them apart)"
            )
            for o in outs.values():
                if o.noarch:
                    continue
                for section in ("build", "host"):
                    extra = [
                        Requirement(r.name, r.spec, r.condition or "top-level requirements")
                        for r in top.get(section, ())
                        if r.name not in {x.name for x in o.reqs(section)}
                    ]
                    if extra:
                        o.requirements[section] = tuple(o.reqs(section)) + tuple(extra)
        # a skipped copy and a kept copy of one name: keep the kept one
        names_kept = {n for (n, skip) in outs if not skip}
        return [o for (n, skip), o in outs.items() if not (skip and n in names_kept)]

    def render(self, pair: PlatformPair, pinning: dict[str, list[str]]) -> RenderResult:
        result = RenderResult(pair=pair, notes=[ORIGIN_NOTE])
        parsing_error = self.data.get("parsing_error")
        platforms = [str(p) for p in _elements(self.data.get("platforms")) if isinstance(p, str)]
        rendered = sorted(
            k[: -len("_meta_yaml")] for k, v in self.data.items() if k.endswith("_meta_yaml") and isinstance(v, dict)
        )
        target = _plat_key(pair.target)
        os_name = target.split("_")[0]
        meta: dict[str, Any] | None = None
        if isinstance(self.data.get(f"{target}_meta_yaml"), dict):
            meta = self.data[f"{target}_meta_yaml"]
            result.notes.append(f"the bot rendered {target} itself")
        else:
            union = self.data.get("meta_yaml") if isinstance(self.data.get("meta_yaml"), dict) else None
            any_meta = next((self.data[f"{p}_meta_yaml"] for p in rendered), None) or union
            probe = self.outputs_of(any_meta, pair, pinning, []) if any_meta else []
            if probe and all(o.noarch for o in probe if not o.skip):
                meta = any_meta
                src = rendered[0] if rendered else "the union meta_yaml"
                result.notes.append(f"noarch feedstock: the bot's {src} rendering is used for {target}")
            else:
                fallback = next((p for p in _SAME_OS_FALLBACK.get(os_name, ()) if p in rendered), None)
                if fallback:
                    meta = self.data[f"{fallback}_meta_yaml"]
                    result.notes.append(
                        f"approximate: the bot has no {target} rendering; used its {fallback} rendering "
                        f"(selectors evaluated for {fallback.replace('_', '-')}, so deps only for {target} "
                        "are missing and deps only for the fallback are present)"
                    )
                elif platforms or rendered:
                    known = ", ".join(platforms or rendered)
                    if parsing_error:
                        result.error = (
                            f"{self.origin}: the bot could not parse the recipe: {_as_str(parsing_error)[:300]}"
                        )
                        return result
                    for o in probe:
                        o.skip, o.skip_reason = True, f"the bot builds this feedstock only for {known}"
                        o.requirements, o.run_exports = {}, {}
                    result.outputs = probe
                    result.notes.append(f"not built for {os_name}: the bot renders only {known}")
                    return result
                elif union:
                    meta = union
                    result.notes.append(
                        "approximate: no per-platform rendering; used the bot's union of all "
                        "platforms (selectors of every platform applied at once)"
                    )
        if meta is None:
            if parsing_error:
                result.error = f"{self.origin}: the bot could not parse the recipe: {_as_str(parsing_error)[:300]}"
            else:
                result.error = f"{self.origin}: no rendered recipe (meta_yaml) in node_attrs"
            return result
        result.outputs = self.outputs_of(meta, pair, pinning, result.notes)
        if pair.cross:
            result.notes.append(
                f"approximate: the bot renders {target} as a native build, so cross-only build "
                f"deps for {pair.build} (e.g. cross-python_{pair.target}) are absent"
            )
        if any(
            r.condition.endswith("stub from the bot")
            for o in result.outputs
            for rs in o.requirements.values()
            for r in rs
        ):
            result.notes.append("compiler/stdlib stubs resolved through the pinning")
        result.notes.append("one variant only (the bot keeps no per-variant split)")
        return result

    def settings(self) -> PlatformSettings:
        cfy = self.data.get("conda-forge.yml")
        if cfy is None:
            return PlatformSettings()
        if not isinstance(cfy, dict):
            raise self.fail("'conda-forge.yml' must be an object")
        try:
            return PlatformSettings.from_dict(cfy)
        except (AttributeError, TypeError, ValueError) as exc:
            raise self.fail(f"'conda-forge.yml' has an unexpected shape ({exc})") from exc


def feedstock_from_node_attrs(
    data: dict[str, Any], origin: str, pairs: list[PlatformPair], pinnings: dict[str, dict[str, list[str]]]
) -> Feedstock:
    """One node_attrs object -> a Feedstock with one RenderResult per pair.

    ``pinnings`` maps ``pair.key`` to the pinning values (see :func:`compact_pinning`), used to
    turn the bot's ``c_compiler_stub`` into e.g. ``vs2022_win-arm64``.
    """
    conv = _Converter(data, origin)
    name = data.get("feedstock_name") or data.get("name")
    if not isinstance(name, str) or not name:
        raise NewarchError("node_attrs has no 'feedstock_name'", origin)
    if name.endswith("-feedstock"):
        name = name[: -len("-feedstock")]
    schema_version = None
    for k, v in data.items():
        if k.endswith("meta_yaml") and isinstance(v, dict) and "schema_version" in v:
            schema_version = v.get("schema_version")
            break
    fs = Feedstock(
        name=name, schema="v1" if str(schema_version) == "1" else "v0", source=SOURCE_KIND, settings=conv.settings()
    )
    fs.revision = _as_str(data.get("feedstock_hash"))
    ts = data.get("feedstock_hash_ts") or data.get("last_updated")
    if isinstance(ts, (int, float)) and 0 < ts < 2**40:
        fs.date = datetime.fromtimestamp(ts, tz=UTC).strftime("%Y-%m-%d")
    if data.get("archived") is True:
        fs.notes.append("archived on conda-forge")
    try:
        for pair in pairs:
            fs.renders[pair.key] = conv.render(pair, pinnings.get(pair.key, {}))
    except RecursionError as exc:
        raise NewarchError("node_attrs content is nested too deeply", origin) from exc
    return fs


def read_node_attrs(
    path: str | Path, pairs: list[PlatformPair], pinnings: dict[str, dict[str, list[str]]]
) -> Feedstock:
    """Read and convert one node_attrs file."""
    return feedstock_from_node_attrs(load_node_attrs(path), str(path), pairs, pinnings)


def convert_batch(
    paths: list[str], pair_keys: list[str], pinnings: dict[str, dict[str, list[str]]]
) -> list[Feedstock | dict[str, Any]]:
    """Worker for parallel snapshot building: a ``Feedstock`` or ``{"error", "path"}`` per file.

    Conversion costs ~1 ms per file here; the parent only unpickles the result (~0.25 ms)."""
    pairs = [PlatformPair.parse(k) for k in pair_keys]
    out: list[Feedstock | dict[str, Any]] = []
    for p in paths:
        try:
            out.append(read_node_attrs(p, pairs, pinnings))
        except NewarchError as exc:
            out.append({"error": str(exc), "path": p})
        except Exception as exc:  # a surprising file must never stop a 25 000-file run
            out.append({"error": f"{p}: cannot convert ({type(exc).__name__}: {exc})", "path": p})
    return out
