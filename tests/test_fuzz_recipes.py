"""Robustness: hostile and random recipes, random graphs, random node_attrs.

Properties checked on every example (bounded: ``max_examples`` and a wall-clock limit each):
- nothing crashes: renderers report a bad recipe as ``RenderResult.error`` ("file:line: reason"),
  the planner and the node_attrs reader raise nothing but NewarchError;
- nothing hangs (an example over the time limit fails the test);
- no recipe code runs and no file outside the recipe is touched: ``open``, writes and process starts
  outside a render's own work directory fail the test (``fsguard.py``), the working and temporary
  directories must stay empty, and recipes that try to create a sentinel file leave none behind.
"""

from __future__ import annotations

import json
import os
import re
import signal
from contextlib import contextmanager

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fsguard import guard, plant
from newarch.errors import NewarchError
from newarch.model import Feedstock, Output, PlatformPair, RenderResult, Requirement
from newarch.render.pinning import Variants
from newarch.render import default_env, render_source
from newarch.store.snapshot import Snapshot
from newarch.sources.recipes import RecipeSource

PAIR = PlatformPair("win-arm64", "win-64")
PINNING = Variants(
    values={
        "python": ["3.14.* *_cp314"],
        "c_compiler": ["vs2022"],
        "cxx_compiler": ["vs2022"],
        "c_stdlib": ["vs"],
        "c_stdlib_version": ["2022.14"],
        "vc": ["14"],
        "python_min": ["3.10"],
        "target_platform": ["win-arm64"],
        "cuda_compiler_version": ["None"],
    },
    zip_keys=[],
)
TIME_LIMIT = 10.0  # seconds per example; rendering a short recipe takes milliseconds
# bounded for CI; NEWARCH_FUZZ_EXAMPLES=2000 for a deeper local run
FUZZ = settings(
    max_examples=int(os.environ.get("NEWARCH_FUZZ_EXAMPLES", "100")),
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
ERROR_RE = re.compile(r"^fuzz/recipe/(meta|recipe)\.yaml(:(?P<line>\d+))?: \S")


class Hang(BaseException):
    """Not an Exception: no ``except Exception`` in a renderer can swallow it."""


@contextmanager
def time_limit(seconds: float = TIME_LIMIT):
    def fire(signum, frame):
        raise Hang(f"example took longer than {seconds} s")

    old = signal.signal(signal.SIGALRM, fire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)


@pytest.fixture
def guarded(tmp_path):
    """Any file opened or written, or process started, outside a render's own work directory fails the
    test (fsguard.py); the cwd is an empty folder that must stay empty."""
    with guard(tmp_path) as g:
        yield g


@pytest.fixture
def no_exec(guarded):
    return guarded.cwd


def source(text: str, schema: str = "v0") -> RecipeSource:
    fname = "meta.yaml" if schema == "v0" else "recipe.yaml"
    return RecipeSource(name="fuzz", origin="<fuzz>", kind="directory", files={fname: text.encode()})


def render(text: str, schema: str = "v0") -> RenderResult:
    with time_limit():
        result = render_source(source(text, schema), PAIR, PINNING, default_env(PAIR))
    assert isinstance(result, RenderResult)
    if result.error:
        assert ERROR_RE.match(result.error), f"error does not name the recipe file: {result.error!r}"
        assert "cannot render (" not in result.error, f"renderer crashed (bug) on:\n{text}\n-> {result.error}"
    return result


def rejected(result: RenderResult, *needles: str) -> None:
    assert result.error, "a hostile recipe rendered without error"
    m = ERROR_RE.match(result.error)
    assert m and m.group("line"), f"no line number in {result.error!r}"
    assert any(n in result.error for n in needles), f"unclear error: {result.error!r}"


# -- the two explicit cases of the issue ---------------------------------------------------------


def test_jinja_mro_escape_is_rejected_and_has_no_effect(no_exec):
    sentinel = no_exec.parent / "X"
    text = (
        "package:\n  name: evil\n  version: 1.0\n"
        "requirements:\n  host:\n"
        "    - {{ ''.__class__.__mro__[1].__subclasses__() }}\n"
        f"    - {{{{ cycler.__init__.__globals__.os.system('touch {sentinel}') }}}}\n"
    )
    result = render(text)
    rejected(result, "__class__", "__mro__", "unsafe", "not allowed", "forbidden")
    assert int(ERROR_RE.match(result.error).group("line")) == 6
    assert not sentinel.exists()


def test_import_selector_is_rejected_and_has_no_effect(no_exec):
    sentinel = no_exec.parent / "X"
    text = (
        "package:\n  name: evil\n  version: 1.0\n"
        "requirements:\n  host:\n"
        "    - zlib  # [win]\n"
        f"    - python  # [__import__('os').system('touch {sentinel}')]\n"
    )
    result = render(text)
    rejected(result, "__import__", "unsafe", "not allowed", "forbidden")
    assert int(ERROR_RE.match(result.error).group("line")) == 7
    assert not sentinel.exists()


# (snippet, what it must give): an error naming the file and line that contains the text, or the exact
# host requirements when a stand-in answers (``load_file_regex`` is None, never a file's content)
HOSTILE = [
    ("{{ ''.__class__.__base__.__subclasses__() }}", "attribute '__class__' of a str is not allowed"),
    ("{{ lipsum.__globals__['os'].popen('touch X').read() }}", "attribute '__globals__' of a function is not allowed"),
    (
        "{{ self._TemplateReference__context.cycler.__init__.__globals__.os.system('touch X') }}",
        "attribute '_TemplateReference__context' of a TemplateReference is not allowed",
    ),
    (
        "{{ namespace.__init__.__globals__['__builtins__']['__import__']('os').system('touch X') }}",
        "attribute '__init__' of a type is not allowed",
    ),
    ("{{ ''|attr('__class__')|attr('__mro__') }}", "attribute '__class__' of a str is not allowed"),
    ("{{ environ.__class__.__init__.__globals__ }}", "attribute '__class__' of a Environ is not allowed"),
    ("{{ os.system('touch X') }}", "has no attribute 'system'"),
    ("{{ load_file_regex(load_file='/etc/passwd', regex_pattern='root') }}", ["None"]),
    ("{{ 'stub' if load_file_regex(load_file='secret.txt', regex_pattern='(.*)') is none else 'read' }}", ["stub"]),
    ("{{ load_file_data('secret.txt')|length }}", ["0"]),
    ("{{ 'a' * 10**10 }}", "Jinja '*' result too large"),
    ("{% for i in range(10**12) %}{{ i }}{% endfor %}", "integer argument larger than 1000000"),
    ("{% macro f(n) %}{{ f(n) }}{% endmacro %}{{ f(1) }}", "Jinja recursion too deep"),
    # a plain {% set %} in a loop does not leak out of it: the value stays as it was
    ("{% set s = 'aaaaaaaaaa' %}{% for i in range(60) %}{% set s = s ~ s %}{% endfor %}{{ s }}", ["aaaaaaaaaa"]),
    (
        "{% set ns = namespace(s='aaaaaaaaaa') %}{% for i in range(60) %}{% set ns.s = ns.s ~ ns.s %}{% endfor %}"
        "{{ ns.s }}",
        "Jinja value grows beyond the size limit",
    ),
    ("{{ [['a' * 1000] * 1000] * 1000 }}", "Jinja '*' result too large"),
    (
        "{% set a = ['x' * 100] * 1000 %}{% set b = [a, a, a, a] %}{% set c = [b, b, b, b] %}{{ [c, c, c] }}",
        "Jinja value grows beyond the size limit",
    ),
    ("{% set a = ['x' * 100] * 1000 %}{{ [a, a, a, a, a, a, a, a, a, a, a]|join(',') }}", "size limit"),
    ("{% set a = [1] %}{% for i in range(40) %}{{ a.extend(a) }}{% endfor %}", "size limit"),
    ("{{ ('a' * 1000000).replace('a', 'b' * 1000) }}", "replace() result too large"),
    ("{{ ('a' * 1000)|replace('a', 'b' * 2000) }}", "replace result too large"),
    ("{{ ('\\n' * 900000)|indent(1000) }}", "indent result too large"),
    ("{{ ('\\t' * 900000).expandtabs(1000) }}", "expandtabs() result too large"),
    ("{{ lipsum(100000) }}", "lipsum() arguments too large"),
    ("{{ '{0.__class__.__mro__}'.format('') }}", "attribute '__class__' of a str is not allowed"),
    ("{{ ('%s' % ''.__class__) }}", "attribute '__class__' of a str is not allowed"),
    ("{{ load_str_data('[1, 2]', 'json')|length }}", ["2"]),
]


@pytest.mark.parametrize("snippet, expected", HOSTILE, ids=[str(i) for i in range(len(HOSTILE))])
def test_hostile_jinja_is_contained(no_exec, guarded, snippet, expected):
    plant(guarded, "secret.txt", "name: leaked\n")  # bait in the working directory: never read
    text = f"package:\n  name: evil\n  version: 1.0\nrequirements:\n  host:\n    - {snippet}\n"
    result = render(text)
    if isinstance(expected, str):
        assert result.error and expected in result.error, result.error
        line = ERROR_RE.match(result.error).group("line")
        assert line == "6" or (line is None and "recursion" in expected), result.error
    else:
        assert not result.error, result.error
        (out,) = result.outputs
        assert [r.spec for r in out.reqs("host")] == expected
    assert not (no_exec / "X").exists()


@pytest.mark.parametrize(
    "selector",
    [
        "__import__('os').system('touch X')",
        "open('X', 'w')",
        "os.system('touch X')",
        "win.__class__.__mro__",
        "environ.__class__",
        "os.environ.__class__.__init__.__globals__",
        "(lambda: 1)()",
        "eval('1')",
        "getattr(os, 'system')('touch X')",
        "[x for x in ().__class__.__bases__]",
        "9" * 5000,
        "2 ** 2 ** 2 ** 2 ** 2 ** 2",
        "(" * 3000 + "win" + ")" * 3000,
        "not " * 3000 + "win",
        "'a' * 10**10",
        "py > 3" + " and win" * 3000,
    ],
)
def test_hostile_selectors_are_contained(no_exec, selector):
    text = f"package:\n  name: evil\n  version: 1.0\nrequirements:\n  host:\n    - zlib  # [{selector}]\n"
    result = render(text)
    rejected(result, "invalid selector", "selector longer than")
    assert int(ERROR_RE.match(result.error).group("line")) == 6
    assert not (no_exec / "X").exists()


def alias_bomb(indent: str = "  ") -> list[str]:
    """Nine levels of ten aliases each, in block style (a flow list at a line's end reads as a selector)."""
    lines = [f"{indent}a0: &a0"] + [f"{indent}  - lol"] * 10
    for i in range(1, 9):
        lines += [f"{indent}a{i}: &a{i}"] + [f"{indent}  - *a{i - 1}"] * 10
    return lines


def test_yaml_alias_bomb_is_contained(no_exec):
    text = "package:\n  name: bomb\n  version: 1.0\nrequirements:\n" + "\n".join(alias_bomb()) + "\n  host: *a8\n"
    result = render(text)
    assert result.error == "fuzz/recipe/meta.yaml: YAML aliases expand to more than 4000000 items"


def test_yaml_alias_bomb_in_load_str_data_is_contained(no_exec):
    bomb = "\\n".join(alias_bomb(""))
    text = (
        f"{{% set d = load_str_data('{bomb}', 'yaml') %}}\n"
        "package:\n  name: bomb\n  version: 1.0\nabout:\n  summary: {{ d }}\n"
    )
    result = render(text)
    assert result.error == "fuzz/recipe/meta.yaml:1: load_str_data: YAML aliases expand beyond the size limit"


def test_python_object_tags_are_not_constructed(no_exec):
    text = (
        "package:\n  name: tags\n  version: 1.0\nrequirements:\n  host:\n"
        "    - !!python/object/apply:os.system ['touch X']\n"
    )
    render(text)


# -- random selectors ------------------------------------------------------------------------------

NAMES = [
    "win",
    "linux",
    "osx",
    "unix",
    "arm64",
    "x86_64",
    "aarch64",
    "win64",
    "py",
    "np",
    "py3k",
    "target_platform",
    "build_platform",
    "vc",
    "cuda_compiler_version",
    "python_min",
    "environ",
    "os",
    "__import__",
    "__builtins__",
    "__class__",
    "eval",
    "exec",
    "open",
    "getattr",
    "globals",
    "self",
    "lambda",
    "undefined_name",
    "True",
    "None",
]
ATTRS = [
    "__class__",
    "__mro__",
    "__subclasses__",
    "__globals__",
    "__init__",
    "__dict__",
    "system",
    "startswith",
    "endswith",
    "get",
    "lower",
    "format",
    "environ",
    "getenv",
    "split",
]
literals = st.one_of(
    st.integers(min_value=-(10**6), max_value=10**6).map(str),
    st.integers(min_value=1, max_value=4000).map(lambda n: "9" * n),
    st.text(alphabet="abcxyz-_.0123 %{}", max_size=12).map(repr),
    st.floats(allow_nan=False, allow_infinity=False, width=32).map(repr),
    st.sampled_from(NAMES),
)


def _compose(children: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    return st.one_of(
        children.map(lambda a: f"({a})"),
        children.map(lambda a: f"not {a}"),
        st.tuples(
            children,
            st.sampled_from(
                ["and", "or", "==", "!=", "<", ">=", "in", "not in", "is", "+", "-", "*", "**", "/", "//", "%"]
            ),
            children,
        ).map(lambda t: f"{t[0]} {t[1]} {t[2]}"),
        st.tuples(children, st.sampled_from(ATTRS)).map(lambda t: f"{t[0]}.{t[1]}"),
        st.tuples(children, st.lists(children, max_size=3)).map(lambda t: f"{t[0]}({', '.join(t[1])})"),
        st.tuples(children, children).map(lambda t: f"{t[0]}[{t[1]}]"),
        st.lists(children, max_size=3).map(lambda xs: "[" + ", ".join(xs) + "]"),
        st.tuples(children, children, children).map(lambda t: f"{t[0]} if {t[1]} else {t[2]}"),
        children.map(lambda a: f"lambda: {a}"),
    )


selector_exprs = st.one_of(
    st.recursive(literals, _compose, max_leaves=12),
    st.tuples(st.integers(1, 4000), st.sampled_from(["(", "not ", "-", "[", "(1,"])).map(
        lambda t: t[1] * t[0] + "win" + {"(": ")", "[": "]", "(1,": ")"}.get(t[1], "") * t[0]
    ),
)


@FUZZ
@given(expr=selector_exprs)
def test_random_selectors_in_a_recipe(no_exec, expr):
    expr = expr.replace("\n", " ").replace("]", ")")  # a selector ends at the first ']'
    text = (
        f"package:\n  name: sel\n  version: 1.0\nrequirements:\n  host:\n    - zlib  # [{expr}]\n    - bzip2  # [win]\n"
    )
    result = render(text)
    if result.error:
        assert ERROR_RE.match(result.error).group("line"), result.error


@FUZZ
@given(expr=st.recursive(literals, _compose, max_leaves=16))
def test_random_selectors_direct(no_exec, expr):
    from newarch.render import selector_namespace, selectors

    ns = selector_namespace.selector_namespace(
        "win-arm64", "win-64", {"python": "3.14.* *_cp314", "vc": "14"}, {"CI": "true"}
    )
    with time_limit():
        try:
            value = selectors.evaluate(expr, ns, "fuzz/recipe/meta.yaml", 12)
        except NewarchError as exc:
            assert exc.file == "fuzz/recipe/meta.yaml" and exc.line == 12, repr(exc)
            return
    # plain values, or the evaluator's own safe stand-ins (the namespace's ``os``/``environ`` objects,
    # bound methods of them): never a real Python module, function or class
    assert (
        value is None
        or isinstance(value, (bool, int, float, str, tuple, list))
        or type(value).__module__ in (selectors.__name__, selector_namespace.__name__)
    ), type(value)


# -- random Jinja ---------------------------------------------------------------------------------

JINJA_ATOMS = [
    "version",
    "name",
    "PYTHON",
    "py",
    "target_platform",
    "environ",
    "os",
    "self",
    "cycler",
    "lipsum",
    "namespace",
    "joiner",
    "config",
    "''",
    "[]",
    "1",
    "10**9",
    "'x' * 1000",
    "compiler('c')",
    "stdlib('c')",
    "pin_subpackage('x', exact=True)",
    "pin_compatible('y')",
    "load_setup_py_data()",
    "load_file_regex(load_file='../../../etc/passwd', regex_pattern='.')",
    "environ.get('HOME')",
    "os.environ.get('CI', 'no')",
    "range(10**9)",
    "datetime",
]
JINJA_SUFFIXES = [
    "",
    ".__class__",
    ".__mro__",
    ".__globals__",
    ".__init__",
    "|attr('__class__')",
    "|length",
    "|upper",
    "|list",
    "|join(',')",
    ".split('.')",
    "[0]",
    "()",
    "|format('a')",
    "|int",
    "|string",
]
jinja_exprs = st.recursive(
    st.tuples(st.sampled_from(JINJA_ATOMS), st.sampled_from(JINJA_SUFFIXES)).map("".join),
    lambda c: st.one_of(
        st.tuples(c, st.sampled_from([" ~ ", " + ", " * ", " if 1 else "]), c).map("".join), c.map(lambda a: f"({a})")
    ),
    max_leaves=6,
)
jinja_blocks = st.one_of(
    jinja_exprs.map(lambda e: f"{{{{ {e} }}}}"),
    jinja_exprs.map(lambda e: f"{{% set v = {e} %}}{{{{ v }}}}"),
    jinja_exprs.map(lambda e: f"{{% for i in {e} %}}{{{{ i }}}}{{% endfor %}}"),
    jinja_exprs.map(lambda e: f"{{% if {e} %}}yes{{% else %}}no{{% endif %}}"),
    st.sampled_from(["{{", "{%", "%}", "}}", "{% endfor %}", "{% raw %}", "{# #", "{{ }}"]),
)


@FUZZ
@given(blocks=st.lists(jinja_blocks, min_size=1, max_size=4))
def test_random_jinja_in_a_recipe(no_exec, blocks):
    body = "".join(f"    - dep{i}-{b}\n" for i, b in enumerate(blocks))
    text = (
        "{% set name = 'jfuzz' %}{% set version = '1.2.3' %}\n"
        "package:\n  name: {{ name }}\n  version: {{ version }}\nrequirements:\n  host:\n" + body
    )
    render(text)


@FUZZ
@given(blocks=st.lists(jinja_blocks, min_size=1, max_size=4))
def test_random_jinja_direct(no_exec, blocks):
    """The Jinja layer alone: a string, or a NewarchError naming the file."""
    from newarch.render import jinja_sandbox

    text = "\n".join(blocks)
    with time_limit():
        try:
            out = jinja_sandbox.render_template(text, {"version": "1.2.3", "name": "jfuzz"}, "fuzz/recipe/meta.yaml")
        except NewarchError as exc:
            assert exc.file == "fuzz/recipe/meta.yaml", repr(exc)
            return
    assert isinstance(out, str)


# -- random mutations of real-shaped recipes ------------------------------------------------------

BASE_V0 = """\
{% set name = "splitlib" %}
{% set version = "2.3.1" %}
{% set libs = ["libsplit", "libsplit-extra"] %}

package:
  name: {{ name }}-split
  version: {{ version }}

build:
  number: 0
  skip: true  # [py<310]

outputs:
{% for lib in libs %}
  - name: {{ lib }}
    build:
      run_exports:
        - {{ pin_subpackage(lib, max_pin='x.x') }}
    requirements:
      build:
        - {{ compiler('c') }}
        - {{ stdlib('c') }}
        - cmake  # [win]
        - make  # [unix]
      host:
        - zlib
        - libcurl >=8  # [not (win and arm64)]
{% endfor %}
  - name: py{{ name }}
    build:
      noarch: python  # [not win]
    requirements:
      build:
        - python  # [build_platform != target_platform]
        - cross-python_{{ target_platform }}  # [build_platform != target_platform]
      host:
        - python
        - pip
        - {{ pin_subpackage('libsplit', exact=True) }}
      run:
        - python
        - {{ pin_subpackage('libsplit', exact=True) }}
"""

BASE_V1 = """\
schema_version: 1

context:
  name: splitv1
  version: "1.8.2"

recipe:
  name: ${{ name }}
  version: ${{ version }}

outputs:
  - package:
      name: lib${{ name }}
    requirements:
      build:
        - ${{ compiler('c') }}
        - ${{ stdlib('c') }}
        - if: win
          then: cmake
          else: make
      host:
        - zlib
      run_exports:
        - ${{ pin_subpackage('lib' ~ name, upper_bound='x.x') }}
  - package:
      name: py${{ name }}
    requirements:
      host:
        - python
        - ${{ pin_subpackage('lib' ~ name, exact=True) }}
      run:
        - python
"""

SNIPPETS = [
    "{{",
    "}}",
    "{%",
    "%}",
    "{% endfor %}",
    "# [win]",
    "# [__import__('os').system('touch X')]",
    "# [",
    "]",
    ": ",
    "- ",
    "\t",
    "  ",
    "&a",
    "*a",
    "<<: *a",
    "!!python/object/apply:os.system [x]",
    "{{ ''.__class__.__mro__ }}",
    "${{ ''.__class__ }}",
    "${{ env.get('HOME') }}",
    "if: ",
    "then: ",
    "'",
    '"',
    "\\",
    "\x00",
    "\u202e",
    "{{ 'a' * 10**9 }}",
    "{% for i in range(10**9) %}",
    "---",
    "...",
    "outputs:",
    "requirements:",
    "- name: x",
    "${{",
    "${{ compiler('fortran') }}",
    "9" * 400,
]

mutation = st.tuples(
    st.sampled_from(["delete", "duplicate", "swap", "insert", "indent", "dedent", "truncate", "replace"]),
    st.integers(min_value=0, max_value=10_000),
    st.integers(min_value=0, max_value=10_000),
    st.sampled_from(SNIPPETS),
)


def mutate(text: str, ops: list[tuple[str, int, int, str]]) -> str:
    lines = text.splitlines()
    for op, i, j, snippet in ops:
        if not lines:
            lines = [snippet]
            continue
        a, b = i % len(lines), j % len(lines)
        if op == "delete":
            del lines[a]
        elif op == "duplicate":
            lines.insert(a, lines[a])
        elif op == "swap":
            lines[a], lines[b] = lines[b], lines[a]
        elif op == "insert":
            col = j % (len(lines[a]) + 1)
            lines[a] = lines[a][:col] + snippet + lines[a][col:]
        elif op == "indent":
            lines[a] = " " * (1 + j % 5) + lines[a]
        elif op == "dedent":
            lines[a] = lines[a].lstrip()
        elif op == "truncate":
            lines = lines[: a + 1]
            lines[-1] = lines[-1][: j % (len(lines[-1]) + 1)]
        elif op == "replace":
            lines[a] = snippet
    return "\n".join(lines) + "\n"


@FUZZ
@given(ops=st.lists(mutation, min_size=1, max_size=6))
def test_mutated_v0_recipe(no_exec, ops):
    render(mutate(BASE_V0, ops))


@FUZZ
@given(ops=st.lists(mutation, min_size=1, max_size=6))
def test_mutated_v1_recipe(no_exec, ops):
    render(mutate(BASE_V1, ops), schema="v1")


def test_unmutated_bases_render():
    """The mutation bases are valid recipes (so the mutations test the renderers, not a broken base)."""
    assert render(BASE_V1, schema="v1").ok
    res = render(BASE_V0)
    assert res.ok, res.error
    assert {o.name for o in res.outputs} >= {"libsplit", "libsplit-extra", "pysplitlib"}


# -- random graphs with cycles for the planner ---------------------------------------------------

POOL = [f"n{i}" for i in range(14)] + ["python", "zlib", "missing-lib", "__win"]


output_specs = st.tuples(
    st.sampled_from(POOL[:16]),
    st.lists(st.tuples(st.sampled_from(("build", "host", "run", "run_exports")), st.sampled_from(POOL)), max_size=8),
    st.sampled_from(["", "", "", "python", "generic"]),
    st.sampled_from([False, False, False, True]),
)


@st.composite
def snapshots(draw):
    """Random feedstocks over a small name pool: shared output names, self-loops, cycles, unknown names,
    noarch and skipped outputs, failed renders."""
    snap = Snapshot(date="2026-11-24", pairs=[PAIR, PlatformPair("win-64", "win-64")])
    feedstocks = draw(
        st.lists(
            st.tuples(
                st.sampled_from(POOL[:14] + [f"f{i}" for i in range(8)]),
                st.lists(output_specs, min_size=1, max_size=3),
                st.integers(0, 20),
            ),
            min_size=1,
            max_size=16,
        )
    )
    for fname, specs, fail in feedstocks:
        if fname in snap.feedstocks:
            continue
        outs = []
        for name, deps, noarch, skip in specs:
            reqs = {sec: tuple(Requirement(d, d) for s2, d in deps if s2 == sec) for sec in ("build", "host", "run")}
            outs.append(
                Output(
                    name=name,
                    noarch=noarch,
                    skip=skip,
                    requirements=reqs,
                    run_exports={"weak": tuple(d for s2, d in deps if s2 == "run_exports")},
                )
            )
        fs = Feedstock(name=fname)
        for pair in snap.pairs:
            error = "fuzz/recipe/meta.yaml:3: boom" if fail == 0 and pair == PAIR else ""
            fs.renders[pair.key] = RenderResult(pair=pair, outputs=[] if error else list(outs), error=error)
        snap.feedstocks[fname] = fs
    return snap


@FUZZ
@given(
    snap=snapshots(),
    targets=st.lists(st.sampled_from(POOL), min_size=1, max_size=4, unique=True),
    mode=st.sampled_from(["auto", "cross", "native"]),
    available=st.sets(st.sampled_from(POOL), max_size=3),
    ignore=st.sets(st.sampled_from(POOL), max_size=2),
)
def test_random_graphs_plan(no_exec, snap, targets, mode, available, ignore):
    from newarch.plan import planner as plan_mod

    opts = plan_mod.PlanOptions(
        targets=targets,
        platform="win-arm64",
        build_platform="win-64",
        mode=mode,
        available=set(available),
        ignore=set(ignore),
    )
    with time_limit():
        try:
            plan = plan_mod.make_plan(snap, opts)
        except NewarchError:
            return
        doc = plan.to_json()
    json.dumps(doc)
    fs = {f["name"]: f for f in doc["feedstocks"]}
    in_cycle = {m: i for i, c in enumerate(doc["cycles"]) for m in c}
    for f in fs.values():
        assert set(f["needs"]) <= set(fs), f
        for n in f["needs"]:
            if in_cycle.get(n) is not None and in_cycle.get(n) == in_cycle.get(f["name"]):
                assert fs[n]["wave"] == f["wave"]
            else:
                assert fs[n]["wave"] < f["wave"], (n, f)
        if f["why"]:
            assert f["why"][-1] == f["name"]
    for c in doc["cycles"]:
        assert set(c) <= set(fs)


# -- random node_attrs -----------------------------------------------------------------------------

json_values = st.recursive(
    st.one_of(
        st.none(),
        st.booleans(),
        st.integers(-(10**20), 10**20),
        st.text(max_size=8),
        st.sampled_from(["c_compiler_stub", "python >=3.10", "noarch", "true", "win_64"]),
    ),
    lambda c: st.one_of(
        st.lists(c, max_size=4),
        st.dictionaries(
            st.sampled_from(
                [
                    "name",
                    "outputs",
                    "requirements",
                    "build",
                    "host",
                    "run",
                    "run_exports",
                    "skip",
                    "noarch",
                    "package",
                    "version",
                    "__set__",
                    "elements",
                    "run_constrained",
                    "by_name",
                    "ignore_run_exports",
                    "weak",
                    "strong",
                ]
            ),
            c,
            max_size=5,
        ),
    ),
    max_leaves=20,
)


@FUZZ
@given(
    doc=st.dictionaries(
        st.sampled_from(
            [
                "feedstock_name",
                "platforms",
                "meta_yaml",
                "win_64_meta_yaml",
                "linux_64_meta_yaml",
                "win_arm64_meta_yaml",
                "conda-forge.yml",
                "parsing_error",
                "feedstock_hash_ts",
                "archived",
                "outputs_names",
            ]
        ),
        json_values,
        max_size=8,
    )
)
def test_random_node_attrs(no_exec, doc):
    from newarch.render.node_attrs import feedstock_from_node_attrs, parse_node_attrs

    doc.setdefault("feedstock_name", "rnd")
    text = json.dumps(doc)
    with time_limit():
        try:
            data = parse_node_attrs(text, "rnd.json")
            fs = feedstock_from_node_attrs(data, "rnd.json", [PAIR], {PAIR.key: {"c_compiler": ["vs2022"]}})
        except NewarchError as exc:
            assert exc.file == "rnd.json"
            return
    Feedstock.from_dict(json.loads(json.dumps(fs.to_dict())))  # serializable and loads back
