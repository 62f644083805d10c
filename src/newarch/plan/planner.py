"""The bootstrap planner: which builds (feedstock@branch) a new platform needs, in which order and why.

The data flows one way through the package:

* ``graph``   output names -> providing feedstock for one platform pair (``PairIndex``);
* ``specs``   match specs against rendered builds (py-rattler);
* ``resolve`` spec + python variant -> the branch that builds it, or a gap;
* ``deps``    what one build depends on (the section / run_exports rules);
* ``closure`` from the targets, every job and noarch node needed (BFS), the toolchain, unknowns, gaps;
* ``order``   job-level needs, waves, cycles, critical path, why-chains;
* ``tipping`` from when native builds are possible;
* ``explain`` why / why-not and the prune reasons;
* ``model``   the plan's dataclasses and JSON contract.

This module ties them together (``make_plan``) and keeps the names other modules import.
"""

from __future__ import annotations

from newarch.plan.closure import Closure
from newarch.plan.explain import prune_reasons
from newarch.plan.graph import pair_index
from newarch.plan.model import (
    MODES,
    SCHEMA,
    Choice,
    Cycle,
    Gap,
    Need,
    NoarchNode,
    Plan,
    PlannedFeedstock,
    PlanOptions,
    Pruned,
    ToolchainItem,
    UnknownDep,
    no_gc,
)
from newarch.plan.order import SECTION_WEAKNESS, needs, order, why_chains
from newarch.plan.resolve import Resolver, _vkey, more_python_variants, python_variants
from newarch.plan.tipping import TIPPING_TOOLS, tipping
from newarch.model import PlatformPair
from newarch.store.snapshot import Snapshot

__all__ = [
    "MODES",
    "SCHEMA",
    "SECTION_WEAKNESS",
    "TIPPING_TOOLS",
    "Choice",
    "Cycle",
    "Gap",
    "Need",
    "NoarchNode",
    "Plan",
    "PlanOptions",
    "PlannedFeedstock",
    "Pruned",
    "ToolchainItem",
    "UnknownDep",
    "default_build_platform",
    "make_plan",
]


def default_build_platform(snapshot: Snapshot, platform: str) -> str:
    builds = sorted({p.build for p in snapshot.pairs if p.target == platform and p.build != platform})
    if builds:
        return builds[0]
    for fs in snapshot.feedstocks.values():
        for r in fs.renders.values():
            if r.pair.target == platform:
                return r.pair.build
    return platform


def make_plan(snapshot: Snapshot, options: PlanOptions) -> Plan:
    """Plan the builds for ``options.targets`` on ``options.platform``."""
    if options.mode not in MODES:
        raise ValueError(f"mode must be one of {', '.join(MODES)}, not {options.mode!r}")
    build = options.build_platform or default_build_platform(snapshot, options.platform)
    pair = PlatformPair(options.platform, build)
    # The planner allocates many small objects next to a large, long-lived snapshot: cyclic garbage
    # collection passes over the snapshot would dominate the run time, and the planner makes no cycles
    # that need collecting before it returns.
    with no_gc():
        idx = pair_index(snapshot, pair)
        pythons = python_variants(snapshot, idx, tuple(options.pythons))
        resolver = Resolver(idx)
        while True:  # the pinning's variants, plus the ones reached feedstocks' migrations render
            closure = Closure(snapshot, options, pair, idx, pythons, resolver)
            plan = closure.run()
            if options.pythons:
                break
            add, left_out = more_python_variants(snapshot, idx, pythons, closure.rendered_pythons)
            plan.python_left_out = left_out
            if not add:
                break
            pythons = dict(sorted({**pythons, **add}.items(), key=lambda kv: _vkey(kv[0])))
        plan.pruner = prune_reasons
        needs(plan)
        order(plan)
        why_chains(plan)
        tipping(plan, lambda o: make_plan(snapshot, o))
    return plan
