"""Where the repository of feedstock NAME comes from, for the closure crawl.

One small interface, :class:`FeedstockSource`: ``get(name)`` returns a :class:`Fetched` (a local
path that :func:`newarch.sources.recipes.open_source` or the node_attrs reader can read, and a
revision naming its content) or a :class:`FetchError` with the reason. Implementations:

- :class:`GitUrlSource`: a URL template (``https://github.com/conda-forge/{name}-feedstock.git``),
  cloned with the ``git`` command into a cache folder as bare, blob-filtered clones; the few blobs
  the renderer reads (``recipe/``, ``conda-forge.yml``, ``.ci_support/migrations/``) are fetched
  right after, so rendering never goes to the network. ``git fetch`` updates a cached clone when
  ``refresh`` is set. Timeouts and retries per command; a repository that does not exist is not retried.
- :class:`FolderSource`: a folder template for local mirrors (``MIRRORS/conda-forge+{name}-feedstock/repo``).
- :class:`NodeAttrsSource`: cf-graph ``node_attrs`` files (already rendered by the bot), for breadth
  without fetching recipes.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import subprocess
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from newarch.errors import NewarchError

DEFAULT_URL_TEMPLATE = "https://github.com/conda-forge/{name}-feedstock.git"
RECIPE_PATHS: tuple[str, ...] = ("recipe/", "conda-forge.yml", ".ci_support/migrations/")
# conda package names (and feedstock names): no path separators, no leading dot or dash
_NAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9._+-]*$")
_NOT_FOUND = ("not found", "does not exist", "does not appear to be a git repository", "could not read Username")
READY_FILE = "newarch-ready"  # inside a cached clone: the revision whose recipe blobs are all present


def default_cache() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "newarch" / "feedstocks"


@dataclass(frozen=True, slots=True)
class Fetched:
    name: str
    path: Path
    revision: str  # identifies the content; "" when unknown (then it is always rendered again)
    kind: str = "git"  # "git" | "directory" | "node_attrs"


@dataclass(frozen=True, slots=True)
class FetchError:
    name: str
    reason: str


class FeedstockSource(Protocol):
    @property
    def description(self) -> str: ...

    def get(self, name: str) -> Fetched | FetchError: ...


def valid_name(name: str) -> bool:
    return bool(_NAME.match(name)) and ".." not in name


def _git(args: list[str], timeout: float, cwd: Path | None = None, stdin: bytes | None = None) -> str:
    """Run git; the output, or NewarchError with git's last line of complaint."""
    env = {**os.environ, "GIT_TERMINAL_PROMPT": "0", "GIT_ASKPASS": "", "SSH_ASKPASS": "", "LC_ALL": "C"}
    try:
        proc = subprocess.run(
            ["git", *args], input=stdin, capture_output=True, timeout=timeout, cwd=cwd, env=env, check=False
        )
    except FileNotFoundError as exc:
        raise NewarchError("git is not installed; it is needed to fetch feedstocks") from exc
    except subprocess.TimeoutExpired as exc:
        raise NewarchError(f"git {args[0]} timed out after {timeout:g} s") from exc
    if proc.returncode != 0:
        lines = [ln for ln in proc.stderr.decode("utf-8", "replace").splitlines() if ln.strip()]
        fatal = [ln for ln in lines if ln.startswith(("fatal:", "error:", "remote:"))]
        why = "; ".join(fatal[-3:]) if fatal else (lines or [f"exit {proc.returncode}"])[-1]
        raise NewarchError(f"git {args[0]} failed: {why}")
    return proc.stdout.decode("utf-8", "replace")


def git_revision(git_dir: Path, timeout: float = 60) -> str:
    return _git([f"--git-dir={git_dir}", "rev-parse", "HEAD"], timeout).strip()


def _missing_is_final(message: str) -> bool:
    return any(s in message for s in _NOT_FOUND)


