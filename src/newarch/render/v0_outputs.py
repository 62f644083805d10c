"""Output assembly of a rendered conda-build ``meta.yaml`` (v0 recipe), one variant at a time.

Outputs follow conda-build's ``get_output_dicts_from_metadata`` / ``get_output_metadata``:

* no ``outputs:`` -> one output, the package, with the top-level requirements and build section;
* with ``outputs:`` the top-level requirements (and build keys) are merged, key by key, only into
  the output named like the package; other outputs use only their own ``requirements``; their
  build section is their own, or (when they have none) the top-level one with ``noarch`` reset;
* an implicit output named like the package is added when no output has that name but the
  top-level ``run`` requirements name an output or the top-level requirements use
  ``pin_subpackage`` (conda-build's ``uses_subpackage``); otherwise the top-level requirements
  only serve the top-level build script and belong to no package;
* ``requirements:`` given as a list means ``host`` and ``run`` (conda-build's ``expand_reqs``);
* a true top-level ``build.skip`` skips every output;
* bare ``build``/``host`` names that are variant keys get the variant's version
  (``python`` -> ``python 3.14.* *_cp314``; conda-build's ``insert_variant_versions``).

Each requirement carries the selector that kept it (recorded by the line selection), run_exports
and ``pin_subpackage``/``pin_compatible`` are resolved, and the build number is read.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any
from collections.abc import Iterable, Mapping

from newarch.errors import RenderError
from newarch.model import Output, Requirement, dep_name
from newarch.render.jinja import PIN_MARK, RenderContext, ensure_valid_spec, resolve_pins
from newarch.render.v0_lines import REQ_SECTIONS, _Selected
from newarch.render.v0_variants import _ensure_list, _scalar


def _reqs_dict(entry: Any) -> dict[str, list[str]]:
    """conda-build's ``expand_reqs``: a list means host and run."""
    if entry is None:
        return {}
    if not isinstance(entry, dict):
        items = [x for x in _ensure_list(entry)]
        return {"host": list(items), "run": list(items)} if items else {}
    return {str(k): _ensure_list(v) for k, v in entry.items()}


def _str_items(items: Iterable[Any]) -> list[str]:
    out: list[str] = []
    for x in items:
        if x is None or isinstance(x, (dict, list)):
            continue
        s = " ".join(_scalar(x).split())
        if s:
            out.append(s)
    return out


def insert_variant_versions(reqs: dict[str, list[str]], variant: Mapping[str, str]) -> None:
    """conda-build's ``insert_variant_versions`` for build and host (run never matches in practice)."""
    for env in ("build", "host", "run"):
        items = reqs.get(env)
        if not items:
            continue
        build_deps = set(reqs.get("build", [])) | set(reqs.get("host", []))
        for i, item in enumerate(items):
            key = item.replace("-", "_")
            if key in variant and (env in ("build", "host") or item in build_deps) and " " not in item:
                items[i] = ensure_valid_spec(f"{item} {variant[key]}")
            elif item.endswith(" x.x"):
                name = item.split()[0]
                if variant.get(name):
                    items[i] = ensure_valid_spec(f"{name} {variant[name]}")


def _truthy(v: Any) -> bool:
    if isinstance(v, str):
        return v.strip().lower() not in ("", "false", "no", "0", "none")
    return bool(v)


def _noarch(build: Mapping[str, Any], fallback: Any = None) -> str:
    value = build.get("noarch", fallback)
    if build.get("noarch_python"):
        return "python"
    if value in (None, False, "", "false", "False"):
        return ""
    if value is True:
        return "generic"
    return str(value)


def _run_exports(value: Any) -> dict[str, list[str]]:
    if not value:
        return {}
    if isinstance(value, dict):
        return {str(k): _str_items(_ensure_list(v)) for k, v in value.items() if v}
    return {"weak": _str_items(_ensure_list(value))}


@dataclass(slots=True)
class _OutputSpec:
    name: str
    version: str
    index: int  # position in outputs: (-1 for the package itself)
    build: dict[str, Any]
    reqs: dict[str, list[str]]
    uses_top: bool  # top-level requirements merged in (drops/conditions of index -1 apply)


def output_specs(meta: dict[str, Any], has_package: bool, file: str) -> list[_OutputSpec]:
    pkg = meta.get("package") or {}
    if not isinstance(pkg, dict):
        raise RenderError("package: must be a mapping", file)
    top_name = _scalar(pkg.get("name") or "").strip()
    top_version = _scalar(pkg.get("version") or "").strip()
    top_build = meta.get("build") or {}
    if not isinstance(top_build, dict):
        raise RenderError("build: must be a mapping", file)
    top_reqs = _reqs_dict(meta.get("requirements"))
    outputs = meta.get("outputs")
    if outputs is not None and not isinstance(outputs, list):
        raise RenderError("outputs: must be a list of mappings (`- name: ...`)", file)
    outputs = [o for o in (outputs or []) if o is not None]
    for o in outputs:
        if not isinstance(o, dict):
            raise RenderError("outputs: every entry must be a mapping", file)
    specs: list[_OutputSpec] = []
    if not outputs:
        if not top_name:
            raise RenderError("package: has no name", file)
        return [_OutputSpec(top_name, top_version, -1, dict(top_build), top_reqs, True)]
    names = [_scalar(o.get("name") or "").strip() for o in outputs]
    top_run = _str_items(top_reqs.get("run", []))
    uses_subpackage = any(dep_name(r) in names for r in top_run if names) or any(
        PIN_MARK in r for sec in top_reqs.values() for r in _str_items(sec)
    )
    entries: list[tuple[int, dict[str, Any]]] = list(enumerate(outputs))
    if top_name and uses_subpackage and top_name not in names:
        entries.append((-1, {"name": top_name}))
    for idx, out in entries:
        name = _scalar(out.get("name") or "").strip()
        if not name:
            raise RenderError(f"outputs[{idx}] has no name", file)
        version = _scalar(out.get("version") or "").strip() or top_version
        reqs = _reqs_dict(out.get("requirements"))
        if name == top_name and has_package:
            merged = dict(reqs)
            for k, v in top_reqs.items():
                merged.setdefault(k, v)
            build = dict(out.get("build") or {}) if isinstance(out.get("build") or {}, dict) else {}
            for k, v in top_build.items():
                build.setdefault(k, v)
            specs.append(_OutputSpec(name, version, idx, build, merged, True))
            continue
        if "build" in out:
            build = out.get("build") or {}
            if not isinstance(build, dict):
                raise RenderError(f"outputs[{idx}].build must be a mapping", file)
            build = dict(build)
        else:
            build = dict(top_build)
            build["noarch"] = out.get("noarch", False)
            for legacy in ("run_exports", "track_features"):
                if out.get(legacy):
                    build[legacy] = out[legacy]
        pattern = re.compile(rf"^{re.escape(name)}(?:\s|$)")
        for env in ("build", "host", "run"):
            if env in reqs:
                reqs[env] = [r for r in reqs[env] if not (isinstance(r, str) and pattern.match(r))]
        specs.append(_OutputSpec(name, version, idx, build, reqs, False))
    return specs


