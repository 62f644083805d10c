"""The v0 (meta.yaml) renderer on small self-written recipes shaped like real conda-forge ones."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from fsguard import guard, plant

from newarch.errors import RenderError, UnsafeRecipeError
from newarch.model import Output, PlatformPair
from newarch.render.pinning import Variants
from newarch.render.v0 import render_v0
from newarch.render.v0_variants import MAX_VARIANTS
from newarch.sources.recipes import RecipeSource

WIN_ARM64 = PlatformPair("win-arm64", "win-64")
WIN_64 = PlatformPair("win-64", "win-64")
LINUX_64 = PlatformPair("linux-64", "linux-64")
ENV = {"CI": "true"}


def pinning(pair: PlatformPair) -> Variants:
    """A tiny pinning with the shapes of conda-forge's (zip_keys, per-platform compilers)."""
    win = pair.target.startswith("win-")
    values = {
        "python": ["3.14.* *_cp314"] if pair.target == "win-arm64" else ["3.12.* *_cpython", "3.13.* *_cp313"],
        "is_python_min": ["true"] if pair.target == "win-arm64" else ["true", "false"],
        "c_compiler": ["vs2022" if win else "gcc"],
        "cxx_compiler": ["vs2022" if win else "gxx"],
        "c_stdlib": ["vs" if win else "sysroot"],
        "libffi": ["3.5"],
        "openssl": ["3.5"],
        "zlib": ["1"],
        "numpy": ["2"],
        "channel_targets": ["conda-forge main"],
    }
    if not win:
        values.update(c_compiler_version=["15"], cxx_compiler_version=["15"], c_stdlib_version=["2.17"])
    else:
        values["vc"] = ["14"]
    return Variants(values, [["python", "is_python_min"]])


def src(meta: str, **files: str) -> RecipeSource:
    s = RecipeSource(name="demo", origin="test", kind="directory")
    s.files["meta.yaml"] = meta.encode()
    for name, text in files.items():
        s.files[name.replace("__", "/").replace("_dot_", ".")] = text.encode()
    return s


def render(meta: str, pair: PlatformPair, **files: str) -> list[Output]:
    return render_v0(src(meta, **files), pair, pinning(pair), ENV).outputs


def names(out: Output, section: str) -> set[str]:
    return {r.name for r in out.reqs(section)}


def by_name(outputs: list[Output], name: str) -> list[Output]:
    found = [o for o in outputs if o.name == name]
    assert found, f"no output {name}: {[o.name for o in outputs]}"
    return found


# --- the checked facts, reproduced on small recipes --------------------------------------

PYTHON_LIKE = """\
{% set version = "3.14.1" %}
package:
  name: python-split
  version: {{ version }}
requirements:
  build:
    - patch  # [not win]
    - m2-patch  # [win]
outputs:
  - name: python
    script: build_base.sh  # [unix]
    script: build_base.bat  # [win]
    build:
      skip: true  # [win and int(float(vc)) < 14]
      run_exports:
        noarch:
          - python
        weak:
          - python_abi 3.14.* *_cp314
    requirements:
      build:
        - {{ compiler('c') }}
        - {{ stdlib('c') }}
        - make  # [not win]
        - openssl  # [build_platform != target_platform]
      host:
        - bzip2
        - openssl
        - readline  # [not win]
        - ncurses  # [unix]
        - xorg-libx11  # [unix]
        - libuuid  # [linux]
        - libffi
      run:
        - tzdata
  - name: libpython-static
    requirements:
      host:
        - {{ pin_subpackage('python', exact=True) }}
      run:
        - {{ pin_subpackage('python', max_pin='x.x') }}
"""


def test_python_like_host_per_platform() -> None:
    arm = by_name(render(PYTHON_LIKE, WIN_ARM64), "python")
    assert {frozenset(names(o, "host")) for o in arm} == {frozenset({"bzip2", "openssl", "libffi"})}
    linux = by_name(render(PYTHON_LIKE, LINUX_64), "python")[0]
    assert names(linux, "host") == {"bzip2", "openssl", "readline", "ncurses", "xorg-libx11", "libuuid", "libffi"}
    assert {r.condition for r in linux.reqs("host") if r.name == "readline"} == {"not win"}


