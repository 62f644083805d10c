"""Names a recipe gets only from the build (or the fetched source), and recipes conda-build skips
before they fail: rendered like conda-build / rattler-build, on recipes written here after the
shapes of real feedstocks (intel_repack, gendef, gfortran_osx-64, hclfmt, m2w64-sysroot)."""

from __future__ import annotations

import pytest

from newarch.errors import RenderError, UnsafeRecipeError
from newarch.model import PlatformPair
from newarch.render import render_source
from newarch.render.jinja_sandbox import UndefinedNameError, render_template
from newarch.render.pinning import Variants
from newarch.render.v0 import render_v0
from newarch.sources.recipes import RecipeSource

LINUX_64 = PlatformPair("linux-64", "linux-64")
WIN_64 = PlatformPair("win-64", "win-64")
OSX_64 = PlatformPair("osx-64", "osx-64")
OSX_ARM64 = PlatformPair("osx-arm64", "osx-64")
RISCV64 = PlatformPair("linux-riscv64", "linux-64")
ENV = {"CI": "true"}


def pinning(pair: PlatformPair, **extra: list[str]) -> Variants:
    osx = pair.target.startswith("osx-")
    values = {
        "c_compiler": ["clang" if osx else "vs2022" if pair.target.startswith("win-") else "gcc"],
        "c_stdlib_version": ["11.0" if osx else "2.17"],
        "python": ["3.12.* *_cpython"],
    }
    values.update(extra)
    return Variants(values, [])


def v0(meta: str, **files: str) -> RecipeSource:
    s = RecipeSource(name="demo", origin="test", kind="directory")
    s.files["meta.yaml"] = meta.encode()
    for name, text in files.items():
        s.files[name.replace("_dot_", ".")] = text.encode()
    return s


# ---------------------------------------------------------------- skip before strict (intel_repack)

# A build number set only where the package exists, used in a source url; the recipe is skipped
# everywhere else. conda-build renders with undefined names permitted, sees build/skip and skips.
REPACK = """\
{% set version = "2026.0.0" %}
{% set devel_buildnum = "345" %}  # [linux64]
{% set devel_buildnum = "342" %}  # [win]

package:
  name: repack-split
  version: {{ version }}

source:
  - url: https://example.invalid/{{ target_platform }}/devel-{{ version }}-intel_{{ devel_buildnum }}.conda

build:
  number: {{ devel_buildnum|int + 1 }}
  skip: true  # [not (linux64 or win)]

outputs:
  - name: devel
    requirements:
      run:
        - runtime {{ version }}
"""


@pytest.mark.parametrize("pair", [OSX_64, OSX_ARM64, RISCV64])
def test_undefined_name_in_a_skipped_recipe_is_a_skip(pair: PlatformPair) -> None:
    result = render_v0(v0(REPACK), pair, pinning(pair), ENV)
    assert result.ok
    assert result.outputs and all(o.skip for o in result.outputs)
    assert any("'devel_buildnum' is undefined" in n and "skipped, not failed" in n for n in result.notes)


@pytest.mark.parametrize("pair", [LINUX_64, WIN_64])
def test_the_same_recipe_renders_where_the_name_is_set(pair: PlatformPair) -> None:
    result = render_v0(v0(REPACK), pair, pinning(pair), ENV)
    [out] = result.outputs
    assert not out.skip
    assert not any("undefined" in n for n in result.notes)


def test_undefined_name_without_skip_still_fails_like_conda_build() -> None:
    """rust on linux-riscv64: the recipe's variant file has no rust_arch for it and nothing skips."""
    meta = REPACK.replace("  skip: true  # [not (linux64 or win)]\n", "")
    with pytest.raises(UndefinedNameError) as err:
        render_v0(v0(meta), OSX_64, pinning(OSX_64), ENV)
    assert err.value.name == "devel_buildnum"
    assert err.value.line == 10


def test_output_level_skip_does_not_excuse_an_undefined_name() -> None:
    """conda-build checks the top-level build/skip before the strict pass; an output's skip comes later."""
    meta = REPACK.replace("  skip: true  # [not (linux64 or win)]\n", "").replace(
        "  - name: devel\n", "  - name: devel\n    build:\n      skip: true  # [osx]\n"
    )
    with pytest.raises(RenderError, match="devel_buildnum"):
        render_v0(v0(meta), OSX_64, pinning(OSX_64), ENV)


