"""A v1 ``recipe.yaml`` as py-rattler-build parses it: the work directory, the environment, relaxing.

The recipe's own files are written into a per-thread work directory (never a path outside it) and
``recipe.yaml`` is parsed; when rattler-build rejects a field conda-forge builds anyway (a relative
``homepage``, a ``python 3.9`` spec), that one line is relaxed in the copy and the parse retried
(noted). ``env.get``/``env.exists`` read the real process environment, so the variables a recipe
names are set (or unset) around a render (:func:`controlled_environ`). Names defined only at build
time get stand-ins (:func:`build_time_names`); error messages get their line (:func:`locate`).
"""

from __future__ import annotations

import atexit
import json
import os
import re
import shutil
import tempfile
import threading
from collections.abc import Iterator
from typing import Any
from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path, PurePosixPath

from newarch.errors import RenderError
from newarch.sources.recipes import RecipeSource

MAX_RELAXATIONS = 8
URL_FIELDS = ("homepage", "repository", "documentation")

_ENV_LOCK = threading.Lock()
_ENV_CALL = re.compile(r"""\benv\s*\.\s*(?:get|exists)\s*\(\s*(?:(["'])([^"']*)\1)?""")
_LOCAL = threading.local()


# Names that exist only once a build runs (rattler-build's ``env_vars.rs``: directories, python
# paths, package identity). rattler-build <= 0.57 rendered an undefined name as "" (minijinja's
# default lenient mode); since 0.58 most fields are strict, ``script.content`` is kept as a
# template for build time and only patches / license files keep ``${{ SRC_DIR }}`` late-bound.
# A recipe conda-forge built that names one elsewhere (``script.env``) is rendered with a stand-in.
BUILD_TIME_NAMES = frozenset(
    {
        "SRC_DIR",
        "PREFIX",
        "BUILD_PREFIX",
        "RECIPE_DIR",
        "BUILD_DIR",
        "PYTHON",
        "SP_DIR",
        "STDLIB_DIR",
        "PY_VER",
        "LIBRARY_PREFIX",
        "LIBRARY_BIN",
        "LIBRARY_LIB",
        "LIBRARY_INC",
        "SCRIPTS",
        "CPU_COUNT",
        "SHLIB_EXT",
        "PKG_NAME",
        "PKG_VERSION",
        "PKG_BUILDNUM",
        "PKG_BUILD_STRING",
        "PKG_HASH",
    }
)


def build_time_names(message: str, known: set[str]) -> set[str]:
    """Build-time names in the template of an ``undefined value`` error, not yet given a stand-in."""
    if "undefined value" not in message:
        return set()
    m = re.search(r"\(template: (.+?)\)\s*$", message)
    found = set(re.findall(r"\b[A-Z][A-Z_]*\b", m.group(1))) if m else set()
    return (found & BUILD_TIME_NAMES) - known


# --------------------------------------------------------------------------- environment


@contextmanager
def controlled_environ(env: dict[str, str], names: set[str] | None = None) -> Iterator[None]:
    """Make ``env`` what the recipe sees of the process environment for the duration of the block.

    rattler-build evaluates ``env.get`` / ``env.exists`` against the process environment and offers
    no parameter for it. With ``names`` (the variables the recipe reads), only those are set from
    ``env`` or unset, and restored afterwards; with ``None`` the whole environment is swapped. This
    happens under a lock; other threads of this process see the change meanwhile.
    """
    with _ENV_LOCK:
        if names is None:
            saved = dict(os.environ)
            try:
                os.environ.clear()
                os.environ.update({str(k): str(v) for k, v in env.items()})
                yield
            finally:
                os.environ.clear()
                os.environ.update(saved)
            return
        before = {n: os.environ.get(n) for n in names}
        try:
            for n in names:
                if n in env:
                    os.environ[n] = str(env[n])
                else:
                    os.environ.pop(n, None)
            yield
        finally:
            for n, v in before.items():
                if v is None:
                    os.environ.pop(n, None)
                else:
                    os.environ[n] = v


def env_names(texts: list[str]) -> set[str] | None:
    """Variables a recipe can read with ``env.get("X")`` / ``env.exists("X")``.

    ``None`` when some call does not name its variable with a string literal (the whole environment
    must then be controlled).
    """
    found = _env_names(tuple(texts))
    return None if found is None else set(found)


@lru_cache(maxsize=512)
def _env_names(texts: tuple[str, ...]) -> frozenset[str] | None:
    names: set[str] = set()
    for text in texts:
        for m in _ENV_CALL.finditer(text):
            if m.group(1) is None:
                return None
            names.add(m.group(2))
    return frozenset(names)


