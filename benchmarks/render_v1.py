"""Render every v1 (recipe.yaml) feedstock under $NEWARCH_MIRRORS for several platform pairs.

Prints one line per failure (file:line: reason), the tally per pair and recipes rendered per second
(single process, so per core). Usage:

    NEWARCH_MIRRORS=/path/to/mirrors python benchmarks/render_v1.py [PAIR ...]
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
        if src.schema == "v1":
            sources.append(src)
    print(f"{len(sources)} v1 recipes")
    for key in argv or PAIRS:
        pair = PlatformPair.parse(key)
        pinning, _ = load_pinning_for(pair)
        env = default_env(pair)
        ok = failed = 0
        relaxed: list[str] = []
        slowest = (0.0, "")
        start = time.perf_counter()
        cpu_start = time.process_time()
        for src in sources:
            t0 = time.perf_counter()
            result = render_source(src, pair, pinning, env)
            dt = time.perf_counter() - t0
            slowest = max(slowest, (dt, src.name))
            if result.ok:
                ok += 1
            else:
                failed += 1
                print(f"  FAIL {result.error}")
            relaxed.extend(f"{src.name}: {n}" for n in result.notes)
        elapsed = time.perf_counter() - start
        cpu = time.process_time() - cpu_start
        print(f"{pair.key}: rendered {ok}, failed {failed}; {len(sources) / elapsed:.1f} recipes/s wall, "
              f"{len(sources) / cpu:.1f} recipes/s per CPU second; slowest {slowest[1]} {slowest[0] * 1000:.0f} ms")
        for note in relaxed:
            print(f"  note {note}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
