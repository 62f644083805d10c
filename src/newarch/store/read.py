"""Read a SQLite snapshot store lazily: a feedstock's rows are read when it is first looked up.

The file is opened read-only (``mode=ro&immutable=1``), checked before use (SQLite header, length
against the page count it records, the ``meta`` format and version) and every SQLite error while
reading becomes one :class:`SnapshotError` naming the file. An xz-compressed store (the bundled form)
is unpacked once into the user cache, keyed by the sha256 of the compressed bytes.
"""

from __future__ import annotations

import hashlib
import json
import lzma
import os
import sqlite3
import tempfile
import urllib.parse
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

from newarch.errors import SnapshotError
from newarch.model import (
    Branch,
    Dropped,
    Feedstock,
    Finding,
    HistoryEntry,
    Output,
    PlatformPair,
    PlatformSettings,
    RenderResult,
    Requirement,
)
from newarch.store.schema import FORMAT, SQLITE_MAGIC, VERSION, XZ_MAGIC
from newarch.store.model import Snapshot

REGENERATE = "re-create it with `newarch snapshot SOURCES --out FILE` (see the README's snapshot section)"


# ----------------------------------------------------------------------------- opening and checking


def cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "newarch"


def unpack_xz(data: bytes, origin: str, stem: str) -> Path:
    """The store inside xz ``data``, unpacked once into the cache (a temp dir when that is not writable)."""
    digest = hashlib.sha256(data).hexdigest()[:24]
    name = f"{stem}-{digest}.sqlite"
    dirs = [cache_dir(), Path(tempfile.gettempdir()) / f"newarch-{os.getuid() if hasattr(os, 'getuid') else 0}"]
    for d in dirs:
        target = d / name
        if target.is_file():
            return target
    try:
        raw = lzma.decompress(data)
    except (lzma.LZMAError, EOFError) as exc:
        raise SnapshotError(f"snapshot is truncated or corrupted (xz: {exc})", origin) from exc
    if not raw.startswith(SQLITE_MAGIC):
        raise _not_a_store(raw, origin)
    errors: list[str] = []
    for d in dirs:
        try:
            d.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(prefix=f".{name}.", dir=d)
            try:
                with os.fdopen(fd, "wb") as fh:
                    fh.write(raw)
                os.replace(tmp, d / name)
            except BaseException:
                if os.path.exists(tmp):
                    os.unlink(tmp)
                raise
            return d / name
        except OSError as exc:
            errors.append(f"{d}: {exc.strerror or exc}")
    raise SnapshotError(f"cannot unpack the compressed snapshot ({'; '.join(errors)})", origin)


def _not_a_store(head: bytes, origin: str, data: bytes = b"") -> SnapshotError:
    """The error for xz content that is not a store: format 1 (xz JSON) says how to regenerate."""
    if head.lstrip().startswith(b"{") and _has_marker(data or head):
        return SnapshotError(f"snapshot format 1 is not supported; {REGENERATE}", origin)
    return SnapshotError("not a newarch snapshot (expected a SQLite snapshot store)", origin)


def _has_marker(data: bytes, limit: int = 1 << 30) -> bool:
    """Whether xz ``data`` (or plain ``data``) holds format 1's ``"format":"newarch.snapshot"``
    (its keys are sorted, so the marker comes after the feedstocks: read in chunks, up to ``limit``)."""
    marker = f'"format":"{FORMAT}"'.encode()
    if not data.startswith(XZ_MAGIC):
        return marker in data
    dec = lzma.LZMADecompressor()
    tail, seen, chunk = b"", 0, data
    try:
        while seen < limit:
            out = dec.decompress(chunk, max_length=1 << 22)
            chunk = b""
            if marker in tail + out:
                return True
            tail, seen = out[-len(marker) :], seen + len(out)
            if dec.eof or (not out and dec.needs_input):
                return False
    except (lzma.LZMAError, EOFError):
        return False
    return False