def test_python_like_dropped_cross_build_deps_and_variant_pins() -> None:
    arm = by_name(render(PYTHON_LIKE, WIN_ARM64), "python")[0]
    build = {r.name: r for r in arm.reqs("build")}
    assert set(build) == {"vs2022_win-arm64", "vs_win-arm64", "openssl"}
    assert build["openssl"].condition == "build_platform != target_platform"
    assert build["openssl"].spec == "openssl 3.5.*"  # bare pinning key gets the variant (insert_variant_versions)
    dropped = {(d.section, d.name): d for d in arm.dropped}
    assert ("host", "readline") in dropped and dropped[("host", "readline")].condition == "not win"
    assert dropped[("host", "readline")].line == PYTHON_LIKE.splitlines().index("        - readline  # [not win]") + 1
    assert ("build", "make") in dropped
    assert arm.run_exports == {"noarch": ("python",), "weak": ("python_abi 3.14.* *_cp314",)}
    assert not arm.skip


def test_python_like_top_level_requirements_belong_to_no_output() -> None:
    outs = render(PYTHON_LIKE, LINUX_64)
    assert "python-split" not in {o.name for o in outs}
    assert all("patch" not in names(o, "build") for o in outs)


def test_pin_subpackage_resolves_to_the_output_name_and_version() -> None:
    static = by_name(render(PYTHON_LIKE, LINUX_64), "libpython-static")[0]
    assert [r.spec for r in static.reqs("host")] == ["python 3.14.1 *"]
    assert [r.spec for r in static.reqs("run")] == ["python >=3.14.1,<3.15.0a0"]


CFFI_LIKE = """\
package:
  name: cffi
  version: 2.0.0
build:
  number: 0
  script: {{ PYTHON }} -m pip install . -vv
requirements:
  build:
    - python                                 # [build_platform != target_platform]
    - cross-python_{{ target_platform }}     # [build_platform != target_platform]
    - {{ compiler('c') }}
  host:
    - python
    - pip
    - libffi  # [not win]
  run:
    - python
    - libffi  # [not win]
"""


def test_cffi_like_libffi_and_cross_python() -> None:
    linux = render(CFFI_LIKE, LINUX_64)
    assert len(linux) == 2  # one per python variant
    assert {o.variant["python"] for o in linux} == {"3.12.* *_cpython", "3.13.* *_cp313"}
    assert all("libffi" in names(o, "host") for o in linux)
    assert all("cross-python_linux-64" not in names(o, "build") for o in linux)
    assert [r.spec for r in linux[0].reqs("build")] == ["gcc_linux-64 15.*"]
    for pair in (WIN_64, WIN_ARM64):
        for o in render(CFFI_LIKE, pair):
            assert "libffi" not in names(o, "host")
    (arm,) = render(CFFI_LIKE, WIN_ARM64)
    assert names(arm, "build") == {"python", "cross-python_win-arm64", "vs2022_win-arm64"}
    assert {r.name: r.spec for r in arm.reqs("host")}["python"] == "python 3.14.* *_cp314"
    assert (
        arm.variant == {"c_compiler": "vs2022", "libffi": "3.5", "python": "3.14.* *_cp314"}
        or arm.variant["python"] == "3.14.* *_cp314"
    )


VC_LIKE = """\
{% set vc_major = vcver.split(".")[0] %}
package:
  name: vs{{ vsyear }}
  version: {{ runtime_version }}
build:
  skip: true  # [not win]
outputs:
  - name: vc{{ vc_major }}_runtime
    build:
      skip: true  # [cross_target_platform != target_platform]
    requirements:
      run:
        - ucrt >=10.0.20348.0  # [vsver >= 17 and (cross_target_platform == "win-64" or cross_target_platform == "win-32")]
  - name: vs{{ vsyear }}_{{ cross_target_platform }}
    build:
      run_exports:
        strong:
          - vc >={{ vcver }},<{{ vc_major | int + 1 }}
          - ucrt >=10.0.20348.0  # [vsver >= 17 and (cross_target_platform == "win-64" or cross_target_platform == "win-32")]
    requirements:
      run:
        - vswhere
"""
VC_CBC = """\
vcver:
 - 14.5
 - 14.5
vsyear:
 - 2026
 - 2026
vsver:
 - 18
 - 18
runtime_version:
 - 14.51.1
 - 14.51.1
cross_target_platform:
 - win-64
 - win-arm64
zip_keys:
 - - vcver
   - vsyear
   - vsver
   - runtime_version
   - cross_target_platform
"""


