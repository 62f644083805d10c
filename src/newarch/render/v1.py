"""Render a v1 ``recipe.yaml`` with py-rattler-build and turn each rendered variant into :class:`Output`.

Steps (see ``render_v1``):

1. merge the channel pinning with the recipe's own ``conda_build_config.yaml`` / ``variants.yaml``
   and keep only the variant keys the recipe's files mention (``compiler('c')`` counts as
   ``c_compiler``/``c_compiler_version``); cap the number of combinations (noted when cut);
2. write the recipe's own files into a temporary directory and parse ``recipe.yaml``; when
   rattler-build rejects a field conda-forge builds anyway (a relative ``homepage``, a ``python 3.9``
   spec), relax that one line in the temporary copy, retry, and note what was relaxed;
3. turn every ``build.skip`` condition into a *probe* (``if: <skip> then: newarch-skip-probe-N`` in
   ``run_constraints``) so skipped outputs are still rendered and reported with the condition that
   skipped them (rattler-build silently drops skipped outputs of multi-output recipes);
4. render with ``PlatformConfig(target, build, host=target)`` inside a controlled process
   environment (``env.*`` in recipes reads the real process environment; there is no API to pass
   one), then convert, recover ``if:`` conditions (``v1_conditions``) and deduplicate.
"""

from __future__ import annotations

import json
import math
import os
import re
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path, PurePosixPath
from typing import Any

from newarch.errors import RenderError
from newarch.model import Dropped, Output, PlatformPair, RenderResult, Requirement, SECTIONS
from newarch.render.pinning import Variants, load_recipe_variants
from newarch.sources.recipes import RecipeSource
from newarch.render.v1_conditions import align

MAX_COMBINATIONS = 256
MAX_RELAXATIONS = 8
PROBE_PREFIX = "newarch-skip-probe-"  # newarch-skip-probe-<output index>-<condition index>
OUTPUT_PROBE = "newarch-output-probe-"  # newarch-output-probe-<output index>: which stage0 output this is
NOISE_KEYS = frozenset({"target_platform", "build_platform", "host_platform", "channel_targets", "channel_sources"})
URL_FIELDS = ("homepage", "repository", "documentation")

_ENV_LOCK = threading.Lock()
_TOKEN = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.\-]*")
_TOOLCHAIN_CALL = re.compile(r"""\b(compiler|stdlib)\(\s*["']([\w\-]+)["']""")


# --------------------------------------------------------------------------- environment


@contextmanager
def controlled_environ(env: dict[str, str]) -> Iterator[None]:
    """Make ``env`` the *whole* process environment for the duration of the block.

    rattler-build evaluates ``env.get`` / ``env.exists`` against the process environment and offers
    no parameter for it, so we swap ``os.environ`` under a lock and restore it afterwards. Other
    threads of this process see the swapped environment meanwhile (renders take milliseconds).
    """
    with _ENV_LOCK:
        saved = dict(os.environ)
        try:
            os.environ.clear()
            os.environ.update({str(k): str(v) for k, v in env.items()})
            yield
        finally:
            os.environ.clear()
            os.environ.update(saved)


# --------------------------------------------------------------------------- variants


def used_keys(texts: list[str], variants: Variants) -> set[str]:
    """Variant keys a recipe can use: named as a word in its files, or implied by compiler()/stdlib()."""
    tokens: set[str] = set()
    for text in texts:
        for tok in _TOKEN.findall(text):
            tokens.add(tok)
            tokens.add(tok.rstrip(".-"))
        for kind, lang in _TOOLCHAIN_CALL.findall(text):
            tokens.update({f"{lang}_{kind}", f"{lang}_{kind}_version"})
    return {k for k in variants.values if k in tokens}


def combinations(v: Variants) -> int:
    """Upper bound of the variant combinations of ``v`` (zip groups count once)."""
    total = 1
    zipped: set[str] = set()
    for group in v.zip_keys:
        present = [k for k in group if k in v.values]
        if present:
            total *= max(len(v.values[k]) for k in present)
            zipped.update(present)
    for k, vals in v.values.items():
        if k not in zipped:
            total *= max(1, len(vals))
    return total


