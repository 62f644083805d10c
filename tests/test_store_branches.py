"""Branches, history, versions and requirement lines of a feedstock read from a bare git repository."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner

from newarch.cli import main
from newarch.render.lines import scan
from newarch.store import snapshot as snapmod
from newarch.store.branches import maintained_branches, recipe_history, select_branches, version_line

pytestmark = pytest.mark.skipif(shutil.which("git") is None, reason="needs git")

PINNING = Path(__file__).parent / "fixtures" / "pinning" / "conda_build_config.yaml"

META = """\
{{% set version = "{version}" %}}

package:
  name: foo-split
  version: {{{{ version }}}}

build:
  number: {number}

requirements:
  build:
    - {{{{ compiler('c') }}}}
    - make        # [unix]
    - ninja       # [win]

outputs:
  - name: libfoo
    build:
      run_exports:
        - {{{{ pin_subpackage('libfoo', max_pin='x.x') }}}}
    requirements:
      build:
        - {{{{ compiler('c') }}}}
      host:
        - zlib
  - name: foo
    requirements:
      host:
        - {{{{ pin_subpackage('libfoo', exact=True) }}}}
      run:
        - {{{{ pin_subpackage('libfoo', exact=True) }}}}
        - python >=3.10
"""

CF_YML = """\
bot:
  abi_migration_branches:
    - 1.2.x
    - 0.9.x
build_platform:
  win_arm64: win_64
