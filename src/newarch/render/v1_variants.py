"""The variant matrix of a v1 render: which keys a recipe sees, capping, and splitting into renders.

rattler-build renders every combination of the variant keys a recipe uses, evaluating every output
for each, and then links each output variant to the variants of the outputs it pins
(``pin_subpackage(..., exact=True)``) and sorts them all by dependency. That linking and sorting
costs time in the square of the number of variants rendered together (ctng-compiler-activation: 96
combinations, 288 variants). ``split_variants`` cuts the matrix into one matrix per combination so
each rattler-build call renders one combination; why the union of those renders is what newarch would
store from the whole matrix is explained there.
"""

from __future__ import annotations

import itertools
import math
import re
from collections.abc import Iterator
from functools import lru_cache
from typing import Any

from newarch.model import PlatformPair
from newarch.render.pinning import Variants, load_recipe_variants
from newarch.sources.recipes import RecipeSource

MAX_COMBINATIONS = 256
# Matrices with more combinations than this are rendered one combination per call. Below it a whole
# render is cheap, and a key counted that rattler-build does not combine (``python`` named only in a
# cross-compiling branch) would multiply the work by the number of parts.
SPLIT_ABOVE = 8

_TOKEN = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.\-]*")
_TOOLCHAIN_CALL = re.compile(r"""\b(compiler|stdlib)\(\s*["']([\w\-]+)["']""")


def used_keys(texts: list[str], variants: Variants) -> set[str]:
    """Variant keys a recipe can use: named as a word in its files, or implied by compiler()/stdlib()."""
    tokens = _all_tokens(tuple(texts))
    return {k for k in variants.values if k in tokens}


@lru_cache(maxsize=512)
def _all_tokens(texts: tuple[str, ...]) -> frozenset[str]:
    return frozenset().union(*(_tokens(t) for t in texts))


@lru_cache(maxsize=512)
def _tokens(text: str) -> frozenset[str]:
    """The words of ``text`` (cached: a snapshot renders each recipe for several pairs)."""
    tokens: set[str] = set()
    for tok in _TOKEN.findall(text):
        tokens.add(tok)
        tokens.add(tok.rstrip(".-"))
    for kind, lang in _TOOLCHAIN_CALL.findall(text):
        tokens.update({f"{lang}_{kind}", f"{lang}_{kind}_version"})
    return frozenset(tokens)


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
    files = tuple((name, src.text(name), src.display(name)) for name in ("conda_build_config.yaml", "variants.yaml"))
    own = _own_variants(files, pair)
    return Variants({k: list(v) for k, v in own.values.items()}, [list(g) for g in own.zip_keys])


@lru_cache(maxsize=256)
def _own_variants(files: tuple[tuple[str, str | None, str], ...], pair: PlatformPair) -> Variants:
    """``recipe_variants`` by file texts (cached: rattler-build reads each file from a temporary copy)."""
    own = Variants()
    for name, text, display in files:
        if text is not None:
            own = own.merged(load_recipe_variants(text, name, pair, display))
    return own


def _axes(v: Variants) -> list[list[str]] | None:
    """The independent axes of ``v``: each zip group (its keys present in ``v``) and each other key.

    ``None`` when the zip groups are not a clean partition (a key in two groups, or zipped keys of
    different lengths): rattler-build reports those, so such a matrix is never split.
    """
    axes: list[list[str]] = []
    zipped: set[str] = set()
    for group in v.zip_keys:
        present = [k for k in group if k in v.values]
        if not present:
            continue
        if zipped.intersection(present) or len({len(v.values[k]) for k in present}) != 1:
            return None
        zipped.update(present)
        axes.append(present)
    axes.extend([k] for k in v.values if k not in zipped)
    return axes


# rattler-build's ALWAYS_INCLUDED_VARS
ALWAYS_USED = frozenset({"target_platform", "channel_targets", "channel_sources"})
_EXACT_PIN = re.compile(r"pin_subpackage\((?:[^()]|\([^()]*\))*\bexact\s*=\s*true", re.I)
_TEMPLATE = re.compile(r"\$\{\{.*?\}\}", re.S)
_IDENT = re.compile(r"\s*([A-Za-z_][A-Za-z0-9_]*)\s*")
_NOT_A_NAME = re.compile(r"""^\$\{\{\s*(pin_subpackage|pin_compatible)\(""")


def has_exact_pins(text: str) -> bool:
    """Whether a recipe pins an output exactly (what makes rattler-build's cost grow with the square)."""
    return bool(_EXACT_PIN.search(text))


def _strings(node: Any) -> Iterator[str]:
    if isinstance(node, str):
        yield node
    elif isinstance(node, dict):
        for v in node.values():
            yield from _strings(v)
    elif isinstance(node, list):
        for v in node:
            yield from _strings(v)


