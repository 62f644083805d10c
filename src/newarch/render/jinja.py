"""Jinja2 for meta.yaml, sandboxed, with conda-build's render context.

The environment is a :class:`jinja2.sandbox.SandboxedEnvironment` with extra guards so an
untrusted recipe cannot run code, read files, or hang:

* unsafe attributes (``__class__``, ``mro``, ...) raise :class:`UnsafeRecipeError` at once;
* budgets on calls and loop iterations (every ``{% for %}`` iterable is wrapped), a wall-clock
  deadline, bounds on ``*``, ``**``, ``+``, ``%`` and ``~`` results and on integer arguments,
  template and output size limits, ``RecursionError`` caught;
* undefined names raise (``StrictUndefined``) and the error names the variable, file and line;
  ``is defined`` tests and ``environ.get('X', '')`` work as in conda-build.

The context mirrors conda-build's ``_get_contents``: the selector namespace, ``environ.get_dict``
(``PY_VER``, ``PYTHON``, ``PREFIX``, ``PKG_*``, variant keys as strings ...) and the
``context_processor`` functions (``compiler``, ``stdlib``, ``cdt``, ``pin_subpackage``,
``pin_compatible``, ``load_*`` stand-ins that never read a file, ``datetime`` at a fixed date).
"""

from __future__ import annotations

import contextvars
import functools
import datetime as _dt
import json
import re
import time
import tomllib
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, cast
from collections.abc import Callable, Mapping

import jinja2
from jinja2 import nodes
from jinja2.sandbox import SandboxedEnvironment

from newarch.errors import RenderError, UnsafeRecipeError
from newarch.render.selectors import Environ, OSModule, py_int
from newarch.render.sizes import expanded_size, too_large

MAX_TEMPLATE_CHARS = 1_000_000
MAX_OUTPUT_CHARS = 4_000_000
MAX_VALUE_CHARS = 1_000_000
MAX_INT_ARG = 1_000_000
MAX_CALLS = 200_000
MAX_ITERATIONS = 500_000
DEADLINE_SECONDS = 5.0
FIXED_NOW = _dt.datetime(2026, 1, 1, 0, 0, 0)

# conda-build's DEFAULT_COMPILERS (variants.py)
DEFAULT_COMPILERS: dict[str, dict[str, Any]] = {
    "win": {
        "c": {"2.7": "vs2008", "3.3": "vs2010", "3.4": "vs2010", "3.5": "vs2017", "3.6": "vs2022"},
        "cxx": {"2.7": "vs2008", "3.3": "vs2010", "3.4": "vs2010", "3.5": "vs2017", "3.6": "vs2022"},
        "vc": {"2.7": "9", "3.3": "10", "3.4": "10", "3.5": "14", "3.6": "17"},
        "fortran": "gfortran",
    },
    "linux": {"c": "gcc", "cxx": "gxx", "fortran": "gfortran"},
    "osx": {"c": "clang", "cxx": "clangxx", "fortran": "gfortran"},
}
# conda-build utils.spec_needing_star_re
_SPEC_NEEDING_STAR = re.compile(r"([\w\d\.\-\_]+)\s+((?<![><=])[\w\d\.\-\_]+?(?!\*))(\s+[\w\d\.\_]+)?$")
PIN_MARK = "@@NEWARCH_PIN_"
_PIN_RE = re.compile(r"@@NEWARCH_PIN_(\d+)@@")
_FOR_TAG = re.compile(r"\{%[-+]?\s*for\b")  # a For node needs this tag (no line statements)


def ensure_valid_spec(spec: str) -> str:
    """conda-build's ``ensure_valid_spec``: ``gcc_linux-64 15`` -> ``gcc_linux-64 15.*``."""
    match = _SPEC_NEEDING_STAR.match(spec)
    if match and not match.group(3):
        if match.group(1) in ("python", "numpy") and match.group(2) == "x.x":
            return _SPEC_NEEDING_STAR.sub(r"\1 \2", spec)
        if "*" not in spec:
            return _SPEC_NEEDING_STAR.sub(r"\1 \2.*", spec)
    return spec