def test_vc_like_ucrt_only_for_x64_targets() -> None:
    arm = render(VC_LIKE, WIN_ARM64, conda_build_config_dot_yaml=VC_CBC)
    runtime = [o for o in arm if o.name == "vc14_runtime" and not o.skip]
    assert len(runtime) == 1 and runtime[0].variant["cross_target_platform"] == "win-arm64"
    assert "ucrt" not in names(runtime[0], "run")
    skipped = [o for o in arm if o.name == "vc14_runtime" and o.skip]
    assert skipped[0].skip_reason == "cross_target_platform != target_platform"
    act = {o.name: o for o in arm if o.name.startswith("vs2026_")}
    assert set(act) == {"vs2026_win-64", "vs2026_win-arm64"}
    assert not any(x.startswith("ucrt") for x in act["vs2026_win-arm64"].run_exports["strong"])
    assert "vc >=14.5,<15" in act["vs2026_win-arm64"].run_exports["strong"]
    x64 = render(VC_LIKE, WIN_64, conda_build_config_dot_yaml=VC_CBC)
    (rt64,) = [o for o in x64 if o.name == "vc14_runtime" and not o.skip]
    assert {r.condition for r in rt64.reqs("run") if r.name == "ucrt"} == {
        'vsver >= 17 and (cross_target_platform == "win-64" or cross_target_platform == "win-32")'
    }
    linux = render(VC_LIKE, LINUX_64, conda_build_config_dot_yaml=VC_CBC)
    assert linux and all(o.skip and o.skip_reason == "not win" for o in linux)


# --- conda-build output semantics ---------------------------------------------------------

MULTI = """\
package:
  name: libfoo-split
  version: 1.2.3
build:
  number: 1
  run_exports:
    - libfoo >=1.2
requirements:
  build:
    - cmake
  host:
    - zlib
outputs:
  - name: libfoo-split
    requirements:
      run:
        - libfoo
  - name: libfoo
    build:
      noarch: generic
      ignore_run_exports_from:
        - {{ compiler('c') }}
      ignore_run_exports:
        - zlib
      run_exports:
        weak:
          - libfoo >=1.2
        strong_constrains:
          - libfoo-tools 1.2.*
    requirements:
      - zlib
      - openssl >=3
  - name: libfoo-tools
    requirements:
      host:
        - {{ pin_subpackage('libfoo', max_pin='x.x') }}
      run_constrained:
        - libfoo-legacy <0
"""


def test_top_level_requirements_merge_only_into_the_same_named_output() -> None:
    outs = {o.name: o for o in render(MULTI, LINUX_64)}
    top = outs["libfoo-split"]
    assert names(top, "build") == {"cmake"} and names(top, "host") == {"zlib"} and names(top, "run") == {"libfoo"}
    assert top.run_exports == {"weak": ("libfoo >=1.2",)}  # top-level build merged in
    assert names(outs["libfoo-tools"], "build") == set()
    assert outs["libfoo-tools"].run_exports == {"weak": ("libfoo >=1.2",)}  # no build section: top-level one
    assert [r.spec for r in outs["libfoo-tools"].reqs("host")] == ["libfoo >=1.2.3,<1.3.0a0"]
    assert [r.spec for r in outs["libfoo-tools"].reqs("run_constraints")] == ["libfoo-legacy <0"]


def test_list_requirements_run_exports_forms_and_ignores() -> None:
    lib = {o.name: o for o in render(MULTI, LINUX_64)}["libfoo"]
    assert lib.noarch == "generic"
    assert names(lib, "host") == names(lib, "run") == {"zlib", "openssl"}  # list form = host and run
    assert lib.run_exports == {"weak": ("libfoo >=1.2",), "strong_constrains": ("libfoo-tools 1.2.*",)}
    assert lib.ignore_run_exports == ("zlib",)
    assert lib.ignore_run_exports_from == ("gcc_linux-64",)


