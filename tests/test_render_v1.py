"""v1 (recipe.yaml) rendering with py-rattler-build: recipes written here, modeled on real feedstocks."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from fsguard import guard

from newarch.model import PlatformPair
from newarch.render.pinning import Variants, default_pinning_path, load_pinning
from newarch.render import default_env, parse_env_overrides, render_source
from newarch.render.v1 import PROBE_COMBINATIONS, render_counts
from newarch.render.v1_outputs import add_skip_probes, probe_expression
from newarch.render.v1_recipe import controlled_environ, env_names
from newarch.render.v1_variants import cap_variants, combinations, used_keys
from newarch.sources.recipes import RecipeSource, open_source

WIN_ARM64 = PlatformPair("win-arm64", "win-64")
WIN_64 = PlatformPair("win-64", "win-64")
LINUX_64 = PlatformPair("linux-64", "linux-64")
OSX_ARM64 = PlatformPair("osx-arm64", "osx-64")


def pinning_for(pair: PlatformPair) -> Variants:
    """A tiny pinning shaped like conda-forge's: win-arm64 has python 3.14 only."""
    if pair.target == "win-arm64":
        py, is_min, py_min = ["3.14.* *_cp314"], ["true"], ["3.14"]
    else:
        py, is_min, py_min = ["3.12.* *_cpython", "3.13.* *_cp313"], ["true", "false"], ["3.12"]
    values = {
        "python": py,
        "is_python_min": is_min,
        "python_min": py_min,
        "zstd": ["1.5"],
        "openssl": ["3.5"],
        "unused_key": ["a", "b", "c"],
    }
    if pair.target.startswith("win"):
        values.update({"c_compiler": ["vs2022"], "cxx_compiler": ["vs2022"], "c_stdlib": ["vs"]})
    elif pair.target.startswith("linux"):
        values.update(
            {
                "c_compiler": ["gcc"],
                "cxx_compiler": ["gxx"],
                "c_compiler_version": ["14"],
                "cxx_compiler_version": ["14"],
                "c_stdlib": ["sysroot"],
                "c_stdlib_version": ["2.17"],
            }
        )
    else:
        values.update(
            {
                "c_compiler": ["clang"],
                "cxx_compiler": ["clangxx"],
                "c_compiler_version": ["19"],
                "cxx_compiler_version": ["19"],
                "c_stdlib": ["macosx_deployment_target"],
                "c_stdlib_version": ["11.0"],
            }
        )
    return Variants(values, [["python", "is_python_min"]])


def source(files: dict[str, str], name: str = "demo") -> RecipeSource:
    return RecipeSource(name=name, origin="<test>", kind="directory", files={k: v.encode() for k, v in files.items()})


def render(src: RecipeSource, pair: PlatformPair, env: dict[str, str] | None = None):
    result = render_source(src, pair, pinning_for(pair), default_env(pair) if env is None else env)
    assert result.ok, result.error
    return result


# Modeled on conda-feedstock: a backport needed only below python 3.14, cross-python when cross-compiling.
CONDA_LIKE = """\
schema_version: 1
context:
  version: "26.7.1"
package:
  name: condalike
  version: ${{ version }}
build:
  number: 0
requirements:
  build:
    - if: build_platform != target_platform
      then:
        - python
        - cross-python_${{ target_platform }}
    - if: win
      then:
        - m2-bash
  host:
    - python
    - pip
  run:
    - archspec >=0.2.3
    - if: match(python, "<3.14")
      then:
        - backports.zstd >=1.3.0
    - python
  run_constraints:
    - conda-build >=25.9
about:
  homepage: https://conda.io
  license: BSD-3-Clause
"""

