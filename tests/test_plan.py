"""The planner's semantic rules (issue 4), each on a small snapshot built in the test."""

from __future__ import annotations

import itertools
import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from newarch.plan.graph import Edge
from newarch.plan.planner import SCHEMA, PlanOptions, make_plan
from newarch.model import PlatformPair
from snapbuilder import LINUX64, PAIR, WIN64, SnapBuilder, conda_forge_like, out

VS = ["vs2022_win-arm64", "vs_win-arm64"]


def plan_of(snap, *targets, **kw):
    return make_plan(snap, PlanOptions(list(targets), "win-arm64", "win-64", **kw))


def edges_to(plan, dep: str) -> list[Edge]:
    return [e for f in plan.feedstocks.values() for e in f.edges if e.dep_output == dep] + [
        e for n in plan.noarch.values() for e in n.edges if e.dep_output == dep
    ]


@pytest.fixture(scope="module")
def cf():
    return conda_forge_like().snapshot()


# -- noarch ------------------------------------------------------------------------------------


def test_noarch_output_host_deps_are_not_followed_but_run_deps_are():
    b = SnapBuilder()
    b.fs("app", out("app", host=["stubs"]))
    b.fs("stubs", out("stubs", noarch="python", host=["mypy"], run=["runtime-lib"]))
    b.fs("mypy", out("mypy"))
    b.fs("runtime-lib", out("runtime-lib"))
    plan = plan_of(b.snapshot(), "app")
    assert "mypy" not in plan.feedstocks
    assert "runtime-lib" in plan.feedstocks
    assert "stubs" not in plan.feedstocks  # noarch: built once elsewhere
    assert "stubs" in plan.noarch
    # app needs runtime-lib through the noarch package
    assert plan.feedstocks["app"].needs == ["runtime-lib"]
    assert [e.section for e in plan.unfollowed["mypy"]] == ["host"]


def test_mamba_does_not_wait_on_mypy(cf):
    plan = plan_of(cf, "mamba")
    assert "mamba" in plan.feedstocks
    assert "mypy" not in plan.feedstocks
    assert "mypy" not in plan.needed


def test_target_whose_outputs_are_all_noarch_still_needs_its_run_deps():
    b = SnapBuilder()
    b.fs("conda-build", out("conda-build", noarch="python", host=["hatchling"], run=["libarchive-c", "python"]))
    b.fs("libarchive-c", out("libarchive-c", noarch="python", run=["libarchive"]))
    b.fs("libarchive", out("libarchive"))
    b.fs("python", out("python"))
    b.fs("hatchling", out("hatchling"))
    plan = plan_of(b.snapshot(), "conda-build")
    assert sorted(plan.feedstocks) == ["libarchive", "python"]
    assert plan.feedstocks["libarchive"].why == ["conda-build", "libarchive-c", "libarchive"]


# -- build deps, modes -------------------------------------------------------------------------


def _cmake_snapshot():
    b = SnapBuilder()
    b.fs("libsolv", out("libsolv", build=["cmake"], host=["zlib"]))
    b.fs("cmake", out("cmake", host=["libuv"]))
    b.fs("zlib", out("zlib"))
    b.fs("libuv", out("libuv"))
    return b.snapshot()


def test_build_deps_not_followed_in_cross_mode():
    plan = plan_of(_cmake_snapshot(), "libsolv", mode="cross")
    assert sorted(plan.feedstocks) == ["libsolv", "zlib"]
    assert plan.feedstocks["libsolv"].mode == "cross"
    assert [e.section for e in plan.unfollowed["cmake"]] == ["build"]
    assert plan.toolchain == []  # cmake exists on win-64


def test_build_deps_followed_in_native_mode():
    plan = plan_of(_cmake_snapshot(), "libsolv", mode="native")
    assert sorted(plan.feedstocks) == ["cmake", "libsolv", "libuv", "zlib"]
    assert plan.feedstocks["libsolv"].mode == "native"
    assert any(e.section == "build" and e.dep_output == "cmake" for e in plan.feedstocks["libsolv"].edges)
    assert plan.feedstocks["libsolv"].needs == ["cmake", "zlib"]