def cap_variants(v: Variants, cap: int = MAX_COMBINATIONS) -> tuple[Variants, list[str]]:
    """Halve the longest value lists (zip groups together) until at most ``cap`` combinations remain."""
    if combinations(v) <= cap:
        return v, []
    values = {k: list(x) for k, x in v.values.items()}
    original = {k: list(x) for k, x in v.values.items()}
    groups: list[list[str]] = []
    seen: set[str] = set()
    for g in v.zip_keys:
        present = [k for k in g if k in values]
        if present:
            groups.append(present)
            seen.update(present)
    groups.extend([k] for k in values if k not in seen)
    work = Variants(values, v.zip_keys)
    while combinations(work) > cap:
        group = max(groups, key=lambda g: (max(len(values[k]) for k in g), g[0]))
        size = max(len(values[k]) for k in group)
        if size <= 1:
            break
        keep = math.ceil(size / 2)
        for k in group:
            values[k] = values[k][:keep]
    notes = []
    for k in sorted(values):
        if len(values[k]) < len(original[k]):
            cut = original[k][len(values[k]) :]
            notes.append(f"variants cut to stay under {cap} combinations: {k} kept {values[k]}, dropped {cut}")
    return work, notes


def typed_value(value: str) -> str | bool:
    """Variant values are kept as text; YAML booleans must reach rattler-build as booleans again.

    ``use_noarch: [false]`` in a variant file is the boolean ``false`` for rattler-build; passed as
    the text ``"false"`` it would be truthy in ``if: use_noarch``.
    """
    low = value.strip().lower()
    if low in ("true", "false"):
        return low == "true"
    return value


def variant_config(v: Variants):
    """``v`` as a rattler-build VariantConfig, with booleans restored (see ``typed_value``)."""
    from rattler_build import VariantConfig

    values = {k: [typed_value(x) for x in vals] for k, vals in v.values.items()}
    return VariantConfig(values, [list(g) for g in v.zip_keys] or None)


def recipe_variants(src: RecipeSource, pair: PlatformPair) -> Variants:
    """The recipe's own variant files, evaluated for ``pair`` (conda_build_config first, then variants)."""
    own = Variants()
    for name in ("conda_build_config.yaml", "variants.yaml"):
        text = src.text(name)
        if text is not None:
            own = own.merged(load_recipe_variants(text, name, pair, src.display(name)))
    return own


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


def _write_recipe_dir(src: RecipeSource, root: Path) -> None:
    for rel, data in src.files.items():
        p = PurePosixPath(rel)
        if p.is_absolute() or ".." in p.parts:
            continue
        dest = root.joinpath(*p.parts)
        dest.parent.mkdir(parents=True, exist_ok=True)
        dest.write_bytes(data)


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


def _render_error_line(stage0_recipe: Any, variants: Variants, platform: Any, env: dict[str, str]) -> int | None:
    """Render the recipe as parsed from its text (not the probe copy) to get the error's real line."""
    from rattler_build import RenderConfig

    try:
        with controlled_environ(env):
            stage0_recipe.render(variant_config(variants), RenderConfig(platform))
    except Exception as exc:  # rattler-build raises its own exception types
        m = re.search(r"\bline: (\d+)", str(exc))
        if m and int(m.group(1)) > 1:
            return int(m.group(1))
    return None


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


def add_skip_probes(d: dict[str, Any]) -> list[list[str]]:
    """Replace ``build.skip`` by probes; returns, per package output in order, its skip conditions.

    Each package output ``i`` gets ``newarch-output-probe-<i>`` in ``run_constraints`` (outputs may
    share a name, e.g. a compiled and a ``noarch`` build of one package) and, per skip condition
    ``k``, ``{if: <condition>, then: [newarch-skip-probe-<i>-<k>]}``.
    """
    top = _skip_conditions((d.get("build") or {}).get("skip"))
    if isinstance(d.get("build"), dict):
        d["build"]["skip"] = []
    targets: list[dict[str, Any]] = []
    if isinstance(d.get("outputs"), list):
        targets = [o for o in d["outputs"] if isinstance(o, dict) and "package" in o]
    else:
        targets = [d]
    result: list[list[str]] = []
    for i, target in enumerate(targets):
        build = target.get("build") if isinstance(target.get("build"), dict) else {}
        conds = top + (_skip_conditions(build.get("skip")) if target is not d else [])
        if isinstance(target.get("build"), dict):
            target["build"]["skip"] = []
        probes = [c for c in conds if not c.startswith("{")]
        reqs = target.get("requirements")
        if not isinstance(reqs, dict):
            reqs = target["requirements"] = {}
        rc = reqs.get("run_constraints")
        if not isinstance(rc, list):
            rc = reqs["run_constraints"] = []
        rc.append(f"{OUTPUT_PROBE}{i}")
        for k, cond in enumerate(probes):
            rc.append({"if": cond, "then": [f"{PROBE_PREFIX}{i}-{k}"]})
        result.append(probes)
    return result


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


