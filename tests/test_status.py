"""Migration states: every transition on small snapshots and repodata written here."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from newarch.sources.availability import load_availability
from newarch.cli import main
from newarch.errors import NewarchError
from newarch.model import Feedstock, Finding, Output, PlatformPair, PlatformSettings, RenderResult, Requirement
from newarch.store.snapshot import Snapshot
from newarch.status.states import STATES, compute_status, load_prs, plan_for_status

PAIR = PlatformPair("win-arm64", "win-64")
NATIVE = PlatformPair("win-64", "win-64")


# -- small snapshot builders (shared with the report tests) ----------------------------------
def out(name: str, noarch: str = "", variant: dict[str, str] | None = None, **sections: list[str]) -> Output:
    return Output(
        name=name,
        version="",  # unknown: any spec matches
        noarch=noarch,
        variant=dict(variant or {}),
        requirements={s: tuple(Requirement.from_spec(x) for x in v) for s, v in sections.items()},
    )


def feedstock(
    name: str, *outputs: Output, configured: bool = False, findings: tuple[Finding, ...] = (), error: str = ""
) -> Feedstock:
    settings = PlatformSettings(build_platform={"win_arm64": "win_64"} if configured else {})
    renders = {
        PAIR.key: RenderResult(PAIR, list(outputs or (out(name),)), error=error, findings=list(findings)),
        NATIVE.key: RenderResult(NATIVE, [Output(o.name, "1.0", o.noarch) for o in outputs or (out(name),)]),
    }
    return Feedstock(name=name, settings=settings, renders=renders)


def snapshot(*feedstocks: Feedstock) -> Snapshot:
    return Snapshot(
        date="2026-08-01", description="test", pairs=[PAIR, NATIVE], feedstocks={f.name: f for f in feedstocks}
    )


def record(
    name: str, version: str = "1.0", depends: tuple[str, ...] = (), subdir: str = "win-arm64", noarch: str = ""
) -> tuple[str, dict]:
    build = "h0_0"
    rec = {
        "name": name,
        "version": version,
        "build": build,
        "build_number": 0,
        "depends": list(depends),
        "subdir": subdir,
        "license": "MIT",
        "md5": "0" * 32,
        "sha256": "0" * 64,
        "size": 1000,
        "timestamp": 1767225600000,
    }
    if noarch:
        rec["noarch"] = noarch
    return f"{name}-{version}-{build}.conda", rec


def write_repodata(root: Path, subdir: str, *records: tuple[str, dict]) -> Path:
    """A channel folder ``root/<subdir>/repodata.json`` in the real repodata format."""
    path = root / subdir / "repodata.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(
        json.dumps({"info": {"subdir": subdir}, "packages": {}, "packages.conda": dict(records), "repodata_version": 1})
    )
    return path


def chain_snapshot(**kw) -> Snapshot:
    """app -> lib -> zlib; app also needs tool. ``kw`` overrides feedstocks by name."""
    base = {
        "zlib": feedstock("zlib"),
        "lib": feedstock("lib", out("lib", host=["zlib 1.3.*"], run=["zlib >=1.3"])),
        "tool": feedstock("tool"),
        "app": feedstock("app", out("app", host=["lib", "tool"], run=["lib"])),
    }
    base.update(kw)
    return snapshot(*base.values())


def states(snap: Snapshot, targets=("app",), availability=None, prs=None) -> dict[str, str]:
    plan = plan_for_status(snap, list(targets), PAIR.target, PAIR.build)
    report = compute_status(snap, plan, availability, prs)
    return {n: s.state for n, s in report.feedstocks.items()}


# -- transitions ----------------------------------------------------------------------------------
def test_nothing_done_leaves_are_ready_and_others_await_named_parents():
    snap = chain_snapshot()
    plan = plan_for_status(snap, ["app"], PAIR.target, PAIR.build)
    report = compute_status(snap, plan)
    st = report.feedstocks
    assert {n: s.state for n, s in st.items()} == {
        "zlib": "ready",
        "tool": "ready",
        "lib": "awaiting-parents",
        "app": "awaiting-parents",
    }
    assert st["lib"].missing_parents == ["zlib"]
    assert sorted(st["app"].missing_parents) == ["lib", "tool"]
    assert report.critical_path == ["zlib", "lib", "app"]
    totals = report.totals()
    assert set(totals) == set(STATES) and totals["ready"] == 2 and totals["awaiting-parents"] == 2


def test_configured_parent_is_configured_not_done_and_child_becomes_ready():
    snap = chain_snapshot(
        zlib=feedstock("zlib", configured=True), plugin=feedstock("plugin", out("plugin", host=["lib"]))
    )
    report = compute_status(snap, plan_for_status(snap, ["app", "plugin"], PAIR.target, PAIR.build))
    # conda-forge.yml says the platform is configured, not that it was built: its own state
    assert report.feedstocks["zlib"].state == "configured"
    assert report.feedstocks["zlib"].done_by == "conda-forge.yml (cross)"
    assert report.feedstocks["lib"].state == "ready"
    # the next action list starts the most unblocking ready feedstock first (lib unblocks app and plugin)
    starts = [a["feedstock"] for a in report.next_actions if a["action"] == "start"]
    assert starts == ["lib", "tool"]
    assert "zlib" not in report.critical_path


def test_native_provider_also_counts_as_configured():
    z = feedstock("zlib")
    z.settings = PlatformSettings(provider={"win_arm64": "azure"})
    assert states(chain_snapshot(zlib=z))["zlib"] == "configured"


def test_outputs_in_target_repodata_make_done(tmp_path):
    write_repodata(tmp_path, "win-arm64", record("zlib"), record("tool"))
    write_repodata(tmp_path, "noarch")
    avail = load_availability([tmp_path], "win-arm64")
    snap = chain_snapshot()
    report = compute_status(snap, plan_for_status(snap, ["app"], PAIR.target, PAIR.build), avail)
    st = {n: s.state for n, s in report.feedstocks.items()}
    assert st["zlib"] == "done" and st["tool"] == "done" and report.feedstocks["zlib"].done_by == "repodata"
    # lib is ready by parents and its host env (zlib 1.3.*) does not solve: zlib 1.0 only
    assert st["lib"] == "not-solvable"
    (failing,) = report.feedstocks["lib"].solve
    assert failing.missing == ("zlib 1.3.*",)
    assert st["app"] == "awaiting-parents" and report.feedstocks["app"].missing_parents == ["lib"]


def test_done_needs_every_needed_output_in_the_repodata(tmp_path):
    """A feedstock with two needed outputs (zlib's libzlib and zlib) is done only when both are there."""
    zlib = feedstock("zlib", out("libzlib"), out("zlib", host=["libzlib"], run=["libzlib"]))
    lib = feedstock("lib", out("lib", host=["zlib", "libzlib"], run=["libzlib"]))
    snap = chain_snapshot(zlib=zlib, lib=lib)
    plan = plan_for_status(snap, ["app"], PAIR.target, PAIR.build)
    assert set(plan.feedstocks["zlib"].needed_outputs or plan.feedstocks["zlib"].outputs) == {"libzlib", "zlib"}
    write_repodata(tmp_path / "one", "win-arm64", record("libzlib"))
    one = load_availability([tmp_path / "one" / "win-arm64" / "repodata.json"], "win-arm64")
    report = compute_status(snap, plan, one)
    assert report.feedstocks["zlib"].state != "done" and report.feedstocks["zlib"].done_by == ""
    assert report.feedstocks["lib"].missing_parents == ["zlib"]
    write_repodata(tmp_path / "both", "win-arm64", record("libzlib"), record("zlib"))
    both = load_availability([tmp_path / "both" / "win-arm64" / "repodata.json"], "win-arm64")
    report = compute_status(snap, plan, both)
    assert report.feedstocks["zlib"].state == "done" and report.feedstocks["zlib"].done_by == "repodata"


def test_repodata_of_another_subdir_does_not_make_done(tmp_path):
    write_repodata(tmp_path, "win-64", record("zlib", subdir="win-64"))
    avail = load_availability([tmp_path / "win-64" / "repodata.json"], "win-arm64")
    assert states(chain_snapshot(), availability=avail)["zlib"] == "ready"


def test_solvable_build_environment_stays_ready(tmp_path):
    write_repodata(tmp_path, "win-arm64", record("zlib", "1.3.1"))
    avail = load_availability([tmp_path / "win-arm64" / "repodata.json"], "win-arm64")
    snap = chain_snapshot()
    report = compute_status(snap, plan_for_status(snap, ["app"], PAIR.target, PAIR.build), avail)
    assert report.feedstocks["zlib"].state == "done"
    assert report.feedstocks["lib"].state == "ready" and report.feedstocks["lib"].solve == []


def test_not_solvable_names_missing_deeper_dependency(tmp_path):
    # zlib exists but needs ucrt, which nobody provides on the target
    write_repodata(tmp_path, "win-arm64", record("zlib", "1.3.1", depends=("ucrt >=10",)))
    avail = load_availability([tmp_path / "win-arm64" / "repodata.json"], "win-arm64")
    snap = chain_snapshot()
    report = compute_status(snap, plan_for_status(snap, ["app"], PAIR.target, PAIR.build), avail)
    lib = report.feedstocks["lib"]
    assert lib.state == "not-solvable" and lib.solve[0].missing == ("ucrt >=10",)
    assert "ucrt >=10" in lib.reason
    assert any(a["action"] == "provide" and a["feedstock"] == "lib" for a in report.next_actions)


def test_in_pr_wins_over_blocked_and_awaiting(tmp_path):
    bad = Finding("mingw-on-arm64", "error", "lib", "recipe/meta.yaml", 12, "m2w64 on arm64", "use clang")
    snap = chain_snapshot(lib=feedstock("lib", out("lib", host=["zlib"]), findings=(bad,)))
    assert states(snap)["lib"] == "blocked"
    prs = {
        "lib": load_prs(
            _write(
                tmp_path / "prs.json",
                json.dumps(
                    {"lib-feedstock": {"url": "https://github.com/conda-forge/lib-feedstock/pull/7", "state": "open"}}
                ),
            )
        )["lib"]
    }
    assert states(snap, prs=prs)["lib"] == "in-pr"


def test_blocked_only_by_error_level_findings():
    warn = Finding("x86-selector", "warning", "lib", "recipe/meta.yaml", 3, "win64 selector")
    snap = chain_snapshot(
        lib=feedstock("lib", out("lib", host=["zlib"]), findings=(warn,)), zlib=feedstock("zlib", configured=True)
    )
    assert states(snap)["lib"] == "ready"
    err = Finding("cross-python-missing", "error", "lib", "recipe/meta.yaml", 9, "no cross-python")
    snap = chain_snapshot(
        lib=feedstock("lib", out("lib", host=["zlib"]), findings=(warn, err)), zlib=feedstock("zlib", configured=True)
    )
    plan = plan_for_status(snap, ["app"], PAIR.target, PAIR.build)
    report = compute_status(snap, plan)
    assert report.feedstocks["lib"].state == "blocked"
    assert report.feedstocks["lib"].reason.startswith("cross-python-missing")
    assert any(a["action"] == "fix" and a["feedstock"] == "lib" for a in report.next_actions)


def test_cross_only_finding_does_not_block_a_native_build():
    err = Finding("cross-python-missing", "error", "lib", "recipe/meta.yaml", 9, "no cross-python")
    lib = feedstock("lib", out("lib", host=["zlib"]), findings=(err,))
    snap = chain_snapshot(lib=lib, zlib=feedstock("zlib", configured=True))
    cross = compute_status(snap, plan_for_status(snap, ["app"], PAIR.target, PAIR.build, mode="cross"))
    native = compute_status(snap, plan_for_status(snap, ["app"], PAIR.target, PAIR.build, mode="native"))
    assert cross.feedstocks["lib"].state == "blocked"
    assert native.feedstocks["lib"].state == "ready" and native.feedstocks["lib"].findings == [err]


def test_blocked_wins_over_not_solvable(tmp_path):
    write_repodata(tmp_path, "win-arm64", record("zlib", "1.0"))
    avail = load_availability([tmp_path / "win-arm64" / "repodata.json"], "win-arm64")
    err = Finding("mingw-on-arm64", "error", "lib", "recipe/meta.yaml", 2, "m2w64")
    snap = chain_snapshot(lib=feedstock("lib", out("lib", host=["zlib 1.3.*"]), findings=(err,)))
    assert states(snap, availability=avail)["lib"] == "blocked"


def test_done_wins_over_everything(tmp_path):
    err = Finding("mingw-on-arm64", "error", "lib", "recipe/meta.yaml", 2, "m2w64")
    snap = chain_snapshot(lib=feedstock("lib", out("lib", host=["zlib"]), configured=True, findings=(err,)))
    prs = {"lib": load_prs(_write(tmp_path / "p.csv", "lib,https://x/pull/1,open\n"))["lib"]}
    assert states(snap, prs=prs)["lib"] == "configured"


def test_built_needs_evidence_and_a_ready_parent_of_a_configured_feedstock_says_so():
    """done = seen built (repodata, the bot's status file, a merged PR); conda-forge.yml alone is configured."""
    snap = chain_snapshot(zlib=feedstock("zlib", configured=True))
    plan = plan_for_status(snap, ["app"], PAIR.target, PAIR.build)
    report = compute_status(snap, plan)
    assert report.feedstocks["zlib"].state == "configured"
    assert report.notes[0].startswith("evidence used: conda-forge.yml (configured)")
    bot = compute_status(snap, plan, bot_done={"zlib"}, bot_origin="bot.json")
    assert bot.feedstocks["zlib"].state == "done" and bot.feedstocks["zlib"].done_by == "bot status"
    assert "bot status: bot.json" in bot.notes[0]
    # lib is needed by app; when app is configured but lib has no evidence, lib's reason says so
    snap = chain_snapshot(app=feedstock("app", out("app", host=["lib"]), configured=True))
    report = compute_status(snap, plan_for_status(snap, ["app"], PAIR.target, PAIR.build))
    lib = report.feedstocks["lib"]
    assert lib.state != "done" and "note: app already configured and needs lib" in lib.reason


def test_merged_pr_is_done_and_closed_pr_is_ignored(tmp_path):
    prs = load_prs(
        _write(
            tmp_path / "prs.csv",
            "feedstock,url,state\nzlib-feedstock,https://x/pull/1,merged\ntool,https://x/pull/2,closed\n",
        )
    )
    snap = chain_snapshot()
    report = compute_status(snap, plan_for_status(snap, ["app"], PAIR.target, PAIR.build), None, prs)
    assert report.feedstocks["zlib"].state == "done" and report.feedstocks["zlib"].done_by == "merged PR"
    assert report.feedstocks["tool"].state == "ready"
    assert any("tool is closed" in n for n in report.notes)


def test_render_error_blocks():
    # one variant rendered, another failed: the feedstock is planned and blocked by render-failed
    snap = chain_snapshot(tool=feedstock("tool", error="recipe/meta.yaml:4: undefined variable"))
    report = compute_status(snap, plan_for_status(snap, ["app"], PAIR.target, PAIR.build))
    assert report.feedstocks["tool"].state == "blocked"
    assert report.feedstocks["tool"].reason.startswith("render-failed: recipe/meta.yaml:4")


def test_dependency_nobody_builds_keeps_dependent_waiting(tmp_path):
    # tool renders nothing for the platform: app must not be ready while tool cannot exist
    snap = chain_snapshot(zlib=feedstock("zlib", configured=True), lib=feedstock("lib", configured=True))
    snap.feedstocks["tool"].renders[PAIR.key] = RenderResult(PAIR, [], error="recipe/meta.yaml:4: bad")
    report = compute_status(snap, plan_for_status(snap, ["app"], PAIR.target, PAIR.build))
    app = report.feedstocks["app"]
    assert "tool" not in report.feedstocks
    assert app.state == "awaiting-parents" and app.missing_parents == [] and app.unresolved == ["tool (unknown)"]
    # once tool exists on the target, app no longer waits; lib is configured but not yet published,
    # so with repodata given its build environment does not solve
    write_repodata(tmp_path, "win-arm64", record("tool"))
    avail = load_availability([tmp_path / "win-arm64" / "repodata.json"], "win-arm64")
    report = compute_status(snap, plan_for_status(snap, ["app"], PAIR.target, PAIR.build), avail)
    app = report.feedstocks["app"]
    assert app.state == "not-solvable" and app.unresolved == [] and app.solve[0].missing == ("lib",)


def test_skipped_dependency_holds_unless_a_noarch_build_exists_elsewhere():
    # "tool" is skipped for the target: app must wait for it
    skipped = Output("tool", "1.0", skip=True, skip_reason="win and arm64")
    snap = chain_snapshot(
        zlib=feedstock("zlib", configured=True), lib=feedstock("lib", configured=True), tool=feedstock("tool", skipped)
    )
    app = compute_status(snap, plan_for_status(snap, ["app"], PAIR.target, PAIR.build)).feedstocks["app"]
    assert (app.state, app.unresolved) == ("awaiting-parents", ["tool (skipped)"])
    # the same name skipped here but noarch (built once on linux-64, like the m2-* packages): not held
    snap.feedstocks["tool"].renders[PAIR.key] = RenderResult(
        PAIR, [Output("tool", "1.0", "generic", skip=True, skip_reason="not linux64")]
    )
    app = compute_status(snap, plan_for_status(snap, ["app"], PAIR.target, PAIR.build)).feedstocks["app"]
    assert (app.state, app.unresolved) == ("ready", [])


def test_noarch_only_dependency_is_not_a_parent():
    # app needs stubs (noarch, host: mypy) -> mypy must never be a parent of app
    snap = chain_snapshot(
        app=feedstock(
            "app",
            out("app", host=["lib"], run=["lib", "app-stubs"]),
            out("app-stubs", noarch="python", host=["mypy"], run=["python"]),
        ),
        mypy=feedstock("mypy"),
    )
    report = compute_status(snap, plan_for_status(snap, ["app"], PAIR.target, PAIR.build))
    assert "mypy" not in report.feedstocks
    assert "mypy" not in report.feedstocks["app"].missing_parents


def test_prs_file_errors_name_file_and_line(tmp_path):
    with pytest.raises(NewarchError) as e:
        load_prs(_write(tmp_path / "bad.json", '{"a": [1]}'))
    assert "bad.json" in str(e.value)
    with pytest.raises(NewarchError) as e:
        load_prs(_write(tmp_path / "bad.csv", "a,https://x\nonly-one-field\n"))
    assert str(e.value).startswith(f"{tmp_path / 'bad.csv'}:2:")
    with pytest.raises(NewarchError, match="expected a JSON object"):
        load_prs(_write(tmp_path / "list.json", '["a"]'))
    with pytest.raises(NewarchError) as e:
        load_prs(_write(tmp_path / "broken.json", '{"a": \n'))
    assert "broken.json:2" in str(e.value)


def test_status_command_json_and_table(tmp_path):
    snap = chain_snapshot(zlib=feedstock("zlib", configured=True))
    snap_path = tmp_path / "s.sqlite"
    snap.save(snap_path)
    write_repodata(tmp_path / "ch", "win-arm64", record("zlib", "1.3.1"))
    res = CliRunner().invoke(
        main, ["status", "app", "--snapshot", str(snap_path), "--available", str(tmp_path / "ch"), "--format", "json"]
    )
    assert res.exit_code == 0, res.output
    data = json.loads(res.stdout)
    assert data["schema"] == "newarch.status/1"
    assert {f["name"]: f["state"] for f in data["feedstocks"]} == {
        "zlib": "done",
        "tool": "ready",
        "lib": "ready",
        "app": "awaiting-parents",
    }
    assert data["installability"]["app"]["solvable"] is False
    assert data["installability"]["app"]["missing"] == ["app"]
    res = CliRunner().invoke(main, ["status", "app", "--snapshot", str(snap_path)])
    assert res.exit_code == 0, res.output
    assert "awaiting-parents" in res.stdout and "lib, tool" in res.stdout


def test_status_command_bad_available_file_is_one_clear_error(tmp_path):
    snap_path = tmp_path / "s.sqlite"
    chain_snapshot().save(snap_path)
    bad = _write(tmp_path / "repodata.json", '{"info": {"subdir": "win-arm64"}, "packages": {"x": 3}}')
    res = CliRunner().invoke(main, ["status", "app", "--snapshot", str(snap_path), "--available", str(bad)])
    assert res.exit_code == 2
    assert f"error: {bad}:1:" in res.stderr and "Traceback" not in res.output


def _write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


def test_report_command_writes_one_self_contained_page_with_bot_section(tmp_path):
    snap = chain_snapshot(zlib=feedstock("zlib", configured=True))
    snap_path = tmp_path / "s.sqlite"
    snap.save(snap_path)
    bot = _write(
        tmp_path / "bot.json",
        json.dumps(
            {
                "done": ["zlib-feedstock"],
                "in-pr": [],
                "awaiting-pr": [],
                "awaiting-parents": ["app", "lib", "mypy"],
                "not-solvable": [],
                "bot-error": [],
            }
        ),
    )
    res = CliRunner().invoke(
        main, ["report", "app", "--snapshot", str(snap_path), "--out", str(tmp_path / "site"), "--bot-status", str(bot)]
    )
    assert res.exit_code == 0, res.output
    html = (tmp_path / "site" / "index.html").read_text()
    assert html.count('<g class="node st-') == 4
    assert 'id="compare-bot"' in html and 'href="#compare-bot"' in html
    # nothing is loaded from anywhere: no external src/href, no stylesheet links
    assert (
        "<link" not in html
        and " src=" not in html
        and "http://" not in html.replace('xmlns="http://www.w3.org/2000/svg"', "")
    )


@pytest.mark.realdata
def test_seed_targets_on_the_bundled_snapshot():
    from newarch.commands.options import SEED_TARGETS
    from newarch.errors import SnapshotError
    from newarch.store.snapshot import load

    try:
        snap = load()
    except SnapshotError:
        pytest.skip("no bundled snapshot in this checkout")
    plan = plan_for_status(snap, SEED_TARGETS, "win-arm64", "win-64")
    report = compute_status(snap, plan)
    # feedstocks whose conda-forge.yml configures win_arm64 (python does, in 2026-08)
    assert set(report.configured) == {f.name for f in snap.feedstocks.values() if f.settings.configured("win-arm64")}
    assert "python" in report.configured
    for name in report.configured:
        if name in report.feedstocks:
            assert report.feedstocks[name].state == "configured"
    mamba = report.feedstocks["mamba"]
    assert mamba.state in ("done", "ready", "awaiting-parents")
    assert "mypy" not in report.feedstocks and "mypy" not in mamba.missing_parents
    # every parent mamba waits for is a planned, not-done feedstock it really needs
    assert all(p in mamba.needs and report.feedstocks[p].state != "done" for p in mamba.missing_parents)


def test_branch_jobs_have_states_and_gaps_keep_their_askers_waiting():
    import sys

    sys.path.insert(0, str(Path(__file__).parent))
    from snapbuilder import OSX, osx_snapshot

    snap = osx_snapshot()
    snap.feedstocks["openssl"].settings = PlatformSettings(build_platform={"osx_arm64": "osx_64"})
    plan = plan_for_status(snap, ["conda"], OSX.target, OSX.build)
    rep = compute_status(snap, plan)
    st = rep.feedstocks
    # the job is openssl@3.5.x; the feedstock's conda-forge.yml says configured (not built: no evidence of a build)
    assert st["openssl@3.5.x"].state == "configured" and "conda-forge.yml" in st["openssl@3.5.x"].done_by
    # python (main) asks libffi 3.5.*, which no branch builds: it waits on that gap, named
    assert st["python"].state == "awaiting-parents"
    assert "libffi 3.5.* (gap, python 3.13.* *_cpython)" in st["python"].unresolved
    assert "no feedstock or branch builds libffi 3.5.*" in st["python"].reason
    d = rep.to_json()
    assert {g["name"] for g in d["gaps"]} == {"libffi", "ruamel.yaml"}
    # ruamel.yaml is noarch: an older published build may serve '<0.19', so conda is not held by it
    assert not any("ruamel.yaml" in u for u in st["conda"].unresolved)
    assert any(n.startswith("conda asks 'ruamel.yaml >=0.11.14,<0.19'") and "0.18.17" in n for n in rep.notes)
    from newarch.report.html import render_html

    page = render_html(rep)
    assert "Gaps: specs no branch satisfies" in page and "ruamel.yaml &gt;=0.11.14,&lt;0.19" in page
