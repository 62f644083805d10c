"""The snapshot: derived facts about many feedstocks, stored as one SQLite file (format 2).

:class:`Snapshot` is the in-memory form (tests build it in Python); :func:`load` returns a store-backed
one (:class:`newarch.store.read.StoreSnapshot`) whose ``feedstocks`` mapping reads a feedstock only when
it is looked up, and whose :meth:`Snapshot.producers` is an index query. The bundled default is an
xz-compressed store unpacked once into the user cache. The schema is in :mod:`newarch.store.schema`.
"""

from __future__ import annotations

from collections.abc import Iterable
from importlib import resources
from pathlib import Path

from newarch.errors import SnapshotError
from newarch.files import write_atomic
from newarch.model import PlatformPair
from newarch.store.model import Snapshot
from newarch.store.read import load_store

__all__ = ["Snapshot", "load", "dumps", "BUNDLED_NAME", "write_atomic"]

BUNDLED_NAME = "conda-forge-2026-08.sqlite.xz"


def dumps(snap: Snapshot) -> bytes:
    """The bytes ``snap.save`` writes (a plain store), e.g. to compare two snapshots byte for byte."""
    import tempfile

    with tempfile.TemporaryDirectory(prefix="newarch-") as tmp:
        path = Path(tmp) / "snapshot.sqlite"
        snap.save(path)
        return path.read_bytes()


def load(path: str | Path | None = None, pairs: Iterable[PlatformPair | str] | None = None) -> Snapshot:
    """Open a snapshot file (``None``: the one bundled with newarch), read-only and lazily.

    ``pairs`` restricts the renders read to those platform pairs (``None``: all)."""
    if path is None:
        ref = resources.files("newarch") / "data" / BUNDLED_NAME
        origin = f"<bundled {BUNDLED_NAME}>"
        try:
            real = Path(str(ref))
            if not real.is_file():
                raise FileNotFoundError(str(ref))
        except FileNotFoundError as exc:
            raise SnapshotError("the bundled snapshot is missing from this installation", str(ref)) from exc
        return load_store(real, origin, pairs)
    return load_store(Path(path), str(path), pairs)