# Modeled on mamba-feedstock: outputs, variants.yaml with a zip, a CI-only stubs output.
MAMBA_LIKE = """\
context:
  version: "2.6.1"
recipe:
  name: mambalike-split
  version: ${{ version }}
build:
  number: 0
outputs:
  - package:
      name: libmambalike
    requirements:
      run_exports:
        - ${{ pin_subpackage('libmambalike', upper_bound='x.x') }}
      build:
        - ${{ compiler('cxx') }}
        - ${{ stdlib("c") }}
        - cmake
      host:
        - openssl
        - zstd
        - ${{ "winreg" if win }}
  - package:
      name: libmambalikepy
    requirements:
      build:
        - ${{ compiler('cxx') }}
        - if: build_platform != target_platform
          then:
            - python
            - cross-python_${{ target_platform }}
            - pybind11
      host:
        - python
        - pybind11
        - pybind11-abi
        - ${{ pin_subpackage('libmambalike', exact=True) }}
      run:
        - python
        - ${{ pin_subpackage('libmambalike', exact=True) }}
      ignore_run_exports:
        from_package:
          - openssl
  - package:
      name: libmambalikepy-stubs
    build:
      noarch: python
      skip: env.exists('CI') and not (linux and x86_64)
    requirements:
      host:
        - python >=${{ python_min }}
        - libmambalikepy ==${{ version }}
      run_constraints:
        - libmambalikepy ==${{ version }}
"""

MAMBA_VARIANTS = """\
pybind11:
  - 2
  - 3
pybind11_abi:
  - 4
  - 11
zip_keys:
  - [pybind11, pybind11_abi]
"""


def by_name(result, name):
    return [o for o in result.outputs if o.name == name]


def names(reqs):
    return [r.name for r in reqs]


# ----------------------------------------------------------------------------- conda-like


def test_backport_absent_on_win_arm64_python_314_only():
    res = render(source({"recipe.yaml": CONDA_LIKE}), WIN_ARM64)
    [out] = res.outputs
    assert out.variant == {"python": "3.14.* *_cp314"}
    assert "backports.zstd" not in names(out.reqs("run"))
    assert any(
        d.name == "backports.zstd" and d.section == "run" and d.condition == 'match(python, "<3.14")'
        for d in out.dropped
    )


def test_backport_present_on_win_64_python_312_with_its_condition():
    res = render(source({"recipe.yaml": CONDA_LIKE}), WIN_64)
    py312 = [o for o in res.outputs if o.variant.get("python", "").startswith("3.12")]
    assert len(py312) == 1 and len(res.outputs) == 2
    run = {r.name: r for r in py312[0].reqs("run")}
    assert run["backports.zstd"].spec == "backports.zstd >=1.3.0"
    assert run["backports.zstd"].condition == 'match(python, "<3.14")'
    assert run["archspec"].condition == ""


def test_cross_python_only_when_cross_compiling():
    cross = render(source({"recipe.yaml": CONDA_LIKE}), WIN_ARM64).outputs[0]
    build = {r.name: r.condition for r in cross.reqs("build")}
    assert build == {
        "python": "build_platform != target_platform",
        "cross-python_win-arm64": "build_platform != target_platform",
        "m2-bash": "win",
    }
    native = render(source({"recipe.yaml": CONDA_LIKE}), WIN_64).outputs[0]
    assert names(native.reqs("build")) == ["m2-bash"]
    assert {d.name for d in native.dropped if d.section == "build"} == {"python", "cross-python_win-64"}


def test_platform_branch_dropped_on_linux():
    out = render(source({"recipe.yaml": CONDA_LIKE}), LINUX_64).outputs[0]
    assert "m2-bash" not in names(out.reqs("build"))
    assert any(d.name == "m2-bash" and d.condition == "win" for d in out.dropped)
    assert [r.spec for r in out.reqs("run_constraints")] == ["conda-build >=25.9"]


# ----------------------------------------------------------------------------- mamba-like


def mamba_src():
    return source({"recipe.yaml": MAMBA_LIKE, "variants.yaml": MAMBA_VARIANTS}, "mambalike")


