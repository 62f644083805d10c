"""Cross-readiness lints: each rule with a recipe that triggers it and one that must not."""

from __future__ import annotations

import textwrap

import pytest

from newarch.commands.pinning_source import load_pinning_for
from newarch.lint.catalog import RULES
from newarch.lint.rules import findings_for, lint_source
from newarch.lint.expr import UNKNOWN, evaluate
from newarch.model import Output, PlatformPair, RenderResult, Requirement
from newarch.sources.recipes import RecipeSource

CROSS = PlatformPair("win-arm64", "win-64")
WIN64 = PlatformPair("win-64", "win-64")
LINUX = PlatformPair("linux-64", "linux-64")


def source(files: dict[str, str], name: str = "demo") -> RecipeSource:
    return RecipeSource(
        name=name,
        origin="test",
        kind="directory",
        files={k: textwrap.dedent(v).lstrip("\n").encode() for k, v in files.items()},
    )


def output(name: str, noarch: str = "", skip: bool = False, **sections: list[str]) -> Output:
    return Output(
        name=name,
        version="1.0",
        noarch=noarch,
        skip=skip,
        requirements={s: tuple(Requirement.from_spec(x) for x in v) for s, v in sections.items()},
    )


def result(pair: PlatformPair, *outputs: Output, error: str = "") -> RenderResult:
    return RenderResult(pair=pair, outputs=list(outputs), error=error)


def rules(findings) -> list[str]:
    return [f.rule for f in findings]


def line_of(text: str, needle: str) -> int:
    for i, line in enumerate(textwrap.dedent(text).lstrip("\n").splitlines(), start=1):
        if needle in line:
            return i
    raise AssertionError(needle)


# --- render-failed ---------------------------------------------------------------------------
def test_render_failed_names_file_and_line():
    src = source({"meta.yaml": "package:\n  name: demo\n"})
    res = result(CROSS, error="demo/recipe/meta.yaml:7: undefined Jinja variable 'foo'")
    (f,) = lint_source(src, CROSS, res)
    assert (f.rule, f.severity, f.file, f.line, f.feedstock) == (
        "render-failed",
        "error",
        "recipe/meta.yaml",
        7,
        "demo",
    )
    assert "undefined Jinja variable 'foo'" in f.message and "win-arm64<-win-64" in f.message


def test_render_failed_without_line_points_at_recipe_file():
    src = source({"recipe.yaml": "package:\n  name: demo\n"})
    (f,) = lint_source(src, CROSS, result(CROSS, error="cannot read variant file: bad yaml"))
    assert (f.file, f.line) == ("recipe/recipe.yaml", 0)


def test_rendered_recipe_has_no_render_finding():
    src = source({"meta.yaml": "package:\n  name: demo\n"})
    assert lint_source(src, CROSS, result(CROSS, output("demo"))) == []


# --- cross-python-missing --------------------------------------------------------------------
V0_EXT = """
{% set name = "demo-ext" %}
package:
  name: {{ name }}
  version: 1.0
requirements:
  build:
    - {{ compiler('c') }}
    - python                                 # [build_platform != target_platform]
  host:
    - python
    - pip
  run:
    - python
"""


def test_cross_python_missing_v0():
    src = source({"meta.yaml": V0_EXT})
    out = output("demo-ext", build=["vs2022_win-arm64", "python"], host=["python 3.14.*", "pip"], run=["python"])
    (f,) = lint_source(src, CROSS, result(CROSS, out))
    assert f.rule == "cross-python-missing" and f.severity == "error"
    assert f.line == 10  # the python of host, not the one of build (line 8)
    assert "cross-python_win-arm64" in f.message and "cross-python_{{ target_platform }}" in f.fix


def test_cross_python_present_or_not_needed():
    src = source({"meta.yaml": V0_EXT})
    good = output("demo-ext", build=["python", "cross-python_win-arm64"], host=["python"])
    assert lint_source(src, CROSS, result(CROSS, good)) == []
    # native build, noarch output, skipped output: nothing to say
    bad = output("demo-ext", build=["python"], host=["python"])
    assert lint_source(src, WIN64, result(WIN64, bad)) == []
    assert lint_source(src, CROSS, result(CROSS, output("demo-ext", noarch="python", host=["python"]))) == []
    assert lint_source(src, CROSS, result(CROSS, output("demo-ext", skip=True, host=["python"]))) == []


def test_cross_python_not_for_the_python_recipe_itself():
    text = """
    package:
      name: python-split
    outputs:
      - name: python
      - name: libpython-static
        requirements:
          host:
            - {{ pin_subpackage('python', exact=True) }}
    """
    res = result(CROSS, output("python", host=["zlib"]), output("libpython-static", host=["python 3.14.0"]))
    assert lint_source(source({"meta.yaml": text}), CROSS, res) == []