def _increment(part: str, alpha_next: bool) -> str:
    try:
        return str(int(part) + 1) + ("a" if alpha_next else ".0a0")
    except ValueError:
        return chr(ord(part[-1]) + 1) if part else part


def apply_pin_expressions(version: str, min_pin: str | None = "x.x.x.x.x.x.x", max_pin: str | None = "x") -> str:
    """conda-build's ``apply_pin_expressions`` for plain dotted versions (``1.2.3`` -> ``>=1.2.3,<2.0a0``)."""
    flat = [p for p in re.split(r"[._-]", version.rstrip("*").rstrip(".")) if p]
    if not flat:
        return ""
    pins = [len(p.split(".")) if p else None for p in (min_pin, max_pin)]
    if max_pin and len(max_pin.split(".")) > len(flat):
        pins[1] = len(flat)
    out = ["", ""]
    for idx, pin in enumerate(pins):
        if not pin:
            continue
        parts = flat[:pin]
        if idx == 1:
            alpha_next = str(flat[min(pin, len(flat) - 1)]).isalpha()
            parts = parts[:-1] + [_increment(parts[-1], alpha_next)]
        out[idx] = ".".join(parts)
    if out[0]:
        out[0] = ">=" + out[0]
    if out[1]:
        out[1] = "<" + out[1]
    return ",".join(x for x in out if x)


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


# ----------------------------------------------------------------------------- context


class _FixedDatetimeClass:
    """``datetime.datetime`` with ``now()``/``today()``/``utcnow()`` pinned to a fixed date."""

    def now(self, tz: Any = None) -> _dt.datetime:
        return FIXED_NOW

    today = utcnow = now

    def __call__(self, *args: Any) -> _dt.datetime:
        return _dt.datetime(*args)


class _FixedDateClass:
    def today(self) -> _dt.date:
        return FIXED_NOW.date()

    def __call__(self, *args: int) -> _dt.date:
        return _dt.date(*args)


class _FixedDatetimeModule:
    datetime = _FixedDatetimeClass()
    date = _FixedDateClass()
    timedelta = _dt.timedelta


_StructTime = time.struct_time  # the name ``time`` inside _FixedTimeModule is its method


class _FixedTimeModule:
    def time(self) -> float:
        return FIXED_NOW.timestamp()

    def strftime(self, fmt: str, t: Any = None) -> str:
        return FIXED_NOW.strftime(fmt)

    def gmtime(self, t: Any = None) -> _StructTime:
        return FIXED_NOW.timetuple()

    localtime = gmtime


@dataclass(slots=True)
class PinRequest:
    """A ``pin_subpackage`` call, resolved after all outputs' versions are known."""

    name: str
    min_pin: str | None
    max_pin: str | None
    exact: bool


