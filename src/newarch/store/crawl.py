"""The closure crawl: from target names to every feedstock they need, fetched and rendered.

Start from the targets; render each feedstock reached for every platform pair (through
:func:`newarch.store.build._render_one`, the same per-feedstock function ``newarch snapshot`` uses);
collect the dependency names of every output (build, host and run requirements and run-exports:
native builds and the build platform need the build tools too); map them to feedstocks with the
output -> feedstock map; fetch and render those; repeat until nothing new is reached. Names already
on the target (``available``) stop the crawl there; virtual packages (``__win``) are never followed.

Fetches (threads: git is I/O) and renders (processes) run in parallel as the frontier grows, so the
set reached does not depend on timing. Incremental: each render is kept in the cache under a key of
everything that shapes it (pairs, pinning, env, channel names, newarch's code) with the feedstock's
revision; a feedstock whose revision is unchanged is not rendered again. Interrupted (Ctrl-C), the
pools stop, the cache keeps every finished render, and nothing else is written.
"""

from __future__ import annotations

import hashlib
import json
import os
import signal
import threading
import time
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Executor, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from newarch.files import write_atomic
from newarch.model import Feedstock
from newarch.render.isolate import Failed, Limits, WorkerPool
from newarch.sources.fetch import FeedstockSource, Fetched, FetchError
from newarch.sources.outputs_map import preferred
from newarch.store import build
from newarch.store.build import BuildRequest, assemble_snapshot
from newarch.store.snapshot import Snapshot

FOLLOWED_SECTIONS: tuple[str, ...] = ("build", "host", "run")  # run_constraints are not dependencies
FOLLOWED_EXPORTS: tuple[str, ...] = ("weak", "strong", "noarch")


@dataclass(slots=True)
class CrawlRequest:
    targets: list[str]  # package names (or feedstock names the map does not know)
    build: BuildRequest  # pairs, pinnings, env, jobs, outputs_map, date, description (sources unused)
    available: frozenset[str] = frozenset()  # names that exist on the target already: not followed
    cache: Path | None = None  # where renders are kept between runs (None: nothing kept)
    named_only: bool = False  # crawl only the feedstock named like a name when the map lists it
    fetch_jobs: int = 8


@dataclass(slots=True)
class CrawlHooks:
    """Called in the crawling process. ``on_render`` runs just before a feedstock is rendered (raise
    KeyboardInterrupt there to simulate Ctrl-C); ``on_progress(done, frontier, reached)`` after each step."""

    on_render: Callable[[str], None] | None = None
    on_progress: Callable[[int, int, int], None] | None = None


@dataclass(slots=True)
class CrawlReport:
    reached: list[str] = field(default_factory=list)  # feedstocks reached (fetched or failed)
    rendered: list[str] = field(default_factory=list)  # rendered in this run
    reused: list[str] = field(default_factory=list)  # taken from the cache (same revision)
    fetch_failures: dict[str, str] = field(default_factory=dict)
    render_failures: dict[str, str] = field(default_factory=dict)  # feedstock -> first error (any pair)
    unmapped: dict[str, list[str]] = field(default_factory=dict)  # name no feedstock provides -> needed by
    stopped: list[str] = field(default_factory=list)  # names available on the target already
    seconds: float = 0.0
    fetch_seconds: float = 0.0  # summed over fetches
    render_seconds: float = 0.0  # wall time spent with renders running


# The parts of newarch whose code shapes a render (reading recipes, rendering, linting, the per-feedstock
# worker and the model it fills): a change there renders everything again; a change elsewhere does not.
RENDER_CODE: tuple[str, ...] = ("model.py", "render", "lint", "sources/recipes.py", "store/build.py")


def code_fingerprint() -> str:
    """A digest of the code that shapes a render (``RENDER_CODE``)."""
    root = Path(build.__file__).resolve().parents[1]
    h = hashlib.sha256()
    for part in RENDER_CODE:
        p = root / part
        for f in sorted(p.rglob("*.py")) if p.is_dir() else [p]:
            h.update(f.relative_to(root).as_posix().encode() + b"\0" + f.read_bytes())
    return h.hexdigest()


