"""Renders of untrusted recipes in worker processes: a wall-clock deadline and a memory limit per render.

The hostile recipes here are the ones of issue 17: a Jinja list repeated inside lists and printed, a
YAML alias bomb through ``load_str_data``, a v1 context value ``"x" * 2000000000`` (Rust: only the
worker's memory limit stops it), a 50 KB line ending in a selector, and a recipe that renders for
longer than the deadline. Small limits keep the tests fast (2-5 s, 512 MiB).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from newarch.cli import main
from newarch.render.isolate import Failed, Limits, WorkerPool, format_size, parse_size

ROOT = Path(__file__).resolve().parents[1]
LIMITS = Limits(timeout=3.0, memory=512 << 20)

# -- the pool itself: tasks are module-level functions (a spawned worker imports this module) ---------


def _pid(x: int) -> tuple[int, int]:
    return x, os.getpid()


def _sleep(seconds: float) -> str:
    time.sleep(seconds)
    return "woke"


def _allocate(mib: int) -> int:
    return len(bytearray(mib << 20))


def _exit(code: int) -> None:
    os._exit(code)


def _raise() -> None:
    raise ValueError("bad task")


def test_pool_reuses_a_worker_and_returns_plain_values():
    with WorkerPool(1, LIMITS) as pool:
        outcomes = dict(pool.run((i, _pid, (i,)) for i in range(3)))
        assert [outcomes[i][0] for i in range(3)] == [0, 1, 2]
        assert len({pid for _, pid in outcomes.values()}) == 1 and pool.replaced == 0
        assert outcomes[0][1] != os.getpid()


def test_a_task_past_the_deadline_is_killed_and_the_worker_replaced():
    with WorkerPool(1, Limits(timeout=1.0, memory=512 << 20)) as pool:
        start = time.monotonic()
        outcome = pool.call(_sleep, 60)
        assert time.monotonic() - start < 30
        assert outcome == Failed("timeout", "render exceeded 1 s", "")
        assert pool.replaced == 1
        assert pool.call(_sleep, 0) == "woke"


def test_a_task_over_the_memory_limit_fails_alone():
    with WorkerPool(1, LIMITS) as pool:
        assert pool.call(_allocate, 1024) == Failed("memory", "render exceeded 512 MiB", "")
        assert pool.call(_allocate, 16) == 16 << 20


def test_a_dying_worker_and_a_failing_task_are_reported():
    with WorkerPool(1, LIMITS) as pool:
        died = pool.call(_exit, 3)
        assert isinstance(died, Failed) and died.kind == "crash" and "exit code 3" in died.message
        assert pool.call(_raise) == Failed("error", "render failed (ValueError: bad task)", "")
        assert pool.call(_pid, 7)[0] == 7


def test_sizes_parse_and_print():
    assert parse_size("2GiB") == 2 << 30 and parse_size("512M") == 512 << 20 and parse_size("0") == 0
    assert format_size(2 << 30) == "2 GiB" and format_size(0) == "no limit"
    with pytest.raises(Exception, match="memory-limit"):
        parse_size("lots")


# -- the hostile recipes in a crawl -----------------------------------------------------------------

GOOD_V0 = "package:\n  name: good\n  version: 1.0\nrequirements:\n  host:\n    - zlib\n"
GOOD_V1 = (
    "schema_version: 1\npackage:\n  name: goodv1\n  version: 1.0.0\nbuild:\n  number: 0\n"
    "requirements:\n  host:\n    - zlib\n"
)
LIST_BOMB = "package:\n  name: listbomb\n  version: 1.0\nabout:\n  summary: {{ [['a' * 1000] * 1000] * 1000 }}\n"
ALIAS_BOMB = "\\n".join(
    ["a0: &a0"] + ["  - lol"] * 10 + [ln for i in range(1, 9) for ln in [f"a{i}: &a{i}"] + [f"  - *a{i - 1}"] * 10]
)
YAML_BOMB = (
    f"{{% set d = load_str_data('{ALIAS_BOMB}', 'yaml') %}}\n"
    "package:\n  name: yamlbomb\n  version: 1.0\nabout:\n  summary: {{ d }}\n"
)
V1_BOMB = (
    'schema_version: 1\ncontext:\n  x: ${{ "x" * 2000000000 }}\n'
    "package:\n  name: v1bomb\n  version: 1.0.0\nbuild:\n  number: 0\n"
)
LONG_LINE = (
    "package:\n  name: longline\n  version: 1.0\nrequirements:\n  host:\n"
    "    - zlib" + " " * 50_000 + "# [win]\n    - libunix  # [unix]\n"
)
# 64 variants, each running a Jinja loop of 300 000 steps (inside the Jinja budgets of calls and
# iterations, so only the deadline stops it): tens of seconds of CPU, little memory
SLOW = (
    "package:\n  name: slow\n  version: 1.0\nrequirements:\n  host:\n    - dep{{ loop_variant }}\n"
    "    - x" + "{% for i in range(100000) %}{% endfor %}" * 3 + "\n"
)


def write_feedstocks(root: Path) -> Path:
    recipes = {
        "good": ("meta.yaml", GOOD_V0),
        "goodv1": ("recipe.yaml", GOOD_V1),
        "listbomb": ("meta.yaml", LIST_BOMB),
        "yamlbomb": ("meta.yaml", YAML_BOMB),
        "v1bomb": ("recipe.yaml", V1_BOMB),
        "longline": ("meta.yaml", LONG_LINE),
        "slow": ("meta.yaml", SLOW),
    }
    for name, (fname, text) in recipes.items():
        d = root / "feedstocks" / f"{name}-feedstock" / "recipe"
        d.mkdir(parents=True)
        (d / fname).write_text(text)
    return root / "feedstocks"


CRAWL = """
import json, resource, sys
from pathlib import Path
from newarch.model import PlatformPair
from newarch.render.isolate import Limits
from newarch.render.pinning import Variants
from newarch.store.build import BuildRequest, build_snapshot