"""


def _git(cwd: Path, *args: str, date: str = "2026-01-02") -> str:
    env = {
        "GIT_AUTHOR_NAME": "t",
        "GIT_AUTHOR_EMAIL": "t@example.org",
        "GIT_COMMITTER_NAME": "t",
        "GIT_COMMITTER_EMAIL": "t@example.org",
        "GIT_AUTHOR_DATE": f"{date}T00:00:00Z",
        "GIT_COMMITTER_DATE": f"{date}T00:00:00Z",
        "HOME": str(cwd),
        "PATH": "/usr/bin:/bin:/usr/local/bin",
    }
    return subprocess.run(["git", *args], cwd=cwd, env=env, check=True, capture_output=True, text=True).stdout


def _commit(work: Path, version: str, number: int, date: str, message: str) -> None:
    (work / "recipe" / "meta.yaml").write_text(META.format(version=version, number=number))
    _git(work, "add", "-A")
    _git(work, "commit", "-q", "-m", message, date=date)


@pytest.fixture(scope="module")
def mirror(tmp_path_factory) -> Path:
    """A bare mirror ``conda-forge+foo-feedstock/repo``: main at 1.3.0 (history 1.2.0, 1.2.1, 1.3.0), a
    maintained branch ``1.2.x`` at 1.2.5, an unlisted branch ``old``; ``0.9.x`` is listed but absent."""
    root = tmp_path_factory.mktemp("git")
    work = root / "work"
    (work / "recipe").mkdir(parents=True)
    _git(root, "init", "-q", "-b", "main", str(work))
    (work / "conda-forge.yml").write_text(CF_YML)
    (work / "README.md").write_text("foo\n")
    _commit(work, "1.2.0", 0, "2025-01-01", "1.2.0")
    _commit(work, "1.2.1", 0, "2025-02-01", "1.2.1")
    _git(work, "branch", "1.2.x")
    _git(work, "branch", "old")
    (work / "README.md").write_text("foo, not the recipe\n")
    _git(work, "commit", "-q", "-am", "docs only")
    _commit(work, "1.3.0", 1, "2025-03-01", "1.3.0")
    _git(work, "checkout", "-q", "1.2.x")
    _commit(work, "1.2.5", 3, "2025-04-01", "1.2.5")
    _git(work, "checkout", "-q", "main")
    bare = root / "mirrors" / "conda-forge+foo-feedstock" / "repo"
    bare.parent.mkdir(parents=True)
    _git(root, "clone", "-q", "--bare", str(work), str(bare))
    return bare


def _snapshot(tmp_path: Path, mirror: Path, *extra: str):
    out = tmp_path / "s.sqlite"
    res = CliRunner().invoke(
        main,
        [
            "snapshot",
            str(mirror.parent.parent),
            "--out",
            str(out),
            "--platforms",
            "linux-64,win-arm64:win-64",
            "--pinning",
            str(PINNING),
            "-j",
            "1",
            *extra,
        ],
        catch_exceptions=False,
    )
    assert res.exit_code == 0, res.output
    _snapshot.output = res.output  # type: ignore[attr-defined]
    return snapmod.load(out)


def test_main_and_maintained_branches_rendered_from_a_bare_mirror(tmp_path, mirror):
    snap = _snapshot(tmp_path, mirror)
    fs = snap.feedstocks["foo"]
    assert fs.maintained_branches == ("1.2.x", "0.9.x")
    assert [b.name for b in fs.builds()] == ["main", "1.2.x"]  # "old" is not maintained, 0.9.x is absent
    assert any("0.9.x" in n and "not in the repository" in n for n in fs.notes)
    assert (fs.version, fs.recipe_file) == ("1.3.0", "recipe/meta.yaml")
    old = fs.branches["1.2.x"]
    assert (old.version, old.schema, old.recipe_file) == ("1.2.5", "v0", "recipe/meta.yaml")
    assert old.revision and old.revision != fs.revision and old.date == "2025-04-01"
    lib_old = {o.name: o for o in old.renders["linux-64:linux-64"].outputs}["libfoo"]
    lib_new = {o.name: o for o in fs.renders["linux-64:linux-64"].outputs}["libfoo"]
    # run_exports carry the pinned version of each branch
    assert lib_old.run_exports["weak"] == ("libfoo >=1.2.5,<1.3.0a0",)
    assert lib_new.run_exports["weak"] == ("libfoo >=1.3.0,<1.4.0a0",)
    assert (lib_old.build_number, lib_new.build_number) == (3, 1)
    assert snap.producers("libfoo") == ["foo"]
    said = " ".join(_snapshot.output.split())  # type: ignore[attr-defined]  # (rich wraps lines)
    assert "release branches: 1 rendered for 1 feedstocks" in said
    assert "branch foo: branch 0.9.x (listed under bot: abi_migration_branches) is not in the repository" in said


def test_branches_option_all_and_named(tmp_path, mirror):
    fs = _snapshot(tmp_path, mirror, "--branches", "all").feedstocks["foo"]
    assert sorted(fs.branches) == ["1.2.x", "old"]
    assert fs.branches["old"].version == "1.2.1"
    fs = _snapshot(tmp_path, mirror, "--branches", "old").feedstocks["foo"]
    assert list(fs.branches) == ["old"]
    fs = _snapshot(tmp_path, mirror, "--branches", "none").feedstocks["foo"]
    assert fs.branches == {}


def test_history_versions_from_the_version_line(tmp_path, mirror):
    fs = _snapshot(tmp_path, mirror).feedstocks["foo"]
    # newest first; the docs-only commit does not touch the recipe; 1.2.x's commit is not on main
    assert [(h.version, h.date) for h in fs.history] == [
        ("1.3.0", "2025-03-01"),
        ("1.2.1", "2025-02-01"),
        ("1.2.0", "2025-01-01"),
    ]
    assert all(len(h.commit) == 40 for h in fs.history)
    assert recipe_history(mirror, "refs/heads/1.2.x")[0].version == "1.2.5"
    assert len(recipe_history(mirror, "HEAD", limit=2)) == 2


def test_requirement_lines_point_into_the_branch_recipe(tmp_path, mirror):
    fs = _snapshot(tmp_path, mirror).feedstocks["foo"]
    text = META.format(version="1.3.0", number=1).splitlines()
    outs = {o.name: o for o in fs.renders["linux-64:linux-64"].outputs}
    for out in outs.values():
        for section, reqs in out.requirements.items():
            for r in reqs:
                assert r.line, (out.name, section, r)
                line = text[r.line - 1]
                assert r.name in line or "compiler(" in line or "pin_subpackage" in line, (r, line)
    run = {r.name: r.line for r in outs["foo"].reqs("run")}
    assert text[run["python"] - 1].strip() == "- python >=3.10"
    assert "pin_subpackage('libfoo', exact=True)" in text[run["libfoo"] - 1]
    host = outs["libfoo"].reqs("host")[0]
    assert (host.name, text[host.line - 1].strip()) == ("zlib", "- zlib")


def test_version_lines():
    assert version_line('{% set version = "3.5.1" %}\npackage:\n  version: {{ version }}\n', "v0") == "3.5.1"
    assert version_line("{%- set version = '2.0' -%}\n", "v0") == "2.0"
    assert version_line("package:\n  name: a\n  version: 1.4.2  # pinned\n", "v0") == "1.4.2"
    assert version_line("package:\n  version: {{ ver }}\n", "v0") == ""
    v1 = 'context:\n  name: ruamel.yaml\n  version: "0.19.1"\n\npackage:\n  version: ${{ version }}\n'
    assert version_line(v1, "v1") == "0.19.1"
    assert version_line("package:\n  name: x\n  version: 0.18.17\n", "v1") == "0.18.17"
    assert version_line("context:\n  version: ${{ env.get('V') }}\n", "v1") == ""


def test_maintained_branches_parsing():
    assert maintained_branches(b"bot:\n  abi_migration_branches:\n  - '3.10'\n  - 3.11\n") == ("3.10", "3.11")
    assert maintained_branches(b"bot:\n  automerge: true\n") == ()
    assert maintained_branches(b"bot: [\n") == ()
    assert maintained_branches(None) == ()
    chosen, notes = select_branches("maintained", ("3.5.x", "9.x"), {"main": "m", "3.5.x": "r"}, "main")
    assert chosen == ["3.5.x"] and notes == [
        "branch 9.x (listed under bot: abi_migration_branches) is not in the repository"
    ]


def test_v1_lines_inside_conditionals():
    text = """\
context:
  version: "1.0"
requirements:
  build:
    - ${{ compiler('c') }}
    - if: win
      then:
        - m2-patch
      else: patch
  host:
    - python ${{ python_min }}.*
    - if: unix
      then: libuuid
  run:
    - ${{ pin_subpackage('libx', upper_bound='x.x') }}
"""
    got = {(a.section, a.name or (a.pattern.pattern if a.pattern else "tool")): a.line for a in scan(text)}
    assert got == {
        ("build", "tool"): 5,
        ("build", "m2-patch"): 8,
        ("build", "patch"): 9,
        ("host", "python"): 11,
        ("host", "libuuid"): 13,
        ("run", "libx"): 15,
    }
