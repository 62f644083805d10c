"""Synthetic conda-forge-shaped snapshots for the plan benchmark, and a bot-style baseline planner.

Shape (per generated feedstock): most have 1-10 dependencies drawn with preferential attachment
from feedstocks generated before them, so hubs emerge; on top of that fixed hubs get the share of
dependents they have on conda-forge (python in ~40% of feedstocks' host/run, the C/C++ toolchain in
~50% of build sections, zlib/openssl/numpy in a few percent each). About 15% are multi-output,
25% noarch: python, and ~0.1% carry a back edge (a cycle). Everything is seeded: the same ``n``
and ``seed`` give the same snapshot.
"""

from __future__ import annotations

import copy
import itertools
import random
from collections.abc import Iterable

import networkx as nx

from newarch.model import Feedstock, Output, PlatformPair, RenderResult, Requirement
from newarch.store.snapshot import Snapshot

PAIRS = (PlatformPair("win-arm64", "win-64"), PlatformPair("win-64", "win-64"))
TOOLCHAIN = ("vs2022_win-arm64", "vs_win-arm64")
# hub name -> (share of feedstocks depending on it, section)
HUBS: dict[str, tuple[float, str]] = {
    "python": (0.40, "host+run"),
    "pip": (0.30, "host"),
    "setuptools": (0.20, "host"),
    "zlib": (0.08, "host"),
    "openssl": (0.05, "host"),
    "numpy": (0.06, "host+run"),
    "cmake": (0.15, "build"),
    "ninja": (0.10, "build"),
    "make": (0.10, "build"),
    "pkg-config": (0.10, "build"),
}
HUB_DEPS: dict[str, list[str]] = {
    "python": ["zlib", "openssl", "bzip2", "libffi", "xz", "sqlite", "tk"],
    "numpy": ["python", "libblas", "liblapack"],
    "pip": ["python", "setuptools"],
    "setuptools": ["python"],
    "openssl": ["ca-certificates"],
    "cmake": ["zlib", "libcurl", "libuv"],
    "libcurl": ["openssl", "zlib"],
    "sqlite": ["zlib"],
}
TARGETS = ("conda", "conda-build", "mamba", "rattler-build", "pixi")


def _req(name: str, spec: str = "") -> Requirement:
    return Requirement(name, spec or name)


def _feedstock(name: str, outputs: list[Output]) -> Feedstock:
    fs = Feedstock(name=name, schema="v0", source="generated")
    for pair in PAIRS:
        outs = []
        for o in outputs:
            reqs = dict(o.requirements)
            if pair.target != "win-arm64" and reqs.get("build"):
                reqs["build"] = tuple(
                    Requirement(r.name.replace("win-arm64", "win-64"), r.spec.replace("win-arm64", "win-64"))
                    for r in reqs["build"]
                )
            outs.append(
                Output(name=o.name, version="1.0", noarch=o.noarch, requirements=reqs, run_exports=dict(o.run_exports))
            )
        fs.renders[pair.key] = RenderResult(pair=pair, outputs=outs)
    return fs


def generate(n: int, seed: int = 20261124, branches_every: int = 0) -> Snapshot:
    """A snapshot of ``n`` feedstocks (hubs and targets included).

    ``branches_every=k``: every k-th generated compiled feedstock also has 3 rendered release branches
    (versions 0.9, 0.8, 0.7; main builds 1.0), and a third of the specs on it ask ``NAME 0.8.*`` (only
    a branch satisfies them). Without it the graph is the same as before branches existed (same seed)."""
    rng = random.Random(seed)
    brng = random.Random(seed + 1)  # branch decisions: the main sequence (and the graph) stays the same
    branched: set[str] = set()
    snap = Snapshot(date="2026-11-24", description=f"synthetic {n}", pairs=list(PAIRS))
    base = [
        "ca-certificates",
        "bzip2",
        "libffi",
        "xz",
        "tk",
        "libuv",
        "libblas",
        "liblapack",
        "libcurl",
        "sqlite",
        "zlib",
        "openssl",
        "python",
        "setuptools",
        "pip",
        "numpy",
        "cmake",
        "ninja",
        "make",
        "pkg-config",
        "vs2022",
        "vs",
    ]
    names: list[str] = []
    popularity: list[str] = []  # one entry per dependent: preferential attachment
    for b in base:
        if b in ("vs2022", "vs"):
            outs = [
                Output(
                    name=f"{b}_win-arm64", run_exports={"strong": ("vc14_runtime",) if b == "vs2022" else ("ucrt",)}
                ),
                Output(name=f"{b}_win-64"),
            ]
            snap.feedstocks[b] = _feedstock(b, outs)
            continue
        deps = HUB_DEPS.get(b, [])
        reqs = {"build": tuple(_req(t) for t in TOOLCHAIN)} if b not in ("ca-certificates",) else {}
        if deps:
            reqs["host"] = tuple(_req(d) for d in deps)
            reqs["run"] = tuple(_req(d) for d in deps)
        snap.feedstocks[b] = _feedstock(b, [Output(name=b, requirements=reqs, run_exports={"weak": (b,)})])
        names.append(b)
        popularity.extend([b] * 3)
    for runtime in ("vc14_runtime", "ucrt"):
        snap.feedstocks[runtime] = _feedstock(runtime, [Output(name=runtime)])
    count = len(snap.feedstocks)
    i = 0
    while count < n:
        i += 1
        is_target_zone = count >= n - len(TARGETS)
        name = TARGETS[n - count - 1] if is_target_zone else f"pkg{i:06d}"
        k = min(len(popularity), 1 + int(rng.expovariate(1 / 3.0)))
        k = min(k, 10) if not is_target_zone else 25
        deps = {popularity[rng.randrange(len(popularity))] for _ in range(k)}
        if rng.random() < 0.5:  # recent feedstocks depend on recent ones too (long chains)
            deps.add(names[max(0, len(names) - 1 - int(rng.expovariate(1 / 200.0)))])
        deps.discard(name)
        noarch = "python" if rng.random() < 0.25 and not is_target_zone else ""
        host: list[Requirement] = []
        run: list[Requirement] = []
        build: list[Requirement] = []
        for hub, (share, section) in HUBS.items():
            if rng.random() < share:
                if "host" in section:
                    host.append(_req(hub))
                if "run" in section:
                    run.append(_req(hub))
                if section == "build":
                    build.append(_req(hub))
        if not noarch and rng.random() < 0.5:
            build.extend(_req(t) for t in TOOLCHAIN)
        for d in sorted(deps):
            spec = f"{d} 0.8.*" if d in branched and brng.random() < 1 / 3 else f"{d} >=1"
            (host if rng.random() < 0.5 else run).append(_req(d, spec))
        if rng.random() < 0.001 and count > 100:  # a back edge -> cycle
            run.append(_req(f"pkg{i + rng.randrange(1, 50):06d}"))
        outputs = [
            Output(
                name=name,
                noarch=noarch,
                requirements={"build": tuple(build), "host": tuple(host), "run": tuple(run)},
                run_exports={"weak": (name,)} if not noarch else {},
            )
        ]
        if not noarch and rng.random() < 0.15:
            for j in range(rng.randrange(1, 4)):
                outputs.append(
                    Output(name=f"lib{name}-{j}", requirements={"host": (_req(name),), "run": (_req(name),)})
                )
        snap.feedstocks[name] = _feedstock(name, outputs)
        if branches_every and not noarch and not is_target_zone and i % branches_every == 0:
            _add_branches(snap.feedstocks[name])
            branched.update(o.name for o in outputs)
        names.append(name)
        popularity.append(name)
        popularity.extend(sorted(deps))
        count += 1
    return snap


