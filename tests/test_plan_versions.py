"""Version-exact plans (issue 11) on recipes shaped like the 2026-08 ones: release branches, a pin only
a branch satisfies, a noarch build that needs a newer python, a spec no branch satisfies."""

from __future__ import annotations

import pytest

from newarch.plan.planner import PlanOptions, make_plan
from snapbuilder import OSX, SnapBuilder, branch, osx_snapshot, out


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


def test_run_exports_come_from_the_branch_the_spec_chose():
    b = SnapBuilder(OSX).python(OSX, "3.13.* *_cpython")
    b.fs("openssl", out("openssl", version="3.6.2", run_exports={"weak": ["openssl >=3.6.2,<3.7.0a0"]}))
    branch(
        b,
        "openssl",
        "3.5.x",
        "3.5.6",
        out("openssl", version="3.5.6", run_exports={"weak": ["openssl >=3.5.6,<3.6.0a0"]}),
    )
    b.fs("libffi", out("libffi", version="3.4.6", run_exports={"weak": ["libffi >=3.4.6,<3.5.0a0"]}))
    b.fs("krb5", out("krb5", version="1.21.3", host=["openssl 3.5.*", "libffi 3.5.*"]))
    plan = make_plan(b.snapshot(), PlanOptions(["krb5"], "osx-arm64", "osx-64"))
    # main's run_exports (openssl >=3.6.2) would drag openssl main in beside the 3.5.x branch
    assert set(plan.feedstocks) == {"krb5", "openssl@3.5.x"}
    assert plan.feedstocks["krb5"].needs == ["openssl@3.5.x"]
    # libffi 3.5.* is a gap: what a build that does not exist would export is not known, so libffi
    # main (3.4.6) is not planned through its own run_exports
    assert [(g.name, g.spec) for g in plan.gaps] == [("libffi", "libffi 3.5.*")]
    edges = plan.feedstocks["krb5"].edges
    assert {e.spec for e in edges if e.section == "run_exports"} == {"openssl >=3.5.6,<3.6.0a0"}


def test_an_output_built_for_no_python_needs_one_python_not_every_branch():
    b = SnapBuilder(OSX).python(OSX, "3.12.* *_cpython", "3.13.* *_cpython")
    b.fs("python", out("python", version="3.13.5", variant={"python": "3.13"}))
    branch(b, "python", "3.12", "3.12.9", out("python", version="3.12.9", variant={"python": "3.12"}))
    # a C library that runs a python script while it builds: python in host, not in its variant
    b.fs("libxml2", out("libxml2", version="2.14.5", host=["python"]))
    plan = make_plan(b.snapshot(), PlanOptions(["libxml2"], "osx-arm64", "osx-64"))
    assert set(plan.feedstocks) == {"libxml2", "python"}
    assert plan.gaps == []


def test_default_python_variants_leave_out_what_no_python_build_serves():
    from snapbuilder import PAIR

    b = SnapBuilder().python(PAIR, "3.14.* *_cp314")
    b.fs("python", out("python", version="3.14.2", variant={"python": "3.14"}))
    # pywin32's own migrations render 3.12 for win-arm64, but no python build exists there
    b.fs(
        "pywin32",
        *[
            out("pywin32", host=["python"], run=["python"], variant={"python": v})
            for v in ("3.12.* *_cpython", "3.14.* *_cp314")
        ],
    )
    snap = b.snapshot()
    plan = make_plan(snap, PlanOptions(["pywin32"]))
    assert plan.python_variants == ["3.14.* *_cp314"]
    assert plan.python_left_out == {"3.12": ["pywin32"]}
    assert plan.gaps == [] and plan.feedstocks["pywin32"].variants == {"python": ["3.14.* *_cp314"]}
    # --python picks among the pinning's variants and the ones a python build serves
    with pytest.raises(ValueError, match="--python 3.12: no python build for win-arm64<-win-64"):
        make_plan(snap, PlanOptions(["pywin32"], pythons=("3.12",)))


def test_a_migration_adds_the_python_a_python_build_serves():
    # osx-arm64: the pinning says 3.13; the reached feedstocks' python314 migration renders 3.14, which
    # python main builds: covered, with no gap; pinning's 3.13 comes from the 3.13 branch
    b = SnapBuilder(OSX).python(OSX, "3.13.* *_cp313")
    b.fs("python", out("python", version="3.14.2", variant={"python": "3.14"}))
    branch(b, "python", "3.13", "3.13.7", out("python", version="3.13.7", variant={"python": "3.13"}))
    b.fs(
        "cffi",
        *[
            out("cffi", host=["python"], run=["python"], variant={"python": v})
            for v in ("3.13.* *_cp313", "3.14.* *_cp314")
        ],
    )
    plan = make_plan(b.snapshot(), PlanOptions(["cffi"], "osx-arm64", "osx-64"))
    assert plan.python_variants == ["3.13.* *_cp313", "3.14.* *_cp314"] and plan.python_left_out == {}
    assert set(plan.feedstocks) == {"cffi", "python", "python@3.13"} and plan.gaps == []