# --------------------------------------------------------------------------- errors and relaxing


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def locate(text: str, message: str) -> int | None:
    """Best line number (1-based) in ``text`` for a rattler-build error message."""
    m = re.search(r"\bline: (\d+)", message)
    if m:
        return int(m.group(1))
    m = re.search(r"YAML: (\d+):(\d+)", message)
    if m:
        return int(m.group(1))
    lines = text.splitlines()
    m = re.search(r"\(template: (.+?)\)\s*(?:\}|$)", message)
    needles: list[str] = [m.group(1)] if m else []
    m = re.search(r"invalid value for '([\w\-]+)'", message)
    if m and m.group(1) != "item":
        needles.append(f"{m.group(1)}:")
    needles.extend(q for q in re.findall(r"'([^']{2,})'", message) if q not in ("item",))
    for needle in needles:
        for i, line in enumerate(lines, 1):
            if needle in line and not line.lstrip().startswith("#"):
                return i
    return None


_ABSOLUTE_URL = re.compile(r"^['\"]?[A-Za-z][A-Za-z0-9+.\-]*://\S")


def clean_message(message: str) -> str:
    """rattler-build's debug-formatted render errors -> the human part (``reason``/``message``)."""
    for key in ("reason", "message"):
        m = re.search(key + r': "((?:[^"\\]|\\.)*)"', message)
        if m:
            return m.group(1).replace('\\"', '"')
    return message


def _relax(text: str, message: str) -> tuple[str, str] | None:
    """Edit the one line rattler-build rejects but conda-build accepts. Returns (new text, note)."""
    lines = text.splitlines(keepends=True)
    m = re.search(r"invalid value for '(" + "|".join(URL_FIELDS) + r")': (.+)$", message)
    if m:
        field, why = m.groups()
        for i, line in enumerate(lines):
            mm = re.match(rf"(\s*){field}\s*:(.*)$", line.rstrip("\r\n"))
            if mm and not _ABSOLUTE_URL.match(mm.group(2).strip()) and not mm.group(2).strip().startswith("${{"):
                value = mm.group(2).strip()
                lines[i] = f"{mm.group(1)}# {field} removed by newarch\n"
                return "".join(lines), f"relaxed line {i + 1}: removed about.{field} {value!r} ({why})"
        return None
    m = re.search(r"missing range specifier for '([^']+)'", message)
    if m:
        version = m.group(1)
        named = re.search(r"match spec '([^' ]+) ", message)
        name = re.escape(named.group(1)) if named else r"[A-Za-z0-9_.\-]+"
        value = r"(?:" + re.escape(version) + r"|\$\{\{[^}]*\}\})"
        spec = re.compile(r"^(\s*-\s*['\"]?" + name + r"\s+)(" + value + r")(?=\s*['\"]?\s*(#.*)?$)")
        for i, line in enumerate(lines):
            bare = line.rstrip("\r\n")
            mm = spec.match(bare)
            if mm:
                lines[i] = bare[: mm.end(2)] + ".*" + bare[mm.end(2) :] + "\n"
                old = bare.strip()[1:].strip()
                return "".join(lines), (
                    f"relaxed line {i + 1}: spec {old!r} (renders to '{version}') read as "
                    f"'{version}.*', as conda reads a bare version"
                )
    return None


# --------------------------------------------------------------------------- files


def work_dir() -> Path:
    """This thread's work directory, created once and reused by every render of the thread."""
    root = getattr(_LOCAL, "root", None)
    if root is None or not root.is_dir():
        root = Path(tempfile.mkdtemp(prefix="newarch-v1-"))
        atexit.register(shutil.rmtree, root, True)
        _LOCAL.root = root
        _LOCAL.files = {}
    return root


def release_work_dir() -> None:
    """Remove this thread's work directory now (the next render makes a new one)."""
    root = getattr(_LOCAL, "root", None)
    if root is not None:
        shutil.rmtree(root, ignore_errors=True)
        _LOCAL.root = None
        _LOCAL.files = {}


def _write_recipe_dir(src: RecipeSource, root: Path) -> None:
    """Make ``root`` hold exactly the recipe's files (never a path outside it).

    Files already there with the same content are left alone (a snapshot renders one recipe for
    several pairs in a row); ``recipe.yaml`` is written by rattler-build itself at each parse.
    """
    written: dict[str, bytes] | None = getattr(_LOCAL, "files", None) if root == getattr(_LOCAL, "root", None) else None
    if written is None:
        written = {}
    wanted: dict[str, bytes] = {}
    for rel, data in src.files.items():
        p = PurePosixPath(rel)
        if p.is_absolute() or ".." in p.parts or not p.parts:
            continue
        wanted[p.as_posix()] = data
    for rel in [r for r in written if r not in wanted]:
        root.joinpath(*PurePosixPath(rel).parts).unlink(missing_ok=True)
        del written[rel]
    for rel, data in wanted.items():
        if written.get(rel) == data or (rel == "recipe.yaml" and rel in written):
            continue
        dest = root.joinpath(*PurePosixPath(rel).parts)
        dest.parent.mkdir(parents=True, exist_ok=True)
        dest.write_bytes(data)
        written[rel] = data
    if root == getattr(_LOCAL, "root", None):
        _LOCAL.files = written