def render_key(req: BuildRequest) -> str:
    facts = {
        "pairs": sorted(p.key for p in req.pairs),
        "pinnings": {k: v.to_dict() for k, v in sorted(req.pinnings.items())},
        "env": dict(sorted(req.env.items())),
        "names": hashlib.sha256("\n".join(sorted(req.outputs_map or ())).encode()).hexdigest(),
        "code": code_fingerprint(),
    }
    return hashlib.sha256(json.dumps(facts, sort_keys=True).encode()).hexdigest()[:24]


class RenderCache:
    """``<cache>/renders/<key>/<feedstock>.json``: ``{"revision", "result"}``, one file each, written atomically."""

    def __init__(self, root: Path | None, key: str) -> None:
        self.dir = root / "renders" / key if root else None

    def get(self, name: str, revision: str) -> dict[str, Any] | None:
        if self.dir is None or not revision:
            return None
        try:
            d = json.loads((self.dir / f"{name}.json").read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        if isinstance(d, dict) and d.get("revision") == revision and isinstance(d.get("result"), dict):
            result: dict[str, Any] = d["result"]
            return result
        return None

    def put(self, name: str, revision: str, result: dict[str, Any]) -> None:
        if self.dir is None or not revision:
            return
        data = json.dumps({"revision": revision, "result": result}, sort_keys=True, separators=(",", ":"))
        write_atomic(self.dir / f"{name}.json", data.encode("utf-8"))


def _worker_init(names: frozenset[str] | None) -> None:
    """Render workers ignore SIGINT: the crawling process handles Ctrl-C and stops the pool."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    build._init_worker(names)


def _render_fetched(
    path: str,
    kind: str,
    pairs: list[Any],
    pinning_facts: dict[str, Any],
    env: dict[str, str],
    pins: dict[str, Any],
    branches: str = "",
) -> dict[str, Any]:
    """Worker: one fetched feedstock -> ``Feedstock.to_dict()`` or ``{"error", "path"}``."""
    if kind == "node_attrs":
        from newarch.render.node_attrs import convert_batch

        r = convert_batch([path], [p.key for p in pairs], pins)[0]
        return r if isinstance(r, dict) else r.to_dict()
    r = build._render_one(path, pairs, pinning_facts, env, branches)
    return r.to_dict() if isinstance(r, Feedstock) else r


def dependency_names(result: dict[str, Any]) -> tuple[set[str], set[str]]:
    """(names the feedstock produces, names its outputs need) over every pair of a rendered result."""
    produced: set[str] = set()
    needed: set[str] = set()
    renders = list((result.get("renders") or {}).values())
    for branch in (result.get("branches") or {}).values():  # release branches need their own deps
        renders += list((branch.get("renders") or {}).values())
    for render in renders:
        for out in render.get("outputs") or ():
            produced.add(out["name"])
            reqs = out.get("requirements") or {}
            for section in FOLLOWED_SECTIONS:
                needed.update(r["name"] for r in reqs.get(section) or ())
            rex = out.get("run_exports") or {}
            for kind in FOLLOWED_EXPORTS:
                needed.update(s.split()[0] for s in rex.get(kind) or () if s.strip())
    return produced, {n for n in needed if n and not n.startswith("__")}


class _IsolatedRenderer:
    """Renders submitted as futures, each run in an isolated worker process (render/isolate.py) with
    the request's deadline and memory limit: ``jobs`` threads, each driving its own worker."""

    def __init__(self, jobs: int, limits: Limits, names: frozenset[str] | None) -> None:
        self.limits, self.names = limits, names
        self._local = threading.local()
        self._pools: list[WorkerPool] = []
        self._lock = threading.Lock()
        self._executor = ThreadPoolExecutor(max_workers=max(1, jobs), thread_name_prefix="newarch-render")

    def submit(self, args: tuple[Any, ...], display: str, name: str) -> Future[Any]:
        return self._executor.submit(self._call, args, display, name)

    def _call(self, args: tuple[Any, ...], display: str, name: str) -> dict[str, Any]:
        pool = getattr(self._local, "pool", None)
        if pool is None:
            pool = WorkerPool(1, self.limits, initializer=_worker_init, initargs=(self.names,))
            with self._lock:
                self._pools.append(pool)
            self._local.pool = pool
        out = pool.call(_render_fetched, *args)
        if isinstance(out, Failed):
            return {"error": out.text(display), "path": name}
        rendered: dict[str, Any] = out
        return rendered

    def shutdown(self, wait: bool = True, cancel_futures: bool = False) -> None:
        if not wait:  # interrupted: stop the renders under way instead of waiting for them
            with self._lock:
                for pool in self._pools:
                    pool.terminate()
        self._executor.shutdown(wait=wait, cancel_futures=cancel_futures)
        with self._lock:
            for pool in self._pools:
                pool.close()


class _Crawl:
    def __init__(self, req: CrawlRequest, source: FeedstockSource, hooks: CrawlHooks) -> None:
        self.req, self.source, self.hooks = req, source, hooks
        self.omap = req.build.outputs_map or {}
        self.pinning_facts = {k: v.to_dict() for k, v in sorted(req.build.pinnings.items())}
        self.node_pins: dict[str, Any] = {}
        self.cache = RenderCache(req.cache, render_key(req.build))
        self.report = CrawlReport()
        self.seen_fs: set[str] = set()
        self.seen_names: set[str] = set()
        self.needed_by: dict[str, set[str]] = {}
        self.produced: set[str] = set()
        self.results: dict[str, dict[str, Any]] = {}
        self.pending: dict[Future[Any], tuple[str, Any]] = {}
        self.done = 0

    # -- the frontier ------------------------------------------------------------------------------
    def add_feedstock(self, name: str, fetcher: Executor) -> None:
        if name in self.seen_fs:
            return
        self.seen_fs.add(name)
        self.pending[fetcher.submit(self._fetch, name)] = ("fetch", name)

    def _fetch(self, name: str) -> tuple[Fetched | FetchError, float]:
        t = time.perf_counter()
        got = self.source.get(name)
        return got, time.perf_counter() - t

    def add_name(self, name: str, fetcher: Executor, who: str = "") -> None:
        if who:
            self.needed_by.setdefault(name, set()).add(who)
        if name in self.seen_names:
            return
        self.seen_names.add(name)
        if name in self.req.available:
            self.report.stopped.append(name)
            return
        for fs in preferred(name, self.omap.get(name, []), self.req.named_only):
            self.add_feedstock(fs, fetcher)

    def add_target(self, name: str, fetcher: Executor) -> None:
        if name in self.omap or name in self.req.available:
            self.add_name(name, fetcher)
        else:  # not a package name the map knows: take it as a feedstock name
            self.seen_names.add(name)
            self.add_feedstock(name, fetcher)

    def take(self, name: str, result: dict[str, Any], fetcher: Executor) -> None:
        if "error" in result:
            self.report.render_failures[name] = str(result["error"])
            self.results[name] = {"error": str(result["error"]), "path": name}
            return
        self.results[name] = result
        errors = [f"{key}: {r['error']}" for key, r in sorted((result.get("renders") or {}).items()) if r.get("error")]
        if errors:
            self.report.render_failures[name] = errors[0] + (
                f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
            )
        produced, needed = dependency_names(result)
        self.produced |= produced
        for n in sorted(needed - produced):
            self.add_name(n, fetcher, name)

    # -- the loop ---------------------------------------------------------------------------------
    def run(self) -> Snapshot:
        start = time.perf_counter()
        breq = self.req.build
        jobs = breq.jobs or os.cpu_count() or 1
        names = frozenset(self.omap) if self.omap else None
        fetcher = ThreadPoolExecutor(max_workers=max(1, self.req.fetch_jobs), thread_name_prefix="newarch-fetch")
        renderer: _IsolatedRenderer | None = None
        if breq.isolated:  # untrusted recipes: every render has a deadline and a memory limit
            renderer = _IsolatedRenderer(jobs, breq.limits, names)
        else:
            build._init_worker(names)
        busy_since: float | None = None
        try:
            for t in self.req.targets:
                self.add_target(t, fetcher)
            while self.pending:
                done, _ = wait(list(self.pending), return_when=FIRST_COMPLETED)
                for fut in sorted(done, key=self._order):
                    kind, payload = self.pending.pop(fut)
                    if kind == "fetch":
                        self._fetched(fut, payload, renderer, fetcher)
                    else:
                        self._rendered(fut, payload, fetcher)
                    self.done += 1
                renders_running = any(k == "render" for k, _ in self.pending.values())
                now = time.perf_counter()
                if busy_since is not None and not renders_running:
                    self.report.render_seconds += now - busy_since
                    busy_since = None
                elif busy_since is None and renders_running:
                    busy_since = now
                if self.hooks.on_progress:
                    self.hooks.on_progress(len(self.results), len(self.pending), len(self.seen_fs))
        except BaseException:
            fetcher.shutdown(wait=False, cancel_futures=True)
            if renderer is not None:
                renderer.shutdown(wait=False, cancel_futures=True)
            raise
        fetcher.shutdown(wait=True)
        if renderer is not None:
            renderer.shutdown(wait=True)
        self.report.seconds = time.perf_counter() - start
        return self._finish()

    def _order(self, fut: Future[Any]) -> tuple[str, str]:
        kind, payload = self.pending[fut]
        return kind, payload if isinstance(payload, str) else payload.name

    def _fetched(self, fut: Future[Any], name: str, renderer: _IsolatedRenderer | None, fetcher: Executor) -> None:
        try:
            got, seconds = fut.result()
        except Exception as exc:  # a bug in a source must not stop the crawl
            got, seconds = FetchError(name, f"fetch failed ({type(exc).__name__}: {exc})"), 0.0
        self.report.fetch_seconds += seconds
        self.report.reached.append(name)
        if isinstance(got, FetchError):
            self.report.fetch_failures[name] = got.reason
            self.results[name] = {"error": f"cannot fetch: {got.reason}", "path": name}
            return
        cached = self.cache.get(name, got.revision)
        if cached is not None:
            self.report.reused.append(name)
            self.take(name, cached, fetcher)
            return
        if self.hooks.on_render:
            self.hooks.on_render(name)
        self.report.rendered.append(name)
        if renderer is None:
            t = time.perf_counter()
            result = self._safe_render(got)
            self.report.render_seconds += time.perf_counter() - t
            self._store(name, got.revision, result, fetcher)
        else:
            fut2 = renderer.submit(self._args(got), str(got.path), got.name)
            self.pending[fut2] = ("render", got)

    def _args(self, got: Fetched) -> tuple[Any, ...]:
        b = self.req.build
        if got.kind == "node_attrs" and not self.node_pins:
            from newarch.render.node_attrs import compact_pinning

            self.node_pins = {k: compact_pinning(v) for k, v in b.pinnings.items()}
        return (str(got.path), got.kind, b.pairs, self.pinning_facts, b.env, self.node_pins, b.branches)

    def _safe_render(self, got: Fetched) -> dict[str, Any]:
        try:
            return _render_fetched(*self._args(got))
        except Exception as exc:
            return {"error": f"{got.path}: render failed ({type(exc).__name__}: {exc})", "path": got.name}

    def _rendered(self, fut: Future[Any], got: Fetched, fetcher: Executor) -> None:
        try:
            result = fut.result()
        except Exception as exc:  # worker died
            result = {"error": f"{got.path}: worker failed ({type(exc).__name__}: {exc})", "path": got.name}
        self._store(got.name, got.revision, result, fetcher)

    def _store(self, name: str, revision: str, result: dict[str, Any], fetcher: Executor) -> None:
        if "error" not in result and result.get("name") != name:
            result["name"] = name  # the name the crawl asked for, whatever the folder is called
        if "error" not in result:
            self.cache.put(name, revision, result)
        self.take(name, result, fetcher)

    def _finish(self) -> Snapshot:
        rep = self.report
        rep.reached.sort()
        rep.rendered.sort()
        rep.reused.sort()
        rep.stopped.sort()
        for name in sorted(self.seen_names - self.produced - set(self.req.available)):
            if not self.omap.get(name) and name not in self.seen_fs:
                rep.unmapped[name] = sorted(self.needed_by.get(name, ()))
        rep.fetch_failures = dict(sorted(rep.fetch_failures.items()))
        rep.render_failures = dict(sorted(rep.render_failures.items()))
        ordered = [self.results[n] for n in sorted(self.results)]
        return assemble_snapshot(self.req.build, ordered)


def crawl(req: CrawlRequest, source: FeedstockSource, hooks: CrawlHooks | None = None) -> tuple[Snapshot, CrawlReport]:
    """Crawl the closure of ``req.targets`` (see the module docstring). Writes only to the render cache."""
    c = _Crawl(req, source, hooks or CrawlHooks())
    snap = c.run()
    return snap, c.report