@dataclass(slots=True)
class RenderContext:
    """What one variant's Jinja render needs and what it learns (pins, used names)."""

    host: str
    build: str
    variant: dict[str, str]
    env: dict[str, str]
    selectors: dict[str, Any]
    recipe_display: str = "recipe"
    switches: list[bool] = field(default_factory=list)  # selector outcomes for ``_newarch_sel``
    pins: list[PinRequest] = field(default_factory=list)
    pkg_name: str = ""
    pkg_version: str = ""
    pkg_buildnum: str = "0"
    # names conda-build reads from the fetched source (``GIT_DESCRIBE_TAG`` ...): stand-ins
    source_vars: dict[str, str] = field(default_factory=dict)

    # --- conda-build jinja functions -------------------------------------------------

    def _target(self, language: Any, component: str) -> str:
        language = str(language)
        platform = self.host.split("-")[0]
        prefix: Any = language
        if component == "compiler":
            prefix = DEFAULT_COMPILERS.get(platform, {}).get(language, language)
            if isinstance(prefix, dict):
                prefix = prefix.get(self.variant.get("python", "nope"), "vs2017")
        key = f"{language}_{component}"
        prefix = self.variant.get(key, prefix)
        version = self.variant.get(key + "_version")
        target_platform = self.variant.get("target_platform", self.host)
        package = f"{prefix}_{target_platform}"
        if version:
            package = ensure_valid_spec(f"{package} {version}")
        return package

    def compiler(self, language: Any, *args: Any, **kwargs: Any) -> str:
        return self._target(language, "compiler")

    def stdlib(self, language: Any, *args: Any, **kwargs: Any) -> str:
        return self._target(language, "stdlib")

    def cdt(self, package_name: Any, *args: Any, **kwargs: Any) -> str:
        arch = self.host.split("-", 1)[1] if "-" in self.host else self.host
        if arch == "64":
            cdt_arch, cdt_name = "x86_64", "cos6"
        elif arch == "32":
            cdt_arch, cdt_name = "i686", "cos6"
        else:
            cdt_arch, cdt_name = arch, "cos7"
        cdt_name = self.variant.get("cdt_name", cdt_name)
        cdt_arch = self.variant.get("cdt_arch", cdt_arch)
        text = str(package_name)
        if " " in text:
            name, *rest = text.split(" ")
            return f"{name}-{cdt_name}-{cdt_arch} " + " ".join(rest)
        return f"{text}-{cdt_name}-{cdt_arch}"

    def pin_subpackage(
        self,
        subpackage_name: Any,
        min_pin: Any = "x.x.x.x.x.x",
        max_pin: Any = "x",
        exact: Any = False,
        *args: Any,
        **kwargs: Any,
    ) -> str:
        self.pins.append(PinRequest(str(subpackage_name), _opt_str(min_pin), _opt_str(max_pin), bool(exact)))
        return f"{subpackage_name} {PIN_MARK}{len(self.pins) - 1}@@"

    def pin_compatible(
        self,
        package_name: Any,
        lower_bound: Any = None,
        upper_bound: Any = None,
        min_pin: Any = "x.x.x.x.x.x",
        max_pin: Any = "x",
        exact: Any = False,
        *args: Any,
        **kwargs: Any,
    ) -> str:
        """The installed host version is unknown without solving; use ``lower_bound`` or the variant value."""
        name = str(package_name)
        version = str(lower_bound) if lower_bound else self.variant.get(name.replace("-", "_"))
        if version:
            version = version.split(" ")[0]
        if exact:
            return f"{name} {version}" if version else name
        if upper_bound:
            lower = f">={version}," if version and (min_pin or lower_bound) else ""
            return f"{name} {lower}<{upper_bound}"
        if version and "*" not in version:
            comp = apply_pin_expressions(version, _opt_str(min_pin), _opt_str(max_pin))
            return f"{name} {comp}" if comp else name
        return name

    def context(self) -> dict[str, Any]:
        """The Jinja globals, layered like conda-build: selectors, get_dict, context_processor."""
        env_dict = self.environ_dict()
        ctx: dict[str, Any] = dict(self.selectors)
        ctx.update(env_dict)
        ctx["CONDA_BUILD_STATE"] = "RENDER"
        environ = dict(self.env)
        environ.update(env_dict)
        none = _return_none
        ctx.update(
            compiler=self.compiler,
            stdlib=self.stdlib,
            cdt=self.cdt,
            pin_subpackage=self.pin_subpackage,
            pin_compatible=self.pin_compatible,
            load_setup_py_data=_return_empty,
            load_setuptools=_return_empty,
            load_npm=_return_empty,
            load_file_regex=none,
            load_file_data=_return_empty,
            load_str_data=load_str_data,
            installed={},
            resolved_packages=_return_list,
            ccache=_ccache,
            time=_FixedTimeModule(),
            datetime=_FixedDatetimeModule(),
            environ=Environ(environ),
            os=OSModule(Environ(environ)),
            _newarch_sel=self.switches,
        )
        return ctx

    def environ_dict(self) -> dict[str, str]:
        """The string variables of conda-build's ``environ.get_dict`` (paths are placeholders)."""
        win = self.host.startswith("win-")
        root = "C:/b" if win else "/b"  # placeholder paths, plain YAML scalars on every platform
        prefix = f"{root}/h_env"
        py = self.variant.get("python") or "3.12"
        py_ver = ".".join(py.split(" ")[0].split(".")[:2]).rstrip(".*")
        npy = self.variant.get("numpy") or "1.26"
        arch = self.host.split("-", 1)[1] if "-" in self.host else ""
        d = {
            "CONDA_BUILD": "1",
            "PYTHONNOUSERSITE": "1",
            "ARCH": {"64": "64", "32": "32"}.get(arch, arch),
            "PREFIX": prefix,
            "BUILD_PREFIX": f"{root}/build_env",
            "SRC_DIR": f"{root}/work",
            "RECIPE_DIR": f"{root}/recipe",
            "CONDA_PY": str(py_int(py)),
            "PY3K": "1" if py_ver.startswith("3") else "0",
            "PY_VER": py_ver,
            "STDLIB_DIR": f"{prefix}/lib/python{py_ver}",
            "SP_DIR": f"{prefix}/lib/python{py_ver}/site-packages",
            "PYTHON": f"{prefix}/python.exe" if win else f"{prefix}/bin/python",
            "NPY_VER": ".".join(npy.split(".")[:2]),
            "CONDA_NPY": "".join(npy.split(".")[:2]),
            "NPY_DISTUTILS_APPEND_FLAGS": "1",
            "PERL_VER": self.variant.get("perl", "5.26.2"),
            "LUA_VER": self.variant.get("lua", "5"),
            "R_VER": self.variant.get("r_base", "3.5"),
            "PKG_NAME": self.pkg_name,
            "PKG_VERSION": self.pkg_version,
            "PKG_BUILDNUM": self.pkg_buildnum,
            "PKG_BUILD_STRING": "placeholder",
            "PKG_HASH": "1234567",
            "CPU_COUNT": "2",
            "SHLIB_EXT": ".dll" if win else ".dylib" if self.host.startswith("osx-") else ".so",
            "target_platform": self.host,
            "build_platform": self.build,
            "HOST": self.host,
        }
        if self.host.startswith("osx-"):
            d.update(osx_vars(self.host, self.variant, self.env))
        if win:
            d.update(
                LIBRARY_PREFIX=f"{prefix}/Library",
                LIBRARY_BIN=f"{prefix}/Library/bin",
                LIBRARY_INC=f"{prefix}/Library/include",
                LIBRARY_LIB=f"{prefix}/Library/lib",
                SCRIPTS=f"{prefix}/Scripts",
            )
        d.update(self.source_vars)
        d.update(self.variant)
        return d