def test_native_build_deps_that_are_noarch_only_bring_their_run_deps():
    b = SnapBuilder()
    b.fs("openssl", out("openssl", build=["m2-perl"]))
    b.fs(
        "m2",
        out("m2-perl", noarch="generic", host=["m2-gcc"], run=["m2-runtime"]),
        out("m2-runtime", noarch="generic"),
        out("m2-gcc"),
    )
    plan = plan_of(b.snapshot(), "openssl", mode="native")
    assert sorted(plan.feedstocks) == ["openssl"]
    assert {"m2-perl", "m2-runtime"} <= set(plan.noarch)


def test_auto_mode_builds_natively_when_cross_python_is_missing(cf):
    plan = plan_of(cf, "cffi")
    cffi = plan.feedstocks["cffi"]
    assert cffi.mode == "native"
    assert "cross-python_win-arm64" in cffi.mode_reason
    tool = {t.name: t for t in plan.toolchain}["cross-python_win-arm64"]
    assert tool.platform == "win-64" and tool.needed_by == ["cffi"] and tool.resolved_by == "native"
    # native: its build deps (python, compilers) count on the target; cross-python itself is cross-only
    assert any(e.section == "build" and e.dep_output == "python" for e in cffi.edges)
    assert "cross-python_win-arm64" not in plan.needed
    # zlib's build deps all exist on win-64: cross
    plan2 = plan_of(cf, "zlib")
    assert plan2.feedstocks["zlib"].mode == "cross"
    assert "every build dependency exists" in plan2.feedstocks["zlib"].mode_reason


def test_auto_mode_cross_compiles_once_cross_python_exists():
    b = conda_forge_like()
    b.index("cross-python_win-arm64", "cross-python")
    plan = plan_of(b.snapshot(missing=()), "cffi")
    assert plan.feedstocks["cffi"].mode == "cross"
    assert plan.toolchain == []


def test_build_tool_the_feedstock_already_uses_on_the_build_platform_is_not_missing():
    # krb5-like: `posix` (from msys2, in no conda-forge feedstock) is in build on win-64 already
    b = SnapBuilder()
    b.fs("krb5", out("krb5", build=["posix", "vs2022_win-arm64"]))
    b.fs("krb5", out("krb5", build=["posix", "vs2022_win-64"]), pair=WIN64)
    b.fs("newtool", out("newtool", build=["posix"]))  # no win-64 render: nothing says posix is there
    b.index("vs2022_win-arm64", "vc")
    snap = b.snapshot(missing=("posix",))
    plan = plan_of(snap, "krb5", "newtool")
    assert plan.feedstocks["krb5"].mode == "cross"
    assert plan.feedstocks["newtool"].mode == "native"
    assert [(t.name, t.needed_by) for t in plan.toolchain if t.status == "missing"] == [("posix", ["newtool"])]
    # the output index places vs2022_win-arm64 in vc, which the snapshot does not render for win-64:
    # unknown there, reported, never assumed to exist
    assert [(t.name, t.status) for t in plan.toolchain if t.status != "missing"] == [("vs2022_win-arm64", "unknown")]


def test_conda_forge_yml_decides_the_mode_in_auto(cf):
    from newarch.model import PlatformSettings

    b = conda_forge_like()
    b.feedstocks["cffi"].settings = PlatformSettings(build_platform={"win_arm64": "win_64"})
    b.feedstocks["zlib"].settings = PlatformSettings(provider={"win_arm64": "github_actions"})
    plan = plan_of(b.snapshot(), "cffi")
    cffi, zlib = plan.feedstocks["cffi"], plan.feedstocks["zlib"]
    assert cffi.mode == "cross" and "already has it cross-compiled" in cffi.mode_reason
    assert "cross-python_win-arm64 does not exist" in cffi.mode_reason
    assert zlib.mode == "native" and "already has it built natively" in zlib.mode_reason
    # an explicit --mode still wins
    assert plan_of(b.snapshot(), "cffi", mode="native").feedstocks["cffi"].mode == "native"


def test_cross_mode_lists_missing_toolchain_but_stays_cross(cf):
    plan = plan_of(cf, "cffi", mode="cross")
    assert plan.feedstocks["cffi"].mode == "cross"
    assert [t.name for t in plan.toolchain] == ["cross-python_win-arm64"]
    assert plan.toolchain[0].resolved_by == ""
    assert not any(e.section == "build" for e in plan.feedstocks["cffi"].edges)