def test_cross_python_scriptless_output_of_a_cross_aware_recipe():
    text = """
    package:
      name: tool-split
    requirements:
      build:
        - cross-python_{{ target_platform }}   # [build_platform != target_platform]
    outputs:
      - name: tool
        script: install_tool.bat
        requirements:
          build:
            - cross-python_{{ target_platform }}   # [build_platform != target_platform]
          host:
            - python
      - name: tool-extras
        requirements:
          host:
            - python
    """
    res = result(
        CROSS, output("tool", build=["cross-python_win-arm64"], host=["python"]), output("tool-extras", host=["python"])
    )
    assert lint_source(source({"meta.yaml": text}), CROSS, res) == []
    # without cross-python anywhere the scriptless output is reported too
    res = result(CROSS, output("tool", host=["python"]), output("tool-extras", host=["python"]))
    found = lint_source(source({"meta.yaml": text}), CROSS, res)
    assert sorted(f.message.split()[1] for f in found) == ["tool", "tool-extras"]


def test_cross_rules_are_info_when_the_feedstock_builds_natively():
    src = source({"meta.yaml": V0_EXT})
    src.conda_forge_yml = b"provider:\n  win_arm64: github_actions\n"
    (f,) = lint_source(src, CROSS, result(CROSS, output("demo-ext", host=["python"])))
    assert (f.rule, f.severity) == ("cross-python-missing", "info") and "natively" in f.message
    src.conda_forge_yml = b"build_platform:\n  win_arm64: win_64\n"
    (f,) = lint_source(src, CROSS, result(CROSS, output("demo-ext", host=["python"])))
    assert f.severity == "error"


V1_MULTI = """
context:
  version: "2.0"
recipe:
  name: split
outputs:
  - package:
      name: libdemo
    requirements:
      host:
        - zlib
  - package:
      name: pydemo
    requirements:
      build:
        - ${{ compiler('cxx') }}
      host:
        - python
        - pip
"""


def test_cross_python_missing_v1_points_at_the_output_block():
    src = source({"recipe.yaml": V1_MULTI})
    res = result(CROSS, output("libdemo", host=["zlib"]), output("pydemo", host=["python", "pip"]))
    (f,) = lint_source(src, CROSS, res)
    assert f.rule == "cross-python-missing" and f.line == line_of(V1_MULTI, "- python")
    assert "output pydemo" in f.message and "${{ target_platform }}" in f.fix


# --- mingw-on-arm64 --------------------------------------------------------------------------
V0_MINGW = """
package:
  name: demo
requirements:
  build:
    - {{ compiler('c') }}           # [not win]
    - {{ compiler('m2w64_c') }}     # [win]
    - {{ stdlib('m2w64_c') }}       # [win]
    - make
  host:
    - zlib
"""


@pytest.mark.parametrize("rendered", ["m2w64_c_win-arm64", "gcc_win-arm64"])
def test_mingw_compiler_on_win_arm64(rendered):
    src = source({"meta.yaml": V0_MINGW})
    res = result(CROSS, output("demo", build=[rendered, "make"], host=["zlib"]))
    found = [f for f in lint_source(src, CROSS, res) if f.rule == "mingw-on-arm64"]
    assert len(found) == 1 and found[0].severity == "error"
    assert found[0].line == line_of(V0_MINGW, "compiler('m2w64_c')")


def test_mingw_through_the_generic_compiler_names_the_compiler_line():
    # r-base style: the recipe's own conda_build_config maps compiler('c') to MinGW gcc on Windows
    text = """
    package:
      name: demo
    requirements:
      build:
        - {{ stdlib('c') }}
        - {{ compiler('c') }}
        - {{ compiler('fortran') }}
        - gfortran_impl_{{ build_platform }}  # [build_platform != target_platform]
    """
    res = result(
        CROSS,
        output(
            "demo", build=["m2w64-sysroot_win-arm64", "gcc_win-arm64", "gfortran_win-arm64", "gfortran_impl_win-64"]
        ),
    )
    found = {f.message.split()[3]: f.line for f in lint_source(source({"meta.yaml": text}), CROSS, res)}
    # the MinGW sysroot exists for win-arm64; the compilers do not
    assert found == {
        "gcc_win-arm64": line_of(text, "compiler('c')"),
        "gfortran_win-arm64": line_of(text, "compiler('fortran')"),
    }


def test_mingw_pieces_targeting_another_platform_are_not_arm64_toolchains():
    # a cross compiler package built for win-arm64 that targets win-64 carries win-64 sysroots
    res = result(CROSS, output("gcc_impl_win-64", host=["m2w64-sysroot_win-64"], run=["m2w64-sysroot_win-64"]))
    assert lint_source(source({"meta.yaml": "package:\n  name: demo\n"}), CROSS, res) == []


