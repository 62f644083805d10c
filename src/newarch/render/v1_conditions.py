"""Which ``if:`` branch made a rendered v1 dependency appear, and which dependencies it dropped.

rattler-build's stage1 recipe keeps only the chosen branches. We walk the stage0 (unevaluated)
requirement lists, flatten them into *leaves* that carry the condition guarding them, and align the
leaves, in order, with the rendered dependencies. Nothing is evaluated here: the renderer already
decided; we only recover *why* from the structure.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from newarch.model import Dropped, Requirement, dep_name

_TEMPLATE = re.compile(r"\$\{\{(.*?)\}\}", re.S)
# ${{ "winreg" if win }}  /  ${{ 'x' if cond else 'y' }}
_INLINE_IF = re.compile(r"""^\s*\$\{\{\s*(?P<q>["'])(?P<lit>[^"']*)(?P=q)\s+if\s+(?P<cond>.+?)\s*\}\}\s*$""", re.S)
_INLINE_IF_ANY = re.compile(r"""^\s*\$\{\{\s*(?P<expr>.+?)\s+if\s+(?P<cond>.+?)\s*\}\}\s*$""", re.S)
# a pin's name: string literals and names joined by ~ (``"gcc_" ~ cross_target_platform``)
PIN_ITEM = r"""(?:"[^"]*"|'[^']*'|[A-Za-z_]\w*)"""
_PIN = re.compile(rf"^\s*(pin_subpackage|pin_compatible)\(\s*({PIN_ITEM}(?:\s*~\s*{PIN_ITEM})*)\s*[,)]")
_TOOLCHAIN = re.compile(r"""^\s*(compiler|stdlib)\(\s*["']([^"']+)["']\s*\)\s*$""")
_IDENT = re.compile(r"^\s*([A-Za-z_][A-Za-z0-9_]*)\s*$")
_PLACEHOLDER = "\x00"


@dataclass(frozen=True, slots=True)
class Leaf:
    """One dependency entry of the stage0 recipe with the condition that guards it."""

    template: str
    condition: str  # "" when unconditional
    pattern: re.Pattern[str]  # matches the rendered package name
    wildcard: bool  # the name is entirely a template: matches anything
    display: str  # best-effort name for a dropped entry
    spec_pattern: re.Pattern[str] | None = None  # matches the whole rendered spec, when it can be known

    def score(self, req: Requirement) -> int:
        """2: the whole spec matches; 1: only the package name; 0: no match."""
        if not self.pattern.fullmatch(req.name):
            return 0
        if self.spec_pattern is not None and self.spec_pattern.fullmatch(req.spec):
            return 2
        return 1


def _paren(cond: str) -> str:
    c = cond.strip()
    if re.search(r"\s(and|or)\s", c) and not (c.startswith("(") and c.endswith(")")):
        return f"({c})"
    return c


def join_conditions(conds: list[str]) -> str:
    conds = [c for c in conds if c]
    if not conds:
        return ""
    if len(conds) == 1:
        return conds[0].strip()
    return " and ".join(_paren(c) for c in conds)


def negate(cond: str) -> str:
    return f"not ({cond.strip()})"


def _name_pattern(template: str, target: str, values: dict[str, str]) -> tuple[re.Pattern[str], bool, str]:
    """A regex for the package name a template item renders to, and a display name."""
    inner = _TEMPLATE.fullmatch(template.strip())
    if inner:
        expr = inner.group(1)
        pin = _PIN.match(expr)
        if pin:
            pin_regex: list[str] = []
            pin_shown: list[str] = []
            for item in re.findall(PIN_ITEM, pin.group(2)):
                known = item[1:-1] if item[0] in "\"'" else values.get(item)
                pin_regex.append(".+" if known is None else re.escape(known))
                pin_shown.append("${{ " + item + " }}" if known is None else known)
            return re.compile("".join(pin_regex)), False, "".join(pin_shown)
        tool = _TOOLCHAIN.match(expr)
        if tool:
            kind, lang = tool.groups()
            key = f"{lang}_{'compiler' if kind == 'compiler' else 'stdlib'}"
            if key in values:
                name = f"{values[key]}_{target}"
                return re.compile(re.escape(name)), False, name
            return re.compile(r".+_" + re.escape(target)), False, f"{kind}('{lang}')"
    parts: list[str] = []
    display: list[str] = []
    pos = 0
    for m in _TEMPLATE.finditer(template):
        parts.append(template[pos : m.start()])
        display.append(template[pos : m.start()])
        ident = _IDENT.match(m.group(1))
        value = values.get(ident.group(1)) if ident else None
        if value is not None and " " not in value:
            parts.append(value)
            display.append(value)
        else:
            parts.append(_PLACEHOLDER)
            display.append(m.group(0))
        pos = m.end()
    parts.append(template[pos:])
    display.append(template[pos:])
    text = "".join(parts).strip()
    name = dep_name(text)
    if name.replace(_PLACEHOLDER, "") == "":
        return re.compile(r".+"), True, "".join(display).strip()
    regex = "".join(".+" if ch == _PLACEHOLDER else re.escape(ch) for ch in name)
    shown = dep_name("".join(display).strip()) if _PLACEHOLDER not in name else "".join(display).strip()
    return re.compile(regex), False, shown


def _spec_pattern(template: str, values: dict[str, str]) -> re.Pattern[str] | None:
    """A regex for the whole rendered spec of a plain template (``python ${{ python_min }}.*``)."""
    inner = _TEMPLATE.fullmatch(template.strip())
    if inner and (_PIN.match(inner.group(1)) or _TOOLCHAIN.match(inner.group(1))):
        return None
    parts: list[str] = []
    pos = 0
    for m in _TEMPLATE.finditer(template):
        parts.append(
            re.escape(" ".join(template[pos : m.start()].split()))
            if template[pos : m.start()].strip()
            else re.escape(template[pos : m.start()])
        )
        ident = _IDENT.match(m.group(1))
        value = values.get(ident.group(1)) if ident else None
        parts.append(re.escape(value) if value is not None else ".*?")
        pos = m.end()
    parts.append(re.escape(template[pos:]))
    regex = "".join(parts).strip()
    try:
        return re.compile(r"\s*" + regex.replace(r"\ ", r"\s+") + r"\s*")
    except re.error:
        return None


def leaves(items: Any, target: str, values: dict[str, str], conds: tuple[str, ...] = ()) -> list[Leaf]:
    """Flatten a stage0 list (strings and ``{if, then, else}`` nodes) into guarded leaves."""
    if items is None:
        return []
    text = json.dumps(items if isinstance(items, list) else [items], default=str)
    out: list[Leaf] = []
    for item, condition, template in _walk(text, conds):
        seen = tuple((k, values.get(k)) for k in _names_in(template))
        pattern, wildcard, display, spec = _patterns(template, target, seen)
        out.append(Leaf(item, condition, pattern, wildcard, display, spec))
    return out


@lru_cache(maxsize=2048)
def _walk(items_json: str, conds: tuple[str, ...]) -> tuple[tuple[str, str, str], ...]:
    """(item, guarding condition, name template) of each leaf of a JSON list, whatever the variant (cached)."""
    out: list[tuple[str, str, str]] = []

    def visit(items: Any, conds: tuple[str, ...]) -> None:
        if items is None:
            return
        for item in items if isinstance(items, list) else [items]:
            if isinstance(item, dict) and "if" in item:
                cond = str(item["if"]).strip()
                visit(item.get("then"), conds + (cond,))
                visit(item.get("else"), conds + (negate(cond),))
            elif isinstance(item, str):
                inline = _INLINE_IF.match(item) or _INLINE_IF_ANY.match(item)
                extra: tuple[str, ...] = ()
                template = item
                if inline and " else " not in inline.group("cond"):
                    extra = (inline.group("cond").strip(),)
                    lit = inline.groupdict().get("lit")
                    template = lit if lit is not None else "${{ " + inline.group("expr") + " }}"
                out.append((item, join_conditions(list(conds + extra)), template))

    visit(json.loads(items_json), conds)
    return tuple(out)


@lru_cache(maxsize=4096)
def _names_in(template: str) -> tuple[str, ...]:
    """The variant values a template's patterns can depend on: plain names and compiler()/stdlib() keys."""
    names: list[str] = []
    for m in _TEMPLATE.finditer(template):
        ident = _IDENT.match(m.group(1))
        if ident:
            names.append(ident.group(1))
        tool = _TOOLCHAIN.match(m.group(1))
        if tool:
            kind, lang = tool.groups()
            names.append(f"{lang}_{'compiler' if kind == 'compiler' else 'stdlib'}")
    return tuple(dict.fromkeys(names))


@lru_cache(maxsize=8192)
def _patterns(
    template: str, target: str, seen: tuple[tuple[str, str | None], ...]
) -> tuple[re.Pattern[str], bool, str, re.Pattern[str] | None]:
    """``_name_pattern`` and ``_spec_pattern`` of ``template`` given the values it can see (cached)."""
    values = {k: v for k, v in seen if v is not None}
    return (*_name_pattern(template, target, values), _spec_pattern(template, values))


def has_conditions(items: Any) -> bool:
    """Whether a stage0 list has any ``if:`` node or inline ``${{ x if c }}`` item."""
    if not isinstance(items, list):
        return items is not None and not isinstance(items, str)
    for item in items:
        if isinstance(item, dict):
            return True
        if isinstance(item, str) and " if " in item and "${{" in item:
            return True
    return False


def align(
    section: str, stage0_items: Any, rendered: list[Requirement], target: str, values: dict[str, str]
) -> tuple[list[Requirement], list[Dropped]]:
    """Give each rendered requirement its guarding condition; list the guarded entries not rendered.

    A longest-common-subsequence alignment of stage0 leaves and rendered names, in recipe order.
    """
    if not has_conditions(stage0_items):
        return list(rendered), []
    lv = leaves(stage0_items, target, values)
    n, m = len(lv), len(rendered)
    score = [[lv[i].score(rendered[j]) for j in range(m)] for i in range(n)]
    best = [[0] * (m + 1) for _ in range(n + 1)]
    for i in range(n - 1, -1, -1):
        for j in range(m - 1, -1, -1):
            b = max(best[i + 1][j], best[i][j + 1])
            if score[i][j]:
                b = max(b, score[i][j] + best[i + 1][j + 1])
            best[i][j] = b
    reqs = list(rendered)
    dropped: list[Dropped] = []
    i = j = 0
    while i < n and j < m:
        leaf = lv[i]
        skip_leaf_ok = best[i + 1][j] == best[i][j]
        take = score[i][j] and best[i][j] == score[i][j] + best[i + 1][j + 1]
        if take and not (leaf.wildcard and leaf.condition and skip_leaf_ok):
            if leaf.condition:
                r = reqs[j]
                reqs[j] = Requirement(r.name, r.spec, leaf.condition)
            i += 1
            j += 1
        elif skip_leaf_ok:
            if leaf.condition:
                dropped.append(Dropped(section, leaf.display, leaf.condition))
            i += 1
        else:
            j += 1
    for leaf in lv[i:]:
        if leaf.condition:
            dropped.append(Dropped(section, leaf.display, leaf.condition))
    return reqs, dropped