def _check_header(path: Path, origin: str) -> None:
    try:
        size = path.stat().st_size
        with path.open("rb") as fh:
            head = fh.read(100)
    except FileNotFoundError as exc:
        raise SnapshotError("snapshot file not found", origin) from exc
    except OSError as exc:
        raise SnapshotError(f"cannot read snapshot file ({exc.strerror or exc})", origin) from exc
    if not head.startswith(SQLITE_MAGIC):
        raise SnapshotError("not a newarch snapshot (expected a SQLite snapshot store)", origin)
    if len(head) < 100:
        raise SnapshotError("snapshot is truncated (shorter than a SQLite header)", origin)
    page = int.from_bytes(head[16:18], "big")
    page = 65536 if page == 1 else page
    pages = int.from_bytes(head[28:32], "big")
    valid = head[24:28] == head[92:96]
    if valid and pages and size != page * pages:
        raise SnapshotError(
            f"snapshot is truncated or corrupted ({size} bytes; its header says {page * pages})", origin
        )


def open_db(path: Path, origin: str) -> sqlite3.Connection:
    """Open the store read-only and check it is a newarch snapshot of this version."""
    _check_header(path, origin)
    uri = "file:" + urllib.parse.quote(str(path.resolve())) + "?mode=ro&immutable=1"
    try:
        db = sqlite3.connect(uri, uri=True, check_same_thread=False)
        meta = dict(db.execute("SELECT key, value FROM meta").fetchall())
    except sqlite3.DatabaseError as exc:
        raise SnapshotError(f"snapshot is corrupted or not a newarch snapshot (sqlite: {exc})", origin) from exc
    if meta.get("format") != FORMAT:
        db.close()
        raise SnapshotError("not a newarch snapshot (no 'newarch.snapshot' format in its meta table)", origin)
    if meta.get("version") != str(VERSION):
        db.close()
        raise SnapshotError(
            f"snapshot format {meta.get('version')} is not supported (this newarch reads format {VERSION}); "
            f"{REGENERATE}",
            origin,
        )
    return db


def resolve(path: Path, origin: str) -> Path:
    """``path`` itself for a store; the unpacked cache copy for an xz-compressed one."""
    try:
        with path.open("rb") as fh:
            head = fh.read(6)
    except FileNotFoundError as exc:
        raise SnapshotError("snapshot file not found", origin) from exc
    except IsADirectoryError as exc:
        raise SnapshotError("snapshot path is a directory, not a file", origin) from exc
    except OSError as exc:
        raise SnapshotError(f"cannot read snapshot file ({exc.strerror or exc})", origin) from exc
    if head != XZ_MAGIC:
        return path
    data = path.read_bytes()
    try:  # a format-1 file is xz JSON: say so without unpacking it all
        first = lzma.LZMADecompressor().decompress(data, max_length=1 << 16)
    except (lzma.LZMAError, EOFError) as exc:
        raise SnapshotError(f"snapshot is truncated or corrupted (xz: {exc})", origin) from exc
    if not first.startswith(SQLITE_MAGIC):
        raise _not_a_store(first, origin, data)
    stem = path.name.split(".", 1)[0] or "snapshot"
    return unpack_xz(data, origin, stem)


# ----------------------------------------------------------------------------- lazy feedstocks


def _pair_filter(column: str, ids: tuple[int, ...] | None) -> str:
    return "" if ids is None else f" AND {column} IN ({','.join(str(i) for i in ids) or 'NULL'})"


def _chunks(items: list[str], size: int = 500) -> Iterator[list[str]]:
    """``items`` in pieces small enough for SQLite's limit on bound parameters."""
    for i in range(0, len(items), size):
        yield items[i : i + size]