def test_mingw_package_in_run():
    text = "package:\n  name: demo\nrequirements:\n  run:\n    - m2w64-gcc-libs  # [win]\n"
    res = result(CROSS, output("demo", run=["m2w64-gcc-libs"]))
    (f,) = lint_source(source({"meta.yaml": text}), CROSS, res)
    assert (f.rule, f.line) == ("mingw-on-arm64", 5)


def test_mingw_build_tool_is_not_the_toolchain():
    # m2w64-pkg-config runs on the build machine; only compilers/runtimes must target arm64
    text = "package:\n  name: demo\nrequirements:\n  build:\n    - m2w64-pkg-config  # [win]\n"
    res = result(CROSS, output("demo", build=["m2w64-pkg-config", "vs2022_win-arm64"]))
    assert lint_source(source({"meta.yaml": text}), CROSS, res) == []
    res = result(CROSS, output("demo", build=["m2w64-gcc", "m2w64-pkg-config", "m2w64-sysroot_win-arm64"]))
    assert [(f.rule, f.message.split()[3]) for f in lint_source(source({"meta.yaml": text}), CROSS, res)] == [
        ("mingw-on-arm64", "m2w64-gcc")
    ]


def test_mingw_fine_on_win64_and_msvc_on_arm64():
    src = source({"meta.yaml": V0_MINGW})
    assert lint_source(src, WIN64, result(WIN64, output("demo", build=["m2w64_c_win-64"]))) == []
    assert lint_source(src, CROSS, result(CROSS, output("demo", build=["vs2022_win-arm64"]))) == []


# --- autotools-no-cc-for-build ---------------------------------------------------------------
V0_AUTOTOOLS = """
package:
  name: demo
build:
  script: build_demo.bat   # [win]
requirements:
  build:
    - {{ compiler('c') }}
    - m2-autoconf          # [win]
    - m2-make              # [win]
    - make                 # [unix]
"""


def test_autotools_without_cc_for_build():
    src = source({"meta.yaml": V0_AUTOTOOLS, "build_demo.bat": "bash -lc ./configure\nmake -j%CPU_COUNT%\n"})
    res = result(CROSS, output("demo", build=["clang_win-arm64", "m2-autoconf", "m2-make"]))
    (f,) = lint_source(src, CROSS, res)
    assert (f.rule, f.severity, f.line) == (
        "autotools-no-cc-for-build",
        "warning",
        line_of(V0_AUTOTOOLS, "m2-autoconf"),
    )
    assert "build_demo.bat" in f.message and "nothing sets CC_FOR_BUILD" in f.message


def test_autotools_with_msvc_activation_is_info():
    # vc-feedstock's vs20XX_<target> activation exports CC_FOR_BUILD for cross builds
    src = source({"meta.yaml": V0_AUTOTOOLS, "build_demo.bat": "bash -lc ./configure\n"})
    res = result(CROSS, output("demo", build=["vs2022_win-arm64", "m2-autoconf", "m2-make"]))
    (f,) = lint_source(src, CROSS, res)
    assert (f.rule, f.severity) == ("autotools-no-cc-for-build", "info") and "vs2022_win-arm64" in f.message


def test_perl_configure_is_not_autotools():
    text = "package:\n  name: demo\nrequirements:\n  build:\n    - make\n    - perl\n"
    src = source({"meta.yaml": text, "bld.bat": "perl configure VC-WIN64-CLANGASM-ARM\nnmake\n"})
    assert lint_source(src, CROSS, result(CROSS, output("demo", build=["make", "perl"]))) == []


def test_autotools_with_cc_for_build_or_not_windows_cross():
    bat = 'set "CC_FOR_BUILD=%BUILD_PREFIX%\\Library\\bin\\clang-cl.exe"\nbash -lc ./configure\n'
    src = source({"meta.yaml": V0_AUTOTOOLS, "build_demo.bat": bat})
    res = result(CROSS, output("demo", build=["m2-autoconf", "m2-make"]))
    assert lint_source(src, CROSS, res) == []
    src2 = source({"meta.yaml": V0_AUTOTOOLS, "build_demo.bat": "make\n"})
    assert lint_source(src2, WIN64, result(WIN64, output("demo", build=["m2-make"]))) == []
    osx = PlatformPair("osx-arm64", "osx-64")
    assert lint_source(src2, osx, result(osx, output("demo", build=["make", "autoconf"]))) == []


