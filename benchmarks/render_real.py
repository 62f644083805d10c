"""Render cost on the fetched feedstocks: per recipe and pair, v1 against bare py-rattler-build, snapshot.

    NEWARCH_MIRRORS=<folder of mirrors> python benchmarks/render_real.py [--quick] [--skip-snapshot]

1. every recipe of the fetched set rendered once per platform pair: CPU ms of ``render_source``
   (``time.process_time``: on a shared machine wall time measures the other jobs, CPU time this
   process) and wall ms: max, p90, median, the slowest recipes, and the failures;
2. each v1 recipe and pair rendered by newarch and by bare py-rattler-build (``Stage0Recipe.from_yaml``
   + ``render`` with the same variants, the recipe files already on disk), one right after the other
   in the same process, best of 3 CPU times each: the ratio newarch / bare (median, p90, max);
3. ``build_snapshot`` of the fetched set x 7 pairs with -j 1 and -j 2 (wall, and CPU of this process
   and its workers), and the projection to 25,000 feedstocks from the measured rate plus the tail
   (the slowest feedstock, which the last worker may still be rendering when the others are done).

Run by ``benchmarks/run.py`` when NEWARCH_MIRRORS is set; prints Markdown.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import resource
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from newarch.model import PlatformPair
from newarch.render.pinning import Variants, default_pinning_path, load_pinning

PAIRS_DEFAULT = (
    "win-arm64:win-64",
    "win-64",
    "linux-64",
    "linux-aarch64:linux-64",
    "linux-riscv64:linux-64",
    "osx-64",
    "osx-arm64:osx-64",
)
TARGET = 25_000


def pct(values: list[float], q: float) -> float:
    """The q-quantile (0..1) by nearest rank."""
    s = sorted(values)
    return s[min(len(s) - 1, max(0, round(q * (len(s) - 1))))]


def _sources(mirrors: Path) -> list[Any]:
    from newarch.errors import NewarchError
    from newarch.sources.recipes import discover, open_source

    out = []
    for p in discover([mirrors]):
        with contextlib.suppress(NewarchError):
            out.append(open_source(p))
    return out


def _pins(pairs: list[PlatformPair], pin_path: Path) -> dict[str, Variants]:
    return {p.key: load_pinning(pin_path, p) for p in pairs}


def per_recipe(srcs: list[Any], pairs: list[PlatformPair], pins: dict[str, Variants], emit: Callable[[str], None]):
    """Section 1: wall time of one render per recipe and pair."""
    from newarch.render import default_env, render_source

    times: list[tuple[float, str, str, float]] = []  # (cpu s, name, pair, wall s)
    failures: list[tuple[str, str, str]] = []
    for src in srcs:
        for pair in pairs:
            w, t = time.perf_counter(), time.process_time()
            r = render_source(src, pair, pins[pair.key], default_env(pair))
            times.append((time.process_time() - t, src.name, pair.key, time.perf_counter() - w))
            if r.error:
                failures.append((src.name, pair.key, r.error))
    ms = [1000 * t for t, _, _, _ in times]
    emit(
        f"{len(srcs)} recipes x {len(pairs)} pairs = {len(times)} renders, ms per render (one process; "
        f"load average {os.getloadavg()[0]:.1f} at the end):"
    )
    emit("")
    emit("| schema | renders | median CPU ms | p90 CPU ms | max CPU ms | over 1 s CPU | median wall ms | max wall ms |")
    emit("|---|---:|---:|---:|---:|---:|---:|---:|")
    schema = {s.name: s.schema for s in srcs}
    for label in ("v0", "v1", "all"):
        sel = [(1000 * t, 1000 * w) for t, n, _, w in times if label == "all" or schema[n] == label]
        if sel:
            cpu = [c for c, _ in sel]
            wall = [x for _, x in sel]
            emit(
                f"| {label} | {len(sel)} | {statistics.median(cpu):.1f} | {pct(cpu, 0.9):.1f} | {max(cpu):.0f} | "
                f"{sum(1 for x in cpu if x > 1000)} | {statistics.median(wall):.1f} | {max(wall):.0f} |"
            )
    emit("")
    slow = sorted(times, reverse=True)[:8]
    emit("Slowest (CPU): " + ", ".join(f"{n} ({k}) {1000 * t:.0f} ms" for t, n, k, _ in slow))
    emit("")
    emit(f"Render failures: {len(failures)}")
    for name, key, err in failures:
        emit(f"- {name} ({key}): {err}")
    return ms


def _bare_render(src: Any, pair: PlatformPair, pinning: Variants, root: Path) -> Callable[[], int]:
    """A closure rendering ``src`` with bare py-rattler-build on the variants newarch would use."""
    from rattler_build import PlatformConfig, RenderConfig, Stage0Recipe

    from newarch.render.pinning import apply_migrations
    from newarch.render.v1_recipe import _write_recipe_dir
    from newarch.render.v1_variants import cap_variants, recipe_variants, used_keys, variant_config

    pin, _ = apply_migrations(pinning, src.migrations, pair, "migrations")
    merged = pin.merged(recipe_variants(src, pair))
    texts = [t for t in (src.text(r) for r in sorted(src.files) if r.endswith((".yaml", ".yml", ".sh", ".bat"))) if t]
    restricted, _ = cap_variants(merged.restricted(used_keys(texts, merged)))
    _write_recipe_dir(src, root)
    text = src.text("recipe.yaml") or ""
    config = RenderConfig(
        PlatformConfig(target_platform=pair.target, build_platform=pair.build, host_platform=pair.target)
    )

    def run() -> int:
        recipe = Stage0Recipe.from_yaml(text, recipe_dir=root)
        return len(recipe.render(variant_config(restricted), config))

    return run


def v1_ratio(srcs: list[Any], pairs: list[PlatformPair], pins: dict[str, Variants], emit: Callable[[str], None]):
    """Section 2: newarch's v1 render against bare py-rattler-build, same recipe, variants and run."""
    from newarch.render import default_env, render_source

    ratios: list[tuple[float, str, str, float, float]] = []
    not_bare = 0
    with tempfile.TemporaryDirectory(prefix="bench-bare-") as tmp:
        for src in [s for s in srcs if s.schema == "v1"]:
            for pair in pairs:
                root = Path(tmp) / f"{src.name}-{pair.key.replace(':', '_')}"
                root.mkdir()
                bare = _bare_render(src, pair, pins[pair.key], root)
                try:
                    bare()
                except Exception:  # bare rattler-build rejects what newarch relaxes: no pair to compare
                    not_bare += 1
                    continue
                best_n = best_b = float("inf")
                for _ in range(3):
                    t = time.process_time()
                    render_source(src, pair, pins[pair.key], default_env(pair))
                    best_n = min(best_n, time.process_time() - t)
                    t = time.process_time()
                    bare()
                    best_b = min(best_b, time.process_time() - t)
                ratios.append((best_n / best_b, src.name, pair.key, best_n, best_b))
    r = [x[0] for x in ratios]
    emit(
        f"{len(ratios)} v1 recipe x pair renders compared ({not_bare} left out: bare py-rattler-build rejects "
        "the recipe text newarch relaxes). Best of 3 CPU times each, newarch and bare alternating in one process; "
        f"load average {os.getloadavg()[0]:.1f}."
    )
    emit("")
    emit("| ratio newarch / bare (CPU) | median | p90 | max | sum newarch s | sum bare s |")
    emit("|---|---:|---:|---:|---:|---:|")
    emit(
        f"| v1 render | {statistics.median(r):.2f} | {pct(r, 0.9):.2f} | {max(r):.2f} | "
        f"{sum(x[3] for x in ratios):.2f} | {sum(x[4] for x in ratios):.2f} |"
    )
    emit("")
    worst = sorted(ratios, reverse=True)[:6]
    emit(
        "Highest ratios: "
        + ", ".join(f"{n} ({k}) {q:.2f}x ({1000 * a:.0f} vs {1000 * b:.0f} ms)" for q, n, k, a, b in worst)
    )
    emit("")
    costly = sorted(ratios, key=lambda x: -x[4])[:6]
    emit(
        "Costliest for bare py-rattler-build: "
        + ", ".join(
            f"{n} ({k}) newarch {1000 * a:.0f} ms vs bare {1000 * b:.0f} ms ({q:.2f}x)" for q, n, k, a, b in costly
        )
    )
    return r


