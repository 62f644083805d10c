"""Render every v0 (meta.yaml) feedstock under $NEWARCH_MIRRORS for several platform pairs.

Prints one line per failure (file:line: reason), the tally per pair and recipes rendered per second
(single process, so per core). The first pair also pays for compiling each recipe's Jinja template
(cached for the later pairs), so it is reported separately as "cold". Usage:

    NEWARCH_MIRRORS=/path/to/mirrors python benchmarks/render_v0.py [PAIR ...]
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

from newarch.errors import NewarchError
from newarch.model import PlatformPair
from newarch.render import default_env, load_pinning_for, render_source
from newarch.sources import discover, open_source

PAIRS = ("win-arm64:win-64", "win-64:win-64", "linux-64:linux-64", "osx-arm64:osx-64")


def main(argv: list[str]) -> int:
    root = os.environ.get("NEWARCH_MIRRORS")
    if not root:
        print("set NEWARCH_MIRRORS to a folder of feedstock mirrors", file=sys.stderr)
        return 2
    sources = []
    for path in discover([Path(root)]):
        try:
            src = open_source(path)
        except NewarchError as exc:
            print(f"skip {path}: {exc}")
            continue
        if src.schema == "v0":
            sources.append(src)
    print(f"{len(sources)} v0 recipes")
    total_renders, total_cpu = 0, 0.0
    for i, key in enumerate(argv or PAIRS):
        pair = PlatformPair.parse(key)
        pinning, _ = load_pinning_for(pair)
        env = default_env(pair)
        ok = failed = variants = 0
        notes: list[str] = []
        slowest = (0.0, "")
        start = time.perf_counter()
        cpu_start = time.process_time()
        for src in sources:
            t0 = time.perf_counter()
            result = render_source(src, pair, pinning, env)
            dt = time.perf_counter() - t0
            slowest = max(slowest, (dt, src.name))
            variants += len(result.outputs)
            if result.ok:
                ok += 1
            else:
                failed += 1
                print(f"  FAIL {result.error}")
            notes.extend(result.notes)
        elapsed = time.perf_counter() - start
        cpu = time.process_time() - cpu_start
        total_renders += len(sources)
        total_cpu += cpu
        print(f"{pair.key}{' (cold: compiles templates)' if i == 0 else ''}: rendered {ok}, failed {failed}, "
              f"{variants} outputs; {len(sources) / elapsed:.1f} recipes/s wall, {len(sources) / cpu:.1f} recipes/s "
              f"per CPU second; slowest {slowest[1]} {slowest[0] * 1000:.0f} ms")
        for note in notes:
            print(f"  note {note}")
    print(f"all pairs: {total_renders / total_cpu:.1f} recipes/s per CPU second")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