_REUSE: list[Any] = []  # the Stage0Recipe subclass below, made on first use (rattler_build loads lazily)


def stage0_from_yaml(text: str, root: Path) -> Any:
    """``Stage0Recipe.from_yaml(text, recipe_dir=root)``, without rewriting ``recipe.yaml`` when it
    already holds ``text`` (a snapshot renders one recipe for every pair in a row; the write costs
    about as much as a small recipe's parse)."""
    if not _REUSE:
        from rattler_build import Stage0Recipe

        class _Reuse(Stage0Recipe):  # only its classmethods are used: never instantiated
            @classmethod
            def _write_recipe(cls, content: str, recipe_dir: Path | str | None) -> Path:
                last = getattr(_LOCAL, "recipe_yaml", None)
                if recipe_dir is not None and last == (Path(recipe_dir) / "recipe.yaml", content) and last[0].is_file():
                    return last[0]
                path: Path = super()._write_recipe(content, recipe_dir)
                _LOCAL.recipe_yaml = (path, content)
                return path

        _REUSE.append(_Reuse)
    return _REUSE[0].from_yaml(text, recipe_dir=root)


_CONTEXT_BLOCK = re.compile(r"^context:[ \t]*(?:#.*)?\n((?:[ \t]+.*\n|[ \t]*\n|#.*\n)*)", re.M)
_CONTEXT_ITEM = re.compile(r"""^[ \t]+(["']?)([^"'\s:#][^"':]*?)\1[ \t]*:(?:[ \t]+(.*))?$""")


@lru_cache(maxsize=256)
def forced_strings(text: str) -> frozenset[str]:
    """The ``context`` keys of recipe ``text`` whose value is quoted or a block scalar.

    rattler-build evaluates a plain ``${{ expr }}`` context value to the expression's type (``false``,
    ``15``) and a quoted or block one to text (``"false"``, truthy in a condition): the style is part
    of the recipe's meaning, and ``Stage0Recipe.to_dict`` drops it. A key not found reads as forced.
    """
    m = _CONTEXT_BLOCK.search(text if text.endswith("\n") else text + "\n")
    if m is None:
        return frozenset()
    forced: set[str] = set()
    plain: set[str] = set()
    lines = m.group(1).splitlines()
    for n, line in enumerate(lines):
        item = _CONTEXT_ITEM.match(line)
        if item is None or line[: len(line) - len(line.lstrip())] != lines[0][: len(lines[0]) - len(lines[0].lstrip())]:
            continue
        value = (item.group(3) or "").strip()
        if not value:  # the value starts on a later line
            value = next((x.strip() for x in lines[n + 1 :] if x.strip() and not x.lstrip().startswith("#")), "")
        (forced if value[:1] in ("'", '"', "|", ">") else plain).add(item.group(2))
    return frozenset(forced - plain)


def recipe_yaml(d: dict[str, Any], text: str) -> str:
    """Recipe ``d`` (a ``Stage0Recipe.to_dict``, possibly edited) as YAML that rattler-build reads as
    recipe ``text`` would be read: JSON flow values, except that ``context`` template values keep the
    plain or quoted style they have in ``text`` (``forced_strings``)."""
    forced = forced_strings(text)
    lines: list[str] = []
    for key, value in d.items():
        if key != "context" or not isinstance(value, dict) or not value:
            lines.append(f"{json.dumps(key)}: {json.dumps(value)}")
            continue
        lines.append("context:")
        for name, v in value.items():
            plain = isinstance(v, str) and "${{" in v and name not in forced and "\n" not in v
            lines.append(f"  {json.dumps(name)}: {v if plain else json.dumps(v)}")
    return "\n".join(lines) + "\n"


def _parse(text: str, root: Path, display: str, notes: list[str]):
    """Parse recipe text into a Stage0Recipe, relaxing strict-validation rejections."""
    for _ in range(MAX_RELAXATIONS + 1):
        try:
            return stage0_from_yaml(text, root), text
        except Exception as exc:  # rattler-build raises its own exception types
            raw = _first_line(exc)
            message = clean_message(raw)
            relaxed = _relax(text, message)
            if relaxed is None:
                raise RenderError(message, display, locate(text, raw)) from exc
            text, note = relaxed
            notes.append(note)
    raise RenderError("too many rejected fields", display)
