"""newarch verify: the plan's builds as py-rattler records, solved with the real solver."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from newarch.cli import main
from newarch.model import Output, PlatformPair, Requirement
from newarch.verify.channel import PlannedBuild, build_string, sibling_exact_pins
from newarch.verify.checks import ALL_TARGETS, build_channel, verify
from newarch.verify.explain import KINDS
from newarch.verify.solve import parse_chains
from snapbuilder import PAIR, SnapBuilder, branch, out

WIN64 = PlatformPair("win-64", "win-64")
RISCV = PlatformPair("linux-riscv64", "linux-64")
LINUX64 = PlatformPair("linux-64", "linux-64")


def _python(version: str = "3.12.4", tag: str = "cp312") -> Output:
    short = ".".join(version.split(".")[:2])
    return Output(
        "python",
        version,
        variant={"python": short},
        requirements={"run": (Requirement.from_spec(f"python_abi {short}.* *_{tag}"),)},
        run_exports={"weak": (f"python_abi {short}.* *_{tag}",), "noarch": ("python",)},
    )


def _abi(version: str, tag: str) -> Output:
    return Output("python_abi", version, noarch="generic", variant={"python_abi_tag": tag})


def _builds(snap, pair, *names, mode="cross", schema="v0"):
    return [
        PlannedBuild(
            n,
            "main",
            [o for o in snap.feedstocks[n].renders[pair.key].outputs if not o.noarch and not o.skip],
            mode,
            0,
            schema,
        )
        for n in names
    ]


def test_a_plan_missing_a_run_dependency_is_caught():
    b = SnapBuilder()
    b.fs("app", out("app", version="1.0", run=["libfoo >=1"]))
    b.fs("libfoo", out("libfoo", version="1.0"))
    snap = b.snapshot()
    ok = verify(snap, PAIR, [("app", "app")], _builds(snap, PAIR, "app", "libfoo"))
    assert [t.result.solvable for t in ok.targets] == [True]
    assert {"app", "libfoo"} <= {r.name.normalized for r in ok.targets[0].result.solution}
    bad = verify(snap, PAIR, [("app", "app")], _builds(snap, PAIR, "app"))  # the plan forgot libfoo
    t = bad.targets[0]
    assert t.result.solvable is False
    assert t.result.missing == ("libfoo >=1",)
    assert t.result.chains[0][-1] == "libfoo >=1" and t.result.chains[0][0].startswith("app")
    assert not bad.ok


def test_a_build_string_pin_no_build_has_is_caught():
    b = SnapBuilder()
    b.fs("app", out("app", version="1.0", run=["foo 1.0 *_x86_64"]))
    b.fs("foo", out("foo", version="1.0"))  # the version fits: only the build string fails
    snap = b.snapshot()
    v = verify(snap, PAIR, [("app", "app")], _builds(snap, PAIR, "app", "foo"))
    r = v.targets[0].result
    assert r.solvable is False and r.missing == ("foo ==1.0 *_x86_64",)
    # a recipe that promises that build string for itself (m2-conda-epoch's run_exports) satisfies it
    b.fs("foo", out("foo", version="1.0", run_exports={"weak": ["foo 1.0 *_x86_64"]}))
    snap = b.snapshot()
    v = verify(snap, PAIR, [("app", "app")], _builds(snap, PAIR, "app", "foo"))
    assert v.targets[0].result.solvable is True
    assert "foo 1.0 0_x86_64" in v.targets[0].to_json()["solution"]


def test_noarch_python_too_new_for_the_consumers_python():
    b = SnapBuilder()
    b.fs("python", _python("3.12.4", "cp312"))
    b.fs("python_abi", _abi("3.12", "cp312"), _abi("3.14", "cp314"))
    b.fs("tool", out("tool", noarch="python", host=["python"], run=["python >=3.14"]))
    snap = b.snapshot()
    builds = _builds(snap, PAIR, "python")
    v = verify(snap, PAIR, [("tool", "tool")], builds, pythons=["3.12.* *_cp312"], minimal=False)
    r = v.targets[0].result
    assert v.targets[0].python == "3.12.* *_cp312"
    assert r.solvable is False
    assert any(c[-1].startswith("python") for c in r.chains)
    # the same noarch build installs with python 3.14 once that is built
    b.fs("python", _python("3.14.2", "cp314"))
    snap = b.snapshot()
    v = verify(snap, PAIR, [("tool", "tool")], _builds(snap, PAIR, "python"), pythons=["3.14.* *_cp314"])
    assert v.targets[0].result.solvable is True
    names = set(v.targets[0].to_json()["solution"])
    assert "python_abi 3.14 0_cp314" in names


def _native_snapshot(pair: PlatformPair, build: PlatformPair):
    b = SnapBuilder(pair)
    b.fs("ext", out("ext", build=["make"], host=["zlib"]))
    b.fs("zlib", out("zlib"))
    b.fs("make", out("make"))
    # conda-build exists for the build platform (conda-forge ships it there), nowhere else
    b.fs("conda-build", out("conda-build"), pair=build)
    return b.snapshot()


def test_an_emulated_build_tool_serves_native_builds_on_win_arm64_only():
    snap = _native_snapshot(PAIR, WIN64)
    builds = _builds(snap, PAIR, "ext", mode="native") + _builds(snap, PAIR, "zlib", "make")
    v = verify(snap, PAIR, [("ext", "ext")], builds, minimal=False)
    assert [(b.build, b.ok) for b in v.builders] == [("ext", True)]
    assert "win-64" in v.builders[0].how and "emulated" in v.builders[0].how
    assert [(e.env, e.result.solvable) for e in v.envs if e.build == "ext"] == [("host", True), ("build", True)]

    snap = _native_snapshot(RISCV, LINUX64)
    builds = _builds(snap, RISCV, "ext", mode="native") + _builds(snap, RISCV, "zlib", "make")
    v = verify(snap, RISCV, [("ext", "ext")], builds, minimal=False)
    assert [(b.build, b.ok) for b in v.builders] == [("ext", False)]
    assert "no conda-build installable on linux-riscv64" in v.builders[0].how
    assert not v.ok


def test_native_build_env_needs_the_recipes_build_deps_on_the_target():
    snap = _native_snapshot(PAIR, WIN64)
    builds = _builds(snap, PAIR, "ext", mode="native") + _builds(snap, PAIR, "zlib")  # make not planned
    v = verify(snap, PAIR, [("ext", "ext")], builds, minimal=False)
    env = next(e for e in v.envs if e.env == "build")
    assert env.result.solvable is False and env.result.missing == ("make",)


def test_minimality_flags_a_build_no_solve_needs():
    b = SnapBuilder()
    b.fs("app", out("app", version="1.0", host=["zlib"], run=["libfoo"]))
    b.fs("libfoo", out("libfoo", version="1.0"))
    b.fs("zlib", out("zlib", version="1.3.1", run_exports={"weak": ["zlib >=1"]}))
    b.fs("spare", out("spare", version="1.0"))
    snap = b.snapshot()
    builds = _builds(snap, PAIR, "app", "libfoo", "zlib", "spare")
    builds[-1].kept_because = "app (app build: spare)"
    v = verify(snap, PAIR, [("app", "app")], builds)
    assert v.ok
    assert [u.build for u in v.unneeded] == ["spare"]
    assert v.unneeded[0].kept_because == "app (app build: spare)"
    # zlib is a run dep through its run_exports: the app record carries it
    assert "zlib >=1" in v.to_json()["targets"][0]["solution"] or any(
        s.startswith("zlib ") for s in v.to_json()["targets"][0]["solution"]
    )
    assert v.figures()["not_needed"] == 1


def test_build_strings_follow_the_recipes():
    py = _python("3.14.2", "cp314")
    assert build_string(py, {}).endswith("_0_cp314")
    # python-feedstock's 3.10-3.12 branches: "..._cpython", what the pinning's "3.12.* *_cpython" asks for
    assert build_string(_python("3.12.9", "cp312"), {}).endswith("_0_cpython")
    assert build_string(_abi("3.14", "cp314"), {}) == "0_cp314"
    ext = Output("ext", "1.0", variant={"python": "3.14.* *_cp314"})
    assert build_string(ext, {}).startswith("py314h")
    from newarch.verify.channel import PIN_RUN_AS_BUILD, run_spec

    per_py = Output("ext", "1.0", variant={"python": "3.10.* *_cpython"})
    assert run_spec(per_py, "python", PIN_RUN_AS_BUILD) == "python >=3.10,<3.11.0a0"
    once = Output("maturin", "1.14.1", variant={"python": "3.10.* *_cpython", "is_python_min": "true"})
    assert run_spec(once, "python", PIN_RUN_AS_BUILD) == "python"  # serves every newer python too
    lib = Output("libmamba", "2.6.1")
    user = Output("libmambapy", "2.6.1", requirements={"host": (Requirement.from_spec("libmamba ==2.6.1 h8bc80fe_0"),)})
    assert build_string(lib, sibling_exact_pins([lib, user])) == "h8bc80fe_0"


def test_chains_from_a_solver_message():
    msg = """Cannot solve the request because of: conda * cannot be installed because there are no viable options:
