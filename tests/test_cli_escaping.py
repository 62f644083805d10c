"""Recipe-provided text that looks like Rich markup (``[linux]``, ``[win and arm64]``, ``[/]``) comes out
of every terminal output verbatim at 80 columns: plan, why, why-not, status, lint, render, compare-bot
and the snapshot summary."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest
from click.testing import CliRunner

from newarch.cli import main
from newarch.model import Dropped, Finding, Requirement

from test_status import feedstock, out, snapshot

LINUX, WIN, CLOSE = "[linux]", "[win and arm64]", "[/]"
MARKS = (LINUX, WIN, CLOSE)
FS_LINUX, FS_WIN, FS_CLOSE = f"a{LINUX}", f"b{WIN}", f"c{CLOSE}"  # feedstock (folder) names
PINNING = Path(__file__).parent / "fixtures" / "pinning" / "conda_build_config.yaml"


def run(*args: str):
    return CliRunner().invoke(main, list(args), env={"COLUMNS": "80"})


def flat(text: str) -> str:
    """The output with line wrapping undone (table cells and long lines wrap at 80 columns)."""
    return " ".join(text.split())


def assert_verbatim(res, *needles: str) -> None:
    text = flat(res.output)
    for n in needles:
        assert n in text, (n, res.output)
    assert all(len(ln) <= 80 for ln in res.output.splitlines()), res.output


@pytest.fixture(scope="module")
def snap_file(tmp_path_factory) -> str:
    finding = Finding(
        "selector-arch", "warning", FS_LINUX, "recipe/meta.yaml", 7, f"only under {WIN} and {LINUX} {CLOSE}", "fix"
    )
    dropped = out("d", host=["zlib"])
    dropped = replace(dropped, dropped=(Dropped("host", "e", "linux", 3),))  # e is wanted only under [linux]
    lib = out("a", host=["b", "zlib"], run=["b"])
    lib = replace(lib, requirements={**lib.requirements, "build": (Requirement.from_spec("c", "win and arm64"),)})
    snap = snapshot(
        feedstock("zlib"),
        feedstock(FS_LINUX, lib, findings=(finding,)),
        feedstock(FS_WIN, out("b", host=["c"], run=["c"])),
        feedstock(FS_CLOSE, out("c", host=["zlib"])),
        feedstock("conda", out("conda", host=["a", "python"], run=["a", "d"])),
        feedstock("d", dropped),
        feedstock("e"),
    )
    path = tmp_path_factory.mktemp("snap") / "snap.json.xz"
    snap.save(path)
    return str(path)


def test_plan(snap_file):
    res = run("plan", "conda", "--snapshot", snap_file)
    assert res.exit_code == 0, res.output
    assert_verbatim(res, *MARKS)
    res = run("plan", "conda", "--snapshot", snap_file, "-v")
    assert_verbatim(res, FS_LINUX, FS_WIN, FS_CLOSE)


def test_why(snap_file):
    res = run("why", "c", "conda", "--snapshot", snap_file)
    assert res.exit_code == 0, res.output
    assert_verbatim(res, f"{FS_LINUX} -> {FS_WIN} -> {FS_CLOSE}", f"{FS_WIN}: output b needs 'c' in host -> {FS_CLOSE}")


def test_why_not(snap_file):
    res = run("why-not", "e", "conda", "--snapshot", snap_file)
    assert res.exit_code == 0, res.output
    assert_verbatim(res, "e [selector]", f"d:d needs e in host only under {LINUX}")


def test_status(snap_file):
    res = run("status", "conda", "--snapshot", snap_file)
    assert res.exit_code == 0, res.output
    assert_verbatim(res, *MARKS)


def test_lint(snap_file):
    res = run("lint", "--plan", "--snapshot", snap_file, "--output-format", "full")
    assert res.exit_code == 1, res.output  # a warning finding
    assert_verbatim(res, f"{FS_LINUX}/recipe/meta.yaml:7:1: selector-arch only under {WIN} and {LINUX} {CLOSE}")


def test_compare_bot(snap_file, tmp_path):
    bot = tmp_path / "bot.json"
    bot.write_text(json.dumps({"done": [FS_LINUX], "awaiting-parents": [FS_WIN, "e"]}))
    res = run("compare-bot", str(bot), "conda", "--snapshot", snap_file, "-v")
    assert res.exit_code == 0, res.output
    assert_verbatim(res, *MARKS)


def test_render(tmp_path):
    recipe = tmp_path / f"x{LINUX}-feedstock" / "recipe"
    recipe.mkdir(parents=True)
    (recipe / "meta.yaml").write_text(
        "package:\n  name: x\n  version: '1.0'\n"
        "requirements:\n  host:\n    - zlib  # [win and arm64]\n    - libfoo  # [linux]\n"
        f"  run:\n    - zlib {CLOSE}  # [win]\n    - libbar {LINUX} *  # [win and arm64]\n"
    )
    res = run("render", str(recipe.parent), "--pinning", str(PINNING))
    assert res.exit_code == 0, res.output
    assert_verbatim(res, f"x{LINUX}", f"zlib {CLOSE}", f"libbar {LINUX} *", "win and arm64", "libfoo")


def test_snapshot_summary(tmp_path):
    broken = tmp_path / "src" / f"y{WIN}-feedstock" / "recipe"
    broken.mkdir(parents=True)
    (broken / "meta.yaml").write_text("package:\n  name: y\n   version: 1\n")
    good = tmp_path / "src" / "z-feedstock" / "recipe"
    good.mkdir(parents=True)
    (good / "meta.yaml").write_text("package:\n  name: z\n  version: '1'\n")
    res = run(
        "snapshot", str(tmp_path / "src"), "--out", str(tmp_path / "s.json.xz"), "--pinning", str(PINNING), "-j", "1"
    )
    assert res.exit_code == 0, res.output
    assert_verbatim(res, f"y{WIN}")
