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

import json
from collections import deque
from dataclasses import dataclass, field
from typing import Any, Iterable

from .graph import (RENDERED, RUN_EXPORT_KINDS_FROM, SKIPPED, VIRTUAL, Edge, PairIndex, Resolution,
                    exported_names, pair_index)
from .model import Output, PlatformPair, Requirement
from .snapshot import Snapshot

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
    edges: list[Edge] = field(default_factory=list)  # followed dependencies of its outputs
    need_edges: dict[str, list[Edge]] = field(default_factory=dict)  # needs[i] -> the edges behind it
    cycle: int | None = None  # index into Plan.cycles
    notes: list[str] = field(default_factory=list)
    parent_name: str = ""  # the needed output name that first brought it in

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name, "wave": self.wave, "outputs": list(self.outputs), "needs": list(self.needs),
            "why": list(self.why), "unblocks": self.unblocks,
            "mode": self.mode, "mode_reason": self.mode_reason, "needed_outputs": list(self.needed_outputs),
            "needs_because": {k: [e.to_dict() for e in v[:3]] for k, v in sorted(self.need_edges.items())},
            "cycle": self.cycle, "notes": list(self.notes),
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
        return {"members": list(self.members), "edges": [e.to_dict() for e in self.edges],
                "suggested_breaks": [{"from": a, "to": b} for a, b in self.suggested_breaks],
                "break_reason": self.break_reason}


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
    edges: list[Edge] = field(default_factory=list)


