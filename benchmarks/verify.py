"""Time of ``newarch verify`` for the seed plan on the bundled snapshot (win-arm64<-win-64), one core.

    taskset -c 0 python benchmarks/verify.py [--runs N]

Prints CPU and wall seconds of: building the virtual channel + all solves (targets, host/build envs,
builders) without and with the minimality check. Snapshot loading and planning are timed apart.
"""

from __future__ import annotations

import argparse
import os
import time

from newarch.commands.options import SEED_TARGETS
from newarch.plan.planner import PlanOptions, make_plan
from newarch.store import snapshot
from newarch.verify.channel import planned_builds
from newarch.verify.checks import verify


def timed(fn):
    c0, w0 = time.process_time(), time.perf_counter()
    value = fn()
    return time.process_time() - c0, time.perf_counter() - w0, value


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=3)
    args = ap.parse_args()
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    c, w, snap = timed(snapshot.load)
    print(f"cores available to this process: {cores}")
    print(f"snapshot load: {c:.2f} s CPU, {w:.2f} s wall")
    opts = PlanOptions(list(SEED_TARGETS), "win-arm64", "win-64")
    c, w, plan = timed(lambda: make_plan(snap, opts))
    print(f"plan: {c:.2f} s CPU, {w:.2f} s wall ({len(plan.feedstocks)} feedstocks)")
    builds = planned_builds(plan)
    for minimal in (True, False):  # the first run is cold (spec and record caches empty)
        runs = [
            timed(lambda m=minimal: verify(snap, plan.pair, plan.roots, builds, minimal=m)) for _ in range(args.runs)
        ]
        c, w, v = min(runs, key=lambda r: r[0])
        f = v.figures()
        label = "verify with minimality" if minimal else "verify (no minimality)"
        first = f"; first run {runs[0][0]:.2f} s CPU" if minimal else ""
        print(f"{label}: {c:.2f} s CPU, {w:.2f} s wall, {f['solves']} solves (best of {args.runs}{first})")
    print("figures:", f)


if __name__ == "__main__":
    main()
