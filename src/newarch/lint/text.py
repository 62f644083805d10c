"""Read a recipe's text line by line for lints: keys, list items, selectors, ``if:`` blocks, urls.

This is not a renderer. It follows YAML indentation well enough to say, for each line, under which
keys it sits (``requirements > host``), in which ``outputs`` entry, under which v0 selector or v1
``if:``/``then:``/``else:`` condition, so a finding can name the line that caused it.
Nothing here evaluates Jinja or runs code.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from newarch.lint.expr import ifexp_tests

# conda-build's selector pattern, restricted to the ``# [...]`` comment form.
_KEY = re.compile(r"""^(?P<key>[A-Za-z0-9_.\-]+|"[^"]*"|'[^']*')\s*:(?:\s+(?P<value>.*)|\s*)$""")
_JINJA_STMT = re.compile(r"\{%-?\s*(?:if|elif)\s+(.*?)\s*-?%\}")
_JINJA_EXPR = re.compile(r"\{\{(.*?)\}\}")
_SET = re.compile(r"""\{%-?\s*set\s+([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(["'])([^"'{}%]*)\2\s*-?%\}""")
_BLOCK_SCALAR = re.compile(r"^[|>][0-9+-]*$")


@dataclass(slots=True)
class Line:
    """One recipe line with its structural context."""

    number: int  # 1-based
    text: str  # the raw line
    content: str  # without the trailing comment / selector
    indent: int
    key: str = ""  # the mapping key on this line ("" for plain items / continuations)
    value: str = ""  # the scalar value after ``key:`` (or the item text)
    item: bool = False  # a ``- ...`` list item
    ancestors: tuple[str, ...] = ()  # keys enclosing this line, outermost first
    output: int = -1  # index of the ``outputs`` entry it is in, -1 for top level
    selector: str = ""  # v0 ``# [expr]``
    conditions: tuple[tuple[str, bool], ...] = ()  # v1 enclosing ``if:`` exprs and then(True)/else(False)
    in_block_scalar: bool = False

    @property
    def item_text(self) -> str:
        """For a list item: its text without ``- `` (a dependency spec, a url ...)."""
        return self.value if self.item and not self.key else ""


@dataclass(slots=True)
class _Frame:
    indent: int
    kind: str  # "key" | "item"
    key: str = ""
    cond: str = ""  # for an item ``- if: expr``
    output: int = -1


@dataclass(slots=True)
class RecipeText:
    lines: list[Line]
    output_names: dict[int, str] = field(default_factory=dict)  # outputs index -> name text
    jinja_sets: dict[str, str] = field(default_factory=dict)

    def find(self, number: int) -> Line | None:
        if 1 <= number <= len(self.lines):
            return self.lines[number - 1]
        return None

    def expressions(self) -> list[tuple[int, str, str]]:
        """Every condition in the text: (line, expression, kind) with kind selector/if/skip/jinja/inline."""
        found: list[tuple[int, str, str]] = []
        for ln in self.lines:
            if not ln.content and ln.text.lstrip().startswith("#"):
                continue  # a commented-out line selects nothing
            if ln.selector:
                found.append((ln.number, ln.selector, "selector"))
            for m in _JINJA_STMT.finditer(ln.text):
                found.append((ln.number, m.group(1), "jinja"))
            for m in _JINJA_EXPR.finditer(ln.content):
                for test in ifexp_tests(m.group(1)):
                    found.append((ln.number, test, "inline"))
            if ln.in_block_scalar:
                continue
            if ln.key == "if" and ln.value:
                found.append((ln.number, _unquote(ln.value), "if"))
            elif (
                ln.key == "skip"
                and ln.value
                and not ln.value.startswith("${{")
                or ln.item
                and not ln.key
                and ln.ancestors
                and ln.ancestors[-1] == "skip"
            ):
                found.append((ln.number, _unquote(ln.value), "skip"))
        return found

    def output_name(self, index: int) -> str:
        return self.output_names.get(index, "")


def _unquote(text: str) -> str:
    text = text.strip()
    if len(text) >= 2 and text[0] == text[-1] and text[0] in "\"'":
        return text[1:-1]
    return text


def _strip_comment(text: str) -> str:
    """The line without a trailing ``# comment`` (a ``#`` inside quotes or a url fragment is kept)."""
    quote = ""
    for i, ch in enumerate(text):
        if quote:
            if ch == quote:
                quote = ""
        elif ch in "\"'" and (i == 0 or text[i - 1] in " :-[{,"):
            quote = ch
        elif ch == "#" and (i == 0 or text[i - 1] in " \t"):
            return text[:i].rstrip()
    return text.rstrip()


_SPECIAL = re.compile(r"[\[\]#]")
_BRACKET = re.compile(r"[\[\]]")


def comment_selector(line: str) -> str | None:
    """The ``sel`` of the first ``# [sel]`` comment followed by no parenthesis, or None.

    The same as ``re.search(r"#[^\\[\\]#]*\\[([^\\[\\]]+)\\][^()]*$", line).group(1)`` in one
    pass: that regex takes quadratic time on lines such as ``#[a]#[a]...(`` (recipes are untrusted).
    """
    if "#" not in line or "]" not in line:
        return None
    paren = max(line.rfind("("), line.rfind(")"))
    n = len(line)
    h = line.find("#")
    while h != -1:
        m = _SPECIAL.search(line, h + 1)
        k = m.start() if m else n
        if k < n and line[k] == "[":
            m = _BRACKET.search(line, k + 1)
            r = m.start() if m else n
            if r < n and line[r] == "]" and r > k + 1 and r > paren:
                return line[k + 1 : r]
        h = line.find("#", k) if k < n and line[k] == "#" else line.find("#", k + 1)
    return None