class StoreFeedstocks(Mapping[str, Feedstock]):
    """Read-only ``name -> Feedstock`` over the store; each feedstock is read once, on first lookup."""

    def __init__(self, store: Store) -> None:
        self._store = store
        self._ids: dict[str, int] | None = None
        self._cache: dict[str, Feedstock] = {}

    @property
    def ids(self) -> dict[str, int]:
        if self._ids is None:
            self._ids = dict(self._store.rows("SELECT name, id FROM feedstock ORDER BY name"))
        return self._ids

    def __len__(self) -> int:
        if self._ids is None:  # a count does not read 25,000 names a plan never looks at
            return int(self._store.rows("SELECT count(*) FROM feedstock")[0][0])
        return len(self.ids)

    def __iter__(self) -> Iterator[str]:
        return iter(self.ids)

    def __contains__(self, name: object) -> bool:
        if self._ids is not None or not isinstance(name, str):
            return name in self.ids
        return bool(self._store.rows("SELECT 1 FROM feedstock WHERE name = ?", (name,)))

    def __getitem__(self, name: str) -> Feedstock:
        fs = self._cache.get(name)
        if fs is None:
            fs = self._store.feedstock(name)
            if fs is None:
                raise KeyError(name)
            self._cache[name] = fs
        return fs


_OUTPUTS = RenderResult.__dict__["outputs"]  # the slot behind RenderResult.outputs


class StoreRender(RenderResult):
    """A render read from a store: its outputs are read on first use of ``outputs``, so that a plan
    pays only for the platform pairs it looks at. ``noarch_names`` is known without reading them."""

    __slots__ = ("_store", "_rid", "noarch_set", "noarch_skipped")

    def __init__(self, store: Store, rid: int, pair: PlatformPair, error: str, notes: list[str]) -> None:
        self._store: Store | None = store
        self._rid = rid
        self.noarch_set: set[str] = set()  # noarch outputs built
        self.noarch_skipped: set[str] = set()  # noarch outputs listed but skipped
        RenderResult.__init__(self, pair, [], error, notes, [])

    @property
    def outputs(self) -> list[Output]:
        store = self._store
        if store is not None:
            self._store = None
            _OUTPUTS.__set__(self, store.outputs(self._rid))
        return _OUTPUTS.__get__(self)  # type: ignore[no-any-return]

    @outputs.setter
    def outputs(self, value: list[Output]) -> None:
        if value or self._store is None:  # RenderResult.__init__ sets [] before anything is read
            self._store = None
        _OUTPUTS.__set__(self, value)

    def __eq__(self, other: object) -> bool:  # equal to the RenderResult it was written from
        if not isinstance(other, RenderResult):
            return NotImplemented
        return (self.pair, self.outputs, self.error, self.notes, self.findings) == (
            other.pair,
            other.outputs,
            other.error,
            other.notes,
            other.findings,
        )

    __hash__ = None  # type: ignore[assignment]  # mutable, like RenderResult

    def noarch_names(self, skipped: bool = False) -> frozenset[str]:
        if self._store is None:
            return RenderResult.noarch_names(self, skipped)
        return frozenset(self.noarch_set | self.noarch_skipped if skipped else self.noarch_set)


