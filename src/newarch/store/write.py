"""Write a :class:`~newarch.store.snapshot.Snapshot` as a SQLite store, byte-identically for the same input.

Rows are inserted in sorted order with ids counted here, the page size is fixed, and the file is
VACUUMed at the end, so the same snapshot gives the same bytes. The file is built beside the
destination and renamed over it: a partial file never replaces a good one.
"""

from __future__ import annotations

import json
import lzma
import os
import sqlite3
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

from newarch.model import RUN_EXPORT_KINDS, SECTIONS, Feedstock, Output, RenderResult
from newarch.store.schema import DDL, FORMAT, PAGE_SIZE, VERSION

if TYPE_CHECKING:
    from newarch.store.model import Snapshot


def _json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


class _Writer:
    def __init__(self, db: sqlite3.Connection, pair_ids: dict[str, int]) -> None:
        self.db = db
        self.pair_ids = pair_ids
        self.branch_id = self.render_id = self.output_id = 0
        self.variants: dict[str, int] = {}
        self.rows: dict[str, list[tuple[Any, ...]]] = {
            t: [] for t in ("branch", "render", "output", "requirement", "run_export", "dropped", "finding", "history")
        }

    def pair_id(self, key: str) -> int:
        if key not in self.pair_ids:  # a render for a pair the snapshot does not list: record the pair
            target, _, build = key.partition(":")
            self.pair_ids[key] = len(self.pair_ids) + 1
            self.db.execute("INSERT INTO pair VALUES (?,?,?,?)", (self.pair_ids[key], key, target, build or target))
        return self.pair_ids[key]

    def feedstock(self, fid: int, fs: Feedstock) -> None:
        for seq, br in enumerate(fs.builds()):
            self.branch_id += 1
            self.rows["branch"].append(
                (
                    self.branch_id,
                    fid,
                    seq,
                    br.name,
                    br.revision,
                    br.date,
                    br.version,
                    br.schema,
                    br.recipe_file,
                    _json(list(br.notes)),
                )
            )
            for key in sorted(br.renders):
                self.render(fid, self.pair_id(key), br.renders[key], fs.name)
        for seq, h in enumerate(fs.history):
            self.rows["history"].append((fid, seq, h.commit, h.date, h.version))

    def render(self, fid: int, pid: int, res: RenderResult, fname: str) -> None:
        self.render_id += 1
        rid = self.render_id
        self.rows["render"].append((rid, self.branch_id, pid, res.error, _json(list(res.notes))))
        for seq, f in enumerate(sorted(res.findings, key=lambda f: (f.rule, f.file, f.line, f.message))):
            self.rows["finding"].append((rid, seq, f.rule, f.severity, f.file, f.line, f.message, f.fix))
        for out in sorted(res.outputs, key=Output.sort_key):
            self.output(rid, fid, pid, out)

    def output(self, rid: int, fid: int, pid: int, o: Output) -> None:
        self.output_id += 1
        oid = self.output_id
        self.rows["output"].append(
            (
                oid,
                rid,
                fid,
                pid,
                o.name,
                o.version,
                o.noarch,
                o.build_number,
                int(o.skip),
                o.skip_reason,
                self.variant_id(o.variant),
                "\n".join(sorted(o.ignore_run_exports)),
                "\n".join(sorted(o.ignore_run_exports_from)),
            )
        )
        seq = 0
        for section in SECTIONS:
            for r in o.requirements.get(section, ()):
                self.rows["requirement"].append((oid, seq, pid, section, r.name, r.spec, r.condition, r.line))
                seq += 1
        seq = 0
        for kind in RUN_EXPORT_KINDS:
            for spec in sorted(o.run_exports.get(kind, ())):
                self.rows["run_export"].append((oid, seq, kind, spec))
                seq += 1
        for seq, d in enumerate(o.dropped):
            self.rows["dropped"].append((oid, seq, d.section, d.name, d.condition, d.line))

    def variant_id(self, variant: dict[str, str]) -> int:
        text = _json(dict(sorted(variant.items())))
        vid = self.variants.get(text)
        if vid is None:
            vid = self.variants[text] = len(self.variants) + 1
            self.db.execute("INSERT INTO variant VALUES (?,?)", (vid, text))
        return vid

    def flush(self) -> None:
        for table, rows in self.rows.items():
            if rows:
                marks = ",".join("?" * len(rows[0]))
                self.db.executemany(f"INSERT INTO {table} VALUES ({marks})", rows)
                rows.clear()


def write_store(snap: Snapshot, path: str | Path) -> None:
    """Write ``snap`` to ``path`` (atomically); a name ending in ``.xz`` gets the xz-compressed store."""
    path = Path(path)
    if path.suffix == ".xz":
        plain = path.with_name(f".{path.name}.sqlite.tmp")
        try:
            write_store(snap, plain)
            compress(plain, path)
        finally:
            if plain.exists():
                plain.unlink()
        return
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent or ".")
    os.close(fd)
    os.unlink(tmp)
    try:
        db = sqlite3.connect(tmp, isolation_level=None)
        try:
            _fill(db, snap)
            db.execute("VACUUM")
        finally:
            db.close()
        os.replace(tmp, path)
    except BaseException:
        for leftover in (tmp, tmp + "-journal"):
            if os.path.exists(leftover):
                os.unlink(leftover)
        raise


def _fill(db: sqlite3.Connection, snap: Snapshot) -> None:
    db.execute(f"PRAGMA page_size = {PAGE_SIZE}")
    db.execute("PRAGMA journal_mode = OFF")
    db.execute("PRAGMA synchronous = OFF")
    db.execute("BEGIN")
    for stmt in DDL:
        db.execute(stmt)
    meta = {
        "format": FORMAT,
        "version": str(VERSION),
        "date": snap.date,
        "description": snap.description,
        "pinning_source": str((snap.pinning or {}).get("source", "")),
    }
    db.executemany("INSERT INTO meta VALUES (?,?)", sorted(meta.items()))
    pair_ids: dict[str, int] = {}
    for i, p in enumerate(sorted(snap.pairs), 1):
        pair_ids[p.key] = i
        db.execute("INSERT INTO pair VALUES (?,?,?,?)", (i, p.key, p.target, p.build))
    w = _Writer(db, pair_ids)
    platforms = (snap.pinning or {}).get("platforms") or {}
    for fid, name in enumerate(sorted(snap.feedstocks), 1):
        fs = snap.feedstocks[name]
        db.execute(
            "INSERT INTO feedstock VALUES (?,?,?,?,?)",
            (fid, fs.name, fs.source, _json(fs.settings.to_dict()), _json(list(fs.maintained_branches))),
        )
        w.feedstock(fid, fs)
        if w.output_id and len(w.rows["requirement"]) > 200_000:
            w.flush()
    w.flush()
    for key in sorted(platforms):
        db.execute("INSERT INTO pinning VALUES (?,?)", (w.pair_id(key), _json(platforms[key])))
    db.executemany(
        "INSERT INTO output_index VALUES (?,?,?)",
        [(n, seq, f) for n in sorted(snap.output_index) for seq, f in enumerate(sorted(snap.output_index[n]))],
    )
    db.executemany("INSERT INTO failure VALUES (?,?)", sorted(snap.failures.items()))
    db.execute("COMMIT")


def compress(path: str | Path, out: str | Path) -> None:
    """xz the store (the form newarch bundles): deterministic bytes for the same store."""
    data = Path(path).read_bytes()
    packed = lzma.compress(data, format=lzma.FORMAT_XZ, preset=9 | lzma.PRESET_EXTREME)
    from newarch.files import write_atomic

    write_atomic(Path(out), packed)
