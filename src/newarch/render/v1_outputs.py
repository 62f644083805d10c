"""The package outputs of a v1 recipe: skip probes, and each rendered variant as an :class:`Output`.

rattler-build silently drops skipped outputs: a probe copy of the recipe turns each ``build.skip``
condition into a ``run_constraints`` item (``if: <skip> then: newarch-skip-probe-N``), so the output
is reported with the condition that skipped it. :func:`convert` turns one rendered variant into an
:class:`Output`, recovering each requirement's ``if:`` condition from stage0 (``v1_conditions``).
"""

from __future__ import annotations

import json
import re
from functools import lru_cache
from typing import Any

from newarch.model import Dropped, Output, PlatformPair, Requirement, SECTIONS
from newarch.render.jinja import ensure_valid_spec
from newarch.render.v1_conditions import align

PROBE_PREFIX = "newarch-skip-probe-"  # newarch-skip-probe-<output index>-<condition index>
OUTPUT_PROBE = "newarch-output-probe-"  # newarch-output-probe-<output index>: which stage0 output this is
NOISE_KEYS = frozenset({"target_platform", "build_platform", "host_platform", "channel_targets", "channel_sources"})

_WRAPPED = re.compile(r"^\$\{\{(.*)\}\}$", re.S)


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


def _probed(o: dict[str, Any], index: int, extra: list[str]) -> tuple[dict[str, Any], list[str]]:
    """A shallow copy of output ``o`` with its skips replaced by probes (see ``probe_recipe``)."""
    conds = extra + _skip_conditions((o.get("build") or {}).get("skip") if isinstance(o.get("build"), dict) else None)
    new = dict(o)
    o_build, o_reqs = o.get("build"), o.get("requirements")
    new["build"] = {**(o_build if isinstance(o_build, dict) else {}), "skip": []}
    reqs = dict(o_reqs if isinstance(o_reqs, dict) else {})
    o_rc = reqs.get("run_constraints")
    rc = list(o_rc if isinstance(o_rc, list) else [])
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
    build = stage0.get("build")
    if not isinstance(build, dict):
        build = {}
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
