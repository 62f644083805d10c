"""Render untrusted recipes in worker processes with a wall-clock deadline and an address-space limit.

A ``SIGALRM`` cannot interrupt one long call inside C or Rust (rattler-build renders v1 recipes), so
the only honest bound is a separate process: each worker sets ``RLIMIT_AS`` on itself, the parent
kills a worker whose render runs past the deadline, and a worker that dies or runs out of memory is
replaced. The task's outcome is then one :class:`Failed` value ("... render exceeded 30 s") and the
rest of the batch goes on. Workers are started with ``spawn`` and reused (a warm pool), tasks and
results are plain picklable values.

The deadline is per *render*: a worker calls :func:`started` when it begins rendering one recipe
for one platform pair (``render_source`` does), which restarts the clock and names the recipe in
the failure message. A task that renders several pairs (a feedstock in the crawl) gets the deadline
for each of them.
"""

from __future__ import annotations

import contextlib
import importlib
import multiprocessing
import re
import resource
import signal
import time
from collections import deque
from collections.abc import Callable, Hashable, Iterable, Iterator
from dataclasses import dataclass
from multiprocessing.connection import Connection, wait
from typing import Any

from newarch.errors import NewarchError

DEFAULT_TIMEOUT = 30.0
DEFAULT_MEMORY = 2 << 30  # 2 GiB of address space per worker
STARTUP_GRACE = 120.0  # seconds a new worker may take to start and import the renderers (busy machines)
PRELOAD = ("newarch.render", "newarch.render.v0", "newarch.render.v1", "newarch.lint.rules")
_UNITS = {"": 1, "b": 1, "k": 1 << 10, "kib": 1 << 10, "m": 1 << 20, "mib": 1 << 20, "g": 1 << 30, "gib": 1 << 30}
_SIZE_RE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([A-Za-z]*)\s*$")

_CONN: Connection | None = None  # set in a worker process: where started() reports
_NOTE = object()  # _receive: a progress note, the task goes on


@dataclass(frozen=True, slots=True)
class Limits:
    """Per-render wall-clock deadline (seconds) and per-worker address-space limit (bytes; 0 = none)."""

    timeout: float = DEFAULT_TIMEOUT
    memory: int = DEFAULT_MEMORY

    def timeout_text(self) -> str:
        return f"{self.timeout:g} s"

    def memory_text(self) -> str:
        return format_size(self.memory)


@dataclass(frozen=True, slots=True)
class Failed:
    """A task that did not return: ``kind`` is ``timeout``, ``memory``, ``crash`` or ``error``."""

    kind: str
    message: str  # "render exceeded 30 s"
    where: str = ""  # what the worker was rendering ("zlib/recipe/meta.yaml (win-arm64<-win-64)"), if it said

    def text(self, fallback: str) -> str:
        return f"{self.where or fallback}: {self.message}"


def parse_size(text: str) -> int:
    """``2GiB``, ``512M``, ``1500000000`` -> bytes (binary units; ``0`` means no limit)."""
    m = _SIZE_RE.match(str(text))
    unit = m.group(2).lower() if m else ""
    if not m or unit not in _UNITS:
        raise NewarchError(f"--memory-limit {text!r}: expected a size such as 2GiB, 512MiB or 0 (no limit)")
    return int(float(m.group(1)) * _UNITS[unit])


