"""Why a feedstock is in a plan (the shortest chains from a target) and why another one is not.

``why_not`` codes are stable strings (other tools group by them):

- ``planned``          it is in the plan (not a why-not at all)
- ``gap``              something needs it, but no branch of it builds a version that satisfies the spec
- ``toolchain``        a build dependency of cross builds that does not exist (or is unknown) on the build platform
- ``absent``           the snapshot has no such feedstock
- ``ignored``          the user asked to ignore it
- ``available``        what the plan needs of it already exists on the target
- ``other-provider``   the outputs needed of it are built by another planned feedstock (e.g. libmamba by mamba)
- ``noarch``           only noarch outputs of it are needed: built once elsewhere, its run deps are planned
- ``skipped``          the outputs something needs are skipped for the platform (or it renders nothing there)
- ``build-only``       only reachable through build deps, which run on the build platform when cross-compiling
- ``noarch-host-only`` only a host dep of a noarch output (built elsewhere, e.g. on linux-64)
- ``selector``         only needed under a selector that is false for the platform (the render recorded it)
- ``python-variant``   only needed for a python the platform does not build
- ``unrendered``       something needs it but its recipe has no usable render for the pair
- ``unreachable``      nothing reachable needs it (its consumers in the pair's render are named, if any)

Every reason is causal: an edge of the plan and the condition that removed it, or the fact that
nothing reachable needs it. Renders of other platform pairs are never compared to guess a reason.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from typing import Any

from newarch.model import Output
from newarch.plan.graph import Edge
from newarch.plan.model import Plan, Pruned

CODES = (
    "planned",
    "gap",
    "toolchain",
    "absent",
    "ignored",
    "available",
    "other-provider",
    "noarch",
    "skipped",
    "build-only",
    "noarch-host-only",
    "selector",
    "python-variant",
    "unrendered",
    "unreachable",
)


# -- why ----------------------------------------------------------------------------------------


@dataclass(slots=True)
class Chain:
    """A shortest chain from a target to a feedstock: the target, then labelled edges."""

    target: str
    edges: list[Edge] = field(default_factory=list)
    nodes: list[str] = field(default_factory=list)  # the jobs / noarch outputs along it (openssl@3.5.x)

    @property
    def path(self) -> list[str]:
        """The target, then each job (``python@3.12``) or noarch output (``x (noarch)``) it goes through."""
        if not self.nodes:
            return self.feedstocks
        out = [self.target]
        for n in self.nodes:
            if out[-1] != n and out[-1] != n.removesuffix(" (noarch)"):
                out.append(n)
        return out

    @property
    def feedstocks(self) -> list[str]:
        out = [self.target]
        for e in self.edges:
            for n in (e.src_feedstock, e.dst_feedstock):
                if n and out[-1] != n:
                    out.append(n)
        return out

    def to_json(self) -> dict[str, Any]:
        return {
            "target": self.target,
            "path": self.feedstocks,
            "jobs": self.path,
            "edges": [e.to_dict() for e in self.edges],
        }


def _node_feedstock(plan: Plan, node: tuple[str, str]) -> str:
    return plan.feedstocks[node[1]].feedstock if node[0] == "fs" else plan.noarch[node[1]].feedstock


def _node_edges(plan: Plan, node: tuple[str, str]) -> list[Edge]:
    return plan.feedstocks[node[1]].edges if node[0] == "fs" else plan.noarch[node[1]].edges


def _node_targets(plan: Plan, node: tuple[str, str]) -> dict[str, list[tuple[str, str]]]:
    return plan.feedstocks[node[1]].dep_targets if node[0] == "fs" else plan.noarch[node[1]].dep_targets


def _label(node: tuple[str, str]) -> str:
    return node[1] if node[0] == "fs" else f"{node[1]} (noarch)"


def why(plan: Plan, name: str, limit: int = 5) -> list[Chain]:
    """Shortest chain(s) from a target to feedstock, job (``openssl@3.5.x``) or output ``name``; []
    when it is not reached. Edges follow the build each dependency chose."""
    goal_fs = name
    if name not in plan.feedstocks and name not in plan.snapshot.feedstocks:
        r = plan.index.resolve(name)
        if r.feedstock:
            goal_fs = r.feedstock

    def is_goal(node: tuple[str, str]) -> bool:
        if node[0] == "fs" and node[1] == name:
            return True
        return _node_feedstock(plan, node) == goal_fs or (node[0] == "noarch" and plan.noarch[node[1]].name == name)

    gapped = {(g.job, g.name, g.spec) for g in plan.gaps if not g.python}
    # BFS keeping every parent at the shortest distance
    dist: dict[tuple[str, str], int] = {}
    parents: dict[tuple[str, str], list[tuple[tuple[str, str] | str, Edge | None]]] = {}
    queue: deque[tuple[str, str]] = deque()
    for target, node in plan.root_nodes:
        if node[0] == "fs" and node[1] not in plan.feedstocks:
            continue
        if node not in dist:
            dist[node] = 0
            parents[node] = []
            queue.append(node)
        if all(p != target for p, _ in parents[node]):
            parents[node].append((target, None))
    found: list[tuple[str, str]] = []
    found_at: int | None = None
    while queue:
        node = queue.popleft()
        d = dist[node]
        if found_at is not None and d > found_at:
            break
        if is_goal(node):
            found.append(node)
            found_at = d
            continue
        targets = _node_targets(plan, node)
        for e in _node_edges(plan, node):
            if (node[1], e.dep_output, e.spec) in gapped:
                continue  # no build satisfies this spec: the edge leads nowhere (see plan.gaps)
            for nxt in targets.get(e.dep_output, ()):
                if nxt == node or (nxt[0] == "fs" and nxt[1] not in plan.feedstocks):
                    continue
                if nxt not in dist:
                    dist[nxt] = d + 1
                    parents[nxt] = [(node, e)]
                    queue.append(nxt)
                elif dist[nxt] == d + 1 and all(p != node for p, _ in parents[nxt]):
                    parents[nxt].append((node, e))
    chains: list[Chain] = []

    def walk(node: tuple[str, str], tail: list[Edge], path: list[str]) -> None:
        for p, e in parents[node]:
            if len(chains) >= limit:
                return
            if e is None:
                chains.append(Chain(str(p), list(reversed(tail)), list(reversed(path + [_label(node)]))))
            else:
                assert isinstance(p, tuple)
                walk(p, tail + [e], path + [_label(node)])

    for node in found:
        walk(node, [], [])
    return chains[:limit]


# -- why not --------------------------------------------------------------------------------------


@dataclass(slots=True)
class WhyNot:
    code: str
    text: str
    details: list[str] = field(default_factory=list)
    name: str = ""

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "code": self.code, "text": self.text, "details": list(self.details)}


# priority of the reasons found (lower wins)
_PRIORITY = {
    "skipped-needed": 0,
    "unrendered": 0,
    "build-only": 1,
    "noarch-host-only": 2,
    "selector": 3,
    "python-variant": 3,
    "skipped-elsewhere": 5,
    "other-build-only": 6,
}


class _Explainer:
    """Maps built once per plan so explaining every pruned feedstock stays linear."""

    def __init__(self, plan: Plan, every: bool = False) -> None:
        """``every``: about to explain every feedstock (read what explanations need of the whole
        snapshot at once); otherwise each answer reads only the feedstocks it is about."""
        self.plan = plan
        snap = plan.snapshot
        self.key = plan.pair.key
        # output name -> feedstocks the output index lists for it (in the snapshot)
        self.indexed: dict[str, set[str]] = {}
        self.index_names: dict[str, set[str]] = {}  # feedstock -> output names the index gives it
        for oname, fss in snap.output_index.items():
            for f in fss:
                if f in snap.feedstocks:
                    self.indexed.setdefault(oname, set()).add(f)
                    self.index_names.setdefault(f, set()).add(oname)
        self._names: dict[str, set[str]] = snap.main_output_names() if every else {}
        self._consumers: dict[str, set[str]] | None = snap.consumers(plan.pair) if every else None
        self._all_skipped: dict[str, list[str]] | None = snap.all_skipped(plan.pair) if every else None
        self._py_refs: dict[str, list[tuple[str, Output, str, Any]]] | None = None
        self._skipped_refs: dict[str, list[tuple[str, Output, str, Any, str]]] | None = None
        self._dropped: dict[str, list[tuple[str, Output, Any]]] | None = None
        self._skipped: dict[tuple[str, str], str] | None = None
        self._built: dict[str, str] | None = None

    def names(self, fname: str) -> set[str]:
        """Every output name ``fname`` has anywhere: its ``main`` renders of any pair, the output index."""
        hit = self._names.get(fname)
        if hit is None:
            hit = self._names[fname] = self.plan.snapshot.main_output_names([fname]).get(fname, set())
        return hit | self.index_names.get(fname, set())

    def owners(self, name: str) -> set[str]:
        """Feedstocks that have output ``name`` anywhere (see :meth:`names`)."""
        return self.plan.snapshot.main_owners(name) | self.indexed.get(name, set())

    def skips_all(self, fname: str) -> list[str] | None:
        """The skip reasons when ``fname``'s render for the pair skips every output (None otherwise)."""
        if self._all_skipped is not None:
            return self._all_skipped.get(fname)
        return self.plan.snapshot.all_skipped(self.plan.pair, [fname]).get(fname)

    def provider_in_plan(self, name: str) -> str:
        """The planned feedstock that builds output ``name`` ("" if none)."""
        if self._built is None:
            self._built = {o: fs.feedstock for fs in self.plan.feedstocks.values() for o in fs.outputs}
            for n, node in self.plan.noarch.items():
                self._built.setdefault(n, node.feedstock)
        return self._built.get(name, "")

    def skipped_here(self) -> dict[tuple[str, str], str]:
        """(feedstock, output) -> skip reason, for outputs of needed feedstocks skipped for the pair."""
        if self._skipped is None:
            plan = self.plan
            sk: dict[tuple[str, str], str] = {}
            for f in {j.feedstock for j in plan.feedstocks.values()} | {n.feedstock for n in plan.noarch.values()}:
                fs = plan.snapshot.feedstocks.get(f)
                r = fs.renders.get(self.key) if fs else None
                for o in r.outputs if r else ():
                    if o.skip:
                        sk[(f, o.name)] = o.skip_reason
            self._skipped = sk
        return self._skipped

    def other_python_refs(self) -> dict[str, list[tuple[str, Output, str, Any]]]:
        """dep name -> refs from outputs of planned jobs left out because their python is not covered."""
        from newarch.plan.specs import output_python, py_minor

        if self._py_refs is None:
            plan = self.plan
            covered = {py_minor(v) for v in plan.python_variants}
            d: dict[str, list[tuple[str, Output, str, Any]]] = {}
            for j in plan.feedstocks.values():
                if j.branch != "main":
                    continue
                for o in plan.index.outputs_of(j.feedstock) or ():
                    py = output_python(o)
                    if o.noarch or py is None or py in covered:
                        continue
                    for section, reqs in o.requirements.items():
                        for req in reqs:
                            d.setdefault(req.name, []).append((j.name, o, section, req))
            self._py_refs = d
        return self._py_refs

    def skipped_refs(self) -> dict[str, list[tuple[str, Output, str, Any, str]]]:
        """dep name -> (feedstock, output, section, requirement, skip reason) of outputs of needed
        feedstocks that their render for the pair skips (the cause: that skip)."""
        if self._skipped_refs is None:
            plan = self.plan
            d: dict[str, list[tuple[str, Output, str, Any, str]]] = {}
            for f in sorted(
                {j.feedstock for j in plan.feedstocks.values()} | {n.feedstock for n in plan.noarch.values()}
            ):
                fs = plan.snapshot.feedstocks.get(f)
                r = fs.renders.get(self.key) if fs else None
                for o in r.outputs if r else ():
                    if o.skip:
                        for section, reqs in o.requirements.items():
                            for req in reqs:
                                d.setdefault(req.name, []).append((f, o, section, req, o.skip_reason))
            self._skipped_refs = d
        return self._skipped_refs

    def dropped(self) -> dict[str, list[tuple[str, Output, Any]]]:
        if self._dropped is None:
            plan = self.plan
            d: dict[str, list[tuple[str, Output, Any]]] = {}
            for j in plan.feedstocks.values():
                for o in j.outs:
                    for x in o.dropped:
                        d.setdefault(x.name, []).append((j.name, o, x))
            for n in plan.noarch.values():
                for o in n.outs:
                    for x in o.dropped:
                        d.setdefault(x.name, []).append((n.feedstock, o, x))
            self._dropped = d
        return self._dropped

    def _absent(self, name: str) -> WhyNot:
        """Not in the snapshot. Every dependency of the plan is resolved or listed under unknown, so
        whether the plan reaches ``name`` is still known: only through an unknown (external) dep."""
        snap = self.plan.snapshot
        producers = snap.output_index.get(name) or []
        what = (
            f"{name} is produced by {', '.join(producers)}, which is not in the snapshot"
            if producers
            else f"{name} is not in the snapshot (no feedstock of that name, and no rendered recipe mentions an "
            "output of that name)"
        )
        via = sorted(
            {u.name for u in self.plan.unknown if u.name == name or name in (snap.output_index.get(u.name) or ())}
        )
        if via:
            needers = sorted({w for u in self.plan.unknown if u.name in via for w in u.needed_by})
            return WhyNot(
                "absent",
                f"{what}; the plan needs {', '.join(via)} from it "
                f"(needed by {', '.join(needers[:6])}): add it to the snapshot to plan it",
                [],
                name,
            )
        return WhyNot(
            "absent", f"{what}; no dependency of the planned feedstocks comes from it, so it is not needed", [], name
        )

    def _gap_or_tool(self, names: set[str], fname: str) -> WhyNot | None:
        """``gap`` / ``toolchain``: the plan needs it, but cannot plan a build of it (one truth with the
        plan's gaps and toolchain lists)."""
        plan = self.plan
        gaps = [g for g in plan.gaps if g.feedstock == fname or g.name in names]
        if gaps:
            return WhyNot(
                "gap",
                f"{len(gaps)} spec(s) on {fname} that no branch of it satisfies: {gaps[0].text()}",
                [g.text() for g in gaps[1:12]],
                fname,
            )
        tools = [t for t in plan.toolchain if t.name in names]
        if tools:
            t = tools[0]
            how = (
                "auto mode builds them natively instead"
                if t.resolved_by == "native"
                else "the cross builds need it there"
            )
            state = (
                "does not exist" if t.status == "missing" else "is not known to exist (no render or repodata places it)"
            )
            return WhyNot(
                "toolchain",
                f"{t.name} is a build dependency of {len(t.needed_by)} job(s) when cross-compiled "
                f"({', '.join(t.needed_by[:6])}) and {state} on {t.platform}; {how}",
                [],
                fname,
            )
        return None

    def explain(self, name: str) -> WhyNot:
        plan = self.plan
        snap = plan.snapshot
        pair = plan.pair
        fname = name
        if name not in snap.feedstocks:
            owners = self.owners(name)
            r = plan.index.resolve(name)
            if r.feedstock and r.feedstock in snap.feedstocks:
                fname = r.feedstock
            elif owners:
                fname = sorted(owners)[0]
            else:
                return self._gap_or_tool({name}, name) or self._absent(name)
        jobs = [plan.feedstocks[name]] if name in plan.feedstocks else plan.jobs_of(fname)
        if jobs:
            fs = jobs[0]
            more = [f"{j.label}: wave {j.wave}, {j.mode}: {' -> '.join(j.why)}" for j in jobs[1:]]
            return WhyNot(
                "planned",
                f"{fs.label} is in the plan (wave {fs.wave}, {fs.mode}): {' -> '.join(fs.why)}",
                more,
                fname,
            )
        names = self.names(fname) | {fname}
        found = self._gap_or_tool(names, fname)
        if found is not None:
            return found
        ign = sorted(n for n in names if n in plan.options.ignore)
        if ign:
            return WhyNot("ignored", f"{fname} is ignored by the user ({', '.join(ign)})", [], fname)
        avail = sorted(
            n for n in names if n in plan.available_hits or (n in plan.options.available and n in plan.needed)
        )
        if avail:
            who = sorted({w for n in avail for w in plan.available_hits.get(n, ["target"])})
            return WhyNot(
                "available",
                f"{', '.join(avail)} already available on {pair.target} (needed by {', '.join(who[:5])})",
                [],
                fname,
            )
        others = sorted(n for n in names for f in [self.provider_in_plan(n)] if f and f != fname)
        if others:
            provs = sorted({self.provider_in_plan(n) for n in others})
            return WhyNot(
                "other-provider",
                f"{', '.join(others)} (also produced by {fname}) is built by {', '.join(provs)} in this plan",
                [],
                fname,
            )
        noarch = sorted(n for n, node in plan.noarch.items() if node.feedstock == fname)
        if noarch:
            notes = [
                plan.needed[n].resolution.reason
                for n in noarch
                if n in plan.needed and "noarch variant" in plan.needed[n].resolution.reason
            ]
            return WhyNot(
                "noarch",
                f"only noarch output(s) {', '.join(noarch)} of {fname} are needed: built once, "
                "not for the target; their run deps are in the plan" + (f" ({notes[0]})" if notes else ""),
                notes[1:],
                fname,
            )
        findings: list[tuple[int, str, str]] = []
        for u in plan.unknown:
            if u.name in names and u.kind in ("skipped", "unrendered"):
                code = "skipped" if u.kind == "skipped" else "unrendered"
                findings.append((0, code, f"{u.name} is needed by {', '.join(u.needed_by[:5])} but {u.reason}"))
        for n in sorted(names):
            for e in plan.unfollowed.get(n, ()):
                if e.dst_feedstock not in ("", fname):
                    continue
                if e.section == "build":
                    findings.append(
                        (
                            1,
                            "build-only",
                            f"only a build dependency: {e.label()} — runs on {pair.build} when "
                            f"{e.src_feedstock} is cross-compiled",
                        )
                    )
                else:
                    findings.append(
                        (
                            2,
                            "noarch-host-only",
                            f"only a host dependency of noarch output {e.output}: {e.label()} — "
                            "noarch outputs are built once elsewhere",
                        )
                    )
            for f, o, section, req in self.other_python_refs().get(n, ()):
                findings.append(
                    (
                        3,
                        "python-variant",
                        f"only needed by {f}:{o.name} for python {o.variant.get('python')} ({section}: {req.spec}); "
                        f"the plan covers python {', '.join(plan.python_variants)} only",
                    )
                )
            for f, o, section, req, why in self.skipped_refs().get(n, ()):
                noarch_host = o.noarch and section == "host"
                findings.append(
                    (
                        2 if noarch_host else 5,
                        "noarch-host-only" if noarch_host else "skipped",
                        f"only needed by {f}:{o.name} ({section}: {req.spec}), which is skipped for "
                        f"{pair.target}"
                        + (f" ({why})" if why else "")
                        + (" — and noarch outputs are built once elsewhere" if noarch_host else ""),
                    )
                )
            for f, o, x in self.dropped().get(n, ()):
                findings.append(
                    (
                        3,
                        "selector",
                        f"{f}:{o.name} needs {n} in {x.section} only under "
                        f"[{x.condition}], false for {pair}" + (f" (line {x.line})" if x.line else ""),
                    )
                )
        if not findings:
            reasons = self.skips_all(fname)
            if reasons is not None:
                return WhyNot(
                    "skipped",
                    f"{fname} skips every output for {pair.target}"
                    + (f" ({'; '.join(reasons)})" if reasons else "")
                    + "; nothing needed depends on it either",
                    [],
                    fname,
                )
            targets = ", ".join(plan.targets) if 0 < len(plan.targets) <= 6 else f"the {len(plan.targets)} targets"
            consumers = self.consumers_here(names)
            tail = (
                f"; its consumers in the {pair} render ({', '.join(consumers[:6])}) are not reachable either"
                if consumers
                else ""
            )
            return WhyNot(
                "unreachable", f"nothing reachable for {targets} on {pair} depends on {fname}{tail}", [], fname
            )
        findings.sort(key=lambda t: (t[0], t[2]))
        _, code, text = findings[0]
        details = list(dict.fromkeys(t for _, _, t in findings))
        return WhyNot(code, text, details[:12], fname)

    def consumers_here(self, names: set[str]) -> list[str]:
        """Feedstocks whose render for the pair asks for one of ``names`` (none of them is planned)."""
        c = self._consumers if self._consumers is not None else self.plan.snapshot.consumers(self.plan.pair, names)
        found: set[str] = set()
        for n in names:
            found |= c.get(n, set())
        planned = {j.feedstock for j in self.plan.feedstocks.values()}
        return sorted(found - names - planned)


def _py(v: str) -> str:
    """``3.14.* *_cp314`` -> ``3.14``."""
    v = v.split()[0] if v.split() else v
    parts = v.replace("*", "").strip(".").split(".")
    return ".".join(parts[:2])


def why_not(snapshot: Any, plan: Plan, name: str) -> WhyNot:
    """Why feedstock (or output) ``name`` is not in ``plan``. ``snapshot`` must be the plan's snapshot."""
    if snapshot is not plan.snapshot:
        raise ValueError("why_not needs the snapshot the plan was made from")
    return _Explainer(plan).explain(name)


def prune_reasons(plan: Plan) -> list[Pruned]:
    """A reason for every feedstock of the snapshot that is not in the plan."""
    ex = _Explainer(plan, every=True)
    out: list[Pruned] = []
    planned = {j.feedstock for j in plan.feedstocks.values()}
    for f in sorted(plan.snapshot.feedstocks):
        if f in planned:
            continue
        w = ex.explain(f)
        out.append(Pruned(f, w.code, w.text))
    return out
