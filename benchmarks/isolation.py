"""The cost of rendering each recipe in a worker process (deadline + memory limit) instead of in-process.

    PYTHONPATH=src python benchmarks/isolation.py [--reps N] [--results FILE]

Both sides run the same task, ``newarch.render.isolated.render_task`` (open the recipe, render it for
one pair, ``RenderResult.to_dict()``), on the benchmark recipes (``benchmarks/recipes``, v0 and v1)
for the render pairs of ``run.py``: in this process, and through a warm one-worker ``WorkerPool``
(started and used before timing; the pinning is sent to the worker once, as ``build_snapshot``
does). Each timed render is of a recipe neither side has seen: every repetition renders a fresh
copy whose text differs by a comment line, so the renderers' parse and compile caches (keyed by
text) miss on both sides, as in a crawl, where each recipe is rendered once per pair. The pool side adds sending the task, the
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
import tempfile
import sys
import time
from collections.abc import Callable
from pathlib import Path

HERE = Path(__file__).resolve().parent

from newarch.model import PlatformPair, RenderResult  # noqa: E402
from newarch.render import default_env  # noqa: E402
from newarch.render.isolate import Limits, WorkerPool  # noqa: E402
from newarch.render.isolated import render_task  # noqa: E402
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


def fresh_copy(src: Path, dest: Path, tag: str) -> Path:
    """``src`` copied to ``dest`` with ``# tag`` appended to every recipe file (a text never seen)."""
    for f in src.rglob("*"):
        if f.is_file():
            out = dest / f.relative_to(src)
            out.parent.mkdir(parents=True, exist_ok=True)
            text = f.read_text(encoding="utf-8")
            out.write_text(text + f"\n# {tag}\n" if f.suffix in (".yaml", ".yml") else text, encoding="utf-8")
    return dest


def section(out: Callable[[str], None], reps: int = 20) -> float:
    """Print the table and the summary; returns the median CPU overhead ratio."""
    pin = pinning_file()
    pins = {p.key: load_pinning(pin, p) for p in PAIRS}
    rows: list[tuple[str, str, float, float, float, float]] = []
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    with WorkerPool(1, Limits()) as pool, tempfile.TemporaryDirectory(prefix="newarch-bench-") as tmp:
        for pair in PAIRS:
            env = default_env(pair)
            ref = pool.share(pins[pair.key])
            for d in recipe_dirs():
                copies = [
                    fresh_copy(d, Path(tmp) / f"{pair.target}-{d.name}-{i}" / d.name, f"copy {i}")
                    for i in range(2 * reps + 2)
                ]
                render_task(str(copies[0]), pair, pins[pair.key], env)  # warm: imports, renderer state
                pool.call(render_task, str(copies[1]), pair, ref, env)
                (pid,) = pool.worker_pids()
                wall_local: list[float] = []
                wall_pool: list[float] = []
                cpu0 = time.process_time()
                for i in range(reps):
                    t = time.perf_counter()
                    render_task(str(copies[2 + i]), pair, pins[pair.key], env)
                    wall_local.append(time.perf_counter() - t)
                cpu_local = (time.process_time() - cpu0) / reps
                cpu0, wcpu0 = time.process_time(), cpu_of(pid)
                for i in range(reps):
                    t = time.perf_counter()
                    RenderResult.from_dict(pool.call(render_task, str(copies[2 + reps + i]), pair, ref, env))
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


def crawl_section(out: Callable[[str], None], reps: int = 8) -> float:
    """As the crawl runs it: one task per feedstock renders every default pair (``store.build._render_one``)."""
    from newarch.model import Feedstock
    from newarch.store.build import DEFAULT_PAIRS, _render_one

    pairs = [PlatformPair.parse(p) for p in DEFAULT_PAIRS]
    pin = pinning_file()
    facts = {p.key: load_pinning(pin, p).to_dict() for p in pairs}
    env: dict[str, str] = {}
    local_cpu: list[float] = []
    pool_cpu: list[float] = []
    with WorkerPool(1, Limits()) as pool, tempfile.TemporaryDirectory(prefix="newarch-bench-") as tmp:
        shared = (pool.share(pairs), pool.share(facts), pool.share(env))
        for d in recipe_dirs():
            copies = [fresh_copy(d, Path(tmp) / f"{d.name}-{i}" / d.name, f"copy {i}") for i in range(2 * reps + 2)]
            _render_one(str(copies[0]), pairs, facts, env)
            pool.call(_render_one, str(copies[1]), *shared)
            (pid,) = pool.worker_pids()
            cpu0 = time.process_time()
            for i in range(reps):
                Feedstock.from_dict(_render_one(str(copies[2 + i]), pairs, facts, env))
            local_cpu.append((time.process_time() - cpu0) / reps)
            cpu0, wcpu0 = time.process_time(), cpu_of(pid)
            for i in range(reps):
                Feedstock.from_dict(pool.call(_render_one, str(copies[2 + reps + i]), *shared))
            pool_cpu.append((time.process_time() - cpu0 + cpu_of(pid) - wcpu0) / reps)
    a, b = statistics.median(local_cpu), statistics.median(pool_cpu)
    ratio = (b - a) / a
    out(
        f"- per feedstock task as the crawl runs it ({len(pairs)} pairs and the lint in one task, "
        f"{len(local_cpu)} recipes x {reps}): CPU in-process {1000 * a:.1f} ms, warm worker + parent "
        f"{1000 * b:.1f} ms: isolation adds **{100 * ratio:.1f} %** per render (target < 10 %)"
    )
    return ratio


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--reps", type=int, default=20)
    ap.add_argument("--results", type=Path, default=None, help="also write the Markdown here")
    args = ap.parse_args()
    lines: list[str] = []

    def out(text: str = "") -> None:
        print(text, flush=True)
        lines.append(text)

    section(out, args.reps)
    crawl_section(out)
    if args.results:
        args.results.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