def test_implicit_top_level_output_when_top_level_run_names_an_output() -> None:
    meta = """\
package:
  name: foo
  version: 1.0
requirements:
  run:
    - libfoo
outputs:
  - name: libfoo
"""
    assert {o.name for o in render(meta, LINUX_64)} == {"libfoo", "foo"}
    without = meta.replace("    - libfoo\n", "    - bar\n")
    assert {o.name for o in render(without, LINUX_64)} == {"libfoo"}


def test_duplicate_keys_are_disambiguated_by_selectors() -> None:
    meta = """\
package:
  name: dup
  version: 1.0
build:
  noarch: python  # [unix]
  noarch: generic  # [win]
requirements:
  run:
    - a  # [win]
    - b  # [not win]
"""
    (lin,) = render(meta, LINUX_64)
    (arm,) = render(meta, WIN_ARM64)
    assert lin.noarch == "python" and arm.noarch == "generic"
    assert names(lin, "run") == {"b"} and names(arm, "run") == {"a"}


def test_jinja_idioms_of_conda_build_render() -> None:
    meta = """\
{% set name = "demo" %}
{% if foo is not defined %}{% set foo = "dflt" %}{% endif %}
{% set data = load_setup_py_data() %}
{% macro dep(n) %}{{ n }}-{{ target_platform }}{% endmacro %}
package:
  name: {{ name|lower }}
  version: {{ environ.get('GIT_DESCRIBE_TAG', '1.0') }}
build:
  number: {{ os.environ.get('BUILD_NUMBER', 0) }}
  string: {{ PKG_VERSION }}_{{ datetime.datetime.now().strftime('%Y') }}
requirements:
  host:
    - {{ dep('tool') }}
    - {{ foo }}-{{ PY_VER }}
{% for x in ['a', 'b'] %}
    - pkg-{{ x }}  # [linux]
{% endfor %}
    - {{ cdt('mesa-libgl-devel') }}  # [linux]
"""
    (out,) = render(meta, LINUX_64)
    assert out.name == "demo" and out.version == "1.0"
    assert [r.name for r in out.reqs("host")] == [
        "tool-linux-64",
        "dflt-3.12",
        "pkg-a",
        "pkg-b",
        "mesa-libgl-devel-cos6-x86_64",
    ]
    assert {r.condition for r in out.reqs("host") if r.name.startswith("pkg-")} == {"linux"}


def test_identical_outputs_are_reported_once_and_variant_cut_is_noted() -> None:
    meta = "package:\n  name: n\n  version: 1\nrequirements:\n  host:\n    - zlib\n"
    res = render_v0(src(meta), LINUX_64, pinning(LINUX_64), ENV)
    assert len(res.outputs) == 1 and res.outputs[0].variant == {"zlib": "1"}
    many = Variants({"k": [str(i) for i in range(100)]}, [])
    res = render_v0(src("package:\n  name: n\n  version: 1\nrequirements:\n  host:\n    - k\n"), LINUX_64, many, ENV)
    assert len(res.outputs) == MAX_VARIANTS and any("100 variant combinations" in n for n in res.notes)


def test_recipe_cbc_flat_zip_keys_and_string_values() -> None:
    meta = """\
package:
  name: p
  version: 1
requirements:
  host:
    - python
    - foo-{{ freethreading }}-{{ channel_targets.split()[1] }}
"""
    cbc = (
        "python:\n  - 3.14.* *_cp314\nis_python_min:\n  - no\nfreethreading:\n  - yes\n"
        "build_type:\n  - release\n  - debug  # [not win]\nchannel_targets:\n  - conda-forge main\n"
        "  - conda-forge debug  # [not win]\nzip_keys:\n  - build_type\n  - channel_targets\n"
    )
    outs = render(meta, LINUX_64, conda_build_config_dot_yaml=cbc)
    hosts = sorted(r.name for o in outs for r in o.reqs("host") if r.name.startswith("foo"))
    assert hosts == ["foo-yes-debug", "foo-yes-main"]  # BaseLoader: yes stays "yes"
    assert {o.variant["python"] for o in outs} == {"3.14.* *_cp314"}