def convert(
    rv: Any,
    d: dict[str, Any],
    stage0: dict[str, Any],
    s0: dict[str, Any],
    conds: list[str],
    siblings: set[str],
    pair: PlatformPair,
) -> Output:
    """One rendered variant (stage1 dict ``d``) -> :class:`Output`, with conditions recovered from stage0."""
    pkg = d.get("package") or {}
    name = str(pkg.get("name", ""))
    build = d.get("build") or {}
    reqs = d.get("requirements") or {}
    pins = {n: (str(i.version), str(i.build_string or "")) for n, i in rv.pin_subpackages.items()}
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
    skip_reason = " or ".join(conds[k] for k in sorted(set(fired)) if k < len(conds))
    noarch = build.get("noarch")
    return Output(
        name=name,
        version=str(pkg.get("version", "")),
        noarch=str(noarch) if noarch else "",
        build_number=int(build.get("number") or 0) if str(build.get("number") or 0).isdigit() else 0,
        skip=bool(fired),
        skip_reason=skip_reason,
        variant=variant,
        requirements=requirements,
        run_exports=run_exports,
        ignore_run_exports=tuple(str(x) for x in ire.get("by_name") or ()),
        ignore_run_exports_from=tuple(str(x) for x in ire.get("from_package") or ()),
        dropped=tuple(dropped),
    )


# --------------------------------------------------------------------------- entry point


def render_v1(src: RecipeSource, pair: PlatformPair, pinning: Variants, env: dict[str, str]) -> RenderResult:
    """Render ``src`` (a v1 recipe) for ``pair``. Raises :class:`RenderError` for a bad recipe."""
    from rattler_build import PlatformConfig, RenderConfig, Stage0Recipe

    display = src.display("recipe.yaml")
    text = src.text("recipe.yaml")
    if text is None:
        raise RenderError("no recipe.yaml", display)
    result = RenderResult(pair=pair)

    merged = pinning.merged(recipe_variants(src, pair))
    texts = [
        t
        for t in (src.text(r) for r in sorted(src.files) if r.endswith((".yaml", ".yml", ".sh", ".bat")))
        if t is not None
    ]
    restricted = merged.restricted(used_keys(texts, merged))
    restricted, cut_notes = cap_variants(restricted)
    result.notes.extend(cut_notes)

    platform = PlatformConfig(target_platform=pair.target, build_platform=pair.build, host_platform=pair.target)
    with tempfile.TemporaryDirectory(prefix="newarch-v1-") as tmp:
        root = Path(tmp)
        _write_recipe_dir(src, root)
        for _ in range(MAX_RELAXATIONS + 1):
            stage0_recipe, text = _parse(text, root, display, result.notes)
            stage0 = stage0_recipe.to_dict()
            probed = json.loads(json.dumps(stage0))
            probe_lists = add_skip_probes(probed)
            try:
                probe_recipe = Stage0Recipe.from_dict(probed, recipe_dir=root)
                with controlled_environ(env):
                    rendered = probe_recipe.render(variant_config(restricted), RenderConfig(platform))
                break
            except Exception as exc:  # rattler-build raises its own exception types
                message = clean_message(_first_line(exc))
                relaxed = _relax(text, message)
                if relaxed is None:
                    line = _render_error_line(stage0_recipe, restricted, platform, env)
                    raise RenderError(message, display, line or locate(text, message)) from exc
                text, note = relaxed
                result.notes.append(note)
        else:
            raise RenderError("too many rejected fields", display)

    outputs_s0 = stage0.get("outputs") if isinstance(stage0.get("outputs"), list) else [stage0]
    package_outputs = [o for o in outputs_s0 if isinstance(o, dict) and "package" in o]
    recipes = [(rv, rv.recipe.to_dict()) for rv in rendered]
    siblings = {str((d.get("package") or {}).get("name", "")) for _, d in recipes}
    s0_by_name = stage0_outputs_by_name(stage0, siblings)

    seen: set[str] = set()
    for rv, d in recipes:
        name = str((d.get("package") or {}).get("name", ""))
        index, _ = probe_marks(d)
        if index is not None and index < len(package_outputs):
            s0, conds = package_outputs[index], probe_lists[index]
        else:  # not expected: every package output carries its index probe
            s0, conds = s0_by_name.get(name, {}), []
        out = convert(rv, d, stage0, s0, conds, siblings, pair)
        key = json.dumps(out.to_dict(), sort_keys=True)
        if key not in seen:
            seen.add(key)
            result.outputs.append(out)
    result.outputs.sort(key=Output.sort_key)
    return result


__all__ = [
    "render_v1",
    "controlled_environ",
    "used_keys",
    "cap_variants",
    "combinations",
    "add_skip_probes",
    "locate",
    "MAX_COMBINATIONS",
]
