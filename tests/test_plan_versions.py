"""Version-exact plans (issue 11) on recipes shaped like the 2026-08 ones: release branches, a pin only
a branch satisfies, a noarch build that needs a newer python, a spec no branch satisfies."""

from __future__ import annotations

from newarch.model import HistoryEntry, PlatformPair
from newarch.plan.planner import PlanOptions, make_plan
from snapbuilder import SnapBuilder, branch, out

OSX = PlatformPair("osx-arm64", "osx-64")
PY = {v: {"python": f"{v}.* *_cpython"} for v in ("3.12", "3.13")}


def osx_snapshot():
    b = SnapBuilder(OSX).python(OSX, "3.12.* *_cpython", "3.13.* *_cpython")
    b.fs("python", out("python", version="3.13.5", host=["openssl 3.5.*", "libffi 3.5.*"], variant={"python": "3.13"}))
    branch(
        b,
        "python",
        "3.12",
        "3.12.9",
        out("python", version="3.12.9", host=["openssl 3.5.*"], variant={"python": "3.12"}),
    )
    b.fs("openssl", out("openssl", version="3.6.2"))
    branch(b, "openssl", "3.5.x", "3.5.6", out("openssl", version="3.5.6"))
    b.fs("libffi", out("libffi", version="3.4.6"))
    b.fs(
        "conda",
        *[
            out("conda", run=["python", "ruamel.yaml >=0.11.14,<0.19", "backports.zstd >=1.3"], variant=PY[v])
            for v in PY
        ],
    )
    b.fs("ruamel.yaml", out("ruamel.yaml", version="0.19.1", noarch="python", run=["python >=3.9"]))
    b.feedstocks["ruamel.yaml"].source = "git"
    b.feedstocks["ruamel.yaml"].history = (
        HistoryEntry("aaaaaaa1111", "2026-01-10", "0.19.1"),
        HistoryEntry("abc1234ffff", "2025-11-02", "0.18.17"),
    )
    b.fs(
        "backports.zstd",
        *[out("backports.zstd", version="1.5.0", host=["python"], variant={"python": "3.12.* *_cpython"})],
    )
    b.fs(
        "backports.zstd",
        out("backports.zstd", version="1.5.0", noarch="python", run=["python >=3.13"]),
        pair=PlatformPair("linux-64", "linux-64"),
    )
    return b.snapshot()


def test_branches_pins_noarch_python_and_gaps():
    plan = make_plan(osx_snapshot(), PlanOptions(["conda"], "osx-arm64", "osx-64"))
    jobs = {j.name: j for j in plan.feedstocks.values()}
    # python per variant: main for 3.13, the 3.12 branch for 3.12
    assert {"python", "python@3.12"} <= set(jobs) and jobs["python@3.12"].version == "3.12.9"
    # openssl 3.5.* only the 3.5.x branch satisfies
    assert "openssl@3.5.x" in jobs and "openssl" not in jobs
    # backports.zstd: noarch serves 3.13, the compiled build is needed for 3.12
    assert "backports.zstd" in jobs and jobs["backports.zstd"].variants == {"python": ["3.12.* *_cpython"]}
    assert "backports.zstd" in plan.noarch and plan.noarch["backports.zstd"].pythons == {"3.13"}
    gaps = {(g.name, g.needed_by): g for g in plan.gaps}
    g = gaps[("ruamel.yaml", "conda")]
    assert g.versions_available == ["0.19.1 (main, noarch: python >=3.9)"]
    assert "0.18.17 at commit abc1234 (2025-11-02)" in g.suggestion
    assert "ruamel.yaml" not in plan.noarch  # the version that does not qualify is not followed
    assert gaps[("libffi", "python")].versions_available == ["3.4.6 (main)"]
    d = plan.to_json()
    assert d["python_variants"] == ["3.12.* *_cpython", "3.13.* *_cpython"]
    assert {(f["name"], f["branch"]) for f in d["feedstocks"]} >= {("python", "3.12"), ("openssl", "3.5.x")}
    assert {g["name"] for g in d["gaps"]} == {"ruamel.yaml", "libffi"}


def test_python_choice_subsets_the_plan():
    plan = make_plan(osx_snapshot(), PlanOptions(["conda"], "osx-arm64", "osx-64", pythons=("3.13",)))
    assert plan.python_variants == ["3.13.* *_cpython"]
    assert "python@3.12" not in plan.feedstocks and "backports.zstd" not in plan.feedstocks