def test_native_pair_is_native():
    b = SnapBuilder(WIN64)
    b.fs("a", out("a", build=["tool"]), pair=WIN64)
    b.fs("tool", out("tool"), pair=WIN64)
    plan = make_plan(b.snapshot(), PlanOptions(["a"], "win-64", "win-64"))
    assert plan.feedstocks["a"].mode == "native"
    assert "tool" in plan.feedstocks


# -- run_exports --------------------------------------------------------------------------------


def test_compiler_run_exports_are_followed_and_ucrt_only_where_rendered(cf):
    plan = plan_of(cf, "zlib")
    assert "vc" in plan.feedstocks
    rex = [e for e in plan.feedstocks["zlib"].edges if e.section == "run_exports" and e.dst_feedstock == "vc"]
    assert rex and all(e.via.startswith(("vs2022_win-arm64 (build", "vs_win-arm64 (build")) for e in rex)
    assert "ucrt" not in plan.feedstocks and "ucrt" not in plan.needed
    assert plan.feedstocks["zlib"].needs == ["vc"]


def test_compiler_run_exports_with_ucrt_pull_ucrt():
    b = SnapBuilder()
    b.fs("vc", out("vs2022_win-arm64", run_exports={"strong": ["vc14_runtime >=14", "ucrt >=10"]}), out("vc14_runtime"))
    b.fs("ucrt", out("ucrt"))
    b.fs("zlib", out("zlib", build=["vs2022_win-arm64"]))
    plan = plan_of(b.snapshot(), "zlib")
    assert sorted(plan.feedstocks) == ["ucrt", "vc", "zlib"]


def test_weak_run_exports_of_build_deps_do_not_apply_but_of_host_deps_do():
    b = SnapBuilder()
    b.fs("a", out("a", build=["btool"], host=["hlib"]))
    b.fs("btool", out("btool", run_exports={"weak": ["bweak"], "strong": ["bstrong"]}))
    b.fs("hlib", out("hlib", run_exports={"weak": ["hweak"], "strong_constrains": ["hcon"]}))
    for n in ("bweak", "bstrong", "hweak", "hcon"):
        b.fs(n, out(n))
    plan = plan_of(b.snapshot(), "a", mode="cross")
    assert sorted(plan.feedstocks) == ["a", "bstrong", "hlib", "hweak"]
    e = next(e for e in plan.feedstocks["a"].edges if e.dep_output == "hweak")
    assert (e.section, e.via) == ("run_exports", "hlib (host, weak)")


def test_ignore_run_exports_and_ignore_run_exports_from():
    b = SnapBuilder()
    b.fs("a", out("a", host=["fmt", "spdlog"], ignore_run_exports_from=["fmt"], ignore_run_exports=["spdlog-rt"]))
    b.fs("fmt", out("fmt", run_exports={"weak": ["fmt-rt"]}))
    b.fs("spdlog", out("spdlog", run_exports={"weak": ["spdlog-rt", "spdlog-other"]}))
    for n in ("fmt-rt", "spdlog-rt", "spdlog-other"):
        b.fs(n, out(n))
    plan = plan_of(b.snapshot(), "a")
    assert sorted(plan.feedstocks) == ["a", "fmt", "spdlog", "spdlog-other"]


# -- skip, availability, ignore, unknown ---------------------------------------------------------


def test_skipped_outputs_are_not_needed(cf):
    b = SnapBuilder()
    b.fs(
        "mamba",
        out("mamba", host=["libmamba"]),
        out("stubs", noarch="python", skip=True, run=["only-for-stubs"]),
        out("libmamba"),
    )
    b.fs("only-for-stubs", out("only-for-stubs"))
    plan = plan_of(b.snapshot(), "mamba")
    assert sorted(plan.feedstocks) == ["mamba"]
    assert plan.feedstocks["mamba"].outputs == ["mamba", "libmamba"]


def test_dependency_only_skipped_for_the_platform_is_reported_not_planned():
    b = SnapBuilder()
    b.fs("a", out("a", host=["linux-only"]))
    b.fs("linux-only", out("linux-only", skip=True, skip_reason="not linux"))
    plan = plan_of(b.snapshot(), "a")
    assert sorted(plan.feedstocks) == ["a"]
    u = {u.name: u for u in plan.unknown}["linux-only"]
    assert u.kind == "skipped" and u.needed_by == ["a"] and "linux-only" in u.reason