└─ conda 25.1 would require
   └─ python >=3.14,<3.15.0a0, which cannot be installed because there are no viable options:
      └─ python 3.14.6 would require
         └─ libffi 3.5.*, for which no candidates were found."""
    assert parse_chains(msg) == [("conda *", "conda 25.1", "python >=3.14,<3.15.0a0", "python 3.14.6", "libffi 3.5.*")]


def test_cli_json_and_strict(tmp_path):
    b = SnapBuilder()
    b.fs("app", out("app", run=["libfoo >=1"]))
    path = tmp_path / "snap.json.xz"
    b.snapshot().save(path)
    runner = CliRunner()
    r = runner.invoke(main, ["verify", "app", "--snapshot", str(path), "--format", "json"])
    assert r.exit_code == 0, r.output
    doc = json.loads(r.output)
    assert doc["targets"][0]["solvable"] is False and doc["targets"][0]["missing"] == ["libfoo >=1"]
    assert runner.invoke(main, ["verify", "app", "--snapshot", str(path), "--strict"]).exit_code == 1
    assert runner.invoke(main, ["verify", "nope", "--snapshot", str(path)]).exit_code == 2
    bad = runner.invoke(main, ["verify", "app", "--snapshot", str(path), "--python", "3.12[["])
    assert bad.exit_code == 2 and "--python" in bad.output


def test_seed_plan_on_the_bundled_snapshot():
    from newarch.commands.options import SEED_TARGETS
    from newarch.commands.verify_cmd import run_verify, summary_line
    from newarch.store import snapshot

    snap = snapshot.load()
    plan, v = run_verify(snap, list(SEED_TARGETS), "win-arm64", "win-64")
    print(summary_line(v))
    assert v.pythons == ["3.14.* *_cp314"]
    singles = {(t.target, t.python) for t in v.targets if t.target != ALL_TARGETS}
    assert singles == {(t, "3.14.* *_cp314") for t, _ in plan.roots}
    together = [t for t in v.targets if t.target == ALL_TARGETS]
    assert len(together) == 1 and set(together[0].result.request.specs) == {o for _, o in plan.roots}
    planned = {b for b in plan.feedstocks}
    assert {e.build for e in v.envs} <= planned
    assert {b.build for b in v.builders} == {f.name for f in plan.feedstocks.values() if f.mode == "native"}
    assert v.unneeded is not None and {u.build for u in v.unneeded} <= planned
    for c in [*v.targets, *v.envs]:  # every failure names its spec and says why
        assert c.result.solvable or (c.result.failing and all(c.why[s][1] for s in c.result.failing))
    assert set(v.failure_kinds()) <= {*KINDS, "conflict"}


def test_plan_verify_json_and_report_section(tmp_path):
    b = SnapBuilder()
    b.fs("app", out("app", version="1.0", run=["libfoo <2"]))
    b.fs("libfoo", out("libfoo", version="1.0"))  # satisfies <2
    b.fs("other", out("other", version="1.0", run=["libbar >=9"]))
    b.fs("libbar", out("libbar", version="1.0"))  # too old for >=9
    path = tmp_path / "snap.json.xz"
    b.snapshot().save(path)
    runner = CliRunner()
    r = runner.invoke(main, ["plan", "app", "other", "--snapshot", str(path), "--format", "json", "--verify"])
    assert r.exit_code == 0, r.output
    doc = json.loads(r.output)
    assert doc["schema"] == "newarch.plan/2" and doc["feedstocks"]
    ver = doc["verified"]
    by_target = {t["target"]: t for t in ver["targets"]}
    assert by_target["app"]["solvable"] is True
    assert by_target["other"]["missing"] == ["libbar >=9"]
    assert by_target["other"]["why"]["libbar >=9"]["kind"] == "other-version"
    assert "libbar 1.0" in by_target["other"]["why"]["libbar >=9"]["text"]
    assert ver["failure_kinds"] == {"other-version": 1}
    out_dir = tmp_path / "site"
    r = runner.invoke(main, ["report", "app", "other", "--snapshot", str(path), "--out", str(out_dir), "--verify"])
    assert r.exit_code == 0, r.output
    html = (out_dir / "index.html").read_text()
    assert 'id="verified"' in html and "libbar &gt;=9" in html and "libbar >=9" not in html


@pytest.mark.parametrize("as_url", [False, True])
def test_available_repodata_joins_the_channel(tmp_path, as_url):
    """--available repodata (a channel folder read with SparseRepoData, or a URL through a Gateway) is
    solved together with the planned builds: the planned app needs python, which only the repodata has."""
    import rattler

    from newarch.sources.availability import load_availability

    channel = Path(__file__).parent / "data" / "repodata"
    source = channel.resolve().as_uri() if as_url else str(channel)
    gateway = rattler.Gateway(cache_dir=tmp_path / "cache")
    avail = load_availability([source], "win-arm64", "win-64", gateway=gateway)
    b = SnapBuilder()
    b.fs("app", out("app", host=["python"], run=["python >=3.13"]))
    snap = b.snapshot()
    v = verify(snap, PAIR, [("app", "app")], _builds(snap, PAIR, "app"), avail, gateway=gateway, pythons=["3.13.*"])
    sol = v.targets[0].to_json()
    assert sol["solvable"] is True, sol
    assert any(s.startswith("python 3.13.5 ") for s in sol["solution"])
    assert [e.result.solvable for e in v.envs] == [True]
    v = verify(snap, PAIR, [("app", "app")], _builds(snap, PAIR, "app"), avail, gateway=gateway, pythons=["3.14.*"])
    assert v.targets[0].result.solvable is False


def test_an_exact_pin_subpackage_the_branch_does_not_produce_is_caught():
    """rattler-build renders ``pin_subpackage(exact=True)`` with the sibling's real build string; when
    the sibling is skipped for the target, nothing provides that build."""
    b = SnapBuilder()
    pinned = "libfoo ==1.0 habc1234_0"
    b.fs(
        "foo",
        out("libfoo", version="1.0", host=["zlib"]),
        out("foo-tools", version="1.0", host=[pinned], run=[pinned]),
    )
    b.fs("zlib", out("zlib", version="1.3.1"))
    snap = b.snapshot()
    builds = _builds(snap, PAIR, "foo", "zlib")
    v = verify(snap, PAIR, [("foo", "foo-tools")], builds, minimal=False)
    assert v.targets[0].result.solvable is True  # the sibling's record carries the pinned build string
    assert "libfoo 1.0 habc1234_0" in v.targets[0].to_json()["solution"]
    b.fs(
        "foo",
        out("libfoo", version="1.0", skip=True, skip_reason="win"),
        out("foo-tools", version="1.0", host=[pinned], run=[pinned]),
    )
    snap = b.snapshot()
    v = verify(snap, PAIR, [("foo", "foo-tools")], _builds(snap, PAIR, "foo", "zlib"), minimal=False)
    t = v.targets[0]
    assert t.result.solvable is False and t.result.missing == ("libfoo ==1.0 habc1234_0",)
    assert t.why["libfoo ==1.0 habc1234_0"] == ("skipped", "libfoo is skipped for win-arm64 by foo")
    host = next(e for e in v.envs if e.output == "foo-tools")
    assert host.result.solvable is False


def _branch_plan_snapshot():
    b = SnapBuilder()
    b.fs("app", out("app", version="1.0", host=["openssl 3.5.*", "libffi 3.5.*"]))
    b.fs("openssl", out("openssl", version="3.6.2", run_exports={"weak": ["openssl >=3.6.2,<4.0a0"]}))
    branch(
        b,
        "openssl",
        "3.5.x",
        "3.5.6",
        out("openssl", version="3.5.6", run_exports={"weak": ["openssl >=3.5.6,<3.6.0a0"]}),
    )
    b.fs("libffi", out("libffi", version="3.4.6", run_exports={"weak": ["libffi >=3.4.6,<3.5.0a0"]}))
    return b.snapshot()


def test_planned_builds_follow_the_jobs_branch_and_the_plans_choices():
    """A pin only a release branch meets plans ``openssl@3.5.x``: its build carries the branch's version,
    and the consumer's record gets the branch's run_exports, not main's."""
    from newarch.plan.planner import PlanOptions, make_plan
    from newarch.verify.channel import planned_builds

    snap = _branch_plan_snapshot()
    plan = make_plan(snap, PlanOptions(["app"]))
    builds = {b.key: b for b in planned_builds(plan)}
    assert set(builds) == {"app", "openssl@3.5.x"}
    ossl = builds["openssl@3.5.x"]
    assert (ossl.feedstock, ossl.branch, ossl.version) == ("openssl", "3.5.x", "3.5.6")
    assert [(o.name, o.version) for o in ossl.outputs] == [("openssl", "3.5.6")]
    assert [o.version for o in builds["app"].chosen["openssl"]] == ["3.5.6"]
    v = verify(snap, plan.pair, plan.roots, list(builds.values()), minimal=False)
    assert v.figures()["builds"] == 2
    host = [e for e in v.envs if e.build == "app"]
    assert [e.result.missing for e in host] == [("libffi 3.5.*",)]  # openssl 3.5.* is met by the branch
    assert host[0].why["libffi 3.5.*"][0] == "other-version"
    # the target: app's record depends on the branch's openssl and on a libffi of unknown version (a gap)
    t = v.targets[0]
    assert t.result.solvable is False and t.result.missing == ("libffi",)
    kind, text = t.why["libffi"]
    assert kind == "other-version" and "libffi 3.4.6 (libffi)" in text and "libffi 3.5.*" in text
    ch = build_channel(snap, plan.pair, list(builds.values()))
    recs = [r for r in ch.records[plan.pair.target] if r.name.normalized == "app"]
    assert [sorted(r.depends) for r in recs] == [["libffi", "openssl >=3.5.6,<3.6.0a0"]]