def test_recipe_cbc_key_selected_away_falls_back_to_the_pinning() -> None:
    # libiconv-like: the recipe overrides the C compiler on osx only; elsewhere the channel's applies
    meta = "package:\n  name: p\n  version: 1\nrequirements:\n  build:\n    - {{ compiler('c') }}\n"
    cbc = "c_compiler:\n  - clang_bootstrap  # [osx]\n"
    outs = render(meta, WIN_ARM64, conda_build_config_dot_yaml=cbc)
    assert names(outs[0], "build") == {"vs2022_win-arm64"}


# --- bad and hostile input -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("meta", "needle", "line"),
    [
        ("package:\n  name: x\n  version: 1\nrequirements:\n  host:\n    - a\n   - b\n", "invalid YAML", 7),
        ("package:\n  name: x\n  version: {{ nope }}\n", "'nope' is undefined", 3),
        ("package:\n  name: x\n  version: 1\nbuild:\n  skip: true  # [linux and]\n", "invalid selector", 5),
        ("package:\n  name: x\n  version: 1 {% if %}\n", "Jinja syntax error", 3),
        ("{% macro f(n) %}{{ f(n) }}{% endmacro %}\npackage:\n  name: {{ f(1) }}\n", "", None),
        ("{% for a in range(99999) %}{% for b in range(99999) %}{% endfor %}{% endfor %}\n", "loop", None),
        ("{% set s = 'x' * 100000000 %}\n", "too large", None),
        (
            "{% set n = namespace(s='ab') %}{% for i in range(40) %}{% set n.s = n.s ~ n.s %}{% endfor %}\n",
            "size",
            None,
        ),
        (
            "{% set n = namespace(s='ab') %}{% for i in range(40) %}{% set n.s = n.s + n.s %}{% endfor %}\n",
            "large",
            None,
        ),
        ("- just\n- a list\n", "not a YAML mapping", 1),
    ],
)
def test_bad_recipes_give_one_error_naming_file_and_line(meta: str, needle: str, line: int | None) -> None:
    with pytest.raises(RenderError) as info:
        render_v0(src(meta), LINUX_64, pinning(LINUX_64), ENV)
    err = info.value
    assert err.file == "demo/recipe/meta.yaml"
    assert needle in err.message
    if line is not None:
        assert err.line == line