def test_make_alone_needs_a_configure_run():
    text = "package:\n  name: demo\nrequirements:\n  build:\n    - cmake\n    - make\n"
    nmake = source({"meta.yaml": text, "bld.bat": 'cmake -G "NMake Makefiles" .\nnmake install\n'})
    assert lint_source(nmake, CROSS, result(CROSS, output("demo", build=["cmake", "make"]))) == []
    conf = source({"meta.yaml": text, "bld.bat": 'bash -lc "./configure --prefix=$PREFIX"\nmake\n'})
    (f,) = lint_source(conf, CROSS, result(CROSS, output("demo", build=["cmake", "make"])))
    assert f.rule == "autotools-no-cc-for-build" and f.line == 6 and "configure run in bld.bat" in f.message


def test_cc_for_build_in_a_helper_script_counts():
    src = source(
        {
            "meta.yaml": V0_AUTOTOOLS,
            "build_demo.bat": "bash %RECIPE_DIR%/build.sh\n",
            "build.sh": "export CC_FOR_BUILD=${CC_FOR_BUILD:-cl}\n./configure\n",
        }
    )
    assert lint_source(src, CROSS, result(CROSS, output("demo", build=["m2-make"]))) == []


def test_unreadable_named_script_is_info_not_fatal():
    src = source({"meta.yaml": V0_AUTOTOOLS})  # build_demo.bat is missing
    found = lint_source(src, CROSS, result(CROSS, output("demo", build=["m2-autoconf", "m2-make"])))
    assert sorted(rules(found)) == ["autotools-no-cc-for-build", "build-script-unreadable"]
    info = next(f for f in found if f.rule == "build-script-unreadable")
    assert info.severity == "info" and info.line == line_of(V0_AUTOTOOLS, "script:")
    binary = source({"meta.yaml": V0_AUTOTOOLS})
    binary.files["build_demo.bat"] = b"\x00\x01CC_FOR_BUILD"
    found = lint_source(binary, CROSS, result(CROSS, output("demo", build=["m2-make"])))
    assert rules(found) == ["build-script-unreadable"]  # make alone: only the unreadable script is said


def test_v1_script_name_without_extension():
    text = """
    package:
      name: demo
    build:
      script: build_demo
    requirements:
      build:
        - if: win
          then:
            - m2-make
    """
    src = source({"recipe.yaml": text, "build_demo.bat": "bash configure\nmake\n"})
    (f,) = lint_source(src, CROSS, result(CROSS, output("demo", build=["m2-make"])))
    assert f.rule == "autotools-no-cc-for-build" and f.line == line_of(text, "- m2-make")
    src.files["build_demo.bat"] = b"set CC_FOR_BUILD=cl.exe\nbash configure\nmake\n"
    assert lint_source(src, CROSS, result(CROSS, output("demo", build=["m2-make"]))) == []


# --- x86-selector ----------------------------------------------------------------------------
def _selector_recipe(*lines: str) -> RecipeSource:
    body = "\n".join(f"    {ln}" for ln in lines)
    return source({"meta.yaml": f"package:\n  name: demo\nrequirements:\n  host:\n{body}\n"})


@pytest.mark.parametrize("selector", ["win and not win32", "not win32"])
def test_selector_that_also_matches_arm64(selector):
    src = _selector_recipe(f"- libfoo  # [{selector}]")
    (f,) = lint_source(src, CROSS, result(CROSS, output("demo", host=["libfoo"])))
    assert (f.rule, f.severity, f.line) == ("x86-selector", "warning", 5)


@pytest.mark.parametrize(
    "selector", ["win and x86_64", "x86_64", "not (win and x86_64)", "target_platform == 'win-64'", "win64"]
)
def test_selector_that_drops_arm64(selector):
    src = _selector_recipe("- zlib", f"- libfoo  # [{selector}]")
    (f,) = lint_source(src, CROSS, result(CROSS, output("demo", host=["zlib"])))
    assert (f.rule, f.line) == ("x86-selector", 6)
    assert "also True" not in f.message


def test_lint_and_render_share_one_selector_namespace():
    """conda-build's get_selectors: on win-arm64 win and arm64 are true, win64 and x86_64 false; the
    lint evaluator and the renderer agree on every platform name."""
    from newarch.render.selector_namespace import selector_namespace
    from newarch.render.selectors import is_true

    for pair in (CROSS, PlatformPair("win-64", "win-64"), PlatformPair("osx-arm64", "osx-64")):
        ns = selector_namespace(pair.target, pair.build, {}, {})
        for expr in ("win64", "win and arm64", "x86_64", "x86", "arm64", "unix", "osx and arm64", "linux64"):
            assert evaluate(expr, pair) is is_true(expr, ns), (expr, pair)
    assert evaluate("win64", CROSS) is False and evaluate("win64", PlatformPair("win-64", "win-64")) is True


