"""Snapshot file format: round trip, determinism, and one clear error for bad files."""

from __future__ import annotations

import json
import lzma

import pytest

from newarch import files
from newarch.store import snapshot as snapmod
from newarch.errors import SnapshotError
from newarch.model import Dropped, Feedstock, Finding, Output, PlatformPair, PlatformSettings, RenderResult, Requirement
from newarch.store.snapshot import Snapshot


def _snap() -> Snapshot:
    pair = PlatformPair("win-arm64", "win-64")
    out = Output(
        name="libmambapy",
        version="2.6.1",
        variant={"python": "3.14.* *_cp314"},
        requirements={
            "build": (Requirement.from_spec("cross-python_win-arm64", "build_platform != target_platform"),),
            "host": (Requirement.from_spec("python"), Requirement.from_spec("libmamba ==2.6.1")),
            "run": (Requirement.from_spec("python"),),
        },
        run_exports={"weak": ("libmambapy >=2.6.1,<2.7",)},
        dropped=(Dropped("host", "winreg", "not win", 12),),
    )
    stubs = Output(
        name="libmambapy-stubs", version="2.6.1", noarch="python", skip=True, skip_reason="not (linux and x86_64)"
    )
    res = RenderResult(
        pair=pair,
        outputs=[stubs, out],
        notes=["variants: 2 of 4 kept"],
        findings=[Finding("cross-python-missing", "error", "mamba", "recipe/recipe.yaml", 3, "m")],
    )
    fs = Feedstock(
        name="mamba",
        schema="v1",
        revision="abc",
        date="2026-05-13",
        source="git",
        settings=PlatformSettings(build_platform={"osx_arm64": "osx_64"}, provider={"win_64": "azure"}),
        renders={pair.key: res},
    )
    bad = RenderResult(pair=pair, error="zlib/recipe/meta.yaml:7: undefined variable 'foo'")
    return Snapshot(
        date="2026-08-22",
        pairs=[pair],
        pinning={"source": "cbc.yaml", "platforms": {}},
        feedstocks={"mamba": fs, "zlib": Feedstock(name="zlib", renders={pair.key: bad})},
        output_index={"libmamba": ["libmamba", "mamba"]},
        failures={"x": "unreadable"},
    )


def test_round_trip_is_identical(tmp_path):
    snap = _snap()
    path = tmp_path / "s.json.xz"
    snap.save(path)
    back = snapmod.load(path)
    assert back.to_dict() == snap.to_dict()
    outs = {o.name: o for o in back.feedstocks["mamba"].renders["win-arm64:win-64"].outputs}
    assert outs["libmambapy"].requirements["build"][0].condition == "build_platform != target_platform"
    assert outs["libmambapy-stubs"].skip and outs["libmambapy-stubs"].noarch == "python"
    assert back.dumps() == path.read_bytes()


def test_bytes_do_not_depend_on_insertion_order():
    a = _snap()
    b = _snap()
    b.feedstocks = dict(reversed(list(b.feedstocks.items())))
    assert a.dumps() == b.dumps()


def test_truncated_file_is_one_clear_error(tmp_path):
    path = tmp_path / "s.json.xz"
    data = _snap().dumps()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(SnapshotError, match="truncated") as exc:
        snapmod.load(path)
    assert str(path) in str(exc.value)


def test_corrupted_file(tmp_path):
    path = tmp_path / "s.json.xz"
    path.write_bytes(b"this is not xz at all")
    with pytest.raises(SnapshotError, match="corrupted"):
        snapmod.load(path)


def test_not_json_inside(tmp_path):
    path = tmp_path / "s.json.xz"
    path.write_bytes(lzma.compress(b"{not json"))
    with pytest.raises(SnapshotError, match="not valid JSON"):
        snapmod.load(path)


def test_wrong_version(tmp_path):
    d = _snap().to_dict()
    d["version"] = 99
    path = tmp_path / "s.json.xz"
    path.write_bytes(lzma.compress(json.dumps(d).encode()))
    with pytest.raises(SnapshotError, match="version 99 is not supported"):
        snapmod.load(path)


def test_malformed_content(tmp_path):
    d = _snap().to_dict()
    del d["feedstocks"][0]["name"]
    path = tmp_path / "s.json.xz"
    path.write_bytes(lzma.compress(json.dumps(d).encode()))
    with pytest.raises(SnapshotError, match="malformed"):
        snapmod.load(path)


def test_missing_file(tmp_path):
    with pytest.raises(SnapshotError, match="not found"):
        snapmod.load(tmp_path / "nope.json.xz")


def test_save_is_atomic(tmp_path, monkeypatch):
    path = tmp_path / "s.json.xz"
    _snap().save(path)
    before = path.read_bytes()

    def boom(src, dst):
        raise OSError("disk full")

    monkeypatch.setattr(files.os, "replace", boom)
    snap = _snap()
    snap.date = "2026-09-01"
    with pytest.raises(OSError):
        snap.save(path)
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["s.json.xz"]


def test_bundled_snapshot_loads_and_round_trips_byte_identically():
    from importlib import resources
    from pathlib import Path

    raw = (resources.files("newarch") / "data" / snapmod.BUNDLED_NAME).read_bytes()
    snap = snapmod.load(None)
    assert snap.dumps() == raw
    assert len(snap.feedstocks) >= 170 and snap.date.startswith("2026-08")
    assert {p.key for p in snap.pairs} >= {
        "win-arm64:win-64",
        "win-64:win-64",
        "linux-64:linux-64",
        "linux-aarch64:linux-64",
        "linux-riscv64:linux-64",
        "osx-64:osx-64",
        "osx-arm64:osx-64",
    }
    listed = Path(__file__).resolve().parents[1] / ".." / "shared" / "data" / "feedstocks.txt"
    if listed.is_file():  # the bundled snapshot covers conda-forge's bootstrap list exactly
        names = {ln.strip() for ln in listed.read_text().splitlines() if ln.strip() and not ln.startswith("#")}
        assert set(snap.feedstocks) == names
