"""v1 renders split into one rattler-build call per variant combination store what one call stores.

Recipes written here, modeled on ctng-compiler-activation-feedstock: a zip of cross-target rows, gcc
and clang version lists, outputs named after the cross target, a g++ output pinning the gcc output
exactly, outputs skipped by a context expression, clang outputs only some outputs use the clang
version for, and a word that only an activation script names.
"""

from __future__ import annotations

import pytest

import newarch.render.v1 as v1
from newarch.model import PlatformPair
from newarch.render import default_env, render_source
from newarch.render.pinning import Variants
from newarch.render.v1_variants import has_exact_pins, rattler_keys, recipe_variants, split_variants, used_keys
from newarch.sources.recipes import RecipeSource

WIN_ARM64 = PlatformPair("win-arm64", "win-64")
LINUX_64 = PlatformPair("linux-64", "linux-64")
OSX_ARM64 = PlatformPair("osx-arm64", "osx-64")
PLATFORMS = {"target_platform": "linux-64", "build_platform": "linux-64", "host_platform": "linux-64"}

CTNG_LIKE = """\
schema_version: 1
context:
  gcc_version: ${{ gcc_version | default("15.2.0") }}
  gcc_major: ${{ (gcc_version | split("."))[0] | int }}
  default_skip: ${{ cross_target_platform == "linux-s390x" or ((cross_target_platform in ("osx-64", "osx-arm64") or osx) and gcc_major|int < 15) }}
recipe:
  name: ctnglike-activation
  version: ${{ gcc_version }}
build:
  number: 0
outputs:
  - package:
      name: gcclike_${{ cross_target_platform }}
    build:
      skip: default_skip
    requirements:
      run:
        - gcclike_impl_${{ cross_target_platform }} ${{ gcc_version }}.*
        - if: cross_target_platform not in ("osx-64", "osx-arm64")
          then: binutils_${{ cross_target_platform }}
          else: cctools_${{ cross_target_platform }}
        - if: cross_stdlib != "None"
          then: ${{ cross_stdlib }}_${{ cross_target_platform }}
      run_exports:
        strong:
          - libgcclike >=${{ gcc_major }}
  - package:
      name: gxxlike_${{ cross_target_platform }}
    build:
      skip: default_skip
    requirements:
      run:
        - ${{ pin_subpackage("gcclike_" ~ cross_target_platform, exact=True) }}
        - if: cross_target_platform in ("osx-64", "osx-arm64")
          then: libcxx-headers ${{ clang_version }}.*
          else: binutils_${{ cross_target_platform }}
      run_exports:
        strong:
          - if: cross_target_platform in ("osx-64", "osx-arm64")
            then: libcxx >=${{ clang_version }}
            else: libstdcxx >=${{ gcc_major }}
  - package:
      name: gfortranlike_${{ cross_target_platform }}
    build:
      skip: default_skip
    requirements:
      run:
        - ${{ pin_subpackage("gcclike_" ~ cross_target_platform, exact=True) }}
        - gfortranlike_impl_${{ cross_target_platform }} ${{ gcc_version }}.*
  - package:
      name: clanglike_${{ cross_target_platform }}
      version: ${{ clang_version }}
    build:
      skip: default_skip or win or cross_target_platform not in ("linux-64", "linux-aarch64")
    requirements:
      run:
        - clang ${{ clang_version }}.*
        - libgcc-devel_${{ cross_target_platform }} ${{ gcc_version }}.*
about:
  license: BSD-3-Clause
"""

CTNG_VARIANTS = """\
gcc_version:
  - 15.2.0
  - 14.3.0
cross_target_platform:
  - linux-64
  - linux-aarch64
  - linux-s390x
  - osx-arm64
triplet:
  - x86_64-conda-linux-gnu
  - aarch64-conda-linux-gnu
  - s390x-conda-linux-gnu
  - arm64-apple-darwin20.0.0
cross_stdlib:
  - sysroot
  - sysroot
  - sysroot
  - None
clang_version:
  - 21.1
  - 20.1
zip_keys:
  - - cross_target_platform
    - triplet
    - cross_stdlib
"""

ACTIVATE_SH = 'if [ -f "${PREFIX}/bin/python" ]; then echo "${triplet}"; fi\n'


def pinning() -> Variants:
    return Variants(
        {"python": ["3.12.* *_cpython", "3.13.* *_cp313"], "is_python_min": ["true", "false"]},
        [["python", "is_python_min"]],
    )


