"""Selector names conda-build does not know: ``# [x64_64]`` is silently ``False`` there.

conda-build's ``eval_selector`` catches ``NameError``, replaces the unknown name by ``False`` in the
selector and evaluates again, so a misspelled platform name drops its line on every platform. The
renderer does the same (``render.selectors.is_true``); this module finds those names for the lint.
"""

from __future__ import annotations

from collections.abc import Iterable

from newarch.lint.text import RecipeText
from newarch.model import Output, PlatformPair
from newarch.render.selector_namespace import selector_namespace
from newarch.render.selectors import unknown_names


def unknown_selector_names(
    text: RecipeText, pair: PlatformPair, outputs: Iterable[Output], env: dict[str, str]
) -> list[tuple[int, str, list[str]]]:
    """(line, selector, unknown names) for each v0 ``# [...]`` selector that reads an unknown name.

    Known are conda-build's platform and python names for ``pair``, the environment and every
    variant key of the rendered ``outputs`` (variant keys a selector reads are in the variant).
    """
    # conda-build's variant always has these (``get_default_variant`` and the target platform)
    variant: dict[str, str] = {
        "target_platform": pair.target,
        "r_base": "3.5",
        "cpu_optimization_target": "nocona",
        "ignore_build_only_deps": "python",
    }
    for out in outputs:
        variant.update(out.variant)
    ns = selector_namespace(pair.target, pair.build, variant, env)
    found: list[tuple[int, str, list[str]]] = []
    for ln in text.lines:
        if not ln.selector or (not ln.content and ln.text.lstrip().startswith("#")):
            continue
        names = unknown_names(ln.selector, ns)
        if names:
            found.append((ln.number, ln.selector, names))
    return found


__all__ = ["unknown_selector_names"]
