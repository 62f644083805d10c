"""Finding cf-graph ``node_attrs`` files: a checkout, a ``node_attrs`` folder, shards or one file.

Reading and converting them (the bot's rendering) is ``newarch.render.node_attrs``."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path


def is_node_attrs_source(path: str | Path) -> bool:
    """A cf-graph checkout (has ``node_attrs/``), a ``node_attrs`` folder, a ``.json`` file, or a
    folder whose entries are ``.json`` files or shard folders holding them."""
    p = Path(path)
    if p.is_file():
        return p.suffix == ".json"
    if not p.is_dir():
        return False
    if (p / "node_attrs").is_dir() or p.name == "node_attrs":
        return True
    if (p / "recipe").is_dir() or (p / "HEAD").is_file():
        return False
    try:
        entries = [e for e in os.scandir(p) if not e.name.startswith(".")]
    except OSError:
        return False
    if any(e.is_file() and e.name.endswith(".json") for e in entries):
        return True
    # the bot's shard layout: node_attrs/1/9/f/b/4/mamba.json
    dirs = [e for e in entries if e.is_dir(follow_symlinks=False)]
    if dirs and all(len(e.name) == 1 and e.name in "0123456789abcdef" for e in dirs):
        return next(iter_node_attrs_files(p, limit_depth=6), None) is not None
    return False


def iter_node_attrs_files(path: str | Path, limit_depth: int = 12) -> Iterator[Path]:
    """Every ``*.json`` under ``path`` (``node_attrs/`` if present), in sorted order, lazily."""
    root = Path(path)
    if root.is_file():
        yield root
        return
    if (root / "node_attrs").is_dir():
        root = root / "node_attrs"

    def walk(d: Path, depth: int) -> Iterator[Path]:
        try:
            entries = sorted(os.scandir(d), key=lambda e: e.name)
        except OSError:
            return
        for e in entries:
            if e.name.startswith("."):
                continue
            if e.is_file(follow_symlinks=False) and e.name.endswith(".json"):
                yield Path(e.path)
            elif e.is_dir(follow_symlinks=False) and depth < limit_depth:
                yield from walk(Path(e.path), depth + 1)

    yield from walk(root, 0)
