"""The bootstrap planner: which feedstocks must be built for a new platform, in which order and why.

Semantics (issue 4), in short:

* A needed output name resolves to a feedstock (``graph.PairIndex.resolve``). If a non-noarch
  variant of it is rendered for the pair, that feedstock is *planned*: it is built for the target,
  and a build of a feedstock builds all of its non-skipped, non-noarch outputs, so the requirements
  of all those outputs are followed (edges name the output they come from).
* For a built output: ``host`` and ``run`` are followed, plus the run_exports of host deps
  (weak+strong) and of build deps (strong; e.g. the compiler's ``vc14_runtime``), minus
  ``ignore_run_exports`` / ``ignore_run_exports_from``. ``build`` deps are followed only when the
  feedstock builds natively on the target (cross: they run on the build platform; those that do not
  exist there, e.g. ``cross-python_win-arm64``, go to the toolchain list).
* A noarch output is built once elsewhere: only its ``run`` deps (and ``noarch`` run_exports of its
  host deps) are followed; its host deps never are.
* Auto mode: per feedstock, cross when every build dep exists on the build platform, native otherwise.
* Names available on the target or ignored are not followed; virtual packages (``__win``) neither;
  names nobody provides (or only skipped for the platform) go to ``unknown`` with who needs them.
"""

from __future__ import annotations

import gc
import json
from collections import deque
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any
from collections.abc import Iterable, Iterator

from newarch.plan.graph import RENDERED, VIRTUAL, Edge, PairIndex, Resolution, pair_index
from newarch.model import Output, PlatformPair, Requirement
from newarch.store.snapshot import Snapshot

SCHEMA = "newarch.plan/1"
MODES = ("auto", "cross", "native")
# Tools that make native builds possible on the target: all of conda, one of conda-build/rattler-build, ninja.
TIPPING_TOOLS: tuple[tuple[str, ...], ...] = (("conda",), ("conda-build", "rattler-build"), ("ninja",))

# How hard an edge is to drop when breaking a cycle (lower = easier); see Plan cycles / suggest_break.
SECTION_WEAKNESS = {"run": 0, "run_exports": 1, "build": 2, "host": 3}


@dataclass(slots=True)
class PlanOptions:
    targets: list[str] | tuple[str, ...]
    platform: str = "win-arm64"
    build_platform: str | None = None  # None: the cross build the snapshot rendered, else the target
    mode: str = "auto"  # "auto" | "cross" | "native"
    available: set[str] = field(default_factory=set)  # output names that already exist on the target
    ignore: set[str] = field(default_factory=set)  # output or feedstock names not to follow
    tipping_point: bool = True  # also work out when conda/conda-build/ninja exist (may plan them aside)


@dataclass(slots=True)
class PlannedFeedstock:
    name: str
    wave: int = 0
    outputs: list[str] = field(default_factory=list)  # the outputs its build produces for the target
    needed_outputs: list[str] = field(default_factory=list)  # the ones something needs
    needs: list[str] = field(default_factory=list)  # planned feedstocks that must be built first
    why: list[str] = field(default_factory=list)  # [target, ..., name]
    unblocks: int = 0  # planned feedstocks that (transitively) need it
    mode: str = "cross"  # "cross" | "native"
    mode_reason: str = ""
    cycle: int | None = None  # index into Plan.cycles
    notes: list[str] = field(default_factory=list)
    parent_name: str = ""  # the needed output name that first brought it in
    deps: list[str] = field(default_factory=list)  # followed dependency names (own outputs excluded)
    plan: Any = field(default=None, repr=False, compare=False)
    _edges: list[Edge] | None = field(default=None, repr=False, compare=False)
    _need_edges: dict[str, list[Edge]] | None = field(default=None, repr=False, compare=False)

    @property
    def edges(self) -> list[Edge]:
        """The followed dependencies of its outputs (built on first use)."""
        if self._edges is None:
            self._edges = self.plan._feedstock_edges(self)[0]
        return self._edges

    @property
    def need_edges(self) -> dict[str, list[Edge]]:
        """needs[i] -> the edges behind it (through noarch outputs: the edge to the noarch output)."""
        if self._need_edges is None:
            ne: dict[str, list[Edge]] = {}
            for e in self.edges:
                for t in self.plan._name_targets(e.dep_output):
                    if t != self.name:
                        ne.setdefault(t, []).append(e)
            self._need_edges = ne
        return self._need_edges

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "wave": self.wave,
            "outputs": list(self.outputs),
            "needs": list(self.needs),
            "why": list(self.why),
            "unblocks": self.unblocks,
            "mode": self.mode,
            "mode_reason": self.mode_reason,
            "needed_outputs": list(self.needed_outputs),
            "needs_because": {k: [e.to_dict() for e in v[:3]] for k, v in sorted(self.need_edges.items())},
            "cycle": self.cycle,
            "notes": list(self.notes),
        }


