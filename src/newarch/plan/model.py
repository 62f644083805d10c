"""The plan's data: build jobs (feedstock@branch), noarch nodes, gaps, cycles, and the JSON contract.

JSON contract ``newarch.plan/2`` keeps every ``newarch.plan/1`` key. Each ``feedstocks[]`` entry is
one build job: ``name`` is the feedstock, ``id`` the job (``openssl`` for main, ``openssl@3.5.x`` for
a release branch; ``needs`` lists ids), plus ``branch``, ``version`` and ``variants``. ``gaps`` lists
specs no branch satisfies, ``python_variants`` the pythons the plan covers.
"""

from __future__ import annotations

import gc
import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from newarch.model import Output, PlatformPair, Requirement
from newarch.plan.deps import via_text, walk_built, walk_noarch
from newarch.plan.graph import Edge, PairIndex, Resolution
from newarch.store.snapshot import Snapshot

SCHEMA = "newarch.plan/2"
MODES = ("auto", "cross", "native")

Ref = tuple[str, str]  # ("fs", job id) | ("noarch", noarch node key)


def job_id(feedstock: str, branch: str) -> str:
    return feedstock if branch == "main" else f"{feedstock}@{branch}"


@dataclass(slots=True)
class PlanOptions:
    targets: list[str] | tuple[str, ...]
    platform: str = "win-arm64"
    build_platform: str | None = None  # None: the cross build the snapshot rendered, else the target
    mode: str = "auto"  # "auto" | "cross" | "native"
    available: set[str] = field(default_factory=set)  # output names that already exist on the target
    ignore: set[str] = field(default_factory=set)  # output or feedstock names not to follow
    tipping_point: bool = True  # also work out when conda/conda-build/ninja exist (may plan them aside)
    pythons: tuple[str, ...] = ()  # --python: the python variants to cover (minor versions); () = all
    available_build: set[str] | None = None  # names that exist on the build platform (repodata), if known


@dataclass(slots=True)
class PlannedFeedstock:
    """One build job: a feedstock's branch built for the target."""

    name: str  # the job id: feedstock, or feedstock@branch
    wave: int = 0
    outputs: list[str] = field(default_factory=list)  # the outputs its build produces for the target
    needed_outputs: list[str] = field(default_factory=list)  # the ones something needs
    needs: list[str] = field(default_factory=list)  # planned jobs that must be built first
    why: list[str] = field(default_factory=list)  # [target, ..., name]
    unblocks: int = 0  # planned jobs that (transitively) need it
    mode: str = "cross"  # "cross" | "native"
    mode_reason: str = ""
    cycle: int | None = None  # index into Plan.cycles
    notes: list[str] = field(default_factory=list)
    parent_name: str = ""  # the needed output name that first brought it in
    deps: list[str] = field(default_factory=list)  # followed dependency names (own outputs excluded)
    feedstock: str = ""
    branch: str = "main"
    version: str = ""
    variants: dict[str, list[str]] = field(default_factory=dict)
    recipe_file: str = ""
    parent: Ref | tuple[str, str] = ("target", "")  # how it was first reached
    dep_targets: dict[str, list[Ref]] = field(default_factory=dict, repr=False)  # dep name -> nodes it chose
    outs: list[Output] = field(default_factory=list, repr=False)
    cross_only: frozenset[Requirement] = frozenset()
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
                for t in self.plan.jobs_behind(self.dep_targets.get(e.dep_output, ())):
                    if t != self.name:
                        lst = ne.setdefault(t, [])
                        if e not in lst:
                            lst.append(e)
            self._need_edges = ne
        return self._need_edges

    @property
    def label(self) -> str:
        """``openssl@3.5.x 3.5.6`` / ``backports.zstd (py3.10–3.13)``."""
        py = self.variants.get("python") or []
        pys = f" (py{_span(py)})" if py else ""
        ver = f" {self.version}" if self.version and self.branch != "main" else ""
        return f"{self.name}{ver}{pys}"

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.feedstock or self.name,
            "id": self.name,
            "branch": self.branch,
            "version": self.version,
            "variants": {k: list(v) for k, v in self.variants.items()},
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