def ctng_source(recipe: str = CTNG_LIKE, extra: dict[str, str] | None = None) -> RecipeSource:
    files = {"recipe.yaml": recipe, "conda_build_config.yaml": CTNG_VARIANTS, "activate-gcc.sh": ACTIVATE_SH}
    files.update(extra or {})
    return RecipeSource(
        name="ctnglike", origin="<test>", kind="directory", files={k: v.encode() for k, v in files.items()}
    )


def stored(src: RecipeSource, pair: PlatformPair, monkeypatch: pytest.MonkeyPatch, split: bool):
    with monkeypatch.context() as m:
        m.setattr(v1, "render_learned", lambda *a, **k: None)  # learned renders: test_render_v1_learn.py
        if not split:
            m.setattr(v1, "has_exact_pins", lambda text: False)
        result = render_source(src, pair, pinning(), default_env(pair))
        counts = v1.render_counts()
    assert result.ok, result.error
    return [o.to_dict() for o in result.outputs], result.notes, counts


@pytest.mark.parametrize("pair", [LINUX_64, WIN_ARM64, OSX_ARM64], ids=lambda p: p.key)
def test_split_render_stores_what_one_render_stores(pair, monkeypatch):
    src = ctng_source()
    split_out, split_notes, split_counts = stored(src, pair, monkeypatch, split=True)
    whole_out, whole_notes, whole_counts = stored(src, pair, monkeypatch, split=False)
    assert split_out == whole_out
    assert split_notes == whole_notes
    # the split render asked rattler-build once per combination of gcc x cross-target row x clang
    # (2 x 4 x 2 = 16), the whole one once (plus one skip-recovery call each, when an output vanished)
    probe_calls = whole_counts["calls"] - 1
    assert split_counts["calls"] - probe_calls >= 16 > whole_counts["calls"]
    assert split_counts["rendered"] == whole_counts["rendered"]


def test_split_render_content_on_linux(monkeypatch):
    out, _, _ = stored(ctng_source(), LINUX_64, monkeypatch, split=True)
    names = {(o["name"], o["version"]) for o in out}
    # s390x rows are skipped by the context expression; osx cross targets need gcc >= 15
    assert not any("s390x" in n for n, _ in names)
    assert ("gcclike_osx-arm64", "15.2.0") in names and ("gcclike_osx-arm64", "14.3.0") not in names
    # gfortran does not use clang_version: one output per (cross target, gcc), not per clang version
    gfortran = [o for o in out if o["name"] == "gfortranlike_linux-64"]
    assert sorted(o["variant"]["gcc_version"] for o in gfortran) == ["14.3.0", "15.2.0"]
    assert all("clang_version" not in o["variant"] for o in gfortran)
    # g++ for an osx target uses clang_version: one per clang version
    gxx = [o for o in out if o["name"] == "gxxlike_osx-arm64"]
    assert sorted(o["variant"]["clang_version"] for o in gxx) == ["20.1", "21.1"]
    # the exact pin names the gcc output's build of the same combination
    [pin] = [r for r in gxx[0]["requirements"]["run"] if r["name"] == "gcclike_osx-arm64"]
    assert pin["spec"].startswith("gcclike_osx-arm64 ==15.2.0 h")


# The pinned output is skipped where the pinning one is not: rattler-build's whole render resolves the
# pin to another combination's build; a part holding that one combination fails (MissingOutput)
# and is rendered whole again.
PIN_ON_SKIPPED = """\
schema_version: 1
recipe:
  name: pinskip
  version: "1.0"
outputs:
  - package:
      name: libpinskip
    build:
      skip: flavor == "b"
    requirements:
      run:
        - zlib
  - package:
      name: pinskip-tools
    requirements:
      run:
        - ${{ pin_subpackage("libpinskip", exact=True) }}
        - tool-${{ flavor }}
about:
  license: MIT
"""

PIN_ON_SKIPPED_VARIANTS = "flavor:\n" + "".join(f"  - {x}\n" for x in "abcdefghij")