@pytest.mark.parametrize("pair", [WIN_ARM64, WIN_64, OSX_ARM64])
def test_stubs_noarch_python_and_skipped_with_ci_off_linux(pair):
    res = render(mamba_src(), pair)
    [stubs] = by_name(res, "libmambalikepy-stubs")
    assert stubs.noarch == "python"
    assert stubs.skip and stubs.skip_reason == "env.exists('CI') and not (linux and x86_64)"


def test_stubs_built_on_linux_64_with_ci():
    [stubs] = by_name(render(mamba_src(), LINUX_64), "libmambalikepy-stubs")
    assert stubs.noarch == "python" and not stubs.skip
    assert [r.spec for r in stubs.reqs("host")] == ["python >=3.12", "libmambalikepy ==2.6.1"]


def test_bare_host_deps_named_like_a_variant_key_get_the_variant_pin():
    # rattler-build pins `openssl` in host to the variant's `openssl: 3.5` when it builds; stage1 shows it bare
    [lib] = by_name(render(mamba_src(), WIN_ARM64), "libmambalike")
    host = {r.name: r.spec for r in lib.reqs("host")}
    assert host["openssl"] == "openssl 3.5.*" and host["zstd"] == "zstd 1.5.*"
    assert host["winreg"] == "winreg"  # not a variant key: stays bare
    assert "cmake" in names(lib.reqs("build")) and all(r.spec == r.name for r in lib.reqs("build") if r.name == "cmake")
    [py] = by_name(render(mamba_src(), WIN_ARM64), "libmambalikepy")[:1]
    assert {r.spec for r in py.reqs("run") if r.name == "python"} == {"python"}  # run is never pinned so


def test_stubs_not_skipped_without_ci():
    res = render(mamba_src(), WIN_ARM64, env={})
    [stubs] = by_name(res, "libmambalikepy-stubs")
    assert not stubs.skip


def test_cross_python_for_the_python_extension_and_pybind11_variants():
    res = render(mamba_src(), WIN_ARM64)
    py = by_name(res, "libmambalikepy")
    assert sorted(o.variant["pybind11"] for o in py) == ["2", "3"]
    for out in py:
        assert "cross-python_win-arm64" in names(out.reqs("build"))
        assert "vs2022_win-arm64" in names(out.reqs("build"))
        assert out.variant["python"] == "3.14.* *_cp314"
        assert "target_platform" not in out.variant and "libmambalike" not in out.variant
        assert out.ignore_run_exports_from == ("openssl",)
        [pin] = [r for r in out.reqs("run") if r.name == "libmambalike"]
        assert pin.spec.startswith("libmambalike ==2.6.1 h")
    native = by_name(render(mamba_src(), WIN_64), "libmambalikepy")
    assert all("cross-python_win-64" not in names(o.reqs("build")) for o in native)


def test_identical_outputs_deduplicated_and_run_exports():
    res = render(mamba_src(), WIN_ARM64)
    [lib] = by_name(res, "libmambalike")  # rendered once per pybind11 variant, identical
    assert lib.run_exports == {"weak": ("libmambalike >=2.6.1,<2.7a0",)}
    assert names(lib.reqs("build")) == ["vs2022_win-arm64", "vs_win-arm64", "cmake"]
    host = {r.name: r.condition for r in lib.reqs("host")}
    assert host["winreg"] == "win"
    linux_lib = by_name(render(mamba_src(), LINUX_64), "libmambalike")[0]
    assert "winreg" not in names(linux_lib.reqs("host"))
    assert any(d.name == "winreg" and d.condition == "win" for d in linux_lib.dropped)


# ----------------------------------------------------------------------------- environment

ENV_RECIPE = """\
package: {name: envdemo, version: "1"}
requirements:
  run:
    - if: env.exists("CI")
      then: on-ci
      else: off-ci
"""


