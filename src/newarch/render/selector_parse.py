"""Selector text -> syntax tree: the tokenizer and parser of the small Python subset selectors use
(never Python's ``eval``), with limits on length, depth and literal sizes."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, NoReturn

from newarch.errors import RenderError, UnsafeRecipeError

MAX_EXPR_LEN = 2000
MAX_DEPTH = 40
MAX_INT_DIGITS = 60
MAX_TUPLE_LEN = 500

FORBIDDEN_NAMES = frozenset(
    {
        "eval",
        "exec",
        "compile",
        "open",
        "getattr",
        "setattr",
        "delattr",
        "globals",
        "locals",
        "vars",
        "input",
        "breakpoint",
        "help",
        "memoryview",
        "type",
        "object",
        "super",
        "classmethod",
        "staticmethod",
        "property",
        "dir",
        "id",
        "exit",
        "quit",
        "lambda",
        "import",
        "from",
    }
)


class UnknownSelectorName(RenderError):
    """A selector used a name that is not in the namespace."""

    def __init__(self, name: str, message: str, file: str | None = None, line: int | None = None) -> None:
        self.name = name
        super().__init__(message, file, line)


class _Fail(Exception):
    """Internal: an evaluation problem; turned into RenderError with file and line."""

    def __init__(self, message: str, unsafe: bool = False, name: str = "") -> None:
        super().__init__(message)
        self.unsafe = unsafe
        self.name = name


# ----------------------------------------------------------------------------- tokenizer

_TOKEN_RE = re.compile(
    r"""
    (?P<ws>\s+)
  | (?P<num>\d+\.\d*(?:[eE][+-]?\d+)?|\.\d+(?:[eE][+-]?\d+)?|\d+(?:[eE][+-]?\d+)?)
  | (?P<str>'(?:[^'\\\n]|\\.)*'|"(?:[^"\\\n]|\\.)*")
  | (?P<name>[A-Za-z_][A-Za-z0-9_]*)
  | (?P<op>==|!=|<=|>=|//|\*\*|[<>()+\-*/%,.])
""",
    re.VERBOSE,
)
_ESCAPES = {"n": "\n", "t": "\t", "\\": "\\", "'": "'", '"': '"', "r": "\r", "0": "\0"}
_KEYWORDS = frozenset({"and", "or", "not", "in", "is", "True", "False", "None"})


@dataclass(frozen=True, slots=True)
class Token:
    kind: str  # "num" "str" "name" "op" "kw" "end"
    value: Any
    pos: int


def _unescape(body: str) -> str:
    if "\\" not in body:
        return body
    out: list[str] = []
    i = 0
    while i < len(body):
        ch = body[i]
        if ch == "\\" and i + 1 < len(body):
            out.append(_ESCAPES.get(body[i + 1], "\\" + body[i + 1]))
            i += 2
        else:
            out.append(ch)
            i += 1
    return "".join(out)


def tokenize(text: str) -> list[Token]:
    tokens: list[Token] = []
    pos = 0
    n = len(text)
    while pos < n:
        m = _TOKEN_RE.match(text, pos)
        if not m:
            raise _Fail(f"unexpected character {text[pos]!r} at column {pos + 1}")
        kind = m.lastgroup or ""
        raw = m.group()
        if kind == "num":
            if "." in raw or "e" in raw or "E" in raw:
                if len(raw) > MAX_INT_DIGITS:
                    raise _Fail(f"number literal too long at column {pos + 1}")
                tokens.append(Token("num", float(raw), pos))
            else:
                if len(raw.lstrip("0")) > MAX_INT_DIGITS:
                    raise _Fail(f"integer literal too large at column {pos + 1}")
                tokens.append(Token("num", int(raw), pos))
            end = m.end()
            if end < n and (text[end].isalpha() or text[end] == "_"):
                raise _Fail(f"invalid number literal at column {pos + 1}")
        elif kind == "str":
            tokens.append(Token("str", _unescape(raw[1:-1]), pos))
        elif kind == "name":
            tokens.append(Token("kw" if raw in _KEYWORDS else "name", raw, pos))
        elif kind == "op":
            tokens.append(Token("op", raw, pos))
        pos = m.end()
    tokens.append(Token("end", None, n))
    return tokens


# ----------------------------------------------------------------------------- parser
# AST nodes are tuples: ("const", v) ("name", n) ("tuple", items) ("not", x) ("neg", x) ("pos", x)
# ("and", items) ("or", items) ("cmp", first, ((op, x), ...)) ("bin", op, a, b)
# ("attr", obj, name) ("call", func, args)

Node = tuple


class _Parser:
    def __init__(self, text: str) -> None:
        self.tokens = tokenize(text)
        self.i = 0
        self.depth = 0

    def peek(self) -> Token:
        return self.tokens[self.i]

    def next(self) -> Token:
        tok = self.tokens[self.i]
        self.i += 1
        return tok

    def accept(self, kind: str, value: Any = None) -> Token | None:
        tok = self.tokens[self.i]
        if tok.kind == kind and (value is None or tok.value == value):
            self.i += 1
            return tok
        return None

    def expect(self, kind: str, value: Any) -> Token:
        tok = self.accept(kind, value)
        if tok is None:
            got = self.peek()
            raise _Fail(f"expected {value!r} at column {got.pos + 1}, found {_describe(got)}")
        return tok

    def enter(self) -> None:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise _Fail(f"expression nested deeper than {MAX_DEPTH} levels")

    def parse(self) -> Node:
        node = self.expr()
        tok = self.peek()
        if tok.kind != "end":
            raise _Fail(f"unexpected {_describe(tok)} at column {tok.pos + 1}")
        return node

    def expr(self) -> Node:
        self.enter()
        items = [self.and_expr()]
        while self.accept("kw", "or"):
            items.append(self.and_expr())
        self.depth -= 1
        return items[0] if len(items) == 1 else ("or", tuple(items))

    def and_expr(self) -> Node:
        items = [self.not_expr()]
        while self.accept("kw", "and"):
            items.append(self.not_expr())
        return items[0] if len(items) == 1 else ("and", tuple(items))

    def not_expr(self) -> Node:
        if self.accept("kw", "not"):
            self.enter()
            node = ("not", self.not_expr())
            self.depth -= 1
            return node
        return self.comparison()

    def comparison(self) -> Node:
        first = self.arith()
        rest: list[tuple[str, Node]] = []
        while True:
            tok = self.peek()
            if tok.kind == "op" and tok.value in ("==", "!=", "<", "<=", ">", ">="):
                self.next()
                rest.append((tok.value, self.arith()))
            elif tok.kind == "kw" and tok.value == "in":
                self.next()
                rest.append(("in", self.arith()))
            elif (
                tok.kind == "kw"
                and tok.value == "not"
                and self.tokens[self.i + 1].kind == "kw"
                and self.tokens[self.i + 1].value == "in"
            ):
                self.i += 2
                rest.append(("not in", self.arith()))
            elif tok.kind == "kw" and tok.value == "is":
                self.next()
                op = "is not" if self.accept("kw", "not") else "is"
                rest.append((op, self.arith()))
            else:
                break
        return ("cmp", first, tuple(rest)) if rest else first

    def arith(self) -> Node:
        node = self.term()
        while True:
            tok = self.peek()
            if tok.kind == "op" and tok.value in ("+", "-"):
                self.next()
                node = ("bin", tok.value, node, self.term())
            else:
                return node

    def term(self) -> Node:
        node = self.unary()
        while True:
            tok = self.peek()
            if tok.kind == "op" and tok.value in ("*", "/", "//", "%"):
                self.next()
                node = ("bin", tok.value, node, self.unary())
            elif tok.kind == "op" and tok.value == "**":
                raise _Fail(f"'**' is not allowed in selectors (column {tok.pos + 1})")
            else:
                return node

    def unary(self) -> Node:
        tok = self.peek()
        if tok.kind == "op" and tok.value in ("-", "+"):
            self.next()
            self.enter()
            node = ("neg" if tok.value == "-" else "pos", self.unary())
            self.depth -= 1
            return node
        return self.postfix()

    def postfix(self) -> Node:
        node = self.atom()
        while True:
            if self.accept("op", "."):
                tok = self.next()
                if tok.kind not in ("name", "kw"):
                    raise _Fail(f"expected an attribute name at column {tok.pos + 1}")
                name = str(tok.value)
                if name.startswith("_"):
                    raise _Fail(f"access to attribute {name!r} is not allowed", unsafe=True)
                node = ("attr", node, name)
            elif self.accept("op", "("):
                self.enter()
                args: list[Node] = []
                if not self.accept("op", ")"):
                    while True:
                        args.append(self.expr())
                        if self.accept("op", ")"):
                            break
                        self.expect("op", ",")
                        if self.accept("op", ")"):
                            break
                self.depth -= 1
                node = ("call", node, tuple(args))
            else:
                return node

    def atom(self) -> Node:
        tok = self.next()
        if tok.kind in ("num", "str"):
            return ("const", tok.value)
        if tok.kind == "kw" and tok.value in ("True", "False", "None"):
            return ("const", {"True": True, "False": False, "None": None}[tok.value])
        if tok.kind == "name":
            name = tok.value
            if name.startswith("__") or name in FORBIDDEN_NAMES:
                raise _Fail(f"use of {name!r} is not allowed in a selector", unsafe=True)
            return ("name", name)
        if tok.kind == "op" and tok.value == "(":
            self.enter()
            if self.accept("op", ")"):
                self.depth -= 1
                return ("tuple", ())
            first = self.expr()
            if self.accept("op", ")"):
                self.depth -= 1
                return first
            items = [first]
            while self.accept("op", ","):
                if self.peek().kind == "op" and self.peek().value == ")":
                    break
                items.append(self.expr())
                if len(items) > MAX_TUPLE_LEN:
                    raise _Fail("tuple literal too long")
            self.expect("op", ")")
            self.depth -= 1
            return ("tuple", tuple(items))
        raise _Fail(f"unexpected {_describe(tok)} at column {tok.pos + 1}")


def _describe(tok: Token) -> str:
    if tok.kind == "end":
        return "end of selector"
    return repr(tok.value) if tok.kind != "str" else "string literal"


@lru_cache(maxsize=8192)
def _parse_cached(text: str) -> Node | _Fail:
    try:
        return _Parser(text).parse()
    except _Fail as exc:
        return exc


def parse(text: str) -> Node:
    """Parse a selector expression into an AST (raises RenderError / UnsafeRecipeError)."""
    return _as_node(text, None, None)


def _as_node(text: str, file: str | None, line: int | None) -> Node:
    text = text.strip()
    if len(text) > MAX_EXPR_LEN:
        raise RenderError(f"selector longer than {MAX_EXPR_LEN} characters", file, line)
    if not text:
        raise RenderError("empty selector []", file, line)
    result = _parse_cached(text)
    if isinstance(result, _Fail):
        _raise(result, text, file, line)
    return result


def _raise(exc: _Fail, text: str, file: str | None, line: int | None) -> NoReturn:
    msg = f"invalid selector [{text}]: {exc}"
    if exc.unsafe:
        raise UnsafeRecipeError(msg, file, line) from None
    if exc.name:
        raise UnknownSelectorName(exc.name, msg, file, line) from None
    raise RenderError(msg, file, line) from None
