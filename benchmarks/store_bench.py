"""Cold ``newarch plan`` on snapshot stores of 1k to 100k feedstocks, beside the import floor.

    PYTHONPATH=src python benchmarks/store_bench.py [--sizes 1000,10000,25000,100000] [--runs 3]
        [--workdir DIR] [--results benchmarks/RESULTS.md]

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
import os
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
FLOOR = "import click, rich.console, rich.table, rattler, networkx, sqlite3, newarch.cli, newarch.plan.planner"


def averages(db: sqlite3.Connection) -> dict[str, float]:
    one = lambda sql: db.execute(sql).fetchone()[0]  # noqa: E731
    renders, outputs = one("SELECT count(*) FROM render"), one("SELECT count(*) FROM output")
    return {
        "outputs_per_render": outputs / renders,
        "reqs_per_output": one("SELECT count(*) FROM requirement") / outputs,
        "rex_per_output": one("SELECT count(*) FROM run_export") / outputs,
        "dropped_per_output": one("SELECT count(*) FROM dropped") / outputs,
    }


def _spread(avg: float, i: int) -> int:
    """An integer count whose mean over consecutive ``i`` is ``avg`` (floor/ceil alternation)."""
    return int((i + 1) * avg) - int(i * avg)


def generate(base: Path, n: int, out: Path) -> dict[str, int]:
    """A store of ``n`` feedstocks: ``base`` (the bundled store) plus synthetic ones."""
    shutil.copyfile(base, out)
    db = sqlite3.connect(out, isolation_level=None)
    db.execute("PRAGMA journal_mode = OFF")
    db.execute("PRAGMA synchronous = OFF")
    avg = averages(db)
    pairs = [r[0] for r in db.execute("SELECT id FROM pair ORDER BY id")]
    indexes = [r for r in db.execute("SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL")]
    for name, _ in indexes:
        db.execute(f"DROP INDEX {name}")
    fid0 = db.execute("SELECT max(id) FROM feedstock").fetchone()[0]
    bid = db.execute("SELECT max(id) FROM branch").fetchone()[0]
    rid = db.execute("SELECT max(id) FROM render").fetchone()[0]
    oid = db.execute("SELECT max(id) FROM output").fetchone()[0]
    extra = max(0, n - fid0)
    common = ["python", "zlib", "openssl", "libffi", "numpy", "vs2022_win-arm64", "setuptools", "pip", "libcxx"]
    sections = ("build", "host", "host", "run", "run", "run_constraints")
    db.execute("BEGIN")
    rows: dict[str, list[tuple]] = {t: [] for t in ("feedstock", "branch", "render", "output", "req", "rex", "drop")}
    n_out = n_req = 0

    def flush() -> None:
        sql = {
            "feedstock": "INSERT INTO feedstock VALUES (?,?,?,?,?)",
            "branch": "INSERT INTO branch VALUES (?,?,?,?,?,?,?,?,?,?)",
            "render": "INSERT INTO render VALUES (?,?,?,?,?)",
            "output": "INSERT INTO output VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)",
            "req": "INSERT INTO requirement VALUES (?,?,?,?,?,?,?,?)",
            "rex": "INSERT INTO run_export VALUES (?,?,?,?)",
            "drop": "INSERT INTO dropped VALUES (?,?,?,?,?,?)",
        }
        for t, rs in rows.items():
            if rs:
                db.executemany(sql[t], rs)
                rs.clear()

    for k in range(extra):
        fid = fid0 + 1 + k
        fname = f"synth{k:06d}"
        rows["feedstock"].append((fid, fname, "git", "{}", '["1.x", "2.x"]' if k % 10 == 0 else "[]"))
        for seq, bname in enumerate(("main", "2.x", "1.x") if k % 10 == 0 else ("main",)):
            bid += 1
            version = f"{3 - seq}.{k % 7}.0"
            rows["branch"].append(
                (bid, fid, seq, bname, f"{fid:040x}", "2026-08-01", version, "v0", "recipe/meta.yaml", "[]")
            )
            for pid in pairs:
                rid += 1
                rows["render"].append((rid, bid, pid, "", "[]"))
                for j in range(_spread(avg["outputs_per_render"], rid)):
                    oid += 1
                    n_out += 1
                    oname = f"{fname}-o{j}"
                    rows["output"].append((oid, rid, fid, pid, oname, version, "", 0, 0, "", 1, "", ""))
                    for q in range(_spread(avg["reqs_per_output"], oid)):
                        dep = common[(oid + q) % len(common)] if q % 2 else f"synth{(k * 7 + q) % max(extra, 1):06d}-o0"
                        rows["req"].append((oid, q, pid, sections[q % len(sections)], dep, f"{dep} >=1", "", 10 + q))
                        n_req += 1
                    for q in range(_spread(avg["rex_per_output"], oid)):
                        rows["rex"].append((oid, q, "weak", f"{oname} >={version},<{4 - seq}.0a0"))
                    for q in range(_spread(avg["dropped_per_output"], oid)):
                        rows["drop"].append((oid, q, "build", "m2-patch", "win", 20 + q))
        if len(rows["req"]) > 200_000:
            flush()
    flush()
    db.execute("COMMIT")
    for _, sql in indexes:
        db.execute(sql)
    db.close()
    return {"feedstocks": fid0 + extra, "outputs": n_out, "requirements": n_req}


def measure(args: list[str], env: dict[str, str]) -> tuple[float, float, float]:
    """(wall s, cpu s, peak RSS MiB) of one fresh process."""
    start = time.perf_counter()
    proc = subprocess.Popen(args, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    err = proc.stderr.read().decode() if proc.stderr else ""
    if proc.stderr:
        proc.stderr.close()
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode not in (0, 1):  # plan exits 1 when something is unknown; that is an answer
        raise SystemExit(f"{' '.join(args)} failed ({proc.returncode}): {err[-2000:]}")
    return wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", default="1000,10000,25000,100000")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--workdir", type=Path, default=None)
    ap.add_argument("--results", type=Path, default=None)
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
        counts = generate(base, n, path)
        stores[n] = (path, counts, time.perf_counter() - t)
        print(
            f"generated {n:,}: {counts} in {stores[n][2]:.0f} s, {path.stat().st_size / 2**20:.0f} MiB", file=sys.stderr
        )
    py = [sys.executable]
    jobs: list[tuple[str, list[str]]] = [("import floor", [*py, "-c", FLOOR])]
    jobs.append(("bundled snapshot", [*py, "-m", "newarch", "plan"]))
    for n in sizes:
        jobs.append((f"{n:,}", [*py, "-m", "newarch", "plan", "--snapshot", str(stores[n][0])]))
    results: dict[str, list[tuple[float, float, float]]] = {name: [] for name, _ in jobs}
    measure(jobs[1][1], env)  # warm the page cache and the unpacked bundled store once
    for _ in range(ns.runs):
        for name, args in jobs:
            results[name].append(measure(args, env))
    med = {k: tuple(statistics.median(r[i] for r in v) for i in range(3)) for k, v in results.items()}
    floor = med["import floor"]
    load1 = os.getloadavg()
    out = [
        TITLE,
        "",
        f"Measured {time.strftime('%Y-%m-%d')} with `benchmarks/store_bench.py --runs {ns.runs}`; "
        f"{os.cpu_count()} cores, load average {load1[0]:.1f} at the end (other jobs were running: compare the "
        "ratios, which were measured side by side, interleaved; absolute times are inflated by the load). "
        "Medians of the runs. Each store = the bundled snapshot's real feedstocks + synthetic ones; "
        "every tenth synthetic feedstock has 3 branches; 7 platform pairs; outputs/requirements per render "
        "as the bundled snapshot's averages. `plan` = `newarch plan` (the default seeds and table output, "
        "win-arm64<-win-64), a fresh process each time.",
        "",
        "| snapshot | feedstocks | outputs | requirements | file MiB | wall s | CPU s | peak RSS MiB | wall / floor | CPU / floor | RSS / floor |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for name, _ in jobs:
        w, c, r = med[name]
        if name == "import floor":
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
            f"| {r / floor[2]:.2f} |"
        )
    out += [
        "",
        f'Import floor = `python -c "{FLOOR}"`. Synthetic outputs/requirements are counted '
        "without the real feedstocks' rows (`+`).",
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
    if not ns.workdir:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