def test_env_exists_ci_both_ways_and_user_env_ignored(monkeypatch):
    monkeypatch.setenv("CI", "from-the-user")
    src = source({"recipe.yaml": ENV_RECIPE})
    with_ci = render(src, LINUX_64)
    assert names(with_ci.outputs[0].reqs("run")) == ["on-ci"]
    assert with_ci.outputs[0].reqs("run")[0].condition == 'env.exists("CI")'
    without = render(src, LINUX_64, env=parse_env_overrides(["-CI"], default_env(LINUX_64)))
    assert names(without.outputs[0].reqs("run")) == ["off-ci"]
    assert without.outputs[0].reqs("run")[0].condition == 'not (env.exists("CI"))'
    assert os.environ["CI"] == "from-the-user"


def test_controlled_environ_restores_on_error(monkeypatch):
    monkeypatch.setenv("NEWARCH_TEST_KEEP", "1")
    with pytest.raises(RuntimeError), controlled_environ({"ONLY": "x"}):
        assert dict(os.environ) == {"ONLY": "x"}
        raise RuntimeError
    assert os.environ["NEWARCH_TEST_KEEP"] == "1" and "ONLY" not in os.environ


def test_env_overrides_parse():
    assert parse_env_overrides(["A=1", "B=", "-CI"], {"CI": "true"}) == {"A": "1", "B": ""}
    with pytest.raises(Exception, match="KEY=VALUE"):
        parse_env_overrides(["nonsense"], {})


# ----------------------------------------------------------------------------- skip


def test_single_output_skip_reported_not_dropped():
    text = 'package: {name: onlylinux, version: "1"}\nbuild:\n  skip: not linux\n'
    src = source({"recipe.yaml": text})
    [win] = render(src, WIN_ARM64).outputs
    assert win.skip and win.skip_reason == "not linux"
    [lin] = render(src, LINUX_64).outputs
    assert not lin.skip


def test_skip_probes_replace_skip_lists():
    d = {
        "build": {"skip": ["win"]},
        "outputs": [
            {"package": {"name": "a"}, "build": {"skip": ["osx"]}},
            {"staging": {"name": "cache"}},
            {"package": {"name": "b"}, "build": {"skip": []}},
        ],
    }
    assert add_skip_probes(d) == [["win", "osx"], ["win"]]
    assert d["build"]["skip"] == [] and d["outputs"][0]["build"]["skip"] == []
    assert d["outputs"][0]["requirements"]["run_constraints"] == [
        "newarch-output-probe-0",
        {"if": "win", "then": ["newarch-skip-probe-0-0"]},
        {"if": "osx", "then": ["newarch-skip-probe-0-1"]},
    ]
    assert d["outputs"][2]["requirements"]["run_constraints"][0] == "newarch-output-probe-1"


# Modeled on backports.zstd-feedstock: two outputs share a name (compiled below 3.14, one noarch build).
SAME_NAME = """recipe: {name: backport-split, version: "1.5.0"}
outputs:
  - package: {name: backport}
    build:
      skip: match(python, ">=3.14")
    requirements:
      host: [python, zstd]
      run: [python]
  - package: {name: backport}
    build:
      skip: not (target_platform == "linux-64" and match(python, "3.13.*"))
      noarch: generic
    requirements:
      run:
        - python >=3.14
"""


def test_outputs_sharing_a_name_keep_their_own_skip_condition():
    src = source({"recipe.yaml": SAME_NAME})
    arm = render(src, WIN_ARM64).outputs
    compiled = [o for o in arm if not o.noarch]
    generic = [o for o in arm if o.noarch == "generic"]
    assert [o.skip_reason for o in compiled] == ['match(python, ">=3.14")']
    assert [o.skip_reason for o in generic] == ['not (target_platform == "linux-64" and match(python, "3.13.*"))']
    assert not any(r.name.startswith("newarch-") for o in arm for r in o.reqs("run_constraints"))
    linux = render(src, LINUX_64).outputs
    built = sorted((o.noarch, o.variant.get("python", "")) for o in linux if not o.skip)
    assert built == [("", "3.12.* *_cpython"), ("", "3.13.* *_cp313"), ("generic", "3.13.* *_cp313")]
    # an output built on the platform is listed with its built variants only (not its skipped ones)
    assert [(o.skip, r.spec) for o in linux if o.noarch for r in o.reqs("run")] == [(False, "python >=3.14")]


