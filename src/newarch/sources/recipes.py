"""Where recipes come from: feedstock checkouts, recipe directories and bare git mirrors.

A :class:`RecipeSource` holds the files of one recipe directory in memory. Renderers and lints
read only these files, so nothing outside the recipe can ever be read by a recipe.
"""

from __future__ import annotations

import subprocess
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from ruamel.yaml import YAML
from ruamel.yaml.error import YAMLError

from newarch.errors import NewarchError
from newarch.files import read_text
from newarch.model import PlatformSettings

MAX_FILE_BYTES = 2 * 1024 * 1024
MAX_RECIPE_BYTES = 32 * 1024 * 1024
RECIPE_FILES = ("recipe.yaml", "meta.yaml")
MIGRATIONS_DIR = ".ci_support/migrations/"


@dataclass(slots=True)
class RecipeSource:
    """The recipe directory of one feedstock, read into memory."""

    name: str  # feedstock name without "-feedstock"
    origin: str  # path it was read from, for messages
    kind: str  # "git" | "directory"
    files: dict[str, bytes] = field(default_factory=dict)  # relative to the recipe dir
    conda_forge_yml: bytes | None = None
    # conda-smithy migrations active in this feedstock: file name -> text (.ci_support/migrations/*.yaml)
    migrations: dict[str, str] = field(default_factory=dict)
    revision: str = ""
    date: str = ""
    recipe_dir: str = "recipe"  # path of the recipe dir inside the feedstock, for messages

    @property
    def schema(self) -> str:
        """``v1`` (recipe.yaml) or ``v0`` (meta.yaml); with both, the one conda-forge builds.

        conda-smithy builds with rattler-build (recipe.yaml) only when conda-forge.yml says
        ``conda_build_tool: rattler-build``; otherwise conda-build reads meta.yaml.
        """
        if "recipe.yaml" in self.files:
            if "meta.yaml" in self.files and self.build_tool() != "rattler-build":
                return "v0"
            return "v1"
        if "meta.yaml" in self.files:
            return "v0"
        return ""

    def build_tool(self) -> str:
        """conda-forge.yml's ``conda_build_tool`` ("" when absent or unreadable)."""
        if not self.conda_forge_yml:
            return ""
        try:
            data = YAML(typ="safe", pure=True).load(self.conda_forge_yml.decode("utf-8", errors="replace"))
        except YAMLError:
            return ""
        tool = data.get("conda_build_tool") if isinstance(data, dict) else None
        return tool.strip() if isinstance(tool, str) else ""

    @property
    def recipe_file(self) -> str:
        return "recipe.yaml" if self.schema == "v1" else "meta.yaml"

    def display(self, rel: str) -> str:
        """A path for messages: ``<feedstock>/recipe/meta.yaml``."""
        prefix = f"{self.recipe_dir}/" if self.recipe_dir else ""
        return f"{self.name}/{prefix}{rel}"

    def text(self, rel: str) -> str | None:
        data = self.files.get(rel)
        if data is None:
            return None
        return data.decode("utf-8", errors="replace")

    def settings(self) -> PlatformSettings:
        if not self.conda_forge_yml:
            return PlatformSettings()
        try:
            data = YAML(typ="safe", pure=True).load(self.conda_forge_yml.decode("utf-8", errors="replace"))
        except YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            raise NewarchError(
                f"conda-forge.yml is not valid YAML: {getattr(exc, 'problem', exc)}",
                f"{self.name}/conda-forge.yml",
                mark.line + 1 if mark else None,
            ) from exc
        if not isinstance(data, dict):
            return PlatformSettings()
        return PlatformSettings.from_dict(data)


def feedstock_name(path: Path) -> str:
    """``conda-forge+mamba-feedstock/repo`` or ``mamba-feedstock`` -> ``mamba``."""
    parts = [p for p in path.resolve().parts if p not in ("repo", ".git")]
    name = parts[-1] if parts else path.name
    name = name.split("+", 1)[-1]
    return name[: -len("-feedstock")] if name.endswith("-feedstock") else name


def is_git_dir(path: Path) -> bool:
    return (path / "HEAD").is_file() and (path / "objects").is_dir()


def _git(git_dir: Path, *args: str) -> bytes:
    try:
        return subprocess.run(
            ["git", f"--git-dir={git_dir}", *args], check=True, capture_output=True, timeout=120
        ).stdout
    except FileNotFoundError as exc:
        raise NewarchError("git is not installed; it is needed to read git mirrors", str(git_dir)) from exc
    except subprocess.CalledProcessError as exc:
        msg = exc.stderr.decode("utf-8", errors="replace").strip().splitlines()
        raise NewarchError(
            f"git {' '.join(args[:2])} failed: {msg[-1] if msg else exc.returncode}", str(git_dir)
        ) from exc


