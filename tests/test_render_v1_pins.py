"""Pins between the outputs of a v1 recipe, placing rendered variants, and edited recipe copies.

Recipes written here, modeled on clangdev (``clang-${{ major_version }}`` beside
``clang-format-${{ major_version }}``, a pin spelled from a context value) and on
ctng-compiler-activation (``gcc_${{ cross_target_platform }}`` beside
``gcc_bootstrap_${{ cross_target_platform }}``, pins spelled with ``~``).
"""

from __future__ import annotations

from newarch.model import PlatformPair
from newarch.render import default_env, render_source
from newarch.render.pinning import Variants
from newarch.render.v1_outputs import _name_regex, _output_name
from newarch.render.v1_pins import closure, output_index, pins
from newarch.render.v1_recipe import forced_strings, recipe_yaml
from newarch.sources.recipes import RecipeSource

LINUX_64 = PlatformPair("linux-64", "linux-64")
WIN_64 = PlatformPair("win-64", "win-64")
PLATFORMS = {"target_platform": "linux-64", "build_platform": "linux-64", "host_platform": "linux-64"}


def _source(recipe: str, variants: str) -> RecipeSource:
    return RecipeSource(
        name="t",
        origin="<test>",
        kind="directory",
        files={"recipe.yaml": recipe.encode(), "conda_build_config.yaml": variants.encode()},
    )


def render(src: RecipeSource, pair: PlatformPair) -> tuple[list[dict], str]:
    result = render_source(src, pair, Variants(), default_env(pair))
    return [o.to_dict() for o in result.outputs], result.error


def test_pins_spell_templated_names_over_variant_values():
    stage0 = {
        "outputs": [
            {"package": {"name": "gcc_${{ cross_target_platform }}"}},
            {"package": {"name": "gcc_bootstrap_${{ cross_target_platform }}"}},
            {
                "package": {"name": "gxx_${{ cross_target_platform }}"},
                "requirements": {"run": ['${{ pin_subpackage("gcc_" ~ cross_target_platform, exact=True) }}']},
            },
            {
                "package": {"name": "odd"},
                "requirements": {"run": ["${{ pin_subpackage(name_of_something, exact=True) }}"]},
            },
        ]
    }
    v = Variants({"cross_target_platform": ["linux-64", "osx-arm64"]})
    direct = pins(stage0, v, PLATFORMS)
    assert direct[2] == {0}  # gcc_linux-64 / gcc_osx-arm64, never gcc_bootstrap_*
    assert direct[3] == {0, 1, 2, 3}  # an expression may name any output
    assert closure(direct, {2}) == {0, 2}


def test_output_index_tells_apart_names_that_match_each_others_templates():
    outputs = [
        {"package": {"name": "clang-${{ major_version }}"}},
        {"package": {"name": "clang-format-${{ major_version }}"}},
        {"package": {"name": "clang-format"}},
        {"package": {"name": "gcc_${{ cross_target_platform }}"}},
        {"package": {"name": "gcc_bootstrap_${{ cross_target_platform }}"}},
    ]
    patterns = [_name_regex(_output_name(o)) for o in outputs]

    def index(name: str, variant: dict[str, str], context: dict[str, str]) -> int | None:
        d = {"package": {"name": name}, "context": context}
        return output_index(d, variant, outputs, patterns, PLATFORMS)

    ctx = {"major_version": "22"}
    assert index("clang-22", {}, ctx) == 0
    assert index("clang-format-22", {}, ctx) == 1  # the rendered context spells major_version
    assert index("clang-format", {}, ctx) == 2  # a literal name first
    assert index("clang-format-22", {}, {}) == 1  # no context: the longer literal text
    assert index("gcc_bootstrap_linux-64", {"cross_target_platform": "linux-64"}, {}) == 4
    assert index("gcc_linux-64", {"cross_target_platform": "linux-64"}, {}) == 3