def test_plan_verify_table_has_a_verified_column_within_80_columns(tmp_path):
    b = SnapBuilder()
    b.fs("app", out("app", version="1.0", host=["zlib"], run=["libfoo <2"]))
    b.fs("libfoo", out("libfoo", version="1.0"))
    b.fs("zlib", out("zlib", version="1.3.1"))
    b.fs("tool", out("tool", version="1.0", host=["libbar >=9", "zlib"]))
    b.fs("libbar", out("libbar", version="1.0"))  # too old for >=9: a gap, tool's host env fails
    path = tmp_path / "snap.json.xz"
    b.snapshot().save(path)
    r = CliRunner().invoke(main, ["plan", "app", "tool", "--snapshot", str(path), "--verify"], env={"COLUMNS": "80"})
    assert r.exit_code == 0, r.output
    lines = r.output.splitlines()
    assert max(len(x) for x in lines) <= 80
    head = next(x for x in lines if x.startswith("name"))
    assert head.split() == ["name", "wave", "mode", "verified", "why"]
    rows = {
        x.split()[0]: x.split()
        for x in lines[lines.index(head) + 1 :]
        if x.split() and x.split()[0] in ("app", "tool", "zlib", "libfoo")
    }
    assert rows["app"][3] == "ok" and rows["zlib"][3] == "ok"
    assert rows["tool"][3:5] == ["1", "fail"]
    assert any(x.strip().startswith("tool: host tool: libbar >=9") for x in lines)
    plain = CliRunner().invoke(main, ["plan", "app", "tool", "--snapshot", str(path)], env={"COLUMNS": "80"})
    assert "verified" not in plain.output


