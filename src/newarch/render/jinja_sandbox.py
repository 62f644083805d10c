"""Jinja2 for meta.yaml, sandboxed: the environment, its guards, and rendering one template.

The environment is a :class:`jinja2.sandbox.SandboxedEnvironment` with extra guards so an
untrusted recipe cannot run code, read files, or hang:

* unsafe attributes (``__class__``, ``mro``, ...) raise :class:`UnsafeRecipeError` at once;
* budgets on calls and loop iterations (every ``{% for %}`` iterable is wrapped), a wall-clock
  deadline, bounds on ``*``, ``**``, ``+``, ``%`` and ``~`` results and on integer arguments,
  template and output size limits, ``RecursionError`` caught;
* undefined names raise (``StrictUndefined``) and the error names the variable, file and line;
  ``is defined`` tests and ``environ.get('X', '')`` work as in conda-build.

The render context (conda-build's names and functions) is in ``jinja.py``.
"""

from __future__ import annotations

import contextvars
import functools
import re
import time
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, cast
from collections.abc import Callable, Mapping

import jinja2
from jinja2 import nodes
from jinja2.sandbox import SandboxedEnvironment

from newarch.errors import RenderError, UnsafeRecipeError
from newarch.render.sizes import expanded_size, too_large

MAX_TEMPLATE_CHARS = 1_000_000
MAX_OUTPUT_CHARS = 4_000_000
MAX_VALUE_CHARS = 1_000_000
MAX_INT_ARG = 1_000_000
MAX_CALLS = 200_000
MAX_ITERATIONS = 500_000
DEADLINE_SECONDS = 5.0
_FOR_TAG = re.compile(r"\{%[-+]?\s*for\b")  # a For node needs this tag (no line statements)


# ----------------------------------------------------------------------------- guards


@dataclass(slots=True)
class _Budget:
    file: str
    calls: int = 0
    iterations: int = 0
    deadline: float = 0.0

    def tick_call(self) -> None:
        self.calls += 1
        if self.calls > MAX_CALLS:
            raise RenderError(f"Jinja template makes more than {MAX_CALLS} calls (runaway recursion?)", self.file)
        if not self.calls & 1023 and time.monotonic() > self.deadline:
            raise RenderError(f"Jinja template took longer than {DEADLINE_SECONDS:g}s to render", self.file)

    def tick_loop(self) -> None:
        self.iterations += 1
        if self.iterations > MAX_ITERATIONS:
            raise RenderError(f"Jinja template runs more than {MAX_ITERATIONS} loop iterations", self.file)
        if not self.iterations & 1023 and time.monotonic() > self.deadline:
            raise RenderError(f"Jinja template took longer than {DEADLINE_SECONDS:g}s to render", self.file)


_BUDGET: contextvars.ContextVar[_Budget] = contextvars.ContextVar("newarch_jinja_budget")


def _budget() -> _Budget:
    b = _BUDGET.get(None)
    if b is None:  # rendering outside render_template (tests): a fresh budget
        b = _Budget("<template>", deadline=time.monotonic() + DEADLINE_SECONDS)
        _BUDGET.set(b)
    return b


def _guarded_iter(seq: Any) -> Any:
    b = _budget()
    if isinstance(seq, jinja2.Undefined):
        yield from seq  # raises for StrictUndefined
        return
    for item in seq:
        b.tick_loop()
        yield item


def _size(v: Any) -> int:
    if isinstance(v, (str, list, tuple, dict)):
        return len(v)
    return 0


def _check_size(v: Any) -> Any:
    if _size(v) > MAX_VALUE_CHARS:
        raise RenderError("Jinja value grows beyond the size limit", _budget().file)
    return v


def _check_expanded(*values: Any) -> None:
    """Before a value is printed or joined: what ``str()`` would build must stay under the limit
    (``[[a] * 1000] * 1000`` is small in memory and a billion characters as text)."""
    total = 0
    for v in values:
        if isinstance(v, str):
            total += len(v)
        elif isinstance(v, (list, tuple, dict, set, frozenset)):
            total += expanded_size(v, MAX_VALUE_CHARS)
        if total > MAX_VALUE_CHARS:
            raise RenderError("Jinja value grows beyond the size limit", _budget().file)


def _finalize(value: Any) -> Any:
    """Every ``{{ expression }}`` result passes here before it becomes text."""
    if isinstance(value, (list, tuple, dict, set, frozenset)) and too_large(value, MAX_VALUE_CHARS):
        raise RenderError("Jinja value grows beyond the size limit", _budget().file)
    return value


def _guarded_concat(*parts: Any) -> str:
    _check_expanded(*parts)
    out = "".join(str(p) if not isinstance(p, jinja2.Undefined) else str(p) for p in parts)
    return _check_size(out)


