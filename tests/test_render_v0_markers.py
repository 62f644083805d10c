"""Selector lines without Jinja are switched by markers after rendering (a speed path in the v0
renderer); the result must be exactly the one the ``{% if %}`` wrapper gives."""

from __future__ import annotations

import pytest

from newarch.model import PlatformPair
from newarch.render.pinning import Variants
from newarch.render import v0, v0_lines
from newarch.sources.recipes import RecipeSource

PINNING = Variants(
    {
        "python": ["3.12.* *_cpython", "3.14.* *_cp314"],
        "c_compiler": ["vs2022"],
        "c_stdlib": ["vs"],
        "target_platform": ["win-64"],
    },
    [],
)

RECIPES = {
    # whitespace control next to selector lines: '{%-' eats the newline after a marked line
    "strip": """{% set version = "1.0" %}
package:
  name: strip
  version: {{ version }}
requirements:
  host:
    - python
    - libffi  # [linux]
    {%- if true %}
    - zlib  # [win]
    {%- endif %}
    - bzip2  # [not win]
  run:
    - python
""",
    # marked lines inside for loops and if blocks, one false, one true
    "loops": """package:
  name: loops
  version: 2
requirements:
  build:
    - {{ compiler('c') }}
{% for dep in ["a", "b"] %}
    - dep-{{ dep }}
    - only-win  # [win]
    - only-linux  # [linux]
{% endfor %}
{% if py >= 313 %}
    - new-python  # [win]
{% endif %}
  run:
    - python
""",
}


def _render(name: str, text: str, target: str):
    src = RecipeSource(name=name, origin=name, kind="directory", files={"meta.yaml": text.encode()})
    pair = PlatformPair(target, "win-64" if target.startswith("win") else target)
    pinning = Variants(dict(PINNING.values, target_platform=[target]), [])
    return [o.to_dict() for o in v0.render_v0(src, pair, pinning, {"CI": "true"}).outputs]


@pytest.mark.parametrize("name", sorted(RECIPES))
@pytest.mark.parametrize("target", ["win-64", "linux-64"])
def test_markers_render_like_wrappers(name: str, target: str, monkeypatch: pytest.MonkeyPatch) -> None:
    text = RECIPES[name]
    assert v0_lines._markers_ok(text)
    with_markers = _render(name, text, target)
    v0_lines.template_text.cache_clear()
    monkeypatch.setattr(v0_lines, "_markers_ok", lambda raw: False)
    with_wrappers = _render(name, text, target)
    v0_lines.template_text.cache_clear()
    assert with_markers == with_wrappers
    names = {r["name"] for o in with_markers for s in o.get("requirements", {}).values() for r in s}
    assert ("zlib" in names or "only-win" in names) == target.startswith("win")


def test_block_set_keeps_wrappers() -> None:
    """A ``{% set x %}`` block could read marked text as a value: such recipes keep the wrappers."""
    assert not v0_lines._markers_ok("{% set x %}\n- a  # [win]\n{% endset %}\n")
    assert v0_lines._markers_ok("{% set x = 1 %}\n{% if x %}\n- a  # [win]\n{% endif %}\n")
