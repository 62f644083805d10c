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
   API to pass one, so only the variables the recipe names are set (or unset) around the call.
   A recipe that pins an output exactly is rendered one combination per call when its matrix is
   large (``v1_variants.split_variants``), and then *learned* (``v1_learn``): the other values of
   one axis are rendered only for the outputs whose variant shows they read it;
4. *skip recovery*: rattler-build silently drops skipped outputs. Only the package outputs that
   rendered no variant at all are probed again, with the outputs they pin, on a reduced variant
   matrix (``PROBE_COMBINATIONS``): each ``build.skip`` condition becomes a probe (``if: <skip>
   then: newarch-skip-probe-N`` in ``run_constraints``), so the output is reported with the
   condition that skipped it. A ``${{ expr }}`` skip item becomes ``if: expr``;
5. place each rendered variant on its stage0 output (``v1_pins.output_index``), convert, recover
   ``if:`` conditions (``v1_conditions``), deduplicate and sort (a total order).

An edited copy of the recipe (a skip probe, a recipe cut to some outputs) is written back as YAML
that keeps the style of each ``context`` value (``v1_recipe.recipe_yaml``): rattler-build types a
plain ``${{ expr }}`` by its value and a quoted one as text.

``render_counts`` tells how many variants the last render of this thread asked rattler-build for
(``rendered``: the plain render; ``probed``: the skip-recovery render).

Parsing, relaxing and the environment are in ``v1_recipe``; skip probes and conversion in
``v1_outputs``; the variant matrix in ``v1_variants``; pins between outputs in ``v1_pins``.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from newarch.errors import RenderError
from newarch.model import Output, PlatformPair, RenderResult
from newarch.render.pinning import Variants
from newarch.sources.recipes import RecipeSource
from newarch.render.v1_outputs import (
    _name_regex,
    _output_name,
    _skip_conditions,
    convert,
    package_outputs,
    pins_of,
    probe_marks,
    probe_recipe,
    stage0_outputs_by_name,
)
from newarch.render.v1_recipe import (
    MAX_RELAXATIONS,
    _LOCAL,
    _first_line,
    _parse,
    _relax,
    _write_recipe_dir,
    build_time_names,
    clean_message,
    controlled_environ,
    env_names,
    locate,
    work_dir,
    recipe_yaml,
    stage0_from_yaml,
)
from newarch.render.v1_learn import render_learned
from newarch.render.v1_pins import closure, output_index, pins, sub_recipe
from newarch.render.v1_variants import (
    cap_variants,
    has_exact_pins,
    rattler_keys,
    recipe_variants,
    split_variants,
    used_keys,
    variant_config,
)

PROBE_COMBINATIONS = 8  # variant combinations a skip-recovery probe renders at most
_CONFIGS: dict[str, Any] = {}  # pair key -> rattler-build RenderConfig (read-only once made)


# --------------------------------------------------------------------------- entry point


def _from_dict(d: dict[str, Any], root: Path, text: str) -> Any:
    """``Stage0Recipe.from_dict`` for an edited copy of recipe ``text``: JSON flow values (``json.dumps``
    runs in C; ``from_dict`` pretty-prints in pure Python), and the context styles of ``text``, which
    ``from_dict`` would lose (``recipe_yaml``)."""
    return stage0_from_yaml(recipe_yaml(d, text), root)


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


def _render_learned(
    stage0: dict[str, Any],
    recipe: Any,
    text: str,
    variants: Variants,
    keys: set[str],
    platforms: dict[str, str],
    root: Path,
    config: Any,
    env: dict[str, str],
    names: set[str] | None,
) -> list[tuple[Any, dict[str, Any]]] | None:
    """``v1_learn.render_learned`` for this render; ``None`` (and no calls counted) when it does not apply."""
    outputs = package_outputs(stage0)
    patterns = [_name_regex(_output_name(o)) for o in outputs]
    counts = dict(_LOCAL.__dict__.setdefault("counts", {"rendered": 0, "probed": 0, "calls": 0}))

    def recipe_of(indexes: set[int] | None) -> Any:
        return recipe if indexes is None else _from_dict(sub_recipe(stage0, indexes), root, text)

    def render_one(r: Any, part: Variants) -> list:
        return _render(r, part, config, env, names)

    try:
        learned = render_learned(
            stage0,
            variants,
            keys,
            platforms,
            recipe_of,
            render_one,
            lambda rv, d: output_index(d, rv.variant, outputs, patterns, platforms),
        )
    except Exception:  # rattler-build raises its own exception types; the whole render decides
        learned = None
    if learned is None:
        _LOCAL.counts = counts
    return learned


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
    platforms = {"target_platform": pair.target, "build_platform": pair.build, "host_platform": pair.target}
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
                recipe = _from_dict(probe_dict, root, text)
            else:
                recipe = stage0_recipe
            keys = rattler_keys(restricted, text, stage0, platforms) if has_exact_pins(text) else None
            split = (keys, max(1, len(package_outputs(stage0)))) if keys is not None else None
            learned = None
            if keys is not None and not single_skip:
                learned = _render_learned(stage0, recipe, text, restricted, keys, platforms, root, config, env, names)
            if learned is None:
                rendered = _render(recipe, restricted, config, env, names, split)
                dicts = [rv.recipe.to_dict() for rv in rendered]
            else:
                rendered, dicts = [rv for rv, _ in learned], [d for _, d in learned]
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
    for rv, d in zip(rendered, dicts, strict=True):
        placed.append(
            (rv, d, 0, bool(probe_marks(d)[1]))
            if single_skip
            else (rv, d, output_index(d, rv.variant, outputs, patterns, platforms), False)
        )
    gone = set() if single_skip else set(range(len(outputs))) - {i for _, _, i, _ in placed}

    if gone:
        probe_dict, conds = probe_recipe(stage0, closure(pins(stage0, restricted, platforms), gone))
        small, _ = cap_variants(restricted, PROBE_COMBINATIONS)
        try:
            split = (keys, len(package_outputs(probe_dict))) if keys is not None else None
            probed = _render(_from_dict(probe_dict, root, text), small, config, env, names, split)
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
    seen: dict[str, Output] = {}
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
        out = convert(
            rv, d, stage0, s0, conds.get(index, []) if skipped and index is not None else [], siblings, pair, skipped
        )
        for name in stand_ins:  # rattler-build counts a read context name as a variant key
            out.variant.pop(name, None)
        seen.setdefault(json.dumps(out.to_dict(), sort_keys=True), out)
    # in a total order: outputs of one name and variant (pinning different builds) come in the order
    # of their content, not in the order rattler-build was asked for the combinations
    result.outputs = [seen[k] for k in sorted(seen, key=lambda k: (seen[k].sort_key(), k))]
    return result