def _check_growing_call(func: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
    """Bound the result of calls whose output can be far larger than their inputs, before the call."""
    owner = getattr(func, "__self__", None)
    name = getattr(func, "__name__", "")
    file = _budget().file
    _check_expanded(*args, *kwargs.values())
    if isinstance(owner, str):
        if name == "replace" and len(args) >= 2 and isinstance(args[0], str) and isinstance(args[1], str):
            hits = owner.count(args[0]) if args[0] else len(owner) + 1
            if len(owner) + hits * (len(args[1]) - len(args[0])) > MAX_VALUE_CHARS:
                raise RenderError("Jinja replace() result too large", file)
        elif name == "expandtabs":
            tab = args[0] if args and isinstance(args[0], int) else 8
            if len(owner) + owner.count("\t") * max(tab, 0) > MAX_VALUE_CHARS:
                raise RenderError("Jinja expandtabs() result too large", file)
        elif name == "join" and args and isinstance(args[0], (list, tuple)):
            too_big = len(owner) * len(args[0]) > MAX_VALUE_CHARS
            if too_big:
                raise RenderError("Jinja join() result too large", file)


_WIDTH_RE = re.compile(r"%[-+ #0]*(\d+)|\{[^{}]*?:[^{}]*?(\d+)[^{}]*\}")


def _check_format_string(fmt: Any) -> None:
    if isinstance(fmt, str):
        for m in _WIDTH_RE.finditer(fmt):
            width = m.group(1) or m.group(2)
            if width and int(width) > MAX_INT_ARG:
                raise RenderError("Jinja format width too large", _budget().file)


class RecipeUndefined(jinja2.StrictUndefined):
    """StrictUndefined: any use of an undefined name raises, naming it."""

    __slots__ = ()


class NeverFailUndefined(jinja2.Undefined):
    """conda-build's ``UndefinedNeverFail`` (first render pass, ``permit_undefined_jinja=True``).

    Printing gives ``""``; arithmetic, calls, items and attributes give another undefined, so a
    recipe whose ``{% set %}`` is missing on this platform still renders far enough to read
    ``build.skip``. Dunder attributes still raise (and the sandbox still guards unsafe ones).
    """

    __slots__ = ()

    def _fail_with_undefined_error(self, *args: Any, **kwargs: Any) -> Any:
        return NeverFailUndefined(hint=self._undefined_hint, name=self._undefined_name)

    __add__ = __radd__ = __sub__ = __rsub__ = __mul__ = __rmul__ = _fail_with_undefined_error
    __truediv__ = __rtruediv__ = __floordiv__ = __rfloordiv__ = _fail_with_undefined_error
    __mod__ = __rmod__ = __pos__ = __neg__ = __call__ = __getitem__ = _fail_with_undefined_error
    __lt__ = __le__ = __gt__ = __ge__ = __pow__ = __rpow__ = _fail_with_undefined_error

    # jinja2 types Undefined.__int__/__float__ as its failing method (-> NoReturn); this one converts
    def __int__(self) -> int:  # type: ignore[override]
        return 0

    def __float__(self) -> float:  # type: ignore[override]
        return 0.0


class UndefinedNameError(RenderError):
    """A template used a name the context does not define (``name`` tells which, when known)."""

    name: str = ""


_UNDEFINED_NAME = re.compile(r"^'([^']+)' is undefined")


class _RecipeEnvironment(SandboxedEnvironment):
    intercepted_binops = frozenset({"*", "**", "+", "%"})

    def call_binop(self, context: Any, operator: str, left: Any, right: Any) -> Any:
        file = _budget().file
        if operator == "*":
            seq, n = (left, right) if isinstance(right, int) else (right, left)
            if isinstance(seq, (str, list, tuple)) and isinstance(n, int):
                # the size of the result expanded (nested lists repeated count every time)
                if n > 0 and (
                    len(seq) * n > MAX_VALUE_CHARS or expanded_size(seq, MAX_VALUE_CHARS) * n > MAX_VALUE_CHARS
                ):
                    raise RenderError("Jinja '*' result too large", file)
            elif isinstance(left, int) and isinstance(right, int) and left.bit_length() + right.bit_length() > 256:
                raise RenderError("Jinja '*' result too large", file)
        elif operator == "**":
            if isinstance(right, (int, float)) and abs(right) > 64:
                raise RenderError("Jinja '**' exponent too large", file)
        elif operator == "%":
            _check_format_string(left)
            _check_expanded(left, right)
        elif operator == "+":
            if _size(left) + _size(right) > MAX_VALUE_CHARS:
                raise RenderError("Jinja '+' result too large", file)
            _check_expanded(left, right)
        return super().call_binop(context, operator, left, right)

    def call(__self, __context: Any, __obj: Any, *args: Any, **kwargs: Any) -> Any:  # noqa: N805
        _budget().tick_call()
        for a in (*args, *kwargs.values()):
            if isinstance(a, int) and not isinstance(a, bool) and abs(a) > MAX_INT_ARG:
                raise RenderError(f"Jinja call with an integer argument larger than {MAX_INT_ARG}", _budget().file)
        name = getattr(__obj, "__name__", "")
        if name in ("format", "format_map") and isinstance(getattr(__obj, "__self__", None), str):
            _check_format_string(__obj.__self__)
        _check_growing_call(__obj, args, kwargs)
        result = _check_size(SandboxedEnvironment.call(__self, __context, __obj, *args, **kwargs))
        owner = getattr(__obj, "__self__", None)
        if isinstance(owner, (list, dict, set)) and len(owner) > MAX_VALUE_CHARS:  # append / extend / update
            raise RenderError("Jinja value grows beyond the size limit", _budget().file)
        return result

    def unsafe_undefined(self, obj: Any, attribute: str) -> jinja2.Undefined:
        raise UnsafeRecipeError(
            f"access to attribute {attribute!r} of a {type(obj).__name__} is not allowed", _budget().file
        )

    def _parse(self, source: str, name: str | None, filename: str | None) -> nodes.Template:
        tree = super()._parse(source, name, filename)
        if "~" not in source and not _FOR_TAG.search(source):
            return tree  # no For or Concat node to guard: skip walking the tree
        for node in list(tree.find_all((nodes.For, nodes.Concat))):
            if isinstance(node, nodes.For):
                node.iter = nodes.Call(
                    nodes.Name("_newarch_iter", "load", lineno=node.lineno),
                    [node.iter],
                    [],
                    None,
                    None,
                    lineno=node.lineno,
                )
                continue
            concat = cast(nodes.Concat, node)  # find_all gave a For or a Concat
            concat.nodes = [
                nodes.Call(
                    nodes.Name("_newarch_concat", "load", lineno=concat.lineno),
                    list(concat.nodes),
                    [],
                    None,
                    None,
                    lineno=concat.lineno,
                )
            ]
        return tree


def _guard_filter(func: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        for a in (*args[1:], *kwargs.values()):
            if isinstance(a, int) and not isinstance(a, bool) and abs(a) > MAX_INT_ARG:
                raise RenderError("Jinja filter argument too large", _budget().file)
        if func.__name__ == "do_format":
            _check_format_string(args[0] if args else None)
        values = (
            args[1:]
            if args and isinstance(args[0], (jinja2.runtime.Context, jinja2.Environment, nodes.EvalContext))
            else args
        )
        _check_expanded(*values, *kwargs.values())
        text = values[0] if values and isinstance(values[0], str) else ""
        if func.__name__ == "do_replace" and len(values) >= 3:
            old, new = str(values[1]), str(values[2])
            hits = text.count(old) if old else len(text) + 1
            if len(text) + hits * (len(new) - len(old)) > MAX_VALUE_CHARS:
                raise RenderError("Jinja replace result too large", _budget().file)
        elif func.__name__ == "do_indent":
            width = values[1] if len(values) >= 2 and isinstance(values[1], int) else 4
            if len(text) + text.count("\n") * abs(width) > MAX_VALUE_CHARS:
                raise RenderError("Jinja indent result too large", _budget().file)
        return _check_size(func(*args, **kwargs))

    return wrapper


@lru_cache(maxsize=2)
def environment(lenient: bool = False) -> _RecipeEnvironment:
    """The sandboxed environment; ``lenient`` permits undefined names (see :class:`NeverFailUndefined`)."""
    env = _RecipeEnvironment(
        undefined=NeverFailUndefined if lenient else RecipeUndefined,
        autoescape=False,
        keep_trailing_newline=True,
        cache_size=0,
        finalize=_finalize,
    )
    for fname in list(env.filters):  # every filter: inputs that print too large, results too large
        env.filters[fname] = _guard_filter(env.filters[fname])
    env.globals.update(
        _newarch_iter=_guarded_iter, _newarch_concat=_guarded_concat, range=_safe_range, lipsum=_safe_lipsum
    )
    return env


def _safe_lipsum(n: int = 5, html: bool = True, min: int = 20, max: int = 100) -> str:  # noqa: A002
    from jinja2.utils import generate_lorem_ipsum

    if not all(isinstance(v, int) and 0 <= v <= 1000 for v in (n, min, max)):
        raise RenderError("Jinja lipsum() arguments too large", _budget().file)
    return generate_lorem_ipsum(n, html, min, max)


def _safe_range(*args: int) -> range:
    r = range(*args)
    if len(r) > 100_000:
        raise RenderError("Jinja range() too large", _budget().file)
    return r


@lru_cache(maxsize=512)
def compile_template(text: str, name: str, lenient: bool = False) -> jinja2.Template:
    """Compile once (cached by text): the same recipe renders for many variants and platforms."""
    env = environment(lenient)
    if len(text) > MAX_TEMPLATE_CHARS:
        raise RenderError(f"template larger than {MAX_TEMPLATE_CHARS} characters", name)
    try:
        return env.from_string(text)
    except jinja2.TemplateSyntaxError as exc:
        raise RenderError(f"Jinja syntax error: {_one_line(exc.message)}", name, exc.lineno) from None
    except RecursionError:
        raise RenderError("Jinja template nests too deeply", name) from None


def _one_line(text: str | None) -> str:
    lines = (text or "").strip().splitlines()
    return lines[0] if lines else "error"


def _template_line(exc: BaseException) -> int | None:
    line = None
    tb = exc.__traceback__
    while tb is not None:
        if tb.tb_frame.f_code.co_filename == "<template>":
            line = tb.tb_lineno
        tb = tb.tb_next
    return line


class JinjaVars(dict[str, Any]):
    """Template variables that already hold the environment's globals (see :func:`jinja_vars`)."""

    __slots__ = ()


def jinja_vars(context: Mapping[str, Any]) -> JinjaVars:
    """``context`` with the Jinja globals under it, as ``Template.render`` would build it per call.

    :func:`render_template` uses such a mapping as it is (Jinja's ``shared`` context), so one
    mapping serves many renders without copying a few hundred variant keys each time.
    """
    out = JinjaVars(environment().globals)
    out.update(context)
    return out


def _generate(template: jinja2.Template, context: Mapping[str, Any]) -> Any:
    """``template.generate(context)``; a :class:`JinjaVars` context is used without a copy."""
    if type(context) is not JinjaVars:
        yield from template.generate(context)
        return
    ctx = template.new_context(context, shared=True)
    try:
        yield from template.root_render_func(ctx)
    except Exception:
        yield template.environment.handle_exception()  # as generate(): template line numbers


def render_template(text: str, context: Mapping[str, Any], file: str, lenient: bool = False) -> str:
    """Render ``text`` with ``context``; every failure is a RenderError naming ``file`` and line.

    An undefined name raises :class:`UndefinedNameError`; with ``lenient`` it prints as ``""``
    (conda-build's first pass, see :class:`NeverFailUndefined`).
    """
    template = compile_template(text, file, lenient)
    token = _BUDGET.set(_Budget(file, deadline=time.monotonic() + DEADLINE_SECONDS))
    try:
        chunks: list[str] = []
        total = 0
        for chunk in _generate(template, context):
            total += len(chunk)
            if total > MAX_OUTPUT_CHARS:
                raise RenderError(f"rendered recipe larger than {MAX_OUTPUT_CHARS} characters", file)
            chunks.append(chunk)
        return "".join(chunks)
    except RenderError as exc:
        if exc.line is None and exc.file == file:
            exc.line = _template_line(exc)
            exc.args = (str(exc),)
        raise
    except jinja2.UndefinedError as exc:
        err = UndefinedNameError(f"Jinja: {_one_line(exc.message)}", file, _template_line(exc))
        named = _UNDEFINED_NAME.match(_one_line(exc.message))
        err.name = named.group(1) if named else ""
        raise err from None
    except jinja2.exceptions.SecurityError as exc:
        raise UnsafeRecipeError(f"Jinja: {_one_line(str(exc))}", file, _template_line(exc)) from None
    except jinja2.TemplateError as exc:
        raise RenderError(
            f"Jinja: {_one_line(str(exc))}", file, getattr(exc, "lineno", None) or _template_line(exc)
        ) from None
    except RecursionError:
        raise RenderError("Jinja recursion too deep (recursive macro?)", file) from None
    except MemoryError:
        raise RenderError("Jinja template ran out of memory", file) from None
    except (
        TypeError,
        ValueError,
        KeyError,
        IndexError,
        AttributeError,
        ZeroDivisionError,
        OverflowError,
        UnicodeError,
        RuntimeError,
    ) as exc:  # RuntimeError: e.g. ``cycler()`` with no items
        first = (str(exc).strip().splitlines() or [""])[0]
        raise RenderError(f"Jinja: {type(exc).__name__}: {first}", file, _template_line(exc)) from None
    finally:
        _BUDGET.reset(token)
