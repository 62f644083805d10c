"""Render a conda-build ``meta.yaml`` (v0 recipe) for one platform pair, as conda-build does.

Steps (per conda-build): merge the recipe's ``conda_build_config.yaml`` over the channel pinning,
find the variant keys the recipe uses, expand their combinations (honouring ``zip_keys``), and for
each combination render Jinja (sandboxed), apply ``# [selector]`` lines, parse the YAML (PyYAML
with numbers kept as strings, like conda-build's ``StringifyNumbersLoader``) and build outputs.

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

Unknown selector names read as false, as in conda-build. ``py27``-style flags exist only for the
versions conda-build defines (26, 27, 33-36).

Names conda-build defines outside the recipe: osx hosts get ``osx_vars`` (``MACOSX_DEPLOYMENT_TARGET``
...); ``GIT_DESCRIBE_*`` of a ``git_url`` source get stand-ins (conda-build fetches the source to
define them; noted). A render that fails on an undefined name is rendered again with undefined names
permitted, as conda-build's first pass is: a recipe whose top-level ``build/skip`` is then true is
skipped (noted), as conda-build skips it; otherwise the error stands.
"""

from __future__ import annotations

import itertools
import re
import secrets
from bisect import bisect_left, bisect_right
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any
from collections.abc import Iterable, Mapping

import yaml

from newarch.errors import NewarchError, RenderError
from newarch.model import Dropped, Output, PlatformPair, RenderResult, Requirement, dep_name
from newarch.render.pinning import Variants
from newarch.sources.recipes import RecipeSource
from newarch.render import selectors as sel
from newarch.render.selector_scan import split_line
from newarch.render.sizes import too_large
from newarch.render.jinja import (
    MAX_OUTPUT_CHARS,
    PIN_MARK,
    RenderContext,
    UndefinedNameError,
    ensure_valid_spec,
    git_source_vars,
    jinja_vars,
    render_template,
    resolve_pins,
)

MAX_VARIANTS = 64
REQ_SECTIONS = {"build": "build", "host": "host", "run": "run", "run_constrained": "run_constraints"}
IMPLICIT_VARIANT_KEYS = frozenset({"target_platform"})  # implied by the platform pair


# ----------------------------------------------------------------------------- YAML


class _Loader(yaml.CSafeLoader if hasattr(yaml, "CSafeLoader") else yaml.SafeLoader):  # type: ignore[misc]
    """conda-build's ``StringifyNumbersLoader`` on the safe loader: ints and floats stay strings."""


