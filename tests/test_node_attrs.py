"""cf-graph node_attrs files as a source: format, per-platform choice, notes, errors, CLI wiring.

The fixtures are small node_attrs objects written here in the bot's format (sharded paths,
``{"__set__": true, "elements": [...]}`` sets, ``<platform>_meta_yaml`` / ``<platform>_requirements``,
``c_compiler_stub`` placeholders, ``run_constrained``).
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from newarch.store import snapshot as snapshot_mod
from newarch.cli import main
from newarch.errors import NewarchError
from newarch.model import PlatformPair
from newarch.render.node_attrs import (
    ORIGIN_NOTE,
    is_node_attrs_source,
    iter_node_attrs_files,
    load_node_attrs,
    read_node_attrs,
)

WIN_ARM64 = PlatformPair("win-arm64", "win-64")
WIN_64 = PlatformPair("win-64", "win-64")
LINUX_64 = PlatformPair("linux-64", "linux-64")
PINS = {
    WIN_ARM64.key: {"c_compiler": ["vs2022"], "cxx_compiler": ["vs2022"], "c_stdlib": ["vs"]},
    WIN_64.key: {"c_compiler": ["vs2022"], "cxx_compiler": ["vs2022"], "c_stdlib": ["vs"]},
    LINUX_64.key: {
        "c_compiler": ["gcc"],
        "c_compiler_version": ["14"],
        "cxx_compiler": ["gxx"],
        "cxx_compiler_version": ["14"],
        "c_stdlib": ["sysroot"],
        "c_stdlib_version": ["2.17"],
    },
}


def S(*items: str) -> dict[str, Any]:
    return {"__set__": True, "elements": sorted(items)}


def _split_meta(platform: str, win: bool) -> dict[str, Any]:
    """A mamba-like multi-output rendering for one platform (selectors already applied)."""
    build = ["cxx_compiler_stub", "c_stdlib_stub", "cmake", "ninja"] + (["vcpkg-tool", "python"] if win else [])
    return {
        "package": {"name": "minimamba-split", "version": "2.0.3"},
        "build": {"number": "0"},
        "schema_version": 0,
        "outputs": [
            {
                "name": "libminimamba",
                "version": "2.0.3",
                "build": {"run_exports": ["libminimamba"], "ignore_run_exports": ["spdlog"]},
                "requirements": {
                    "build": ["cxx_compiler_stub", "c_stdlib_stub", "cmake"],
                    "host": ["libsolv >=0.7.23", "spdlog"] + (["winreg"] if win else []),
                    "run": ["libsolv"],
                },
            },
            {
                "name": "libminimambapy",
                "version": "2.0.3",
                "build": {"run_exports": ["libminimambapy"], "string": "py39h1234567_0"},
                "requirements": {
                    "build": ["cxx_compiler_stub", "cmake"],
                    "host": ["python", "pybind11", "libminimamba"],
                    "run": ["python", "libminimamba"],
                },
            },
            {
                "name": "minimamba-stubs",
                "version": "2.0.3",
                "build": {"noarch": "python"},
                "requirements": {"host": ["python", "mypy"], "run": ["python", "libminimambapy"]},
            },
            {
                "name": "minimamba",
                "version": "2.0.3",
                "build": {"ignore_run_exports_from": ["cxx_compiler_stub"]},
                "requirements": {"build": build, "host": ["cli11 >=2.2,<3", "libminimamba"], "run": ["libminimamba"]},
            },
        ],
    }


def minimamba() -> dict[str, Any]:
    reqs = {
        "build": S("c_stdlib_stub", "cmake", "cxx_compiler_stub", "ninja"),
        "host": S("libsolv", "spdlog", "python"),
        "run": S("libsolv", "python"),
        "test": S(),
    }
    return {
        "archived": False,
        "branch": "main",
        "conda-forge.yml": {
            "build_platform": {"osx_arm64": "osx_64", "linux_aarch64": "linux_64"},
            "provider": {"win": "azure", "linux_aarch64": "default"},
            "test": "native",
        },
        "feedstock_name": "minimamba",
        "feedstock_hash": "9b49b30dbaba14826c1f81d165a4ff40a88077b9",
        "feedstock_hash_ts": 1767368076,
        "linux_64_meta_yaml": _split_meta("linux_64", win=False),
        "linux_64_requirements": reqs,
        "win_64_meta_yaml": _split_meta("win_64", win=True),
        "win_64_requirements": reqs,
        "meta_yaml": {
            **_split_meta("linux_64", False),
            "outputs": _split_meta("linux_64", False)["outputs"] + _split_meta("win_64", True)["outputs"],
        },
        "outputs_names": S("libminimamba", "libminimambapy", "minimamba", "minimamba-stubs"),
        "parsing_error": False,
        "platforms": ["linux_64", "win_64"],
        "pr_info": {"__lazy_json__": "pr_info/minimamba.json"},
        "raw_meta_yaml": "{% set name = 'minimamba' %}\npackage:\n  name: minimamba-split\n",
        "version": "2.0.3",
    }


def zlibish() -> dict[str, Any]:
    """zlib-like: the bot rendered win_arm64 itself; one output skipped off Windows."""

    def meta(win: bool) -> dict[str, Any]:
        return {
            "package": {"name": "zlibish-split", "version": "1.3.1"},
            "schema_version": 0,
            "requirements": {
                "build": ["c_compiler_stub", "c_stdlib_stub"] + (["cmake"] if win else ["make"]),
                "run": [],
            },
            "outputs": [
                {
                    "name": "libzlibish",
                    "build": {"run_exports": ["libzlibish"]},
                    "requirements": {
                        "build": ["c_compiler_stub", "c_stdlib_stub"],
                        "host": [],
                        "run": [],
                        "run_constrained": ["zlibish 1.3.1 *_2"],
                    },
                },
                {
                    "name": "zlibish-wapi",
                    "build": {"run_exports": ["libzlibish-wapi"], "skip": not win},
                    "requirements": {"build": ["c_compiler_stub"], "host": ["libzlibish"], "run": ["libzlibish"]},
                },
            ],
        }

    return {
        "feedstock_name": "zlibish",
        "conda-forge.yml": {"build_platform": {"win_arm64": "win_64", "osx_arm64": "osx_64"}},
        "last_updated": 1733265950,
        "platforms": ["linux_64", "win_64", "win_arm64"],
        "linux_64_meta_yaml": meta(False),
        "win_64_meta_yaml": meta(True),
        "win_arm64_meta_yaml": meta(True),
        "parsing_error": False,
    }


def noarchish() -> dict[str, Any]:
    """A noarch: python v1 recipe the bot rendered on linux_64 only."""
    return {
        "feedstock_name": "puretool",
        "conda-forge.yml": {"noarch_platforms": ["linux_64"]},
        "platforms": ["linux_64"],
        "linux_64_meta_yaml": {
            "schema_version": 1,
            "package": {"name": "puretool", "version": "1.0"},
            "build": {"noarch": "python", "number": "0"},
            "outputs": [
                {
                    "name": "puretool",
                    "build": None,
                    "version": "1.0",
                    "requirements": {"build": [], "host": ["python", "pip"], "run": ["python", "colorama"]},
                }
            ],
        },
        "parsing_error": False,
    }


def linux_only() -> dict[str, Any]:
    return {
        "feedstock_name": "glibc-thing",
        "platforms": ["linux_64"],
        "linux_64_meta_yaml": {
            "package": {"name": "glibc-thing", "version": "2.0"},
            "schema_version": 0,
            "requirements": {"build": ["c_compiler_stub"], "host": ["libfoo"], "run": []},
        },
        "parsing_error": False,
    }


def write_graph(root: Path, nodes: list[dict[str, Any]], indent: int = 1) -> Path:
    """Write node_attrs/<sha1 shard>/<name>.json as cf-graph-countyfair lays them out."""
    for node in nodes:
        name = node["feedstock_name"]
        h = hashlib.sha1(f"{name}.json".encode()).hexdigest()[:5]
        p = root / "node_attrs" / Path(*h) / f"{name}.json"
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(json.dumps(node, indent=indent, sort_keys=True), encoding="utf-8")
    return root


def _out(res, name):
    return next(o for o in res.outputs if o.name == name)


def test_multi_output_win64_uses_the_bot_rendering_and_resolves_stubs(tmp_path):
    root = write_graph(tmp_path, [minimamba()])
    (path,) = list(iter_node_attrs_files(root))
    fs = read_node_attrs(path, [WIN_64, LINUX_64], PINS)
    assert fs.name == "minimamba" and fs.source == "node_attrs" and fs.schema == "v0"
    assert fs.revision == "9b49b30dbaba14826c1f81d165a4ff40a88077b9" and fs.date == "2026-01-02"
    assert fs.settings.build_platform == {"osx_arm64": "osx_64", "linux_aarch64": "linux_64"}
    win = fs.render_for(WIN_64)
    assert win.ok and ORIGIN_NOTE in win.notes
    assert sorted(o.name for o in win.outputs) == ["libminimamba", "libminimambapy", "minimamba", "minimamba-stubs"]
    lib = _out(win, "libminimamba")
    assert [r.spec for r in lib.reqs("build")][:2] == ["vs2022_win-64", "vs_win-64"]
    assert {r.name for r in lib.reqs("host")} == {"libsolv", "spdlog", "winreg"}
    assert lib.run_exports == {"weak": ("libminimamba",)} and lib.ignore_run_exports == ("spdlog",)
    assert _out(win, "minimamba").ignore_run_exports_from == ("vs2022_win-64",)
    assert _out(win, "minimamba-stubs").noarch == "python"
    assert "vcpkg-tool" in {r.name for r in _out(win, "minimamba").reqs("build")}
    linux = fs.render_for(LINUX_64)
    lm = _out(linux, "libminimamba")
    assert [r.spec for r in lm.reqs("build")][:2] == ["gxx_linux-64 14.*", "sysroot_linux-64 2.17.*"]
    assert "winreg" not in {r.name for r in lm.reqs("host")}
    assert "vcpkg-tool" not in {r.name for r in _out(linux, "minimamba").reqs("build")}


def test_win_arm64_without_a_bot_rendering_falls_back_to_win64_and_says_so(tmp_path):
    (path,) = list(iter_node_attrs_files(write_graph(tmp_path, [minimamba()])))
    res = read_node_attrs(path, [WIN_ARM64], PINS).render_for(WIN_ARM64)
    assert res.ok
    assert any("no win_arm64 rendering" in n and "win_64" in n for n in res.notes)
    assert any("native build" in n and "cross-python_win-arm64" in n for n in res.notes)
    lib = _out(res, "libminimamba")
    assert lib.reqs("build")[0].spec == "vs2022_win-arm64"  # stub resolved for the target, not win-64
    assert "winreg" in {r.name for r in lib.reqs("host")}


def test_the_bots_own_win_arm64_rendering_wins_and_skips_and_run_constrained_are_kept(tmp_path):
    (path,) = list(iter_node_attrs_files(write_graph(tmp_path, [zlibish()])))
    fs = read_node_attrs(path, [WIN_ARM64, LINUX_64], PINS)
    assert fs.date == "2024-12-03"
    arm = fs.render_for(WIN_ARM64)
    assert "the bot rendered win_arm64 itself" in arm.notes
    assert not any(n.startswith("approximate: the bot has no") for n in arm.notes)
    assert {o.name: o.skip for o in arm.outputs} == {"libzlibish": False, "zlibish-wapi": False}
    lib = _out(arm, "libzlibish")
    assert [r.spec for r in lib.reqs("run_constraints")] == ["zlibish 1.3.1 *_2"]
    # top-level build requirements of a multi-output recipe are needed to build it at all
    assert "cmake" in {r.name for r in lib.reqs("build")}
    linux = fs.render_for(LINUX_64)
    wapi = _out(linux, "zlibish-wapi")
    assert wapi.skip and "skip" in wapi.skip_reason
    assert "make" in {r.name for r in _out(linux, "libzlibish").reqs("build")}


def test_noarch_feedstock_rendered_on_linux_only_is_usable_for_win_arm64(tmp_path):
    (path,) = list(iter_node_attrs_files(write_graph(tmp_path, [noarchish()])))
    fs = read_node_attrs(path, [WIN_ARM64], PINS)
    assert fs.schema == "v1"
    res = fs.render_for(WIN_ARM64)
    (out,) = res.outputs
    assert out.name == "puretool" and out.noarch == "python" and not out.skip
    assert {r.name for r in out.reqs("run")} == {"python", "colorama"}
    assert any(n.startswith("noarch feedstock") for n in res.notes)


def test_feedstock_the_bot_builds_only_for_linux_is_skipped_on_windows(tmp_path):
    (path,) = list(iter_node_attrs_files(write_graph(tmp_path, [linux_only()])))
    res = read_node_attrs(path, [WIN_ARM64, LINUX_64], PINS).render_for(WIN_ARM64)
    (out,) = res.outputs
    assert out.name == "glibc-thing" and out.skip and "linux_64" in out.skip_reason
    assert not out.requirements
    linux = read_node_attrs(path, [LINUX_64], PINS).render_for(LINUX_64)
    assert not linux.outputs[0].skip and linux.outputs[0].reqs("host")[0].name == "libfoo"


def test_parsing_error_from_the_bot_is_a_render_error(tmp_path):
    node = {
        "feedstock_name": "broken",
        "parsing_error": "make_graph: render error: 'foo' is undefined",
        "platforms": [],
    }
    (path,) = list(iter_node_attrs_files(write_graph(tmp_path, [node])))
    res = read_node_attrs(path, [WIN_64], PINS).render_for(WIN_64)
    assert not res.ok and "could not parse" in res.error and "broken.json" in res.error


@pytest.mark.parametrize("cut", [0.5, 0.9, 0.999])
def test_truncated_json_names_file_and_line(tmp_path, cut):
    (path,) = list(iter_node_attrs_files(write_graph(tmp_path, [minimamba()])))
    text = path.read_text()
    path.write_text(text[: int(len(text) * cut)])
    with pytest.raises(NewarchError) as info:
        load_node_attrs(path)
    err = info.value
    assert err.file == str(path) and "truncated" in err.message
    cut_text = text[: int(len(text) * cut)]
    assert err.line in (cut_text.rstrip().count("\n") + 1, cut_text.count("\n") + 1)  # where the file ends
    assert str(err).startswith(f"{path}:{err.line}: ")


def test_malformed_json_points_at_the_bad_line(tmp_path):
    (path,) = list(iter_node_attrs_files(write_graph(tmp_path, [minimamba()])))
    lines = path.read_text().splitlines()
    bad = next(i for i, ln in enumerate(lines) if '"feedstock_name"' in ln)
    lines[bad] = lines[bad].replace('"minimamba",', '"minimamba" oops,')
    path.write_text("\n".join(lines))
    with pytest.raises(NewarchError) as info:
        load_node_attrs(path)
    assert info.value.line == bad + 1 and "malformed" in info.value.message


def test_non_object_and_missing_name_are_errors(tmp_path):
    p = tmp_path / "x.json"
    p.write_text("[1, 2]")
    with pytest.raises(NewarchError, match="JSON object"):
        load_node_attrs(p)
    p.write_text('{"platforms": ["linux_64"]}')
    with pytest.raises(NewarchError, match="feedstock_name"):
        read_node_attrs(p, [WIN_64], PINS)


def test_detection_of_node_attrs_sources(tmp_path):
    root = write_graph(tmp_path / "cf-graph", [minimamba(), zlibish()])
    assert is_node_attrs_source(root) and is_node_attrs_source(root / "node_attrs")
    assert len(list(iter_node_attrs_files(root))) == 2
    feedstock = tmp_path / "foo-feedstock"
    (feedstock / "recipe").mkdir(parents=True)
    (feedstock / "recipe" / "meta.yaml").write_text("package: {name: foo}\n")
    (feedstock / "recipe" / "extra.json").write_text("{}")
    assert not is_node_attrs_source(feedstock)
    assert not is_node_attrs_source(tmp_path)  # a folder of feedstock folders


PINNING = """\
c_compiler:
  - gcc                        # [linux]
  - vs2022                     # [win]
