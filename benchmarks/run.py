"""newarch benchmarks: render throughput, plan time vs the bot's cut-and-pluck, snapshot time, memory.

    python benchmarks/run.py [--quick] [--results FILE]

Environment: NEWARCH_MIRRORS=<folder of feedstock mirrors> adds the real-recipe figures (render
throughput on the fetched set, snapshot time on 1 and 2 cores, and ``render_real.py``: render time
per recipe and pair, v1 against bare py-rattler-build, the 25,000-feedstock projection). The pinning is
``../shared/data/conda_build_config.yaml`` (or $NEWARCH_PINNING) when present, else
``benchmarks/recipes/conda_build_config.yaml``. Prints a Markdown report; ``--results`` also writes it.
"""

from __future__ import annotations

import argparse
import gc
import math
import os
import platform
import resource
import subprocess
import sys
import time
import tracemalloc
from contextlib import contextmanager, suppress
from datetime import date
from functools import partial
from itertools import pairwise
from pathlib import Path
from typing import Any
from collections.abc import Callable, Iterator

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from newarch.plan import graph as graph_mod  # noqa: E402
from newarch.model import PlatformPair  # noqa: E402
from newarch.render.pinning import Variants, default_pinning_path, load_pinning  # noqa: E402

import graphs  # noqa: E402

RENDER_PAIRS = (PlatformPair("win-arm64", "win-64"), PlatformPair("linux-64", "linux-64"))
lines: list[str] = []


def out(text: str = "") -> None:
    print(text, flush=True)
    lines.append(text)


@contextmanager
def gc_paused(paused: bool) -> Iterator[None]:
    was = gc.isenabled()
    if paused:
        gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()


def best_of(fn: Callable[[], Any], reps: int, paused: bool = False) -> tuple[float, Any]:
    """Best CPU time (``process_time``) of ``reps`` runs: on a shared machine wall time varies 2x
    with other load, the CPU time of a single-threaded computation much less."""
    best, result = math.inf, None
    for _ in range(reps):
        with gc_paused(paused):
            t = time.process_time()
            result = fn()
            best = min(best, time.process_time() - t)
    return best, result


def pinning_path() -> Path:
    p = default_pinning_path()
    return p if p is not None and p.is_file() else HERE / "recipes" / "conda_build_config.yaml"


def machine() -> str:
    cpu = ""
    try:
        for ln in Path("/proc/cpuinfo").read_text().splitlines():
            if ln.startswith("model name"):
                cpu = ln.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    cores = subprocess.run(["nproc"], capture_output=True, text=True).stdout.strip() or str(os.cpu_count())
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    return (
        f"{cores} cores ({cpu or platform.machine()}), {platform.system()} {platform.release()}, "
        f"Python {platform.python_version()}; load average at start {load}"
    )


# -- 1. render throughput ------------------------------------------------------------------------


def load_sources(paths: list[Path]) -> list[Any]:
    from newarch.errors import NewarchError
    from newarch.sources.recipes import open_source

    srcs = []
    for p in paths:
        with suppress(NewarchError):
            srcs.append(open_source(p))
    return srcs


def render_throughput(label: str, srcs: list[Any], pins: dict[str, Variants], min_seconds: float) -> None:
    from newarch.render import default_env, render_source

    for schema in ("v0", "v1"):
        subset = [s for s in srcs if s.schema == schema]
        if not subset:
            continue
        for pair in RENDER_PAIRS:
            env = default_env(pair)
            n = errors = 0
            first = 0.0
            t0 = time.process_time()  # CPU seconds of this process = seconds on one core
            while True:
                for s in subset:
                    r = render_source(s, pair, pins[pair.key], env)
                    errors += bool(r.error)
                    n += 1
                if not first:
                    first = time.process_time() - t0  # first pass: no parse/compile caches warm
                if time.process_time() - t0 >= min_seconds:
                    break
            dt = time.process_time() - t0
            reps = n // len(subset)
            out(
                f"| {label} | {schema} | {pair} | {len(subset)} | {len(subset) / first:8.1f} | {n / dt:8.1f} | "
                f"{1000 * dt / n:6.2f} | {errors // max(1, reps)} |"
            )


# -- 2 + 4. plan ---------------------------------------------------------------------------------


