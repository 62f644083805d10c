"""Plan time with release branches (issue 11), side by side in one run:

* this checkout's planner (specs resolved per branch and python variant, lazy per-name index);
* the planner of a baseline revision (``--baseline``, default ``main``: today's plan before the change),
  run from a ``git archive`` of that revision in a child process on the same inputs;
* the bot-style cut-and-pluck (``graphs.bot_plan``) on the generated graph.

Inputs: the bundled snapshot (win-arm64<-win-64 and osx-arm64<-osx-64) and a generated graph of
``--n`` feedstocks (default 25,000) where every tenth compiled feedstock has 3 rendered release
branches and a third of the specs on those ask a version only a branch builds.

    python benchmarks/plan_versions.py [--baseline REV] [--n 25000] [--reps 5] [--results FILE]

Times are CPU seconds (``process_time``), best of ``--reps``; every plan is cold: the per-pair index is
rebuilt and the in-memory snapshot's producers index is dropped before each run (a store answers
``producers()`` from its SQL index instead). ``read`` counts the feedstocks a plan looks up by name.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(HERE))

PAIRS = (("win-arm64", "win-64"), ("osx-arm64", "osx-64"))
TARGETS = ("conda", "conda-build", "mamba", "rattler-build", "pixi")


class Counting(dict):
    """A feedstocks mapping that records which names are looked up."""

    read: set[str]

    def get(self, key: Any, default: Any = None) -> Any:
        self.read.add(key)
        return super().get(key, default)

    def __getitem__(self, key: Any) -> Any:
        self.read.add(key)
        return super().__getitem__(key)


def _cold(snap: Any) -> None:
    from newarch.plan import graph as graph_mod

    graph_mod._INDEX_CACHE.clear()
    if hasattr(snap, "_names"):
        snap._names = None


def _plan(snap: Any, targets: tuple[str, ...], platform: str, build: str) -> Any:
    from newarch.plan.planner import PlanOptions, make_plan

    _cold(snap)
    return make_plan(snap, PlanOptions(targets=list(targets), platform=platform, build_platform=build))


def _best(fn: Any, reps: int) -> tuple[float, Any]:
    best, result = math.inf, None
    for _ in range(reps):
        t = time.process_time()
        result = fn()
        best = min(best, time.process_time() - t)
    return best, result


def measure(n: int, reps: int) -> dict[str, Any]:
    """The figures of the planner importable here (this checkout or the baseline)."""
    import graphs
    from newarch.store import snapshot as snapshot_mod

    out: dict[str, Any] = {}
    snap = snapshot_mod.load(None)
    counting = Counting(snap.feedstocks)
    counting.read = set()
    snap.feedstocks = counting
    for platform, build in PAIRS:
        counting.read = set()
        _plan(snap, TARGETS, platform, build)
        read = len(counting.read)
        t, plan = _best(lambda p=platform, b=build: _plan(snap, TARGETS, p, b), reps)
        out[f"bundled {platform}<-{build}"] = {
            "seconds": t,
            "jobs": len(plan.feedstocks),
            "gaps": len(getattr(plan, "gaps", ())),
            "read": read,
            "of": len(snap.feedstocks),
        }
    gen = graphs.generate(n, branches_every=10)
    counting = Counting(gen.feedstocks)
    counting.read = set()
    gen.feedstocks = counting
    _plan(gen, graphs.TARGETS, "win-arm64", "win-64")
    read = len(counting.read)
    t, plan = _best(lambda: _plan(gen, graphs.TARGETS, "win-arm64", "win-64"), reps)
    branch_jobs = sum(1 for j in plan.feedstocks.values() if getattr(j, "branch", "main") != "main")
    out[f"generated {n:,}, branches"] = {
        "seconds": t,
        "jobs": len(plan.feedstocks),
        "branch_jobs": branch_jobs,
        "gaps": len(getattr(plan, "gaps", ())),
        "read": read,
        "of": len(gen.feedstocks),
    }
    return out


def _child(src: Path, n: int, reps: int) -> dict[str, Any]:
    env = {**os.environ, "PYTHONPATH": str(src)}
    cmd = [sys.executable, str(Path(__file__).resolve()), "--measure", "--n", str(n), "--reps", str(reps)]
    res = subprocess.run(cmd, env=env, capture_output=True, text=True, check=False)
    if res.returncode != 0:
        raise SystemExit(f"measuring {src} failed:\n{res.stderr[-3000:]}")
    return json.loads(res.stdout.strip().splitlines()[-1])


def _export(rev: str, dest: Path) -> Path:
    """``src/`` of ``rev`` (git archive) under ``dest``."""
    tar = dest / "src.tar"
    with tar.open("wb") as fh:
        subprocess.run(["git", "-C", str(REPO), "archive", rev, "src"], stdout=fh, check=True)
    with tarfile.open(tar) as tf:
        tf.extractall(dest, filter="data")
    return dest / "src"


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--baseline", default="main", help="git revision whose planner is the baseline")
    ap.add_argument("--n", type=int, default=25_000)
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--results", type=Path, default=None, help="append the Markdown section to this file")
    ap.add_argument("--measure", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.measure:
        print(json.dumps(measure(args.n, args.reps)))
        return 0
    import graphs

    rev = subprocess.run(
        ["git", "-C", str(REPO), "rev-parse", "--short", args.baseline], capture_output=True, text=True, check=True
    ).stdout.strip()
    head = subprocess.run(
        ["git", "-C", str(REPO), "rev-parse", "--short", "HEAD"], capture_output=True, text=True, check=True
    ).stdout.strip()
    load = os.getloadavg()
    ours = _child(REPO / "src", args.n, args.reps)
    with tempfile.TemporaryDirectory() as tmp:
        base = _child(_export(rev, Path(tmp)), args.n, args.reps)
    gen = graphs.generate(args.n, branches_every=10)
    t_bot, order = _best(lambda: graphs.bot_plan(gen, graphs.TARGETS, graphs.PAIRS[0]), 1)
    lines = [
        f"## Plan with release branches (issue 11) — {time.strftime('%Y-%m-%d')}",
        "",
        f"`python benchmarks/plan_versions.py --baseline {args.baseline} --n {args.n} --reps {args.reps}`: "
        f"this checkout ({head}) vs the planner of {args.baseline} ({rev}), same inputs, one run; "
        f"load average at start {load[0]:.1f}, {load[1]:.1f}, {load[2]:.1f} (2 cores, shared). CPU seconds, "
        "best of the reps, every plan cold. `read`: feedstocks the plan looks up by name (the baseline's "
        "index scans every feedstock).",
        "",
        "| input | this (s) | baseline (s) | this / baseline | jobs (this; baseline) | branch jobs | gaps | feedstocks read (this) |",
        "|---|---:|---:|---:|---|---:|---:|---|",
    ]
    for key, mine in ours.items():
        b = base.get(key, {})
        ratio = f"{mine['seconds'] / b['seconds']:.2f}x" if b.get("seconds") else "—"
        lines.append(
            f"| {key} | {mine['seconds']:.3f} | {b.get('seconds', math.nan):.3f} | {ratio} | "
            f"{mine['jobs']}; {b.get('jobs', '—')} | {mine.get('branch_jobs', '—')} | {mine['gaps']} | "
            f"{mine['read']} of {mine['of']} |"
        )
    key = f"generated {args.n:,}, branches"
    lines += [
        "",
        f"- bot-style cut-and-pluck on the same generated graph: {t_bot:.2f} s ({len(order)} feedstocks); "
        f"this planner is {t_bot / ours[key]['seconds']:.1f}x faster, the baseline "
        f"{t_bot / base[key]['seconds']:.1f}x.",
        "",
    ]
    text = "\n".join(lines)
    print(text)
    if args.results:
        with args.results.open("a", encoding="utf-8") as fh:
            fh.write("\n" + text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