@dataclass(slots=True)
class Need:
    """How a needed output name was first reached (BFS order = shortest)."""

    name: str
    resolution: Resolution
    parent: tuple[str, str]  # ("target", t) | ("fs", feedstock) | ("noarch", output name)
    edge: Edge | None = None


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
    # dependencies seen but deliberately not followed, by dep name (build deps under cross, noarch host...)
    unfollowed: dict[str, list[Edge]] = field(default_factory=dict)
    _pruned: list[Pruned] | None = None

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
            from .explain import prune_reasons
            self._pruned = prune_reasons(self)
        return self._pruned

    def to_json(self) -> dict[str, Any]:
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

    # -- helpers ---------------------------------------------------------------------------------
    def _unknown(self, name: str, who: str, reason: str, kind: str) -> None:
        u = self.unknown.get(name)
        if u is None:
            u = self.unknown[name] = UnknownDep(name, [], reason, kind)
        if who not in u.needed_by:
            u.needed_by.append(who)

    def _need(self, name: str, parent: tuple[str, str], edge: Edge | None) -> None:
        if name in self.plan.needed:
            return
        self.plan.needed[name] = Need(name, self.idx.resolve(name), parent, edge)
        self.queue.append(name)

    def _edge(self, src: str, out: Output, req_name: str, section: str, spec: str, cond: str = "",
              via: str = "") -> Edge:
        r = self.idx.resolve(req_name)
        dst = src if self.idx.produces(src, req_name) else r.feedstock
        return Edge(src, dst, out.name, req_name, section, spec, cond, via)

    def _follow(self, e: Edge, parent: tuple[str, str], edges: list[Edge]) -> None:
        edges.append(e)
        name = e.dep_output
        if name in self.available:
            self.plan.available_hits.setdefault(name, []).append(e.src_feedstock)
            return
        if name in self.ignore or (e.dst_feedstock and e.dst_feedstock in self.ignore):
            self.plan.ignored_hits.setdefault(name, []).append(e.src_feedstock)
            return
        if parent[0] == "fs" and e.dst_feedstock == e.src_feedstock:
            fs = self.plan.feedstocks[e.src_feedstock]
            if name in fs.outputs:
                return  # built by this very feedstock
        r = self.idx.resolve(name)
        if r.kind != RENDERED and r.kind != VIRTUAL:
            self._unknown(name, e.src_feedstock, r.reason, r.kind)
        self._need(name, parent, e)

    def _unfollow(self, e: Edge) -> None:
        self.plan.unfollowed.setdefault(e.dep_output, []).append(e)

    # -- the walk --------------------------------------------------------------------------------
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
            self._need(t, ("target", t), None)
            return
        # a feedstock name: all its outputs for the pair
        outs = self.idx.feedstock_outputs.get(t)
        if outs is None:
            render = self.snap.feedstocks[t].renders.get(self.pair.key)
            why = f"failed to render for {self.pair}: {render.error}" if render and render.error \
                else f"has no render for {self.pair}"
            self._unknown(t, "target", f"target feedstock {t} {why}", "target")
            return
        if not outs:
            self._unknown(t, "target", f"target feedstock {t} skips every output for {self.pair.target}", "target")
            return
        for name in dict.fromkeys(o.name for o in outs):
            self.plan.roots.append((t, name))
            self._need(name, ("target", t), None)

    def _process(self, name: str) -> None:
        need = self.plan.needed[name]
        r = need.resolution
        who = need.edge.src_feedstock if need.edge else "target"
        if need.parent[0] == "target" and name in self.available:
            self.plan.available_hits.setdefault(name, []).append("target")
            return
        if r.kind == VIRTUAL:
            return
        if r.kind != RENDERED:
            kind = r.kind
            self._unknown(name, who, r.reason, kind)
            return
        if r.noarch:
            self._expand_noarch(name, r)
        else:
            self._plan_feedstock(r.feedstock, name)

    def _expand_noarch(self, name: str, r: Resolution) -> None:
        node = self.plan.noarch.get(name)
        if node is not None:
            return
        node = self.plan.noarch[name] = NoarchNode(name, r.feedstock)
        parent = ("noarch", name)
        for out in r.outputs:
            for req in out.reqs("run"):
                self._follow(self._edge(r.feedstock, out, req.name, "run", req.spec, req.condition), parent,
                             node.edges)
            for req in out.reqs("host"):
                self._unfollow(self._edge(r.feedstock, out, req.name, "host", req.spec, req.condition,
                                          via=f"host of noarch output {out.name}"))
                if req.name in out.ignore_run_exports_from:
                    continue
                for kind, dep, spec in exported_names(self.idx.run_exports_of(req.name), ("noarch",)):
                    if dep in out.ignore_run_exports:
                        continue
                    self._follow(self._edge(r.feedstock, out, dep, "run_exports", spec, req.condition,
                                            via=f"{req.name} (host, {kind})"), parent, node.edges)

    def _plan_feedstock(self, fname: str, needed_output: str) -> None:
        fs = self.plan.feedstocks.get(fname)
        if fs is not None:
            if needed_output not in fs.needed_outputs:
                fs.needed_outputs.append(needed_output)
            return
        outs = [o for o in self.idx.feedstock_outputs.get(fname, ()) if not o.noarch]
        fs = PlannedFeedstock(fname, outputs=list(dict.fromkeys(o.name for o in outs)),
                              needed_outputs=[needed_output], parent_name=needed_output)
        self.plan.feedstocks[fname] = fs
        fs.mode, fs.mode_reason, cross_only = self._decide_mode(fname, outs)
        parent = ("fs", fname)
        native = fs.mode == "native"
        for out in outs:
            ire = set(out.ignore_run_exports)
            irf = set(out.ignore_run_exports_from)
            for section in ("host", "run"):
                for req in out.reqs(section):
                    self._follow(self._edge(fname, out, req.name, section, req.spec, req.condition), parent, fs.edges)
            for env in ("host", "build"):
                for req in out.reqs(env):
                    if req.name in irf or (env == "build" and native and req in cross_only):
                        continue
                    rex = self.idx.run_exports_of(req.name, prefer_build=(env == "build" and not native))
                    for kind, dep, spec in exported_names(rex, RUN_EXPORT_KINDS_FROM[env]):
                        if dep in ire:
                            continue
                        self._follow(self._edge(fname, out, dep, "run_exports", spec, req.condition,
                                                via=f"{req.name} ({env}, {kind})"), parent, fs.edges)
            for req in out.reqs("build"):
                e = self._edge(fname, out, req.name, "build", req.spec, req.condition)
                if native and req not in cross_only:
                    self._follow(e, parent, fs.edges)
                else:
                    self._unfollow(e)

    def _decide_mode(self, fname: str, outs: list[Output]) -> tuple[str, str, set[Requirement]]:
        builds = [req for o in outs for req in o.reqs("build")]
        cross_only = {r for r in builds if _cross_only(r)}
        if not self.pair.cross:
            return "native", f"target and build platform are both {self.pair.target}", cross_only
        missing = list(dict.fromkeys(r.name for r in builds if not self.idx.exists_on_build(r.name)))
        mode = self.opt.mode
        if mode == "native":
            return "native", "native mode requested", cross_only
        for m in missing:
            item = self.toolchain.get(m)
            if item is None:
                item = self.toolchain[m] = ToolchainItem(m, self.pair.build, [],
                                                         "native" if mode == "auto" else "")
            item.needed_by.append(fname)
        if mode == "cross":
            if missing:
                return "cross", f"cross mode requested; missing on {self.pair.build}: {', '.join(missing)}", cross_only
            return "cross", "cross mode requested", cross_only
        if missing:
            return ("native",
                    f"{', '.join(missing)} does not exist for {self.pair.build}, so it cannot be cross-compiled "
                    f"from {self.pair.build}", cross_only)
        return "cross", f"every build dependency exists on {self.pair.build}", cross_only