_Loader.yaml_implicit_resolvers = {
    ch: [(tag, rx) for tag, rx in resolvers if tag not in ("tag:yaml.org,2002:int", "tag:yaml.org,2002:float")]
    for ch, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_Loader.yaml_implicit_resolvers = {k: v for k, v in _Loader.yaml_implicit_resolvers.items() if v}


class _BaseLoader(yaml.CBaseLoader if hasattr(yaml, "CBaseLoader") else yaml.BaseLoader):  # type: ignore[misc]
    """conda-build reads conda_build_config.yaml with PyYAML's BaseLoader: every scalar a string."""


def load_yaml(text: str, file: str, line_of: Any = None, loader: type = _Loader) -> Any:
    try:
        data = yaml.load(text, Loader=loader)  # noqa: S506 - a safe loader subclass
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
        line = mark.line + 1 if mark is not None else None
        if line is not None and line_of is not None:
            line = line_of(line)
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise RenderError(f"invalid YAML: {problem}", file, line) from None
    except RecursionError:
        raise RenderError("YAML nests too deeply", file) from None
    # aliases share their parts; a few lines can stand for 10^9 items that any walk would expand
    if "&" in text and too_large(data, MAX_OUTPUT_CHARS):
        raise RenderError(f"YAML aliases expand to more than {MAX_OUTPUT_CHARS} items", file)
    return data


# ----------------------------------------------------------------------------- selectors on lines


@lru_cache(maxsize=512)
def split_selectors(text: str) -> tuple[tuple[str | None, str], ...]:
    """conda-build's ``_split_line_selector``: (selector or None, line without it) per line."""
    out: list[tuple[str | None, str]] = []
    for line in text.splitlines():
        line = line.rstrip()
        if not line or line.lstrip().startswith("#"):
            out.append((None, ""))
            continue
        quote = line[-1] if line[-1] in ("'", '"') else ""
        if "[" in line and "]" in line:
            # conda-build's metadata.sel_pat, scanned in linear time (selector_scan.py)
            m = split_line(line)
            if m is not None:
                out.append((m[1], (m[0] + quote).rstrip()))
                continue
        out.append((None, line))
    return tuple(out)


# ----------------------------------------------------------------------------- structure scanner

_KEY_RE = re.compile(
    r"""^(?:"([^"]*)"|'([^']*)'|([^\s:'"#{}\[\],&*!|>%@`-][^:#]*?|-[^\s:#][^:#]*?))\s*:(?:\s+(.*))?$"""
)
_BLOCK_RE = re.compile(r"^[|>][0-9+-]*\s*(?:#.*)?$")


@dataclass(slots=True)
class LineInfo:
    output: int  # index in ``outputs:`` or -1 for top level
    path: tuple[str, ...]  # mapping keys from the root ("outputs" items add no key)
    item: str | None  # text of a list item, else None
    key: str | None  # the key on this line, if any


def _key_of(text: str) -> tuple[str | None, str]:
    m = _KEY_RE.match(text)
    if not m:
        return None, ""
    key = next(g for g in m.groups()[:3] if g is not None)
    return key.strip(), (m.group(4) or "").strip()


SKIP = LineInfo(-1, (), None, None)  # a line inside a subtree the renderer never reads
# Subtrees that never affect requirements; their lines are blanked before the YAML parse (speed).
SKIP_KEYS = frozenset({"about", "extra", "test", "source", "script", "app"})


@lru_cache(maxsize=65536)
def _shape(line: str) -> tuple[int, bool, str | None, str, int, str] | None:
    """What the scanner needs of one line (cached: variants render mostly the same lines).

    None for lines that never change the structure (blank, comments, Jinja statements); else
    (indent, is a list item, key on the line or None, its value, indent of the item's content,
    the item's text).
    """
    stripped = line.lstrip(" ")
    if not stripped or stripped.startswith(("#", "{%", "{#")):
        return None
    indent = len(line) - len(stripped)
    if stripped == "-" or stripped.startswith("- "):
        rest = stripped[1:].lstrip()
        sub = indent + (len(stripped) - len(rest))
        key, value = _key_of(rest) if ":" in rest else (None, "")
        if rest.startswith("{{"):
            key = None
        return indent, True, key, value, sub, rest
    key, value = _key_of(stripped) if ":" in stripped else (None, "")
    return indent, False, key, value, 0, ""


class Scanner:
    """Tracks the YAML key path of lines by indentation (enough for recipe-shaped YAML)."""

    def __init__(self) -> None:
        self.stack: list[tuple[int, str]] = []
        self.output = -1
        self.block: int | None = None  # inside a block scalar or a skipped subtree under this indent
        self.block_skip = False

    def _open(self, indent: int, key: str, value: str) -> None:
        if key in SKIP_KEYS and (not value or _BLOCK_RE.match(value)):
            self.block, self.block_skip = indent, True
        elif value[:1] in ("|", ">") and _BLOCK_RE.match(value):
            self.block, self.block_skip = indent, False

    def path(self) -> tuple[str, ...]:
        return tuple(k for _, k in self.stack if k != "-")

    def feed(self, line: str, mutate: bool = True) -> LineInfo | None:
        """The line's place (None when it has none); with ``mutate`` the scanner moves past it."""
        return self._feed(line, mutate, True)

    def skip(self, line: str) -> bool:
        """Move past ``line``; True when it lies in a subtree the renderer never reads."""
        return self._feed(line, True, False) is SKIP

    def _feed(self, line: str, mutate: bool, info: bool) -> LineInfo | None:
        shape = _shape(line)
        if shape is None:
            return None
        indent, is_item, key, value, sub, rest = shape
        if self.block is not None:
            if indent > self.block or (self.block_skip and indent == self.block and is_item):
                return SKIP if self.block_skip else None
            if mutate:
                self.block = None
        stack = self.stack if mutate else list(self.stack)
        output = self.output
        if is_item:
            while stack and (stack[-1][0] > indent or (stack[-1][0] == indent and stack[-1][1] == "-")):
                stack.pop()
            parent = tuple(k for _, k in stack if k != "-")
            if parent == ("outputs",) and mutate:
                self.output += 1
                output = self.output
            stack.append((indent, "-"))
            if key is not None:
                stack.append((sub, key))
                if mutate:
                    self._open(sub, key, value)
                if not info:
                    return None
                return LineInfo(output if parent[:1] == ("outputs",) else -1, parent + (key,), None, key)
            if not info:
                return None
            return LineInfo(output if parent[:1] == ("outputs",) else -1, parent, rest, None)
        if key is None:
            return None
        while stack and stack[-1][0] >= indent:
            stack.pop()
        stack.append((indent, key))
        if mutate:
            self._open(indent, key, value)
        if not info:
            return None
        path = tuple(k for _, k in stack if k != "-")
        return LineInfo(output if path[:1] == ("outputs",) else -1, path, None, key)


def req_sections(path: tuple[str, ...]) -> tuple[str, ...]:
    """The requirement sections a list item at ``path`` belongs to (list-form = host and run)."""
    if len(path) >= 2 and path[-2] == "requirements" and path[-1] in REQ_SECTIONS:
        return (REQ_SECTIONS[path[-1]],)
    if path and path[-1] == "requirements":
        return ("host", "run")
    return ()


def _norm_item(text: str) -> str:
    text = text.strip()
    if " #" in text:
        text = text.split(" #", 1)[0].strip()
    if len(text) >= 2 and text[0] == text[-1] and text[0] in "'\"":
        text = text[1:-1]
    return " ".join(text.split())


# ----------------------------------------------------------------------------- source line mapping


def line_mapper(raw: str, rendered_lines: list[str]) -> list[int]:
    """Best-effort 1-based source line for each rendered line (Jinja may add or remove lines)."""
    raw_lines = raw.splitlines()
    if len(raw_lines) == len(rendered_lines):
        return list(range(1, len(raw_lines) + 1))
    where: dict[str, list[int]] = {}
    for i, line in enumerate(raw_lines):
        s = line.strip()
        if s and "{{" not in s and "{%" not in s:
            where.setdefault(s, []).append(i)
    out: list[int] = []
    p = 0
    for line in rendered_lines:
        s = line.strip()
        hits = where.get(s) if s else None
        if hits:
            j = bisect_left(hits, p)
            if j < len(hits) and hits[j] - p < 400:
                p = hits[j] + 1
                out.append(hits[j] + 1)
                continue
        out.append(min(p + 1, max(len(raw_lines), 1)))
        if s:
            p = min(p + 1, len(raw_lines))
    return out


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


# ----------------------------------------------------------------------------- one variant


@dataclass(slots=True)
class _Selected:
    text: str
    lines: list[str]
    conditions: dict[tuple[int, str, str], str] = field(default_factory=dict)  # (output, section, item) -> sel
    key_selectors: dict[tuple[int, tuple[str, ...]], str] = field(default_factory=dict)
    dropped: dict[int, list[Dropped]] = field(default_factory=dict)  # output index -> drops


@dataclass(slots=True)
class _Source:
    """The recipe text after the first selector pass (conda-build's ``FilteredLoader``)."""

    text: str  # false lines blanked (line numbers kept); true selectors kept as comments where safe
    dropped: dict[int, list[tuple[str, str, str, int]]]  # output -> (section, item text, selector, line)


_JINJA_OPEN = re.compile(r"\{\{|\{%|\{#|\}\}|%\}|#\}")


def _selector_values(raw: str, ns: Mapping[str, Any], file: str) -> tuple[bool, ...]:
    values: dict[str, bool] = {}
    out: list[bool] = []
    for i, (selector, _line) in enumerate(split_selectors(raw)):
        if selector is None:
            continue
        v = values.get(selector)
        if v is None:
            v = values[selector] = sel.is_true(selector, ns, file, i + 1)
        out.append(v)
    return tuple(out)


@lru_cache(maxsize=256)
def select_source(raw: str, values: tuple[bool, ...]) -> _Source:
    """Apply the selectors (``values``, in order of appearance) to the raw recipe text.

    A kept line keeps its ``# [selector]`` comment so the second pass (after Jinja) can tell which
    selector made each requirement apply, except inside a multi-line Jinja construct, where a
    comment would be Jinja syntax; there it is stripped as conda-build does.
    """
    raw_lines = raw.splitlines()
    kept: list[str] = []
    scanner = Scanner()
    dropped: dict[int, list[tuple[str, str, str, int]]] = {}
    depth = 0
    it = iter(values)
    for i, (selector, line) in enumerate(split_selectors(raw)):
        if selector is None:
            kept.append(line)
            scanner.skip(line)
        elif next(it):
            kept.append(raw_lines[i].rstrip() if depth == 0 else line)
            scanner.skip(line)
        else:
            kept.append("")
            info = scanner.feed(line, mutate=False)
            if info is not None and info.item is not None:
                for section in req_sections(info.path):
                    dropped.setdefault(info.output, []).append(
                        (section, _norm_item(info.item), " ".join(selector.split()), i + 1)
                    )
        if "{" in kept[-1] or "}" in kept[-1]:
            for tok in _JINJA_OPEN.findall(kept[-1]):
                depth += 1 if tok[0] == "{" else -1
            depth = max(depth, 0)
    return _Source("\n".join(kept) + "\n", dropped)


@dataclass(frozen=True, slots=True)
class _Plan:
    """How selector lines enter the Jinja template: switched at render time or baked in."""

    switched: tuple[int, ...]  # selector ordinals wrapped in ``{% if _newarch_sel[k] %}``
    baked: tuple[int, ...]  # selector ordinals inside Jinja constructs: part of the compile key


@lru_cache(maxsize=256)
def _plan(raw: str) -> _Plan:
    switched: list[int] = []
    baked: list[int] = []
    depth = 0
    ordinal = 0
    for (selector, line), full in zip(split_selectors(raw), raw.splitlines(), strict=True):
        before = depth
        if "{" in full or "}" in full:
            for tok in _JINJA_OPEN.findall(full):
                depth += 1 if tok[0] == "{" else -1
            depth = max(depth, 0)
        if selector is None:
            continue
        if before == 0 and depth == 0 and "{%" not in line and "{#" not in line:
            switched.append(ordinal)
        else:
            baked.append(ordinal)
        ordinal += 1
    return _Plan(tuple(switched), tuple(baked))


# A selector line without Jinja syntax needs no ``{% if %}`` wrapper (each wrapper costs Jinja
# compile time): it is emitted verbatim between two markers and kept or removed after rendering
# (:func:`apply_switches`). The markers carry a per-process random number so recipe text cannot
# forge them. Only templates whose block tags are plain ``if``/``for``/``set x = ...`` use markers:
# any block that could see the marked text as a value (``{% set x %}`` blocks, filters, macros,
# ``raw``) keeps the wrappers, so the result is always the wrapper's.
_NONCE = str(secrets.randbits(48))
_MARK_OPEN = "\x02" + _NONCE + "\x18"
_MARK_CLOSE = "\x03" + _NONCE + "\x18"
_MARK_RE = re.compile(re.escape(_MARK_OPEN) + r"(\d+)\x1a(.*?)" + re.escape(_MARK_CLOSE))
_JINJA_SYNTAX = re.compile(r"\{\{|\{%|\{#")
_BLOCK_TAG = re.compile(r"\{%[-+]?\s*([A-Za-z_]*)([^%]*)")
_MARKER_SAFE_TAGS = frozenset({"if", "elif", "else", "endif", "for", "endfor"})


@lru_cache(maxsize=256)
def _markers_ok(raw: str) -> bool:
    for m in _BLOCK_TAG.finditer(raw):
        tag = m.group(1)
        if tag in _MARKER_SAFE_TAGS:
            continue
        if tag == "set" and "=" in m.group(2):
            continue
        return False
    return True


@lru_cache(maxsize=256)
def template_text(raw: str, baked_values: tuple[bool, ...]) -> str:
    """The recipe as one Jinja template for every selector outcome.

    conda-build applies selectors before Jinja (its ``FilteredLoader``). Here a selector line
    becomes ``{% if _newarch_sel[k] %}line  # [sel]{% endif %}`` (or, without Jinja in it, the
    line between markers, see :func:`apply_switches`) so one compiled template serves every
    variant and platform; the comment is kept for the second pass, which records the condition
    of each requirement. Lines inside multi-line Jinja constructs (where a wrapper or a comment
    would change the Jinja) are selected before compiling, like conda-build does.
    """
    plan = _plan(raw)
    baked = dict(zip(plan.baked, baked_values, strict=True))
    switched = {o: k for k, o in enumerate(plan.switched)}
    markers = _markers_ok(raw)
    out: list[str] = []
    ordinal = 0
    for (selector, line), full in zip(split_selectors(raw), raw.splitlines(), strict=True):
        if selector is None:
            out.append(line)
            continue
        if ordinal in switched:
            k = switched[ordinal]
            if markers and not _JINJA_SYNTAX.search(full):
                out.append(f"{_MARK_OPEN}{k}\x1a{full.rstrip()}{_MARK_CLOSE}")
            else:
                out.append(f"{{% if _newarch_sel[{k}] %}}{full.rstrip()}{{% endif %}}")
        else:
            out.append(line if baked[ordinal] else "")
        ordinal += 1
    return "\n".join(out) + "\n"


def apply_switches(rendered: str, switches: list[bool]) -> str:
    """Keep the marked lines whose selector is true, drop the others (as the wrapper would)."""
    if _MARK_OPEN not in rendered:
        return rendered
    return _MARK_RE.sub(lambda m: m.group(2) if switches[int(m.group(1))] else "", rendered)


def select(rendered: str, ns: Mapping[str, Any], file: str, source: str) -> _Selected:
    """The second selector pass, on the Jinja output: conditions of kept requirement lines."""
    pairs = split_selectors(rendered)
    cache: dict[str, bool] = {}
    for i, (selector, _line) in enumerate(pairs):
        if selector is not None and selector not in cache:
            try:
                cache[selector] = sel.is_true(selector, ns, file)
            except RenderError as exc:
                exc.line = line_mapper(source, [p[1] for p in pairs])[i]
                exc.args = (str(exc),)
                raise
    return _select_cached(rendered, tuple(sorted(cache.items())), source)


@lru_cache(maxsize=256)
def _select_cached(rendered: str, values: tuple[tuple[str, bool], ...], source: str) -> _Selected:
    pairs = split_selectors(rendered)
    cache = dict(values)
    kept: list[str] = []
    scanner = Scanner()
    out = _Selected("", kept)
    mapping: list[int] | None = None
    for i, (selector, line) in enumerate(pairs):
        if selector is None:
            kept.append("" if scanner.skip(line) else line)
            continue
        if cache[selector]:
            info = scanner.feed(line)
            kept.append("" if info is SKIP else line)
            if info is None or info is SKIP:
                continue
            cond = " ".join(selector.split())
            if info.item is not None:
                for section in req_sections(info.path):
                    out.conditions[(info.output, section, _norm_item(info.item))] = cond
            elif info.key is not None:
                out.key_selectors[(info.output, info.path)] = cond
        else:
            kept.append("")
            info = scanner.feed(line, mutate=False)
            if info is None or info.item is None:
                continue
            if mapping is None:
                mapping = line_mapper(source, [p[1] for p in pairs])
            name = dep_name(_norm_item(info.item))
            for section in req_sections(info.path):
                if name:
                    out.dropped.setdefault(info.output, []).append(
                        Dropped(section, name, " ".join(selector.split()), mapping[i])
                    )
    out.text = "\n".join(kept) + "\n"
    return out


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


# ----------------------------------------------------------------------------- entry point


def render_v0(src: RecipeSource, pair: PlatformPair, pinning: Variants, env: dict[str, str]) -> RenderResult:
    """Render ``src``'s meta.yaml for ``pair``. Raises RenderError (file and line) for bad recipes."""
    file = src.display("meta.yaml")
    raw = src.text("meta.yaml")
    if raw is None:
        raise RenderError("no meta.yaml", file)
    result = RenderResult(pair=pair)
    host, build = pair.target, pair.build
    windows = host.startswith("win-")

    base = Variants({k: list(v) for k, v in pinning.values.items()}, [list(g) for g in pinning.zip_keys])
    base.values.setdefault("target_platform", [host])
    filters: dict[str, set[str]] = {}
    cbc_text = src.text("conda_build_config.yaml")
    if cbc_text is not None:
        first = {k: v[0] for k, v in base.values.items() if v}
        ns0 = sel.selector_namespace(host, build, first, env)
        recipe_variants, _ = parse_recipe_cbc(cbc_text, ns0, src.display("conda_build_config.yaml"))
        base, filters = merge_variants(base, recipe_variants, src.display("conda_build_config.yaml"))

    keys = [k for k in base.values if k != "zip_keys"]
    used = used_variables(keys, raw) | used_variables(keys, raw, selectors_only=True)
    used |= used_in_scripts(keys, src, windows)
    combos, total = expand_variants(base, used, filters, src.display("conda_build_config.yaml"))
    if total > len(combos):
        result.notes.append(f"{file}: {total} variant combinations, rendered the first {len(combos)}")
    if not combos:
        combos = [{k: v[0] for k, v in base.values.items() if v}]

    source_vars = git_source_vars(raw)
    if source_vars:
        result.notes.append(
            f"{file}: {', '.join(n for n in sorted(source_vars) if n in raw)} come from the git checkout of the source, which "
            "conda-build fetches before rendering; newarch does not fetch sources and uses stand-ins "
            f"({source_vars['GIT_DESCRIBE_TAG']!r}, {source_vars['GIT_DESCRIBE_NUMBER']!r}, "
            f"{source_vars['GIT_DESCRIBE_HASH']!r}): versions built from them are not the real ones"
        )
    seen: dict[str, Output] = {}
    has_package = re.search(r"^package:", raw, re.M) is not None
    for variant in combos:
        rendered = _render_variant(src, raw, file, host, build, variant, env, used, has_package, source_vars)
        if rendered.note and rendered.note not in result.notes:
            result.notes.append(rendered.note)
        for out in rendered.outputs:
            key = repr(sorted(out.to_dict().items()))
            if key not in seen:
                seen[key] = out
    result.outputs = list(seen.values())
    return result


def _render_variant(
    src: RecipeSource,
    raw: str,
    file: str,
    host: str,
    build: str,
    variant: dict[str, str],
    env: dict[str, str],
    used: set[str],
    has_package: bool,
    source_vars: dict[str, str],
) -> _Rendered:
    ns = sel.selector_namespace(host, build, variant, env)
    values = _selector_values(raw, ns, file)
    source = select_source(raw, values)
    plan = _plan(raw)
    text = template_text(raw, tuple(values[o] for o in plan.baked))
    ctx = RenderContext(
        host=host,
        build=build,
        variant=variant,
        env=env,
        selectors=ns,
        switches=[values[o] for o in plan.switched],
        source_vars=source_vars,
    )
    note = ""
    try:
        meta, selected = _render_passes(text, raw, ctx, ns, file)
    except UndefinedNameError as exc:
        # conda-build renders with undefined names permitted first (``UndefinedNeverFail``) and a
        # recipe whose top-level build/skip is then true is skipped, never rendered strictly.
        ctx.pins.clear()
        try:
            meta, selected = _render_passes(text, raw, ctx, ns, file, lenient=True)
        except RenderError:
            raise exc from None
        if not _top_skip(meta):
            raise
        note = (
            f"{exc}: conda-build permits undefined names in its first render and the recipe's "
            f"build.skip is true on {host}, so it is skipped, not failed"
        )
    selected = _Selected(
        selected.text,
        selected.lines,
        selected.conditions,
        selected.key_selectors,
        {k: list(v) for k, v in selected.dropped.items()},
    )
    jinja_ctx: dict[str, Any] = {}
    for out_idx, drops in source.dropped.items():
        for section, item, cond, line in drops:
            if ("{{" in item or "{%" in item) and not jinja_ctx:
                jinja_ctx = jinja_vars(ctx.context())
            name = _dropped_name(item, jinja_ctx, file)
            if name:
                selected.dropped.setdefault(out_idx, []).append(Dropped(section, name, cond, line))
    outputs = _build_outputs(meta, selected, ctx, variant, has_package, file)
    used_here = used_variables(used, source.text) | used_variables(used, raw, selectors_only=True)
    shown = {k: variant[k] for k in sorted(used_here) if k in variant and k not in IMPLICIT_VARIANT_KEYS}
    for out in outputs:
        out.variant = dict(shown)
    return _Rendered(outputs, note)


@dataclass(slots=True)
class _Rendered:
    outputs: list[Output]
    note: str = ""  # why a failing render was read as skipped


def _top_skip(meta: Mapping[str, Any]) -> bool:
    bld = meta.get("build")
    return isinstance(bld, dict) and _truthy(bld.get("skip", False))


def _render_passes(
    text: str, raw: str, ctx: RenderContext, ns: Mapping[str, Any], file: str, lenient: bool = False
) -> tuple[dict[str, Any], _Selected]:
    """Render ``text``; again with ``PKG_NAME``/``PKG_VERSION``/``PKG_BUILDNUM`` when the recipe uses them."""
    meta, selected = _render_text(text, ctx, ns, file, lenient)
    if "PKG_" in raw:
        pkg = meta.get("package") if isinstance(meta.get("package"), dict) else {}
        bld = meta.get("build") if isinstance(meta.get("build"), dict) else {}
        ctx.pkg_name = _scalar((pkg or {}).get("name") or "")
        ctx.pkg_version = _scalar((pkg or {}).get("version") or "")
        ctx.pkg_buildnum = _scalar((bld or {}).get("number") or "0")
        ctx.pins.clear()
        meta, selected = _render_text(text, ctx, ns, file, lenient)
    return meta, selected


def _render_text(
    text: str, ctx: RenderContext, ns: Mapping[str, Any], file: str, lenient: bool = False
) -> tuple[dict[str, Any], _Selected]:
    rendered = apply_switches(render_template(text, jinja_vars(ctx.context()), file, lenient), ctx.switches)
    selected = select(rendered, ns, file, text)
    mapping: list[list[int]] = []

    def line_of(n: int) -> int:
        if not mapping:
            mapping.append(line_mapper(text, selected.lines))
        m = mapping[0]
        return m[n - 1] if 0 < n <= len(m) else n

    meta = _load_cached(selected.text, file)
    if meta is None:
        meta = load_yaml(selected.text, file, line_of)
    if meta is None:
        raise RenderError("recipe is empty", file)
    if not isinstance(meta, dict):
        raise RenderError("recipe is not a YAML mapping", file, 1)
    return meta, selected


_YAML_CACHE: dict[tuple[str, str], Any] = {}


def _load_cached(text: str, file: str) -> Any:
    """Parsed recipe YAML, cached by text (variants often render identical text); None if not valid."""
    key = (text, file)
    if key in _YAML_CACHE:
        return _YAML_CACHE[key]
    try:
        value = load_yaml(text, file)
    except RenderError:
        return None
    if len(_YAML_CACHE) > 256:
        _YAML_CACHE.clear()
    _YAML_CACHE[key] = value
    return value


def _dropped_name(item: str, jinja_ctx: dict[str, Any], file: str) -> str:
    """The package name of a dropped requirement line; Jinja in it is rendered on its own."""
    if "{{" in item or "{%" in item:
        try:
            item = render_template(item, jinja_ctx, file)
        except NewarchError:
            return ""
        item = _norm_item(item.split("#", 1)[0])
    name = dep_name(item)
    return name if name and "{" not in name else ""