def test_recipe_yaml_keeps_the_context_styles_rattler_build_types_by():
    text = """\
schema_version: 1
context:
  flag: ${{ 1 == 2 }}
  quoted: "${{ 1 == 2 }}"
  'single': '${{ 3 }}'
  block: |
    ${{ 4 }}
  later:
    ${{ 5 }}
  number: 7
recipe:
  name: x
"""
    assert forced_strings(text) == {"quoted", "single", "block"}
    d = {
        "schema_version": 1,
        "context": {
            "flag": "${{ 1 == 2 }}",
            "quoted": "${{ 1 == 2 }}",
            "single": "${{ 3 }}",
            "block": "${{ 4 }}\n",
            "later": "${{ 5 }}",
            "number": 7,
        },
        "recipe": {"name": "x"},
    }
    out = recipe_yaml(d, text)
    assert '\n  "flag": ${{ 1 == 2 }}\n' in out  # plain: rattler-build makes it a boolean
    assert '\n  "quoted": "${{ 1 == 2 }}"\n' in out
    assert '\n  "later": ${{ 5 }}\n' in out
    assert '\n  "number": 7\n' in out


def test_an_edited_recipe_copy_keeps_a_plain_context_boolean_false():
    # a JSON copy of this recipe reads `flag` as the text "false", which is truthy: the skip probe
    # of `b` would then report `flag` as the reason
    recipe = """\
schema_version: 1
context:
  flag: ${{ zlib == "9" }}
recipe:
  name: styled
  version: "1.0"
outputs:
  - package:
      name: a
    build:
      skip:
        - flag
        - win
    requirements:
      run:
        - zlib ${{ zlib }}.*
  - package:
      name: b
    build:
      skip:
        - flag
        - linux
    requirements:
      run:
        - ${{ pin_subpackage("a", exact=True) }}
about:
  license: MIT
"""
    src = _source(recipe, "zlib:\n  - '1'\n  - '2'\n")
    out, error = render(src, LINUX_64)
    assert not error
    [b] = {o["skip_reason"] for o in out if o["name"] == "b"}
    assert b == "linux"
    assert sorted(o["variant"]["zlib"] for o in out if o["name"] == "a") == ["1", "2"]


CLANG_LIKE = """\
schema_version: 1
context:
  version: "22.1.8"
  major_version: ${{ (version | split('.'))[0] }}
  maj_min: ${{ (version | split('.'))[:2] | join('.') }}
recipe:
  name: clanglike
  version: ${{ version }}
outputs:
  - package:
      name: libclang-cpp${{ maj_min }}
    build:
      skip: win
    requirements:
      run:
        - zlib ${{ zlib }}.*
  - package:
      name: clang-${{ major_version }}
    build:
      skip: win
    requirements:
      run:
        - ${{ pin_subpackage("libclang-cpp" ~ maj_min, exact=True) }}
  - package:
      name: clang-format-${{ major_version }}
    requirements:
      run:
        - if: unix
          then: ${{ pin_subpackage("libclang-cpp" ~ maj_min, exact=True) }}
        - if: win
          then: zstd
about:
  license: Apache-2.0
"""


def test_outputs_skipped_with_a_pin_spelled_from_the_context_are_recovered():
    # on win every output pinning libclang-cpp is skipped: the skip probe renders them with the
    # outputs they pin, found through "libclang-cpp" ~ maj_min (pins may name any output: a context
    # value is not a variant key)
    out, error = render(_source(CLANG_LIKE, "zlib:\n  - '1'\n"), WIN_64)
    assert not error
    skipped = {(o["name"], o.get("skip_reason")) for o in out if o.get("skip")}
    assert skipped == {("libclang-cpp22.1", "win"), ("clang-22", "win")}


def test_a_rendered_variant_keeps_its_own_outputs_conditions():
    # clang-format-22 matches the template clang-${{ major_version }}: placed there, its `if: unix`
    # pin would read as a dropped requirement of the wrong output
    out, error = render(_source(CLANG_LIKE, "zlib:\n  - '1'\n"), LINUX_64)
    assert not error
    [fmt] = [o for o in out if o["name"] == "clang-format-22"]
    [pin] = [r for r in fmt["requirements"]["run"] if r["name"] == "libclang-cpp22.1"]
    assert pin["condition"] == "unix"
    assert [(d["name"], d["condition"]) for d in fmt.get("dropped", [])] == [("zstd", "win")]