@pytest.mark.parametrize(
    "meta",
    [
        "package:\n  name: {{ ''.__class__.__mro__[1].__subclasses__() }}\n",
        "package:\n  name: {{ cycler.__init__.__globals__.os.system('touch pwned') }}\n",
        "package:\n  name: x\n  version: 1\nbuild:\n  skip: true  # [__import__('os').system('touch pwned')]\n",
        "package:\n  name: {{ environ.__class__ }}\n",
    ],
)
def test_hostile_recipes_are_rejected_without_side_effects(meta: str, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    with pytest.raises(UnsafeRecipeError) as info:
        render_v0(src(meta), LINUX_64, pinning(LINUX_64), ENV)
    assert info.value.file == "demo/recipe/meta.yaml"
    assert os.listdir(tmp_path) == []


def test_loaders_never_read_files(tmp_path: Path) -> None:
    """conda-build's file loaders are stand-ins with fixed answers: ``load_file_regex`` is None and
    ``load_file_data`` is ``{}`` whatever file they name; any read outside the recipe fails the test."""
    with guard(tmp_path / "g") as g:
        secret = plant(g, "secret.json", '{"name": "leaked", "version": "9.9"}')
        meta = f"""\
{{% set d = load_file_data("{secret}") %}}
{{% set r = load_file_regex(load_file="{secret}", regex_pattern='"name": "(.*)"') %}}
{{% set r2 = load_file_regex(load_file="secret.json", regex_pattern=".") %}}
package:
  name: {{{{ d.get('name', 'safe') }}}}
  version: {{{{ load_str_data('{{"v": "2.0"}}', 'json')['v'] }}}}
requirements:
  host:
    - regex-{{{{ 'stub' if r is none and r2 is none else 'read' }}}}
    - data-{{{{ d|length }}}}
"""
        (out,) = render(meta, LINUX_64)
    assert out.name == "safe" and out.version == "2.0"
    assert [r.spec for r in out.reqs("host")] == ["regex-stub", "data-0"]


# conda-forge recipes build a dependency list in one multi-line ``{% set %}`` with a selector on some of
# its items; conda-build drops the false lines before Jinja sees the text
MULTILINE_SET = """\
{% set deps = [
    "zlib",
    "libwinonly",  # [win]
    "liblinuxonly",  # [linux]
    "libarm",  # [win and arm64]
] %}
package:
  name: multi
  version: 1.0
requirements:
  host:
  {% for d in deps %}
    - {{ d }}
  {% endfor %}
"""


@pytest.mark.parametrize(
    "pair, expected",
    [
        (LINUX_64, ["zlib", "liblinuxonly"]),
        (WIN_64, ["zlib", "libwinonly"]),
        (WIN_ARM64, ["zlib", "libwinonly", "libarm"]),
    ],
)
def test_selectors_inside_a_multiline_set_apply(pair: PlatformPair, expected: list[str]) -> None:
    (out,) = render(MULTILINE_SET, pair)
    assert [r.name for r in out.reqs("host")] == expected


# --- real feedstocks (local mirrors only) ----------------------------------------------------

MIRRORS = os.environ.get("NEWARCH_MIRRORS")
PINNING = Path(__file__).resolve().parents[1] / ".." / "shared" / "data" / "conda_build_config.yaml"


@pytest.mark.realdata
@pytest.mark.skipif(not MIRRORS or not PINNING.is_file(), reason="needs NEWARCH_MIRRORS and ../shared/data")
def test_real_python_cffi_vc_facts() -> None:
    from newarch.render.pinning import load_pinning
    from newarch.sources.recipes import open_source

    def real(name: str, pair: PlatformPair) -> list[Output]:
        path = Path(MIRRORS) / f"conda-forge+{name}-feedstock" / "repo"
        if not path.exists():
            pytest.skip(f"{name} mirror absent")
        return render_v0(open_source(path), pair, load_pinning(PINNING, pair), ENV).outputs

    for o in by_name(real("python", WIN_ARM64), "python"):
        assert names(o, "host") == {
            "bzip2",
            "libsqlite",
            "liblzma-devel",
            "zlib",
            "zstd",
            "openssl",
            "tk",
            "libffi",
            "libmpdec-devel",
            "expat",
        }
    for o in by_name(real("python", LINUX_64), "python"):
        assert {"readline", "ncurses", "xorg-libx11", "libuuid"} <= names(o, "host")
    assert all("libffi" in names(o, "host") for o in real("cffi", LINUX_64))
    for pair in (WIN_64, WIN_ARM64):
        assert all("libffi" not in names(o, "host") for o in real("cffi", pair))
    assert all({"python", "cross-python_win-arm64"} <= names(o, "build") for o in real("cffi", WIN_ARM64))
    for o in real("vc", WIN_ARM64):
        if not o.skip and o.name.startswith(("vc14_runtime", "vcomp")):
            assert "ucrt" not in names(o, "run")


# --- random mutations of a real-shaped recipe --------------------------------------------------

from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

_SNIPPETS = [
    "{{",
    "}}",
    "{%",
    "%}",
    "# [",
    "]",
    ":",
    "- ",
    "  ",
    "\n",
    "'",
    '"',
    "|",
    "{% for x in y %}",
    "{% endif %}",
    "{{ compiler('c') }}",
    "# [win]",
    "__class__",
    "{{ x.__init__ }}",
    "&a",
    "*a",
    "!!python",
]


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(
        st.tuples(st.integers(0, len(PYTHON_LIKE)), st.integers(0, 8), st.sampled_from(_SNIPPETS)),
        min_size=1,
        max_size=4,
    )
)
def test_mutated_recipes_render_or_fail_with_a_render_error(edits: list[tuple[int, int, str]]) -> None:
    text = PYTHON_LIKE
    for pos, cut, snippet in edits:
        text = text[:pos] + snippet + text[pos + cut :]
    try:
        res = render_v0(src(text), WIN_ARM64, pinning(WIN_ARM64), ENV)
    except RenderError as exc:
        assert exc.file == "demo/recipe/meta.yaml"
        assert "\n" not in str(exc).strip()
    else:
        assert all(isinstance(o, Output) for o in res.outputs)