# Modeled on ctng-compiler-activation-feedstock: one activation package per cross target and compiler
# version (a zip of 6 targets x 4 versions), a shared skip expression in the context, and outputs that
# are skipped wholesale on some build platforms.
CROSS_MATRIX = """\
context:
  version: "15.2.0"
  default_skip: ${{ win and cross_target_platform != "win-64" }}
recipe: {name: toolchain-activation, version: "${{ version }}"}
outputs:
  - package: {name: "gcc_${{ cross_target_platform }}"}
    build:
      skip: default_skip
    requirements:
      run:
        - binutils_${{ cross_target_platform }} >=${{ binutils_version }}
        - gcc_impl_${{ cross_target_platform }} ${{ gcc_version }}.*
  - package: {name: "clang_${{ cross_target_platform }}"}
    build:
      skip: default_skip or win or cross_target_platform == "win-64"
    requirements:
      run:
        - clang ${{ clang_version }}.*
  - package: {name: "gfortran_${{ cross_target_platform }}"}
    build:
      skip:
        - ${{ win }}
    requirements:
      run:
        - gfortran_impl_${{ cross_target_platform }} ${{ gcc_version }}.*
"""
CROSS_VARIANTS = """\
cross_target_platform: [linux-64, linux-aarch64, linux-ppc64le, win-64, osx-64, osx-arm64]
triplet: [x86_64-linux, aarch64-linux, ppc64le-linux, x86_64-mingw, x86_64-darwin, arm64-darwin]
gcc_version: ["15.2", "14.3", "13.4", "12.4"]
clang_version: ["21", "20", "19", "18"]
binutils_version: ["2.45"]
zip_keys:
  - [cross_target_platform, triplet]
"""


def test_outputs_skipped_wholesale_are_probed_on_a_bounded_matrix():
    src = source({"recipe.yaml": CROSS_MATRIX, "variants.yaml": CROSS_VARIANTS}, "toolchain")
    res = render(src, WIN_ARM64)
    counts = render_counts()
    built = sorted({o.name for o in res.outputs if not o.skip})
    assert built == ["gcc_win-64"]
    clang = by_name(res, "clang_linux-64")
    assert clang and all(o.skip for o in clang)
    assert {o.skip_reason for o in clang} == {'default_skip or win or cross_target_platform == "win-64"'}
    fortran = [o for o in res.outputs if o.name.startswith("gfortran_")]
    assert fortran and all(o.skip and o.skip_reason == "${{ win }}" for o in fortran)
    # the two outputs that vanished are rendered again on at most PROBE_COMBINATIONS variant
    # combinations each, not on the 6 x 4 x 4 matrix
    assert 0 < counts["probed"] <= 2 * PROBE_COMBINATIONS < 6 * 4 * 4
    assert {o.variant["cross_target_platform"] for o in clang} == {"linux-64"}


def test_nothing_is_probed_when_no_output_vanishes():
    src = source({"recipe.yaml": CROSS_MATRIX, "variants.yaml": CROSS_VARIANTS}, "toolchain")
    res = render(src, LINUX_64)
    assert not any(o.skip for o in res.outputs)
    counts = render_counts()
    assert counts["probed"] == 0 and counts["rendered"] >= len(res.outputs) == 6 * 4 + 5 * 4 + 6 * 4
    assert sorted({o.name for o in res.outputs if o.name.startswith("clang_")}) == [
        "clang_linux-64",
        "clang_linux-aarch64",
        "clang_linux-ppc64le",
        "clang_osx-64",
        "clang_osx-arm64",
    ]


