"""newarch migrate: minimal target list, diffs and PR bodies, deterministic and all-or-nothing output, --apply."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner
from ruamel.yaml import YAML

from newarch.cli import main
from newarch.errors import NewarchError
from newarch.report.migrate import build_migration, describe_command, minimal_targets, read_targets_file, write_tree
from newarch.model import Finding, PlatformSettings
from newarch.status.states import compute_status, plan_for_status
from snapbuilder import PAIR, SnapBuilder, out

CROSS = PlatformSettings(build_platform={"win_arm64": "win_64"})
VS = ["vs2022_win-arm64"]


def snapshot():
    b = SnapBuilder()
    b.fs("vc", out("vc"), out("vs2022_win-arm64", run_exports={"strong": ["vc >=14"]}))
    b.fs("zlib", out("libzlib", build=VS, run_exports={"weak": ["libzlib >=1.3"]}), settings=CROSS)
    b.fs("libsolv", out("libsolv", build=VS, host=["libzlib"]))
    b.fs("app", out("app", build=VS, host=["libsolv", "libzlib"]))
    b.fs(
        "pyext",
        out(
            "pyext",
            build=VS + ["python", "cross-python_win-arm64 # build_platform != target_platform"],
            host=["python", "libzlib"],
        ),
    )
    b.fs("python", out("python", build=VS, host=["libzlib"]))
    snap = b.snapshot()
    snap.feedstocks["libsolv"].renders[PAIR.key].findings = [
        Finding(
            "autotools-cc-for-build",
            "warning",
            "libsolv",
            "libsolv/recipe/bld.bat",
            7,
            "autotools cross build without CC_FOR_BUILD",
            "set CC_FOR_BUILD",
        )
    ]
    return snap


def plan_and_statuses(snap, *targets):
    plan = plan_for_status(snap, list(targets), "win-arm64", "win-64")
    return plan, compute_status(snap, plan).feedstocks


def test_minimal_targets_are_the_planned_feedstocks_nothing_else_needs():
    plan, _ = plan_and_statuses(snapshot(), "app", "libsolv", "pyext")
    assert set(plan.feedstocks) >= {"app", "libsolv", "zlib", "vc", "pyext", "python"}
    assert minimal_targets(plan) == ["app", "pyext"]


def test_files_for_not_done_feedstocks_with_why_unblocks_mode_and_lints():
    snap = snapshot()
    plan, statuses = plan_and_statuses(snap, "app", "pyext")
    m = build_migration(snap, plan, statuses, describe_command(plan))
    assert "patches/zlib.diff" not in m.files and m.skipped["zlib"].startswith("done")
    assert {"patches/libsolv.diff", "prs/libsolv.md", "patches/pyext.diff", "patches/vc.diff"} <= set(m.files)
    listing = m.files["migration_support/win_arm64.txt"]
    assert [line for line in listing.splitlines() if not line.startswith("#")] == ["app", "pyext"]
    assert "# command: newarch migrate app pyext --platform win-arm64 --build-platform win-64" in listing
    assert "# snapshot: 2026-08-01" in listing
    body = m.files["prs/libsolv.md"]
    assert "`app -> libsolv`" in body and "app:app --host--> libsolv" in body
    assert "Directly needed by 1 planned feedstock(s): app." in body
    assert "autotools-cc-for-build" in body and "libsolv/recipe/bld.bat:7" in body
    assert "## Cross or native\n\ncross" in body
    # pyext needs cross-python, which does not exist: native, provider
    assert m.changes["pyext"].mode == "native"
    assert "+  win_arm64: default" in m.files["patches/pyext.diff"]
    assert "## Cross or native\n\nnative: " in m.files["prs/pyext.md"]
    assert m.files["patches/libsolv.diff"].startswith("# libsolv: synthesized")


def test_real_text_is_used_when_given():
    snap = snapshot()
    plan, statuses = plan_and_statuses(snap, "app")
    text = "# mine\nbuild_platform:\n  osx_arm64: osx_64\n"
    m = build_migration(snap, plan, statuses, "cmd", {"libsolv": (text, "libsolv/conda-forge.yml")})
    diff = m.files["patches/libsolv.diff"]
    assert diff.startswith("--- a/conda-forge.yml") and " # mine\n" in diff and "+  win_arm64: win_64" in diff


def test_write_tree_is_all_or_nothing(tmp_path):
    out_dir = tmp_path / "out"
    write_tree(out_dir, {"a.txt": "one\n"})
    with pytest.raises(OSError):  # "x" is written as a file, so "x/y" cannot be made
        write_tree(out_dir, {"x": "file\n", "x/y": "cannot be both\n"})
    assert (out_dir / "a.txt").read_text() == "one\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]
    foreign = tmp_path / "foreign"
    foreign.mkdir()
    (foreign / "keep.txt").write_text("mine")
    with pytest.raises(NewarchError, match="not empty"):
        write_tree(foreign, {"a.txt": "x"})


def test_read_targets_file(tmp_path):
    p = tmp_path / "t.txt"
    p.write_text("# header\nconda\n\nmamba-feedstock  # comment\nconda\n")
    assert read_targets_file(p) == ["conda", "mamba"]
    p.write_text("conda\ntwo names\n")
    with pytest.raises(NewarchError) as exc:
        read_targets_file(p)
    assert exc.value.line == 2


# -- command line ---------------------------------------------------------------------------------


def tree(d: Path) -> dict[str, bytes]:
    return {str(p.relative_to(d)): p.read_bytes() for p in sorted(d.rglob("*")) if p.is_file()}


def test_cli_rerun_is_identical_and_apply_is_idempotent(tmp_path):
    snap_path = tmp_path / "snap.sqlite"
    snapshot().save(snap_path)
    checkout = tmp_path / "libsolv-feedstock"
    checkout.mkdir()
    original = "# keep me\nbuild_platform:\n  osx_arm64: osx_64  # arm mac\ngithub:\n  branch_name: main\n"
    (checkout / "conda-forge.yml").write_text(original)
    args = ["migrate", "app", "--snapshot", str(snap_path), "--out", str(tmp_path / "out"), "--apply", str(checkout)]
    res = CliRunner().invoke(main, args)
    assert res.exit_code == 0, res.output
    first = tree(tmp_path / "out")
    edited = (checkout / "conda-forge.yml").read_text()
    assert edited.startswith("# keep me\n") and "  osx_arm64: osx_64  # arm mac\n  win_arm64: win_64\n" in edited
    assert YAML(typ="safe").load(edited)["test"] == "native_and_emulated"
    assert not first["patches/libsolv.diff"].startswith(b"#")  # made from the real file
    # second run: the checkout is configured now, nothing changes there; the rest is byte-identical
    res = CliRunner().invoke(main, args)
    assert res.exit_code == 0, res.output
    assert (checkout / "conda-forge.yml").read_text() == edited
    second = tree(tmp_path / "out")
    assert "patches/libsolv.diff" not in second
    assert {k: v for k, v in first.items() if "libsolv" not in k and k != "README.md"} == {
        k: v for k, v in second.items() if k != "README.md"
    }
    # and a third run equals the second exactly
    CliRunner().invoke(main, args)
    assert tree(tmp_path / "out") == second


def test_cli_targets_file_and_errors(tmp_path):
    snap_path = tmp_path / "snap.sqlite"
    snapshot().save(snap_path)
    tf = tmp_path / "win_arm64.txt"
    tf.write_text("app\nlibsolv\n")
    res = CliRunner().invoke(
        main, ["migrate", "--targets-file", str(tf), "--snapshot", str(snap_path), "--out", str(tmp_path / "o")]
    )
    assert res.exit_code == 0, res.output
    listing = (tmp_path / "o" / "migration_support" / "win_arm64.txt").read_text()
    assert listing.splitlines()[-1] == "app"
    assert (
        "# command: newarch migrate --platform win-arm64 --build-platform win-64 --targets-file win_arm64.txt\n"
        in listing
    )
    res = CliRunner().invoke(
        main,
        [
            "migrate",
            "app",
            "--snapshot",
            str(snap_path),
            "--out",
            str(tmp_path / "p"),
            "--apply",
            str(tmp_path / "missing"),
        ],
    )
    assert res.exit_code == 2 and "not found" in res.output and not (tmp_path / "p").exists()


def test_cli_feedstocks_reads_checkouts_and_git_mirrors(tmp_path):
    import shutil
    import subprocess

    if shutil.which("git") is None:
        pytest.skip("git not installed")
    snap_path = tmp_path / "snap.sqlite"
    snapshot().save(snap_path)
    folder = tmp_path / "feedstocks"
    checkout = folder / "libsolv-feedstock"
    (checkout / "recipe").mkdir(parents=True)
    (checkout / "recipe" / "meta.yaml").write_text("package:\n  name: libsolv\n  version: 1\n")
    (checkout / "conda-forge.yml").write_text("# libsolv settings\nprovider:\n  win_64: azure\n")
    work = tmp_path / "work"
    (work / "recipe").mkdir(parents=True)
    (work / "recipe" / "meta.yaml").write_text("package:\n  name: app\n  version: 1\n")
    (work / "conda-forge.yml").write_text("# app settings\ntest: native\n")
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@t", "-c", "init.defaultBranch=main"]
    subprocess.run(git + ["init", "-q", str(work)], check=True)
    subprocess.run(git + ["-C", str(work), "add", "."], check=True)
    subprocess.run(git + ["-C", str(work), "commit", "-qm", "x"], check=True)
    subprocess.run(
        git + ["clone", "-q", "--bare", str(work), str(folder / "conda-forge+app-feedstock" / "repo")], check=True
    )
    res = CliRunner().invoke(
        main,
        ["migrate", "app", "--snapshot", str(snap_path), "--out", str(tmp_path / "o"), "--feedstocks", str(folder)],
    )
    assert res.exit_code == 0, res.output
    libsolv = (tmp_path / "o" / "patches" / "libsolv.diff").read_text()
    app = (tmp_path / "o" / "patches" / "app.diff").read_text()
    assert " # libsolv settings\n" in libsolv and "+build_platform:\n+  win_arm64: win_64\n" in libsolv
    assert " # app settings\n" in app and "native_and_emulated" not in app  # its own test: setting is kept


def test_minimal_targets_with_a_cycle_keep_one_member_and_nothing_it_already_covers():
    b = SnapBuilder()
    b.fs("conda", out("conda", host=["conda-pypi", "libz"]))
    b.fs("conda-pypi", out("conda-pypi", host=["conda"]))
    b.fs("libz", out("libz"))
    b.fs("tool", out("tool", host=["libz"]))
    plan = plan_for_status(b.snapshot(), ["conda", "tool"], "win-arm64", "win-64")
    assert plan.cycles
    assert minimal_targets(plan) == ["conda", "tool"]


def test_targets_the_snapshot_cannot_plan_are_kept_and_named():
    snap = snapshot()
    plan, statuses = plan_and_statuses(snap, "app", "not-in-snapshot")
    text = build_migration(snap, plan, statuses, "cmd").files["migration_support/win_arm64.txt"]
    assert [line for line in text.splitlines() if not line.startswith("#")] == ["app", "not-in-snapshot"]
    assert "# 1 more kept as given, the snapshot cannot plan them: not-in-snapshot" in text
