"""why / why-not on small snapshots: chains with labelled edges, and every why-not code."""

from __future__ import annotations

import pytest

from newarch.plan.explain import CODES, prune_reasons, why, why_not
from newarch.plan.planner import PlanOptions, make_plan
from snapbuilder import LINUX64, PAIR, SnapBuilder, conda_forge_like, out


def plan_of(snap, *targets, **kw):
    return make_plan(snap, PlanOptions(list(targets), "win-arm64", "win-64", **kw))


@pytest.fixture(scope="module")
def cf():
    return conda_forge_like().snapshot()


# -- why ----------------------------------------------------------------------------------------


def test_why_gives_the_shortest_chains_with_labelled_edges(cf):
    plan = plan_of(cf, "mamba")
    chains = why(plan, "zlib")
    assert chains, "zlib is in the plan"
    lengths = {len(c.edges) for c in chains}
    assert lengths == {2}  # all shortest, none longer
    paths = {tuple(c.feedstocks) for c in chains}
    assert ("mamba", "libsolv", "zlib") in paths and ("mamba", "python", "zlib") in paths
    c = next(c for c in chains if c.feedstocks == ["mamba", "libsolv", "zlib"])
    first, second = c.edges
    assert (first.src_feedstock, first.output, first.dep_output, first.section) == (
        "mamba",
        "libmamba",
        "libsolv",
        "host",
    )
    assert (second.src_feedstock, second.dst_feedstock, second.section) == ("libsolv", "zlib", "host")
    assert c.to_json()["edges"][0]["section"] == "host"


def test_why_shows_conditions_and_run_exports():
    b = SnapBuilder()
    b.fs("app", out("app", build=["vs2022_win-arm64"], host=["libz # win"]))
    b.fs("vc", out("vs2022_win-arm64", run_exports={"strong": ["vc14_runtime >=14.40"]}), out("vc14_runtime"))
    b.fs("libz", out("libz"))
    plan = plan_of(b.snapshot(), "app")
    [c] = why(plan, "libz")
    assert c.edges[0].condition == "win" and c.edges[0].spec == "libz"
    [c] = why(plan, "vc")
    e = c.edges[0]
    assert (e.section, e.via, e.spec) == ("run_exports", "vs2022_win-arm64 (build, strong)", "vc14_runtime >=14.40")


def test_why_goes_through_noarch_outputs():
    b = SnapBuilder()
    b.fs("conda-build", out("conda-build", noarch="python", run=["libarchive-c"]))
    b.fs("libarchive-c", out("libarchive-c", noarch="python", run=["libarchive"]))
    b.fs("libarchive", out("libarchive"))
    plan = plan_of(b.snapshot(), "conda-build")
    [c] = why(plan, "libarchive")
    assert c.target == "conda-build"
    assert c.feedstocks == ["conda-build", "libarchive-c", "libarchive"]
    assert why(plan, "nothing-like-this") == []


def test_why_of_a_target_is_the_target_itself(cf):
    plan = plan_of(cf, "mamba")
    [c] = why(plan, "mamba")
    assert c.target == "mamba" and c.edges == []


# -- why not --------------------------------------------------------------------------------------


def test_why_not_mypy_is_noarch_host_only(cf):
    plan = plan_of(cf, "mamba")
    w = why_not(cf, plan, "mypy")
    assert w.code == "noarch-host-only"
    assert "libmambapy-stubs" in w.text


def test_why_not_noarch_host_only_in_the_pair_render():
    b = SnapBuilder()
    b.fs("app", out("app", run=["stubs"]))
    b.fs("stubs", out("stubs", noarch="python", host=["mypy"]))
    b.fs("mypy", out("mypy"))
    plan = plan_of(b.snapshot(), "app")
    w = why_not(plan.snapshot, plan, "mypy")
    assert w.code == "noarch-host-only" and "stubs" in w.text


def test_why_not_build_only_under_cross():
    b = SnapBuilder()
    b.fs("libsolv", out("libsolv", build=["cmake"]))
    b.fs("cmake", out("cmake"))
    snap = b.snapshot()
    plan = plan_of(snap, "libsolv", mode="cross")
    w = why_not(snap, plan, "cmake")
    assert w.code == "build-only" and "libsolv" in w.text and "win-64" in w.text
    assert why_not(snap, plan_of(snap, "libsolv", mode="native"), "cmake").code == "planned"


def test_why_not_selector_from_dropped_requirements():
    b = SnapBuilder()
    b.fs("python", out("python", host=["zlib"], dropped=[("host", "readline", "not win")]))
    b.fs("zlib", out("zlib"))
    b.fs("readline", out("readline", skip=True))
    snap = b.snapshot()
    plan = plan_of(snap, "python")
    w = why_not(snap, plan, "readline")
    assert w.code == "selector" and "not win" in w.text and "python" in w.text