def test_lenient_pass_keeps_the_sandbox() -> None:
    with pytest.raises(UnsafeRecipeError):
        render_template("{{ missing.__class__ }}{{ ''.__class__.__mro__ }}", {}, "meta.yaml", lenient=True)
    assert render_template("a{{ missing.x[1] + 2 }}b{{ missing|int + 1 }}", {}, "meta.yaml", lenient=True) == "ab1"
    with pytest.raises(UndefinedNameError):
        render_template("a{{ missing }}", {}, "meta.yaml")


# ---------------------------------------------------------------- MACOSX_DEPLOYMENT_TARGET (gfortran_osx-64)

OSX_TEST = """\
package:
  name: fortran-activation
  version: 15.1.0
outputs:
  - name: fortran_{{ target_platform }}
    requirements:
      run:
        - macos-sdk >={{ MACOSX_DEPLOYMENT_TARGET }}  # [osx]
        - arch-{{ OSX_ARCH }}  # [osx]
    test:
      commands:
        - echo {{ MACOSX_DEPLOYMENT_TARGET }}  # [osx]
"""


def _run(pair: PlatformPair, **extra: list[str]) -> set[str]:
    [out] = render_v0(v0(OSX_TEST), pair, pinning(pair, **extra), ENV).outputs
    return {r.spec for r in out.reqs("run")}


def test_macosx_deployment_target_follows_c_stdlib_version() -> None:
    assert _run(OSX_64) == {"macos-sdk >=11.0", "arch-x86_64"}
    assert _run(OSX_ARM64) == {"macos-sdk >=11.0", "arch-arm64"}


def test_macosx_deployment_target_from_the_variant_wins() -> None:
    """A feedstock's variant file (as .ci_support has) sets it; conda-build reads the variant."""
    assert _run(OSX_64, MACOSX_DEPLOYMENT_TARGET=["10.13"]) == {"macos-sdk >=10.13", "arch-x86_64"}


def test_macosx_deployment_target_default_is_conda_builds() -> None:
    bare = Variants({"python": ["3.12.* *_cpython"]}, [])
    [out] = render_v0(v0(OSX_TEST), OSX_64, bare, ENV).outputs
    assert {r.spec for r in out.reqs("run")} == {"macos-sdk >=10.9", "arch-x86_64"}
    [out] = render_v0(v0(OSX_TEST), OSX_ARM64, bare, ENV).outputs
    assert "macos-sdk >=11.0" in {r.spec for r in out.reqs("run")}


def test_macosx_deployment_target_is_not_defined_on_linux() -> None:
    """conda-build sets it in osx_vars only: a linux render that uses it fails in conda-build too."""
    meta = OSX_TEST.replace("  # [osx]", "")
    with pytest.raises(UndefinedNameError, match="MACOSX_DEPLOYMENT_TARGET"):
        render_v0(v0(meta), LINUX_64, pinning(LINUX_64), ENV)


# ---------------------------------------------------------------- GIT_DESCRIBE_* (gendef, m2w64-sysroot)

GIT_VERSION = """\
package:
  name: mingw-tool
  version: {{ GIT_DESCRIBE_TAG[1:] }}.r{{ GIT_DESCRIBE_NUMBER }}.{{ GIT_DESCRIBE_HASH }}
source:
  git_url: https://example.invalid/mingw.git
  git_rev: dc42231f0
build:
  number: 2
requirements:
  build:
    - {{ compiler('c') }}
"""


def test_git_describe_names_get_stand_ins_and_a_note() -> None:
    result = render_v0(v0(GIT_VERSION), LINUX_64, pinning(LINUX_64), ENV)
    [out] = result.outputs
    assert out.version == "0.0.0.r0.g0000000"
    [note] = [n for n in result.notes if "GIT_DESCRIBE_TAG" in n]
    assert "stand-ins" in note and "GIT_FULL_HASH" not in note


def test_git_names_are_defined_only_in_recipes_that_use_them() -> None:
    meta = (
        "package:\n  name: a\n  version: 1\nsource:\n  git_url: https://example.invalid/a.git\n"
        "{% if GIT_FULL_HASH is defined %}\nbuild:\n  skip: true\n{% endif %}\n"
    )
    result = render_v0(v0(meta), LINUX_64, pinning(LINUX_64), ENV)
    assert result.outputs[0].skip  # named in the text: defined, as conda-build defines it after fetching
    meta2 = "package:\n  name: a\n  version: {{ '1' if GIT_OTHER is defined else '2' }}\n"
    result = render_v0(v0(meta2), LINUX_64, pinning(LINUX_64), ENV)
    assert result.outputs[0].version == "2" and not result.notes