def test_a_build_for_python_min_serves_every_newer_python():
    # maturin-shaped: one build for python_min (is_python_min), the other variants skipped
    b = SnapBuilder(OSX).python(OSX, "3.12.* *_cpython", "3.13.* *_cpython")
    b.fs("python", out("python", version="3.13.5", variant={"python": "3.13"}))
    branch(b, "python", "3.12", "3.12.9", out("python", version="3.12.9", variant={"python": "3.12"}))
    mat = {"python": "3.12.* *_cpython", "is_python_min": "true"}
    b.fs("maturin", out("maturin", version="1.14.1", host=["python"], run=["python"], variant=mat))
    b.fs(
        "rpds-py",
        *[
            out(
                "rpds-py", host=["python", "maturin >=1.9,<2.0"], run=["python"], variant={"python": f"{v}.* *_cpython"}
            )
            for v in ("3.12", "3.13")
        ],
    )
    plan = make_plan(b.snapshot(), PlanOptions(["rpds-py"], "osx-arm64", "osx-64"))
    assert plan.gaps == []
    assert plan.feedstocks["maturin"].variants == {"python": ["3.12.* *_cpython"]}
    assert plan.feedstocks["rpds-py"].needs == ["maturin", "python", "python@3.12"]


def test_why_chains_name_the_jobs_they_go_through():
    from newarch.plan.explain import why

    plan = make_plan(osx_snapshot(), PlanOptions(["conda"], "osx-arm64", "osx-64"))
    paths = {tuple(c.path) for c in why(plan, "openssl")}
    assert paths == {("conda", "python@3.12", "openssl@3.5.x"), ("conda", "python", "openssl@3.5.x")}
    paths = {tuple(c.path) for c in why(plan, "backports.zstd")}
    assert paths == {("conda", "backports.zstd"), ("conda", "backports.zstd (noarch)")}


def test_free_threading_and_old_branches_do_not_widen_the_python_variants():
    from snapbuilder import PAIR

    b = SnapBuilder().python(PAIR, "3.14.* *_cp314")
    b.fs("python", out("python", version="3.14.2", variant={"python": "3.14"}))
    branch(b, "python", "3.13", "3.13.7", out("python", version="3.13.7", variant={"python": "3.13"}))
    # psutil's free-threading migration renders 3.13t and 3.14t; a python 3.13 branch exists
    ft = [
        out("psutil", host=["python"], run=["python"], variant={"python": v})
        for v in ("3.13.* *_cp313t", "3.14.* *_cp314t")
    ]
    b.fs("psutil", out("psutil", host=["python"], run=["python"], variant={"python": "3.14.* *_cp314"}), *ft)
    # an old setuptools branch built per python (3.11) must not add 3.11 to the plan
    b.fs("setuptools", out("setuptools", version="80.0", noarch="python", run=["python"]))
    branch(
        b,
        "setuptools",
        "59_x",
        "59.8.0",
        out("setuptools", version="59.8.0", host=["python"], run=["python"], variant={"python": "3.11.* *_cpython"}),
    )
    b.fs(
        "tool",
        out("tool", host=["python", "psutil", "setuptools <60"], run=["python"], variant={"python": "3.14.* *_cp314"}),
    )
    plan = make_plan(b.snapshot(), PlanOptions(["tool"]))
    assert plan.python_variants == ["3.14.* *_cp314"]
    assert plan.python_left_out == {"3.13t": ["psutil"]}
    assert "python@3.13" not in plan.feedstocks and "setuptools@59_x" not in plan.feedstocks


def test_each_noarch_variant_brings_its_own_run_deps_for_its_pythons():
    # conda-build-shaped: two noarch variants of one build, split by python
    b = SnapBuilder(OSX).python(OSX, "3.10.* *_cpython", "3.11.* *_cpython")
    b.fs("python", out("python", version="3.11.9", variant={"python": "3.11"}))
    branch(b, "python", "3.10", "3.10.16", out("python", version="3.10.16", variant={"python": "3.10"}))
    b.fs(
        "conda-build",
        out("conda-build", version="26.3.0", noarch="python", run=["python >=3.10,<3.11", "tomli"]),
        out("conda-build", version="26.3.0", noarch="python", run=["python >=3.11"]),
    )
    b.fs("tomli", out("tomli", version="2.2.1", noarch="python", run=["python >=3.8"]))
    plan = make_plan(b.snapshot(), PlanOptions(["conda-build"], "osx-arm64", "osx-64"))
    assert plan.gaps == []
    assert plan.noarch["tomli"].pythons == {"3.10"}


def test_a_run_export_a_planned_branch_satisfies_adds_no_build_of_main():
    # openssl's real run_exports allow the next minor versions (`>=3.5.6,<4.0a0`), which main (3.6.2)
    # satisfies too: the 3.5.x build the host spec chose serves the run dependency, main is not built
    b = SnapBuilder(OSX).python(OSX, "3.13.* *_cpython")
    b.fs("openssl", out("openssl", version="3.6.2", run_exports={"weak": ["openssl >=3.6.2,<4.0a0"]}))
    branch(
        b,
        "openssl",
        "3.5.x",
        "3.5.6",
        out("openssl", version="3.5.6", run_exports={"weak": ["openssl >=3.5.6,<4.0a0"]}),
    )
    b.fs("krb5", out("krb5", version="1.21.3", host=["openssl 3.5.*"], run=["openssl >=3"]))
    plan = make_plan(b.snapshot(), PlanOptions(["krb5"], "osx-arm64", "osx-64"))
    assert set(plan.feedstocks) == {"krb5", "openssl@3.5.x"}
    specs = {(e.section, e.spec) for e in plan.feedstocks["krb5"].edges}
    assert ("run_exports", "openssl >=3.5.6,<4.0a0") in specs and ("run", "openssl >=3") in specs