def scan(text: str) -> RecipeText:
    """Structure of a recipe text (meta.yaml or recipe.yaml)."""
    lines: list[Line] = []
    stack: list[_Frame] = []
    block_indent: int | None = None  # inside a ``key: |`` block scalar deeper than this
    output_counter = -1
    jinja_sets: dict[str, str] = {}
    for number, raw in enumerate(text.splitlines(), start=1):
        stripped = raw.strip()
        indent = len(raw) - len(raw.lstrip(" "))
        selector = (comment_selector(raw) or "").strip()
        for sm in _SET.finditer(raw):
            jinja_sets[sm.group(1)] = sm.group(3)
        if block_indent is not None:
            if not stripped or indent > block_indent:
                lines.append(
                    Line(
                        number,
                        raw,
                        raw.strip(),
                        indent,
                        ancestors=_keys(stack),
                        output=_output(stack),
                        selector=selector,
                        conditions=_conds(stack),
                        in_block_scalar=True,
                    )
                )
                continue
            block_indent = None
        content = _strip_comment(raw).strip()
        line = Line(number, raw, content, indent, selector=selector)
        if not content or content.startswith("{%") or content.startswith("#"):
            line.ancestors, line.output, line.conditions = _keys(stack), _output(stack), _conds(stack)
            lines.append(line)
            continue
        body, col = content, indent
        if body.startswith("- ") or body == "-":
            while stack and (stack[-1].indent > indent or (stack[-1].indent == indent and stack[-1].kind == "item")):
                stack.pop()
            parent_key = stack[-1].key if stack and stack[-1].kind == "key" else ""
            out = _output(stack)
            if parent_key == "outputs" and len(_keys(stack)) == 1:
                output_counter += 1
                out = output_counter
            frame = _Frame(indent, "item", output=out)
            stack.append(frame)
            line.item = True
            body = body[1:].lstrip()
            col = indent + (len(content) - len(body))
        m = _KEY.match(body) if body else None
        if m and not body.startswith(("{{", "${{")):
            key = _unquote(m.group("key"))
            value = (m.group("value") or "").strip()
            if not line.item:
                while stack and stack[-1].indent >= col:
                    stack.pop()
            line.ancestors, line.output, line.conditions = _keys(stack), _output(stack), _conds(stack)
            line.key, line.value = key, value
            if line.item and key == "if":
                stack[-1].cond = _unquote(value)
            stack.append(_Frame(col, "key", key=key, output=_output(stack)))
            if _BLOCK_SCALAR.match(value):
                block_indent = col
        else:
            line.value = body
            # the item frame was pushed; its ancestors are the keys above it
            line.ancestors, line.output, line.conditions = _keys(stack), _output(stack), _conds(stack)
        lines.append(line)
    for ln in lines:  # v1 ``context:`` values (literal, or an expression the lints may evaluate)
        if ln.key and ln.ancestors == ("context",) and ln.value and ln.key not in jinja_sets:
            jinja_sets[ln.key] = _unquote(ln.value)
    result = RecipeText(lines, jinja_sets=jinja_sets)
    for ln in lines:
        if ln.output >= 0 and ln.key == "name" and ln.output not in result.output_names:
            rel = ln.ancestors[ln.ancestors.index("outputs") + 1 :] if "outputs" in ln.ancestors else ()
            if rel in ((), ("package",)):
                result.output_names[ln.output] = _substitute(_unquote(ln.value), jinja_sets)
    return result


def _substitute(text: str, sets: dict[str, str]) -> str:
    """Replace ``{{ var }}`` / ``${{ var }}`` by literal ``{% set %}`` values (no other Jinja)."""

    def repl(m: re.Match[str]) -> str:
        var = m.group(1)
        return sets.get(var, m.group(0))

    return re.sub(r"\$?\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\}", repl, text)


def _keys(stack: list[_Frame]) -> tuple[str, ...]:
    return tuple(f.key for f in stack if f.kind == "key")


def _output(stack: list[_Frame]) -> int:
    for f in reversed(stack):
        if f.output >= 0:
            return f.output
    return -1


def _conds(stack: list[_Frame]) -> tuple[tuple[str, bool], ...]:
    conds: list[tuple[str, bool]] = []
    for i, f in enumerate(stack):
        if (
            f.kind == "key"
            and f.key in ("then", "else")
            and i > 0
            and stack[i - 1].kind == "item"
            and stack[i - 1].cond
        ):
            conds.append((stack[i - 1].cond, f.key == "then"))
    return tuple(conds)


def dep_token(item: str) -> str:
    """The package name of a dependency item as written (``python >=3.9`` -> ``python``,
    ``cross-python_{{ target_platform }}`` stays whole, ``{{ compiler('c') }}`` stays whole)."""
    item = _unquote(item.strip())
    if item.startswith(("{{", "${{")):
        end = item.find("}}")
        rest = item[end + 2 :] if end >= 0 else ""
        head = item[: end + 2] if end >= 0 else item
        return head + (rest.split()[0] if rest and not rest[0].isspace() and rest.split() else "")
    out = []
    i = 0
    while i < len(item):
        if item.startswith(("{{", "${{"), i):
            end = item.find("}}", i)
            if end < 0:
                out.append(item[i:])
                break
            out.append(item[i : end + 2])
            i = end + 2
            continue
        ch = item[i]
        if ch in " =<>!~[;,":
            break
        out.append(ch)
        i += 1
    return "".join(out)