def test_available_outputs_are_not_built_nor_followed(cf):
    full = plan_of(cf, "cffi")
    assert {"python", "libffi", "openssl"} <= set(full.feedstocks)
    plan = plan_of(cf, "cffi", available={"python", "python_abi"})
    assert "python" not in plan.feedstocks
    assert "libffi" not in plan.feedstocks and "openssl" not in plan.feedstocks  # only needed through python
    assert "cffi" in plan.available_hits["python"]
    assert "python" not in plan.feedstocks["cffi"].needs


def test_available_target_needs_nothing(cf):
    plan = plan_of(cf, "zlib", available={"zlib", "libzlib"})
    assert plan.feedstocks == {}


def test_ignored_names_are_not_followed(cf):
    plan = plan_of(cf, "cffi", ignore={"python"})
    assert "python" not in plan.feedstocks
    assert "cffi" in plan.ignored_hits["python"]


def test_unknown_dependencies_are_kept_with_who_needs_them():
    b = SnapBuilder()
    b.fs("a", out("a", host=["nosuchpkg", "b"], run=["__win"]))
    b.fs("b", out("b", run=["nosuchpkg", "external-lib"]))
    b.index("external-lib", "external")
    plan = plan_of(b.snapshot(channel=False), "a", "missing-target")
    unknown = {u.name: u for u in plan.unknown}
    assert unknown["nosuchpkg"].needed_by == ["a", "b"] and unknown["nosuchpkg"].kind == "unknown"
    assert unknown["external-lib"].kind == "external" and "external" in unknown["external-lib"].reason
    assert unknown["missing-target"].needed_by == ["target"]
    assert "__win" not in unknown  # virtual packages are the system's


def test_dependency_on_feedstock_that_failed_to_render_is_unknown_unrendered():
    b = SnapBuilder()
    b.fs("a", out("a", host=["broken"]))
    b.fs("broken", error="recipe/meta.yaml:3: bad selector")
    b.index("broken", "broken")
    plan = plan_of(b.snapshot(channel=False), "a")
    u = {u.name: u for u in plan.unknown}["broken"]
    assert u.kind == "unrendered" and "bad selector" in u.reason


# -- resolution ---------------------------------------------------------------------------------


def test_multi_provider_choice_prefers_the_feedstock_named_like_the_output_and_is_reported(cf):
    b = conda_forge_like()
    b.fs("solver", out("solver", host=["libmamba"]))
    plan = plan_of(b.snapshot(), "solver")
    assert "libmamba" in plan.feedstocks and "mamba" not in plan.feedstocks
    choice = {c.name: c for c in plan.choices}["libmamba"]
    assert choice.chosen == "libmamba" and choice.candidates == ["libmamba", "mamba"]
    assert "named like the output" in choice.reason


def test_multi_provider_prefers_feedstocks_that_render_the_name_for_the_platform():
    b = SnapBuilder()
    b.fs("a", out("a", run=["libgcc"]))
    b.fs("ctng-compilers", out("libgcc", skip=True))
    b.fs("ctng-compilers", out("libgcc"), pair=LINUX64)
    b.fs("m2w64-gcc-libs", out("libgcc"))
    plan = plan_of(b.snapshot(), "a")
    assert "m2w64-gcc-libs" in plan.feedstocks and "ctng-compilers" not in plan.feedstocks


def test_sibling_outputs_resolve_inside_the_feedstock(cf):
    plan = plan_of(cf, "mamba")
    # mamba builds libmamba itself: the libmamba feedstock is not needed
    assert "libmamba" not in plan.feedstocks
    e = next(e for e in plan.feedstocks["mamba"].edges if e.dep_output == "libmamba" and e.output == "libmambapy")
    assert e.dst_feedstock == "mamba"