c_compiler_version:
  - '14'                       # [linux]
cxx_compiler:
  - gxx                        # [linux]
  - vs2022                     # [win]
c_stdlib:
  - sysroot                    # [linux]
  - vs                         # [win]
python:
  - 3.14.* *_cp314
"""


def test_snapshot_cli_on_a_node_attrs_tree_round_trips(tmp_path):
    root = write_graph(tmp_path / "cf-graph", [minimamba(), zlibish(), noarchish(), linux_only()])
    bad = root / "node_attrs" / "f" / "broken.json"
    bad.parent.mkdir(parents=True, exist_ok=True)
    bad.write_text('{"feedstock_name": "broken",\n "platforms": [\n')
    pin = tmp_path / "cbc.yaml"
    pin.write_text(PINNING)

    def snapshot(out: Path):
        return CliRunner().invoke(
            main,
            [
                "snapshot",
                str(root),
                "--out",
                str(out),
                "--pinning",
                str(pin),
                "--platforms",
                "win-arm64:win-64,linux-64",
                "-j",
                "1",
                "--date",
                "2026-11-24",
            ],
        )

    out = tmp_path / "snap.sqlite"
    result = snapshot(out)
    assert result.exit_code == 0, result.output
    snap = snapshot_mod.load(out)
    assert sorted(snap.feedstocks) == ["glibc-thing", "minimamba", "puretool", "zlibish"]
    assert "broken.json" in snap.failures and ":3: " in snap.failures["broken.json"]
    mm = snap.feedstocks["minimamba"]
    arm = mm.render_for(WIN_ARM64)
    assert _out(arm, "libminimamba").reqs("build")[0].spec == "vs2022_win-arm64"
    assert ORIGIN_NOTE in arm.notes
    # byte-identical on a second run (determinism)
    out2 = tmp_path / "snap2.sqlite"
    snapshot(out2)
    assert out.read_bytes() == out2.read_bytes()


def test_plan_runs_on_a_node_attrs_snapshot(tmp_path):
    from newarch.cli import main as cli_main

    assert cli_main.get_command(None, "plan") is not None  # type: ignore[arg-type]
    root = write_graph(tmp_path / "cf-graph", [minimamba(), zlibish(), noarchish(), linux_only()])
    pin = tmp_path / "cbc.yaml"
    pin.write_text(PINNING)
    out = tmp_path / "snap.sqlite"
    r = CliRunner().invoke(
        main,
        ["snapshot", str(root), "--out", str(out), "--pinning", str(pin), "--platforms", "win-arm64:win-64", "-j", "1"],
    )
    assert r.exit_code == 0, r.output
    r = CliRunner().invoke(
        main,
        [
            "plan",
            "minimamba",
            "--snapshot",
            str(out),
            "--platform",
            "win-arm64",
            "--build-platform",
            "win-64",
            "--format",
            "json",
        ],
    )
    assert r.exit_code == 0, r.output
    plan = json.loads(r.output)
    names = {f["name"] for f in plan["feedstocks"]}
    assert "minimamba" in names and not names & {"puretool", "glibc-thing", "zlibish"}
    unknown = {u["name"]: u for u in plan["unknown"]}
    assert "minimamba" in unknown["libsolv"]["needed_by"]
    assert "winreg" in unknown  # from the win-64 rendering the bot has (fallback), not a linux one


def test_parallel_conversion_gives_the_same_snapshot(tmp_path):
    """More files than one batch: -j 2 sends Feedstock objects from worker processes; same bytes as -j 1."""
    from newarch.store.build import NODE_ATTRS_BATCH, BuildRequest, build_snapshot

    nodes = []
    for i in range(NODE_ATTRS_BATCH + 7):
        node = linux_only() if i % 2 else noarchish()
        node["feedstock_name"] = f"pkg{i:03d}"
        nodes.append(node)
    root = write_graph(tmp_path, nodes)
    files = list(iter_node_attrs_files(root))
    from newarch.render.pinning import Variants

    pins = {k: Variants({kk: list(vv) for kk, vv in v.items()}) for k, v in PINS.items()}
    blobs = []
    for jobs in (1, 2):
        req = BuildRequest(
            sources=[],
            pairs=[WIN_ARM64, LINUX_64],
            pinnings={k: pins[k] for k in (WIN_ARM64.key, LINUX_64.key)},
            jobs=jobs,
            node_attrs=files,
            date="2026-11-24",
        )
        snap = build_snapshot(req)
        assert len(snap.feedstocks) == len(nodes) and not snap.failures
        blobs.append(snapshot_mod.dumps(snap))
    assert blobs[0] == blobs[1]
