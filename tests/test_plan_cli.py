"""The plan / why / why-not commands end to end on a snapshot file written by the test."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from newarch.cli import main
from snapbuilder import conda_forge_like


@pytest.fixture(scope="module")
def snap_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("snap") / "snap.sqlite"
    conda_forge_like().snapshot().save(path)
    return str(path)


def run(*args: str):
    result = CliRunner().invoke(main, list(args))
    return result


def test_plan_json_follows_the_contract(snap_file):
    r = run("plan", "mamba", "--snapshot", snap_file, "--format", "json")
    assert r.exit_code == 0, r.output
    d = json.loads(r.output)
    assert d["schema"] == "newarch.plan/2"
    assert (d["platform"], d["build_platform"], d["targets"]) == ("win-arm64", "win-64", ["mamba"])
    names = {f["name"] for f in d["feedstocks"]}
    assert {"mamba", "python", "zlib", "vc"} <= names and "mypy" not in names
    mamba = next(f for f in d["feedstocks"] if f["name"] == "mamba")
    assert mamba["mode"] == "native" and "cross-python_win-arm64" in mamba["mode_reason"]
    assert {p["name"]: p["code"] for p in d["pruned"]}["mypy"] == "noarch-host-only"


def test_plan_default_targets_are_the_seed_list(snap_file):
    d = json.loads(run("plan", "--snapshot", snap_file, "--format", "json").output)
    assert d["targets"] == ["conda", "conda-build", "mamba", "rattler-build", "pixi"]
    assert {u["name"] for u in d["unknown"]} >= {"conda", "pixi"}  # not in this small snapshot


def test_plan_table_has_waves_toolchain_and_tipping_point(snap_file):
    r = run("plan", "mamba", "cffi", "--snapshot", snap_file)
    assert r.exit_code == 0, r.output
    assert "wave" in r.output and "mamba" in r.output
    assert "toolchain" in r.output and "cross-python_win-arm64" in r.output
    assert "tipping point" in r.output and "critical path" in r.output


def test_plan_available_from_a_name_list_and_ignore(snap_file, tmp_path):
    names = tmp_path / "have.txt"
    names.write_text("# already on win-arm64\npython\npython_abi\n")
    d = json.loads(run("plan", "cffi", "--snapshot", snap_file, "--available", str(names), "--format", "json").output)
    assert "python" not in {f["name"] for f in d["feedstocks"]}
    d = json.loads(run("plan", "cffi", "--snapshot", snap_file, "--ignore", "libffi", "--format", "json").output)
    assert "libffi" not in {f["name"] for f in d["feedstocks"]}


def test_plan_mode_native_and_graph_formats(snap_file):
    d = json.loads(run("plan", "zlib", "--snapshot", snap_file, "--mode", "native", "--format", "json").output)
    assert {f["mode"] for f in d["feedstocks"]} == {"native"}
    dot = run("plan", "mamba", "--snapshot", snap_file, "--format", "dot").output
    assert dot.startswith("digraph plan {") and '"python" -> "mamba"' in dot
    mer = run("plan", "mamba", "--snapshot", snap_file, "--format", "mermaid").output
    assert mer.startswith("flowchart LR") and "-->" in mer


def test_why_and_why_not(snap_file):
    r = run("why", "zlib", "--target", "mamba", "--snapshot", snap_file)
    assert r.exit_code == 0, r.output
    assert "mamba -> libsolv -> zlib" in r.output and "in host" in r.output
    d = json.loads(run("why", "zlib", "--target", "mamba", "--snapshot", snap_file, "--format", "json").output)
    assert d["chains"] and d["chains"][0]["path"][0] == "mamba"
    r = run("why", "mypy", "--target", "mamba", "--snapshot", snap_file)
    assert "[noarch-host-only]" in r.output
    r = run("why-not", "mypy", "--target", "mamba", "--snapshot", snap_file)
    assert r.exit_code == 0 and r.output.startswith("mypy [noarch-host-only]")
    d = json.loads(
        run(
            "why-not", "cmake", "--target", "libsolv", "--mode", "cross", "--snapshot", snap_file, "--format", "json"
        ).output
    )
    assert d["code"] == "build-only"


def test_bad_snapshot_is_one_clear_error(tmp_path):
    bad = tmp_path / "bad.sqlite"
    bad.write_bytes(b"not xz at all")
    r = run("plan", "--snapshot", str(bad))
    assert r.exit_code == 2
    assert "error:" in r.output and "bad.sqlite" in r.output and "Traceback" not in r.output


def test_targets_file_adds_targets_once_and_skips_comments(snap_file, tmp_path):
    listing = tmp_path / "win_arm64.txt"
    listing.write_text("# made by hand\nmamba\n\ncffi\nmamba\n")
    d = json.loads(
        run("plan", "zlib", "--targets-file", str(listing), "--snapshot", snap_file, "--format", "json").output
    )
    assert d["targets"] == ["zlib", "mamba", "cffi"]
    r = run("why-not", "mypy", "--targets-file", str(listing), "--snapshot", snap_file)
    assert r.exit_code == 0 and "mypy [noarch-host-only]" in r.output
    r = run("plan", "--targets-file", str(tmp_path / "missing.txt"), "--snapshot", snap_file)
    assert r.exit_code != 0 and "missing.txt" in r.output


def test_unknown_target_on_the_command_line_is_an_error_with_a_suggestion(snap_file):
    r = run("plan", "mamaba", "--snapshot", snap_file)
    assert r.exit_code == 2
    assert "unknown target 'mamaba' (did you mean mamba" in r.output
    assert run("status", "mamaba", "--snapshot", snap_file).exit_code == 2
    # the seed targets and real names still plan
    assert run("plan", "mamba", "--snapshot", snap_file).exit_code == 0


@pytest.fixture
def osx_file(monkeypatch):
    """The osx-arm64 shapes with branches and recipe history, which the JSON snapshot format does not
    carry yet: the command reads them from memory."""
    from snapbuilder import osx_snapshot

    snap = osx_snapshot()
    monkeypatch.setattr("newarch.commands.plan_cmd.load_snapshot", lambda path: snap)
    return "osx-in-memory"


def test_plan_shows_gaps_jobs_and_variants_and_strict_fails_on_gaps(osx_file):
    args = ("plan", "conda", "--snapshot", osx_file, "--platform", "osx-arm64", "--build-platform", "osx-64")
    r = run(*args)
    assert r.exit_code == 0, r.output
    assert "python variants: 3.12, 3.13" in r.output
    assert "openssl@3.5.x 3.5.6" in r.output and "python@3.12 3.12.9" in r.output
    assert (
        "gaps (2" in r.output and "ruamel.yaml >=0.11.14,<0.19" in r.output and "0.18.17 at commit abc1234" in r.output
    )
    assert run(*args, "--strict").exit_code == 1
    r = run(*args, "--python", "3.13", "--format", "json")
    d = json.loads(r.output)
    assert d["python_variants"] == ["3.13.* *_cpython"] and "python@3.12" not in {f["id"] for f in d["feedstocks"]}
    r = run(*args, "--python", "2.7")
    assert r.exit_code == 2 and "--python 2.7" in r.output


def test_why_agrees_with_the_plan_on_gaps(osx_file):
    osx = ("--snapshot", osx_file, "--platform", "osx-arm64", "--build-platform", "osx-64", "--target", "conda")
    r = run("why", "ruamel.yaml", *osx)
    assert r.output.startswith("ruamel.yaml: not planned [gap]: ") and "asked by conda" in r.output
    r = run("why", "libffi", *osx)
    assert r.output.startswith("libffi: not planned [gap]: ") and "python:python asks 'libffi 3.5.*'" in r.output


def test_why_agrees_with_the_plan_on_the_toolchain(snap_file):
    # cross-python_win-arm64 exists nowhere: the plan lists it under toolchain, and why says the same
    d = json.loads(run("plan", "cffi", "--snapshot", snap_file, "--format", "json").output)
    assert "cross-python_win-arm64" in {t["name"] for t in d["toolchain"]}
    r = run("why", "cross-python_win-arm64", "--target", "cffi", "--snapshot", snap_file)
    assert r.output.startswith("cross-python_win-arm64: not planned [toolchain]: ") and "cffi" in r.output


def test_available_build_decides_what_exists_on_the_build_platform(snap_file, tmp_path):
    names = tmp_path / "win-64.txt"
    names.write_text("cross-python_win-arm64\n")
    d = json.loads(run("plan", "cffi", "--snapshot", snap_file, "--format", "json").output)
    assert {f["name"]: f["mode"] for f in d["feedstocks"]}["cffi"] == "native"
    d = json.loads(
        run("plan", "cffi", "--snapshot", snap_file, "--available-build", str(names), "--format", "json").output
    )
    assert {f["name"]: f["mode"] for f in d["feedstocks"]}["cffi"] == "cross"