@pytest.mark.parametrize(
    "lines",
    [
        ("- libfoo  # [win and x86_64]", "- libbar  # [win and arm64]"),  # the recipe knows arm64
        ("- libfoo  # [linux and x86_64]",),  # irrelevant on Windows
        ("- libfoo  # [win]", "- libbar  # [unix]"),  # same on win-64 and win-arm64
        ("- libfoo  # [win32]",),
        ("- libfoo  # [py>=312 and win]",),  # undecidable from the platform: not ours to judge
        ("# - libfoo  # [win and x86_64]",),  # commented out
    ],
)
def test_selector_not_flagged(lines):
    src = _selector_recipe(*lines)
    assert lint_source(src, CROSS, result(CROSS, output("demo"))) == []


def test_x86_selector_only_for_arm_targets():
    src = _selector_recipe("- libfoo  # [win and x86_64]")
    assert lint_source(src, WIN64, result(WIN64, output("demo"))) == []


def test_v1_if_and_skip_expressions():
    text = """
    package:
      name: demo
    build:
      skip: not (win and x86_64)
    requirements:
      host:
        - if: x86_64
          then: libfoo
    """
    found = lint_source(source({"recipe.yaml": text}), CROSS, result(CROSS, output("demo", skip=True)))
    assert [(f.rule, f.line) for f in found] == [("x86-selector", 4), ("x86-selector", 7)]
    arm = text + "    - if: arm64\n      then: libbar\n"
    assert lint_source(source({"recipe.yaml": arm}), CROSS, result(CROSS, output("demo"))) == []


# --- binary-repack ---------------------------------------------------------------------------
def test_binary_repack_one_finding_per_feedstock():
    text = """
    package:
      name: tool
    source:
      - url:
          - https://x.org/a/tool-1.0-x86_64.zip
          - https://mirror.x.org/a/tool-1.0-x86_64.zip
      - url: https://x.org/a/helper-1.0-win64.zip
    """
    (f,) = lint_source(source({"meta.yaml": text}), CROSS, result(CROSS, output("tool")))
    assert f.line == 5 and "and 2 more" in f.message


def test_binary_repack_prebuilt_zip():
    text = """
    package:
      name: tool
    source:
      url: https://github.com/x/tool/releases/download/v1/tool-1.0-x86_64-pc-windows-msvc.zip  # [win]
      url: https://github.com/x/tool/releases/download/v1/tool-1.0-x86_64-linux.tar.gz  # [linux]
    """
    found = lint_source(source({"meta.yaml": text}), CROSS, result(CROSS, output("tool")))
    assert [(f.rule, f.line) for f in found] == [("binary-repack", 4)]
    assert "x86_64" in found[0].message


@pytest.mark.parametrize(
    "url",
    [
        "https://example.org/dl/tool-setup-1.0.exe",
        "https://files.example.org/tool-1.0-cp314-cp314-win_amd64.whl",
        "https://example.org/win64/tool-1.0.zip",
    ],
)
def test_binary_repack_other_forms(url):
    text = f"package:\n  name: tool\nsource:\n  - url: {url}\n"
    (f,) = lint_source(source({"meta.yaml": text}), CROSS, result(CROSS, output("tool")))
    assert (f.rule, f.line) == ("binary-repack", 4)


@pytest.mark.parametrize(
    "text,out",
    [
        ("source:\n  url: https://github.com/x/tool/archive/v1.0.tar.gz\n", output("tool")),
        ("source:\n  url: https://pypi.org/packages/tool-1.0-py3-none-any.whl\n", output("tool")),
        (
            "source:\n  url: https://x.org/tool-x86_64.zip  # [win and not arm64]\n"
            "  url: https://x.org/tool-arm64.zip  # [win and arm64]\n",
            output("tool"),
        ),
        ("source:\n  url: https://x.org/tool-x86_64.zip\n", output("tool", noarch="generic")),
        ("source:\n  url: https://x.org/tool-x86_64.zip\n", output("tool", skip=True)),
    ],
)
def test_binary_repack_not_flagged(text, out):
    src = source({"meta.yaml": "package:\n  name: tool\n" + text})
    assert [f for f in lint_source(src, CROSS, result(CROSS, out)) if f.rule == "binary-repack"] == []


def test_binary_repack_v1_if_block():
    text = """
    package:
      name: tool
    source:
      - if: linux
        then:
          url: https://x.org/tool-x86_64-linux.tar.gz
        else:
          url: https://x.org/tool-x86_64-windows.zip
    """
    found = lint_source(source({"recipe.yaml": text}), CROSS, result(CROSS, output("tool")))
    assert [(f.rule, f.line) for f in found] == [("binary-repack", line_of(text, "windows.zip"))]
    assert lint_source(source({"recipe.yaml": text}), WIN64, result(WIN64, output("tool"))) == []