def test_a_build_builds_every_output_so_sibling_requirements_count():
    b = SnapBuilder()
    b.fs("curl", out("libcurl", host=["openssl"]), out("curl", host=["libcurl", "libssh2"]))
    b.fs("openssl", out("openssl"))
    b.fs("libssh2", out("libssh2"))
    plan = plan_of(b.snapshot(), "libcurl")
    assert sorted(plan.feedstocks) == ["curl", "libssh2", "openssl"]
    assert plan.feedstocks["curl"].needed_outputs == ["libcurl"]
    assert plan.feedstocks["curl"].outputs == ["libcurl", "curl"]


def test_target_may_name_a_feedstock():
    b = SnapBuilder()
    b.fs("zlib-fs", out("libz", host=["dep"]), out("libz-static", skip=True, host=["other"]))
    b.fs("dep", out("dep"))
    b.fs("other", out("other"))
    plan = plan_of(b.snapshot(), "zlib-fs")
    assert sorted(plan.feedstocks) == ["dep", "zlib-fs"]
    assert plan.roots == [("zlib-fs", "libz")]


# -- order, cycles, tipping point -----------------------------------------------------------------


def test_waves_critical_path_and_unblocks(cf):
    plan = plan_of(cf, "mamba")
    for f in plan.feedstocks.values():
        assert all(plan.feedstocks[d].wave < f.wave for d in f.needs)
        assert (f.wave == 0) == (not f.needs)

    def dependents(name):
        out, todo = set(), [name]
        while todo:
            n = todo.pop()
            for f in plan.feedstocks.values():
                if n in f.needs and f.name not in out:
                    out.add(f.name)
                    todo.append(f.name)
        return out

    for f in plan.feedstocks.values():
        assert f.unblocks == len(dependents(f.name))
    assert plan.feedstocks["mamba"].unblocks == 0
    assert plan.feedstocks["python"].unblocks == 2  # pybind11 and mamba
    assert plan.feedstocks["vc"].unblocks >= 10
    cp = plan.critical_path
    assert cp[0] == "vc" and cp[-1] == "mamba" and len(cp) == max(f.wave for f in plan.feedstocks.values()) + 1
    for a, b in itertools.pairwise(cp):
        assert a in plan.feedstocks[b].needs


def test_cycles_found_with_edges_and_the_weakest_edge_to_break():
    b = SnapBuilder()
    b.fs("top", out("top", host=["a"]))
    b.fs("a", out("a", host=["b"]))
    b.fs("b", out("b", host=["c"]))
    b.fs("c", out("c", run=["a"]))  # c needs a only at run time: the easiest edge to drop
    plan = plan_of(b.snapshot(), "top")
    assert len(plan.cycles) == 1
    cyc = plan.cycles[0]
    assert cyc.members == ["a", "b", "c"]
    assert cyc.suggested_breaks == [("c", "a")]
    assert {(e.src_feedstock, e.dst_feedstock, e.section) for e in cyc.edges} == {
        ("a", "b", "host"),
        ("b", "c", "host"),
        ("c", "a", "run"),
    }
    assert {plan.feedstocks[n].wave for n in cyc.members} == {0}
    assert plan.feedstocks["top"].wave == 1
    assert plan.feedstocks["a"].unblocks == 3  # b, c and top
    assert plan.to_json()["cycles"] == [["a", "b", "c"]]


AARCH64 = PlatformPair("linux-aarch64", "linux-64")


def test_tipping_point_is_the_wave_after_which_conda_conda_build_and_ninja_exist():
    # linux-aarch64 builders do not run linux-64 binaries: native builds wait for the tools
    b = SnapBuilder(AARCH64)
    b.fs("python", out("python"))
    b.fs("conda", out("conda", host=["python"], run=["python"]))
    b.fs("conda-build", out("conda-build", noarch="python", run=["conda", "python"]))
    b.fs("ninja", out("ninja"))
    b.fs("rattler-build", out("rattler-build", host=["conda"]))  # later than conda-build
    plan = make_plan(b.snapshot(), PlanOptions(["conda", "conda-build"], "linux-aarch64", "linux-64"))
    assert plan.feedstocks["conda"].wave == 1
    assert plan.tipping_point_wave == 1
    assert plan.tipping_point["extra_feedstocks"] == ["ninja", "rattler-build"]
    assert "ninja" not in plan.feedstocks  # the tools are planned aside, not added to the plan
    plan2 = make_plan(
        b.snapshot(), PlanOptions(["conda"], "linux-aarch64", "linux-64", available={"ninja", "conda", "python"})
    )
    assert plan2.tipping_point_wave == -1