@dataclass(slots=True)
class ToolchainItem:
    """A build-platform package a cross build needs that does not exist (yet)."""

    name: str
    platform: str
    needed_by: list[str] = field(default_factory=list)
    resolved_by: str = ""  # "native" when auto mode builds the consumers natively instead

    def to_json(self) -> dict[str, Any]:
        d: dict[str, Any] = {"name": self.name, "platform": self.platform, "needed_by": list(self.needed_by)}
        if self.resolved_by:
            d["resolved_by"] = self.resolved_by
        return d


@dataclass(slots=True)
class UnknownDep:
    name: str
    needed_by: list[str] = field(default_factory=list)  # feedstocks (or "target") that need it
    reason: str = ""
    kind: str = ""  # graph resolution kind: unknown / skipped / external / unrendered / target

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "needed_by": list(self.needed_by), "reason": self.reason, "kind": self.kind}


@dataclass(slots=True)
class Cycle:
    members: list[str]
    edges: list[Edge]  # output-level edges between members
    suggested_breaks: list[tuple[str, str]]  # feedstock-level (from, to): from stops needing to
    break_reason: str = ""

    def to_json(self) -> dict[str, Any]:
        return {
            "members": list(self.members),
            "edges": [e.to_dict() for e in self.edges],
            "suggested_breaks": [{"from": a, "to": b} for a, b in self.suggested_breaks],
            "break_reason": self.break_reason,
        }


@dataclass(slots=True)
class Choice:
    name: str
    chosen: str
    candidates: list[str]
    reason: str

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "chosen": self.chosen, "candidates": list(self.candidates), "reason": self.reason}


@dataclass(slots=True)
class Pruned:
    name: str
    code: str
    reason: str

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "reason": self.reason, "code": self.code}


@dataclass(slots=True)
class NoarchNode:
    """A needed noarch output: not built for the target, but its run deps are needed."""

    name: str
    feedstock: str
    deps: list[str] = field(default_factory=list)  # followed dependency names
    plan: Any = field(default=None, repr=False, compare=False)
    _edges: list[Edge] | None = field(default=None, repr=False, compare=False)

    @property
    def edges(self) -> list[Edge]:
        if self._edges is None:
            self._edges = self.plan._noarch_edges(self)[0]
        return self._edges


@dataclass(slots=True)
class Need:
    """How a needed output name was first reached (BFS order = shortest)."""

    name: str
    resolution: Resolution
    parent: tuple[str, str]  # ("target", t) | ("fs", feedstock) | ("noarch", output name)


