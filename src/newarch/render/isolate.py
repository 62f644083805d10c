"""Render untrusted recipes in worker processes with a wall-clock deadline and an address-space limit.

A ``SIGALRM`` cannot interrupt one long call inside C or Rust (rattler-build renders v1 recipes), so
the only honest bound is a separate process: each worker sets ``RLIMIT_AS`` on itself, the parent
kills a worker whose render runs past the deadline, and a worker that dies or runs out of memory is
replaced. The task's outcome is then one :class:`Failed` value ("... render exceeded 30 s") and the
rest of the batch goes on. Workers are started with ``spawn`` and reused (a warm pool), tasks and
results are plain picklable values.

The deadline is per *render*: a worker calls :func:`started` when it begins rendering one recipe
for one platform pair (``render_source`` does), which restarts the clock and names the recipe in
the failure message. It writes to memory shared with the parent (no message), so a render costs
one round trip per task and nothing more. A task that renders several pairs (a feedstock in the crawl) gets the deadline
for each of them.
"""

from __future__ import annotations

import contextlib
import importlib
import multiprocessing
import re
import os
import resource
import shutil
import signal
import tempfile
import time
from collections import deque
from collections.abc import Callable, Hashable, Iterable, Iterator
from dataclasses import dataclass
from multiprocessing.connection import Connection, wait
from typing import Any

from newarch.errors import NewarchError

DEFAULT_TIMEOUT = 60.0  # the slowest real recipe (ctng-compiler-activation, v1) takes ~10 s per pair
DEFAULT_MEMORY = 2 << 30  # 2 GiB of address space per worker
STARTUP_GRACE = 120.0  # seconds a new worker may take to start and import the renderers (busy machines)
PRELOAD = ("newarch.render", "newarch.render.v0", "newarch.render.v1", "newarch.lint.rules")
_UNITS = {"": 1, "b": 1, "k": 1 << 10, "kib": 1 << 10, "m": 1 << 20, "mib": 1 << 20, "g": 1 << 30, "gib": 1 << 30}
_SIZE_RE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([A-Za-z]*)\s*$")

LABEL_BYTES = 512
_CLOCK: Any = None  # in a worker: the shared clock started() writes (see _Clock)


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
class Shared:
    """Stands for a value given to :meth:`WorkerPool.share`: sent to each worker once, not with every task."""

    key: int


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


class _Clock:
    """Shared memory between the parent and one worker: when the current render started and what it
    is. The worker writes it (no message, no wake-up of the parent); the parent reads it when a
    deadline passes. ``time.monotonic`` is the system's monotonic clock, the same in both processes."""

    __slots__ = ("start", "label")

    def __init__(self, ctx: Any) -> None:
        self.start = ctx.RawValue("d", 0.0)  # 0: the worker has not started (still importing)
        self.label = ctx.RawArray("c", LABEL_BYTES)

    def mark(self, label: str) -> None:
        self.label.value = label.encode("utf-8", "replace")[: LABEL_BYTES - 1]
        self.start.value = time.monotonic()

    def text(self) -> str:
        return self.label.value.decode("utf-8", "replace")


def started(label: str) -> None:
    """In a worker: a render of ``label`` begins (restarts the deadline). Elsewhere: nothing."""
    if _CLOCK is not None:
        _CLOCK.mark(label)


def _worker_main(
    conn: Connection,
    clock: _Clock,
    tmp: str,
    memory: int,
    init: Callable[..., None] | None,
    initargs: tuple[Any, ...],
) -> None:
    global _CLOCK
    # temporary files (the v1 work directory) go to a folder of this worker's own, which the parent
    # removes when the worker ends, also when it is killed in the middle of a render
    tempfile.tempdir = tmp
    os.environ["TMPDIR"] = tmp
    if memory > 0:
        resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent handles Ctrl-C and stops the pool
    for name in PRELOAD:  # before the first task, so its deadline does not pay for the imports
        importlib.import_module(name)
    if init is not None:
        init(*initargs)
    _CLOCK = clock
    clock.mark("")  # ready: the deadline of a task starts when it is sent, or when its render starts
    shared: dict[int, Any] = {}
    while True:
        try:
            msg = conn.recv()
        except (EOFError, OSError):
            return
        if msg is None:
            return
        if msg[0] == "share":
            shared[msg[1]] = msg[2]
            continue
        _, fn, args = msg
        args = tuple(shared[a.key] if isinstance(a, Shared) else a for a in args)
        try:
            result = fn(*args)
            conn.send(("ok", result, time.monotonic()))  # when it finished: the parent may read it late
        except MemoryError:
            del msg
            with contextlib.suppress(Exception):
                conn.send(("memory", ""))
            return  # a fresh worker replaces this one (its heap may be fragmented past use)
        except BaseException as exc:  # a bug in the task: report it, keep the worker
            conn.send(("error", f"{type(exc).__name__}: {exc}"))