def test_tipping_point_is_null_when_a_tool_cannot_exist():
    b = SnapBuilder(AARCH64)
    b.fs("conda", out("conda"))
    b.fs("ninja", out("ninja"))
    plan = make_plan(b.snapshot(), PlanOptions(["conda"], "linux-aarch64", "linux-64"))
    assert plan.tipping_point_wave is None


def test_tipping_point_under_emulation_is_before_the_plan():
    # win-arm64 runs win-64's conda-build under emulation: native builds are possible from the start,
    # whatever wave the target's own tools come in
    b = SnapBuilder()
    b.fs("python", out("python"))
    b.fs("conda", out("conda", host=["python"], run=["python"]))
    b.fs("ninja", out("ninja"))
    plan = plan_of(b.snapshot(), "conda", "ninja")
    assert plan.tipping_point_wave == -1
    assert plan.tipping_point["profile"] == {"target_runs": "win-64", "emulated": True}
    assert plan.tipping_point["native_tools_wave"] is None  # no conda-build anywhere
    assert "emulation" in plan.tipping_point["reason"]


# -- JSON contract --------------------------------------------------------------------------------


def test_json_contract(cf):
    plan = plan_of(cf, "mamba", "cffi")
    d = json.loads(plan.dumps())
    assert d["schema"] == SCHEMA == "newarch.plan/2"
    for key in (
        "platform",
        "build_platform",
        "mode",
        "targets",
        "feedstocks",
        "toolchain",
        "pruned",
        "cycles",
        "unknown",
        "critical_path",
        "tipping_point_wave",
    ):
        assert key in d
    assert (d["platform"], d["build_platform"], d["mode"], d["targets"]) == (
        "win-arm64",
        "win-64",
        "auto",
        ["mamba", "cffi"],
    )
    names = [f["name"] for f in d["feedstocks"]]
    assert len(names) == len(set(names)) == len(plan.feedstocks)
    for f in d["feedstocks"]:
        assert isinstance(f["wave"], int) and isinstance(f["unblocks"], int)
        assert isinstance(f["outputs"], list) and isinstance(f["needs"], list)
        assert f["why"][-1] == f["name"] and f["why"][0] in ("mamba", "cffi")
        assert not f["name"].endswith("-feedstock")
    assert [t["name"] for t in d["toolchain"]] == ["cross-python_win-arm64"]
    assert d["toolchain"][0]["platform"] == "win-64"
    pruned = {p["name"] for p in d["pruned"]}
    assert pruned == set(cf.feedstocks) - set(names)
    assert all(p["reason"] for p in d["pruned"])


@pytest.mark.parametrize("mode", ["auto", "cross", "native"])
def test_fast_dependency_collection_agrees_with_the_labelled_edges(cf, mode):
    b = conda_forge_like()
    b.fs(
        "a",
        out(
            "a",
            build=VS + ["fmt"],
            host=["fmt", "zlib"],
            ignore_run_exports_from=["fmt", "vs_win-arm64"],
            ignore_run_exports=["libzlib"],
        ),
    )
    plan = plan_of(b.snapshot(), "mamba", "cffi", "a", mode=mode)
    for fs in plan.feedstocks.values():
        followed = {e.dep_output for e in fs.edges if e.dst_feedstock != fs.name or e.dep_output not in fs.outputs}
        assert set(fs.deps) == followed, fs.name
    for node in plan.noarch.values():
        assert set(node.deps) == {e.dep_output for e in node.edges}


def test_noarch_fallback_variant_is_used_instead_of_a_compiled_build():
    """conda-forge's python noarch variants: compiled per platform + one noarch fallback from linux-64."""
    b = SnapBuilder()
    b.fs("conda-build", out("conda-build", noarch="python", run=["chardet", "unixy"]))
    b.fs("chardet", out("chardet", host=["python", "mypy"], run=["python"]))
    b.fs(
        "chardet",
        out("chardet", host=["python", "mypy"], run=["python"]),
        out("chardet", noarch="python", host=["python"], run=["python"]),
        pair=LINUX64,
    )
    # a noarch variant restricted to unix by a virtual package is no fallback on windows
    b.fs("unixy", out("unixy", host=["python"]))
    b.fs("unixy", out("unixy", noarch="python", run=["python", "__unix"]), pair=LINUX64)
    b.fs("python", out("python"))
    b.fs("mypy", out("mypy"))
    plan = plan_of(b.snapshot(), "conda-build")
    assert "chardet" not in plan.feedstocks and "mypy" not in plan.feedstocks
    assert "chardet" in plan.noarch and "noarch variant" in plan.needed["chardet"].resolution.reason
    assert "unixy" in plan.feedstocks
    assert "python" in plan.feedstocks