@dataclass(slots=True)
class Plan:
    snapshot: Snapshot
    options: PlanOptions
    pair: PlatformPair
    index: PairIndex
    targets: list[str]
    feedstocks: dict[str, PlannedFeedstock] = field(default_factory=dict)  # sorted by (wave, name)
    noarch: dict[str, NoarchNode] = field(default_factory=dict)
    needed: dict[str, Need] = field(default_factory=dict)
    roots: list[tuple[str, str]] = field(default_factory=list)  # (target, output name)
    toolchain: list[ToolchainItem] = field(default_factory=list)
    unknown: list[UnknownDep] = field(default_factory=list)
    cycles: list[Cycle] = field(default_factory=list)
    choices: list[Choice] = field(default_factory=list)
    critical_path: list[str] = field(default_factory=list)
    tipping_point_wave: int | None = None
    tipping_point: dict[str, Any] = field(default_factory=dict)
    available_hits: dict[str, list[str]] = field(default_factory=dict)  # name -> consumers
    ignored_hits: dict[str, list[str]] = field(default_factory=dict)
    _pruned: list[Pruned] | None = None
    _unfollowed: dict[str, list[Edge]] | None = None
    _targets_memo: dict[str, tuple[str, ...]] = field(default_factory=dict)
    _cross_only: dict[str, frozenset[Requirement]] = field(default_factory=dict)

    @property
    def unfollowed(self) -> dict[str, list[Edge]]:
        """Dependencies seen but deliberately not followed, by dep name: build deps of cross-compiled
        feedstocks, cross-only build deps of native ones, host deps of noarch outputs."""
        if self._unfollowed is None:
            d: dict[str, list[Edge]] = {}
            for fs in self.feedstocks.values():
                for e in self._feedstock_edges(fs)[1]:
                    d.setdefault(e.dep_output, []).append(e)
            for node in self.noarch.values():
                for e in self._noarch_edges(node)[1]:
                    d.setdefault(e.dep_output, []).append(e)
            self._unfollowed = d
        return self._unfollowed

    def _make_edges(self, src: str, items: Iterable[tuple], own: Iterable[str] = ()) -> tuple[list[Edge], list[Edge]]:
        followed: list[Edge] = []
        unfollowed: list[Edge] = []
        owns = set(own)
        for out, dep, section, spec, cond, via, follow in items:
            r = self.index.resolve(dep)
            dst = src if (dep in owns or self.index.produces(src, dep)) else r.feedstock
            e = Edge(src, dst, out.name, dep, section, spec, cond, _via_text(via))
            (followed if follow else unfollowed).append(e)
        return followed, unfollowed

    def _feedstock_edges(self, fs: PlannedFeedstock) -> tuple[list[Edge], list[Edge]]:
        outs = [o for o in self.index.feedstock_outputs.get(fs.name, ()) if not o.noarch]
        items = _walk_built(self.index, outs, fs.mode == "native", self._cross_only.get(fs.name, frozenset()))
        return self._make_edges(fs.name, items, fs.outputs)

    def _noarch_edges(self, node: NoarchNode) -> tuple[list[Edge], list[Edge]]:
        r = self.index.resolve(node.name)
        return self._make_edges(node.feedstock, _walk_noarch(self.index, r.outputs))

    def _name_targets(self, name: str) -> tuple[str, ...]:
        """The planned feedstocks a dependency on output ``name`` makes one wait for (through noarch
        outputs: the planned feedstocks of their run deps, transitively)."""
        hit = self._targets_memo.get(name)
        if hit is not None:
            return hit
        need = self.needed.get(name)
        result: tuple[str, ...] = ()
        if need is not None and name not in self.options.available and need.resolution.kind == RENDERED:
            r = need.resolution
            if not r.noarch:
                if r.feedstock in self.feedstocks:
                    result = (r.feedstock,)
            else:
                acc: dict[str, None] = {}
                seen = {name}
                stack = [name]
                while stack:
                    node = self.noarch.get(stack.pop())
                    if node is None:
                        continue
                    for d in node.deps:
                        n = self.needed.get(d)
                        if n is None or d in self.options.available or n.resolution.kind != RENDERED:
                            continue
                        if n.resolution.noarch:
                            if d not in seen:
                                seen.add(d)
                                stack.append(d)
                        elif n.resolution.feedstock in self.feedstocks:
                            acc[n.resolution.feedstock] = None
                result = tuple(acc)
        self._targets_memo[name] = result
        return result

    @property
    def mode(self) -> str:
        return self.options.mode

    @property
    def waves(self) -> list[list[str]]:
        out: list[list[str]] = []
        for f in self.feedstocks.values():
            while len(out) <= f.wave:
                out.append([])
            out[f.wave].append(f.name)
        return out

    @property
    def pruned(self) -> list[Pruned]:
        if self._pruned is None:
            from newarch.plan.explain import prune_reasons

            self._pruned = prune_reasons(self)
        return self._pruned

    def to_json(self) -> dict[str, Any]:
        with no_gc():
            return self._to_json()

    def _to_json(self) -> dict[str, Any]:
        return {
            "schema": SCHEMA,
            "platform": self.pair.target,
            "build_platform": self.pair.build,
            "mode": self.options.mode,
            "targets": list(self.targets),
            "feedstocks": [f.to_json() for f in self.feedstocks.values()],
            "toolchain": [t.to_json() for t in self.toolchain],
            "pruned": [p.to_json() for p in self.pruned],
            "cycles": [list(c.members) for c in self.cycles],
            "unknown": [u.to_json() for u in self.unknown],
            "critical_path": list(self.critical_path),
            "tipping_point_wave": self.tipping_point_wave,
            # additional keys (not part of the minimal contract)
            "cycle_details": [c.to_json() for c in self.cycles],
            "choices": [c.to_json() for c in self.choices],
            "noarch": sorted(self.noarch),
            "available": sorted(self.available_hits),
            "ignored": sorted(self.ignored_hits),
            "tipping_point": self.tipping_point,
            "snapshot": {"date": self.snapshot.date, "origin": self.snapshot.origin},
        }

    def dumps(self) -> str:
        return json.dumps(self.to_json(), indent=2, sort_keys=False)