class Store:
    """One open store: the connection, its pairs and the queries that build model objects."""

    def __init__(self, db: sqlite3.Connection, origin: str, pairs: Iterable[PlatformPair | str] | None) -> None:
        self.db = db
        self.origin = origin
        self.variants: dict[int, dict[str, str]] = {}
        self.shared: dict[tuple[str, str, str, int], Requirement] = {}
        self.pair_keys: dict[int, str] = dict(self.rows("SELECT id, key FROM pair"))
        by_key = {k: i for i, k in self.pair_keys.items()}
        if pairs is None:
            self.wanted: tuple[int, ...] | None = None
        else:
            keys = [p.key if isinstance(p, PlatformPair) else PlatformPair.parse(p).key for p in pairs]
            self.wanted = tuple(sorted(by_key[k] for k in set(keys) if k in by_key))

    def rows(self, sql: str, args: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        try:
            return self.db.execute(sql, args).fetchall()
        except sqlite3.DatabaseError as exc:
            raise SnapshotError(f"snapshot is corrupted (sqlite: {exc})", self.origin) from exc

    def feedstock(self, name: str) -> Feedstock | None:
        found = self.rows("SELECT id, source, settings, maintained_branches FROM feedstock WHERE name = ?", (name,))
        if not found:
            return None
        fid, source, settings, maintained = found[0]
        branches: list[Branch] = []
        by_id: dict[int, Branch] = {}
        for bid, _seq, bname, rev, date, version, schema, rfile, notes in self.rows(
            "SELECT id, seq, name, revision, date, version, schema, recipe_file, notes FROM branch"
            " WHERE feedstock_id = ? ORDER BY seq",
            (fid,),
        ):
            br = Branch(bname, rev, date, version, schema, rfile, {}, json.loads(notes))
            branches.append(br)
            by_id[bid] = br
        if by_id:
            self._renders(by_id, name)
        main = branches[0] if branches else Branch()
        return Feedstock(
            name=name,
            schema=main.schema,
            revision=main.revision,
            date=main.date,
            source=source,
            settings=PlatformSettings.from_dict(json.loads(settings)),
            renders=main.renders,
            notes=main.notes,
            version=main.version,
            recipe_file=main.recipe_file,
            maintained_branches=tuple(json.loads(maintained)),
            branches={b.name: b for b in branches[1:]},
            history=tuple(
                HistoryEntry(c, d, v)
                for c, d, v in self.rows(
                    "SELECT commit_id, date, version FROM history WHERE feedstock_id = ? ORDER BY seq", (fid,)
                )
            ),
        )

    def _renders(self, branches: dict[int, Branch], fname: str) -> None:
        """The renders of ``branches`` as :class:`StoreRender`: their rows, findings and noarch output
        names now, their outputs on first use (a plan reads one or two pairs of most feedstocks)."""
        lo, hi = min(branches), max(branches)
        renders: dict[int, StoreRender] = {}
        for rid, bid, pid, error, notes in self.rows(
            "SELECT id, branch_id, pair_id, error, notes FROM render WHERE branch_id BETWEEN ? AND ?"
            + _pair_filter("pair_id", self.wanted)
            + " ORDER BY id",
            (lo, hi),
        ):
            res = StoreRender(self, rid, PlatformPair.parse(self.pair_keys[pid]), error, json.loads(notes))
            renders[rid] = res
            branches[bid].renders[res.pair.key] = res
        if not renders:
            return
        rlo, rhi = min(renders), max(renders)
        for rid, rule, sev, file, line, msg, fix in self.rows(
            "SELECT render_id, rule, severity, file, line, message, fix FROM finding"
            " WHERE render_id BETWEEN ? AND ? ORDER BY render_id, seq",
            (rlo, rhi),
        ):
            if rid in renders:
                renders[rid].findings.append(Finding(rule, sev, fname, file, line, msg, fix))
        for rid, name, skip in self.rows(
            "SELECT render_id, name, skip FROM output WHERE render_id BETWEEN ? AND ? AND noarch != ''",
            (rlo, rhi),
        ):
            if rid in renders:
                (renders[rid].noarch_skipped if skip else renders[rid].noarch_set).add(name)

    def outputs(self, render_id: int) -> list[Output]:
        """The outputs of one render, with their requirements, run_exports and dropped entries."""
        outputs: dict[int, Output] = {}
        for oid, name, version, noarch, bnum, skip, reason, vid, ire, iref in self.rows(
            "SELECT id, name, version, noarch, build_number, skip, skip_reason, variant_id,"
            " ignore_run_exports, ignore_run_exports_from FROM output WHERE render_id = ? ORDER BY id",
            (render_id,),
        ):
            outputs[oid] = Output(
                name=name,
                version=version,
                noarch=noarch,
                build_number=bnum,
                skip=bool(skip),
                skip_reason=reason,
                variant=self.variant(vid),
                ignore_run_exports=tuple(ire.split("\n")) if ire else (),
                ignore_run_exports_from=tuple(iref.split("\n")) if iref else (),
            )
        if not outputs:
            return []
        olo, ohi = min(outputs), max(outputs)
        # rows come grouped by output and section: build each section's tuple in one go; equal
        # requirements (the same line in every variant and pair) share one frozen object
        shared = self.shared
        cur: list[Requirement] = []
        cur_oid, cur_section = -1, ""
        for oid, section, name, spec, cond, line in self.rows(
            "SELECT output_id, section, name, spec, condition, line FROM requirement"
            " WHERE output_id BETWEEN ? AND ? ORDER BY output_id, seq",
            (olo, ohi),
        ):
            if oid != cur_oid or section != cur_section:
                cur = []
                cur_oid, cur_section = oid, section
                holder = outputs.get(oid)
                if holder is not None:
                    holder.requirements[section] = cur  # type: ignore[assignment]  # made a tuple below
            key = (name, spec, cond, line)
            req = shared.get(key)
            if req is None:
                req = shared[key] = Requirement(name, spec, cond, line)
            cur.append(req)
        for out in outputs.values():
            if out.requirements:
                out.requirements = {s: tuple(v) for s, v in out.requirements.items()}
        rex: dict[int, dict[str, list[str]]] = {}
        for oid, kind, spec in self.rows(
            "SELECT output_id, kind, spec FROM run_export WHERE output_id BETWEEN ? AND ? ORDER BY output_id, seq",
            (olo, ohi),
        ):
            rex.setdefault(oid, {}).setdefault(kind, []).append(spec)
        for oid, kinds in rex.items():
            if oid in outputs:
                outputs[oid].run_exports = {k: tuple(v) for k, v in kinds.items()}
        drops: dict[int, list[Dropped]] = {}
        for oid, section, name, cond, line in self.rows(
            "SELECT output_id, section, name, condition, line FROM dropped WHERE output_id BETWEEN ? AND ?"
            " ORDER BY output_id, seq",
            (olo, ohi),
        ):
            drops.setdefault(oid, []).append(Dropped(section, name, cond, line))
        for oid, lst in drops.items():
            if oid in outputs:
                outputs[oid].dropped = tuple(lst)
        return list(outputs.values())

    def variant(self, vid: int) -> dict[str, str]:
        """The variant values of id ``vid`` (decoded once per store; each output gets its own copy)."""
        v = self.variants.get(vid)
        if v is None:
            row = self.rows("SELECT value FROM variant WHERE id = ?", (vid,))
            v = self.variants[vid] = json.loads(row[0][0]) if row else {}
        return dict(v)

    def producers(self, name: str, pair: PlatformPair | None = None) -> list[str]:
        sql = "SELECT DISTINCT s.name FROM output o JOIN feedstock s ON s.id = o.feedstock_id WHERE o.name = ?"
        args: tuple[Any, ...] = (name,)
        if pair is not None:
            sql += " AND o.pair_id = (SELECT id FROM pair WHERE key = ?)"
            args = (name, pair.key)
        return sorted(r[0] for r in self.rows(sql, args))

    def output_names(self) -> set[str]:
        return {r[0] for r in self.rows("SELECT DISTINCT name FROM output")}

    def pair_id(self, pair: PlatformPair) -> int | None:
        pid = next((i for i, k in self.pair_keys.items() if k == pair.key), None)
        return None if pid is None or (self.wanted is not None and pid not in self.wanted) else pid

    def main_rows(
        self,
        select: str,
        where: str,
        feedstocks: Iterable[str] | None,
        args: tuple[Any, ...] = (),
        join: str = "",
    ) -> list[tuple[Any, ...]]:
        """Rows of the outputs of ``main`` renders (joined as ``o``, with ``f`` the feedstock and ``join``
        added), restricted to ``feedstocks`` when given and to the store's loaded pairs."""
        sql = (
            f"SELECT {select} FROM output o JOIN render r ON r.id = o.render_id"
            " JOIN branch b ON b.id = r.branch_id AND b.seq = 0 JOIN feedstock f ON f.id = b.feedstock_id "
            + join
            + " WHERE 1"
            + (f" AND {where}" if where else "")
            + _pair_filter("o.pair_id", self.wanted)
        )
        if feedstocks is None:
            return self.rows(sql, args)
        out: list[tuple[Any, ...]] = []
        for chunk in _chunks(sorted(set(feedstocks))):
            out += self.rows(sql + f" AND f.name IN ({','.join('?' * len(chunk))})", args + tuple(chunk))
        return out


class StoreSnapshot(Snapshot):
    """A :class:`Snapshot` whose feedstocks are read from a store on demand."""

    __slots__ = ("store",)

    def __init__(self, store: Store, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.store = store

    def producers(self, name: str, pair: PlatformPair | None = None) -> list[str]:
        return self.store.producers(name, pair)

    def output_names(self) -> set[str]:
        return self.store.output_names()

    def main_output_names(self, feedstocks: Iterable[str] | None = None) -> dict[str, set[str]]:
        out: dict[str, set[str]] = {}
        for f, name in self.store.main_rows("DISTINCT f.name, o.name", "", feedstocks):
            out.setdefault(f, set()).add(name)
        wanted = self.feedstocks if feedstocks is None else [f for f in feedstocks if f in self.feedstocks]
        return {f: out.get(f, set()) for f in wanted}

    def configured(self, target: str) -> list[str]:
        """From the feedstock rows' conda-forge.yml settings alone (no branch or render is read)."""
        return sorted(
            n
            for n, settings in self.store.rows("SELECT name, settings FROM feedstock")
            if PlatformSettings.from_dict(json.loads(settings)).configured(target)
        )

    def main_owners(self, name: str) -> set[str]:
        return {f for (f,) in self.store.main_rows("DISTINCT f.name", "o.name = ?", None, (name,))}

    def consumers(self, pair: PlatformPair, names: Iterable[str] | None = None) -> dict[str, set[str]]:
        pid = self.store.pair_id(pair)
        if pid is None:
            return {}
        out: dict[str, set[str]] = {}
        for chunk in [None] if names is None else _chunks(sorted(set(names))):
            where = "o.skip = 0 AND o.pair_id = ? AND q.pair_id = ?"
            args: tuple[Any, ...] = (pid, pid)
            if chunk is not None:
                where += f" AND q.name IN ({','.join('?' * len(chunk))})"
                args += tuple(chunk)
            for q, f in self.store.main_rows(
                "DISTINCT q.name, f.name", where, None, args, "JOIN requirement q ON q.output_id = o.id"
            ):
                out.setdefault(q, set()).add(f)
        return out

    def all_skipped(self, pair: PlatformPair, feedstocks: Iterable[str] | None = None) -> dict[str, list[str]]:
        pid = self.store.pair_id(pair)
        if pid is None:
            return {}
        seen: dict[str, tuple[bool, set[str]]] = {}
        for f, skip, reason in self.store.main_rows(
            "f.name, o.skip, o.skip_reason", "o.pair_id = ?", feedstocks, (pid,)
        ):
            every, reasons = seen.get(f, (True, set()))
            if reason:
                reasons.add(reason)
            seen[f] = (every and bool(skip), reasons)
        return {f: sorted(reasons) for f, (every, reasons) in sorted(seen.items()) if every}


def load_store(path: Path, origin: str, pairs: Iterable[PlatformPair | str] | None = None) -> StoreSnapshot:
    """Open a store (or an xz-compressed one) as a lazy :class:`Snapshot`."""
    real = resolve(path, origin)
    db = open_db(real, origin)
    store = Store(db, origin, pairs)
    meta = dict(store.rows("SELECT key, value FROM meta"))
    pinning_rows = store.rows("SELECT p.key, n.facts FROM pinning n JOIN pair p ON p.id = n.pair_id ORDER BY p.key")
    index: dict[str, list[str]] = {}
    for name, fs in store.rows("SELECT name, feedstock FROM output_index ORDER BY name, seq"):
        index.setdefault(name, []).append(fs)
    try:
        pinning = {"source": meta.get("pinning_source", ""), "platforms": {k: json.loads(v) for k, v in pinning_rows}}
    except json.JSONDecodeError as exc:
        raise SnapshotError(f"snapshot is corrupted (pinning: {exc})", origin) from exc
    snap = StoreSnapshot(
        store,
        date=meta.get("date", ""),
        description=meta.get("description", ""),
        pairs=sorted(PlatformPair.parse(k) for k in store.pair_keys.values()),
        pinning=pinning,
        output_index=index,
        failures=dict(store.rows("SELECT name, error FROM failure ORDER BY name")),
        origin=origin,
    )
    snap.feedstocks = StoreFeedstocks(store)
    return snap