# Modeled on a real v1 recipe whose skip item is a full template: rattler-build reads it as the
# expression inside; written into an ``if:`` unchanged it would not parse.
WRAPPED_SKIP = """\
package: {name: unixonly, version: "0.4"}
build:
  skip:
    - ${{ win or match(python, "<3.13") }}
requirements:
  host: [python]
"""


def test_skip_written_as_a_template_renders_and_names_its_reason():
    src = source({"recipe.yaml": WRAPPED_SKIP})
    win = render(src, WIN_ARM64).outputs
    assert [(o.skip, o.skip_reason) for o in win] == [(True, '${{ win or match(python, "<3.13") }}')]
    linux = render(src, LINUX_64).outputs
    assert sorted((o.skip, o.variant["python"]) for o in linux) == [
        (False, "3.13.* *_cp313"),
        (True, "3.12.* *_cpython"),
    ]


def test_probe_expressions():
    assert probe_expression("${{ win }}") == "win"
    assert probe_expression("  ${{ not (linux and x86_64) }} ") == "not (linux and x86_64)"
    assert probe_expression("win and ${{ x }}") is None
    assert probe_expression('{"if": "win"}') is None
    assert probe_expression("default_skip or osx") == "default_skip or osx"


def test_env_names_found_in_the_recipe():
    assert env_names(['- if: env.exists("CI")', "x: ${{ env.get('FEEDSTOCK_NAME', default='') }}"]) == {
        "CI",
        "FEEDSTOCK_NAME",
    }
    assert env_names(["x: ${{ env.get(name) }}"]) is None
    assert env_names(["no environment here"]) == set()


# ----------------------------------------------------------------------------- relaxing


def test_relative_homepage_is_relaxed_with_a_note():
    text = CONDA_LIKE.replace("homepage: https://conda.io", "homepage: conda.io/docs")
    res = render(source({"recipe.yaml": text}), WIN_64)
    assert len(res.outputs) == 2
    [note] = res.notes
    line = text.splitlines().index("  homepage: conda.io/docs") + 1
    assert f"relaxed line {line}: removed about.homepage 'conda.io/docs'" in note


def test_bare_version_spec_from_context_is_relaxed_with_a_note():
    text = """\
context:
  python_min: "3.9"
package: {name: pyc, version: "2.22"}
build:
  noarch: python
requirements:
  host:
    - python ${{ python_min }}
  run:
    - python >=${{ python_min }}
"""
    res = render(source({"recipe.yaml": text}), WIN_ARM64)
    [out] = res.outputs
    assert [r.spec for r in out.reqs("host")] == ["python 3.9.*"]
    line = text.splitlines().index("    - python ${{ python_min }}") + 1
    assert res.notes == [
        f"relaxed line {line}: spec 'python ${{{{ python_min }}}}' (renders to '3.9') read as "
        "'3.9.*', as conda reads a bare version"
    ]


# ----------------------------------------------------------------------------- errors


@pytest.mark.parametrize(
    "text, line, words",
    [
        ('package: {name: p, version: "1"\nbuild: {number: 0}\n', 2, "YAML"),
        ('package: {name: p, version: "1"}\nrequirements:\n  run:\n    - ${{ nosuchvar }}\n', 4, "undefined"),
    ],
)
def test_bad_recipes_give_one_located_error(text, line, words):
    res = render_source(source({"recipe.yaml": text}, "bad"), LINUX_64, pinning_for(LINUX_64))
    assert not res.ok and not res.outputs
    assert res.error.startswith(f"bad/recipe/recipe.yaml:{line}: ") and words in res.error
    assert "\n" not in res.error