# Modeled on a real v0 recipe whose selector misspells x86_64: conda-build warns, reads the name as
# False and drops the line, on every platform.
MISSPELLED = """\
package:
  name: fastcodec
  version: "1.2"
requirements:
  build:
    - {{ compiler('c') }}
    - nasm  # [x64_64]
    - yasm  # [win and not x64_64]
  run:
    - zlib
"""


@pytest.mark.parametrize("pair", [WIN_64, LINUX_64, WIN_ARM64])
def test_unknown_selector_name_drops_its_line_like_conda_build(pair: PlatformPair) -> None:
    [out] = render(MISSPELLED, pair)
    assert "nasm" not in names(out, "build")
    assert ("yasm" in names(out, "build")) == pair.target.startswith("win-")
    assert names(out, "run") == {"zlib"}


BLOCK_YAML_CASES = [
    # recipe-shaped: top-level keys, an outputs list, comments and blank lines between items
    "package:\n  name: a\n  version: 1.0\n\n# a comment\nbuild:\n  number: 0\noutputs:\n  - name: a\n"
    "    requirements:\n      run:\n        - b 1.*\n\n  # between items\n  - name: b\n    script: |\n"
    "      echo 1\n      echo 2\n",
    # items at the key's own indentation, nested lists inside an item
    "outputs:\n- name: x\n  test:\n    commands:\n      - x --help\n- name: y\n",
    # a key read as something else than a string, duplicate keys (the last wins), numbers kept as text
    "null: 1\ntrue: 2\nbuild: {number: 1}\nbuild:\n  number: 2\nabout:\n  license: 3.10\n",
    # unsafe to split: anchors and aliases, tags, a document marker
    "a: &x\n  k: 1\nb: *x\n",
    "a: !!str 1\n",
    "---\na: 1\n",
    # not a mapping at the top
    "- a\n- b\n",
    # a flow collection continued at column 0
    "a: [1,\n2]\n",
]


@pytest.mark.parametrize(
    ("text", "split"), list(zip(BLOCK_YAML_CASES, [True, True, True, False, False, False, False, True], strict=True))
)
def test_yaml_parsed_block_by_block_equals_the_whole_parse(text, split):
    import yaml

    from newarch.render.v0_lines import _Loader, load_yaml_blocks

    ok, data = load_yaml_blocks(text)
    assert ok == split
    whole = yaml.load(text, Loader=_Loader)  # noqa: S506 - a safe loader subclass
    if ok:
        assert data == whole and list(data) == list(whole)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.dictionaries(
        st.from_regex(r"[a-z][a-z_]{0,8}", fullmatch=True),
        st.recursive(
            st.one_of(st.text("ab 1.*:#-", max_size=6), st.integers(0, 99), st.booleans(), st.none()),
            lambda inner: (
                st.lists(inner, max_size=3)
                | st.dictionaries(st.from_regex(r"[a-z]{1,5}", fullmatch=True), inner, max_size=3)
            ),
            max_leaves=12,
        ),
        max_size=5,
    ),
    st.lists(
        st.dictionaries(st.from_regex(r"[a-z]{1,6}", fullmatch=True), st.text("ab 1.*", max_size=5), max_size=3),
        max_size=4,
    ),
)
def test_yaml_block_parse_matches_on_generated_recipes(top, outputs):
    import yaml

    from newarch.render.v0_lines import _Loader, load_yaml_blocks

    doc = dict(top)
    if outputs:
        doc["outputs"] = outputs
    text = yaml.safe_dump(doc, default_flow_style=False, sort_keys=False)
    ok, data = load_yaml_blocks(text)
    whole = yaml.load(text, Loader=_Loader)  # noqa: S506 - a safe loader subclass
    assert ok or not doc or "!" in text or "&" in text or "*" in text  # plain block YAML is split
    if ok:
        assert data == whole and list(data or {}) == list(whole or {})
