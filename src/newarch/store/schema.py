"""The snapshot store's SQLite schema (format ``newarch.snapshot``, version 2).

One row per feedstock, branch, rendered platform pair, output and requirement, so a reader fetches only
what a plan's walk reaches: ``output(name, pair)`` and ``requirement(name, pair)`` are indexed, and every
child table is clustered on its parent id (``WITHOUT ROWID``) so one feedstock's rows are one range scan.

``meta`` holds the format name and version; a file without them is not a snapshot.
"""

from __future__ import annotations

FORMAT = "newarch.snapshot"
VERSION = 2
PAGE_SIZE = 4096
SQLITE_MAGIC = b"SQLite format 3\x00"
XZ_MAGIC = b"\xfd7zXZ\x00"

DDL: tuple[str, ...] = (
    "CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID",
    "CREATE TABLE pair (id INTEGER PRIMARY KEY, key TEXT NOT NULL UNIQUE, target TEXT NOT NULL, build TEXT NOT NULL)",
    # pinning facts per pair: a Variants.to_dict() as JSON (read whole: it is small)
    "CREATE TABLE pinning (pair_id INTEGER PRIMARY KEY, facts TEXT NOT NULL)",
    "CREATE TABLE feedstock (id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE, source TEXT NOT NULL,"
    " settings TEXT NOT NULL, maintained_branches TEXT NOT NULL)",
    # seq 0 is main; the Feedstock's own schema/revision/date/version/recipe_file/notes are main's
    "CREATE TABLE branch (id INTEGER PRIMARY KEY, feedstock_id INTEGER NOT NULL, seq INTEGER NOT NULL,"
    " name TEXT NOT NULL, revision TEXT NOT NULL, date TEXT NOT NULL, version TEXT NOT NULL,"
    " schema TEXT NOT NULL, recipe_file TEXT NOT NULL, notes TEXT NOT NULL, UNIQUE (feedstock_id, seq))",
    "CREATE TABLE render (id INTEGER PRIMARY KEY, branch_id INTEGER NOT NULL, pair_id INTEGER NOT NULL,"
    " error TEXT NOT NULL, notes TEXT NOT NULL, UNIQUE (branch_id, pair_id))",
    "CREATE TABLE output (id INTEGER PRIMARY KEY, render_id INTEGER NOT NULL, feedstock_id INTEGER NOT NULL,"
    " pair_id INTEGER NOT NULL, name TEXT NOT NULL, version TEXT NOT NULL, noarch TEXT NOT NULL,"
    " build_number INTEGER NOT NULL, skip INTEGER NOT NULL, skip_reason TEXT NOT NULL, variant_id INTEGER NOT NULL,"
    " ignore_run_exports TEXT NOT NULL, ignore_run_exports_from TEXT NOT NULL)",
    # variant values (JSON object), shared by the many outputs rendered with the same variant;
    # ignore_run_exports* above are names joined by newlines
    "CREATE TABLE variant (id INTEGER PRIMARY KEY, value TEXT NOT NULL UNIQUE)",
    "CREATE TABLE requirement (output_id INTEGER NOT NULL, seq INTEGER NOT NULL, pair_id INTEGER NOT NULL,"
    " section TEXT NOT NULL, name TEXT NOT NULL, spec TEXT NOT NULL, condition TEXT NOT NULL,"
    " line INTEGER NOT NULL, PRIMARY KEY (output_id, seq)) WITHOUT ROWID",
    "CREATE TABLE run_export (output_id INTEGER NOT NULL, seq INTEGER NOT NULL, kind TEXT NOT NULL,"
    " spec TEXT NOT NULL, PRIMARY KEY (output_id, seq)) WITHOUT ROWID",
    "CREATE TABLE dropped (output_id INTEGER NOT NULL, seq INTEGER NOT NULL, section TEXT NOT NULL,"
    " name TEXT NOT NULL, condition TEXT NOT NULL, line INTEGER NOT NULL, PRIMARY KEY (output_id, seq))"
    " WITHOUT ROWID",
    "CREATE TABLE finding (render_id INTEGER NOT NULL, seq INTEGER NOT NULL, rule TEXT NOT NULL,"
    " severity TEXT NOT NULL, file TEXT NOT NULL, line INTEGER NOT NULL, message TEXT NOT NULL,"
    " fix TEXT NOT NULL, PRIMARY KEY (render_id, seq)) WITHOUT ROWID",
    "CREATE TABLE history (feedstock_id INTEGER NOT NULL, seq INTEGER NOT NULL, commit_id TEXT NOT NULL,"
    " date TEXT NOT NULL, version TEXT NOT NULL, PRIMARY KEY (feedstock_id, seq)) WITHOUT ROWID",
    "CREATE TABLE output_index (name TEXT NOT NULL, seq INTEGER NOT NULL, feedstock TEXT NOT NULL,"
    " PRIMARY KEY (name, seq)) WITHOUT ROWID",
    "CREATE TABLE failure (name TEXT PRIMARY KEY, error TEXT NOT NULL) WITHOUT ROWID",
    "CREATE INDEX branch_feedstock ON branch (feedstock_id)",
    "CREATE INDEX render_branch ON render (branch_id)",
    "CREATE INDEX output_name_pair ON output (name, pair_id)",
    "CREATE INDEX output_render ON output (render_id)",
    "CREATE INDEX requirement_name_pair ON requirement (name, pair_id)",
)

TABLES: tuple[str, ...] = (
    "meta",
    "pair",
    "pinning",
    "feedstock",
    "branch",
    "render",
    "output",
    "variant",
    "requirement",
    "run_export",
    "dropped",
    "finding",
    "history",
    "output_index",
    "failure",
)