def plan_once(snap: Any) -> Any:
    from newarch.plan.planner import PlanOptions, make_plan

    graph_mod._INDEX_CACHE.clear()  # cold: the per-pair index is part of the cost
    return make_plan(snap, PlanOptions(targets=list(graphs.TARGETS), platform="win-arm64", build_platform="win-64"))


def plan_section(sizes: list[int], quick: bool) -> dict[int, dict[str, float]]:
    out("CPU seconds, best of several runs; the plan is cold (its per-platform index is rebuilt each run).")
    out()
    out(
        "| feedstocks | edges | top hubs (dependents) | planned | plan (s) | plan, GC paused (s) "
        "| bot-style (s) | bot-style, GC paused (s) | ratio | ratio, GC paused |"
    )
    out("|---:|---:|---|---:|---:|---:|---:|---:|---:|---:|")
    rows: dict[int, dict[str, float]] = {}
    for n in sizes:
        snap = graphs.generate(n)
        stats = graphs.edge_stats(snap)
        reps = 5 if n <= 25_000 else 2
        t_plan, plan = best_of(partial(plan_once, snap), reps)
        t_plan_p, _ = best_of(partial(plan_once, snap), reps, paused=True)
        breps = 1 if (quick or n > 5_000) else 2
        bot_plan = partial(graphs.bot_plan, snap, graphs.TARGETS, graphs.PAIRS[0])
        t_bot, order = best_of(bot_plan, breps)
        if n <= 25_000:
            t_bot_p, _ = best_of(bot_plan, breps, paused=True)
        else:
            t_bot_p = math.nan
        rows[n] = {"plan": t_plan, "plan_paused": t_plan_p, "bot": t_bot, "bot_paused": t_bot_p}
        paused_bot = f"{t_bot_p:.2f}" if t_bot_p == t_bot_p else "(not run)"
        paused_ratio = f"{t_bot_p / t_plan_p:.1f}x" if t_bot_p == t_bot_p else "—"
        out(
            f"| {n:,} | {stats['edges']:,} | {stats['top_hubs']} | {len(plan.feedstocks)} (bot: {len(order)}) | "
            f"{t_plan:.3f} | {t_plan_p:.3f} | {t_bot:.2f} | {paused_bot} | {t_bot / t_plan:.1f}x | {paused_ratio} |"
        )
        del snap, plan, order, bot_plan
        gc.collect()
    out()
    ns = sorted(rows)
    for key, label in (
        ("plan", "newarch plan"),
        ("plan_paused", "newarch plan, GC paused"),
        ("bot", "bot-style cut-and-pluck"),
    ):
        steps = [(a, b) for a, b in pairwise(ns) if rows[a][key] > 0 and rows[b][key] > 0]
        exps = [math.log(rows[b][key] / rows[a][key]) / math.log(b / a) for a, b in steps]
        out(
            f"- growth of {label}: time ~ n^k with k = "
            + ", ".join(f"{e:.2f} ({a:,}->{b:,})" for e, (a, b) in zip(exps, steps, strict=True))
        )
    return rows