def test_pin_on_a_skipped_output_falls_back_to_the_whole_render(monkeypatch):
    src = RecipeSource(
        name="pinskip",
        origin="<test>",
        kind="directory",
        files={"recipe.yaml": PIN_ON_SKIPPED.encode(), "conda_build_config.yaml": PIN_ON_SKIPPED_VARIANTS.encode()},
    )
    split_out, _, counts = stored(src, LINUX_64, monkeypatch, split=True)
    whole_out, _, _ = stored(src, LINUX_64, monkeypatch, split=False)
    assert split_out == whole_out
    tools = [o for o in split_out if o["name"] == "pinskip-tools"]
    assert sorted(o["variant"]["flavor"] for o in tools) == list("abcdefghij")
    # parts tried until the "b" part fails, then the whole render
    assert counts["calls"] == 1


# ----------------------------------------------------------------------------- the pieces


def test_rattler_keys_leave_out_a_key_only_a_script_names():
    src = ctng_source()
    merged = pinning().merged(recipe_variants(src, LINUX_64))
    texts = [src.text(r) or "" for r in sorted(src.files)]
    restricted = merged.restricted(used_keys(texts, merged))
    assert "python" in restricted.values  # named in activate-gcc.sh: newarch passes it on
    keys = rattler_keys(restricted, CTNG_LIKE, {}, PLATFORMS)
    assert {"gcc_version", "cross_target_platform", "cross_stdlib", "clang_version", "target_platform"} & set(
        restricted.values
    ) <= keys
    assert "python" not in keys and "is_python_min" not in keys


def test_rattler_keys_count_a_key_a_templated_requirement_can_spell():
    v = Variants({"blas_impl": ["openblas", "mkl"], "openblas": ["0.3.28", "0.3.29"], "mkl": ["2024", "2025"]})
    stage0 = {"requirements": {"host": ["${{ blas_impl }}", "libblas * *${{ blas_impl }}"]}}
    text = "requirements:\n  host:\n    - ${{ blas_impl }}\n"
    assert rattler_keys(v, text, stage0, PLATFORMS) == {"blas_impl", "openblas", "mkl"}
    # a template naming a key reads as that key's values: `${{ c_stdlib }}_${{ target_platform }}`
    # spells sysroot_linux-64, never is_python_min
    v2 = Variants({"c_stdlib": ["sysroot"], "is_python_min": ["true", "false"]})
    stage0 = {"requirements": {"run": ["${{ c_stdlib }}_${{ target_platform }}"]}}
    assert rattler_keys(v2, "- ${{ c_stdlib }}_${{ target_platform }}", stage0, PLATFORMS) == {"c_stdlib"}
    # an unknown template can spell anything
    stage0 = {"requirements": {"run": ["${{ something }}"]}}
    assert rattler_keys(v2, "- ${{ something }}", stage0, PLATFORMS) == {"c_stdlib", "is_python_min"}
    # pins never render to a bare name
    stage0 = {"requirements": {"run": ["${{ pin_subpackage(name, exact=True) }}"]}}
    assert rattler_keys(v2, "- x", stage0, PLATFORMS) == set()


def test_split_variants_cuts_zip_rows_and_keeps_uncombined_keys_whole():
    v = Variants(
        {
            "cross_target_platform": ["linux-64", "linux-aarch64", "osx-arm64"],
            "triplet": ["x86_64", "aarch64", "arm64"],
            "gcc_version": ["15", "14"],
            "python": ["3.12", "3.13"],
            "single": ["x"],
        },
        [["cross_target_platform", "triplet"]],
    )
    parts = split_variants(v, {"cross_target_platform", "gcc_version", "single"}, above=4)
    assert len(parts) == 6
    rows = {(p.values["cross_target_platform"][0], p.values["triplet"][0], p.values["gcc_version"][0]) for p in parts}
    assert ("osx-arm64", "arm64", "14") in rows and ("osx-arm64", "x86_64", "14") not in rows
    assert all(p.values["python"] == ["3.12", "3.13"] for p in parts)  # not combined: kept whole
    assert split_variants(v, {"gcc_version"}) == [v]  # 2 combinations: not worth a split
    assert len(split_variants(v, {"gcc_version"}, above=1)) == 2
    bad = Variants({"a": ["1", "2", "3"], "b": ["x", "y"], "c": ["1", "2", "3"]}, [["a", "b"]])
    assert split_variants(bad, {"a", "b", "c"}) == [bad]  # rattler-build reports the zip, whole


def test_has_exact_pins():
    assert has_exact_pins('- ${{ pin_subpackage("gcc_" ~ cross_target_platform, exact=True) }}')
    assert has_exact_pins("- ${{ pin_subpackage('lib', exact=true) }}")
    assert not has_exact_pins("- ${{ pin_subpackage('lib', upper_bound='x.x') }}")