class _Worker:
    __slots__ = ("proc", "conn", "clock", "tmp", "key", "sent", "has")

    def __init__(self, ctx: Any, limits: Limits, init: Callable[..., None] | None, initargs: tuple[Any, ...]) -> None:
        parent, child = ctx.Pipe(duplex=True)
        self.clock = _Clock(ctx)
        self.tmp = tempfile.mkdtemp(prefix="newarch-worker-")
        self.proc = ctx.Process(
            target=_worker_main, args=(child, self.clock, self.tmp, limits.memory, init, initargs), daemon=True
        )
        self.proc.start()
        child.close()
        self.conn: Connection = parent
        self.key: Hashable | None = None
        self.sent = 0.0  # when the current task was sent
        self.has: set[int] = set()  # keys of the shared values it holds

    def deadline(self, timeout: float) -> float:
        start = self.clock.start.value
        if start == 0.0:  # still starting: imports do not count against the first task
            return self.sent + timeout + STARTUP_GRACE
        return max(self.sent, start) + timeout

    def where(self) -> str:
        """The render the current task is in, if it has started one."""
        return self.clock.text() if self.clock.start.value >= self.sent else ""

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
        shutil.rmtree(self.tmp, ignore_errors=True)


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
        self._shared: dict[int, Any] = {}
        self._busy: set[_Worker] = set()  # workers with a task under way (terminate() stops them)
        self.replaced = 0  # workers killed or lost (for reports and tests)

    def __enter__(self) -> WorkerPool:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        for w in self._idle:
            w.stop(kill=False)
        self._idle.clear()

    def terminate(self) -> None:
        """Kill the workers whose task is under way (another thread's run() then reports a crash)."""
        for w in list(self._busy):
            if w.proc.is_alive():
                w.proc.kill()

    def worker_pids(self) -> list[int]:
        """Process ids of the idle workers (benchmarks read their CPU time)."""
        return [w.proc.pid for w in self._idle if w.proc.pid is not None]

    def share(self, value: Any) -> Shared:
        """``value`` once per worker (a pinning, a set of names): pass the returned ``Shared`` in task
        arguments and the worker passes the value to the task."""
        key = len(self._shared)
        self._shared[key] = value
        return Shared(key)

    def _send(self, w: _Worker, fn: Callable[..., Any], args: tuple[Any, ...]) -> None:
        for a in args:
            if isinstance(a, Shared) and a.key not in w.has:
                w.conn.send(("share", a.key, self._shared[a.key]))
                w.has.add(a.key)
        w.sent = time.monotonic()
        w.conn.send(("task", fn, args))

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
                    fresh = not self._idle
                    w = self._worker()
                    try:
                        self._send(w, fn, args)
                    except OSError:
                        w.stop(kill=True)
                        self.replaced += 1
                        if fresh:  # it could not even start (a memory limit too small to import Python?)
                            mem = self.limits.memory_text()
                            yield key, Failed("crash", f"the render worker did not start (the memory limit is {mem})")
                        else:  # died while idle: replace it and retry
                            queue.appendleft((key, fn, args))
                        continue
                    w.key = key
                    busy[w.conn] = w
                    self._busy.add(w)
                now = time.monotonic()
                wait_for = max(0.0, min(w.deadline(timeout) for w in busy.values()) - now) if timeout > 0 else None
                if wait_for is not None and any(w.clock.start.value == 0.0 for w in busy.values()):
                    wait_for = min(wait_for, 0.2)  # a worker still starting: its deadline moves once it is ready
                ready = wait(list(busy), wait_for)
                for conn in ready:
                    w = busy.pop(conn)  # type: ignore[call-overload]
                    self._busy.discard(w)
                    yield w.key, self._receive(w)
                if timeout > 0:
                    now = time.monotonic()
                    for conn, w in list(busy.items()):
                        if now >= w.deadline(timeout):  # read again: a new render restarts the clock
                            del busy[conn]
                            self._busy.discard(w)
                            where = w.where()
                            w.stop(kill=True)
                            self.replaced += 1
                            yield w.key, Failed("timeout", f"render exceeded {self.limits.timeout_text()}", where)
        finally:
            for w in busy.values():  # the caller stopped early (an exception, Ctrl-C): no stray workers
                self._busy.discard(w)
                w.stop(kill=True)

    def _receive(self, w: _Worker) -> Any:
        """The outcome of ``w``'s task. Frees ``w`` for the next task, or replaces it."""
        where = w.where()
        try:
            msg = w.conn.recv()
            kind, value = msg[0], msg[1]
        except (EOFError, OSError):
            w.proc.join(5)
            code = w.proc.exitcode
            w.stop(kill=True)
            self.replaced += 1
            mem = self.limits.memory_text()
            if code == -signal.SIGABRT and self.limits.memory > 0:  # Rust (rattler-build) aborts when malloc fails
                return Failed("memory", f"render exceeded {mem} (the worker aborted)", where)
            how = f"signal {signal.Signals(-code).name}" if code is not None and code < 0 else f"exit code {code}"
            return Failed("crash", f"render stopped the worker ({how}; the memory limit is {mem})", where)
        except MemoryError:  # the result itself is too large for this process
            w.stop(kill=True)
            self.replaced += 1
            return Failed("memory", "render result too large", where)
        if kind == "memory":
            w.stop(kill=True)
            self.replaced += 1
            return Failed("memory", f"render exceeded {self.limits.memory_text()}", where)
        self._idle.append(w)
        if kind == "error":
            return Failed("error", f"render failed ({value})", where)
        timeout = self.limits.timeout
        if timeout > 0 and len(msg) > 2 and msg[2] >= w.deadline(timeout):
            # it finished past its deadline while this process was not looking (a busy machine): the same
            # answer as when the deadline is seen first, whatever the scheduling
            return Failed("timeout", f"render exceeded {self.limits.timeout_text()}", where)
        return value


__all__ = [
    "Shared",
    "DEFAULT_MEMORY",
    "DEFAULT_TIMEOUT",
    "Failed",
    "Limits",
    "WorkerPool",
    "format_size",
    "parse_size",
    "started",
]
