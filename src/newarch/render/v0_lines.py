"""Line selection of a conda-build ``meta.yaml`` (v0 recipe): which lines a variant keeps, and why.

conda-build applies ``# [selector]`` lines before Jinja (its ``FilteredLoader``) and parses the YAML
with numbers kept as strings (its ``StringifyNumbersLoader``). Here: the YAML loaders, the split of
lines into selector and text, a scanner that tracks each line's key path (which output and
requirement section it belongs to), the mapping of rendered lines back to source lines, and the
two selector passes (:func:`select_source` before Jinja, :func:`select` after it) with the template
that lets one compiled Jinja template serve every selector outcome (:func:`template_text`).
"""

from __future__ import annotations

import re
import secrets
from bisect import bisect_left
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any
from collections.abc import Mapping

import yaml

from newarch.errors import RenderError
from newarch.model import Dropped, dep_name
from newarch.render import selectors as sel
from newarch.render.selector_scan import split_line
from newarch.render.sizes import too_large
from newarch.render.jinja_sandbox import MAX_OUTPUT_CHARS

REQ_SECTIONS = {"build": "build", "host": "host", "run": "run", "run_constrained": "run_constraints"}


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


# A recipe's variants differ in a few values: most of their top-level keys and output blocks are the
# same text, so the YAML is parsed block by block, each block once per process. Only plain block YAML
# is split (no anchors, aliases, tags, directives or document markers, which can tie blocks together);
# anything else, and any block that does not parse on its own, goes through the whole-text parse.
_SPLIT_UNSAFE = re.compile(r"(?:^|[\s\[{,])[&*!][^\s=]|^(?:---|\.\.\.|%)", re.M)
_TOP_KEY = re.compile(r"[A-Za-z0-9_][\w.\-]*[ \t]*:(?:[ \t]|$)")
_ITEM = re.compile(r"( *)-(?: |$)")


@lru_cache(maxsize=4096)
def _load_block(block: str) -> Any:
    return yaml.load(block, Loader=_Loader)  # noqa: S506 - a safe loader subclass


def load_yaml_blocks(text: str) -> tuple[bool, Any]:
    """``(True, data)`` equal to ``yaml.load(text)``, parsed per top-level key and per ``outputs`` item
    with each block cached; ``(False, None)`` when the text is not plain enough to split or a block
    does not parse alone (the caller parses the whole text, for its errors)."""
    if _SPLIT_UNSAFE.search(text) or "\t" in text:
        return False, None
    blocks: list[list[str]] = []
    for line in text.splitlines(keepends=True):
        if _TOP_KEY.match(line) or not blocks:
            blocks.append([line])
        else:
            blocks[-1].append(line)
    out: dict[Any, Any] = {}
    try:
        for block in blocks:
            if not _TOP_KEY.match(block[0]):
                if any(ln.strip() and not ln.lstrip().startswith("#") for ln in block):
                    return False, None  # content before the first key
                continue
            key, _, rest = block[0].partition(":")
            if key.strip() == "outputs" and not rest.strip() and len(block) > 1:
                value = _load_items(block[1:])
                if value is None:
                    return False, None
                out["outputs"] = value
                continue
            data = _load_block("".join(block))
            if not isinstance(data, dict) or len(data) != 1:
                return False, None
            for k, v in data.items():
                out[k] = v
    except yaml.YAMLError:
        return False, None
    return True, out or None


def _load_items(lines: list[str]) -> list[Any] | None:
    """The items of a block sequence (``outputs:``'s lines), each parsed and cached on its own."""
    items: list[list[str]] = []
    indent: str | None = None
    for line in lines:
        m = _ITEM.match(line)
        if m and (indent is None or m.group(1) == indent):
            indent = m.group(1)
            items.append([line])
        elif items:
            items[-1].append(line)
        elif line.strip() and not line.lstrip().startswith("#"):
            return None  # not a block sequence
    out: list[Any] = []
    for item in items:
        data = _load_block("".join(item))
        if not isinstance(data, list) or len(data) != 1:
            return None
        out.append(data[0])
    return out


# ----------------------------------------------------------------------------- selectors on lines


@lru_cache(maxsize=512)
@lru_cache(maxsize=64)  # the recipe text: split for every variant's template and selection
def split_selectors(text: str) -> tuple[tuple[str | None, str], ...]:
    """conda-build's ``_split_line_selector``: (selector or None, line without it) per line."""
    return tuple(_split_selector(line) for line in text.splitlines())


@lru_cache(maxsize=16384)  # rendered variants repeat most of their lines
def _split_selector(line: str) -> tuple[str | None, str]:
    line = line.rstrip()
    if not line or line.lstrip().startswith("#"):
        return None, ""
    quote = line[-1] if line[-1] in ("'", '"') else ""
    if "[" in line and "]" in line:
        # conda-build's metadata.sel_pat, scanned in linear time (selector_scan.py)
        m = split_line(line)
        if m is not None:
            return m[1], (m[0] + quote).rstrip()
    return None, line


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


# ----------------------------------------------------------------------------- the two selector passes of one variant


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