if __name__ == "__main__":
    root, timeout, memory = Path(sys.argv[1]), float(sys.argv[2]), int(sys.argv[3])
    pair = PlatformPair("win-arm64", "win-64")
    pinning = Variants(values={"python": ["3.14.* *_cp314"], "c_compiler": ["vs2022"], "c_stdlib": ["vs"],
                               "loop_variant": [str(i) for i in range(1, 65)], "target_platform": ["win-arm64"]},
                       zip_keys=[])
    req = BuildRequest(sources=sorted(root.iterdir()), pairs=[pair], pinnings={pair.key: pinning}, jobs=2,
                       limits=Limits(timeout, memory))
    snap = build_snapshot(req)
    print(json.dumps({
        "failures": snap.failures,
        "renders": {n: {"error": r.error, "host": [[q.spec for q in o.reqs("host")] for o in r.outputs]}
                    for n, fs in snap.feedstocks.items() for r in fs.renders.values()},
        "maxrss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }))
"""


@pytest.fixture(scope="module")
def crawl(tmp_path_factory) -> dict:
    """One crawl over the hostile recipes and two good ones, in a fresh process (its own peak memory)."""
    tmp = tmp_path_factory.mktemp("crawl")
    src = write_feedstocks(tmp)
    script = tmp / "crawl.py"
    script.write_text(CRAWL)
    work = tmp / "tmp"  # the renders' temporary directory (TMPDIR): empty again afterwards
    work.mkdir()
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src") + os.pathsep + os.environ.get("PYTHONPATH", "")}
    env["TMPDIR"] = str(work)
    start = time.monotonic()
    proc = subprocess.run(
        [sys.executable, str(script), str(src), "3", str(512 << 20)],
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
        cwd=tmp,
    )
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    result["wall"] = time.monotonic() - start
    result["left_in_tmp"] = sorted(p.name for p in work.iterdir())
    result["tree"] = sorted(str(p.relative_to(tmp)) for p in tmp.rglob("*") if not p.is_relative_to(src))
    return result


def test_a_crawl_with_hostile_recipes_renders_the_others(crawl):
    assert crawl["renders"]["good"] == {"error": "", "host": [["zlib"]]}
    assert crawl["renders"]["goodv1"]["error"] == "" and crawl["renders"]["goodv1"]["host"] == [["zlib"]]


def test_a_render_past_the_deadline_is_one_failure(crawl):
    assert crawl["failures"]["slow-feedstock"] == "slow/recipe/meta.yaml (win-arm64<-win-64): render exceeded 3 s"
    assert "slow" not in crawl["renders"]  # nothing partial


def test_a_v1_value_past_the_memory_limit_is_one_failure(crawl):
    assert crawl["failures"]["v1bomb-feedstock"] == (
        "v1bomb/recipe/recipe.yaml (win-arm64<-win-64): render exceeded 512 MiB (the worker aborted)"
    )
    assert "v1bomb" not in crawl["renders"]


def test_growing_jinja_and_yaml_values_are_rejected_before_they_are_built(crawl):
    assert crawl["renders"]["listbomb"] == {
        "error": "listbomb/recipe/meta.yaml:5: Jinja '*' result too large",
        "host": [],
    }
    assert crawl["renders"]["yamlbomb"] == {
        "error": "yamlbomb/recipe/meta.yaml:1: load_str_data: YAML aliases expand beyond the size limit",
        "host": [],
    }


def test_a_long_line_with_a_selector_renders(crawl):
    assert crawl["renders"]["longline"] == {"error": "", "host": [["zlib"]]}


def test_the_crawl_leaves_nothing_behind(crawl):
    assert crawl["left_in_tmp"] == []
    assert crawl["tree"] == ["crawl.py", "tmp"]  # nothing written beside the feedstocks


def test_the_crawl_ends_and_the_parent_stays_small(crawl):
    assert set(crawl["failures"]) == {"slow-feedstock", "v1bomb-feedstock"}
    assert crawl["maxrss_mib"] < 500, crawl["maxrss_mib"]
    assert crawl["wall"] < 300


# -- render and lint run their recipe in a worker too ---------------------------------------------------


@pytest.fixture(scope="module")
def feedstocks(tmp_path_factory) -> Path:
    root = write_feedstocks(tmp_path_factory.mktemp("cli"))
    pin = root.parent / "cbc.yaml"
    pin.write_text("python:\n  - 3.12.* *_cpython\nloop_variant:\n" + "".join(f"  - '{i}'\n" for i in range(1, 65)))
    return root


def test_render_reports_the_memory_limit(feedstocks):
    res = CliRunner().invoke(
        main,
        ["render", str(feedstocks / "v1bomb-feedstock"), "--platform", "linux-64", "--memory-limit", "512MiB"]
        + ["--pinning", str(feedstocks.parent / "cbc.yaml")],
    )
    assert res.exit_code == 1
    assert "error: v1bomb/recipe/recipe.yaml (linux-64): render exceeded 512 MiB (the worker aborted)" in res.output


def test_render_and_lint_report_the_deadline(feedstocks):
    args = [str(feedstocks / "slow-feedstock"), "--platform", "linux-64", "--timeout", "2"]
    args += ["--pinning", str(feedstocks.parent / "cbc.yaml")]
    res = CliRunner().invoke(main, ["render", *args])
    assert res.exit_code == 1
    assert "error: slow/recipe/meta.yaml (linux-64): render exceeded 2 s" in res.output
    res = CliRunner().invoke(main, ["lint", *args, "--format", "json"])
    assert res.exit_code == 1, res.output  # a render-failed finding is an error
    (finding,) = json.loads(res.output)["findings"]
    assert finding["rule"] == "render-failed" and finding["feedstock"] == "slow"
    assert finding["message"] == "cannot render for linux-64: slow/recipe/meta.yaml (linux-64): render exceeded 2 s"


def test_bad_limits_are_one_clear_error(feedstocks):
    res = CliRunner().invoke(main, ["render", str(feedstocks / "good-feedstock"), "--memory-limit", "lots"])
    assert res.exit_code == 2 and "--memory-limit 'lots'" in res.output