def osx_vars(host: str, variant: Mapping[str, str], env: Mapping[str, str]) -> dict[str, str]:
    """conda-build's ``environ.osx_vars`` for an osx host: ``OSX_ARCH``, ``MACOSX_DEPLOYMENT_TARGET``, ``BUILD``.

    Each comes from the environment, else the variant (``set_from_os_or_variant``), else
    conda-build's default (10.9 on x86_64, 11.0 on arm64). conda-forge's CI variant files carry
    ``MACOSX_DEPLOYMENT_TARGET`` equal to ``c_stdlib_version`` (conda-smithy writes both); the
    channel pinning has only ``c_stdlib_version``, so that is read before the default.
    """
    arm = host.endswith("-arm64")
    arch = "arm64" if arm else "x86_64"
    default_target = "11.0" if arm else "10.9"
    target = env.get("MACOSX_DEPLOYMENT_TARGET") or variant.get("MACOSX_DEPLOYMENT_TARGET")
    target = target or variant.get("c_stdlib_version") or default_target
    build = env.get("BUILD") or variant.get("BUILD") or f"{arch}-apple-darwin{'20.0.0' if arm else '13.4.0'}"
    return {
        "OSX_ARCH": env.get("OSX_ARCH") or variant.get("OSX_ARCH") or arch,
        "MACOSX_DEPLOYMENT_TARGET": str(target),
        "BUILD": build,
    }


