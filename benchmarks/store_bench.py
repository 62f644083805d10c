"""Cold ``newarch plan`` on snapshot stores of 1k to 100k feedstocks, beside the import floor.

    PYTHONPATH=src python benchmarks/store_bench.py [--sizes 1000,10000,25000,100000] [--runs 3]
        [--workdir DIR] [--results benchmarks/RESULTS.md]

With ``--workdir`` the generated stores are kept there and reused by the next run.
Each generated store holds the bundled snapshot's real feedstocks (so the default plan walks the
same closure) plus synthetic feedstocks up to N: 3 branches (main + 2 release branches) for every
tenth, one render per platform pair of the bundled snapshot (7), and per render / output the
bundled snapshot's average numbers of outputs, requirements, run_exports and dropped entries. Rows
are inserted with SQL (no model objects), indexes are built after the inserts.

Every measurement is a fresh process (``python -m newarch plan --snapshot FILE``): wall time, CPU
time and peak RSS from ``os.wait4``. The import floor is a process importing what the plan imports.
Runs are interleaved (floor, bundled, each size; repeated) so that machine load hits all alike; the
figures are medians. The Markdown section is printed and, with ``--results``, replaces the section
of the same title in that file.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
SRC = HERE.parent / "src"
TITLE = "## Snapshot store: cold plan from 1k to 100k feedstocks"
# The floor of importing newarch's dependencies (pyproject's `dependencies`, one import each, and sqlite3);
# and the stricter floor of the third-party modules `newarch plan` itself imports.
FLOOR = "import click, rich.console, rich.table, rattler, rattler_build, networkx, ruamel.yaml, jinja2, yaml, sqlite3"
PLAN_FLOOR = "import click, rich.console, rich.table, rattler, sqlite3"


def averages(db: sqlite3.Connection) -> dict[str, float]:
    one = lambda sql: db.execute(sql).fetchone()[0]  # noqa: E731
    renders, outputs = one("SELECT count(*) FROM render"), one("SELECT count(*) FROM output")
    return {
        "outputs_per_render": outputs / renders,
        "reqs_per_output": one("SELECT count(*) FROM requirement") / outputs,
        "rex_per_output": one("SELECT count(*) FROM run_export") / outputs,
        "dropped_per_output": one("SELECT count(*) FROM dropped") / outputs,
    }


def generate(base: Path, n: int, out: Path) -> dict[str, int]:
    """A store of ``n`` feedstocks: ``base`` (the bundled store) plus synthetic ones, made by SQL."""
    shutil.copyfile(base, out)
    db = sqlite3.connect(out, isolation_level=None)
    db.execute("PRAGMA journal_mode = OFF")
    db.execute("PRAGMA synchronous = OFF")
    db.execute("PRAGMA cache_size = -200000")
    avg = averages(db)
    indexes = list(db.execute("SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL"))
    for name, _ in indexes:
        db.execute(f"DROP INDEX {name}")
    fid0, bid0, rid0, oid0 = (
        db.execute(f"SELECT coalesce(max(id), 0) FROM {t}").fetchone()[0]
        for t in ("feedstock", "branch", "render", "output")
    )
    extra = max(0, n - fid0)
    db.execute("BEGIN")
    db.execute("CREATE TEMP TABLE num (i INTEGER PRIMARY KEY)")
    db.execute(
        "INSERT INTO num WITH RECURSIVE c(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM c WHERE i < 63) SELECT i FROM c"
    )
    # feedstocks k = 0..extra-1; every tenth has the release branches 1.x and 2.x
    db.execute(
        "INSERT INTO feedstock WITH RECURSIVE c(k) AS (SELECT 0 UNION ALL SELECT k + 1 FROM c WHERE k < ?)"
        " SELECT ? + 1 + k, printf('synth%06d', k), 'git', '{}', CASE WHEN k % 10 = 0 THEN '[\"1.x\", \"2.x\"]'"
        " ELSE '[]' END FROM c WHERE k < ?",
        (extra, fid0, extra),
    )
    db.execute(
        "INSERT INTO branch (feedstock_id, seq, name, revision, date, version, schema, recipe_file, notes)"
        " SELECT f.id, b.seq, b.name, printf('%040x', f.id), '2026-08-01', printf('%d.%d.0', 3 - b.seq, f.id % 7),"
        " 'v0', 'recipe/meta.yaml', '[]' FROM feedstock f"
        " JOIN (SELECT 0 AS seq, 'main' AS name UNION ALL SELECT 1, '2.x' UNION ALL SELECT 2, '1.x') b"
        " ON b.seq = 0 OR (f.id - ? - 1) % 10 = 0 WHERE f.id > ? ORDER BY f.id, b.seq",
        (fid0, fid0),
    )
    db.execute(
        "INSERT INTO render (branch_id, pair_id, error, notes) SELECT b.id, p.id, '', '[]'"
        " FROM branch b JOIN pair p WHERE b.id > ? ORDER BY b.id, p.id",
        (bid0,),
    )
    # per render / output: the bundled averages, as floor/ceil alternation over the row id
    spread = "(CAST(({x} + 1) * {a} AS INTEGER) - CAST({x} * {a} AS INTEGER))"
    db.execute(
        "INSERT INTO output (render_id, feedstock_id, pair_id, name, version, noarch, build_number, skip,"
        " skip_reason, variant_id, ignore_run_exports, ignore_run_exports_from)"
        " SELECT r.id, b.feedstock_id, r.pair_id, printf('%s-o%d', f.name, num.i), b.version, '', 0, 0, '', 1, '', ''"
        " FROM render r JOIN branch b ON b.id = r.branch_id JOIN feedstock f ON f.id = b.feedstock_id"
        f" JOIN num ON num.i < {spread.format(x='r.id', a=avg['outputs_per_render'])}"
        " WHERE r.id > ? ORDER BY r.id, num.i",
        (rid0,),
    )
    names = ["python", "zlib", "openssl", "libffi", "numpy", "vs2022_win-arm64", "setuptools", "pip", "libcxx"]
    db.execute("CREATE TEMP TABLE common (i INTEGER PRIMARY KEY, name TEXT)")
    db.executemany("INSERT INTO temp.common VALUES (?, ?)", list(enumerate(names)))
    sections = ["build", "host", "host", "run", "run", "run_constraints"]
    db.execute("CREATE TEMP TABLE sec (i INTEGER PRIMARY KEY, name TEXT)")
    db.executemany("INSERT INTO temp.sec VALUES (?, ?)", list(enumerate(sections)))
    db.execute(
        "INSERT INTO requirement SELECT o.id, num.i, o.pair_id, sec.name,"
        " CASE WHEN num.i % 2 = 1 THEN c.name ELSE printf('synth%06d-o0', (o.feedstock_id * 7 + num.i) % ?) END,"
        " CASE WHEN num.i % 2 = 1 THEN c.name ELSE printf('synth%06d-o0', (o.feedstock_id * 7 + num.i) % ?) END"
        " || ' >=1', '', 10 + num.i FROM output o"
        f" JOIN num ON num.i < {spread.format(x='o.id', a=avg['reqs_per_output'])}"
        " JOIN temp.common c ON c.i = (o.id + num.i) % 9 JOIN temp.sec sec ON sec.i = num.i % 6"
        " WHERE o.id > ? ORDER BY o.id, num.i",
        (max(extra, 1), max(extra, 1), oid0),
    )
    db.execute(
        "INSERT INTO run_export SELECT o.id, num.i, 'weak', o.name || ' >=' || o.version FROM output o"
        f" JOIN num ON num.i < {spread.format(x='o.id', a=avg['rex_per_output'])} WHERE o.id > ? ORDER BY o.id, num.i",
        (oid0,),
    )
    db.execute(
        "INSERT INTO dropped SELECT o.id, num.i, 'build', 'm2-patch', 'win', 20 + num.i FROM output o"
        f" JOIN num ON num.i < {spread.format(x='o.id', a=avg['dropped_per_output'])} WHERE o.id > ? ORDER BY o.id, num.i",
        (oid0,),
    )
    db.execute("COMMIT")
    for _, sql in indexes:
        db.execute(sql)
    counts = {
        "feedstocks": db.execute("SELECT count(*) FROM feedstock").fetchone()[0],
        "outputs": db.execute("SELECT count(*) FROM output WHERE id > ?", (oid0,)).fetchone()[0],
        "requirements": db.execute("SELECT count(*) FROM requirement WHERE output_id > ?", (oid0,)).fetchone()[0],
    }
    # marks a finished store, so that a re-run with the same --workdir reuses it
    db.execute("INSERT INTO meta VALUES ('synthetic', ?)", (json.dumps(counts, sort_keys=True),))
    db.close()
    return counts


def reuse(path: Path, n: int) -> dict[str, int] | None:
    """The counts of a finished store of ``n`` feedstocks at ``path`` (None: generate it)."""
    if not path.is_file():
        return None
    try:
        db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        row = db.execute("SELECT value FROM meta WHERE key = 'synthetic'").fetchone()
        db.close()
    except sqlite3.DatabaseError:
        return None
    counts = json.loads(row[0]) if row else None
    return counts if counts and counts.get("feedstocks") == n else None


def measure(args: list[str], env: dict[str, str]) -> tuple[float, float, float]:
    """(wall s, cpu s, peak RSS MiB) of one fresh process, from GNU time when present (the RSS that
    ``wait4`` reports for a child of this process counts this, larger, process's pages before exec)."""
    gnu_time = Path("/usr/bin/time").exists()
    with tempfile.NamedTemporaryFile("r", suffix=".time") as rep:
        cmd = ["/usr/bin/time", "-f", "%e %U %S %M", "-o", rep.name, *args] if gnu_time else args
        start = time.perf_counter()
        proc = subprocess.run(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, check=False)
        wall = time.perf_counter() - start
        if proc.returncode not in (0, 1):  # plan exits 1 when something is unknown; that is an answer
            raise SystemExit(f"{' '.join(args)} failed ({proc.returncode}): {proc.stderr.decode()[-2000:]}")
        if gnu_time:
            fields = rep.read().split()[-4:]
            return float(fields[0]), float(fields[1]) + float(fields[2]), int(fields[3]) / 1024
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)  # fallback: cumulative, so only CPU is exact
    return wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", default="1000,10000,25000,100000")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--workdir", type=Path, default=None)
    ap.add_argument("--results", type=Path, default=None)
    ap.add_argument(
        "--commands",
        action="store_true",
        help="also time the other commands that read a snapshot (plan --format json, why-not, verify, status, "
        "report) on each store, one fresh process each",
    )
    ns = ap.parse_args()
    sys.path.insert(0, str(SRC))
    from newarch.store import read as readmod
    from newarch.store.snapshot import BUNDLED_NAME, load

    work = ns.workdir or Path(tempfile.mkdtemp(prefix="newarch-store-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "PYTHONPATH": str(SRC), "XDG_CACHE_HOME": str(work / "cache")}
    os.environ["XDG_CACHE_HOME"] = str(work / "cache")
    snap = load(None)  # unpacks the bundled store into the cache
    data = (SRC / "newarch" / "data" / BUNDLED_NAME).read_bytes()
    base = readmod.unpack_xz(data, BUNDLED_NAME, BUNDLED_NAME.split(".")[0])  # the same (cached) file
    sizes = [int(s) for s in ns.sizes.split(",") if s]
    stores: dict[int, tuple[Path, dict[str, int], float]] = {}
    for n in sizes:
        path = work / f"synth-{n}.sqlite"
        t = time.perf_counter()
        counts = reuse(path, n) or generate(base, n, path)
        stores[n] = (path, counts, time.perf_counter() - t)
        print(
            f"generated {n:,}: {counts} in {stores[n][2]:.0f} s, {path.stat().st_size / 2**20:.0f} MiB", file=sys.stderr
        )
    py = [sys.executable]
    jobs: list[tuple[str, list[str]]] = [
        ("import floor", [*py, "-c", FLOOR]),
        ("plan's imports", [*py, "-c", PLAN_FLOOR]),
    ]
    jobs.append(("bundled snapshot", [*py, "-m", "newarch", "plan"]))
    for n in sizes:
        jobs.append((f"{n:,}", [*py, "-m", "newarch", "plan", "--snapshot", str(stores[n][0])]))
    results: dict[str, list[tuple[float, float, float]]] = {name: [] for name, _ in jobs}
    measure(jobs[1][1], env)  # warm the page cache and the unpacked bundled store once
    load0 = os.getloadavg()
    for _ in range(ns.runs):
        for name, args in jobs:
            results[name].append(measure(args, env))
    med = {k: tuple(statistics.median(r[i] for r in v) for i in range(3)) for k, v in results.items()}
    floor, strict = med["import floor"], med["plan's imports"]
    load1 = os.getloadavg()
    out = [
        TITLE,
        "",
        f"Measured {time.strftime('%Y-%m-%d')} with `benchmarks/store_bench.py --runs {ns.runs}`; "
        f"{os.cpu_count()} cores, load average {load0[0]:.1f} at the start and {load1[0]:.1f} at the end (on a "
        "shared machine compare the ratios, measured side by side and interleaved; absolute times grow with the "
        "load). "
        "Medians of the runs. Each store = the bundled snapshot's real feedstocks + synthetic ones; "
        "every tenth synthetic feedstock has 3 branches; 7 platform pairs; outputs/requirements per render "
        "as the bundled snapshot's averages. `plan` = `newarch plan` (the default seeds and table output, "
        "win-arm64<-win-64), a fresh process each time.",
        "",
        "| snapshot | feedstocks | outputs | requirements | file MiB | wall s | CPU s | peak RSS MiB | wall / floor "
        "| CPU / floor | RSS / floor | wall / plan's imports |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for name, _ in jobs:
        w, c, r = med[name]
        if name in ("import floor", "plan's imports"):
            cells = ["—", "—", "—", "—"]
        elif name == "bundled snapshot":
            cells = [str(len(snap.feedstocks)), "", "", f"{Path(str(base)).stat().st_size / 2**20:.1f}"]
        else:
            n = int(name.replace(",", ""))
            path, counts, _ = stores[n]
            cells = [
                f"{counts['feedstocks']:,}",
                f"{counts['outputs']:,}+",
                f"{counts['requirements']:,}+",
                f"{path.stat().st_size / 2**20:.0f}",
            ]
        out.append(
            f"| {name} | {' | '.join(cells)} | {w:.2f} | {c:.2f} | {r:.0f} | {w / floor[0]:.2f} | {c / floor[1]:.2f} "
            f"| {r / floor[2]:.2f} | {w / strict[0]:.2f} |"
        )
    out += [
        "",
        f"Import floor = `python -c \"{FLOOR}\"` (newarch's dependencies); plan's imports = "
        f'`python -c "{PLAN_FLOOR}"` (what `newarch plan` imports besides newarch). Synthetic '
        "outputs/requirements are counted without the real feedstocks' rows (`+`).",
        "",
    ]
    text = "\n".join(out)
    print(text)
    if ns.results:
        old = ns.results.read_text(encoding="utf-8") if ns.results.exists() else ""
        if TITLE in old:
            head, _, rest = old.partition(TITLE)
            nxt = rest.find("\n## ")
            old = head + (rest[nxt + 1 :] if nxt >= 0 else "")
        ns.results.write_text(old.rstrip("\n") + "\n\n" + text, encoding="utf-8")
    if ns.commands:
        commands = [
            ("plan --format json", ["plan", "--format", "json"]),
            ("why-not synth000123", ["why-not", "synth000123"]),
            ("verify", ["verify"]),
            ("status", ["status"]),
            ("report", ["report", "--out", str(work / "report")]),
        ]
        rows = ["", "| command | " + " | ".join(f"{n:,} feedstocks: wall s / peak RSS MiB" for n in sizes) + " |"]
        rows.append("|---|" + "---:|" * len(sizes))
        for label, args in commands:
            cells = []
            for n in sizes:
                w, _, r = measure([*py, "-m", "newarch", *args, "--snapshot", str(stores[n][0])], env)
                cells.append(f"{w:.2f} / {r:.0f}")
            rows.append(f"| `{label}` | " + " | ".join(cells) + " |")
        print("\n".join(rows))
    if not ns.workdir:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
