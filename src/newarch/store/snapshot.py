"""The snapshot: derived facts about many feedstocks, stored as one SQLite file (format 2).

:class:`Snapshot` is the in-memory form (tests build it in Python); :func:`load` returns a store-backed
one (:class:`newarch.store.read.StoreSnapshot`) whose ``feedstocks`` mapping reads a feedstock only when
it is looked up, and whose :meth:`Snapshot.producers` is an index query. The bundled default is an
xz-compressed store unpacked once into the user cache. The schema is in :mod:`newarch.store.schema`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from newarch.errors import SnapshotError
from newarch.files import write_atomic
from newarch.model import Feedstock, PlatformPair

__all__ = ["Snapshot", "load", "dumps", "BUNDLED_NAME", "write_atomic"]

BUNDLED_NAME = "conda-forge-2026-08.sqlite.xz"


@dataclass(slots=True)
class Snapshot:
    date: str = ""  # the date the data describes (e.g. "2026-08-22")
    description: str = ""
    pairs: list[PlatformPair] = field(default_factory=list)
    pinning: dict[str, Any] = field(default_factory=dict)  # {"source":..., "platforms": {pair.key: {key: [values]}}}
    # name -> Feedstock; a read-only lazy Mapping when loaded from a store
    feedstocks: Mapping[str, Feedstock] = field(default_factory=dict)
    # output name -> feedstocks producing it, from a channel-wide map (e.g. feedstock-outputs),
    # restricted to the names the rendered recipes mention. Used when no rendered recipe has the name.
    output_index: dict[str, list[str]] = field(default_factory=dict)
    failures: dict[str, str] = field(default_factory=dict)  # feedstock -> why it could not be read at all
    origin: str = ""  # where the file was loaded from (not stored)
    # in memory: output name -> pair key -> feedstocks, built on the first producers() call (not stored)
    _names: Any = field(default=None, init=False, repr=False, compare=False)

    def producers(self, name: str, pair: PlatformPair | None = None) -> list[str]:
        """Feedstocks any of whose branches renders an output called ``name`` (any pair, or only ``pair``;
        skipped or not).

        The planner asks this instead of scanning every feedstock, so a store can answer from an index.
        In memory the index is built on the first call (again if the feedstocks mapping is replaced or
        changes size)."""
        key = (id(self.feedstocks), len(self.feedstocks))
        if self._names is None or self._names[0] != key:
            index: dict[str, dict[str, set[str]]] = {}
            for f in self.feedstocks.values():
                for b in f.builds():
                    for r in b.renders.values():
                        for o in r.outputs:
                            index.setdefault(o.name, {}).setdefault(r.pair.key, set()).add(f.name)
            self._names = (key, index)
        by_pair = self._names[1].get(name, {})
        if pair is None:
            return sorted(set().union(*by_pair.values()))
        return sorted(by_pair.get(pair.key, ()))

    def output_names(self) -> set[str]:
        """Every output name any branch of any feedstock renders (for suggestions on a typo)."""
        return {
            o.name for f in self.feedstocks.values() for b in f.builds() for r in b.renders.values() for o in r.outputs
        }

    def save(self, path: str | Path) -> None:
        """Write the store atomically: a partial file never replaces a good one."""
        from newarch.store.write import write_store

        write_store(self, path)


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
    from newarch.store.read import load_store

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