# --- build-tool-missing ----------------------------------------------------------------------
V0_XPY = """
package:
  name: demo
requirements:
  build:
    - python                                 # [build_platform != target_platform]
    - cross-python_{{ target_platform }}     # [build_platform != target_platform]
    - {{ compiler('c') }}
  host:
    - python
"""


def test_build_tool_missing():
    src = source({"meta.yaml": V0_XPY})
    out = output("demo", build=["python", "cross-python_win-arm64", "vs2022_win-arm64"], host=["python"])
    found = lint_source(src, CROSS, result(CROSS, out), available_build={"python", "vs2022_win-arm64"})
    assert [(f.rule, f.severity, f.line) for f in found] == [("build-tool-missing", "error", 6)]
    assert "cross-python_win-arm64" in found[0].message and "win-64" in found[0].message


def test_build_tool_missing_through_v1_context_variable():
    text = """
    context:
      native: ${{ "m2w64-" if win else "" }}
    package:
      name: demo
    requirements:
      build:
        - ${{ native }}pkg-config
    """
    res = result(CROSS, output("demo", build=["m2w64-pkg-config"]))
    (f,) = lint_source(source({"recipe.yaml": text}), CROSS, res, available_build=set())
    assert (f.rule, f.line) == ("build-tool-missing", line_of(text, "pkg-config"))


def test_build_tool_present_or_unknown():
    src = source({"meta.yaml": V0_XPY})
    out = output("demo", build=["python", "cross-python_win-arm64"], host=["python"])
    assert lint_source(src, CROSS, result(CROSS, out)) == []  # no availability given: no judgement
    assert lint_source(src, CROSS, result(CROSS, out), available_build={"python", "cross-python_win-arm64"}) == []


# --- general ---------------------------------------------------------------------------------
def test_findings_are_complete_and_stable():
    src = source({"meta.yaml": V0_MINGW})
    res = result(CROSS, output("demo", build=["m2w64_c_win-arm64", "make"], host=["zlib"]))
    found = findings_for(src, CROSS, res)
    assert found == lint_source(src, CROSS, res)
    for f in found:
        assert f.rule in RULES and f.severity in (RULES[f.rule][0], "info")
        assert f.feedstock == "demo" and f.file == "recipe/meta.yaml" and f.line >= 1 and f.message and f.fix


def test_lint_never_evaluates_recipe_code(tmp_path):
    marker = tmp_path / "pwned"
    evil = f"__import__('os').system('touch {marker}')"
    text = f"package:\n  name: demo\nrequirements:\n  host:\n    - foo  # [{evil}]\n"
    lint_source(source({"meta.yaml": text}), CROSS, result(CROSS, output("demo")))
    assert not marker.exists()
    assert evaluate(evil, CROSS) is UNKNOWN
    assert evaluate("win and arm64", CROSS) is True and evaluate("win64", CROSS) is False
    assert evaluate("x86_64", CROSS) is False and evaluate("py >= 312 or win", CROSS) is True


# --- the command -----------------------------------------------------------------------------
PINNING = """
c_compiler:
  - vs2022     # [win]
  - gcc        # [linux]
c_compiler_version:
  - 19         # [win]
  - 13         # [linux]
python:
  - 3.14.* *_cp314
"""

PYEXT = """
schema_version: 1
package:
  name: pyext
  version: "1.0"
build:
  script: build_pyext
requirements:
  build:
    - ${{ compiler('c') }}
  host:
    - python
    - pip
  run:
    - python
"""


@pytest.fixture
def feedstocks(tmp_path):
    recipe = tmp_path / "stocks" / "pyext-feedstock" / "recipe"
    recipe.mkdir(parents=True)
    (recipe / "recipe.yaml").write_text(textwrap.dedent(PYEXT).lstrip())
    (recipe / "build_pyext.bat").write_text("%PYTHON% -m pip install . -vv\n")
    (tmp_path / "cbc.yaml").write_text(textwrap.dedent(PINNING).lstrip())
    return tmp_path


def test_lint_command_json(feedstocks):
    import json

    from click.testing import CliRunner

    from newarch.cli import main

    args = ["lint", str(feedstocks / "stocks"), "--pinning", str(feedstocks / "cbc.yaml"), "--format", "json"]
    res = CliRunner().invoke(main, args)
    assert res.exit_code == 1, res.output  # an error finding: exit 1, as ruff
    doc = json.loads(res.output)
    assert doc["schema"] == "newarch.lint/1" and doc["counts"] == {"error": 1}
    assert [(f["rule"], f["feedstock"], f["file"], f["line"]) for f in doc["findings"]] == [
        ("cross-python-missing", "pyext", "recipe/recipe.yaml", line_of(PYEXT, "- python"))
    ]
    assert CliRunner().invoke(main, args + ["--exit-zero"]).exit_code == 0
    native = CliRunner().invoke(main, args + ["--platform", "win-64"])
    assert native.exit_code == 0 and json.loads(native.output)["findings"] == []


