"""The snapshot in memory: derived facts about many feedstocks (tests build it in Python; a store
file is read into :class:`newarch.store.read.StoreSnapshot`, the same interface read lazily)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from newarch.model import Feedstock, PlatformPair


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

    def configured(self, target: str) -> list[str]:
        """Feedstocks whose conda-forge.yml builds for ``target`` (sorted)."""
        return sorted(n for n, fs in self.feedstocks.items() if fs.settings.configured(target))

    # -- what explanations read (a store answers these from its indexes, without reading feedstocks) --
    def main_output_names(self, feedstocks: Iterable[str] | None = None) -> dict[str, set[str]]:
        """feedstock -> the output names its ``main`` renders (any pair, skipped or not); every
        feedstock when ``feedstocks`` is None."""
        wanted = self.feedstocks if feedstocks is None else [f for f in feedstocks if f in self.feedstocks]
        return {f: {o.name for r in self.feedstocks[f].renders.values() for o in r.outputs} for f in wanted}

    def main_owners(self, name: str) -> set[str]:
        """Feedstocks whose ``main`` renders (any pair) have an output ``name``."""
        return {f for f, names in self.main_output_names().items() if name in names}

    def consumers(self, pair: PlatformPair, names: Iterable[str] | None = None) -> dict[str, set[str]]:
        """requirement name -> feedstocks whose ``main`` render for ``pair`` has a non-skipped output
        asking for it (only ``names`` when given)."""
        wanted = None if names is None else set(names)
        out: dict[str, set[str]] = {}
        for f, fs in self.feedstocks.items():
            r = fs.renders.get(pair.key)
            for o in r.outputs if r else ():
                if o.skip:
                    continue
                for reqs in o.requirements.values():
                    for q in reqs:
                        if wanted is None or q.name in wanted:
                            out.setdefault(q.name, set()).add(f)
        return out

    def all_skipped(self, pair: PlatformPair, feedstocks: Iterable[str] | None = None) -> dict[str, list[str]]:
        """feedstock -> its skip reasons (sorted, distinct, non-empty), for the feedstocks whose ``main``
        render for ``pair`` has outputs and skips them all."""
        wanted = self.feedstocks if feedstocks is None else [f for f in feedstocks if f in self.feedstocks]
        out: dict[str, list[str]] = {}
        for f in wanted:
            r = self.feedstocks[f].renders.get(pair.key)
            if r is not None and r.outputs and all(o.skip for o in r.outputs):
                out[f] = sorted({o.skip_reason for o in r.outputs if o.skip_reason})
        return out

    def save(self, path: str | Path) -> None:
        """Write the store atomically: a partial file never replaces a good one."""
        from newarch.store.write import write_store

        write_store(self, path)
