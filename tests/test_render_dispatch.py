"""The render dispatcher: never raises for a bad recipe, pinning fallback to the bundled snapshot."""

from __future__ import annotations

import pytest

from newarch.errors import NewarchError
from newarch.model import PlatformPair
from newarch.render.pinning import Variants
from newarch.commands.pinning_source import load_pinning_for
from newarch.render import default_env, render_source
from newarch.store.snapshot import Snapshot
from newarch.sources.recipes import RecipeSource

PAIR = PlatformPair("win-arm64", "win-64")


def test_default_env_models_ci():
    assert default_env(PAIR) == {"CI": "true"}


def test_no_recipe_file_is_an_error_not_an_exception():
    src = RecipeSource(name="empty", origin="<test>", kind="directory", files={"build.sh": b"make"})
    res = render_source(src, PAIR, Variants())
    assert not res.ok and "no meta.yaml or recipe.yaml" in res.error


def test_renderer_bug_becomes_one_error_line(monkeypatch):
    import newarch.render.v1 as v1

    def boom(*args, **kwargs):
        raise KeyError("surprise")

    monkeypatch.setattr(v1, "render_v1", boom)
    src = RecipeSource(name="x", origin="<test>", kind="directory", files={"recipe.yaml": b"package: {}"})
    res = render_source(src, PAIR, Variants())
    assert res.error == "x/recipe/recipe.yaml: cannot render (KeyError: 'surprise')"


def test_pinning_file_wins(tmp_path):
    cbc = tmp_path / "cbc.yaml"
    cbc.write_text("python:\n  - 3.12.* *_cpython  # [not (win and arm64)]\n  - 3.14.* *_cp314  # [win and arm64]\n")
    variants, where = load_pinning_for(PAIR, cbc)
    assert variants.values["python"] == ["3.14.* *_cp314"] and where == str(cbc)


def test_pinning_falls_back_to_the_bundled_snapshot(monkeypatch):
    facts = Variants({"python": ["3.14.* *_cp314"]}, []).to_dict()
    snap = Snapshot(
        date="2026-08-22", pinning={"source": "conda_build_config.yaml (2026-08)", "platforms": {PAIR.key: facts}}
    )
    monkeypatch.setattr("newarch.commands.pinning_source.default_pinning_path", lambda: None)
    monkeypatch.setattr("newarch.store.snapshot.load", lambda path=None: snap)
    variants, where = load_pinning_for(PAIR)
    assert variants.values == {"python": ["3.14.* *_cp314"]}
    assert "bundled snapshot" in where and "2026-08-22" in where
    with pytest.raises(NewarchError, match="no pinning for linux-64:linux-64"):
        load_pinning_for(PlatformPair("linux-64", "linux-64"))