@contextmanager
def no_gc() -> Iterator[None]:
    """Pause cyclic garbage collection (restored after, even on error)."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def default_build_platform(snapshot: Snapshot, platform: str) -> str:
    builds = sorted({p.build for p in snapshot.pairs if p.target == platform and p.build != platform})
    if builds:
        return builds[0]
    for fs in snapshot.feedstocks.values():
        for r in fs.renders.values():
            if r.pair.target == platform:
                return r.pair.build
    return platform


def _cross_only(req: Requirement) -> bool:
    """A build requirement that exists only because the recipe is cross-compiled."""
    if req.name.startswith("cross-python_"):
        return True
    cond = req.condition.replace(" ", "")
    return "build_platform!=target_platform" in cond or "target_platform!=build_platform" in cond


def _via_text(via: tuple[str, ...] | None) -> str:
    if not via:
        return ""
    if via[0] == "noarch-host":
        return f"host of noarch output {via[1]}"
    return f"{via[0]} ({via[1]}, {via[2]})"


# The rules, in one place: what a build of a feedstock / a noarch output depends on. Each item is
# (output, dep name, section, spec, condition, via, followed).
def _walk_built(
    idx: PairIndex, outs: list[Output], native: bool, cross_only: frozenset[Requirement]
) -> Iterator[tuple]:
    for out in outs:
        reqs = out.requirements
        for section in ("host", "run"):
            for req in reqs.get(section, ()):
                yield out, req.name, section, req.spec, req.condition, None, True
        ire = out.ignore_run_exports
        irf = out.ignore_run_exports_from
        for env in ("host", "build"):
            prefer_build = env == "build" and not native
            for req in reqs.get(env, ()):
                if irf and req.name in irf:
                    continue
                if native and env == "build" and req in cross_only:
                    continue
                for kind, dep, spec in idx.exports(req.name, env, prefer_build):
                    if ire and dep in ire:
                        continue
                    yield out, dep, "run_exports", spec, req.condition, (req.name, env, kind), True
        for req in reqs.get("build", ()):
            yield out, req.name, "build", req.spec, req.condition, None, native and req not in cross_only


def _deps_built(
    idx: PairIndex, outs: list[Output], native: bool, cross_only: frozenset[Requirement], owns: set[str]
) -> list[str]:
    """The followed dependency names of ``_walk_built``, without building items (the planner's hot
    loop; tests check both agree)."""
    deps: dict[str, None] = {}
    exports = idx.exports
    for out in outs:
        reqs = out.requirements
        for section in ("host", "run"):
            for req in reqs.get(section, ()):
                deps[req.name] = None
        ire = out.ignore_run_exports
        irf = out.ignore_run_exports_from
        for req in reqs.get("host", ()):
            if irf and req.name in irf:
                continue
            for _kind, dep, _spec in exports(req.name, "host", False):
                if not (ire and dep in ire):
                    deps[dep] = None
        for req in reqs.get("build", ()):
            if native:
                if req in cross_only:
                    continue
                deps[req.name] = None
            if irf and req.name in irf:
                continue
            for _kind, dep, _spec in exports(req.name, "build", not native):
                if not (ire and dep in ire):
                    deps[dep] = None
    return [d for d in deps if d not in owns]


def _walk_noarch(idx: PairIndex, outs: Iterable[Output]) -> Iterator[tuple]:
    for out in outs:
        for req in out.requirements.get("run", ()):
            yield out, req.name, "run", req.spec, req.condition, None, True
        ire = out.ignore_run_exports
        irf = out.ignore_run_exports_from
        for req in out.requirements.get("host", ()):
            yield out, req.name, "host", req.spec, req.condition, ("noarch-host", out.name), False
            if irf and req.name in irf:
                continue
            for kind, dep, spec in idx.exports(req.name, "noarch"):
                if ire and dep in ire:
                    continue
                yield out, dep, "run_exports", spec, req.condition, (req.name, "host", kind), True


class _Builder:
    def __init__(self, snapshot: Snapshot, options: PlanOptions, pair: PlatformPair, idx: PairIndex) -> None:
        self.snap = snapshot
        self.opt = options
        self.pair = pair
        self.idx = idx
        self.plan = Plan(snapshot, options, pair, idx, list(options.targets))
        self.queue: deque[str] = deque()
        self.unknown: dict[str, UnknownDep] = {}
        self.toolchain: dict[str, ToolchainItem] = {}
        self.available = options.available
        self.ignore = options.ignore

    def _unknown(self, name: str, who: str, reason: str, kind: str) -> None:
        u = self.unknown.get(name)
        if u is None:
            u = self.unknown[name] = UnknownDep(name, [], reason, kind)
        if who not in u.needed_by:
            u.needed_by.append(who)

    def _need(self, name: str, r: Resolution, parent: tuple[str, str]) -> None:
        if name not in self.plan.needed:
            self.plan.needed[name] = Need(name, r, parent)
            self.queue.append(name)

    def _consume(self, deps: Iterable[str], who: str, parent: tuple[str, str]) -> None:
        """``who`` depends on each name of ``deps``."""
        plan = self.plan
        resolve = self.idx.resolve
        for name in deps:
            if name in self.available:
                plan.available_hits.setdefault(name, []).append(who)
                continue
            r = resolve(name)
            if self.ignore and (name in self.ignore or r.feedstock in self.ignore):
                plan.ignored_hits.setdefault(name, []).append(who)
                continue
            if r.kind != RENDERED and r.kind != VIRTUAL:
                self._unknown(name, who, r.reason, r.kind)
            if name not in plan.needed:
                plan.needed[name] = Need(name, r, parent)
                self.queue.append(name)

    def run(self) -> Plan:
        for t in self.opt.targets:
            self._add_target(t)
        while self.queue:
            self._process(self.queue.popleft())
        self.plan.unknown = sorted(self.unknown.values(), key=lambda u: u.name)
        self.plan.toolchain = sorted(self.toolchain.values(), key=lambda t: t.name)
        for name, need in self.plan.needed.items():
            r = need.resolution
            if r.kind == RENDERED and len(r.candidates) > 1:
                self.plan.choices.append(Choice(name, r.feedstock, list(r.candidates), r.reason))
        return self.plan

    def _add_target(self, t: str) -> None:
        if t in self.ignore:
            self.plan.ignored_hits.setdefault(t, []).append("target")
            return
        r = self.idx.resolve(t)
        if r.kind == RENDERED or t not in self.snap.feedstocks:
            self.plan.roots.append((t, t))
            if t in self.available:
                self.plan.available_hits.setdefault(t, []).append("target")
                return
            if r.kind != RENDERED and r.kind != VIRTUAL:
                self._unknown(t, "target", r.reason, r.kind)
            self._need(t, r, ("target", t))
            return
        # a feedstock name: all its outputs for the pair
        outs = self.idx.feedstock_outputs.get(t)
        if outs is None:
            render = self.snap.feedstocks[t].renders.get(self.pair.key)
            why = (
                f"failed to render for {self.pair}: {render.error}"
                if render and render.error
                else f"has no render for {self.pair}"
            )
            self._unknown(t, "target", f"target feedstock {t} {why}", "target")
            return
        if not outs:
            self._unknown(t, "target", f"target feedstock {t} skips every output for {self.pair.target}", "target")
            return
        for name in dict.fromkeys(o.name for o in outs):
            self.plan.roots.append((t, name))
            self._consume([name], "target", ("target", t))

    def _process(self, name: str) -> None:
        r = self.plan.needed[name].resolution
        if r.kind != RENDERED:
            return
        if r.noarch:
            self._expand_noarch(name, r)
        else:
            self._plan_feedstock(r.feedstock, name)

    def _expand_noarch(self, name: str, r: Resolution) -> None:
        if name in self.plan.noarch:
            return
        deps = list(dict.fromkeys(item[1] for item in _walk_noarch(self.idx, r.outputs) if item[6]))
        self.plan.noarch[name] = NoarchNode(name, r.feedstock, deps, self.plan)
        self._consume(deps, r.feedstock, ("noarch", name))

    def _plan_feedstock(self, fname: str, needed_output: str) -> None:
        fs = self.plan.feedstocks.get(fname)
        if fs is not None:
            if needed_output not in fs.needed_outputs:
                fs.needed_outputs.append(needed_output)
            return
        outs = [o for o in self.idx.feedstock_outputs.get(fname, ()) if not o.noarch]
        own = list(dict.fromkeys(o.name for o in outs))
        fs = PlannedFeedstock(
            fname, outputs=own, needed_outputs=[needed_output], parent_name=needed_output, plan=self.plan
        )
        self.plan.feedstocks[fname] = fs
        fs.mode, fs.mode_reason, cross_only = self._decide_mode(fname, outs)
        if cross_only:
            self.plan._cross_only[fname] = cross_only
        fs.deps = _deps_built(self.idx, outs, fs.mode == "native", cross_only, set(own))
        self._consume(fs.deps, fname, ("fs", fname))

    def _decide_mode(self, fname: str, outs: list[Output]) -> tuple[str, str, frozenset[Requirement]]:
        builds = [req for o in outs for req in o.requirements.get("build", ())]
        cross_only = frozenset(r for r in builds if _cross_only(r))
        if not self.pair.cross:
            return "native", f"target and build platform are both {self.pair.target}", cross_only
        mode = self.opt.mode
        if mode == "native":
            return "native", "native mode requested", cross_only
        exists = self.idx.exists_on_build
        # what the feedstock already builds with on the build platform itself exists there (from conda-forge
        # or another channel its CI uses, e.g. msys2's posix); only the others need checking
        native = self.idx.snapshot.feedstocks[fname].renders.get(f"{self.pair.build}:{self.pair.build}")
        used_on_build = {
            r.name for o in (native.outputs if native else ()) if not o.skip for r in o.requirements.get("build", ())
        }
        missing = list(dict.fromkeys(r.name for r in builds if not exists(r.name) and r.name not in used_on_build))
        for m in missing:
            item = self.toolchain.get(m)
            if item is None:
                item = self.toolchain[m] = ToolchainItem(m, self.pair.build, [], "native" if mode == "auto" else "")
            item.needed_by.append(fname)
        if mode == "cross":
            if missing:
                return "cross", f"cross mode requested; missing on {self.pair.build}: {', '.join(missing)}", cross_only
            return "cross", "cross mode requested", cross_only
        configured = self.idx.snapshot.feedstocks[fname].settings.configured(self.pair.target)
        if configured:  # conda-forge.yml says how conda-forge builds it today: that is a fact, not a guess
            how = "cross-compiled" if configured == "cross" else "built natively"
            return (
                configured,
                f"conda-forge.yml already has it {how} for {self.pair.target}"
                + (
                    f" (though {', '.join(missing)} does not exist for {self.pair.build})"
                    if missing and configured == "cross"
                    else ""
                ),
                cross_only,
            )
        if missing:
            return (
                "native",
                f"{', '.join(missing)} does not exist for {self.pair.build}, so it cannot be cross-compiled "
                f"from {self.pair.build}",
                cross_only,
            )
        return "cross", f"every build dependency exists on {self.pair.build}", cross_only


# -- ordering -------------------------------------------------------------------------------------


def _needs(plan: Plan) -> None:
    """Feedstock-level needs: dependencies on planned feedstocks, looking through noarch outputs."""
    targets = plan._name_targets
    memo = plan._targets_memo
    for fs in plan.feedstocks.values():
        acc: set[str] = set()
        for d in fs.deps:
            t = memo.get(d)
            acc.update(targets(d) if t is None else t)
        acc.discard(fs.name)
        fs.needs = sorted(acc)


def _kahn(succ: list[list[int]], n: int) -> tuple[list[int], list[int], list[int]]:
    """Topological order (possibly partial), longest-path waves and the predecessor on it."""
    indeg = [0] * n
    for s_ in succ:
        for v in s_:
            indeg[v] += 1
    wave = [0] * n
    best_pred = [-1] * n
    order = [i for i in range(n) if indeg[i] == 0]
    k = 0
    while k < len(order):
        u = order[k]
        k += 1
        wu = wave[u] + 1
        for v in succ[u]:
            if wu > wave[v] or (wu == wave[v] and u < best_pred[v]):
                wave[v] = wu
                best_pred[v] = u
            indeg[v] -= 1
            if indeg[v] == 0:
                order.append(v)
    return order, wave, best_pred


def _trim_to_cycles(succ: list[list[int]], pred: list[list[int]], alive: set[int]) -> set[int]:
    """Remove nodes without dependents among ``alive`` repeatedly: every cycle stays."""
    outdeg = {u: sum(1 for v in succ[u] if v in alive) for u in alive}
    queue = [u for u, d in outdeg.items() if d == 0]
    while queue:
        u = queue.pop()
        alive.discard(u)
        for w in pred[u]:
            if w in alive:
                outdeg[w] -= 1
                if outdeg[w] == 0:
                    queue.append(w)
    return alive


def _order(plan: Plan) -> None:
    names = sorted(plan.feedstocks)
    ix = {n: i for i, n in enumerate(names)}
    fss = plan.feedstocks
    pred = [[ix[d] for d in fss[n].needs] for n in names]  # i needs pred[i]
    succ: list[list[int]] = [[] for _ in names]  # dependency -> dependents
    for i, ps in enumerate(pred):
        for d in ps:
            succ[d].append(i)
    order, wave, best_pred = _kahn(succ, len(names))
    sccs: list[list[int]] = [[i] for i in range(len(names))]
    comp = list(range(len(names)))
    if len(order) < len(names):
        # cycles: strongly connected components of what a topological sort cannot place
        import networkx as nx

        core = _trim_to_cycles(succ, pred, set(range(len(names))) - set(order))
        g = nx.DiGraph()
        g.add_nodes_from(sorted(core))
        g.add_edges_from((d, i) for i in sorted(core) for d in pred[i] if d in core)
        cyc_sets = sorted(
            sorted(names[i] for i in c)
            for c in nx.strongly_connected_components(g)
            if len(c) > 1 or any(g.has_edge(i, i) for i in c)
        )
        for members in cyc_sets:
            plan.cycles.append(_cycle(plan, members))
        # condense: one component per cycle, singletons otherwise
        comp = [-1] * len(names)
        sccs = []
        for c in plan.cycles:
            for n in c.members:
                comp[ix[n]] = len(sccs)
            sccs.append([ix[n] for n in c.members])
        for i in range(len(names)):
            if comp[i] == -1:
                comp[i] = len(sccs)
                sccs.append([i])
        csucc_sets: list[set[int]] = [set() for _ in sccs]
        for u, vs in enumerate(succ):
            cu = comp[u]
            for v in vs:
                if comp[v] != cu:
                    csucc_sets[cu].add(comp[v])
        succ = [sorted(x) for x in csucc_sets]
        order, wave, best_pred = _kahn(succ, len(sccs))
        for ci, c in enumerate(plan.cycles):
            for n in c.members:
                fss[n].cycle = ci
    nc = len(sccs)
    for i, n in enumerate(names):
        fss[n].wave = wave[comp[i]]
    if nc:
        end = max(range(nc), key=lambda c: (wave[c], -c))
        path: list[int] = []
        while end != -1:
            path.append(end)
            end = best_pred[end]
        plan.critical_path = [names[i] for c in reversed(path) for i in sccs[c]]
    # unblocks: transitive dependents, one bitset per component, in reverse topological order;
    # bits are numbered from the end so a component's set only uses bits below its own.
    incl = [0] * nc  # the component and everything that needs it
    nbit = 0
    for c in reversed(order):
        d = ((1 << len(sccs[c])) - 1) << nbit
        nbit += len(sccs[c])
        for v in succ[c]:
            d |= incl[v]
        incl[c] = d
    for i, n in enumerate(names):
        fss[n].unblocks = incl[comp[i]].bit_count() - 1
    plan.feedstocks = dict(sorted(fss.items(), key=lambda kv: (kv[1].wave, kv[0])))


def _cycle(plan: Plan, members: list[str]) -> Cycle:
    """A cycle with its edges and the edges to drop (greedy, weakest first) to make it acyclic.

    Heuristic: an edge ``A needs B`` is only gone when every output-level edge behind it is gone; its
    cost is the hardest of those, with run (needed only to test/install: build with tests skipped)
    < run_exports (can be ignored for a bootstrap build) < build (avoidable by cross-compiling) < host
    (needs a bootstrap variant of the recipe). Ties: fewer underlying edges, then names.
    """
    import networkx as nx

    mset = set(members)
    edges: list[Edge] = []
    cost: dict[tuple[str, str], tuple[int, int, str, str]] = {}
    for a in members:
        for b, es in plan.feedstocks[a].need_edges.items():
            if b in mset:
                edges.extend(es)
                worst = max(SECTION_WEAKNESS.get(e.section, 3) for e in es)
                cost[(a, b)] = (worst, len(es), a, b)
    sub = nx.DiGraph()
    sub.add_nodes_from(members)
    sub.add_edges_from((b, a) for a, b in cost)  # dependency -> dependent, as in the plan graph
    breaks: list[tuple[str, str]] = []
    while True:
        try:
            cyc = nx.find_cycle(sub)
        except nx.NetworkXNoCycle:
            break
        # (b, a) in sub means a needs b
        a, b = min(((v, u) for u, v, *_ in cyc), key=lambda ab: cost[ab])
        breaks.append((a, b))
        sub.remove_edge(b, a)
    names = {0: "run", 1: "run_exports", 2: "build", 3: "host"}
    reason = "; ".join(
        f"{a} -> {b}: hardest edge is {names[cost[(a, b)][0]]} ({cost[(a, b)][1]} edge(s))" for a, b in breaks
    )
    return Cycle(
        list(members),
        sorted(edges, key=lambda e: (e.src_feedstock, e.dst_feedstock, e.output, e.dep_output)),
        breaks,
        reason + " — drop order: run < run_exports < build < host",
    )


def _why_chains(plan: Plan) -> None:
    """``why`` of every planned feedstock: [target, ..., name] along the BFS discovery (shortest)."""
    memo: dict[str, list[str]] = {}  # needed output name -> chain of feedstocks up to its consumer

    def chain_to(name: str) -> list[str]:
        hit = memo.get(name)
        if hit is not None:
            return hit
        # walk up iteratively, then fill the memo on the way back
        path: list[str] = []
        n: str | None = name
        base: list[str] = []
        while n is not None:
            if n in memo:
                base = memo[n]
                break
            path.append(n)
            memo[n] = []  # guard
            kind, who = plan.needed[n].parent
            if kind == "target":
                base_n = [who]
                memo[n] = base_n
                path.pop()
                base = base_n
                n = None
                break
            n = plan.feedstocks[who].parent_name if kind == "fs" else who
        for m in reversed(path):
            kind, who = plan.needed[m].parent
            holder = who if kind == "fs" else plan.noarch[who].feedstock
            prev = memo.get(plan.feedstocks[who].parent_name if kind == "fs" else who) or base
            chain = prev if prev and prev[-1] == holder else prev + [holder]
            memo[m] = chain
        return memo[name]

    for fs in plan.feedstocks.values():
        chain = chain_to(fs.parent_name)
        fs.why = chain if chain and chain[-1] == fs.name else chain + [fs.name]


def _tool_wave(plan: Plan, names: Iterable[str]) -> tuple[int | None, str]:
    """Earliest wave after which one of ``names`` exists on the target (-1 = already), and how."""
    best: tuple[int | None, str] = (None, "")
    for name in names:
        w: int | None
        if name in plan.options.available:
            w, how = -1, f"{name} is available"
        else:
            need = plan.needed.get(name)
            if need is None or need.resolution.kind != RENDERED:
                continue
            r = need.resolution
            if r.noarch:
                deps = [plan.feedstocks[t].wave for t in plan._name_targets(name)]
                w, how = (max(deps) if deps else -1), f"{name} (noarch) once its run deps are built"
            elif r.feedstock in plan.feedstocks:
                w, how = plan.feedstocks[r.feedstock].wave, f"{name} from {r.feedstock}"
            else:
                continue
        if best[0] is None or w < best[0]:
            best = (w, how)
    return best


def _tipping(plan: Plan) -> None:
    """The wave after which conda, conda-build (or rattler-build) and ninja all exist on the target.

    A node's wave depends only on what it needs, so tools outside the plan get their waves from a
    plan of the tools alone (same options); those extra feedstocks are listed, not added."""

    def compute(p: Plan) -> tuple[int | None, dict[str, Any]]:
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

    wave, detail = compute(plan)
    extra: list[str] = []
    if wave is None and plan.options.tipping_point:
        tools = [t for g in TIPPING_TOOLS for t in g]
        opts = PlanOptions(
            tools,
            plan.pair.target,
            plan.pair.build,
            plan.options.mode,
            plan.options.available,
            plan.options.ignore,
            tipping_point=False,
        )
        aux = make_plan(plan.snapshot, opts)
        wave, detail = compute(aux)
        extra = sorted(set(aux.feedstocks) - set(plan.feedstocks))
    plan.tipping_point_wave = wave
    plan.tipping_point = {"tools": detail, "extra_feedstocks": extra}
    if extra:
        plan.tipping_point["note"] = (
            f"the tools need {len(extra)} feedstock(s) outside this plan; "
            "their waves come from a plan of the tools alone"
        )


def make_plan(snapshot: Snapshot, options: PlanOptions) -> Plan:
    """Plan the feedstocks to build for ``options.targets`` on ``options.platform``."""
    if options.mode not in MODES:
        raise ValueError(f"mode must be one of {', '.join(MODES)}, not {options.mode!r}")
    build = options.build_platform or default_build_platform(snapshot, options.platform)
    pair = PlatformPair(options.platform, build)
    # The planner allocates many small objects next to a large, long-lived snapshot: cyclic garbage
    # collection passes over the snapshot would dominate the run time, and the planner makes no cycles
    # that need collecting before it returns.
    with no_gc():
        idx = pair_index(snapshot, pair)
        plan = _Builder(snapshot, options, pair, idx).run()
        _needs(plan)
        _order(plan)
        _why_chains(plan)
        _tipping(plan)
    return plan
