"""Crawl from a warm folder of mirrors: feedstocks/s and renders/s of ``newarch snapshot --closure``.

    NEWARCH_MIRRORS=<folder of conda-forge+NAME-feedstock/repo mirrors> python benchmarks/crawl.py
        [--targets-file F ...] [--closure NAME ...] [-j N] [--pairs P,P]

The mirrors are local (the folder template ``$NEWARCH_MIRRORS/conda-forge+{name}-feedstock/repo``),
so the figures are the crawl's own cost: reading git mirrors, rendering, following the names. Two
passes side by side in one process, on the same targets:

- ``cold``: an empty render cache, every feedstock reached is rendered for every pair;
- ``warm``: the cache of the cold pass, nothing changed, so every render is reused (the incremental path).

Prints a Markdown table; CPU s is this process and its render workers (wall time on a busy machine
says more about the other load than about the crawl). Skips (exit 0) without NEWARCH_MIRRORS.
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import tempfile
import time
from pathlib import Path

from newarch.model import PlatformPair
from newarch.render.pinning import default_pinning_path, load_pinning
from newarch.sources.fetch import FolderSource
from newarch.sources.outputs_map import load_bundled
from newarch.store.build import DEFAULT_PAIRS, BuildRequest
from newarch.store.crawl import CrawlRequest, crawl

HERE = Path(__file__).resolve().parent
SEED = ["conda", "conda-build", "mamba", "rattler-build", "pixi", "python"]


def cpu_seconds() -> float:
    me = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--closure", action="append", default=[], help="target name (default: the seed + python)")
    ap.add_argument("--targets-file", action="append", default=[], type=Path)
    ap.add_argument("-j", "--jobs", type=int, default=os.cpu_count() or 1)
    ap.add_argument("--pairs", default=",".join(DEFAULT_PAIRS))
    ap.add_argument("--template", default="conda-forge+{name}-feedstock/repo", help="under NEWARCH_MIRRORS")
    args = ap.parse_args()
    mirrors = os.environ.get("NEWARCH_MIRRORS")
    if not mirrors:
        print("skipped: set NEWARCH_MIRRORS to a folder of feedstock mirrors")
        return 0
    pin_path = default_pinning_path() or HERE / "recipes" / "conda_build_config.yaml"
    targets = list(args.closure)
    if args.targets_file:
        from newarch.report.migrate import read_targets_file

        for f in args.targets_file:
            targets += read_targets_file(f)
    targets = list(dict.fromkeys(targets or SEED))
    pairs = [PlatformPair.parse(p) for p in args.pairs.split(",") if p.strip()]
    omap = load_bundled()
    breq = BuildRequest(
        sources=[],
        pairs=pairs,
        pinnings={p.key: load_pinning(pin_path, p) for p in pairs},
        pinning_source=pin_path.name,
        outputs_map=omap,
        jobs=args.jobs,
    )
    source = FolderSource(str(Path(mirrors) / args.template))
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    print(
        f"Targets: {len(targets)}; pairs: {len(pairs)}; -j {args.jobs}; {os.cpu_count()} cores; "
        f"load average at start {load}.\n"
    )
    print(
        "| pass | feedstocks reached | rendered | reused | renders (x pairs) | wall s | CPU s | feedstocks/s | renders/s | renders/CPU s | fetch failures | render failures |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    with tempfile.TemporaryDirectory(prefix="newarch-crawl-bench-") as cache:
        for label in ("cold", "warm"):
            req = CrawlRequest(targets=targets, build=breq, cache=Path(cache), fetch_jobs=8)
            c0, t0 = cpu_seconds(), time.perf_counter()
            _snap, rep = crawl(req, source)
            wall, cpu = time.perf_counter() - t0, cpu_seconds() - c0
            renders = len(rep.rendered) * len(pairs)
            print(
                f"| {label} | {len(rep.reached)} | {len(rep.rendered)} | {len(rep.reused)} | {renders} | {wall:.1f} "
                f"| {cpu:.1f} | {len(rep.reached) / wall:.1f} | {renders / wall:.1f} | {renders / max(cpu, 1e-9):.1f} | {len(rep.fetch_failures)} "
                f"| {len(rep.render_failures)} |",
                flush=True,
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
