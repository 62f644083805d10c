"""The tipping point: from when native builds are possible on the target.

Where the target machine runs the build platform's binaries under emulation (``platforms.EXECUTES``:
win-arm64 runs win-64, osx-arm64 runs osx-64), the build platform's conda-build / rattler-build run
on the target from the start: a native build needs only the recipe's own build deps built for the
target, so native builds are possible from wave 0 and the tipping point is -1 ("before the plan").
The waves in which the target's own conda, conda-build/rattler-build and ninja exist are reported
beside it. Elsewhere (linux-aarch64 from linux-64 in conda-forge's CI) native builds must wait until
those tools exist on the target: the tipping point is the wave after which they all do.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from newarch.plan.model import Plan, PlanOptions
from newarch.platforms import native_tools_from

# Tools that make native builds possible on the target: all of conda, one of conda-build/rattler-build, ninja.
TIPPING_TOOLS: tuple[tuple[str, ...], ...] = (("conda",), ("conda-build", "rattler-build"), ("ninja",))


def _tool_wave(plan: Plan, names: Iterable[str]) -> tuple[int | None, str]:
    """Earliest wave after which one of ``names`` exists on the target (-1 = already), and how."""
    best: tuple[int | None, str] = (None, "")
    for name in names:
        w: int | None = None
        how = ""
        if name in plan.options.available:
            w, how = -1, f"{name} is available"
        else:
            jobs = [f for f in plan.feedstocks.values() if name in f.outputs]
            if jobs:
                j = min(jobs, key=lambda f: f.wave)
                w, how = j.wave, f"{name} from {j.name}"
            else:
                nodes = [n for n in plan.noarch.values() if n.name == name]
                if nodes:
                    deps = [plan.feedstocks[t].wave for n in nodes for t in plan.jobs_behind([("noarch", n.key)])]
                    w, how = (max(deps) if deps else -1), f"{name} (noarch) once its run deps are built"
        if w is not None and (best[0] is None or w < best[0]):
            best = (w, how)
    return best


def _compute(p: Plan) -> tuple[int | None, dict[str, Any]]:
    detail: dict[str, Any] = {}
    waves: list[int] = []
    missing = False
    for group in TIPPING_TOOLS:
        w, how = _tool_wave(p, group)
        detail[" or ".join(group)] = {"wave": w, "how": how}
        if w is None:
            missing = True
        else:
            waves.append(w)
    return (None if missing else max(waves)), detail


def tipping(plan: Plan, replan: Callable[[PlanOptions], Plan]) -> None:
    """Fill ``plan.tipping_point_wave`` and ``plan.tipping_point``. ``replan`` makes a plan of the tools
    alone (a node's wave depends only on what it needs; those extra feedstocks are listed, not added)."""
    wave, detail = _compute(plan)
    extra: list[str] = []
    if wave is None and plan.options.tipping_point:
        tools = [t for g in TIPPING_TOOLS for t in g]
        o = plan.options
        opts = PlanOptions(
            tools, plan.pair.target, plan.pair.build, o.mode, o.available, o.ignore, False, o.pythons, o.available_build
        )
        aux = replan(opts)
        wave, detail = _compute(aux)
        extra = sorted(set(aux.feedstocks) - set(plan.feedstocks))
    emulated = native_tools_from(plan.pair.target) if plan.pair.cross else None
    plan.tipping_point = {"tools": detail, "extra_feedstocks": extra, "native_tools_wave": wave}
    if extra:
        plan.tipping_point["note"] = (
            f"the tools need {len(extra)} feedstock(s) outside this plan; their waves come from a plan of the tools alone"
        )
    if emulated and emulated == plan.pair.build:
        plan.tipping_point_wave = -1
        plan.tipping_point["profile"] = {"target_runs": emulated, "emulated": True}
        plan.tipping_point["reason"] = (
            f"{plan.pair.target} runs {emulated} binaries under emulation: the {emulated} conda-build / "
            f"rattler-build run there from the start, so a native build needs only the recipe's own build "
            f"deps built for {plan.pair.target}"
        )
    else:
        plan.tipping_point_wave = wave
        plan.tipping_point["profile"] = {"target_runs": emulated or "", "emulated": False}
        plan.tipping_point["reason"] = (
            f"{plan.pair.target} does not run {plan.pair.build} binaries in conda-forge's CI: native builds wait "
            "for conda, conda-build/rattler-build and ninja built for it"
            if plan.pair.cross
            else f"{plan.pair.target} builds natively"
        )
