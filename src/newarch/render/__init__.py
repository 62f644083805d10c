"""Render a recipe for one platform pair: picks the v1 (rattler-build) or v0 (meta.yaml) renderer.

``render_source`` never raises for a bad recipe: every failure becomes ``RenderResult.error``
(``"file:line: reason"``). Recipes see a controlled environment (``default_env``), never the
user's own.
"""

from __future__ import annotations

import re

from newarch.errors import NewarchError
from newarch.model import PlatformPair, RenderResult
from newarch.render.isolate import started
from newarch.render.lines import assign_lines
from newarch.render.pinning import Variants, apply_migrations
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
    started(f"{src.display(src.recipe_file)} ({pair})")  # in a worker: the deadline starts now
    try:
        pinning, notes = apply_migrations(pinning, src.migrations, pair, f"{src.name}/.ci_support/migrations")
        result = _dispatch(src, pair, pinning, env)
        assign_lines(result, src.text(src.recipe_file) or "", pair.target)
    except NewarchError as exc:
        result = RenderResult(pair=pair, error=str(exc))
    except RecursionError:
        result = RenderResult(pair=pair, error=f"{src.display(src.recipe_file)}: recipe nests too deeply to render")
    except MemoryError:
        raise  # over the worker's memory limit: the pool replaces the worker and reports it
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


__all__ = ["render_source", "default_env", "parse_env_overrides"]
