"""One recipe rendered in an isolated worker (``render``, ``lint``): the task the worker runs, and the call."""

from __future__ import annotations

from typing import Any

from newarch.render import render_source
from newarch.render.isolate import Failed, Limits, WorkerPool
from newarch.sources.recipes import open_source


def render_task(path: str, pair: Any, pinning: Any, env: dict[str, str]) -> dict[str, Any]:
    """Worker task: open and render the recipe at ``path`` for one pair; ``RenderResult.to_dict()``."""
    return render_source(open_source(path), pair, pinning, env).to_dict()


def render_isolated(path: str, display: str, pair: Any, pinning: Any, env: dict[str, str], limits: Limits) -> Any:
    """Render one recipe in a fresh worker under ``limits``: a ``RenderResult`` (over a limit: its error)."""
    from newarch.model import RenderResult

    with WorkerPool(1, limits) as pool:
        outcome = pool.call(render_task, str(path), pair, pool.share(pinning), env)
    if isinstance(outcome, Failed):
        return RenderResult(pair=pair, error=outcome.text(display))
    return RenderResult.from_dict(outcome)