# conda-build's ``environ.get_git_info`` names: defined from the git checkout of the first source,
# which conda-build fetches before rendering when the recipe mentions one of them
# (``MetaData.uses_vcs_in_meta``). newarch never fetches sources: these stand-ins keep the shape.
GIT_SOURCE_VARS: dict[str, str] = {
    "GIT_DESCRIBE_TAG": "v0.0.0",
    "GIT_DESCRIBE_NUMBER": "0",
    "GIT_DESCRIBE_HASH": "g0000000",
    "GIT_DESCRIBE_TAG_PEP440": "0.0.0",
    "GIT_FULL_HASH": "0" * 40,
    "GIT_BUILD_STR": "0_g0000000",
}
_GIT_VAR_RE = re.compile(r"\b(" + "|".join(GIT_SOURCE_VARS) + r")\b")


_GIT_URL_RE = re.compile(r"^\s*(?:-\s+)?git_url\s*:", re.M)


def git_source_vars(raw: str) -> dict[str, str]:
    """Stand-ins for the ``GIT_*`` names when ``raw`` mentions one and has a ``git_url`` source.

    conda-build defines them only from a git checkout (``meta_vars``: the first source's
    ``git_url``); without one ``environ.get('GIT_DESCRIBE_TAG', '1.0')`` gives ``'1.0'``.
    """
    if "GIT_" not in raw or not _GIT_VAR_RE.search(raw) or not _GIT_URL_RE.search(raw):
        return {}
    return dict(GIT_SOURCE_VARS)


def _opt_str(v: Any) -> str | None:
    if v is None or isinstance(v, jinja2.Undefined) or v is False:
        return None
    return str(v)


def _return_none(*args: Any, **kwargs: Any) -> None:
    return None


def _return_empty(*args: Any, **kwargs: Any) -> dict[str, Any]:
    return {}


def _return_list(*args: Any, **kwargs: Any) -> list[str]:
    return []


def _ccache(*args: Any, **kwargs: Any) -> str:
    return "ccache"


def load_str_data(string: Any, fmt: Any, *args: Any, **kwargs: Any) -> Any:
    """Parse a string that is in the recipe itself (json / toml / yaml, safe loaders only)."""
    text = str(string)
    if len(text) > MAX_VALUE_CHARS:
        raise RenderError("load_str_data: string too large", _budget().file)
    kind = str(fmt).lower()
    try:
        if kind == "json":
            return json.loads(text)
        if kind == "toml":
            return tomllib.loads(text)
        if kind in ("yaml", "yml"):
            from ruamel.yaml import YAML

            data = YAML(typ="safe", pure=True).load(text)
            if "&" in text and too_large(data, MAX_VALUE_CHARS):  # aliases share parts: never expand a bomb
                raise RenderError("load_str_data: YAML aliases expand beyond the size limit", _budget().file)
            return data
    except RenderError:
        raise
    except Exception as exc:  # parse errors of recipe-provided data
        raise RenderError(f"load_str_data: cannot parse {kind}: {type(exc).__name__}", _budget().file) from None
    raise RenderError(f"load_str_data: unknown format {fmt!r}", _budget().file)


def resolve_pins(text: str, pins: list[PinRequest], versions: Mapping[str, str]) -> str:
    """Replace ``pin_subpackage`` markers in a rendered spec with the pin conda-build would write."""
    if PIN_MARK not in text:
        return text

    def sub(m: re.Match[str]) -> str:
        idx = int(m.group(1))
        if idx >= len(pins):
            return ""
        pin = pins[idx]
        version = versions.get(pin.name, "")
        if not version:
            return ""
        if pin.exact:
            return f"{version} *"
        return apply_pin_expressions(version, pin.min_pin, pin.max_pin)

    return " ".join(_PIN_RE.sub(sub, text).split())