def test_files_outside_the_recipe_are_never_written(tmp_path):
    """The recipe's files are copied into a work directory for rattler-build: names that climb out of
    it (``..``, absolute) are skipped. Under the guard, a write anywhere else fails the test at once, and
    the temporary and working directories must be empty afterwards."""
    src = source(
        {
            "recipe.yaml": CONDA_LIKE,
            "../escape.txt": "x",
            "sub/../../escape2.txt": "x",
            "/abs.txt": "y",
            "build.sh": "make\n",
        }
    )
    pinning = pinning_for(LINUX_64)
    with guard(tmp_path):
        result = render_source(src, LINUX_64, pinning, default_env(LINUX_64))
    assert result.ok, result.error
    assert {o.name for o in result.outputs} == {"condalike"}
    assert not Path("/abs.txt").exists()


# ----------------------------------------------------------------------------- variants


def test_used_keys_from_words_and_toolchain_calls():
    v = Variants(
        {
            k: ["1"]
            for k in (
                "python",
                "c_compiler",
                "c_compiler_version",
                "c_stdlib_version",
                "cuda_compiler",
                "zlib",
                "numpy",
            )
        }
    )
    keys = used_keys(
        [
            "requirements:\n  build:\n    - ${{ compiler('c') }}\n    - ${{ stdlib('c') }}\n"
            "  host:\n    - zlib\n    - python >=3.9\n"
        ],
        v,
    )
    assert keys == {"python", "c_compiler", "c_compiler_version", "c_stdlib_version", "zlib"}


def test_variant_cap_halves_and_reports_what_was_cut():
    v = Variants(
        {
            "python": [f"3.{i}" for i in range(10)],
            "is_python_min": ["t"] + ["f"] * 9,
            "numpy": ["1", "2"],
            "libfoo": ["a", "b", "c", "d"],
        },
        [["python", "is_python_min"]],
    )
    assert combinations(v) == 80
    capped, notes = cap_variants(v, cap=20)
    assert combinations(capped) <= 20
    # 10 pythons -> 5 -> 3 (largest list first), then libfoo 4 -> 2: 3 * 2 * 2 = 12 <= 20
    assert capped.values["python"] == ["3.0", "3.1", "3.2"]
    assert capped.values["is_python_min"] == ["t", "f", "f"]
    assert capped.values["libfoo"] == ["a", "b"] and capped.values["numpy"] == ["1", "2"]
    assert combinations(capped) == 12
    assert any(n.startswith("variants cut") and "python kept" in n and "'3.9'" in n for n in notes)
    assert not any("numpy" in n for n in notes)
    same, none = cap_variants(v, cap=100)
    assert same is v and none == []


def test_recipe_using_many_variant_values_is_capped_and_noted():
    values = "\n".join(f"  - {i}" for i in range(40))
    res = render(
        source(
            {
                "recipe.yaml": 'package: {name: many, version: "1"}\nrequirements:\n  host:\n'
                "    - libaaa\n    - libbbb\n    - libccc\n",
                "variants.yaml": f"libaaa:\n{values}\nlibbbb:\n{values}\nlibccc:\n{values}\n",
            }
        ),
        LINUX_64,
    )
    assert 0 < len(res.outputs) <= 256
    assert any(n.startswith("variants cut") for n in res.notes)


# ----------------------------------------------------------------------------- real data

MIRRORS = os.environ.get("NEWARCH_MIRRORS")


def _real_pinning(pair):
    path = default_pinning_path()
    if path is None:
        pytest.skip("conda-forge pinning (../shared/data) not available")
    return load_pinning(path, pair)


def _mirror(name: str) -> Path:
    if not MIRRORS:
        pytest.skip("NEWARCH_MIRRORS not set")
    p = Path(MIRRORS) / f"conda-forge+{name}-feedstock"
    if not p.exists():
        pytest.skip(f"{p} not fetched")
    return p


@pytest.mark.realdata
def test_real_conda_backport():
    src = open_source(_mirror("conda"))
    arm = render_source(src, WIN_ARM64, _real_pinning(WIN_ARM64))
    assert arm.ok and all("backports.zstd" not in names(o.reqs("run")) for o in arm.outputs)
    win = render_source(src, WIN_64, _real_pinning(WIN_64))
    py312 = [o for o in win.outputs if o.variant.get("python", "").startswith("3.12")]
    assert py312 and all("backports.zstd" in names(o.reqs("run")) for o in py312)


