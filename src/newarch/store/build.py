"""Build a snapshot: render every feedstock for every platform pair, in parallel, keep derived facts.

Per-feedstock failures never stop the run: they are recorded (``Snapshot.failures`` for a feedstock
that cannot be read at all, ``RenderResult.error`` for one platform) and reported at the end.
"""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Callable, Iterable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from newarch.errors import NewarchError
from newarch.model import Branch, Feedstock, PlatformPair
from newarch.render.isolate import Failed, Limits, WorkerPool
from newarch.render.pinning import Variants
from newarch.store.snapshot import Snapshot

DEFAULT_PAIRS: tuple[str, ...] = (
    "win-arm64:win-64",
    "win-64:win-64",
    "linux-64:linux-64",
    "linux-aarch64:linux-64",
    "linux-riscv64:linux-64",
    "osx-64:osx-64",
    "osx-arm64:osx-64",
)


@dataclass(slots=True)
class BuildRequest:
    sources: list[Path]
    pairs: list[PlatformPair]
    pinnings: dict[str, Variants]  # by pair key
    pinning_source: str = ""
    outputs_map: dict[str, list[str]] | None = None
    date: str = ""
    description: str = ""
    env: dict[str, str] = field(default_factory=dict)
    jobs: int = 0
    node_attrs: list[Path] = field(default_factory=list)  # cf-graph node_attrs JSON files (see node_attrs.py)
    limits: Limits = field(default_factory=Limits)  # deadline and memory limit of each render (isolate.py)
    isolated: bool = True  # False: render in this process, unbounded (benchmarks, trusted recipes only)
    branches: str = "maintained"  # git branches besides main: maintained | all | NAME,... | "" (none)


# Names that exist in the channel (from the outputs map), for the build-tool-missing lint. Set once
# per worker process by ``_init_worker`` instead of being pickled with every task.
_CHANNEL_NAMES: frozenset[str] | None = None


def _init_worker(names: frozenset[str] | None) -> None:
    global _CHANNEL_NAMES
    _CHANNEL_NAMES = names


def _render_pairs(
    src: Any, pairs: list[PlatformPair], pinnings: dict[str, dict[str, Any]], env: dict[str, str]
) -> dict[str, Any]:
    """Render (and lint) one recipe source for every pair: ``{pair.key: RenderResult}``."""
    from newarch.lint.rules import lint_source
    from newarch.render import default_env, render_source

    renders: dict[str, Any] = {}
    # native pairs first: a cross pair's build tools that the feedstock already uses when building on the
    # build platform itself exist there (from conda-forge or another channel its CI uses)
    for pair in sorted(pairs, key=lambda p: p.cross):
        variants = Variants.from_dict(pinnings[pair.key])
        run_env = {**default_env(pair), **env}
        result = render_source(src, pair, variants, run_env)
        available = _CHANNEL_NAMES
        native = renders.get(f"{pair.build}:{pair.build}")
        if available is not None and pair.cross and native is not None:
            available = available | {r.name for o in native.outputs if not o.skip for r in o.reqs("build")}
        try:
            result.findings = lint_source(src, pair, result, available)
        except Exception as exc:  # a lint bug is reported, never fatal
            result.notes.append(f"lint failed: {type(exc).__name__}: {exc}")
        renders[pair.key] = result
    return renders


def recipe_version(src: Any, renders: dict[str, Any]) -> str:
    """The version a branch builds: its version line when a render agrees, else the rendered one most
    outputs have (the version line may be computed by Jinja), else the version line."""
    from collections import Counter

    from newarch.store.branches import version_line

    line = version_line(src.text(src.recipe_file) or "", src.schema)
    counts = Counter(o.version for r in renders.values() for o in r.outputs if o.version)
    if line and (line in counts or not counts):
        return line
    return min(counts, key=lambda v: (-counts[v], v)) if counts else ""


