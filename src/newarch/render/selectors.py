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

from dataclasses import dataclass
from typing import Any
from collections.abc import Callable, Mapping

from newarch.errors import RenderError
from newarch.render.selector_namespace import Environ, OSModule
from newarch.render.selector_parse import (
    MAX_EXPR_LEN,
    MAX_INT_DIGITS,
    MAX_TUPLE_LEN,
    Node,
    _as_node,
    UnknownSelectorName,
    _Fail,
    _parse_cached,
    _raise,
)

MAX_STR_LEN = 10_000

STR_METHODS = frozenset(
    {"startswith", "endswith", "lower", "upper", "strip", "lstrip", "rstrip", "split", "rsplit", "replace"}
)


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
