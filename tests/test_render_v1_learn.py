"""Learned v1 renders (``v1_learn``) store exactly what rendering every combination stores.

Three renders of one recipe are compared: learned (the default for a split matrix), split without
learning (one rattler-build call per combination), and whole (one call for the whole matrix). The
recipes are written here, modeled on ctng-compiler-activation (an axis most outputs read only in some
combinations) and on clangdev (output names that match each other's templates, pins spelled from
context values), plus generated recipes (hypothesis).
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import newarch.render.v1 as v1
import newarch.render.v1_learn as v1_learn
from newarch.model import PlatformPair
from newarch.render import default_env, render_source
from newarch.render.pinning import Variants
from newarch.render.v1_learn import learning_axis
from newarch.sources.recipes import RecipeSource
from test_render_v1_pins import _source
from test_render_v1_split import LINUX_64, OSX_ARM64, WIN_ARM64, ctng_source, pinning

PLATFORMS = {"target_platform": "linux-64", "build_platform": "linux-64", "host_platform": "linux-64"}


def render(src: RecipeSource, pair: PlatformPair, mode: str, monkeypatch: pytest.MonkeyPatch):
    """(outputs, notes, counts) of one render: ``learned``, ``split`` (no learning) or ``whole``."""
    with monkeypatch.context() as m:
        m.setattr(v1_learn, "SPLIT_ABOVE", 1)  # learn from 2 combinations on (rendered whole up to 8)
        if mode != "learned":
            m.setattr(v1, "render_learned", lambda *a, **k: None)
        if mode == "whole":
            m.setattr(v1, "has_exact_pins", lambda text: False)
        result = render_source(src, pair, pinning(), default_env(pair))
        counts = v1.render_counts()
    return [o.to_dict() for o in result.outputs], result.notes, result.error, counts


@pytest.mark.parametrize("pair", [LINUX_64, WIN_ARM64, OSX_ARM64], ids=lambda p: p.key)
def test_learned_render_of_a_ctng_like_recipe(pair, monkeypatch):
    src = ctng_source()
    learned = render(src, pair, "learned", monkeypatch)
    split = render(src, pair, "split", monkeypatch)
    whole = render(src, pair, "whole", monkeypatch)
    assert not learned[2]
    assert learned[:3] == split[:3] == whole[:3]
    # clang_version (2 values) is learned: the gcc and gfortran outputs never read it, g++ reads it
    # only for the osx cross target, so fewer variants are evaluated than in 16 combinations
    assert learned[3]["rendered"] < split[3]["rendered"]


def learned_as_whole(recipe: str, variants: str, monkeypatch: pytest.MonkeyPatch):
    """The learned render of ``recipe`` on linux-64, checked equal to the whole render."""
    src = _source(recipe, variants)
    learned = render(src, LINUX_64, "learned", monkeypatch)
    assert learned[:3] == render(src, LINUX_64, "whole", monkeypatch)[:3]
    return learned


def lib_and_tools(lib_build: str) -> str:
    """A recipe of "lib" (reads flavor and zlib; ``lib_build``: its ``build:`` lines) and "tools"
    (reads zlib and pins lib exactly)."""
    return (
        "schema_version: 1\nrecipe:\n  name: libtools\n  version: '1.0'\noutputs:\n"
        "  - package:\n      name: lib\n"
        + lib_build
        + "    requirements:\n      run:\n        - dep-${{ flavor }}\n        - zlib ${{ zlib }}.*\n"
        "  - package:\n      name: tools\n    requirements:\n      run:\n"
        '        - ${{ pin_subpackage("lib", exact=True) }}\n        - zlib ${{ zlib }}.*\n'
        "about:\n  license: MIT\n"
    )


def test_learned_render_re_renders_an_output_that_pins_one_reading_the_axis(monkeypatch):
    # "tools" reads nothing of flavor itself, but pins "lib" exactly, whose variant names flavor
    recipe = lib_and_tools("")
    variants = "flavor:\n  - a\n  - b\n  - c\nzlib:\n  - '1.2'\n  - '1.3'\n  - '1.4'\n"
    learned = learned_as_whole(recipe, variants, monkeypatch)
    tools = [o for o in learned[0] if o["name"] == "tools"]
    # one tools build per lib build it pins: 3 flavors x 3 zlib
    assert len({r["spec"] for o in tools for r in o["requirements"]["run"] if r["name"] == "lib"}) == 9


def test_learned_render_probes_an_output_whose_skip_names_the_axis(monkeypatch):
    recipe = """\
schema_version: 1
recipe:
  name: skipaxis
  version: "1.0"
outputs:
  - package:
      name: base
    requirements:
      run:
        - zlib ${{ zlib }}.*
  - package:
      name: extra
    build:
      skip: flavor == "a"
    requirements:
      run:
        - ${{ pin_subpackage("base", exact=True) }}
        - zlib ${{ zlib }}.*
about:
  license: MIT
