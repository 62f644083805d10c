"""Ordering the build jobs: feedstock-level needs, waves (longest path), cycles and how to break them,
the critical path, how many jobs each unblocks, and the shortest why-chain of each job."""

from __future__ import annotations

from collections.abc import Callable
from graphlib import CycleError, TopologicalSorter

from newarch.plan.graph import Edge
from newarch.plan.model import Cycle, Plan

# How hard an edge is to drop when breaking a cycle (lower = easier); see suggest_break in _cycle.
SECTION_WEAKNESS = {"run": 0, "run_exports": 1, "build": 2, "host": 3}


def needs(plan: Plan) -> None:
    """Job-level needs: the jobs each dependency chose, looking through noarch nodes."""
    for fs in plan.feedstocks.values():
        acc: set[str] = set()
        for refs in fs.dep_targets.values():
            acc.update(plan.jobs_behind(refs))
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


def strongly_connected(nodes: list[int], succ: Callable[[int], list[int]]) -> list[list[int]]:
    """The strongly connected components of a graph (Tarjan's algorithm, iterative: a long dependency
    chain must not hit Python's recursion limit). ``succ(u)``: the nodes ``u`` has an edge to."""
    index: dict[int, int] = {}
    low: dict[int, int] = {}
    on_stack: set[int] = set()
    stack: list[int] = []
    comps: list[list[int]] = []
    for root in nodes:
        if root in index:
            continue
        work = [(root, iter(succ(root)))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            u, it = work[-1]
            v = next(it, None)
            if v is not None:
                if v not in index:
                    index[v] = low[v] = len(index)
                    stack.append(v)
                    on_stack.add(v)
                    work.append((v, iter(succ(v))))
                elif v in on_stack:
                    low[u] = min(low[u], index[v])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[u])
            if low[u] == index[u]:
                comp: list[int] = []
                while True:
                    w = stack.pop()
                    on_stack.discard(w)
                    comp.append(w)
                    if w == u:
                        break
                comps.append(comp)
    return comps


def order(plan: Plan) -> None:
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
        core = _trim_to_cycles(succ, pred, set(range(len(names))) - set(order))
        cyc_sets = sorted(
            sorted(names[i] for i in c)
            for c in strongly_connected(sorted(core), lambda u: [v for v in succ[u] if v in core])
            if len(c) > 1 or c[0] in succ[c[0]]
        )
        for members in cyc_sets:
            plan.cycles.append(_cycle(plan, members))
        # condense: one component per cycle, singletons otherwise
        comp = [-1] * len(names)
        sccs = []
        for cy in plan.cycles:
            for n in cy.members:
                comp[ix[n]] = len(sccs)
            sccs.append([ix[n] for n in cy.members])
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
        for ci, cy in enumerate(plan.cycles):
            for n in cy.members:
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
    mset = set(members)
    edges: list[Edge] = []
    cost: dict[tuple[str, str], tuple[int, int, str, str]] = {}
    for a in members:
        for b, es in plan.feedstocks[a].need_edges.items():
            if b in mset:
                edges.extend(es)
                worst = max(SECTION_WEAKNESS.get(e.section, 3) for e in es)
                cost[(a, b)] = (worst, len(es), a, b)
    needed: dict[str, set[str]] = {m: set() for m in members}  # a -> the members a needs
    for a, b in cost:
        needed[a].add(b)
    breaks: list[tuple[str, str]] = []
    while True:
        try:
            TopologicalSorter({a: sorted(bs) for a, bs in needed.items()}).prepare()
            break
        except CycleError as exc:
            cyc: list[str] = exc.args[1]  # [n0, n1, ..., n0]: each one needs the one before it
        a, b = min(zip(cyc[1:], cyc, strict=False), key=lambda ab: cost[ab])
        breaks.append((a, b))
        needed[a].discard(b)
    names = {0: "run", 1: "run_exports", 2: "build", 3: "host"}
    reason = "; ".join(
        f"{a} -> {b}: hardest edge is {names[cost[(a, b)][0]]} ({cost[(a, b)][1]} edge(s))" for a, b in breaks
    )
    return Cycle(
        list(members),
        sorted(edges, key=lambda e: (e.src_feedstock, e.dst_feedstock, e.output, e.dep_output)),
        breaks,
        reason + "; drop order: run < run_exports < build < host",
    )


def why_chains(plan: Plan) -> None:
    """``why`` of every job: [target, ..., name] along the BFS discovery (shortest)."""
    memo: dict[tuple[str, str], list[str]] = {}

    def label(ref: tuple[str, str]) -> str:
        return ref[1] if ref[0] == "fs" else plan.noarch[ref[1]].feedstock

    def chain(ref: tuple[str, str]) -> list[str]:
        path: list[tuple[str, str]] = []
        cur: tuple[str, str] = ref
        base: list[str] = []
        seen: set[tuple[str, str]] = set()
        while True:
            if cur in memo:
                base = memo[cur]
                break
            if cur[0] == "target":
                base = [cur[1]]
                break
            if cur in seen:  # defensive: parents always come first in BFS order
                break
            seen.add(cur)
            path.append(cur)
            node = plan.feedstocks[cur[1]] if cur[0] == "fs" else plan.noarch[cur[1]]
            cur = node.parent
        for r in reversed(path):
            lab = label(r)
            base = base if base and base[-1] == lab else [*base, lab]
            memo[r] = base
        return base

    for fs in plan.feedstocks.values():
        c = chain(("fs", fs.name))
        fs.why = c if c and c[-1] == fs.name else [*c, fs.name]
