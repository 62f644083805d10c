"""The variants of a conda-build ``meta.yaml`` (v0 recipe), as conda-build finds them.

The recipe's ``conda_build_config.yaml`` (with selectors) merged over the channel pinning
(conda-build's ``combine_specs``), the variant keys the recipe uses (its
``find_used_variables_in_text`` regexes, and ``$key``/``%key%`` in build scripts), and their
combinations (honouring ``zip_keys``, at most :data:`MAX_VARIANTS`).
"""

from __future__ import annotations

import itertools
import re
from bisect import bisect_right
from functools import lru_cache
from typing import Any
from collections.abc import Iterable, Mapping

from newarch.errors import RenderError
from newarch.render.pinning import Variants
from newarch.sources.recipes import RecipeSource
from newarch.render import selectors as sel
from newarch.render.v0_lines import _BaseLoader, load_yaml, split_selectors

MAX_VARIANTS = 64


# ----------------------------------------------------------------------------- variants


def _ensure_list(v: Any) -> list[Any]:
    if v is None:
        return []
    if isinstance(v, (list, tuple)):
        return list(v)
    return [v]


def _scalar(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    return str(v)


def parse_recipe_cbc(text: str, ns: Mapping[str, Any], display: str) -> tuple[Variants, dict[str, set[str]]]:
    """A recipe's ``conda_build_config.yaml`` with conda-build's selector semantics.

    Returns the values and ``zip_keys`` (a flat ``zip_keys`` list is one group, as in conda-build).
    """
    kept: list[str] = []
    for i, (selector, line) in enumerate(split_selectors(text)):
        if selector is None or sel.is_true(selector, ns, display, i + 1):
            kept.append(line)
        else:
            kept.append("")
    data = _load_cbc("\n".join(kept) + "\n", display)
    if data is None:
        return Variants(), {}
    if not isinstance(data, dict):
        raise RenderError("conda_build_config.yaml is not a mapping", display)
    values: dict[str, list[str]] = {}
    zips: list[list[str]] = []
    for key, value in data.items():
        key = str(key)
        if key == "zip_keys":
            groups = [g for g in _ensure_list(value) if g]
            if groups and not isinstance(groups[0], (list, tuple)):
                groups = [groups]
            zips.extend([str(x) for x in _ensure_list(g)] for g in groups)
        elif isinstance(value, dict):
            continue  # pin_run_as_build and friends: not variant dimensions
        else:
            if value in (None, "", []):  # conda-build's trim_empty_keys: all lines selected away -> unset
                continue
            values[key] = [_scalar(x) for x in _ensure_list(value)]
    return Variants(values, zips), {}


@lru_cache(maxsize=256)
def _load_cbc(text: str, display: str) -> Any:
    """The parsed file (read only by the caller; cached: every variant and pair reads the same text)."""
    return load_yaml(text, display, loader=_BaseLoader)


def merge_variants(base: Variants, recipe: Variants, display: str) -> tuple[Variants, dict[str, set[str]]]:
    """conda-build's ``combine_specs`` of the pinning and the recipe's file.

    zip groups are united; a recipe key replaces the pinning's values when it gives its whole zip
    group or the lengths agree; otherwise its values must be a subset and filter the combinations.
    """
    zips: list[list[str]] = []
    seen: set[tuple[str, ...]] = set()
    for zk in [*base.zip_keys, *recipe.zip_keys]:
        t = tuple(zk)
        if t not in seen:
            seen.add(t)
            zips.append(list(zk))
    values = {k: list(v) for k, v in base.values.items()}
    filters: dict[str, set[str]] = {}
    for k, v in recipe.values.items():
        group = next((g for g in zips if k in g), [k])
        if all(g in recipe.values for g in group):
            for g in group:
                if len(recipe.values[g]) != len(v):
                    raise RenderError(
                        f"zip_keys: {k} and {g} have different lengths ({len(v)} and {len(recipe.values[g])})", display
                    )
            values[k] = list(v)
        elif k in values:
            if all(len(values[g]) == len(v) for g in group if g in values and g != k):
                values[k] = list(v)
            else:
                missing = [x for x in v if x not in values[k]]
                if missing:
                    raise RenderError(
                        f"variant config is ambiguous: {k} is zipped with "
                        f"{', '.join(g for g in group if g != k)} but only {k} is given, and "
                        f"{missing} are not among the pinning's values",
                        display,
                    )
                filters[k] = set(v)
        else:
            values[k] = list(v)
    return Variants(values, zips), filters


def expand_variants(
    variants: Variants, used: Iterable[str], filters: Mapping[str, set[str]], display: str
) -> tuple[list[dict[str, str]], int]:
    """Combinations of the used keys (zip groups move together); unused keys take their first value.

    Returns (combinations, total before the MAX_VARIANTS cut).
    """
    used = [k for k in sorted(set(used)) if k in variants.values and variants.values[k]]
    base = {k: v[0] for k, v in variants.values.items() if v}
    dims: list[list[dict[str, str]]] = []
    done: set[str] = set()
    for group in variants.zip_keys:
        present = [g for g in group if g in variants.values and variants.values[g]]
        if not present or not set(present) & set(used):
            continue
        lengths = {len(variants.values[g]) for g in present}
        if len(lengths) > 1:
            raise RenderError(
                f"zip_keys group {present} has values of different lengths "
                f"({', '.join(f'{g}: {len(variants.values[g])}' for g in present)})",
                display,
            )
        rows = [
            dict(zip(present, row, strict=True)) for row in zip(*(variants.values[g] for g in present), strict=True)
        ]
        rows = [r for r in rows if all(r[k] in filters[k] for k in r if k in filters)]
        dims.append(rows)
        done.update(present)
    for k in used:
        if k in done:
            continue
        vals = [x for x in variants.values[k] if k not in filters or x in filters[k]]
        dims.append([{k: x} for x in dict.fromkeys(vals)])
    total = 1
    for d in dims:
        total *= len(d)
    combos: list[dict[str, str]] = []
    for parts in itertools.product(*dims):
        combo = dict(base)
        for p in parts:
            combo.update(p)
        combos.append(combo)
        if len(combos) >= MAX_VARIANTS:
            break
    return combos, total


# ----------------------------------------------------------------------------- used variables

_WORD_RE = re.compile(r"[A-Za-z0-9_]+")
_TARGET_KEY = re.compile(r"(.*?)_(compiler|stdlib)(_version)?$")


@lru_cache(maxsize=8192)
def _part_regex(v: str, part: str) -> re.Pattern[str]:
    """One of conda-build's ``find_used_variables_in_text`` regexes for key ``v``.

    conda-build searches their alternation; they are compiled one by one here, and only when a
    line holds what the part needs (see :data:`_PART_NEEDS`), which saves most compiles.
    """
    ve = re.escape(v)
    if part == "sel":
        return re.compile(rf"^[^#\[]*?\#?\s\[[^\]]*?(?<![_\w\d]){ve}[=\s<>!\]]")
    if part == "target":
        tm = _TARGET_KEY.match(v)
        assert tm is not None
        return re.compile(rf"\{{\s*{tm.group(2)}\([\'\"]{re.escape(tm.group(1))}[\"\'][^\{{]*?\}}")
    if part == "cdt":
        return re.compile(r"\{\s*cdt\(")
    if part == "expr":
        return re.compile(rf"\{{\s*(?:pin_[a-z]+\(\s*?['\"])?{ve}(?:[^_0-9a-zA-Z].*?)?\}}\}}")
    if part == "req":
        v_req = "[-_]".join(map(re.escape, v.split("_")))
        return re.compile(rf"^\s+\-\s+{v_req}\s*(?:\s[\[#]|$)")
    return re.compile(
        "|".join(
            [  # "block"
                r"(?:^|[^\{])\{%\s*(?:el)?if\s*.*" + ve + r"\s*(?:[^%]*?)?%\}",
                r"(?:^|[^\{])\{%\s*for\s*.*\s*in\s*" + ve + r"(?![a-zA-Z_0-9])(?:[^%]*?)?%\}",
                r"(?:^|[^\{])\{%\s*set\s*.*\s*=\s*.*(?<![a-zA-Z_0-9])" + ve + r"(?![a-zA-Z_0-9])(?:[^%]*?)?%\}",
            ]
        )
    )


def _key_used_in(v: str, selectors_only: bool, lines: Iterable[str]) -> bool:
    """Whether one of ``lines`` matches conda-build's regexes for ``v`` (a part is tried only on
    lines holding the text every match of it contains)."""
    parts: list[tuple[str, str]]
    if selectors_only:
        parts = [("[", "sel")]
    else:
        tm = _TARGET_KEY.match(v)
        parts = [(tm.group(2) + "(", "target")] if tm else [("cdt(", "cdt")] if v.startswith("cdt_") else []
        parts += [("}}", "expr"), ("-", "req"), ("{%", "block")]
    for ln in lines:
        for needle, part in parts:
            if needle in ln and _part_regex(v, part).search(ln):
                return True
    return False


def used_variables(keys: Iterable[str], text: str, selectors_only: bool = False) -> set[str]:
    """Variant keys ``text`` uses, by conda-build's rules (with a fast word pre-filter)."""
    return set(_used_variables(frozenset(keys), text, selectors_only))


# A requirement line naming a key alone (``  - python``): conda-build's second regex for every
# key at once. A key made of [A-Za-z0-9_] matches it exactly when the line's name, with ``-``
# read as ``_``, is the key, which saves compiling that key's regexes (the costly part cold).
_BARE_REQ = re.compile(r"^\s+\-\s+([A-Za-z0-9_-]+)\s*(?:\s[\[#]|$)")
_PLAIN_KEY = re.compile(r"[A-Za-z0-9_]+")


@lru_cache(maxsize=64)
def _target_keys(keys: frozenset[str]) -> dict[str, re.Match[str]]:
    """The ``<lang>_compiler``/``<lang>_stdlib`` (``_version``) keys among ``keys``."""
    out: dict[str, re.Match[str]] = {}
    for v in keys:
        m = _TARGET_KEY.match(v)
        if m:
            out[v] = m
    return out


class _Lines:
    """The lines of a text and where a substring occurs in them (``str.find`` on the joined text)."""

    def __init__(self, text: str) -> None:
        self.lines = text.splitlines()
        self.joined = "\n".join(self.lines)
        self.norm = self.joined.replace("-", "_")  # same offsets
        self.starts: list[int] = []
        pos = 0
        for ln in self.lines:
            self.starts.append(pos)
            pos += len(ln) + 1

    def having(self, needle: str, norm: bool = False) -> list[int]:
        """Indices of the lines containing ``needle`` (in the ``-`` -> ``_`` text when ``norm``)."""
        if not needle or "\n" in needle:
            hay = [ln.replace("-", "_") for ln in self.lines] if norm else self.lines
            return [i for i, ln in enumerate(hay) if needle in ln]
        text = self.norm if norm else self.joined
        out: list[int] = []
        n = len(self.lines)
        i = text.find(needle)
        while i != -1:
            line = bisect_right(self.starts, i) - 1
            out.append(line)
            if line + 1 >= n:
                break
            i = text.find(needle, self.starts[line + 1])
        return out


@lru_cache(maxsize=1024)
def _used_variables(keys: frozenset[str], text: str, selectors_only: bool) -> frozenset[str]:
    norm_text = text.replace("-", "_")
    words = set(_WORD_RE.findall(norm_text))
    has_target = "compiler(" in text or "stdlib(" in text
    has_cdt = "cdt(" in text
    info = _Lines(text)
    lines = info.lines
    bare: set[str] | None = None
    used: set[str] = set()
    todo = keys & words
    targets: dict[str, re.Match[str]] = {}
    if not selectors_only:
        if has_target:
            targets = _target_keys(keys)
            todo |= targets.keys()
        if has_cdt:
            todo |= {v for v in keys if v.startswith("cdt_")}
    for v in sorted(todo):
        tm = targets.get(v)
        if v not in words and not tm and not (has_cdt and v.startswith("cdt_") and not selectors_only):
            continue
        if tm:
            lang, call = tm.group(1), tm.group(2) + "("
            # the regexes need ``compiler(``/``stdlib(`` or the key (``-`` read as ``_``) on the line
            where = sorted(set(info.having(v, norm=True)) | set(info.having(call)))
            cand = [lines[i] for i in where if v in lines[i] or lang in lines[i]]
        elif v.startswith("cdt_") and not selectors_only:
            cand = [ln for ln in lines if v in ln or "cdt(" in ln]
        else:
            where = info.having(v, norm=True)
            if selectors_only:  # the selector regex needs the key after the line's first '['
                cand = [ln for ln in (lines[i] for i in where) if "[" in ln and v in ln[ln.index("[") :]]
            elif _PLAIN_KEY.fullmatch(v):
                if bare is None:
                    bare = set()
                    for ln in lines:
                        m = _BARE_REQ.match(ln) if "-" in ln else None
                        if m:
                            bare.add(m.group(1).replace("-", "_"))
                if v in bare:
                    used.add(v)
                    continue
                # the other regexes all need a '{'
                cand = [ln for ln in (lines[i] for i in where) if "{" in ln]
            else:
                cand = [lines[i] for i in where]
        if cand and _key_used_in(v, selectors_only, cand):
            used.add(v)
    return frozenset(used)


def used_in_scripts(keys: Iterable[str], src: RecipeSource, windows: bool) -> set[str]:
    """Keys build scripts read (``$key``/``${key}`` in ``build.sh``, ``%key%`` in ``bld.bat`` on Windows)."""
    out: set[str] = set()
    texts: list[tuple[str, str]] = []
    if "build.sh" in src.files and not windows:
        texts.append(("sh", src.text("build.sh") or ""))
    if "bld.bat" in src.files and windows:
        texts.append(("bat", src.text("bld.bat") or ""))
    for kind, text in texts:
        words = set(_WORD_RE.findall(text))
        for v in keys:
            if v not in words:
                continue
            rx = rf"\$\{{?\s*{re.escape(v)}\s*[\s|\}}]" if kind == "sh" else rf"%{re.escape(v)}%"
            if re.search(rx, text):
                out.add(v)
    return out