def _build_outputs(
    meta: dict[str, Any],
    selected: _Selected,
    ctx: RenderContext,
    variant: Mapping[str, str],
    has_package: bool,
    file: str,
) -> list[Output]:
    specs = output_specs(meta, has_package, file)
    top_build = meta.get("build") or {}
    top_skip = _truthy(top_build.get("skip", False)) if isinstance(top_build, dict) else False
    versions = {s.name: s.version for s in specs}
    by_name: dict[tuple[int, str, str], str] | None = None
    result: list[Output] = []
    for spec in specs:
        reqs = {k: _str_items(v) for k, v in spec.reqs.items()}
        for k in list(reqs):
            reqs[k] = [resolve_pins(r, ctx.pins, versions) for r in reqs[k]]
        insert_variant_versions(reqs, variant)
        requirements: dict[str, tuple[Requirement, ...]] = {}
        for yaml_key, section in REQ_SECTIONS.items():
            items = reqs.get(yaml_key)
            if not items:
                continue
            seen: list[Requirement] = []
            for item in items:
                cond = selected.conditions.get((spec.index, section, item), "")
                if not cond and spec.uses_top:
                    cond = selected.conditions.get((-1, section, item), "")
                if not cond:
                    if by_name is None:
                        by_name = _conditions_by_name(selected.conditions)
                    cond = _condition_for(by_name, spec, section, item)
                req = Requirement.from_spec(item, cond)
                if req.name:
                    seen.append(req)
            requirements[section] = tuple(seen)
        build = spec.build
        run_exports = {
            k: tuple(resolve_pins(x, ctx.pins, versions) for x in v)
            for k, v in _run_exports(build.get("run_exports")).items()
        }
        skip = _truthy(build.get("skip", False))
        reason = ""
        if top_skip:
            skip, reason = True, selected.key_selectors.get((-1, ("build", "skip")), "") or "build.skip is true"
        elif skip:
            path = (
                ("outputs", "build", "skip")
                if spec.index >= 0 and "skip" not in top_build or spec.index >= 0
                else ("build", "skip")
            )
            reason = (
                selected.key_selectors.get((spec.index, path), "")
                or selected.key_selectors.get((-1, ("build", "skip")), "")
                or "build.skip is true"
            )
        dropped = list(selected.dropped.get(spec.index, [])) if spec.index >= 0 else []
        if spec.uses_top:
            dropped += selected.dropped.get(-1, [])
        result.append(
            Output(
                name=spec.name,
                version=spec.version,
                noarch=_noarch(build),
                build_number=_build_number(build, top_build),
                skip=skip,
                skip_reason=reason,
                requirements=requirements,
                run_exports={k: v for k, v in run_exports.items() if v},
                ignore_run_exports=tuple(
                    dict.fromkeys(dep_name(x) for x in _str_items(_ensure_list(build.get("ignore_run_exports"))))
                ),
                ignore_run_exports_from=tuple(
                    dict.fromkeys(dep_name(x) for x in _str_items(_ensure_list(build.get("ignore_run_exports_from"))))
                ),
                dropped=tuple(dict.fromkeys(dropped)),
            )
        )
    return result


def _build_number(build: Mapping[str, Any], top: Any) -> int:
    """``build: number:`` of the output, else of the recipe (0 when absent or not a number)."""
    for b in (build, top):
        if isinstance(b, Mapping) and b.get("number") is not None:
            try:
                return int(str(b["number"]).strip())
            except ValueError:
                return 0
    return 0


def _conditions_by_name(conditions: Mapping[tuple[int, str, str], str]) -> dict[tuple[int, str, str], str]:
    """(output, section, package name) -> the first condition recorded for that name."""
    out: dict[tuple[int, str, str], str] = {}
    for (o, s, text), cond in conditions.items():
        out.setdefault((o, s, dep_name(text)), cond)
    return out


def _condition_for(by_name: Mapping[tuple[int, str, str], str], spec: _OutputSpec, section: str, item: str) -> str:
    """Conditions recorded before variant versions / pins were inserted (bare names)."""
    name = dep_name(item)
    for idx in (spec.index, -1) if spec.uses_top else (spec.index,):
        cond = by_name.get((idx, section, name))
        if cond is not None:
            return cond
    return ""