def format_size(n: int) -> str:
    if n <= 0:
        return "no limit"
    for unit, size in (("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)):
        if n >= size:
            return f"{n / size:g} {unit}"
    return f"{n} B"


def started(label: str) -> None:
    """In a worker: a render of ``label`` begins (restarts the deadline). Elsewhere: nothing."""
    if _CONN is not None:
        _CONN.send(("started", label))


def _worker_main(conn: Connection, memory: int, init: Callable[..., None] | None, initargs: tuple[Any, ...]) -> None:
    global _CONN
    if memory > 0:
        resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent handles Ctrl-C and stops the pool
    for name in PRELOAD:  # before the first task, so its deadline does not pay for the imports
        importlib.import_module(name)
    if init is not None:
        init(*initargs)
    _CONN = conn
    conn.send(("started", ""))  # ready: the deadline of the first task starts now
    while True:
        try:
            msg = conn.recv()
        except (EOFError, OSError):
            return
        if msg is None:
            return
        fn, args = msg
        try:
            conn.send(("ok", fn(*args)))
        except MemoryError:
            del msg
            with contextlib.suppress(Exception):
                conn.send(("memory", ""))
            return  # a fresh worker replaces this one (its heap may be fragmented past use)
        except BaseException as exc:  # a bug in the task: report it, keep the worker
            conn.send(("error", f"{type(exc).__name__}: {exc}"))


def render_task(path: str, pair: Any, pinning: Any, env: dict[str, str]) -> dict[str, Any]:
    """Worker task: open and render the recipe at ``path`` for one pair; ``RenderResult.to_dict()``."""
    from newarch.render import render_source
    from newarch.sources.recipes import open_source

    return render_source(open_source(path), pair, pinning, env).to_dict()


def render_isolated(path: str, display: str, pair: Any, pinning: Any, env: dict[str, str], limits: Limits) -> Any:
    """Render one recipe in a fresh worker under ``limits``: a ``RenderResult`` (over a limit: its error)."""
    from newarch.model import RenderResult

    with WorkerPool(1, limits) as pool:
        outcome = pool.call(render_task, str(path), pair, pinning, env)
    if isinstance(outcome, Failed):
        return RenderResult(pair=pair, error=outcome.text(display))
    return RenderResult.from_dict(outcome)


class _Worker:
    __slots__ = ("proc", "conn", "key", "deadline", "where", "fresh")

    def __init__(self, ctx: Any, limits: Limits, init: Callable[..., None] | None, initargs: tuple[Any, ...]) -> None:
        parent, child = ctx.Pipe(duplex=True)
        self.proc = ctx.Process(target=_worker_main, args=(child, limits.memory, init, initargs), daemon=True)
        self.proc.start()
        child.close()
        self.conn: Connection = parent
        self.key: Hashable | None = None
        self.deadline = 0.0
        self.where = ""
        self.fresh = True  # not ready yet: the first task's clock starts when it says so

    def stop(self, kill: bool) -> None:
        if kill:
            self.proc.kill()
        else:
            with contextlib.suppress(OSError):
                self.conn.send(None)
        self.proc.join(5)
        if self.proc.is_alive():
            self.proc.kill()
            self.proc.join()
        self.conn.close()


class WorkerPool:
    """``jobs`` reusable worker processes; :meth:`run` yields ``(key, result or Failed)`` as tasks finish."""

    def __init__(
        self,
        jobs: int = 1,
        limits: Limits | None = None,
        initializer: Callable[..., None] | None = None,
        initargs: tuple[Any, ...] = (),
    ) -> None:
        self.jobs = max(1, jobs)
        self.limits = limits or Limits()
        self._init = initializer
        self._initargs = initargs
        self._ctx = multiprocessing.get_context("spawn")
        self._idle: list[_Worker] = []
        self.replaced = 0  # workers killed or lost (for reports and tests)

    def __enter__(self) -> WorkerPool:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        for w in self._idle:
            w.stop(kill=False)
        self._idle.clear()

    def _worker(self) -> _Worker:
        return self._idle.pop() if self._idle else _Worker(self._ctx, self.limits, self._init, self._initargs)

    def call(self, fn: Callable[..., Any], *args: Any) -> Any:
        """Run one task; its result, or :class:`Failed`."""
        for _key, outcome in self.run([(0, fn, args)]):
            return outcome
        raise AssertionError("unreachable")

    def run(
        self, tasks: Iterable[tuple[Hashable, Callable[..., Any], tuple[Any, ...]]]
    ) -> Iterator[tuple[Hashable, Any]]:
        queue = deque(tasks)
        busy: dict[Connection, _Worker] = {}
        timeout = self.limits.timeout
        try:
            while queue or busy:
                while queue and len(busy) < self.jobs:
                    key, fn, args = queue.popleft()
                    w = self._worker()
                    try:
                        w.conn.send((fn, args))
                    except OSError:  # died while idle: replace it and retry
                        w.stop(kill=True)
                        self.replaced += 1
                        queue.appendleft((key, fn, args))
                        continue
                    w.key, w.where = key, ""
                    w.deadline = time.monotonic() + timeout + (STARTUP_GRACE if w.fresh else 0.0)
                    busy[w.conn] = w
                now = time.monotonic()
                wait_for = max(0.0, min(w.deadline for w in busy.values()) - now) if timeout > 0 else None
                ready = wait(list(busy), wait_for)
                for conn in ready:
                    w = busy[conn]  # type: ignore[index]
                    outcome = self._receive(w)
                    if outcome is _NOTE:  # the worker is still busy
                        continue
                    del busy[conn]  # type: ignore[arg-type]
                    yield w.key, outcome
                if timeout > 0:
                    now = time.monotonic()
                    for conn, w in list(busy.items()):
                        if now >= w.deadline:
                            del busy[conn]
                            w.stop(kill=True)
                            self.replaced += 1
                            yield w.key, Failed("timeout", f"render exceeded {self.limits.timeout_text()}", w.where)
        finally:
            for w in busy.values():  # the caller stopped early (an exception, Ctrl-C): no stray workers
                w.stop(kill=True)

    def _receive(self, w: _Worker) -> Any:
        """The outcome of ``w``'s task, or ``_NOTE`` after a progress note. Frees or replaces ``w``."""
        try:
            kind, value = w.conn.recv()
        except (EOFError, OSError):
            w.proc.join(5)
            code = w.proc.exitcode
            w.stop(kill=True)
            self.replaced += 1
            mem = self.limits.memory_text()
            if code == -signal.SIGABRT and self.limits.memory > 0:  # Rust (rattler-build) aborts when malloc fails
                return Failed("memory", f"render exceeded {mem} (the worker aborted)", w.where)
            how = f"signal {signal.Signals(-code).name}" if code is not None and code < 0 else f"exit code {code}"
            return Failed("crash", f"render stopped the worker ({how}; the memory limit is {mem})", w.where)
        except MemoryError:  # the result itself is too large for this process
            w.stop(kill=True)
            self.replaced += 1
            return Failed("memory", "render result too large", w.where)
        if kind == "started":
            w.fresh = False
            w.where = str(value)
            if self.limits.timeout > 0:
                w.deadline = time.monotonic() + self.limits.timeout
            return _NOTE
        if kind == "memory":
            w.stop(kill=True)
            self.replaced += 1
            return Failed("memory", f"render exceeded {self.limits.memory_text()}", w.where)
        self._idle.append(w)
        if kind == "error":
            return Failed("error", f"render failed ({value})", w.where)
        return value


__all__ = [
    "render_isolated",
    "render_task",
    "DEFAULT_MEMORY",
    "DEFAULT_TIMEOUT",
    "Failed",
    "Limits",
    "WorkerPool",
    "format_size",
    "parse_size",
    "started",
]