def _render_one(
    path: str, pairs: list[PlatformPair], pinnings: dict[str, dict[str, Any]], env: dict[str, str], branches: str = ""
) -> Feedstock | dict[str, Any]:
    """Worker: read and render one feedstock (``main`` and the ``branches`` asked for) for every pair.

    Returns the Feedstock or ``{"error", "path"}``. ``branches``: maintained | all | NAME,... | "" (main only)."""
    from newarch.sources.recipes import open_source, read_git
    from newarch.store import branches as gitb

    try:
        src = open_source(path)
        settings = src.settings()
    except NewarchError as exc:
        return {"error": str(exc), "path": path}
    except Exception as exc:  # a broken mirror must not stop the run
        return {"error": f"{path}: cannot read ({type(exc).__name__}: {exc})", "path": path}
    fs = Feedstock(
        name=src.name, schema=src.schema, revision=src.revision, date=src.date, source=src.kind, settings=settings
    )
    fs.renders = _render_pairs(src, pairs, pinnings, env)
    fs.version = recipe_version(src, fs.renders)
    fs.recipe_file = f"{src.recipe_dir}/{src.recipe_file}" if src.recipe_dir else src.recipe_file
    fs.maintained_branches = gitb.maintained_branches(src.conda_forge_yml)
    git_dir = gitb.git_dir_of(path)
    if git_dir is None:
        if branches and fs.maintained_branches and branches != "maintained":
            fs.notes.append("not a git repository: only the checked-out branch is rendered")
        return fs
    try:
        fs.history = gitb.recipe_history(git_dir, "HEAD")
        refs = gitb.branch_refs(git_dir)
        wanted, notes = gitb.select_branches(branches, fs.maintained_branches, refs, gitb.default_branch(git_dir))
    except Exception as exc:  # history and branches are extras: the main render stands
        fs.notes.append(f"branches/history not read: {type(exc).__name__}: {exc}")
        return fs
    fs.notes.extend(notes)
    for name in wanted:
        try:
            bsrc = read_git(git_dir, src.name, refs[name])
            if not bsrc.schema:
                fs.notes.append(f"branch {name}: no recipe/meta.yaml or recipe/recipe.yaml")
                continue
        except Exception as exc:
            fs.notes.append(f"branch {name}: cannot read ({type(exc).__name__}: {exc})")
            continue
        renders = _render_pairs(bsrc, pairs, pinnings, env)
        fs.branches[name] = Branch(
            name=name,
            revision=bsrc.revision,
            date=bsrc.date,
            version=recipe_version(bsrc, renders),
            schema=bsrc.schema,
            recipe_file=f"recipe/{bsrc.recipe_file}",
            renders=renders,
        )
    return fs


def referenced_names(feedstocks: Iterable[Feedstock]) -> set[str]:
    names: set[str] = set()
    for fs in feedstocks:
        for result in (r for b in fs.builds() for r in b.renders.values()):
            for out in result.outputs:
                names.add(out.name)
                for reqs in out.requirements.values():
                    names.update(r.name for r in reqs)
                for specs in out.run_exports.values():
                    names.update(s.split()[0] for s in specs if s.strip())
    return names


def build_snapshot(req: BuildRequest, progress: Callable[[str], None] | None = None) -> Snapshot:
    pinning_facts = {key: v.to_dict() for key, v in sorted(req.pinnings.items())}
    jobs = req.jobs or os.cpu_count() or 1
    results: list[Any] = []  # Feedstock.to_dict() / Feedstock / {"error", "path"}
    paths = [str(p) for p in req.sources]
    names = frozenset(req.outputs_map) if req.outputs_map else None
    if not req.isolated:
        _init_worker(names)
        for p in paths:
            results.append(_render_one(p, req.pairs, pinning_facts, req.env, req.branches))
            if progress:
                progress(p)
    elif paths:
        # untrusted recipes: each render has a deadline and a memory limit; a worker over either is
        # replaced and its feedstock recorded as a failure, the others go on
        workers = max(1, min(jobs, len(paths)))
        done: dict[str, Any] = {}
        with WorkerPool(workers, req.limits, initializer=_init_worker, initargs=(names,)) as pool:
            shared = (
                pool.share(req.pairs),
                pool.share(pinning_facts),
                pool.share(req.env),
                pool.share(req.branches),
            )  # once per worker
            tasks = ((p, _render_one, (p, *shared)) for p in paths)
            for key, outcome in pool.run(tasks):
                if isinstance(outcome, Failed):
                    outcome = {"error": outcome.text(Path(str(key)).name), "path": key}
                done[str(key)] = outcome
                if progress:
                    progress(str(key))
        results.extend(done[p] for p in paths)  # in input order: the result does not depend on timing
    if req.node_attrs:
        results.extend(_convert_node_attrs(req, jobs, progress))
    return assemble_snapshot(req, results)