# ---------------------------------------------------------------- which recipe conda-forge builds


def _both(cfyml: str | None) -> RecipeSource:
    s = RecipeSource(name="demo", origin="test", kind="directory")
    s.files["meta.yaml"] = b"package:\n  name: from-meta\n  version: 1\n"
    s.files["recipe.yaml"] = b"schema_version: 1\npackage:\n  name: from-recipe\n  version: 1\n"
    s.conda_forge_yml = cfyml.encode() if cfyml is not None else None
    return s


@pytest.mark.parametrize(
    ("cfyml", "schema"),
    [
        (None, "v0"),
        ("build_platform:\n  win_64: linux_64\n", "v0"),
        ("conda_build_tool: conda-build\n", "v0"),
        ("conda_build_tool: rattler-build\n", "v1"),
        ("conda_build_tool: [unreadable\n", "v0"),
    ],
)
def test_with_both_recipe_files_the_build_tool_decides(cfyml: str | None, schema: str) -> None:
    src = _both(cfyml)
    assert src.schema == schema
    [out] = render_source(src, LINUX_64, pinning(LINUX_64), ENV).outputs
    assert out.name == ("from-recipe" if schema == "v1" else "from-meta")


def test_recipe_yaml_alone_is_v1_whatever_the_tool() -> None:
    s = _both("conda_build_tool: conda-build\n")
    del s.files["meta.yaml"]
    assert s.schema == "v1"


# ---------------------------------------------------------------- v1 build-time names (hclfmt)

GO_SPLIT = """\
schema_version: 1
context:
  version: 2.24.0
  go_mod: example.invalid/hcl
recipe:
  name: hcl-split
  version: ${{ version }}
build:
  number: 1
outputs:
  - package:
      name: hclfmt
    requirements:
      build:
        - go-licenses
    build:
      script:
        env:
          GOPATH: ${{ SRC_DIR }}
          GOCACHE: ${{ BUILD_PREFIX }}/go-cache
        content:
          - cd ${{ go_mod }}/cmd/hclfmt
          - go-licenses save . --save_path "${{ SRC_DIR }}/library_licenses"
    tests:
      - script:
          - hclfmt -version
"""


def _v1(text: str) -> RecipeSource:
    return RecipeSource(name="demo", origin="test", kind="directory", files={"recipe.yaml": text.encode()})


@pytest.mark.parametrize("pair", [LINUX_64, WIN_64])
def test_v1_build_time_names_in_script_env_get_stand_ins(pair: PlatformPair) -> None:
    result = render_source(_v1(GO_SPLIT), pair, pinning(pair), ENV)
    assert result.ok, result.error
    [out] = result.outputs
    assert out.name == "hclfmt" and out.version == "2.24.0"
    assert "SRC_DIR" not in out.variant and "BUILD_PREFIX" not in out.variant
    notes = [n for n in result.notes if "defined only at build time" in n]
    assert notes and all(n.startswith("demo/recipe/recipe.yaml:") for n in notes)
    assert {"SRC_DIR", "BUILD_PREFIX"} <= {w for n in notes for w in ("SRC_DIR", "BUILD_PREFIX") if w in n}


def test_v1_other_undefined_names_still_fail() -> None:
    text = GO_SPLIT.replace("${{ SRC_DIR }}\n", "${{ not_a_build_name }}\n")
    result = render_source(_v1(text), LINUX_64, pinning(LINUX_64), ENV)
    assert not result.ok
    assert "undefined" in result.error


def test_git_names_need_a_git_source() -> None:
    """conda-build's meta_vars reads them from the git checkout only: a url source leaves them unset."""
    meta = GIT_VERSION.replace("  git_url: https://example.invalid/mingw.git\n  git_rev: dc42231f0\n", "  url: x\n")
    with pytest.raises(UndefinedNameError, match="GIT_DESCRIBE_TAG"):
        render_v0(v0(meta), LINUX_64, pinning(LINUX_64), ENV)
    listed = GIT_VERSION.replace("  git_url:", "  - git_url:").replace("  git_rev:", "    git_rev:")
    assert render_v0(v0(listed), LINUX_64, pinning(LINUX_64), ENV).outputs[0].version == "0.0.0.r0.g0000000"
