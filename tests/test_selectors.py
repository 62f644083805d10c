"""The v0 selector language: namespace as conda-build builds it, and safety of the evaluator."""

from __future__ import annotations

import contextlib
import os
import re
import time

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from newarch.errors import RenderError, UnsafeRecipeError
from newarch.lint.text import comment_selector
from newarch.render.selector_scan import split_line
from newarch.render.selectors import (
    UnknownSelectorName,
    evaluate,
    is_true,
    names_in,
    unknown_names,
)
from newarch.render.selector_namespace import selector_namespace

PY314 = {
    "python": "3.14.* *_cp314",
    "vc": "14",
    "target_platform": "win-arm64",
    "numpy": "2",
    "cuda_compiler_version": "None",
    "is_abi3": "true",
}


def ns_for(host: str, build: str | None = None, **variant: str) -> dict:
    v = dict(PY314)
    v["target_platform"] = host
    v.update(variant)
    return selector_namespace(host, build or host, v, {"CI": "true"})


@pytest.mark.parametrize(
    ("host", "true", "false"),
    [
        (
            "win-arm64",
            ["win", "arm64", "not unix", "not x86_64", "not win64", "not x86"],
            ["linux", "osx", "aarch64", "win32"],
        ),
        ("win-64", ["win", "win64", "x86_64", "x86"], ["arm64", "win32", "unix"]),
        ("osx-arm64", ["osx", "unix", "arm64"], ["x86_64", "linux", "osx64" if False else "win"]),
        ("linux-aarch64", ["linux", "unix", "aarch64"], ["arm64", "x86_64", "linux64", "arm"]),
        ("linux-64", ["linux", "linux64", "x86_64", "unix"], ["aarch64", "ppc64le", "s390x", "riscv64"]),
        ("linux-ppc64le", ["ppc64le", "linux"], ["x86_64", "ppc64"]),
    ],
)
def test_platform_flags_follow_conda_build(host: str, true: list[str], false: list[str]) -> None:
    ns = ns_for(host)
    for expr in true:
        assert is_true(expr, ns), expr
    for expr in false:
        assert not is_true(expr, ns), expr


def test_python_numpy_and_variant_keys_are_typed_like_conda_build() -> None:
    ns = ns_for("win-arm64", "win-64")
    assert evaluate("py", ns) == 314
    assert is_true("py >= 310 and py3k and not py2k", ns)
    assert evaluate("np", ns) == 2
    assert evaluate("vc", ns) == 14  # ints where the value is an int
    assert is_true("win and int(float(vc)) >= 14", ns)
    assert evaluate("cuda_compiler_version", ns) == "None"
    assert evaluate("is_abi3", ns) is True
    assert is_true("build_platform != target_platform", ns)
    assert evaluate("build_platform", ns) == "win-64"


def test_py_flags_exist_only_where_conda_build_defines_them() -> None:
    ns = ns_for("linux-64", python="2.7")
    assert is_true("py27 and py2k", ns)
    with pytest.raises(UnknownSelectorName):
        evaluate("py312", ns_for("linux-64"))


def test_environment_and_os_environ() -> None:
    ns = ns_for("linux-64")
    assert is_true('os.environ.get("CI", "") == "true"', ns)
    assert is_true("environ.get('MISSING', 'x') == 'x'", ns)
    assert is_true("os.getenv('CI')", ns)
    assert is_true("'CI' in environ", ns)
    assert evaluate("CI", ns) == "true"


def test_strings_tuples_and_methods() -> None:
    ns = ns_for("win-arm64", "win-64", cross_target_platform="win-64")
    assert is_true('cross_target_platform in ("win-64", "win-32")', ns)
    assert is_true('cross_target_platform not in ("osx-64",)', ns)
    assert is_true('build_platform.startswith("win")', ns)
    assert is_true('target_platform.endswith(("-arm64", "-aarch64"))', ns)
    assert evaluate("'ABC'.lower()", ns) == "abc"
    assert is_true("1 < 2 < 3 and not 3 < 2 < 1", ns)
    assert evaluate("len('abc') + 1", ns) == 4


def test_short_circuit_does_not_look_up_unused_names() -> None:
    ns = ns_for("linux-64")
    assert not is_true("win and undefined_name < 14", ns)
    assert is_true("linux or undefined_name", ns)


@pytest.mark.parametrize("expr", ["foo", "linux and foo", "foo.bar"])
def test_unknown_names_are_errors_with_file_and_line(expr: str) -> None:
    with pytest.raises(UnknownSelectorName) as info:
        evaluate(expr, ns_for("linux-64"), "r/meta.yaml", 7)
    assert "r/meta.yaml:7:" in str(info.value)
    assert "'foo'" in str(info.value)


@pytest.mark.parametrize(
    "expr",
    [
        "__import__('os').system('touch pwned')",
        "''.__class__",
        "().__class__.__mro__",
        "eval('1')",
        "open('/etc/passwd')",
        "getattr(os, 'system')",
        "os.system('x')",
        "environ.copy()",
        "'a'.format(1)",
        "linux.__class__",
    ],
)
def test_unsafe_expressions_are_rejected(expr: str, tmp_path) -> None:
    before = set(os.listdir(tmp_path))
    with pytest.raises(UnsafeRecipeError):
        evaluate(expr, ns_for("linux-64"), "r/meta.yaml", 3)
    assert set(os.listdir(tmp_path)) == before


