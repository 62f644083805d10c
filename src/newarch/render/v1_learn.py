"""Learn which outputs read a variant axis, and render the axis's other values for those outputs only.

rattler-build evaluates every output of a recipe for every combination of the keys the recipe uses.
ctng-compiler-activation combines 3 gcc versions, 8 cross-target rows and 4 clang versions (96
combinations, one rattler-build call each: ``v1_variants.split_variants``); in most combinations
most of its outputs never read the clang version, yet each is evaluated 4 times over.

``render_learned`` picks one axis (a key, or a zip group) the recipe's ``context`` and top-level
``build`` do not name, renders every combination of the other axes with that axis at its first row,
and then, for each other row, only the outputs whose evaluation may depend on it in that
combination:

- an output rendered there whose variant names a key of the axis (rattler-build's ``used_variant``:
  the variables its evaluation read), or which ignores such a key (``ignore_keys``: read, not shown);
- an output whose own ``skip`` names a key of the axis (skipped or not);
- an output that pins one of those (``pin_subpackage``), transitively;

each rendered with the outputs it pins, one combination per call, so that an exact pin resolves to
the build of the same combination (the argument of ``split_variants``).

Why the union is what rendering every combination stores: an evaluation that did not read a variable
is the same for every value of it, so an output whose variant at the first row does not name the
axis comes out identical (requirements, variant, hash, build string) at every row; and an output
skipped at the first row by conditions that do not name the axis, in a recipe whose context does not
name it, is skipped at every row. The ``python`` key is never learned: rattler-build leaves it out
of a ``noarch: python`` variant even when the evaluation read it. On any failure (``None``, or an
exception) the caller renders as before, so errors stay rattler-build's own.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from typing import Any

from newarch.render.pinning import Variants
from newarch.render.v1_outputs import _skip_conditions, package_outputs
from newarch.render.v1_pins import closure, pins, texts
from newarch.render.v1_variants import SPLIT_ABOVE, _tokens, combined_axes, one_per_combination

_NORMAL = re.compile(r"[-.]")


def _normal(key: str) -> str:
    return _NORMAL.sub("_", key)


def learning_axis(stage0: dict[str, Any], axes: list[list[str]], v: Variants) -> list[str] | None:
    """The axis to learn: the one with the most rows among those the recipe's ``context`` and
    top-level ``build`` do not name (every output's skip may read what those name), never ``python``."""
    shared = _tokens("\n".join(texts({"context": stage0.get("context"), "build": stage0.get("build")})))
    free = [a for a in axes if not shared.intersection(a) and "python" not in a]
    if not free:
        return None
    return max(free, key=lambda a: len(v.values[a[0]]))


def render_learned(
    stage0: dict[str, Any],
    v: Variants,
    combined: set[str],
    known: dict[str, str],
    recipe_of: Callable[[set[int] | None], Any],
    render_one: Callable[[Any, Variants], list],
    index_of: Callable[[Any, dict[str, Any]], int | None],
) -> list[tuple[Any, dict[str, Any]]] | None:
    """Every rendered variant with its ``to_dict``, or ``None`` when learning does not apply or its
    result cannot be trusted. rattler-build's own exceptions propagate: the caller then renders as before.

    ``recipe_of(indexes)``: the recipe with those package outputs (``None``: all of them);
    ``render_one(recipe, part)``: rattler-build's render of one combination; ``index_of(rv, d)``:
    which package output a rendered variant is.
    """
    outs = package_outputs(stage0)
    axes = combined_axes(v, combined)
    if len(outs) < 2 or not isinstance(stage0.get("outputs"), list) or not axes:
        return None
    if math.prod(len(v.values[a[0]]) for a in axes) <= SPLIT_ABOVE:
        return None  # rendered whole in one call: cheaper than any learning
    axis = learning_axis(stage0, axes, v)
    if axis is None:
        return None
    others = [a for a in axes if a is not axis]
    rows = len(v.values[axis[0]])
    axis_keys = {_normal(k) for k in axis}
    skips_read = {
        i
        for i, o in enumerate(outs)
        if isinstance(o.get("build"), dict) and _tokens("\n".join(_skip_conditions(o["build"].get("skip")))) & set(axis)
    }
    direct = pins(stage0, v, known)
    pinned_by = [{i for i in range(len(outs)) if j in direct[i]} for j in range(len(outs))]

    def cut(part: Variants, row: int) -> Variants:
        values = dict(part.values)
        for k in axis:
            values[k] = [v.values[k][row]]
        return Variants(values, [list(g) for g in part.zip_keys])

    recipes: dict[frozenset[int], Any] = {}
    done: list[tuple[Any, dict[str, Any]]] = []
    for part in one_per_combination(v, others) if others else [v]:
        first = render_one(recipe_of(None), cut(part, 0))
        if len(first) > len(outs):
            return None  # more than one combination in a part: rattler-build combined another key
        needs = set(skips_read)
        for rv in first:
            d = rv.recipe.to_dict()
            i = index_of(rv, d)
            if i is None:
                return None
            done.append((rv, d))
            if _reads(rv, d, axis_keys):
                needs.add(i)
        todo = list(needs)
        while todo:  # an output pinning one that changes with the axis changes with it
            for i in pinned_by[todo.pop()]:
                if i not in needs:
                    needs.add(i)
                    todo.append(i)
        if not needs:
            continue
        keep = frozenset(closure(direct, needs))
        if keep not in recipes:
            recipes[keep] = recipe_of(set(keep))
        for row in range(1, rows):
            got = render_one(recipes[keep], cut(part, row))
            if len(got) > len(keep):
                return None
            done.extend((rv, rv.recipe.to_dict()) for rv in got)
    return done


def _reads(rv: Any, d: dict[str, Any], axis_keys: set[str]) -> bool:
    """Whether rendered variant ``rv`` read a key of the axis (its variant names it, or it ignores it)."""
    shown = {_normal(str(k)) for k in (rv.variant or {})}
    ignored = {_normal(str(k)) for k in ((d.get("build") or {}).get("variant") or {}).get("ignore_keys") or []}
    return bool((shown | ignored) & axis_keys)
