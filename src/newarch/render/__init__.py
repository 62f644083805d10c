"""Render a recipe for one platform pair: picks the v1 (rattler-build) or v0 (meta.yaml) renderer.

``render_source`` never raises for a bad recipe: every failure becomes ``RenderResult.error``
(``"file:line: reason"``). Recipes see a controlled environment (``default_env``), never the
user's own.
"""

from __future__ import annotations

import re
from pathlib import Path

from newarch.errors import NewarchError
from newarch.model import PlatformPair, RenderResult
from newarch.render.lines import assign_lines
from newarch.render.pinning import Variants, apply_migrations, default_pinning_path, load_pinning
from newarch.sources.recipes import RecipeSource

ENV_KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def default_env(pair: PlatformPair) -> dict[str, str]:
    """The environment a recipe sees, modeling conda-forge's CI.

    Only ``CI`` is set (to ``"true"``): recipes test it with ``env.exists('CI')`` (v1) or
    ``os.environ.get('CI')`` (v0), e.g. to skip outputs that only one CI job builds. conda-forge's
    CI sets it to the provider name (``azure``, ``github_actions``); no recipe in the measured set
    compares its value. Other variables conda-forge's scripts export (``CONFIG``, ``FEEDSTOCK_NAME``,
    which is set only *after* the build on Windows, ...) are left out on purpose; add them with
    ``--env KEY=VALUE``. ``pair`` is accepted so platform-dependent variables can be added later.
    """
    del pair
    return {"CI": "true"}


def parse_env_overrides(items: list[str] | tuple[str, ...], base: dict[str, str]) -> dict[str, str]:
    """Apply ``KEY=VALUE`` (set) and ``-KEY`` (unset) overrides to a copy of ``base``."""
    env = dict(base)
    for item in items:
        if item.startswith("-") and "=" not in item:
            key = item[1:]
            if not ENV_KEY.match(key):
                raise NewarchError(f"--env {item!r}: not a variable name")
            env.pop(key, None)
            continue
        key, sep, value = item.partition("=")
        if not sep or not ENV_KEY.match(key):
            raise NewarchError(f"--env {item!r}: expected KEY=VALUE (or -KEY to unset)")
        env[key] = value
    return env


def render_source(
    src: RecipeSource, pair: PlatformPair, pinning: Variants, env: dict[str, str] | None = None
) -> RenderResult:
    """Render ``src`` for ``pair`` with ``pinning`` in environment ``env`` (default: ``default_env``)."""
    env = default_env(pair) if env is None else dict(env)
    notes: list[str] = []
    try:
        pinning, notes = apply_migrations(pinning, src.migrations, pair, f"{src.name}/.ci_support/migrations")
        result = _dispatch(src, pair, pinning, env)
        assign_lines(result, src.text(src.recipe_file) or "", pair.target)
    except NewarchError as exc:
        result = RenderResult(pair=pair, error=str(exc))
    except RecursionError:
        result = RenderResult(pair=pair, error=f"{src.display(src.recipe_file)}: recipe nests too deeply to render")
    except Exception as exc:  # a renderer bug must not stop a batch: report it as this recipe's error
        first = (str(exc).strip().splitlines() or [""])[0]
        result = RenderResult(
            pair=pair, error=f"{src.display(src.recipe_file)}: cannot render ({type(exc).__name__}: {first})"
        )
    result.notes[:0] = notes
    return result


def _dispatch(src: RecipeSource, pair: PlatformPair, pinning: Variants, env: dict[str, str]) -> RenderResult:
    if src.schema == "v1":
        from newarch.render.v1 import render_v1

        return render_v1(src, pair, pinning, env)
    if src.schema == "v0":
        from newarch.render.v0 import render_v0

        return render_v0(src, pair, pinning, env)
    return RenderResult(pair=pair, error=f"{src.display('recipe')}: no meta.yaml or recipe.yaml")


def load_pinning_for(pair: PlatformPair, pinning_path: str | Path | None = None) -> tuple[Variants, str]:
    """The pinning for ``pair`` and a sentence saying where it came from.

    Order: ``pinning_path``; else ``newarch.render.pinning.default_pinning_path()`` (``$NEWARCH_PINNING`` or
    conda-forge's ``conda_build_config.yaml`` beside the checkout); else the pinning facts recorded
    in the bundled snapshot for this pair.
    """
    path = Path(pinning_path) if pinning_path is not None else default_pinning_path()
    if path is not None:
        return load_pinning(path, pair), str(path)
    from newarch.store import snapshot as snapshot_mod

    snap = snapshot_mod.load(None)
    platforms = (snap.pinning or {}).get("platforms") or {}
    facts = platforms.get(pair.key)
    if facts is None:
        known = ", ".join(sorted(platforms)) or "none"
        raise NewarchError(
            f"no pinning file found and the bundled snapshot has no pinning for {pair.key} "
            f"(it has: {known}); pass --pinning FILE",
            snap.origin,
        )
    source = (snap.pinning or {}).get("source") or "conda_build_config.yaml"
    return (
        Variants.from_dict(facts),
        f"no conda_build_config.yaml found; using the pinning recorded in the bundled snapshot "
        f"({snap.date}, from {source})",
    )


__all__ = ["render_source", "default_env", "parse_env_overrides", "load_pinning_for"]