def test_a_build_for_the_lowest_python_serves_newer_ones():
    """maturin (``is_python_min``, rattler-build's ``version_independent``) is built once for python 3.10:
    its record neither pins python to 3.10 nor carries python 3.10's python_abi, so a python 3.12 host
    env that needs it solves; a per-python build of the same shape does not."""
    b = SnapBuilder()
    b.fs("python", _python("3.10.4", "cp310"), _python("3.12.4", "cp312"))
    b.fs("python_abi", _abi("3.10", "cp310"), _abi("3.12", "cp312"))
    once = {"python": "3.10.* *_cpython", "is_python_min": "true"}
    b.fs("maturin", out("maturin", version="1.14.1", host=["python"], run=["python"], variant=once))
    b.fs("ext", out("ext", version="1.0", host=["python", "maturin"], variant={"python": "3.12.* *_cpython"}))
    snap = b.snapshot()
    builds = _builds(snap, PAIR, "python", "maturin", "ext")
    v = verify(snap, PAIR, [("ext", "ext")], builds, pythons=["3.12.*"], minimal=False)
    host = next(e for e in v.envs if e.build == "ext")
    assert host.result.solvable is True, host.result
    b.fs(
        "maturin",
        out("maturin", version="1.14.1", host=["python"], run=["python"], variant={"python": "3.10.* *_cpython"}),
    )
    snap = b.snapshot()
    v = verify(
        snap, PAIR, [("ext", "ext")], _builds(snap, PAIR, "python", "maturin", "ext"), pythons=["3.12.*"], minimal=False
    )
    assert next(e for e in v.envs if e.build == "ext").result.solvable is False