def _add_branches(fs: Feedstock) -> None:
    from dataclasses import replace

    from newarch.model import Branch

    for version in ("0.9", "0.8", "0.7"):
        renders = {
            k: RenderResult(r.pair, [replace(o, version=f"{version}.0") for o in r.outputs])
            for k, r in fs.renders.items()
        }
        fs.branches[f"{version}.x"] = Branch(f"{version}.x", version=f"{version}.0", renders=renders)


def edge_stats(snap: Snapshot) -> dict[str, float]:
    key = PAIRS[0].key
    indeg: dict[str, int] = {}
    edges = 0
    for fs in snap.feedstocks.values():
        deps = {r.name for o in fs.renders[key].outputs for rs in o.requirements.values() for r in rs}
        edges += len(deps)
        for d in deps:
            indeg[d] = indeg.get(d, 0) + 1
    top = sorted(indeg.items(), key=lambda kv: (-kv[1], kv[0]))[:3]
    return {
        "feedstocks": len(snap.feedstocks),
        "edges": edges,
        "mean_deps": round(edges / max(1, len(snap.feedstocks)), 2),
        "top_hubs": ", ".join(f"{k}:{v}" for k, v in top),
    }


# -- the bot's approach, re-implemented ----------------------------------------------------------


def bot_graph(snap: Snapshot, pair: PlatformPair) -> nx.DiGraph:
    """The autotick bot's graph: one node per feedstock with its attributes as payload, an edge
    dependency-feedstock -> dependent-feedstock for every requirement of any section (the bot's
    ``req`` set, its union over sections and outputs)."""
    owner: dict[str, str] = {}
    for fname, fs in snap.feedstocks.items():
        r = fs.renders.get(pair.key)
        if r:
            for o in r.outputs:
                owner.setdefault(o.name, fname)
    gx = nx.DiGraph()
    for fname, fs in snap.feedstocks.items():
        r = fs.renders.get(pair.key)
        payload = fs.to_dict()  # the bot keeps the whole node_attrs as payload
        req = {q.name for o in (r.outputs if r else ()) for rs in o.requirements.values() for q in rs}
        gx.add_node(fname, payload=payload)
        for dep in req:
            src = owner.get(dep)
            if src and src != fname:
                gx.add_edge(src, fname)
    return gx


def pluck(g: nx.DiGraph, node: str) -> None:
    """The bot's ``pluck``: remove a node, connecting each of its parents to each of its children."""
    if node in g:
        new_edges = list(
            itertools.product({u for u, _ in g.in_edges(node)} - {node}, {v for _, v in g.out_edges(node)} - {node})
        )
        g.remove_node(node)
        g.add_edges_from(new_edges)


def bot_plan(snap: Snapshot, targets: Iterable[str], pair: PlatformPair) -> list[str]:
    """Cut-and-pluck: deep-copy the graph, keep the targets and their ancestors, pluck the rest,
    then order what is left (the bot's cyclic topological sort: condense cycles, then topo-sort)."""
    gx = bot_graph(snap, pair)
    g = copy.deepcopy(gx)
    keep: set[str] = set()
    for t in targets:
        if t in g:
            keep.add(t)
            keep |= nx.ancestors(g, t)
    for node in list(g.nodes):
        if node not in keep:
            pluck(g, node)
    g.remove_edges_from(list(nx.selfloop_edges(g)))
    cond = nx.condensation(g)
    order: list[str] = []
    for c in nx.topological_sort(cond):
        order.extend(sorted(cond.nodes[c]["members"]))
    return order