def _requirement_strings(stage0: dict[str, Any]) -> Iterator[str]:
    """Every string under a ``requirements`` mapping of the recipe or of an output."""
    for holder in [stage0, *[o for o in stage0.get("outputs") or [] if isinstance(o, dict)]]:
        yield from _strings(holder.get("requirements"))


def _spelling(text: str, v: Variants, known: dict[str, str]) -> str:
    """A regex of what ``text`` can render to: ``${{ key }}`` as one of its values, other templates as ``.*``."""
    out: list[str] = []
    pos = 0
    for m in _TEMPLATE.finditer(text):
        out.append(re.escape(text[pos : m.start()]))
        ident = _IDENT.fullmatch(m.group(0)[3:-2])
        name = ident.group(1) if ident else None
        if name in known:
            out.append(re.escape(known[name]))
        elif name in v.values:
            out.append("(?:" + "|".join(re.escape(x) for x in v.values[name]) + ")")
        else:
            out.append(".*")
        pos = m.end()
    out.append(re.escape(text[pos:]))
    return "".join(out)


def rattler_keys(v: Variants, recipe_text: str, stage0: dict[str, Any], known: dict[str, str]) -> set[str]:
    """Keys of ``v`` rattler-build can make combinations of: a superset of the ones it does.

    rattler-build combines the variables its recipe templates and conditions name, the package names
    of unpinned requirements, ``use_keys``, ``target_platform``/``channel_*``, upper-case OS
    variables (``MACOSX_DEPLOYMENT_TARGET``) and ``cdt_name`` for ``cdt()``: each is a word of
    ``recipe.yaml`` (``compiler('c')`` counts as ``c_compiler``) or one of those names. It also adds keys it discovers while
    evaluating: an unpinned requirement whose name is a template can render to a key's name, so a
    key that a templated requirement string can spell counts too (``${{ key }}`` as one of the key's
    values, ``known`` platform names as themselves, any other template as anything).
    ``newarch``'s own key selection (``used_keys``) also reads build scripts: a key named only there
    (``python`` in an activation script) is passed to rattler-build but makes no combination.
    """
    words = _tokens(recipe_text)
    keys = {k for k in v.values if k in words or k in ALWAYS_USED or k.upper() == k}
    if "cdt" in words and "cdt_name" in v.values:  # cdt('x') reads cdt_name
        keys.add("cdt_name")
    rest = [k for k in v.values if k not in keys]
    if rest:
        for text in _requirement_strings(stage0):
            if "${{" not in text or _NOT_A_NAME.match(text.strip()):
                continue
            regex = re.compile(r"\s*" + _spelling(text.strip(), v, known) + r"\s*", re.S)
            keys.update(k for k in rest if regex.fullmatch(k))
    return keys


def split_variants(v: Variants, keys: set[str], above: int = SPLIT_ABOVE) -> list[Variants]:
    """``v`` cut into one part per combination of ``keys`` (zip groups cut by row), when there are more than ``above``.

    ``keys``: the keys rattler-build can combine (``rattler_keys``); the other keys keep all their
    values in every part (rattler-build makes no combinations of them). Why rendering each part alone
    stores the same outputs as rendering ``v`` at once (rattler-build, ``variant_render.rs``): every
    combination is evaluated on its own (stage1 recipe, used variant, hash); what crosses
    combinations is (1) the dependency sort (order only: newarch sorts its outputs) and (2) resolving
    an exact ``pin_subpackage`` to the pinned output's variant whose full combination matches the
    most keys. Every combined key with more than one value is fixed in a part, so a part holds one
    combination; when the pinned output renders in that combination it is the unique full match in
    both renders, and when it does not, the part fails with ``MissingOutput`` and the caller renders
    ``v`` whole. Outputs that do not use a split key come out identical from several parts; newarch
    keeps one.
    """
    multi = combined_axes(v, keys)
    if multi is None or math.prod(len(v.values[a[0]]) for a in multi) <= above:
        return [v]
    return one_per_combination(v, multi)


def combined_axes(v: Variants, keys: set[str]) -> list[list[str]] | None:
    """The axes of ``v`` (``_axes``) with more than one value that hold a key of ``keys``."""
    axes = _axes(v)
    if axes is None:
        return None
    return [a for a in axes if len(v.values[a[0]]) > 1 and keys.intersection(a)]


def one_per_combination(v: Variants, axes: list[list[str]]) -> list[Variants]:
    """``v`` cut into one part per combination of the rows of ``axes`` (in ``itertools.product`` order)."""
    parts: list[Variants] = []
    for rows in itertools.product(*(range(len(v.values[a[0]])) for a in axes)):
        values = dict(v.values)
        for axis, row in zip(axes, rows, strict=True):
            for k in axis:
                values[k] = [v.values[k][row]]
        parts.append(Variants(values, [list(g) for g in v.zip_keys]))
    return parts
