"""Three-valued evaluation of selector / ``if:`` expressions, for lints only.

The lints need to know whether a selector such as ``win and x86_64`` is true on the target
(``win-arm64``) and on its x86_64 twin (``win-64``). Expressions are *parsed* with :mod:`ast`
(which never runs code) and walked over a fixed namespace of platform facts. Anything else
(variant keys such as ``py`` or ``vc``, calls, attributes) is :data:`UNKNOWN`, and the logic is
Kleene's three-valued logic, so ``False and <unknown>`` is still ``False``.
"""

from __future__ import annotations

import ast

from newarch.model import PlatformPair


class _Unknown:
    __slots__ = ()

    def __repr__(self) -> str:
        return "UNKNOWN"


UNKNOWN = _Unknown()
Value = bool | str | int | float | _Unknown | tuple

MAX_EXPR_CHARS = 2000

# The x86_64 platform a new arm platform is usually compared with.
X86_TWIN = {"win-arm64": "win-64", "osx-arm64": "osx-64", "linux-aarch64": "linux-64"}


def split_subdir(subdir: str) -> tuple[str, str]:
    """``win-arm64`` -> (``win``, ``arm64``); ``linux-64`` -> (``linux``, ``x86_64``)."""
    os_name, _, arch = subdir.partition("-")
    if arch == "64":
        arch = "x86_64"
    elif arch == "32":
        arch = "x86"
    return os_name, arch


# Names of the selector namespace that depend on the variant or the environment, not on the platform:
# the lints leave them UNKNOWN instead of guessing a python or numpy.
_VARIANT_DEPENDENT = frozenset(
    {"py", "np", "pl", "lua", "luajit", "nomkl", "os", "environ", "py26", "py27", "py33", "py34", "py35", "py36"}
)


def namespace(pair: PlatformPair) -> dict[str, Value]:
    """The platform facts of the renderer's namespace (conda-build's ``get_selectors``, from
    :func:`newarch.render.selector_namespace.selector_namespace`): on win-arm64 ``win`` and ``arm64`` are true,
    ``win64`` and ``x86_64`` false. One namespace for render, lint and explanations."""
    from newarch.render.selector_namespace import selector_namespace

    full = selector_namespace(pair.target, pair.build, {}, {})
    ns: dict[str, Value] = {k: v for k, v in full.items() if k not in _VARIANT_DEPENDENT and isinstance(v, (bool, str))}
    ns.update({"target_platform": pair.target, "host_platform": pair.target, "subdir": pair.target})
    ns["True"], ns["False"], ns["true"], ns["false"] = True, False, True, False
    return ns


def parse(expr: str) -> ast.expr | None:
    """The expression tree, or ``None`` when it is not a plain boolean expression we can read."""
    text = " ".join(expr.split())
    if not text or len(text) > MAX_EXPR_CHARS:
        return None
    try:
        tree = ast.parse(text, mode="eval")
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return None
    return tree.body


def names(expr: str) -> set[str]:
    """Identifiers used in ``expr`` (empty when it cannot be parsed)."""
    node = parse(expr)
    if node is None:
        return set()
    return {n.id for n in ast.walk(node) if isinstance(n, ast.Name)}


def strings(expr: str) -> set[str]:
    node = parse(expr)
    if node is None:
        return set()
    return {n.value for n in ast.walk(node) if isinstance(n, ast.Constant) and isinstance(n.value, str)}


def evaluate(expr: str, pair: PlatformPair) -> Value:
    """``True``/``False`` when the platform facts decide ``expr``, else :data:`UNKNOWN`."""
    node = parse(expr)
    if node is None:
        return UNKNOWN
    try:
        return _eval(node, namespace(pair), 0)
    except RecursionError:
        return UNKNOWN


def truth(value: Value) -> bool | _Unknown:
    if value is UNKNOWN:
        return UNKNOWN
    return bool(value)


def _eval(node: ast.expr, ns: dict[str, Value], depth: int) -> Value:
    if depth > 64:
        return UNKNOWN
    d = depth + 1
    if isinstance(node, ast.Name):
        return ns.get(node.id, UNKNOWN)
    if isinstance(node, ast.Constant) and isinstance(node.value, (bool, str, int, float)):
        return node.value
    if isinstance(node, (ast.Tuple, ast.List)):
        items = tuple(_eval(e, ns, d) for e in node.elts)
        return UNKNOWN if any(i is UNKNOWN for i in items) else items
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not):
        v = truth(_eval(node.operand, ns, d))
        return UNKNOWN if v is UNKNOWN else not v
    if isinstance(node, ast.BoolOp):
        values = [truth(_eval(v, ns, d)) for v in node.values]
        if isinstance(node.op, ast.And):
            if any(v is False for v in values):
                return False
            return UNKNOWN if any(v is UNKNOWN for v in values) else True
        if any(v is True for v in values):
            return True
        return UNKNOWN if any(v is UNKNOWN for v in values) else False
    if isinstance(node, ast.Compare) and len(node.ops) == 1:
        left, right = _eval(node.left, ns, d), _eval(node.comparators[0], ns, d)
        if left is UNKNOWN or right is UNKNOWN:
            return UNKNOWN
        op = node.ops[0]
        try:
            if isinstance(op, ast.Eq):
                return left == right
            if isinstance(op, ast.NotEq):
                return left != right
            if isinstance(op, ast.In):
                return left in right  # type: ignore[operator]
            if isinstance(op, ast.NotIn):
                return left not in right  # type: ignore[operator]
        except TypeError:
            return UNKNOWN
        return UNKNOWN
    if isinstance(node, ast.IfExp):
        test = truth(_eval(node.test, ns, d))
        if test is UNKNOWN:
            return UNKNOWN
        return _eval(node.body if test else node.orelse, ns, d)
    return UNKNOWN


def ifexp_tests(expr: str) -> list[str]:
    """The conditions of inline ``A if COND else B`` expressions (v1 ``${{ ... }}``)."""
    node = parse(expr)
    if node is None:
        return []
    return [ast.unparse(n.test) for n in ast.walk(node) if isinstance(n, ast.IfExp)]