def peak_rss_mib() -> float:
    """This process's peak RSS. Linux ``VmHWM`` (``ru_maxrss`` survives fork+exec, so a child would
    report its parent's peak)."""
    try:
        for ln in Path("/proc/self/status").read_text().splitlines():
            if ln.startswith("VmHWM:"):
                return int(ln.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def memory_probe(n: int) -> dict[str, float]:
    """Run in a fresh process: RSS with the snapshot loaded, peak allocations and RSS of the plan."""
    snap = graphs.generate(n)
    gc.collect()
    rss_snap = peak_rss_mib()
    tracemalloc.start()
    plan_once(snap)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    plan_once(snap)
    rss_plan = peak_rss_mib()
    return {"peak_mib": peak / 2**20, "rss_snapshot_mib": rss_snap, "rss_after_plan_mib": rss_plan}


def memory_section(n: int) -> None:
    import json

    proc = subprocess.run(
        [sys.executable, __file__, "--memory-probe", str(n)], capture_output=True, text=True, check=True
    )
    m = json.loads(proc.stdout.strip().splitlines()[-1])
    out(
        f"- plan on the {n:,} graph (fresh process): peak Python allocations during `make_plan` "
        f"{m['peak_mib']:.1f} MiB (tracemalloc); max RSS {m['rss_snapshot_mib']:.0f} MiB with the snapshot "
        f"generated in memory, {m['rss_after_plan_mib']:.0f} MiB after planning (+"
        f"{m['rss_after_plan_mib'] - m['rss_snapshot_mib']:.0f} MiB)"
    )


# -- 5. node_attrs ---------------------------------------------------------------------------------


def node_attrs_section(n: int, pin_path: Path) -> None:
    """Convert ``n`` synthetic node_attrs files (the bot's format, ~real size) on 1 and 2 cores."""
    import json
    import tempfile

    from newarch.render.node_attrs import compact_pinning, convert_batch
    from newarch.store.build import DEFAULT_PAIRS, BuildRequest, build_snapshot

    snap = graphs.generate(n)
    pairs = [PlatformPair.parse(p) for p in DEFAULT_PAIRS]
    pins = {p.key: load_pinning(pin_path, p) for p in pairs}
    filler = "Lorem ipsum dolor sit amet. " * 150  # real files are 20-80 KiB (about, raw_meta_yaml)
    with tempfile.TemporaryDirectory(prefix="newarch-bench-") as tmp:
        files: list[Path] = []
        total = 0
        for name, fs in snap.feedstocks.items():
            outs = fs.renders[graphs.PAIRS[1].key].outputs
            meta = {
                "about": {"description": filler, "summary": name},
                "package": {"name": name, "version": "1.0"},
                "schema_version": 0,
                "build": {"number": "0"},
                "outputs": [
                    {
                        "name": o.name,
                        "build": {"noarch": o.noarch} if o.noarch else {},
                        "requirements": {
                            k: [r.spec.replace("win-64", "") if "win-" not in r.name else "c_compiler_stub" for r in v]
                            for k, v in o.requirements.items()
                        },
                    }
                    for o in outs
                ],
            }
            doc = {
                "feedstock_name": name,
                "platforms": ["linux_64", "osx_64", "win_64"],
                "conda-forge.yml": {"build_platform": {"osx_arm64": "osx_64"}},
                "raw_meta_yaml": filler * 2,
                "meta_yaml": meta,
                **{f"{p}_meta_yaml": meta for p in ("linux_64", "osx_64", "win_64")},
                **{
                    f"{p}_requirements": {
                        k: {"__set__": True, "elements": sorted({r.name for o in outs for r in o.reqs(k)})}
                        for k in ("build", "host", "run")
                    }
                    for p in ("linux_64", "osx_64", "win_64")
                },
            }
            p = Path(tmp) / "node_attrs" / name[:1] / f"{name}.json"
            p.parent.mkdir(parents=True, exist_ok=True)
            text = json.dumps(doc, indent=1, sort_keys=True)
            p.write_text(text)
            total += len(text)
            files.append(p)
        keys = [p.key for p in pairs]
        compact = {k: compact_pinning(v) for k, v in pins.items()}
        t = time.process_time()
        res = convert_batch([str(f) for f in files], keys, compact)
        cpu = time.process_time() - t
        bad = sum(1 for r in res if isinstance(r, dict))
        out(
            f"- {len(files):,} files, {total / len(files) / 1024:.0f} KiB each on average, {len(pairs)} pairs: "
            f"{len(files) / cpu:,.0f} files/s/core ({1000 * cpu / len(files):.2f} ms CPU per file, {bad} errors) "
            f"-> 25,000 files ~ {25_000 * cpu / len(files):.0f} s on one core"
        )
        for jobs in (1, 2):
            req = BuildRequest(sources=[], pairs=pairs, pinnings=pins, jobs=jobs, node_attrs=files)
            t = time.perf_counter()
            built = build_snapshot(req)
            wall = time.perf_counter() - t
            out(
                f"- `build_snapshot` over them with -j {jobs}: {wall:.1f} s wall ({len(built.feedstocks):,} feedstocks)"
            )


# -- 3. snapshot -----------------------------------------------------------------------------------


def snapshot_section(mirror_dir: Path, pin_path: Path, quick: bool) -> None:
    from newarch.store.build import DEFAULT_PAIRS, BuildRequest, build_snapshot
    from newarch.sources.recipes import discover

    paths = discover([mirror_dir])
    if quick:
        paths = paths[:24]
    pairs = [PlatformPair.parse(p) for p in DEFAULT_PAIRS]
    pins = {p.key: load_pinning(pin_path, p) for p in pairs}
    for jobs in (1, 2):
        req = BuildRequest(sources=paths, pairs=pairs, pinnings=pins, pinning_source=pin_path.name, jobs=jobs)
        r0 = resource.getrusage(resource.RUSAGE_CHILDREN)
        c0 = time.process_time()
        t = time.perf_counter()
        snap = build_snapshot(req)
        dt = time.perf_counter() - t
        r1 = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu = time.process_time() - c0 + (r1.ru_utime + r1.ru_stime) - (r0.ru_utime + r0.ru_stime)
        failed = sum(1 for fs in snap.feedstocks.values() for r in fs.renders.values() if not r.ok)
        out(
            f"| {jobs} | {len(paths)} | {len(pairs)} | {dt:.1f} | {cpu:.1f} | {cpu / dt:.2f} | "
            f"{len(paths) * len(pairs) / dt:.1f} | {failed} | {os.getloadavg()[0]:.1f} |"
        )


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="smaller sizes, fewer repetitions (about a minute)")
    ap.add_argument("--results", type=Path, default=None, help="also write the Markdown report here")
    ap.add_argument("--memory-probe", type=int, default=0, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.memory_probe:
        import json

        print(json.dumps(memory_probe(args.memory_probe)))
        return 0
    quick = args.quick
    mirrors = os.environ.get("NEWARCH_MIRRORS")
    pin_path = pinning_path()

    out(f"# newarch benchmarks — {date.today().isoformat()}")
    out()
    out(
        f"Machine: {machine()}. Mode: {'--quick' if quick else 'full'}. Pinning: {pin_path.name} "
        f"({'conda-forge' if pin_path.parent.name == 'data' else 'benchmarks/recipes'})."
    )
    out()

    out("## 1. Render throughput (one process = one core)")
    out()
    out("CPU time of one process; `errors` = recipes of the set that fail to render (per pass).")
    out()
    out(
        "| recipes | schema | pair | n | recipes/s/core, first pass | recipes/s/core, repeated | ms/recipe, repeated "
        "| errors |"
    )
    out("|---|---|---|---:|---:|---:|---:|---:|")
    pins = {p.key: load_pinning(pin_path, p) for p in RENDER_PAIRS}
    own = load_sources(sorted(p for p in (HERE / "recipes").iterdir() if p.is_dir()))
    render_throughput("benchmarks/recipes", own, pins, 0.5 if quick else 3.0)
    if mirrors:
        from newarch.sources.recipes import discover

        real = load_sources(discover([Path(mirrors)]))
        render_throughput(f"real mirrors ({len(real)})", real, pins, 0.5 if quick else 5.0)
    out()

    out("## 2. Plan time on generated graphs vs the bot's cut-and-pluck (same graphs)")
    out()
    sizes = [1_000, 5_000, 25_000] + ([] if quick else [100_000])
    plan_section(sizes, quick)
    out()

    out("## 3. Snapshot time on the fetched set")
    out()
    if mirrors:
        out(
            "Wall seconds; CPU = parent + workers (git reads included). `cores used` = CPU/wall: below the -j "
            "value when other processes compete for the cores (see the load average after the run)."
        )
        out()
        out("| -j | feedstocks | pairs | wall s | CPU s | cores used | renders/s | failed renders | load avg |")
        out("|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
        snapshot_section(Path(mirrors), pin_path, quick)
    else:
        out("(skipped: set NEWARCH_MIRRORS to a folder of feedstock mirrors)")
    out()

    out("## 4. Peak memory of plan")
    out()
    memory_section(25_000)
    out()

    out("## 5. cf-graph node_attrs conversion (synthetic files in the bot's format)")
    out()
    node_attrs_section(2_000 if quick else 10_000, pin_path)
    out()

    out("## 6. Render cost on the fetched set (render_real.py)")
    out()
    if mirrors:
        import render_real

        render_real.run_all(Path(mirrors), pin_path, quick, True, out)
    else:
        out("(skipped: set NEWARCH_MIRRORS to a folder of feedstock mirrors)")
    if args.results:
        args.results.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