def test_lint_command_table_and_bad_input(feedstocks):
    from click.testing import CliRunner

    from newarch.cli import main

    base = ["lint", str(feedstocks / "stocks"), "--pinning", str(feedstocks / "cbc.yaml")]
    res = CliRunner().invoke(main, base, env={"COLUMNS": "80"})
    line = line_of(PYEXT, "- python")
    assert res.exit_code == 1
    # ruff's concise style, then one summary line of counts; nothing wider than 80 columns
    assert res.output.startswith(f"pyext/recipe/recipe.yaml:{line}:1: cross-python-missing ")
    assert "1 findings on win-arm64<-win-64 (1 error, 0 warning, 0 info)" in " ".join(res.output.split())
    assert all(len(ln) <= 80 for ln in res.output.splitlines())
    full = CliRunner().invoke(main, [*base, "--output-format", "full"], env={"COLUMNS": "80"})
    assert "  fix: add to requirements.build" in full.output
    gh = CliRunner().invoke(main, [*base, "--output-format", "github"])
    assert (
        gh.output.startswith(f"::error title=cross-python-missing (pyext),file=recipe/recipe.yaml,line={line}::")
        and gh.exit_code == 1
    )
    explain = CliRunner().invoke(main, ["lint", "--explain", "x86-selector"])
    assert explain.exit_code == 0 and "win64 is true only on win-64" in explain.output
    typo = CliRunner().invoke(main, ["lint", "--explain", "x86-selectr"])
    assert typo.exit_code == 2 and "did you mean x86-selector" in typo.output
    bad = CliRunner().invoke(main, ["lint", str(feedstocks / "missing"), "--pinning", str(feedstocks / "cbc.yaml")])
    assert bad.exit_code == 2 and "no such file or directory" in bad.output
    none = CliRunner().invoke(main, ["lint"])
    assert none.exit_code == 2 and "--plan" in none.output


def _plan_snapshot(tmp_path):
    from newarch.model import Feedstock, Finding
    from newarch.store.snapshot import Snapshot

    def fs(name, *outs, findings=()):
        f = Feedstock(name=name, source="test")
        f.renders[CROSS.key] = RenderResult(CROSS, list(outs), findings=list(findings))
        return f

    stored = Finding("x86-selector", "warning", "zlib", "recipe/meta.yaml", 3, "stored", "fix")
    unplanned = Finding("binary-repack", "warning", "other", "recipe/meta.yaml", 4, "stored", "fix")
    stocks = [
        fs(
            "pyext",
            output(
                "pyext", host=["python", "zlib"], run=["python", "zlib"], build=["python", "cross-python_win-arm64"]
            ),
        ),
        fs("zlib", output("zlib"), findings=[stored]),
        fs("python", output("python")),
        fs("other", output("other", host=["python"]), findings=[unplanned]),
    ]
    snap = Snapshot(
        date="2026-08-01",
        pairs=[CROSS],
        feedstocks={f.name: f for f in stocks},
        output_index={n: [n] for n in ("pyext", "zlib", "python", "other")},
    )
    path = tmp_path / "snap.sqlite"
    snap.save(path)
    return path


def test_lint_plan_uses_stored_findings_of_planned_feedstocks(tmp_path, monkeypatch):
    import json

    from click.testing import CliRunner

    from newarch.cli import main
    from newarch.commands import lint_cmd

    monkeypatch.setattr(lint_cmd, "SEED_TARGETS", ("pyext",))
    snap = _plan_snapshot(tmp_path)
    res = CliRunner().invoke(main, ["lint", "--plan", "--snapshot", str(snap), "--format", "json"])
    assert res.exit_code == 1, res.output
    assert [(f["rule"], f["feedstock"]) for f in json.loads(res.output)["findings"]] == [("x86-selector", "zlib")]
    names = tmp_path / "names.txt"
    names.write_text("python\n")  # a name list counts for every subdir: python needs no build
    res = CliRunner().invoke(
        main, ["lint", "--plan", "--snapshot", str(snap), "--available", str(names), "--format", "json"]
    )
    got = [(f["rule"], f["feedstock"], f["message"]) for f in json.loads(res.output)["findings"]]
    assert [(r, f) for r, f, _ in got] == [("build-tool-missing", "pyext"), ("x86-selector", "zlib")]
    assert "cross-python_win-arm64" in got[0][2]
    # severity follows the plan's build mode: the plan builds pyext natively, so the missing cross tool is info
    assert json.loads(res.output)["findings"][0]["severity"] == "info" and "builds it natively" in got[0][2]
    # --available-build: the names exist on the build platform only; the plan still builds zlib and python
    names.write_text("python\nzlib\n")
    res = CliRunner().invoke(
        main, ["lint", "--plan", "--snapshot", str(snap), "--available-build", str(names), "--format", "json"]
    )
    assert [(f["rule"], f["feedstock"]) for f in json.loads(res.output)["findings"]] == [
        ("build-tool-missing", "pyext"),
        ("x86-selector", "zlib"),
    ]