def _span(pys: list[str]) -> str:
    from newarch.plan.specs import py_minor

    ms = sorted({py_minor(p) for p in pys}, key=lambda v: tuple(int(x) if x.isdigit() else 0 for x in v.split(".")))
    return ms[0] if len(ms) == 1 else f"{ms[0]}–{ms[-1]}"


@dataclass(slots=True)
class ToolchainItem:
    """A build-platform package a cross build needs that does not exist there, or that nothing places there."""

    name: str
    platform: str
    needed_by: list[str] = field(default_factory=list)
    resolved_by: str = ""  # "native" when auto mode builds the consumers natively instead
    status: str = "missing"  # "missing" | "unknown" (no render or repodata of the build platform has it)

    def to_json(self) -> dict[str, Any]:
        d: dict[str, Any] = {
            "name": self.name,
            "platform": self.platform,
            "needed_by": list(self.needed_by),
            "status": self.status,
        }
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
class Gap:
    """A spec that no branch of the providing feedstock satisfies (for some python variants)."""

    name: str
    spec: str
    needed_by: str  # the asking feedstock
    job: str  # the asking job id (or "target")
    output: str
    section: str
    asked_at: str  # "recipe/meta.yaml:42" ("?" for an unknown line; "" when the snapshot records neither)
    feedstock: str  # the feedstock that provides the name
    versions_available: list[str] = field(default_factory=list)  # "3.4.6 (main)"
    suggestion: str = ""
    python: list[str] = field(default_factory=list)  # the python variants it applies to ([] = all)
    # only noarch builds of the name exist: conda-forge's noarch channel keeps published versions, so an
    # older build may serve the spec without building anything (not checked without repodata)
    noarch: bool = False

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "spec": self.spec,
            "noarch": self.noarch,
            "needed_by": self.needed_by,
            "job": self.job,
            "output": self.output,
            "section": self.section,
            "asked_at": self.asked_at,
            "feedstock": self.feedstock,
            "versions_available": list(self.versions_available),
            "suggestion": self.suggestion,
            "python": list(self.python),
        }

    def text(self) -> str:
        py = f" (python {', '.join(self.python)})" if self.python else ""
        have = ", ".join(self.versions_available) or "nothing"
        sug = f"; {self.suggestion}" if self.suggestion else ""
        where = f" at {self.asked_at}" if self.asked_at else ""
        return (
            f"{self.needed_by}:{self.output} asks '{self.spec}' in {self.section}{where}{py}; "
            f"{self.feedstock} builds {have}{sug}"
        )


@dataclass(slots=True)
class Cycle:
    members: list[str]
    edges: list[Edge]  # output-level edges between members
    suggested_breaks: list[tuple[str, str]]  # job-level (from, to): from stops needing to
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
    """A needed noarch output (of one branch): not built for the target, but its run deps are needed
    for the python variants it serves."""

    name: str  # the output name
    feedstock: str
    branch: str = "main"
    version: str = ""
    pythons: set[str] = field(default_factory=set)  # python variants it serves (minor versions)
    deps: list[str] = field(default_factory=list)  # followed dependency names
    outs: tuple[Output, ...] = field(default=(), repr=False)
    parent: tuple[str, str] = ("target", "")
    dep_targets: dict[str, list[Ref]] = field(default_factory=dict, repr=False)
    plan: Any = field(default=None, repr=False, compare=False)
    _edges: list[Edge] | None = field(default=None, repr=False, compare=False)

    @property
    def key(self) -> str:
        return job_id(self.name, self.branch)

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
    parent: tuple[str, str]  # ("target", t) | ("fs", job id) | ("noarch", noarch key)


