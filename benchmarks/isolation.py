"""The cost of rendering each recipe in a worker process (deadline + memory limit) instead of in-process.

    PYTHONPATH=src python benchmarks/isolation.py [--reps N] [--results FILE]

Both sides run the same task, ``newarch.render.isolate.render_task`` (open the recipe, render it for
one pair, ``RenderResult.to_dict()``), on the benchmark recipes (``benchmarks/recipes``, v0 and v1)
for the render pairs of ``run.py``: in this process, and through a warm one-worker ``WorkerPool``
(used once before timing, so imports and parse caches are warm on both sides; the pinning is sent
to the worker once, as ``build_snapshot`` does). The pool side adds sending the task, the
``started`` note, pickling the result back and ``RenderResult.from_dict`` in the parent.

Two measures per recipe and pair, ``--reps`` renders each:
- CPU: this process's CPU time plus the worker's (``/proc/PID/stat``), per render, against the CPU
  time of the same renders in-process. This is the work isolation adds, and does not depend on
  what else the machine runs.
- wall: median wall time per render on each side. On a loaded machine every hand-over to the
  worker waits for a time slice, so this grows with the load average (printed with the figures).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

HERE = Path(__file__).resolve().parent

from newarch.model import PlatformPair, RenderResult  # noqa: E402
from newarch.render import default_env  # noqa: E402
from newarch.render.isolate import Limits, WorkerPool, render_task  # noqa: E402
from newarch.render.pinning import default_pinning_path, load_pinning  # noqa: E402

PAIRS = (PlatformPair("win-arm64", "win-64"), PlatformPair("linux-64", "linux-64"))
TICK = os.sysconf("SC_CLK_TCK")


def recipe_dirs() -> list[Path]:
    return sorted(p for p in (HERE / "recipes").iterdir() if p.is_dir())


def pinning_file() -> Path:
    p = default_pinning_path()
    return p if p is not None and p.is_file() else HERE / "recipes" / "conda_build_config.yaml"


def cpu_of(pid: int) -> float:
    """User + system CPU seconds of process ``pid`` (Linux)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK


def section(out: Callable[[str], None], reps: int = 40) -> float:
    """Print the table and the summary; returns the median CPU overhead ratio."""
    pin = pinning_file()
    pins = {p.key: load_pinning(pin, p) for p in PAIRS}
    rows: list[tuple[str, str, float, float, float, float]] = []
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    with WorkerPool(1, Limits()) as pool:
        for pair in PAIRS:
            env = default_env(pair)
            ref = pool.share(pins[pair.key])
            for d in recipe_dirs():
                local_args = (str(d), pair, pins[pair.key], env)
                pool_args = (str(d), pair, ref, env)
                render_task(*local_args)  # warm: imports, parse and compile caches on both sides
                pool.call(render_task, *pool_args)
                (pid,) = pool.worker_pids()
                wall_local: list[float] = []
                wall_pool: list[float] = []
                cpu0 = time.process_time()
                for _ in range(reps):
                    t = time.perf_counter()
                    render_task(*local_args)
                    wall_local.append(time.perf_counter() - t)
                cpu_local = (time.process_time() - cpu0) / reps
                cpu0, wcpu0 = time.process_time(), cpu_of(pid)
                for _ in range(reps):
                    t = time.perf_counter()
                    RenderResult.from_dict(pool.call(render_task, *pool_args))
                    wall_pool.append(time.perf_counter() - t)
                cpu_pool = (time.process_time() - cpu0 + cpu_of(pid) - wcpu0) / reps
                rows.append(
                    (
                        d.name,
                        str(pair),
                        cpu_local,
                        cpu_pool,
                        statistics.median(wall_local),
                        statistics.median(wall_pool),
                    )
                )
    out(
        "| recipe | pair | in-process CPU ms | worker + parent CPU ms | CPU overhead | "
        "in-process wall ms (median) | warm worker wall ms (median) |"
    )
    out("|---|---|---:|---:|---:|---:|---:|")
    for name, pair, cl, cp, wl, wp in rows:
        out(
            f"| {name} | {pair} | {1000 * cl:.2f} | {1000 * cp:.2f} | {100 * (cp - cl) / cl:+.1f} % | "
            f"{1000 * wl:.2f} | {1000 * wp:.2f} |"
        )
    med_cpu_local = statistics.median(r[2] for r in rows)
    med_cpu_pool = statistics.median(r[3] for r in rows)
    ratio = (med_cpu_pool - med_cpu_local) / med_cpu_local
    med_wall_local = statistics.median(r[4] for r in rows)
    med_wall_pool = statistics.median(r[5] for r in rows)
    out("")
    out(
        f"- CPU per render, median over the {len(rows)} recipe x pair renders ({reps} each): in-process "
        f"{1000 * med_cpu_local:.2f} ms, warm worker + parent {1000 * med_cpu_pool:.2f} ms: isolation adds "
        f"**{100 * ratio:.1f} %** (target < 10 %)"
    )
    out(
        f"- wall per render, median: in-process {1000 * med_wall_local:.2f} ms, warm worker "
        f"{1000 * med_wall_pool:.2f} ms ({100 * (med_wall_pool - med_wall_local) / med_wall_local:+.1f} %); "
        f"load average at start {load} (end {', '.join(f'{x:.1f}' for x in os.getloadavg())})"
    )
    return ratio


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--reps", type=int, default=40)
    ap.add_argument("--results", type=Path, default=None, help="also write the Markdown here")
    args = ap.parse_args()
    lines: list[str] = []

    def out(text: str = "") -> None:
        print(text, flush=True)
        lines.append(text)

    section(out, args.reps)
    if args.results:
        args.results.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