@dataclass(slots=True)
class GitUrlSource:
    """Bare, blob-filtered clones of ``template.format(name=...)`` kept in ``cache``."""

    template: str = DEFAULT_URL_TEMPLATE
    cache: Path = Path()
    refresh: bool = False  # ``git fetch`` clones already in the cache
    timeout: float = 300.0  # per git command
    retries: int = 2  # extra attempts after a failure that may be transient
    paths: tuple[str, ...] = RECIPE_PATHS  # blobs fetched up front (the rest stay on the server)
    retry_delay: float = 1.0
    suffix: str = "-feedstock"  # cached clone: <cache>/<name><suffix>

    @property
    def description(self) -> str:
        return f"git {self.template} (cache {self.cache})"

    def url(self, name: str) -> str:
        return self.template.format(name=name) if "{name}" in self.template else self.template

    def dest(self, name: str) -> Path:
        return self.cache / f"{name}{self.suffix}"  # bare; named so that recipes.feedstock_name gives NAME

    def get(self, name: str) -> Fetched | FetchError:
        if not valid_name(name):
            return FetchError(name, f"not a valid feedstock name: {name!r}")
        try:
            path = self._ensure(name)
            return Fetched(name, path, git_revision(path, self.timeout), "git")
        except NewarchError as exc:
            return FetchError(name, f"{self.url(name)}: {exc.message}")

    def _attempts(self, what: list[str]) -> None:
        """Run one git command with retries; a missing repository fails at once."""
        for attempt in range(self.retries + 1):
            try:
                _git(what, self.timeout)
                return
            except NewarchError as exc:
                if attempt == self.retries or _missing_is_final(str(exc)):
                    raise
                time.sleep(self.retry_delay * (attempt + 1))

    def _ensure(self, name: str) -> Path:
        dest = self.dest(name)
        if (dest / "HEAD").is_file() and (dest / "objects").is_dir():
            if self.refresh:
                self._attempts([f"--git-dir={dest}", "fetch", "--quiet", "--prune", "origin"])
        else:
            self.cache.mkdir(parents=True, exist_ok=True)
            tmp = self.cache / f".partial-{name}{self.suffix}"  # a clone cut short never looks like a clone
            shutil.rmtree(tmp, ignore_errors=True)
            try:
                self._attempts(
                    [
                        "clone",
                        "--bare",
                        "--quiet",
                        "--filter=blob:none",
                        "--no-tags",
                        self.url(name),
                        str(tmp),
                    ]
                )
                # later 'git fetch' updates the branches themselves (a bare clone has no remote-tracking ones)
                _git([f"--git-dir={tmp}", "config", "remote.origin.fetch", "+refs/heads/*:refs/heads/*"], self.timeout)
                os.replace(tmp, dest)
            finally:
                shutil.rmtree(tmp, ignore_errors=True)
        self._prefetch_blobs(dest)
        return dest

    def _prefetch_blobs(self, dest: Path) -> None:
        """Fetch the blobs the renderer reads at HEAD in one request (partial clones lack them)."""
        head = git_revision(dest, self.timeout)
        ready = dest / READY_FILE
        if ready.is_file() and ready.read_text(encoding="utf-8").strip() == head:
            return
        listing = _git(
            [f"--git-dir={dest}", "ls-tree", "-r", "HEAD", "--", *self.paths],
            self.timeout,
        )
        shas = [ln.split()[2] for ln in listing.splitlines() if len(ln.split()) >= 3 and ln.split()[1] == "blob"]
        missing = _missing_objects(dest, shas, self.timeout)
        if missing:
            for attempt in range(self.retries + 1):
                try:
                    _git(
                        [
                            f"--git-dir={dest}",
                            "-c",
                            "fetch.negotiationAlgorithm=noop",
                            "fetch",
                            "--quiet",
                            "--no-tags",
                            "--no-write-fetch-head",
                            "--filter=blob:none",
                            "--stdin",
                            "origin",
                        ],
                        self.timeout,
                        stdin="".join(f"{s}\n" for s in missing).encode(),
                    )
                    break
                except NewarchError:
                    if attempt == self.retries:
                        raise
                    time.sleep(self.retry_delay * (attempt + 1))
        tmp = dest / f".{READY_FILE}.tmp"
        tmp.write_text(head + "\n", encoding="utf-8")
        os.replace(tmp, ready)