@pytest.mark.realdata
@pytest.mark.parametrize("pair", [WIN_ARM64, WIN_64, LINUX_64, OSX_ARM64])
def test_real_mamba(pair):
    res = render_source(open_source(_mirror("mamba")), pair, _real_pinning(pair))
    assert res.ok, res.error
    stubs = by_name(res, "libmambapy-stubs")
    assert stubs and all(o.noarch == "python" for o in stubs)
    assert all(o.skip == (pair != LINUX_64) for o in stubs)
    if pair == WIN_ARM64:
        assert all("cross-python_win-arm64" in names(o.reqs("build")) for o in by_name(res, "libmambapy"))


# ----------------------------------------------------------------------------- boolean variants

# Modeled on chardet-feedstock: a boolean variant key selects a noarch fallback built on linux-64 only.
NOARCH_FALLBACK = """\
package: {name: fallback, version: "7.6.0"}
build:
  noarch: ${{ "python" if use_noarch }}
requirements:
  build:
    - if: not use_noarch
      then:
        - ${{ compiler('c') }}
  host:
    - if: use_noarch
      then: python ${{ python_min }}.*
      else: python
    - pip
"""
NOARCH_FALLBACK_CBC = "use_noarch:\n  - true       # [linux64]\n  - false\n"


def test_boolean_variant_values_keep_their_meaning():
    src = source({"recipe.yaml": NOARCH_FALLBACK, "conda_build_config.yaml": NOARCH_FALLBACK_CBC})
    [arm] = render(src, WIN_ARM64).outputs
    assert arm.noarch == "" and arm.variant["use_noarch"] == "false"
    # the bare host python gets the variant's pin, as rattler-build builds it
    assert [(r.spec, r.condition) for r in arm.reqs("host")] == [
        ("python 3.14.* *_cp314", "not (use_noarch)"),
        ("pip", ""),
    ]
    assert [(r.name, r.condition) for r in arm.reqs("build")] == [("vs2022_win-arm64", "not use_noarch")]
    assert [(d.section, d.name, d.condition) for d in arm.dropped] == [("host", "python", "use_noarch")]
    linux = render(src, LINUX_64).outputs
    noarch = [o for o in linux if o.noarch == "python"]
    assert len(noarch) == 1 and noarch[0].variant["use_noarch"] == "true"
    assert [(r.spec, r.condition) for r in noarch[0].reqs("host")] == [("python 3.12.*", "use_noarch"), ("pip", "")]
    assert len([o for o in linux if not o.noarch]) == 2  # one per python of the pinning


def test_recipe_yaml_written_once_per_text_and_never_stale():
    """Renders in a row of one recipe keep the work dir's recipe.yaml (a snapshot renders every pair in a
    row); another recipe in between rewrites it, and each render reads its own recipe."""
    from newarch.render.v1_recipe import work_dir

    conda = source({"recipe.yaml": CONDA_LIKE}, "conda")
    mamba = mamba_src()
    first = render(conda, WIN_ARM64)
    recipe_yaml = work_dir() / "recipe.yaml"
    os.utime(recipe_yaml, ns=(1_000_000_000, 1_000_000_000))
    assert render(conda, WIN_ARM64) == first
    assert recipe_yaml.stat().st_mtime_ns == 1_000_000_000  # not written again
    other = render(mamba, WIN_ARM64)
    assert recipe_yaml.stat().st_mtime_ns != 1_000_000_000
    assert {o.name for o in other.outputs} != {o.name for o in first.outputs}
    assert render(conda, WIN_ARM64) == first
    recipe_yaml.unlink()  # removed behind its back: written again
    assert render(conda, WIN_ARM64) == first and recipe_yaml.is_file()
