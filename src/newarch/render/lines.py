"""The recipe line each rendered requirement is asked on (``Requirement.line``).

This is a text search, not a trace through the renderers: the recipe text is scanned once by
indentation for list items under ``requirements: build/host/run/run_constraints`` (v0's
``run_constrained``; v1's ``if:/then:/else:`` items included), noting the output block each sits in.
A rendered requirement gets the first line naming its package in the same output and section;
Jinja-made names (``{{ compiler('c') }}``, ``cross-python_{{ target_platform }}``) match by their
literal parts, compilers/stdlibs by the target-platform suffix they render to. A requirement no line
names (e.g. from a Jinja loop) keeps line 0 (unknown).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from functools import lru_cache

from newarch.model import RenderResult, Requirement, dep_name

SECTION_KEYS = {
    "build": "build",
    "host": "host",
    "run": "run",
    "run_constraints": "run_constraints",
    "run_constrained": "run_constraints",
}
_CONTAINERS = {"then", "else", "if", "-"}  # v1 conditional items sit between the section and the item
_JINJA = re.compile(r"\$?\{\{.*?\}\}")
_TOOL = re.compile(r"""\$?\{\{\s*(compiler|stdlib)\s*\(""")
_PIN = re.compile(r"""\$?\{\{\s*pin_(?:subpackage|compatible)\s*\(\s*["']([^"']+)["']""")
_KEY = re.compile(r"""^(["']?)([A-Za-z_][\w.-]*)\1\s*:(?:\s+|$)(.*)$""")


@dataclass(slots=True)
class _Level:
    """One open mapping key or list item: key "-" is a list item, "-out" an item of ``outputs:``
    (``output`` then names that output once its ``name:`` is seen)."""

    indent: int
    key: str
    output: str = ""


@dataclass(frozen=True, slots=True)
class Ask:
    """One requirement-shaped line of the recipe."""

    line: int
    output: str  # the output block's name as written ('' at top level)
    section: str
    name: str  # package name when literal, else ''
    pattern: re.Pattern[str] | None  # for Jinja-made names
    tool: bool  # compiler()/stdlib()


def _strip(text: str) -> str:
    """The item without a trailing ``# [selector]`` / comment and quotes."""
    out = re.sub(r"\s+#.*$", "", text).strip()
    if len(out) >= 2 and out[0] == out[-1] and out[0] in "'\"":
        out = out[1:-1]
    return out.strip()


def _ask(line: int, output: str, section: str, item: str) -> Ask | None:
    item = _strip(item)
    if not item or item.startswith(("[", "{")) and not item.startswith(("{{", "${{")):
        return None
    if _TOOL.match(item):
        return Ask(line, output, section, "", None, True)
    pin = _PIN.match(item)
    if pin:
        return Ask(line, output, section, pin.group(1), None, False)
    if "{{" in item:
        head = (_JINJA.sub("\0", item).split() or [""])[0]  # the name part, Jinja kept whole
        if "\0" not in head:
            return Ask(line, output, section, dep_name(head), None, False)
        parts = head.split("\0")
        if not any(parts):
            return None
        pattern = re.compile("".join(re.escape(p) if p else ".+?" for p in _interleave(parts)) + "$")
        return Ask(line, output, section, "", pattern, False)
    return Ask(line, output, section, dep_name(item), None, False)


def _interleave(parts: list[str]) -> list[str]:
    out: list[str] = []
    for i, p in enumerate(parts):
        if i:
            out.append("")
        if p:
            out.append(p)
    return out


@lru_cache(maxsize=16)  # a snapshot renders one recipe text for every pair in a row
def scan(text: str) -> tuple[Ask, ...]:
    """Every requirement-shaped list item of a recipe, with its output block and section."""
    return tuple(_scan(text))


def _scan(text: str) -> list[Ask]:
    asks: list[Ask] = []
    stack: list[_Level] = []
    for number, raw in enumerate(text.splitlines(), 1):
        stripped = raw.lstrip(" ")
        if not stripped.strip() or stripped.startswith(("#", "{%")):
            continue
        indent = len(raw) - len(stripped)
        is_item = stripped.startswith("- ") or stripped.rstrip() == "-"
        while stack and (
            stack[-1].indent > indent or stack[-1].indent == indent and (not is_item or stack[-1].key.startswith("-"))
        ):
            stack.pop()
        content, cindent = stripped, indent
        if is_item:
            keys = [e.key for e in stack if not e.key.startswith("-")]
            stack.append(_Level(indent, "-out" if keys and keys[-1] == "outputs" else "-"))
            content = stripped[1:].lstrip(" ")
            cindent = indent + (len(stripped) - len(content))
            section = _section(stack)
            if section and not _KEY.match(content):
                ask = _ask(number, _output(stack), section, content)
                if ask:
                    asks.append(ask)
                continue
        m = _KEY.match(content)
        if not m:
            continue
        key, value = m.group(2), m.group(3)
        stack.append(_Level(cindent, key))
        if key == "name" and value:
            for i in range(len(stack) - 1, -1, -1):
                if stack[i].key == "-out":
                    between = [e.key for e in stack[i + 1 : -1]]
                    if between in ([], ["package"]):
                        stack[i].output = _strip(value)
                    break
        if key in ("then", "else") and value and not value.startswith(("[", "{")):
            section = _section(stack[:-1])
            if section:
                ask = _ask(number, _output(stack), section, value)
                if ask:
                    asks.append(ask)
    return asks


def _output(stack: list[_Level]) -> str:
    for e in reversed(stack):
        if e.key == "-out":
            return e.output
    return ""


def _section(stack: list[_Level]) -> str:
    """The requirement section a list item under ``stack`` belongs to ('' if none)."""
    keys = [e.key for e in stack]
    for i in range(len(keys) - 1, -1, -1):
        k = keys[i]
        if k in SECTION_KEYS:
            return SECTION_KEYS[k] if "requirements" in keys[:i] else ""
        if k not in _CONTAINERS:
            return ""
    return ""


def assign_lines(result: RenderResult, text: str, target: str) -> None:
    """Set ``line`` on the requirements of ``result`` (rendered from ``text``) that have none."""
    asks = scan(text)
    if not asks:
        return
    for out in result.outputs:
        for section, reqs in list(out.requirements.items()):
            mine = [a for a in asks if a.section == section and a.output == out.name]
            mine += [a for a in asks if a.section == section and a.output != out.name]
            if not mine:
                continue
            used: set[int] = set()
            new: list[Requirement] = []
            for r in reqs:
                line = r.line or _find(r.name, mine, used, target)
                new.append(replace(r, line=line) if line != r.line else r)
            out.requirements[section] = tuple(new)


def _find(name: str, asks: list[Ask], used: set[int], target: str) -> int:
    for a in asks:
        if a.name == name:
            return a.line
    for a in asks:
        if a.line in used:
            continue
        if (a.tool and name.endswith(target)) or (a.pattern is not None and a.pattern.match(name)):
            used.add(a.line)
            return a.line
    return 0