# -- ordering -------------------------------------------------------------------------------------

def _needs(plan: Plan) -> None:
    """Feedstock-level needs: edges to planned feedstocks, looking through noarch outputs."""
    feedstocks = plan.feedstocks
    needed = plan.needed
    closure_memo: dict[str, dict[str, Edge]] = {}

    def target_of(e: Edge) -> str | None:
        """'fs' planned feedstock, or None; noarch handled by caller."""
        name = e.dep_output
        if name in plan.available_hits and name in plan.options.available:
            return None
        n = needed.get(name)
        if n is None or n.resolution.kind != RENDERED:
            return None
        return None if n.resolution.noarch else n.resolution.feedstock

    def noarch_closure(name: str) -> dict[str, Edge]:
        hit = closure_memo.get(name)
        if hit is not None:
            return hit
        result: dict[str, Edge] = {}
        seen = {name}
        stack = [name]
        while stack:
            node = plan.noarch.get(stack.pop())
            if node is None:
                continue
            for e in node.edges:
                dep = e.dep_output
                n = needed.get(dep)
                if n is None or dep in plan.options.available:
                    continue
                if n.resolution.kind == RENDERED and n.resolution.noarch:
                    if dep not in seen:
                        seen.add(dep)
                        stack.append(dep)
                    continue
                t = target_of(e)
                if t is not None and t in feedstocks and t not in result:
                    result[t] = e
        closure_memo[name] = result
        return result

    for fs in feedstocks.values():
        ne: dict[str, list[Edge]] = {}
        for e in fs.edges:
            n = needed.get(e.dep_output)
            if n is None or e.dep_output in plan.options.available:
                continue
            r = n.resolution
            if r.kind == RENDERED and r.noarch:
                for t in noarch_closure(e.dep_output):
                    if t != fs.name:
                        ne.setdefault(t, []).append(e)
                continue
            t = target_of(e)
            if t is not None and t != fs.name and t in feedstocks:
                ne.setdefault(t, []).append(e)
        fs.need_edges = ne
        fs.needs = sorted(ne)


def _order(plan: Plan) -> None:
    import networkx as nx

    names = sorted(plan.feedstocks)
    g = nx.DiGraph()
    g.add_nodes_from(names)
    # edge dependency -> dependent
    g.add_edges_from((d, f) for f in names for d in plan.feedstocks[f].needs)
    sccs = [sorted(c) for c in nx.strongly_connected_components(g)]
    sccs.sort()
    comp: dict[str, int] = {}
    for i, c in enumerate(sccs):
        for n in c:
            comp[n] = i
    # cycles
    for c in sccs:
        if len(c) > 1 or g.has_edge(c[0], c[0]):
            plan.cycles.append(_cycle(plan, g, c))
    for ci, c in enumerate(plan.cycles):
        for n in c.members:
            plan.feedstocks[n].cycle = ci
    # condensed DAG; waves = longest path from the sources
    succ: list[set[int]] = [set() for _ in sccs]
    indeg = [0] * len(sccs)
    for u, v in g.edges():
        cu, cv = comp[u], comp[v]
        if cu != cv and cv not in succ[cu]:
            succ[cu].add(cv)
            indeg[cv] += 1
    wave = [0] * len(sccs)
    best_pred: list[int] = [-1] * len(sccs)
    order: list[int] = [i for i in range(len(sccs)) if indeg[i] == 0]
    k = 0
    while k < len(order):
        u = order[k]
        k += 1
        for v in sorted(succ[u]):
            if wave[u] + 1 > wave[v]:
                wave[v] = wave[u] + 1
                best_pred[v] = u
            indeg[v] -= 1
            if indeg[v] == 0:
                order.append(v)
    for n, fs in plan.feedstocks.items():
        fs.wave = wave[comp[n]]
    # critical path: the longest chain of the condensed DAG
    if sccs:
        end = max(range(len(sccs)), key=lambda i: (wave[i], -i))
        path: list[int] = []
        while end != -1:
            path.append(end)
            end = best_pred[end]
        plan.critical_path = [n for i in reversed(path) for n in sccs[i]]
    # unblocks: transitive dependents, one bitset per component, in reverse topological order;
    # bits are numbered from the end so a component's set only uses bits below its own.
    desc = [0] * len(sccs)
    members_bits = [0] * len(sccs)
    nbit = 0
    for c in reversed(order):
        members_bits[c] = ((1 << len(sccs[c])) - 1) << nbit
        nbit += len(sccs[c])
        d = 0
        for v in succ[c]:
            d |= desc[v] | members_bits[v]
        desc[c] = d
    for n, fs in plan.feedstocks.items():
        c = comp[n]
        fs.unblocks = desc[c].bit_count() + len(sccs[c]) - 1
    # final order: by wave, then name
    plan.feedstocks = dict(sorted(plan.feedstocks.items(), key=lambda kv: (kv[1].wave, kv[0])))


