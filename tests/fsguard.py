"""A guard for renders of untrusted recipes: nothing outside the recipe's own work directory.

While :func:`guard` is active (a pytest fixture in the tests that use it):

- at the Python level, ``open``/``io.open``/``os.open`` of a path, and ``mkdir``, ``rename``,
  ``replace``, ``remove``, ``unlink``, ``rmdir``, ``symlink``, ``link``, ``truncate``, raise
  :class:`Escaped` (a ``BaseException``, so no ``except Exception`` in a renderer hides it) unless the
  path is inside a work directory a render made for itself under the test's temporary directory
  (reads of the Python installation, i.e. lazy imports and package data, are allowed);
- every way to start a process (``os.system``, ``os.popen``, ``os.exec*``, ``os.spawn*``,
  ``os.fork``, ``os.posix_spawn*``, ``subprocess.*``) raises :class:`Escaped`;
- afterwards the file system is checked for what native code (rattler-build) might have done:
  the working directory (an empty folder) must still be empty, and the temporary directory
  (``TMPDIR`` and ``tempfile.tempdir`` point into the test's folder) must hold nothing.
"""

from __future__ import annotations

import builtins
import io
import os
import subprocess
import sys
import sysconfig
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import pytest


def plant(g: Guard, name: str, text: str) -> Path:
    """A bait file in the working directory (written with the real ``open``): a render must not read it."""
    path = g.cwd / name
    os.write(fd := _REAL_OS_OPEN(str(path), os.O_WRONLY | os.O_CREAT, 0o600), text.encode())
    os.close(fd)
    g.planted.add(path)
    return path


_REAL_OS_OPEN = os.open


class Escaped(BaseException):
    """A render reached outside the recipe: opened or wrote a file, or started a process."""


_WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_TRUNC | os.O_APPEND


@dataclass
class Guard:
    root: Path  # the test's folder: holds ``tmp`` and ``cwd`` only
    tmp: Path  # tempfile's directory: a render makes its work directory (one level down) here
    cwd: Path  # the working directory, empty
    read_roots: tuple[Path, ...] = ()
    log: list[str] = field(default_factory=list)  # every refused access, for the failure message
    planted: set[Path] = field(default_factory=set)  # files the test put there (bait), not the render

    def depth_in_tmp(self, p: Path) -> int:
        try:
            return len(p.relative_to(self.tmp).parts)
        except ValueError:
            return -1

    def check(self, path: object, write: bool, what: str) -> None:
        if isinstance(path, int):  # an already open descriptor
            return
        p = Path(os.path.abspath(os.fsdecode(path)))  # type: ignore[arg-type]
        if ".hypothesis" in p.parts:  # the test framework's own files, not the render's
            return
        depth = self.depth_in_tmp(p)
        if depth >= 2:  # tmp/<work dir>/...: inside a render's own work directory
            return
        if depth == 1 and (not write or what in ("mkdir", "rmdir")):  # making / removing a work directory
            return
        if not write and any(p.is_relative_to(r) for r in self.read_roots):
            return
        self.log.append(f"{what} {p}")
        raise Escaped(f"a render tried to {what} {p} (outside its work directory)")


def _python_roots() -> tuple[Path, ...]:
    paths = {sys.prefix, sys.base_prefix, sys.exec_prefix, *sysconfig.get_paths().values()}
    paths.update(p for p in sys.path if p and os.path.isdir(p))
    return tuple(Path(os.path.abspath(p)) for p in paths if p)


@contextmanager
def guard(root: Path) -> Iterator[Guard]:
    """Put the guards up for the duration (see the module docstring); check the file system after."""
    # everything a render imports lazily is imported before the guards go up
    import newarch.render.v0  # noqa: F401
    import newarch.render.v1  # noqa: F401
    import newarch.render.v1_recipe
    import newarch.lint.rules  # noqa: F401
    import rattler_build  # noqa: F401
    import ruamel.yaml  # noqa: F401

    newarch.render.v1_recipe.release_work_dir()  # the next v1 render makes its work directory under the guard's tmp
    tmp, cwd = root / "tmp", root / "cwd"
    tmp.mkdir(parents=True)
    cwd.mkdir()
    g = Guard(root=root, tmp=tmp.resolve(), cwd=cwd.resolve(), read_roots=_python_roots())
    monkeypatch = pytest.MonkeyPatch()
    monkeypatch.chdir(cwd)
    monkeypatch.setenv("TMPDIR", str(tmp))
    monkeypatch.setattr(tempfile, "tempdir", str(tmp))

    real_open, real_os_open = builtins.open, os.open

    def guarded_open(file, mode="r", *args, **kwargs):
        g.check(file, any(c in mode for c in "wax+"), "open")
        return real_open(file, mode, *args, **kwargs)

    def guarded_os_open(path, flags, *args, dir_fd=None, **kwargs):
        if dir_fd is None:  # relative to a descriptor: only shutil.rmtree of a work directory does that
            g.check(path, bool(flags & _WRITE_FLAGS), "open")
        return real_os_open(path, flags, *args, dir_fd=dir_fd, **kwargs)

    monkeypatch.setattr(builtins, "open", guarded_open)
    monkeypatch.setattr(io, "open", guarded_open)
    monkeypatch.setattr(os, "open", guarded_os_open)

    def wrap_path_op(name: str, nargs: int = 1):
        real = getattr(os, name)

        def op(*args, **kwargs):
            if kwargs.get("dir_fd") is None and kwargs.get("src_dir_fd") is None:
                for a in args[:nargs]:
                    g.check(a, True, name)
            return real(*args, **kwargs)

        monkeypatch.setattr(os, name, op)

    for name in ("mkdir", "remove", "unlink", "rmdir", "truncate"):
        wrap_path_op(name)
    for name in ("rename", "replace", "symlink", "link"):
        wrap_path_op(name, 2)

    def forbidden(*args, **kwargs):
        g.log.append(f"process {args!r}")
        raise Escaped(f"a render tried to start a process: {args!r}")

    for name in (
        "system",
        "popen",
        "execv",
        "execve",
        "execvp",
        "execvpe",
        "execl",
        "execle",
        "execlp",
        "spawnv",
        "spawnve",
        "spawnvp",
        "fork",
        "forkpty",
        "posix_spawn",
        "posix_spawnp",
    ):
        if hasattr(os, name):
            monkeypatch.setattr(os, name, forbidden)
    for name in ("Popen", "run", "call", "check_call", "check_output", "getoutput", "getstatusoutput"):
        monkeypatch.setattr(subprocess, name, forbidden)

    try:
        yield g
    finally:
        monkeypatch.undo()  # the checks below use the real functions
        # newarch's own reusable v1 work directory is inside tmp by design; what a recipe or native code
        # wrote anywhere else in tmp or cwd is still found below
        newarch.render.v1_recipe.release_work_dir()
    assert not g.log, f"a render reached outside its work directory: {g.log}"
    left = sorted(str(p.relative_to(root)) for d in (tmp, cwd) for p in d.rglob("*") if p not in g.planted)
    assert not left, f"a render left files outside the recipe (native code?): {left}"
    assert sorted(p.name for p in root.iterdir()) == ["cwd", "tmp"], "a render wrote beside the work directories"
