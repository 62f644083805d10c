"""Branches and recipe history of a feedstock's git repository, read without a checkout.

* which branches to render: ``main`` plus conda-forge.yml's ``bot: abi_migration_branches`` (the
  maintained release branches, e.g. openssl's ``3.5.x``), every branch, or the names asked for;
* the history of the recipe on the default branch: each commit touching ``recipe/meta.yaml`` or
  ``recipe/recipe.yaml`` with the version its version line sets (``{% set version = "..." %}`` in v0,
  ``context: version:`` in v1). Blobs are read with one ``git cat-file --batch``; nothing is rendered.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

from ruamel.yaml import YAML
from ruamel.yaml.error import YAMLError

from newarch.model import HistoryEntry
from newarch.sources.recipes import is_git_dir

HISTORY_LIMIT = 400
RECIPE_PATHS = ("recipe/recipe.yaml", "recipe/meta.yaml")


def git_dir_of(path: str | Path) -> Path | None:
    """The git directory behind a feedstock location (bare mirror, ``repo/`` of one, or a checkout)."""
    p = Path(path)
    if p.is_file():
        p = p.parent
    for candidate in (p, p / "repo", p / "repo" / ".git", p / ".git"):
        if candidate.is_dir() and is_git_dir(candidate):
            return candidate
    return None


def _git(git_dir: Path, *args: str, data: bytes | None = None) -> bytes:
    return subprocess.run(
        ["git", f"--git-dir={git_dir}", *args], input=data, capture_output=True, check=True, timeout=300
    ).stdout


def maintained_branches(conda_forge_yml: bytes | None) -> tuple[str, ...]:
    """``bot: abi_migration_branches`` of a conda-forge.yml (names as strings, in file order)."""
    if not conda_forge_yml:
        return ()
    try:
        data = YAML(typ="safe", pure=True).load(conda_forge_yml.decode("utf-8", errors="replace"))
    except YAMLError:
        return ()  # reading the settings reports the bad YAML already
    bot = data.get("bot") if isinstance(data, dict) else None
    names = bot.get("abi_migration_branches") if isinstance(bot, dict) else None
    if isinstance(names, (str, int, float)):
        names = [names]
    if not isinstance(names, list):
        return ()
    return tuple(dict.fromkeys(str(n).strip() for n in names if str(n).strip()))


def branch_refs(git_dir: Path) -> dict[str, str]:
    """Branch name -> ref: local branches (``refs/heads``), else ``refs/remotes/origin`` ones."""
    out = _git(git_dir, "for-each-ref", "--format=%(refname)", "refs/heads", "refs/remotes/origin")
    refs: dict[str, str] = {}
    for ref in sorted(out.decode("utf-8", errors="replace").split(), key=lambda r: not r.startswith("refs/heads/")):
        name = ref.removeprefix("refs/heads/").removeprefix("refs/remotes/origin/")
        if name != "HEAD":
            refs.setdefault(name, ref)
    return refs


def default_branch(git_dir: Path) -> str:
    try:
        ref = _git(git_dir, "symbolic-ref", "-q", "HEAD").decode().strip()
    except subprocess.CalledProcessError:
        return "main"
    return ref.removeprefix("refs/heads/") or "main"


def select_branches(
    wanted: str, maintained: tuple[str, ...], refs: dict[str, str], main: str
) -> tuple[list[str], list[str]]:
    """(branches to render besides the default one, notes). ``wanted``: maintained | all | NAME,..."""
    if wanted == "maintained":
        names = list(maintained)
    elif wanted == "all":
        names = sorted(refs)
    elif wanted in ("", "none", "main"):
        names = []
    else:
        names = [n.strip() for n in wanted.split(",") if n.strip()]
    notes: list[str] = []
    chosen: list[str] = []
    why = "listed under bot: abi_migration_branches" if wanted == "maintained" else "asked for"
    for n in names:
        if n == main:
            continue
        if n not in refs:
            notes.append(f"branch {n} ({why}) is not in the repository")
            continue
        chosen.append(n)
    return chosen, notes


_V0_VERSION = re.compile(r"""\{%-?\s*set\s+version\s*=\s*(["'])(?P<v>[^"']+)\1""")
_V0_LITERAL = re.compile(r"""^\s+version:\s*["']?(?P<v>[0-9][^\s"'#{}]*)["']?\s*(#.*)?$""", re.M)
_V1_CONTEXT = re.compile(r"^context:\s*\n(?P<body>(?:[ \t]+.*\n|[ \t]*\n)*)", re.M)
_V1_VERSION = re.compile(r"""^[ \t]+version:\s*["']?(?P<v>[^\s"'#]+)["']?""", re.M)


def version_line(text: str, schema: str) -> str:
    """The version a recipe's version line sets ('' when it is computed or absent)."""
    if schema == "v1":
        ctx = _V1_CONTEXT.search(text if text.endswith("\n") else text + "\n")
        if ctx:
            m = _V1_VERSION.search(ctx.group("body"))
            if m and "${{" not in m.group("v"):
                return m.group("v")
        m = _V0_LITERAL.search(text)
        return m.group("v") if m else ""
    m = _V0_VERSION.search(text)
    if m:
        return m.group("v").strip()
    m = _V0_LITERAL.search(text)
    return m.group("v") if m else ""


def recipe_history(git_dir: Path, rev: str = "HEAD", limit: int = HISTORY_LIMIT) -> tuple[HistoryEntry, ...]:
    """Commits of ``rev`` touching the recipe file, newest first, each with its version line."""
    log = _git(git_dir, "log", f"--max-count={limit}", "--format=%H%x09%cs", rev, "--", *RECIPE_PATHS)
    commits = [ln.split("\t", 1) for ln in log.decode("utf-8", errors="replace").splitlines() if "\t" in ln]
    if not commits:
        return ()
    query = "".join(f"{c}:{p}\n" for c, _ in commits for p in RECIPE_PATHS).encode()
    batch = _git(git_dir, "cat-file", "--batch", data=query)
    texts: list[str | None] = []
    pos = 0
    for _ in range(len(commits) * len(RECIPE_PATHS)):
        nl = batch.index(b"\n", pos)
        head = batch[pos:nl].split()
        if len(head) == 3 and head[1] == b"blob":
            size = int(head[2])
            texts.append(batch[nl + 1 : nl + 1 + size].decode("utf-8", errors="replace"))
            pos = nl + 1 + size + 1
        else:  # "<name> missing" (the file does not exist at that commit) or not a blob
            texts.append(None)
            pos = nl + 1
    out: list[HistoryEntry] = []
    for i, (commit, date) in enumerate(commits):
        v1, v0 = texts[2 * i], texts[2 * i + 1]
        version = version_line(v1, "v1") if v1 is not None else version_line(v0, "v0") if v0 is not None else ""
        out.append(HistoryEntry(commit, date, version))
    return tuple(out)
