"""v0 (meta.yaml) renderer speed: recipes per CPU second on one core, cold and warm, per platform pair.

Recipes: every v0 feedstock under ``$NEWARCH_MIRRORS`` (bare git mirrors or checkouts); without
it, the short recipes in ``benchmarks/recipes``. Pinning: conda-forge's ``conda_build_config.yaml``
beside the checkout (``../shared/data``), else ``benchmarks/recipes/conda_build_config.yaml``.

* **cold**: a fresh process per pair renders each recipe once, so every recipe pays for compiling
  its Jinja template and every other first-time cost (no cache warmed by another pair);
* **warm**: the same process renders the set again; the best of a few rounds per recipe.

Each pair is measured in ``--runs`` fresh processes and the fastest time per recipe is kept (a
busy machine only ever adds time). Two figures per pair: ``v0`` times ``render_v0`` alone (the
feedstock's migrations applied beforehand); ``render_source`` is the whole public entry point,
migrations included. Usage::

    [NEWARCH_MIRRORS=/path/to/mirrors] python benchmarks/render_v0.py [--runs N] [PAIR ...]
"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import time
from pathlib import Path

PAIRS = ("win-arm64:win-64", "win-64:win-64", "linux-64:linux-64", "osx-arm64:osx-64")
HERE = Path(__file__).resolve().parent
WARM_ROUNDS = 4


def _sources() -> list:
    from newarch.errors import NewarchError
    from newarch.sources.recipes import discover, open_source

    root = os.environ.get("NEWARCH_MIRRORS")
    paths = discover([Path(root)]) if root else sorted(p for p in (HERE / "recipes").iterdir() if p.is_dir())
    out = []
    for path in paths:
        try:
            src = open_source(path)
        except NewarchError:
            continue
        if src.schema == "v0":
            out.append(src)
    return out


def _pinning_path() -> Path:
    from newarch.render.pinning import default_pinning_path

    return default_pinning_path() or HERE / "recipes" / "conda_build_config.yaml"


def _child(key: str, label: str) -> dict:
    """Per-recipe CPU seconds, cold and best warm, of ``render_v0`` ("v0") or ``render_source``."""
    from newarch.errors import NewarchError
    from newarch.model import PlatformPair
    from newarch.render.pinning import apply_migrations, load_pinning
    from newarch.render import default_env, render_source
    from newarch.render.v0 import render_v0
    from newarch.render import v1  # noqa: F401 - imported here, not inside the first timed render

    sources = _sources()
    pair = PlatformPair.parse(key)
    pinning = load_pinning(_pinning_path(), pair)
    env = default_env(pair)
    migrated = []
    for src in sources:
        try:
            migrated.append(apply_migrations(pinning, src.migrations, pair, src.name)[0])
        except NewarchError:
            migrated.append(pinning)

    def v0(i: int) -> None:
        with contextlib.suppress(NewarchError):
            render_v0(sources[i], pair, migrated[i], dict(env))

    def full(i: int) -> None:
        render_source(sources[i], pair, pinning, env)

    fn = v0 if label == "v0" else full
    cold, warm = [], [float("inf")] * len(sources)
    for i in range(len(sources)):
        t = time.process_time()
        fn(i)
        cold.append(time.process_time() - t)
    for _ in range(WARM_ROUNDS):
        for i in range(len(sources)):
            t = time.process_time()
            fn(i)
            warm[i] = min(warm[i], time.process_time() - t)
    return {"names": [s.name for s in sources], "cold": cold, "warm": warm}


def main(argv: list[str]) -> int:
    if argv[:1] == ["--child"]:
        print(json.dumps(_child(argv[1], argv[2])))
        return 0
    runs = 3
    if argv[:1] == ["--runs"]:
        runs, argv = int(argv[1]), argv[2:]
    where = os.environ.get("NEWARCH_MIRRORS") or str(HERE / "recipes")
    print(f"v0 recipes under {where}; pinning {_pinning_path()}; best of {runs} processes per pair")
    print(
        f"{'pair':20} {'recipes':>7}  {'v0 cold':>8} {'v0 warm':>8}  {'render_source cold':>18} {'warm':>8}"
        "   (recipes per CPU second, one core)"
    )
    for key in argv or PAIRS:
        best: dict = {}
        names: list[str] = []
        for _ in range(runs):
            for label in ("v0", "render_source"):
                out = subprocess.run([sys.executable, __file__, "--child", key, label], capture_output=True, text=True)
                if out.returncode:
                    print(out.stderr, file=sys.stderr)
                    return 1
                data = json.loads(out.stdout)
                names = data["names"]
                for kind in ("cold", "warm"):
                    cur = best.setdefault((label, kind), data[kind])
                    best[(label, kind)] = [min(a, b) for a, b in zip(cur, data[kind], strict=True)]
        n = len(names)
        rate = {k: n / max(sum(v), 1e-9) for k, v in best.items()}
        slow = max(zip(best[("v0", "cold")], names, strict=True)) if names else (0.0, "-")
        print(
            f"{key:20} {n:7d}  {rate[('v0', 'cold')]:8.1f} {rate[('v0', 'warm')]:8.1f}  "
            f"{rate[('render_source', 'cold')]:18.1f} {rate[('render_source', 'warm')]:8.1f}"
            f"   slowest cold: {slow[1]} {slow[0] * 1000:.0f} ms"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