def test_lint_plan_with_paths_renders_only_planned(tmp_path, monkeypatch, feedstocks):
    import json

    from click.testing import CliRunner

    from newarch.cli import main
    from newarch.commands import lint_cmd

    monkeypatch.setattr(lint_cmd, "SEED_TARGETS", ("pyext",))
    other = feedstocks / "stocks" / "other-feedstock" / "recipe"
    other.mkdir(parents=True)
    (other / "recipe.yaml").write_text(textwrap.dedent(PYEXT).lstrip().replace("pyext", "other"))
    snap = _plan_snapshot(tmp_path)
    args = [
        "lint",
        str(feedstocks / "stocks"),
        "--plan",
        "--snapshot",
        str(snap),
        "--pinning",
        str(feedstocks / "cbc.yaml"),
        "--format",
        "json",
    ]
    res = CliRunner().invoke(main, args)
    assert res.exit_code == 1, res.output
    assert {f["feedstock"] for f in json.loads(res.output)["findings"]} == {"pyext"}


# --- real feedstocks (local mirrors; skipped when NEWARCH_MIRRORS is unset) ---------------------
@pytest.mark.realdata
@pytest.mark.parametrize(
    "feedstock,rule,token",
    [
        ("pywin32", "cross-python-missing", "- python"),
        ("libxcb", "mingw-on-arm64", "compiler('m2w64_c')"),
        ("openmp", "x86-selector", "x86_64"),
        ("xorg-libx11", "autotools-no-cc-for-build", "m2-autoconf"),
    ],
)
def test_real_feedstock_findings_point_at_the_right_line(feedstock, rule, token):
    import os
    from pathlib import Path

    from newarch.render.pinning import default_pinning_path
    from newarch.sources.recipes import open_source

    mirrors = os.environ.get("NEWARCH_MIRRORS")
    pinning = default_pinning_path()
    path = Path(mirrors or ".") / f"conda-forge+{feedstock}-feedstock"
    if not mirrors or pinning is None or not path.exists():
        pytest.skip("needs NEWARCH_MIRRORS with this feedstock and ../shared/data")
    import newarch.render as render

    src = open_source(path)
    res = render.render_source(src, CROSS, load_pinning_for(CROSS, pinning)[0])
    found = [f for f in lint_source(src, CROSS, res) if f.rule == rule]
    assert found, f"{feedstock}: no {rule}"
    lines = (src.text(src.recipe_file) or "").splitlines()
    assert all(token in lines[f.line - 1] for f in found if f.file.endswith(src.recipe_file))


# --- unknown-selector-name ---------------------------------------------------------------------

MISSPELLED = """
    package:
      name: fastcodec
      version: "1.2"
    requirements:
      build:
        - nasm  # [x64_64]
        - yasm  # [win or osx_arm]
        - make  # [unix]
      run:
        - zlib  # [cuda_compiler_version == "None"]
"""


@pytest.mark.parametrize("pair", [CROSS, LINUX])
def test_unknown_selector_name_is_a_warning_with_its_line(pair):
    from newarch.render import render_source
    from newarch.render.pinning import Variants

    src = source({"meta.yaml": MISSPELLED})
    pinning = Variants({"cuda_compiler_version": ["None"], "target_platform": [pair.target]})
    rendered = render_source(src, pair, pinning)
    assert rendered.ok, rendered.error
    found = [f for f in lint_source(src, pair, rendered) if f.rule == "unknown-selector-name"]
    expected = [(line_of(MISSPELLED, "nasm"), "'x64_64'")]
    if pair == LINUX:  # on win `win or osx_arm` is decided before osx_arm is read, as in conda-build
        expected.append((line_of(MISSPELLED, "yasm"), "'osx_arm'"))
    assert [(f.line, f.message.split(" uses ")[1].split(",")[0]) for f in found] == expected
    assert all(f.severity == "warning" and f.file == "recipe/meta.yaml" for f in found)