def snapshot_projection(mirrors: Path, pin_path: Path, per_feedstock_max_s: float, emit: Callable[[str], None]):
    """Section 3: snapshot wall time with -j 1 and -j 2 and the projection to 25,000 feedstocks."""
    from newarch.sources.recipes import discover
    from newarch.store.build import DEFAULT_PAIRS, BuildRequest, build_snapshot

    paths = discover([mirrors])
    pairs = [PlatformPair.parse(p) for p in DEFAULT_PAIRS]
    pins = _pins(pairs, pin_path)
    emit(
        "| -j | feedstocks | pairs | wall s | CPU s | feedstocks/s (wall) | projected 25,000 (wall rate x n + tail) "
        "| projected 25,000 (CPU / jobs + tail) | load avg before / after |"
    )
    emit("|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for jobs in (1, 2):
        req = BuildRequest(sources=paths, pairs=pairs, pinnings=pins, pinning_source=pin_path.name, jobs=jobs)
        load = os.getloadavg()[0]
        cpu0 = _cpu()
        t = time.perf_counter()
        build_snapshot(req)
        wall = time.perf_counter() - t
        cpu = _cpu() - cpu0
        rate = len(paths) / wall
        projected = TARGET / rate + per_feedstock_max_s
        by_cpu = cpu / len(paths) * TARGET / jobs + per_feedstock_max_s
        emit(
            f"| {jobs} | {len(paths)} | {len(pairs)} | {wall:.1f} | {cpu:.1f} | {rate:.2f} | "
            f"{projected / 60:.1f} min ({TARGET / rate:.0f} s + {per_feedstock_max_s:.1f} s) | "
            f"{by_cpu / 60:.1f} min | {load:.1f} / {os.getloadavg()[0]:.1f} |"
        )
    emit("")
    emit(
        f"Tail = the slowest feedstock's 7 renders, CPU ({per_feedstock_max_s:.1f} s): with the "
        "feedstocks spread over the workers, the last one may still run that long after the rest. "
        "The CPU projection assumes the workers get a core each (an idle machine); the wall projection "
        "carries this run's load."
    )


def _cpu() -> float:
    """CPU seconds of this process and of its finished children (the snapshot's worker processes)."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


def run_all(
    mirrors: Path,
    pin_path: Path,
    quick: bool,
    snapshot: bool,
    emit: Callable[[str], None],
    only: list[str] | None = None,
) -> None:
    srcs = _sources(mirrors)
    if only:
        srcs = [s for s in srcs if s.name in only]
    if quick:
        srcs = srcs[:30]
    pairs = [PlatformPair.parse(p) for p in PAIRS_DEFAULT]
    pins = _pins(pairs, pin_path)
    emit("### Render time per recipe and platform pair")
    emit("")
    t0 = time.perf_counter()
    per_recipe(srcs, pairs, pins, emit)
    emit("")
    emit("### v1: newarch against bare py-rattler-build")
    emit("")
    v1_ratio(srcs, pairs[:2] if quick else pairs, pins, emit)
    emit("")
    if snapshot:
        # tail: the most expensive feedstock over the 7 pairs, measured again here
        from newarch.render import default_env, render_source

        worst = 0.0
        for src in srcs:
            t = time.process_time()
            for pair in pairs:
                render_source(src, pair, pins[pair.key], default_env(pair))
            worst = max(worst, time.process_time() - t)
        emit("### Snapshot of the fetched set")
        emit("")
        snapshot_projection(mirrors, pin_path, worst, emit)
    emit("")
    emit(f"(section run time {time.perf_counter() - t0:.0f} s)")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--skip-snapshot", action="store_true")
    ap.add_argument("--only", default="", help="comma-separated feedstock names (sections 1 and 2 only)")
    args = ap.parse_args()
    mirrors = os.environ.get("NEWARCH_MIRRORS")
    if not mirrors:
        print("set NEWARCH_MIRRORS to a folder of feedstock mirrors", file=sys.stderr)
        return 2
    pin = default_pinning_path()
    if pin is None:
        print("no pinning: set NEWARCH_PINNING to conda-forge's conda_build_config.yaml", file=sys.stderr)
        return 2
    print(f"load average at start: {', '.join(f'{x:.1f}' for x in os.getloadavg())}")
    only = [n for n in args.only.split(",") if n] or None
    run_all(Path(mirrors), pin, args.quick, not args.skip_snapshot and not only, lambda s: print(s, flush=True), only)
    return 0


if __name__ == "__main__":
    sys.exit(main())