def test_noarch_package_skipped_for_the_target_but_built_elsewhere_is_used():
    b = SnapBuilder()
    b.fs("cffi", out("cffi", host=["m2-patch"]))
    b.fs("m2-binary-packages", out("m2-patch", noarch="generic", skip=True))
    b.fs("m2-binary-packages", out("m2-patch", noarch="generic", run=["m2-runtime"]), out("m2-runtime"), pair=WIN64)
    b.fs("linux-only", out("linux-only", noarch="generic", skip=True))
    b.fs("cffi", out("cffi", host=["m2-patch", "linux-only"]))
    plan = plan_of(b.snapshot(), "cffi")
    assert "m2-patch" in plan.noarch and "m2-patch" not in {u.name for u in plan.unknown}
    assert {u.name: u.kind for u in plan.unknown}["linux-only"] == "skipped"


def test_noarch_output_kept_with_skip_true_everywhere_is_taken_as_published():
    # m2-binary-packages keeps already published msys2 repackages in its recipe with `skip: true`
    b = SnapBuilder()
    b.fs("conda", out("conda", noarch="python", run=["m2-bash # win"]))
    for pair in (PAIR, WIN64):
        b.fs(
            "m2-binary-packages",
            out("m2-bash", noarch="generic", skip=True, skip_reason="true", run=["m2-runtime"]),
            out("m2-runtime", noarch="generic", skip=True, skip_reason="true"),
            pair=pair,
        )
    b.fs("winonly", out("gone", noarch="generic", skip=True, skip_reason="not linux"))
    b.fs("conda", out("conda", noarch="python", run=["m2-bash # win", "gone"]))
    snap = b.snapshot()
    plan = plan_of(snap, "conda")
    assert {"m2-bash", "m2-runtime"} <= set(plan.noarch)
    assert "m2-binary-packages" not in plan.feedstocks
    unknown = {u.name: u.kind for u in plan.unknown}
    assert "m2-bash" not in unknown and unknown["gone"] == "skipped"
    # without the output index entry nothing says it was ever published
    unlisted = b.snapshot()
    unlisted.output_index.pop("m2-bash")
    plan = plan_of(unlisted, "conda")
    assert {u.name: u.kind for u in plan.unknown}["m2-bash"] == "skipped"


@settings(max_examples=150, deadline=None)
@given(
    st.integers(1, 12).flatmap(
        lambda n: st.tuples(st.just(n), st.sets(st.tuples(st.integers(0, n - 1), st.integers(0, n - 1))))
    )
)
def test_strongly_connected_components_match_mutual_reachability(graph):
    """Two nodes share a component exactly when each reaches the other (computed here by closure)."""
    from newarch.plan.order import strongly_connected

    n, edges = graph
    succ = {u: sorted(v for a, v in edges if a == u) for u in range(n)}
    reach = {u: {u} for u in range(n)}
    changed = True
    while changed:
        changed = False
        for a, b in edges:
            new = reach[b] - reach[a]
            if new:
                reach[a] |= new
                changed = True
    comps = strongly_connected(list(range(n)), lambda u: succ[u])
    assert sorted(x for c in comps for x in c) == list(range(n))  # a partition
    for c in comps:
        for u in range(n):
            assert (u in c) == (u in reach[c[0]] and c[0] in reach[u])


def test_strongly_connected_on_a_long_chain_does_not_recurse():
    from newarch.plan.order import strongly_connected

    n = 20_000  # deeper than Python's recursion limit
    comps = strongly_connected(list(range(n)), lambda u: [u + 1] if u + 1 < n else [0])
    assert len(comps) == 1 and len(comps[0]) == n