"""
    # flavor has the most rows: it is the axis learned, and "extra" is skipped at its first row
    variants = "flavor:\n  - a\n  - b\n  - c\nzlib:\n  - '1.2'\n  - '1.3'\n"
    learned = learned_as_whole(recipe, variants, monkeypatch)
    extra = [o for o in learned[0] if o["name"] == "extra" and not o.get("skip")]
    assert sorted((o["variant"]["flavor"], o["variant"]["zlib"]) for o in extra) == [
        ("b", "1.2"),
        ("b", "1.3"),
        ("c", "1.2"),
        ("c", "1.3"),
    ]


def test_learned_render_re_renders_an_output_that_ignores_the_axis_it_reads(monkeypatch):
    # ignore_keys takes flavor out of lib's variant, not out of its requirements
    recipe = lib_and_tools("    build:\n      variant:\n        ignore_keys:\n          - flavor\n")
    variants = "flavor:\n  - a\n  - b\n  - c\nzlib:\n  - '1.2'\n  - '1.3'\n"
    learned = learned_as_whole(recipe, variants, monkeypatch)
    deps = {r["name"] for o in learned[0] if o["name"] == "lib" for r in o["requirements"]["run"]}
    assert {"dep-a", "dep-b", "dep-c"} <= deps


# ----------------------------------------------------------------------------- generated recipes

KEYS = {"a": ["1", "2", "3"], "b": ["x", "y"], "c": ["p", "q"]}
CBC = "".join(f"{k}:\n" + "".join(f"  - '{x}'\n" for x in vals) for k, vals in KEYS.items())

key = st.sampled_from(sorted(KEYS))


@st.composite
def requirement(draw: Any) -> list[str]:
    kind = draw(st.sampled_from(["reads", "conditional", "plain", "platform"]))
    k = draw(key)
    if kind == "reads":
        return [f"- dep-{k} ${{{{ {k} }}}}.*"]
    if kind == "conditional":  # reads k always, k2 only where the condition holds
        k2 = draw(key)
        value = draw(st.sampled_from(KEYS[k]))
        return [f'- if: {k} == "{value}"', f"  then: dep-{k2} ${{{{ {k2} }}}}.*", "  else: other"]
    if kind == "platform":
        return ["- if: osx", "  then: dep-osx ${{ c }}.*"]
    return ["- zlib"]


@st.composite
def recipes(draw: Any) -> str:
    n = draw(st.integers(2, 4))
    use_context = draw(st.booleans())
    lines = ["schema_version: 1"]
    if use_context:  # plain: a boolean for rattler-build; the learned axis is never a context key
        lines += ["context:", '  flag: ${{ b == "x" }}']
    lines += ["recipe:", "  name: gen", '  version: "1.0"', "outputs:"]
    for i in range(n):
        templated = draw(st.booleans())
        lines += ["  - package:", f"      name: o{i}" + ("_${{ c }}" if templated else "")]
        skip = draw(st.one_of(st.none(), st.tuples(key, st.sampled_from(["1", "x", "p"]))))
        if skip is not None:
            lines += ["    build:", f'      skip: {skip[0]} == "{skip[1]}"']
        lines += ["    requirements:", "      run:"]
        for req in draw(st.lists(requirement(), min_size=1, max_size=3)):
            lines += ["        " + line for line in req]
        if use_context and draw(st.booleans()):
            lines += ["        - if: flag", "          then: flagged"]
        if i > 0 and (i == 1 or draw(st.booleans())):
            j = draw(st.integers(0, i - 1))
            lines.append(f'        - ${{{{ pin_subpackage("o{j}_" ~ c, exact=True) }}}}')
            # the pinned output's name must spell the same: templated outputs end in _<c>
    text = "\n".join(lines) + "\n"
    # outputs that are pinned get a templated name so that "o{j}_" ~ c names them
    for j in range(n):
        if f'"o{j}_" ~ c' in text:
            text = re.sub(rf"name: o{j}(_\$\{{\{{ c \}}\}})?\n", f"name: o{j}_${{{{ c }}}}\n", text)
    return text


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(recipe=recipes(), pair=st.sampled_from([LINUX_64, OSX_ARM64]))
def test_generated_recipes_render_the_same_learned_split_and_whole(recipe, pair, monkeypatch):
    src = _source(recipe, CBC)
    learned = render(src, pair, "learned", monkeypatch)
    split = render(src, pair, "split", monkeypatch)
    whole = render(src, pair, "whole", monkeypatch)
    assert learned[:3] == split[:3] == whole[:3], recipe


# ----------------------------------------------------------------------------- the pieces


def test_learning_axis_is_never_a_key_the_context_or_top_level_build_names():
    v = Variants({"a": ["1", "2", "3"], "b": ["x", "y"], "python": ["3.12", "3.13", "3.14", "3.10"]})
    axes = [["a"], ["b"], ["python"]]
    assert learning_axis({"context": {"x": "${{ a }}"}}, axes, v) == ["b"]
    assert learning_axis({}, axes, v) == ["a"]  # the most rows; python never
    assert learning_axis({"build": {"skip": ["a or b"]}}, axes, v) is None
