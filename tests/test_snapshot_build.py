"""``newarch snapshot`` on hand-written feedstocks: facts kept, reproducible, failures reported."""

from __future__ import annotations

import shutil
from pathlib import Path

from click.testing import CliRunner

from newarch.store import snapshot as snapmod
from newarch.cli import main

FIXTURES = Path(__file__).parent / "fixtures"
PINNING = FIXTURES / "pinning" / "conda_build_config.yaml"
PAIRS = "win-arm64:win-64,win-64,linux-64"


def _run(*args: str):
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


def _snapshot(tmp_path: Path, name: str = "s.sqlite", src: Path | None = None, jobs: str = "1"):
    out = tmp_path / name
    res = _run(
        "snapshot",
        str(src or FIXTURES / "feedstocks"),
        "--out",
        str(out),
        "--platforms",
        PAIRS,
        "--pinning",
        str(PINNING),
        "--date",
        "2026-08-22",
        "-j",
        jobs,
    )
    return res, out


def test_snapshot_of_three_feedstocks_round_trips(tmp_path):
    res, out = _snapshot(tmp_path)
    assert res.exit_code == 0, res.output
    snap = snapmod.load(out)
    assert sorted(snap.feedstocks) == ["pyext", "toolv1", "zlibx"]
    assert snap.date == "2026-08-22"
    assert snapmod.dumps(snap) == out.read_bytes()  # a store-backed snapshot re-saves byte-identically

    zlibx = snap.feedstocks["zlibx"]
    assert zlibx.schema == "v0" and zlibx.settings.configured("win-arm64") == "cross"
    arm = {o.name for o in zlibx.renders["win-arm64:win-64"].outputs}
    assert arm == {"libzlibx", "zlibx"}

    pyext = snap.feedstocks["pyext"].renders["win-arm64:win-64"]
    assert pyext.ok, pyext.error
    build = {r.name for o in pyext.outputs for r in o.reqs("build")}
    host = {r.name for o in pyext.outputs for r in o.reqs("host")}
    assert "cross-python_win-arm64" in build
    assert "libffi" not in host and "zlibx" in host
    linux_host = {
        r.name
        for o in snap.feedstocks["pyext"].renders["linux-64:linux-64"].outputs
        if not o.skip
        for r in o.reqs("host")
    }
    assert "libffi" in linux_host

    tool = snap.feedstocks["toolv1"]
    assert tool.schema == "v1"
    outs = tool.renders["win-arm64:win-64"].outputs
    assert outs and all(o.noarch == "python" for o in outs)
    assert {r.name for o in outs for r in o.reqs("run")} >= {"python", "pyext", "colorama"}
    assert "colorama" not in {r.name for o in tool.renders["linux-64:linux-64"].outputs for r in o.reqs("run")}

    # pinning facts are recorded per pair
    arm_python = snap.pinning["platforms"]["win-arm64:win-64"]["values"]["python"]
    assert arm_python == ["3.14.* *_cp314"]


def test_snapshot_is_byte_identical_on_rerun_and_across_job_counts(tmp_path):
    _, a = _snapshot(tmp_path, "a.sqlite", jobs="1")
    _, b = _snapshot(tmp_path, "b.sqlite", jobs="2")
    assert a.read_bytes() == b.read_bytes()


def test_broken_feedstock_is_reported_and_the_rest_rendered(tmp_path):
    src = tmp_path / "src"
    shutil.copytree(FIXTURES / "feedstocks", src)
    broken = src / "broken-feedstock" / "recipe"
    broken.mkdir(parents=True)
    (broken / "meta.yaml").write_text("package:\n  name: broken\n   version: 1\n")
    res, out = _snapshot(tmp_path, src=src)
    assert res.exit_code == 0
    snap = snapmod.load(out)
    assert sorted(snap.feedstocks) == ["broken", "pyext", "toolv1", "zlibx"]
    err = snap.feedstocks["broken"].renders["linux-64:linux-64"].error
    assert "broken/recipe/meta.yaml:3" in err
    assert "render failed" in res.output and "broken" in res.output


def test_missing_source_is_a_clear_error(tmp_path):
    res = CliRunner().invoke(
        main, ["snapshot", str(tmp_path / "nope"), "--out", str(tmp_path / "o.xz"), "--pinning", str(PINNING)]
    )
    assert res.exit_code != 0
    assert "nope: no such file or directory" in res.output
    assert not (tmp_path / "o.xz").exists()


def test_outputs_map_restricts_to_mentioned_names_and_feeds_the_build_tool_lint(tmp_path):
    omap = tmp_path / "outputs.json"
    # a channel that has everything the fixtures build with, except cross-python_win-arm64
    omap.write_text(
        '{"python": ["python"], "pip": ["pip"], "setuptools": ["setuptools"], "zlibx": ["zlibx"], '
        '"vs2022_win-arm64": ["vc"], "vs_win-arm64": ["vc"], "unrelated-pkg": ["elsewhere"]}'
    )
    out = tmp_path / "s.sqlite"

    def snapshot(platforms: str):
        return _run(
            "snapshot",
            str(FIXTURES / "feedstocks"),
            "--out",
            str(out),
            "--platforms",
            platforms,
            "--pinning",
            str(PINNING),
            "--outputs-map",
            str(omap),
            "-j",
            "1",
        )

    res = snapshot("win-arm64:win-64")
    assert res.exit_code == 0, res.output
    snap = snapmod.load(out)
    assert "unrelated-pkg" not in snap.output_index and snap.output_index["python"] == ["python"]
    findings = snap.feedstocks["pyext"].renders["win-arm64:win-64"].findings
    missing = [f for f in findings if f.rule == "build-tool-missing"]
    assert [f.line for f in missing if "cross-python_win-arm64" in f.message] == [20]
    assert not [f for f in missing if "vs2022_win-arm64" in f.message]
    alone = snap.feedstocks["pyext"].renders["win-arm64:win-64"].findings
    assert [f.rule for f in alone if "m2-patch" in f.message] == ["build-tool-missing"]
    # pyext builds with m2-patch on win; the channel map lacks it, but the native win-64 render uses it too
    res = snapshot("win-arm64:win-64,win-64")
    snap = snapmod.load(out)
    with_native = snap.feedstocks["pyext"].renders["win-arm64:win-64"].findings
    assert [f.message for f in with_native if "m2-patch" in f.message] == []
    assert [f for f in with_native if "cross-python_win-arm64" in f.message]