def _missing_objects(git_dir: Path, shas: Iterable[str], timeout: float) -> list[str]:
    """Which of ``shas`` the local store lacks (``rev-list --missing=print`` never fetches lazily)."""
    wanted = list(shas)
    if not wanted:
        return []
    out = _git([f"--git-dir={git_dir}", "rev-list", "--objects", "--missing=print", "HEAD^{tree}"], timeout)
    absent = {ln[1:].split()[0] for ln in out.splitlines() if ln.startswith("?")}
    return [s for s in wanted if s in absent]


@dataclass(slots=True)
class FolderSource:
    """Local mirrors or checkouts: ``template.format(name=...)`` is the folder of feedstock NAME."""

    template: str

    @property
    def description(self) -> str:
        return f"folder {self.template}"

    def get(self, name: str) -> Fetched | FetchError:
        if not valid_name(name):
            return FetchError(name, f"not a valid feedstock name: {name!r}")
        path = Path(self.template.format(name=name))
        if not path.exists():
            return FetchError(name, f"{path}: no such folder (no mirror of this feedstock)")
        try:
            return Fetched(name, path, folder_revision(path), "git" if _git_dir_of(path) else "directory")
        except NewarchError as exc:
            return FetchError(name, f"{path}: {exc}")


def _git_dir_of(path: Path) -> Path | None:
    for c in (path, path / "repo", path / ".git", path / "repo" / ".git"):
        if (c / "HEAD").is_file() and (c / "objects").is_dir():
            return c
    return None


def folder_revision(path: Path) -> str:
    """The commit of a git mirror or checkout; for a plain folder, a digest of its recipe files' names,
    sizes and modification times (so an edit renders again)."""
    git_dir = _git_dir_of(path)
    if git_dir is not None:
        return git_revision(git_dir)
    h = hashlib.sha256()
    for sub in ("recipe", "conda-forge.yml", ".ci_support/migrations"):
        p = path / sub
        files = sorted(f for f in p.rglob("*") if f.is_file()) if p.is_dir() else ([p] if p.is_file() else [])
        for f in files:
            st = f.stat()
            h.update(f"{f.relative_to(path).as_posix()}\0{st.st_size}\0{st.st_mtime_ns}\n".encode())
    return "files:" + h.hexdigest()[:20]


@dataclass(slots=True)
class NodeAttrsSource:
    """cf-graph ``node_attrs/**/NAME.json`` files: the bot's rendering, no recipe fetched."""

    root: Path
    _files: dict[str, Path] | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def description(self) -> str:
        return f"node_attrs {self.root}"

    def get(self, name: str) -> Fetched | FetchError:
        from newarch.sources.node_attrs_files import iter_node_attrs_files

        with self._lock:  # get() runs in several fetch threads
            if self._files is None:
                files: dict[str, Path] = {}
                for found in iter_node_attrs_files(self.root):
                    files.setdefault(found.stem, found)
                self._files = files
        f = self._files.get(name)
        if f is None:
            return FetchError(name, f"{self.root}: no node_attrs file for this feedstock")
        return Fetched(name, f, "sha256:" + hashlib.sha256(f.read_bytes()).hexdigest()[:20], "node_attrs")


def make_source(spec: str, cache: Path | None = None, refresh: bool = False) -> FeedstockSource:
    """``--source``: a git URL template (has ``://`` or starts with ``git@``), a folder template
    (has ``{name}``), or a cf-graph checkout / node_attrs folder."""
    if "://" in spec or spec.startswith("git@"):
        if "{name}" not in spec:
            raise NewarchError("a git URL template needs {name}, e.g. " + DEFAULT_URL_TEMPLATE, spec)
        return GitUrlSource(spec, cache or default_cache(), refresh=refresh)
    if "{name}" in spec:
        return FolderSource(spec)
    from newarch.sources.node_attrs_files import is_node_attrs_source

    if is_node_attrs_source(spec):
        return NodeAttrsSource(Path(spec))
    raise NewarchError(
        "--source must be a git URL template with {name}, a folder template with {name}, "
        "or a cf-graph node_attrs folder",
        spec,
    )