def test_why_not_never_guesses_a_selector_from_another_platform_render():
    # app's linux-64 render needs r-base under [linux]; its win-arm64 render recorded no dropped dep,
    # so the only causal fact is that nothing reachable on win-arm64 needs r-base
    b = SnapBuilder()
    b.fs("r-base", out("r-base"))
    b.fs("app", out("app", host=["zlib"]))
    b.fs("app", out("app", host=["zlib", "r-base # linux"]), pair=LINUX64)
    b.fs("zlib", out("zlib"))
    b.fs("r-pkg", out("r-pkg", host=["r-base"]))  # asks for it on win-arm64, but nothing needs r-pkg
    snap = b.snapshot()
    plan = plan_of(snap, "app")
    w = why_not(snap, plan, "r-base")
    assert w.code == "unreachable" and "r-pkg" in w.text and "linux" not in w.text


def test_why_not_python_variant_names_the_output_left_out_by_the_python_choice():
    b = SnapBuilder().python(PAIR, "3.12", "3.14")
    b.fs(
        "conda",
        out("conda", host=["python"], run=["backports.zstd"], variant={"python": "3.12.* *_cp312"}),
        out("conda", host=["python"], variant={"python": "3.14.* *_cp314"}),
    )
    b.fs("python", out("python", version="3.14.2", variant={"python": "3.14"}))
    b.fs("backports.zstd", out("backports.zstd"))
    snap = b.snapshot()
    plan = plan_of(snap, "conda", pythons=("3.14",))
    assert "backports.zstd" not in plan.feedstocks
    w = why_not(snap, plan, "backports.zstd")
    assert w.code == "python-variant"
    assert "3.12" in w.text and "3.14" in w.text
    # with every variant, the 3.12 build needs it (and python 3.12, which no branch builds: a gap)
    full = plan_of(snap, "conda")
    assert "backports.zstd" in full.feedstocks
    assert [(g.name, g.needed_by, g.python) for g in full.gaps] == [("python", "conda", ["3.12"])]


def test_why_not_available_ignored_absent_unreachable_noarch_other_provider(cf):
    plan = plan_of(cf, "cffi", available={"libffi"}, ignore={"pycparser"})
    assert why_not(cf, plan, "libffi").code == "available"
    assert why_not(cf, plan, "pycparser").code == "ignored"
    w = why_not(cf, plan, "no-such-feedstock")
    assert w.code == "absent"
    assert why_not(cf, plan, "ninja").code == "unreachable"
    assert why_not(cf, plan, "tzdata").code == "noarch"
    assert why_not(cf, plan, "python").code == "planned"
    plan2 = plan_of(cf, "mamba")
    w = why_not(cf, plan2, "libmamba")
    assert w.code == "other-provider" and "mamba" in w.text


def test_why_not_skipped():
    b = SnapBuilder()
    b.fs("app", out("app", host=["gfortran"]))
    b.fs("gfortran", out("gfortran", skip=True, skip_reason="not win"))
    b.fs("osx-only", out("osx-only", skip=True, skip_reason="skip: not osx"))
    snap = b.snapshot()
    plan = plan_of(snap, "app")
    w = why_not(snap, plan, "gfortran")
    assert w.code == "skipped" and "app" in w.text
    w = why_not(snap, plan, "osx-only")
    assert w.code == "skipped" and "not osx" in w.text


def test_why_not_absent_but_in_output_index():
    b = SnapBuilder()
    b.fs("a", out("a"))
    b.index("libfoo", "foo")
    plan = plan_of(b.snapshot(channel=False), "a")
    w = why_not(plan.snapshot, plan, "libfoo")
    assert w.code == "absent" and "foo" in w.text
    assert "not needed" in w.text


def test_why_not_absent_says_whether_the_plan_needs_it_through_an_unknown_dep():
    b = SnapBuilder()
    b.fs("krb5", out("krb5", host=["perl"]))
    b.fs("tool", out("tool", host=["krb5"]))
    b.index("perl", "perl-feedstockname")
    b.index("cairo", "cairo")
    plan = plan_of(b.snapshot(channel=False), "tool")
    needed = why_not(plan.snapshot, plan, "perl-feedstockname")
    assert needed.code == "absent" and "the plan needs perl" in needed.text and "krb5" in needed.text
    idle = why_not(plan.snapshot, plan, "cairo")
    assert idle.code == "absent" and "not needed" in idle.text


def test_prune_reasons_cover_every_feedstock_outside_the_plan_with_a_known_code(cf):
    plan = plan_of(cf, "mamba")
    pruned = prune_reasons(plan)
    assert {p.name for p in pruned} == set(cf.feedstocks) - set(plan.feedstocks)
    assert all(p.code in CODES and p.code not in ("planned", "absent") for p in pruned)
    codes = {p.name: p.code for p in pruned}
    assert codes["mypy"] == "noarch-host-only"
    assert codes["libmamba"] == "other-provider"
    assert codes["cffi"] == "unreachable"