def _cycle(plan: Plan, g: Any, members: list[str]) -> Cycle:
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
        f"{a} -> {b}: hardest edge is {names[cost[(a, b)][0]]} ({cost[(a, b)][1]} edge(s))" for a, b in breaks)
    return Cycle(list(members), sorted(edges, key=lambda e: (e.src_feedstock, e.dst_feedstock, e.output,
                                                             e.dep_output)), breaks,
                 reason + " — drop order: run < run_exports < build < host")


def _why_chain(plan: Plan, fname: str) -> list[str]:
    chain = [fname]
    fs = plan.feedstocks[fname]
    name = fs.parent_name
    seen: set[str] = set()
    while name and name not in seen:
        seen.add(name)
        need = plan.needed[name]
        kind, who = need.parent
        if kind == "target":
            chain.append(who)
            break
        if kind == "fs":
            chain.append(who)
            name = plan.feedstocks[who].parent_name
        else:
            node = plan.noarch[who]
            chain.append(node.feedstock)
            name = who
    chain.reverse()
    out: list[str] = []
    for c in chain:
        if not out or out[-1] != c:
            out.append(c)
    return out


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
                deps = [plan.feedstocks[t].wave for t in _noarch_needs(plan, name)]
                w, how = (max(deps) if deps else -1), f"{name} (noarch) once its run deps are built"
            elif r.feedstock in plan.feedstocks:
                w, how = plan.feedstocks[r.feedstock].wave, f"{name} from {r.feedstock}"
            else:
                continue
        if best[0] is None or w < best[0]:
            best = (w, how)
    return best


def _noarch_needs(plan: Plan, name: str) -> list[str]:
    out: set[str] = set()
    seen = {name}
    stack = [name]
    while stack:
        node = plan.noarch.get(stack.pop())
        if node is None:
            continue
        for e in node.edges:
            n = plan.needed.get(e.dep_output)
            if n is None or e.dep_output in plan.options.available or n.resolution.kind != RENDERED:
                continue
            if n.resolution.noarch:
                if e.dep_output not in seen:
                    seen.add(e.dep_output)
                    stack.append(e.dep_output)
            elif n.resolution.feedstock in plan.feedstocks:
                out.add(n.resolution.feedstock)
    return sorted(out)


def _tipping(plan: Plan) -> None:
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
        opts = PlanOptions(list(plan.options.targets) + [t for t in tools if t not in plan.options.targets],
                           plan.pair.target, plan.pair.build, plan.options.mode, plan.options.available,
                           plan.options.ignore, tipping_point=False)
        aux = make_plan(plan.snapshot, opts)
        wave, detail = compute(aux)
        extra = sorted(set(aux.feedstocks) - set(plan.feedstocks))
    plan.tipping_point_wave = wave
    plan.tipping_point = {"tools": detail, "extra_feedstocks": extra}
    if extra:
        plan.tipping_point["note"] = (f"the tools need {len(extra)} feedstock(s) outside this plan; "
                                      "their waves come from the plan with the tools added as targets")


def make_plan(snapshot: Snapshot, options: PlanOptions) -> Plan:
    """Plan the feedstocks to build for ``options.targets`` on ``options.platform``."""
    if options.mode not in MODES:
        raise ValueError(f"mode must be one of {', '.join(MODES)}, not {options.mode!r}")
    build = options.build_platform or default_build_platform(snapshot, options.platform)
    pair = PlatformPair(options.platform, build)
    idx = pair_index(snapshot, pair)
    plan = _Builder(snapshot, options, pair, idx).run()
    _needs(plan)
    _order(plan)
    for name in plan.feedstocks:
        plan.feedstocks[name].why = _why_chain(plan, name)
    _tipping(plan)
    return plan