def read_git(git_dir: Path, name: str | None = None, rev: str = "HEAD") -> RecipeSource:
    """Read ``recipe/`` and ``conda-forge.yml`` of a (bare) git repository at ``rev``."""
    name = name or feedstock_name(git_dir)
    src = RecipeSource(name=name, origin=str(git_dir), kind="git")
    meta = _git(git_dir, "log", "-1", "--format=%H %cI", rev).decode().split()
    if len(meta) == 2:
        src.revision, src.date = meta[0], meta[1][:10]
    listing = _git(git_dir, "ls-tree", "-r", "-l", "-z", rev, "--", "recipe/", "conda-forge.yml", MIGRATIONS_DIR)
    wanted: list[tuple[str, str]] = []
    total = 0
    for entry in listing.split(b"\0"):
        if not entry:
            continue
        head, _, path = entry.decode("utf-8", errors="replace").partition("\t")
        mode, kind, sha, size = head.split()
        if kind != "blob" or mode == "120000" or not size.isdigit() or int(size) > MAX_FILE_BYTES:
            continue
        total += int(size)
        if total > MAX_RECIPE_BYTES:
            break
        wanted.append((path, sha))
    if not wanted:
        return src
    batch = subprocess.run(
        ["git", f"--git-dir={git_dir}", "cat-file", "--batch"],
        input="".join(f"{sha}\n" for _, sha in wanted).encode(),
        capture_output=True,
        check=True,
        timeout=120,
    ).stdout
    pos = 0
    for path, _sha in wanted:
        nl = batch.index(b"\n", pos)
        nbytes = int(batch[pos:nl].split()[2])
        blob = batch[nl + 1 : nl + 1 + nbytes]
        pos = nl + 1 + nbytes + 1
        if path == "conda-forge.yml":
            src.conda_forge_yml = blob
        elif path.startswith(MIGRATIONS_DIR):
            if path.count("/") == 2 and path.endswith((".yaml", ".yml")):
                src.migrations[path.rsplit("/", 1)[-1]] = blob.decode("utf-8", errors="replace")
        else:
            src.files[path[len("recipe/") :]] = blob
    return src


def read_directory(path: Path, name: str | None = None) -> RecipeSource:
    """A feedstock checkout (with ``recipe/``) or a bare recipe directory."""
    path = Path(path)
    if (path / "recipe").is_dir():
        recipe_dir, cf_yml, rel = path / "recipe", path / "conda-forge.yml", "recipe"
    else:
        recipe_dir, cf_yml, rel = path, path.parent / "conda-forge.yml", ""
        if not cf_yml.is_file():
            cf_yml = path / "conda-forge.yml"
    src = RecipeSource(
        name=name or feedstock_name(path if rel else path.parent if path.name == "recipe" else path),
        origin=str(path),
        kind="directory",
        recipe_dir=rel,
    )
    total = 0
    for f in sorted(recipe_dir.rglob("*")):
        if f.is_symlink() or not f.is_file():
            continue
        size = f.stat().st_size
        if size > MAX_FILE_BYTES:
            continue
        total += size
        if total > MAX_RECIPE_BYTES:
            break
        src.files[f.relative_to(recipe_dir).as_posix()] = f.read_bytes()
    if cf_yml.is_file() and not cf_yml.is_symlink():
        src.conda_forge_yml = cf_yml.read_bytes()
    mig_dir = cf_yml.parent / MIGRATIONS_DIR
    if mig_dir.is_dir():
        for f in sorted(mig_dir.iterdir()):
            if (
                f.is_file()
                and not f.is_symlink()
                and f.suffix in (".yaml", ".yml")
                and f.stat().st_size <= MAX_FILE_BYTES
            ):
                src.migrations[f.name] = f.read_text(encoding="utf-8", errors="replace")
    if (path / ".git").is_dir():
        try:
            meta = _git(path / ".git", "log", "-1", "--format=%H %cI").decode().split()
            if len(meta) == 2:
                src.revision, src.date = meta[0], meta[1][:10]
        except NewarchError:
            pass
    return src


def open_source(path: str | Path) -> RecipeSource:
    """One recipe source from a path: git mirror, feedstock checkout or recipe directory."""
    p = Path(path)
    if not p.exists():
        raise NewarchError("no such file or directory", str(p))
    if p.is_file() and p.name in RECIPE_FILES:
        p = p.parent
    for candidate in (p, p / "repo", p / "repo" / ".git"):
        if candidate.is_dir() and is_git_dir(candidate) and not (candidate / "recipe").is_dir():
            src = read_git(candidate, feedstock_name(p))
            break
    else:
        src = read_directory(p)
    if not src.schema:
        raise NewarchError("no recipe/meta.yaml or recipe/recipe.yaml found", str(p))
    return src


def discover(paths: Sequence[str | Path]) -> list[Path]:
    """Expand paths into feedstock locations: each path is one feedstock or a folder of them."""
    found: list[Path] = []
    for raw in paths:
        p = Path(raw)
        if not p.exists():
            raise NewarchError("no such file or directory", str(p))
        if _is_feedstock(p):
            found.append(p)
            continue
        children = sorted(c for c in p.iterdir() if c.is_dir() and _is_feedstock(c))
        if not children:
            raise NewarchError("no feedstocks found here (expected recipe/, a git mirror, or folders of them)", str(p))
        found.extend(children)
    return found


def _is_feedstock(p: Path) -> bool:
    if (p / "recipe").is_dir() or any((p / f).is_file() for f in RECIPE_FILES):
        return True
    return any(c.is_dir() and is_git_dir(c) for c in (p, p / "repo", p / "repo" / ".git"))


def select_names(paths: list[Path], names_file: Path) -> list[Path]:
    """Keep the feedstock paths whose names are listed in ``names_file``; a listed name not found is an error."""
    lines = read_text(names_file, "names file").splitlines()
    wanted = {ln.strip() for ln in lines if ln.strip() and not ln.lstrip().startswith("#")}
    by_name: dict[str, Path] = {}
    # a folder named like a feedstock wins over another repository that maps to the same name
    for p in sorted(paths, key=lambda p: (not p.name.endswith("-feedstock"), str(p))):
        by_name.setdefault(feedstock_name(p), p)
    missing = sorted(wanted - by_name.keys())
    if missing:
        raise NewarchError(
            f"{len(missing)} listed feedstock(s) not found among the sources: {', '.join(missing[:10])}",
            str(names_file),
        )
    return [by_name[n] for n in sorted(wanted)]
