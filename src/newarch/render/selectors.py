"""conda-build line selectors (``# [expr]``): tokenizer -> parser -> evaluator.

Recipes are untrusted, so selectors are never handed to Python's ``eval``. The grammar is the
small Python subset conda-build's ``evalidate`` model accepts and recipes use: names, string /
int / float literals, tuples, ``and or not``, comparisons (chained), ``in``/``not in``,
``is``/``is not``, ``+ - * / // %``, calls to ``int float str len bool``, and a fixed set of
methods (``str.startswith`` ..., ``environ.get``, ``os.environ.get``, ``os.getenv``).

The namespace is built by :func:`selector_namespace` exactly like conda-build's
``get_selectors``: platform flags from the host subdir, ``py``/``np``, the environment and
every variant key (ints where the value is an int, booleans for ``true``/``false``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, NoReturn
from collections.abc import Callable, Mapping

from newarch.platforms import KNOWN_SUBDIRS  # conda's: conda-build derives os/arch flags from them
from newarch.errors import RenderError, UnsafeRecipeError

MAX_EXPR_LEN = 2000
MAX_DEPTH = 40
MAX_INT_DIGITS = 60
MAX_STR_LEN = 10_000
MAX_TUPLE_LEN = 500

ARCH_MAP = {"32": "x86", "64": "x86_64"}
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
STR_METHODS = frozenset(
    {"startswith", "endswith", "lower", "upper", "strip", "lstrip", "rstrip", "split", "rsplit", "replace"}
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


# ----------------------------------------------------------------------------- namespace


class Environ:
    """A read-only view of the controlled environment, the only ``environ`` a recipe sees."""

    __slots__ = ("_env",)

    def __init__(self, env: Mapping[str, str]) -> None:
        self._env = env

    def get(self, key: Any, default: Any = None) -> Any:
        return self._env.get(key, default) if isinstance(key, str) else default

    def __contains__(self, key: object) -> bool:
        return key in self._env

    def __getitem__(self, key: str) -> str:
        return self._env[key]

    def keys(self) -> list[str]:
        return list(self._env)

    def items(self) -> list[tuple[str, str]]:
        return list(self._env.items())

    def values(self) -> list[str]:
        return list(self._env.values())

    def __iter__(self):  # pragma: no cover - trivial
        return iter(list(self._env))

    def __len__(self) -> int:
        return len(self._env)

    def __repr__(self) -> str:
        return "environ"


class OSModule:
    """The subset of ``os`` conda-build exposes to selectors and Jinja (``OSModuleSubset``)."""

    __slots__ = ("environ",)
    sep = "/"
    pathsep = ":"

    def __init__(self, environ: Environ) -> None:
        self.environ = environ

    def getenv(self, key: Any, default: Any = None) -> Any:
        return self.environ.get(key, default)

    def __repr__(self) -> str:
        return "os"


def py_int(python: str) -> int:
    """``3.14.* *_cp314`` -> 314 (conda-build's ``py``)."""
    major, minor, *_ = python.split(" ")[0].split(".") + ["0"]
    digits = re.sub(r"\D", "", major) + re.sub(r"\D", "", minor)
    return int(digits) if digits else 0


@lru_cache(maxsize=16384)
def _auto_type(value: str) -> Any:
    try:
        return int(value)
    except (TypeError, ValueError):
        if isinstance(value, str) and value.lower() in ("true", "false"):
            return value.lower() == "true"
        return value


def selector_namespace(host: str, build: str, variant: Mapping[str, str], env: Mapping[str, str]) -> dict[str, Any]:
    """The selector namespace of conda-build's ``get_selectors`` for host subdir ``host``.

    ``win64`` is ``host == "win-64"`` (false on win-arm64, where ``arm64`` and ``win`` are true),
    ``x86_64`` is ``host.endswith("-64")``; ``variant`` values are strings.
    """
    d = dict(
        _fixed_namespace(
            host,
            build,
            tuple(env.items()),
            variant.get("python") or "3.12",
            variant.get("numpy") or "1.26",
            variant.get("perl", "5.26.2"),
            variant.get("lua", "5"),
        )
    )
    d.update({k: _auto_type(v) for k, v in variant.items() if k not in d})
    return d


@lru_cache(maxsize=256)
def _fixed_namespace(
    host: str, build: str, env_items: tuple[tuple[str, str], ...], py: str, np: str, perl: str, lua: str
) -> dict[str, Any]:
    """Everything in the namespace but the variant keys (callers copy it: never mutate)."""
    env = dict(env_items)
    environ = Environ(env)
    d: dict[str, Any] = {
        "linux32": host == "linux-32",
        "linux64": host == "linux-64",
        "arm": host.startswith("linux-arm"),
        "unix": host.startswith(("linux-", "osx-", "emscripten-")),
        "win32": host == "win-32",
        "win64": host == "win-64",
        "os": OSModule(environ),
        "environ": environ,
        "nomkl": env.get("FEATURE_NOMKL", "0") == "1",
    }
    subdirs = [s for s in (*KNOWN_SUBDIRS, host) if "-" in s]
    for os_name in {s.split("-")[0] for s in subdirs}:
        d[os_name] = host.startswith(f"{os_name}-")
    for arch in {s.split("-", 1)[1] for s in subdirs}:
        d[ARCH_MAP.get(arch, arch)] = host.endswith(f"-{arch}")
    d["x86"] = host.endswith(("-32", "-64"))
    py_ver = py_int(py)
    py_major = py.split(" ")[0].split(".")[0]
    d["build_platform"] = build
    d.update(
        py=py_ver,
        py3k=py_major == "3",
        py2k=py_major == "2",
        py26=py_ver == 26,
        py27=py_ver == 27,
        py33=py_ver == 33,
        py34=py_ver == 34,
        py35=py_ver == 35,
        py36=py_ver == 36,
    )
    np_digits = re.sub(r"\D", "", "".join(np.split(".")[:2]))
    d["np"] = int(np_digits) if np_digits else 0
    d["pl"] = perl
    d["lua"] = lua
    d["luajit"] = lua[:1] == "2"
    for key in ("FEATURE_DEBUG", "FEATURE_NOMKL", "FEATURE_OPT"):
        if env.get(key) in ("0", "1"):
            d[key[8:].lower()] = env[key] == "1"
    d.update(env)
    return d


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


# ----------------------------------------------------------------------------- evaluator


@dataclass(frozen=True, slots=True)
class _Bound:
    obj: Any
    method: str


_MISSING = object()


def _check_value(v: Any) -> Any:
    if isinstance(v, bool) or v is None:
        return v
    if isinstance(v, int):
        if v.bit_length() > MAX_INT_DIGITS * 4:
            raise _Fail("integer result too large")
    elif isinstance(v, str):
        if len(v) > MAX_STR_LEN:
            raise _Fail("string result too long")
    elif isinstance(v, tuple) and len(v) > MAX_TUPLE_LEN:
        raise _Fail("tuple result too long")
    return v


def _to_int(v: Any) -> int:
    if isinstance(v, str):
        s = v.strip()
        if len(s) > MAX_INT_DIGITS:
            raise _Fail(f"int() of a string longer than {MAX_INT_DIGITS} characters")
        try:
            return int(s)
        except ValueError:
            raise _Fail(f"int() cannot convert {v!r}") from None
    if isinstance(v, (bool, int)):
        return int(v)
    if isinstance(v, float):
        if v != v or v in (float("inf"), float("-inf")) or abs(v) > 1e60:
            raise _Fail(f"int() cannot convert {v!r}")
        return int(v)
    raise _Fail(f"int() cannot convert a {_type_name(v)}")


def _to_float(v: Any) -> float:
    if isinstance(v, str):
        s = v.strip()
        if len(s) > MAX_INT_DIGITS:
            raise _Fail(f"float() of a string longer than {MAX_INT_DIGITS} characters")
        try:
            return float(s)
        except ValueError:
            raise _Fail(f"float() cannot convert {v!r}") from None
    if isinstance(v, (bool, int, float)):
        return float(v)
    raise _Fail(f"float() cannot convert a {_type_name(v)}")


def _to_str(v: Any) -> str:
    if isinstance(v, (str, bool, int, float)) or v is None:
        return str(v)
    if isinstance(v, tuple):
        return str(tuple(_to_str(x) if not isinstance(x, (str, int, float, bool)) else x for x in v))
    return repr(v)


def _length(v: Any) -> int:
    if isinstance(v, (str, tuple, Environ)):
        return len(v)
    raise _Fail(f"len() of a {_type_name(v)}")


_FUNCTIONS: dict[str, Callable[[Any], Any]] = {
    "int": _to_int,
    "float": _to_float,
    "str": _to_str,
    "len": _length,
    "bool": bool,
}


def _type_name(v: Any) -> str:
    if isinstance(v, _Bound):
        return "method"
    if isinstance(v, Environ):
        return "environ"
    if isinstance(v, OSModule):
        return "module"
    return {bool: "bool", int: "int", float: "float", str: "string", tuple: "tuple", type(None): "None"}.get(
        type(v), "value"
    )


def _call_method(b: _Bound, args: list[Any]) -> Any:
    obj, m = b.obj, b.method
    if isinstance(obj, str):
        if m in ("lower", "upper", "strip", "lstrip", "rstrip"):
            if m in ("lower", "upper") and args:
                raise _Fail(f"{m}() takes no arguments")
            if len(args) > 1 or (args and not isinstance(args[0], str)):
                raise _Fail(f"bad arguments to {m}()")
            return getattr(obj, m)(*args)
        if m in ("startswith", "endswith"):
            if len(args) != 1:
                raise _Fail(f"{m}() takes exactly one argument")
            arg = args[0]
            if isinstance(arg, tuple) and all(isinstance(x, str) for x in arg):
                return getattr(obj, m)(arg)
            if not isinstance(arg, str):
                raise _Fail(f"{m}() argument must be a string, not {_type_name(arg)}")
            return getattr(obj, m)(arg)
        if m in ("split", "rsplit"):
            if (
                len(args) > 2
                or (args and args[0] is not None and not isinstance(args[0], str))
                or (len(args) == 2 and (not isinstance(args[1], int) or isinstance(args[1], bool)))
            ):
                raise _Fail(f"bad arguments to {m}()")
            if args and args[0] == "":
                raise _Fail("empty separator")
            return tuple(getattr(obj, m)(*args))
        if m == "replace":
            if len(args) != 2 or not all(isinstance(a, str) for a in args):
                raise _Fail("replace() takes two strings")
            if len(obj) + len(obj) * len(args[1]) > MAX_STR_LEN * 10:
                raise _Fail("string result too long")
            return obj.replace(args[0], args[1])
    if isinstance(obj, Environ) and m == "get":
        if not 1 <= len(args) <= 2:
            raise _Fail("get() takes one or two arguments")
        return obj.get(args[0], args[1] if len(args) == 2 else None)
    if isinstance(obj, OSModule) and m == "getenv":
        if not 1 <= len(args) <= 2:
            raise _Fail("getenv() takes one or two arguments")
        return obj.getenv(args[0], args[1] if len(args) == 2 else None)
    raise _Fail(f"{m}() is not allowed", unsafe=True)  # pragma: no cover - guarded at attr time


def _attr(obj: Any, name: str) -> Any:
    if isinstance(obj, str) and name in STR_METHODS:
        return _Bound(obj, name)
    if isinstance(obj, Environ) and name == "get":
        return _Bound(obj, name)
    if isinstance(obj, OSModule):
        if name == "environ":
            return obj.environ
        if name == "getenv":
            return _Bound(obj, name)
        if name in ("sep", "pathsep"):
            return getattr(obj, name)
    raise _Fail(f"attribute {name!r} of a {_type_name(obj)} is not allowed in a selector", unsafe=True)


def _compare(op: str, a: Any, b: Any) -> bool:
    try:
        if op == "==":
            return bool(a == b)
        if op == "!=":
            return bool(a != b)
        if op == "is":
            return a is b if (a is None or b is None or isinstance(a, bool) or isinstance(b, bool)) else a == b
        if op == "is not":
            return not _compare("is", a, b)
        if op in ("in", "not in"):
            if isinstance(b, str):
                if not isinstance(a, str):
                    raise _Fail(f"'in <string>' requires a string on the left, not {_type_name(a)}")
                r = a in b
            elif isinstance(b, (tuple, Environ)):
                r = a in b
            else:
                raise _Fail(f"'in' needs a string, tuple or environ on the right, not {_type_name(b)}")
            return r if op == "in" else not r
        if (
            not (isinstance(a, (int, float)) and isinstance(b, (int, float)))
            and not (isinstance(a, str) and isinstance(b, str))
            and not (isinstance(a, tuple) and isinstance(b, tuple))
        ):
            raise _Fail(f"cannot compare {_type_name(a)} and {_type_name(b)} with {op!r}")
        return _order(op, a, b)
    except TypeError:
        raise _Fail(f"cannot compare {_type_name(a)} and {_type_name(b)} with {op!r}") from None


def _order(op: str, a: Any, b: Any) -> bool:
    """``a <op> b`` for two numbers, two strings or two tuples (checked by :func:`_compare`)."""
    if op == "<":
        return bool(a < b)
    if op == "<=":
        return bool(a <= b)
    if op == ">":
        return bool(a > b)
    return bool(a >= b)


def _binop(op: str, a: Any, b: Any) -> Any:
    num = (int, float)
    if isinstance(a, num) and isinstance(b, num):
        if op == "+":
            return _check_value(a + b)
        if op == "-":
            return _check_value(a - b)
        if op == "*":
            if isinstance(a, int) and isinstance(b, int) and (a.bit_length() + b.bit_length()) > MAX_INT_DIGITS * 4:
                raise _Fail("integer result too large")
            return _check_value(a * b)
        if b == 0:
            raise _Fail("division by zero")
        if op == "/":
            return a / b
        if op == "//":
            return _check_value(a // b)
        return _check_value(a % b)
    if op == "+" and isinstance(a, str) and isinstance(b, str):
        if len(a) + len(b) > MAX_STR_LEN:
            raise _Fail("string result too long")
        return a + b
    if op == "+" and isinstance(a, tuple) and isinstance(b, tuple):
        return _check_value(a + b)
    raise _Fail(f"unsupported operand types for {op}: {_type_name(a)} and {_type_name(b)}")


def _eval(node: Node, ns: Mapping[str, Any]) -> Any:
    kind = node[0]
    value: Any
    if kind == "name":
        value = ns.get(node[1], _MISSING)
        if value is _MISSING:
            raise _Fail(f"unknown selector name {node[1]!r}", name=node[1])
        if isinstance(value, (Environ, OSModule, bool, int, float, str, tuple)) or value is None:
            return value
        return str(value)
    if kind == "const":
        return node[1]
    if kind == "and":
        value = True
        for item in node[1]:
            value = _eval(item, ns)
            if not value:
                return value
        return value
    if kind == "or":
        value = False
        for item in node[1]:
            value = _eval(item, ns)
            if value:
                return value
        return value
    if kind == "not":
        return not _truth(_eval(node[1], ns))
    if kind == "cmp":
        left = _eval(node[1], ns)
        for op, right_node in node[2]:
            right = _eval(right_node, ns)
            if not _compare(op, left, right):
                return False
            left = right
        return True
    if kind == "bin":
        return _binop(node[1], _eval(node[2], ns), _eval(node[3], ns))
    if kind == "neg" or kind == "pos":
        v = _eval(node[1], ns)
        if not isinstance(v, (int, float)):
            raise _Fail(f"bad operand type for unary {'-' if kind == 'neg' else '+'}: {_type_name(v)}")
        return -v if kind == "neg" else +v
    if kind == "tuple":
        return tuple(_eval(x, ns) for x in node[1])
    if kind == "attr":
        return _attr(_eval(node[1], ns), node[2])
    if kind == "call":
        func_node, arg_nodes = node[1], node[2]
        args = [_eval(a, ns) for a in arg_nodes]
        if func_node[0] == "name" and func_node[1] in _FUNCTIONS and func_node[1] not in ns:
            if len(args) != 1:
                raise _Fail(f"{func_node[1]}() takes exactly one argument")
            return _check_value(_FUNCTIONS[func_node[1]](args[0]))
        if func_node[0] == "name" and func_node[1] in _FUNCTIONS:
            raise _Fail(f"{func_node[1]!r} is not callable here")
        func = _eval(func_node, ns)
        if isinstance(func, _Bound):
            return _check_value(_call_method(func, args))
        raise _Fail(f"a {_type_name(func)} is not callable", unsafe=False)
    raise _Fail(f"unsupported expression {kind}")  # pragma: no cover


def _truth(v: Any) -> bool:
    if isinstance(v, (Environ,)):
        return len(v) > 0
    return bool(v)


def _raise(exc: _Fail, text: str, file: str | None, line: int | None) -> NoReturn:
    msg = f"invalid selector [{text}]: {exc}"
    if exc.unsafe:
        raise UnsafeRecipeError(msg, file, line) from None
    if exc.name:
        raise UnknownSelectorName(exc.name, msg, file, line) from None
    raise RenderError(msg, file, line) from None


def evaluate(text: str, ns: Mapping[str, Any], file: str | None = None, line: int | None = None) -> Any:
    """The value of selector ``text`` in namespace ``ns``.

    Raises :class:`UnknownSelectorName` for names not in ``ns`` (only when actually evaluated:
    ``win and vc < 14`` never looks ``vc`` up off Windows), :class:`UnsafeRecipeError` for dunder
    names, forbidden builtins and attributes outside the whitelist, :class:`RenderError` otherwise.
    """
    node = _as_node(text, file, line)
    try:
        return _eval(node, ns)
    except _Fail as exc:
        _raise(exc, text.strip(), file, line)
    except RecursionError:
        raise RenderError(f"invalid selector [{text.strip()}]: too deeply nested", file, line) from None


MAX_UNKNOWN_NAMES = 32


def is_true(text: str, ns: Mapping[str, Any], file: str | None = None, line: int | None = None) -> bool:
    """Whether selector ``text`` keeps its line, as conda-build's ``eval_selector`` decides.

    conda-build treats a name that is not defined as ``False``: on ``NameError`` it replaces every
    occurrence of the name in the selector text by ``False`` and evaluates again (and logs a
    warning). The same replacement is done here, so ``# [x64_64]`` drops its line; ``newarch lint``
    reports the unknown name (rule ``unknown-selector-name``).
    """
    for _ in range(MAX_UNKNOWN_NAMES):
        try:
            return _truth(evaluate(text, ns, file, line))
        except UnknownSelectorName as exc:
            text = text.replace(exc.name, "False")
    return _truth(evaluate(text, ns, file, line))


def unknown_names(text: str, ns: Mapping[str, Any]) -> list[str]:
    """Names conda-build would replace by ``False`` when evaluating selector ``text`` in ``ns``.

    Empty when the selector evaluates without an unknown name or fails for another reason.
    """
    found: list[str] = []
    for _ in range(MAX_UNKNOWN_NAMES):
        try:
            evaluate(text, ns)
            return found
        except UnknownSelectorName as exc:
            found.append(exc.name)
            text = text.replace(exc.name, "False")
        except RenderError:
            return found
    return found


def names_in(text: str) -> set[str]:
    """Names a selector reads (for variant detection); empty when it does not parse."""
    result = _parse_cached(text.strip()) if len(text) <= MAX_EXPR_LEN else None
    if not isinstance(result, tuple):
        return set()
    out: set[str] = set()
    stack: list[Any] = [result]
    while stack:
        node = stack.pop()
        if not isinstance(node, tuple) or not node:
            continue
        if not isinstance(node[0], str):  # a tuple of nodes
            stack.extend(node)
        elif node[0] == "name":
            out.add(node[1])
        elif node[0] != "const":
            stack.extend(x for x in node[1:] if isinstance(x, tuple))
    return out
