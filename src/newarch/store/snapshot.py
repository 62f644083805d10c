"""The snapshot file: derived facts about many feedstocks, versioned and xz-compressed.

Format: xz-compressed JSON, ``{"format": "newarch.snapshot", "version": 1, ...}``. Everything is
sorted and the only date is the recorded one, so the same inputs give byte-identical files.
"""

from __future__ import annotations

import json
import lzma
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from newarch.errors import SnapshotError
from newarch.files import read_bytes, write_atomic
from newarch.model import Feedstock, PlatformPair

FORMAT = "newarch.snapshot"
VERSION = 1
BUNDLED_NAME = "conda-forge-2026-08.json.xz"


@dataclass(slots=True)
class Snapshot:
    date: str = ""  # the date the data describes (e.g. "2026-08-22")
    description: str = ""
    pairs: list[PlatformPair] = field(default_factory=list)
    pinning: dict[str, Any] = field(default_factory=dict)  # {"source":..., "platforms": {pair.key: {key: [values]}}}
    feedstocks: dict[str, Feedstock] = field(default_factory=dict)
    # output name -> feedstocks producing it, from a channel-wide map (e.g. feedstock-outputs),
    # restricted to the names the rendered recipes mention. Used when no rendered recipe has the name.
    output_index: dict[str, list[str]] = field(default_factory=dict)
    failures: dict[str, str] = field(default_factory=dict)  # feedstock -> why it could not be read at all
    origin: str = ""  # where the file was loaded from (not stored)
    # in memory: output name -> pair key -> feedstocks, built on the first producers() call (not stored)
    _names: Any = field(default=None, init=False, repr=False, compare=False)

    def to_dict(self) -> dict[str, Any]:
        return {
            "format": FORMAT,
            "version": VERSION,
            "date": self.date,
            "description": self.description,
            "pairs": [p.key for p in sorted(self.pairs)],
            "pinning": self.pinning,
            "feedstocks": [self.feedstocks[k].to_dict() for k in sorted(self.feedstocks)],
            "output_index": {k: sorted(self.output_index[k]) for k in sorted(self.output_index)},
            "failures": dict(sorted(self.failures.items())),
        }

    @classmethod
    def from_dict(cls, d: Any, origin: str = "") -> Snapshot:
        if not isinstance(d, dict) or d.get("format") != FORMAT:
            raise SnapshotError("not a newarch snapshot (no 'format: newarch.snapshot' header)", origin)
        if d.get("version") != VERSION:
            raise SnapshotError(
                f"snapshot version {d.get('version')!r} is not supported (this newarch reads version {VERSION}); "
                "re-create it with 'newarch snapshot'",
                origin,
            )
        try:
            feedstocks = [Feedstock.from_dict(f) for f in d["feedstocks"]]
            snap = cls(
                date=str(d.get("date", "")),
                description=str(d.get("description", "")),
                pairs=[PlatformPair.parse(p) for p in d.get("pairs", ())],
                pinning=dict(d.get("pinning") or {}),
                feedstocks={f.name: f for f in feedstocks},
                output_index={str(k): list(v) for k, v in (d.get("output_index") or {}).items()},
                failures=dict(d.get("failures") or {}),
                origin=origin,
            )
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise SnapshotError(f"snapshot content is malformed ({type(exc).__name__}: {exc})", origin) from exc
        return snap

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
                for renders in (f.renders, *(b.renders for b in f.branches.values())):
                    for rkey, r in renders.items():
                        for o in r.outputs:
                            index.setdefault(o.name, {}).setdefault(rkey, set()).add(f.name)
            self._names = (key, index)
        by_pair = self._names[1].get(name, {})
        if pair is None:
            return sorted(set().union(*by_pair.values()))
        return sorted(by_pair.get(pair.key, ()))

    def dumps(self) -> bytes:
        text = json.dumps(self.to_dict(), sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        return lzma.compress(text.encode("utf-8"), format=lzma.FORMAT_XZ, preset=9 | lzma.PRESET_EXTREME)

    def save(self, path: str | Path) -> None:
        """Write atomically: a partial file never replaces a good one."""
        write_atomic(Path(path), self.dumps())


def loads(data: bytes, origin: str = "<bytes>") -> Snapshot:
    try:
        text = lzma.decompress(data)
    except lzma.LZMAError as exc:
        raise SnapshotError(f"snapshot is truncated or corrupted ({exc})", origin) from exc
    except EOFError as exc:
        raise SnapshotError("snapshot is truncated (compressed stream ends early)", origin) from exc
    try:
        d = json.loads(text)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise SnapshotError(f"snapshot content is not valid JSON ({exc})", origin) from exc
    return Snapshot.from_dict(d, origin)


def load(path: str | Path | None = None) -> Snapshot:
    """Load a snapshot file; ``None`` loads the one bundled with newarch."""
    if path is None:
        ref = resources.files("newarch") / "data" / BUNDLED_NAME
        try:
            data = ref.read_bytes()
        except FileNotFoundError as exc:
            raise SnapshotError("the bundled snapshot is missing from this installation", str(ref)) from exc
        return loads(data, f"<bundled {BUNDLED_NAME}>")
    return loads(read_bytes(path, "snapshot file", SnapshotError), str(path))