@pytest.mark.parametrize(
    "expr",
    [
        "9" * 200,
        "(" * 200 + "1" + ")" * 200,
        "not " * 300 + "linux",
        "x" * 5000,
        "1 +",
        "linux linux",
        "[win]",
        "'abc",
        "1 ** 2",
        "int('x')",
        "1 / 0",
        "'a' < 1",
        "'%s' % 1",
    ],
)
def test_malformed_or_oversized_expressions_are_render_errors(expr: str) -> None:
    with pytest.raises(RenderError):
        evaluate(expr, ns_for("linux-64"), "r/meta.yaml", 1)


def test_names_in() -> None:
    assert names_in("win and (vc < 14 or py >= 310)") == {"win", "vc", "py"}
    assert names_in("(((") == set()


_ATOMS = st.sampled_from(
    [
        "linux",
        "win",
        "osx",
        "py",
        "vc",
        "np",
        "arm64",
        "x86_64",
        "target_platform",
        "build_platform",
        "'win-64'",
        "314",
        "3.5",
        "True",
        "None",
        "environ",
        "os",
        "os.environ",
        "foo",
        "__import__",
        "__class__",
        "9" * 70,
        "()",
        "('a', 'b')",
        "int",
        "str",
        "'x'",
        "-1",
    ]
)
_OPS = st.sampled_from(
    [
        " and ",
        " or ",
        " == ",
        " != ",
        " < ",
        " >= ",
        " in ",
        " not in ",
        " is ",
        " + ",
        " - ",
        " * ",
        " / ",
        " % ",
        ".",
        ", ",
        "(",
        ")",
        " not ",
        ".get(",
        ".startswith(",
        ".lower()",
        ".__class__",
        "[",
        "**",
        "'",
    ]
)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.one_of(_ATOMS, _OPS), min_size=1, max_size=30))
def test_random_expressions_only_raise_render_errors_and_never_hang(parts: list[str]) -> None:
    expr = "".join(parts)
    ns = ns_for("win-arm64", "win-64")
    start = time.monotonic()
    with contextlib.suppress(RenderError):
        evaluate(expr, ns, "r/meta.yaml", 1)
    assert time.monotonic() - start < 1.0


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=200))
def test_random_text_only_raises_render_errors(text: str) -> None:
    with contextlib.suppress(RenderError):
        evaluate(text, ns_for("linux-64"))


def test_unknown_names_read_as_false_like_conda_build_eval_selector() -> None:
    # conda-build replaces the undefined name by False in the selector text and evaluates again
    linux, win = ns_for("linux-64"), ns_for("win-64")
    assert not is_true("x64_64", linux) and not is_true("x64_64", win)
    assert is_true("not x64_64", linux)
    assert is_true("win and not x64_64", win) and not is_true("win and not x64_64", linux)
    assert is_true("x64_64 or linux", linux)
    assert unknown_names("win or x64_64", linux) == ["x64_64"]
    assert unknown_names("win or x64_64", win) == []  # short-circuit: never looked up
    assert unknown_names("osx_arm or linuxx", linux) == ["osx_arm", "linuxx"]
    assert unknown_names("linux", linux) == []
    with pytest.raises(UnknownSelectorName):  # evaluate() itself stays strict
        evaluate("x64_64", linux)


# -- finding the selector on a line, in linear time ------------------------------------------------

# conda-build's metadata.sel_pat, and the pattern lint/text.py used: the scanners must agree with them
CONDA_BUILD_SEL_PAT = re.compile(r"(.+?)\s*(#.*)?\[([^\[\]]+)\](?(2)[^\(\)]*)$")
LINT_SEL_PAT = re.compile(r"#[^\[\]#]*\[([^\[\]]+)\][^()]*$")
line_chars = st.text(alphabet=" \t#[]()ab_=<>!'\"", max_size=24)


@settings(max_examples=3000, deadline=None, database=None)
@given(line=line_chars)
def test_selector_scan_matches_conda_builds_pattern(line):
    m = CONDA_BUILD_SEL_PAT.match(line)
    assert split_line(line) == ((m.group(1), m.group(3)) if m else None)


@settings(max_examples=3000, deadline=None, database=None)
@given(line=line_chars)
def test_lint_selector_scan_matches_its_pattern(line):
    m = LINT_SEL_PAT.search(line)
    assert comment_selector(line) == (m.group(1) if m else None)


@pytest.mark.parametrize(
    "line, expected",
    [
        ("    - zlib  # [win]", ("    - zlib", "win")),
        ("    - python >=3.9  # [py<310]  trailing", ("    - python >=3.9", "py<310")),
        ("    - {{ compiler('c') }}  # [unix]", ("    - {{ compiler('c') }}", "unix")),
        ("    - foo [win]", ("    - foo", "win")),
        ("    - foo  # [win] (not a selector)", None),
        ("    - x" + " " * 50_000 + "[win](", None),  # seconds for the regex, linear here
        ("    - a" + " #" * 25_000 + " [win]x", ("    - a", "win")),
    ],
)
def test_selector_scan_examples(line, expected):
    assert split_line(line) == expected