@dataclass(slots=True)
class Plan:
    snapshot: Snapshot
    options: PlanOptions
    pair: PlatformPair
    index: PairIndex
    targets: list[str]
    feedstocks: dict[str, PlannedFeedstock] = field(default_factory=dict)  # by job id, sorted by (wave, id)
    noarch: dict[str, NoarchNode] = field(default_factory=dict)
    needed: dict[str, Need] = field(default_factory=dict)
    roots: list[tuple[str, str]] = field(default_factory=list)  # (target, output name)
    root_nodes: list[tuple[str, Ref]] = field(default_factory=list)  # (target, node it chose)
    toolchain: list[ToolchainItem] = field(default_factory=list)
    unknown: list[UnknownDep] = field(default_factory=list)
    gaps: list[Gap] = field(default_factory=list)
    cycles: list[Cycle] = field(default_factory=list)
    choices: list[Choice] = field(default_factory=list)
    critical_path: list[str] = field(default_factory=list)
    tipping_point_wave: int | None = None
    tipping_point: dict[str, Any] = field(default_factory=dict)
    python_variants: list[str] = field(default_factory=list)  # as the pinning spells them
    # python minors some feedstocks render for the pair but no python build serves (left out by default)
    python_left_out: dict[str, list[str]] = field(default_factory=dict)
    available_hits: dict[str, list[str]] = field(default_factory=dict)  # name -> consumers
    ignored_hits: dict[str, list[str]] = field(default_factory=dict)
    pruner: Callable[[Plan], list[Pruned]] | None = field(default=None, repr=False)
    exports: Any = field(default=None, repr=False)  # deps.Exports: run_exports of the build chosen for a dep
    _pruned: list[Pruned] | None = None
    _unfollowed: dict[str, list[Edge]] | None = None
    _behind: dict[str, tuple[str, ...]] = field(default_factory=dict)

    def jobs_of(self, feedstock: str) -> list[PlannedFeedstock]:
        """The planned jobs (branches) of one feedstock."""
        return [f for f in self.feedstocks.values() if (f.feedstock or f.name) == feedstock]

    def jobs_behind(self, refs: Any) -> tuple[str, ...]:
        """The planned jobs a dependency on ``refs`` makes one wait for (through noarch nodes: the jobs
        their run deps chose, transitively)."""
        acc: dict[str, None] = {}
        for kind, key in refs:
            if kind == "fs":
                if key in self.feedstocks:
                    acc[key] = None
            else:
                acc.update(dict.fromkeys(self._noarch_behind(key)))
        return tuple(acc)

    def _noarch_behind(self, key: str) -> tuple[str, ...]:
        hit = self._behind.get(key)
        if hit is not None:
            return hit
        acc: dict[str, None] = {}
        seen = {key}
        stack = [key]
        while stack:
            node = self.noarch.get(stack.pop())
            if node is None:
                continue
            for refs in node.dep_targets.values():
                for kind, k in refs:
                    if kind == "fs":
                        if k in self.feedstocks:
                            acc[k] = None
                    elif k not in seen:
                        seen.add(k)
                        stack.append(k)
        self._behind[key] = tuple(acc)
        return self._behind[key]

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

    def _make_edges(self, src: str, items: Any, own: Any = ()) -> tuple[list[Edge], list[Edge]]:
        followed: list[Edge] = []
        unfollowed: list[Edge] = []
        owns = set(own)
        for out, dep, section, spec, cond, via, follow in items:
            dst = src if (dep in owns or self.index.produces(src, dep)) else self.index.resolve(dep).feedstock
            e = Edge(src, dst, out.name, dep, section, spec, cond, via_text(via))
            (followed if follow else unfollowed).append(e)
        return followed, unfollowed

    def _feedstock_edges(self, fs: PlannedFeedstock) -> tuple[list[Edge], list[Edge]]:
        items = walk_built(self.index, fs.outs, fs.mode == "native", fs.cross_only, self.exports)
        return self._make_edges(fs.feedstock or fs.name, items, fs.outputs)

    def _noarch_edges(self, node: NoarchNode) -> tuple[list[Edge], list[Edge]]:
        return self._make_edges(node.feedstock, walk_noarch(self.index, node.outs))

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
            self._pruned = self.pruner(self) if self.pruner else []
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
            "python_variants": list(self.python_variants),
            "python_left_out": {k: list(v) for k, v in self.python_left_out.items()},
            "feedstocks": [f.to_json() for f in self.feedstocks.values()],
            "gaps": [g.to_json() for g in self.gaps],
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