def assemble_snapshot(req: BuildRequest, results: Iterable[Any]) -> Snapshot:
    """The snapshot from per-feedstock results (``Feedstock.to_dict()``, ``Feedstock`` or
    ``{"error", "path"}``), in the given order; also used by the closure crawl (store/crawl.py)."""
    pinning_facts = {key: v.to_dict() for key, v in sorted(req.pinnings.items())}
    feedstocks: dict[str, Feedstock] = {}
    snap = Snapshot(
        feedstocks=feedstocks,
        pairs=sorted(req.pairs),
        description=req.description,
        pinning={"source": req.pinning_source, "platforms": pinning_facts},
    )
    for r in results:
        if isinstance(r, dict) and "error" in r:
            snap.failures[Path(r["path"]).name] = r["error"]
            continue
        fs = r if isinstance(r, Feedstock) else Feedstock.from_dict(r)  # node_attrs workers send objects
        if fs.name in snap.feedstocks:
            snap.failures[fs.name] = f"{fs.name}: duplicate feedstock name (kept the first)"
            continue
        feedstocks[fs.name] = fs
    if req.outputs_map:
        wanted = referenced_names(snap.feedstocks.values())
        snap.output_index = {n: sorted(req.outputs_map[n]) for n in wanted if n in req.outputs_map}
    snap.date = req.date or max((fs.date for fs in snap.feedstocks.values()), default="")
    return snap


NODE_ATTRS_BATCH = 128


def _convert_node_attrs(req: BuildRequest, jobs: int, progress: Callable[[str], None] | None) -> list[Any]:
    """node_attrs files are already rendered (by the bot): convert them in batches, in parallel."""
    from newarch.render.node_attrs import compact_pinning, convert_batch

    keys = [p.key for p in req.pairs]
    pins = {k: compact_pinning(v) for k, v in req.pinnings.items()}
    files = [str(p) for p in req.node_attrs]
    batches = [files[i : i + NODE_ATTRS_BATCH] for i in range(0, len(files), NODE_ATTRS_BATCH)]
    results: list[Any] = []  # Feedstock objects or {"error", "path"}
    if jobs <= 1 or len(batches) <= 1:
        for batch in batches:
            results.extend(convert_batch(batch, keys, pins))
            if progress:
                for p in batch:
                    progress(p)
        return results
    ctx = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=jobs, mp_context=ctx) as pool:
        futures = [pool.submit(convert_batch, batch, keys, pins) for batch in batches]
        for batch, fut in zip(batches, futures, strict=True):  # in order, so the result does not depend on timing
            try:
                results.extend(fut.result())
            except Exception as exc:  # worker died
                results.extend({"error": f"{p}: worker failed ({type(exc).__name__}: {exc})", "path": p} for p in batch)
            if progress:
                for p in batch:
                    progress(p)
    return results


def load_outputs_map(path: Path) -> dict[str, list[str]]:
    """conda-forge/feedstock-outputs style JSON: ``{output: [feedstock, ...]}`` (see sources/outputs_map.py)."""
    from newarch.sources.outputs_map import load_outputs_json

    return load_outputs_json(path)


def summarize(snap: Snapshot) -> dict[str, Any]:
    """Counts for the end-of-run report: rendered / failed per pair, with the failures."""
    per_pair: dict[str, dict[str, int]] = {}
    errors: list[tuple[str, str, str]] = []
    branches: dict[str, list[str]] = {}  # feedstock -> release branches rendered
    notes: list[tuple[str, str]] = []  # (feedstock, note) about branches not rendered
    for fs in snap.feedstocks.values():
        for key, res in fs.renders.items():  # main's renders
            c = per_pair.setdefault(key, {"rendered": 0, "failed": 0})
            if res.ok:
                c["rendered"] += 1
            else:
                c["failed"] += 1
                errors.append((fs.name, key, res.error))
        if fs.branches:
            branches[fs.name] = sorted(fs.branches)
        for name, br in sorted(fs.branches.items()):
            errors.extend((f"{fs.name}@{name}", k, r.error) for k, r in sorted(br.renders.items()) if not r.ok)
        notes.extend((fs.name, n) for n in fs.notes if n.startswith(("branch ", "branches/history")))
    return {
        "per_pair": per_pair,
        "errors": sorted(errors),
        "unreadable": dict(sorted(snap.failures.items())),
        "branches": branches,
        "branch_notes": notes,
    }
