"""Snapshot store (format 2): round trip, determinism, lazy reads, index queries, one clear error for bad files."""

from __future__ import annotations

import json
import lzma
import os
import sqlite3
import stat

import pytest
from click.testing import CliRunner

from newarch import files
from newarch.cli import main
from newarch.errors import SnapshotError
from newarch.model import (
    Branch,
    Dropped,
    Feedstock,
    Finding,
    HistoryEntry,
    Output,
    PlatformPair,
    PlatformSettings,
    RenderResult,
    Requirement,
)
from newarch.store import read as readmod
from newarch.store.build import DEFAULT_PAIRS
from newarch.store import snapshot as snapmod
from newarch.store.snapshot import Snapshot

ARM = PlatformPair("win-arm64", "win-64")
LINUX = PlatformPair("linux-64", "linux-64")


def _openssl(version: str, pair: PlatformPair, line: int) -> RenderResult:
    lib = Output(
        name="openssl",
        version=version,
        build_number=1,
        variant={"openssl": version.rsplit(".", 1)[0]},
        requirements={
            "build": (Requirement.from_spec("vs2022_win-arm64", line=line),),
            "host": (Requirement.from_spec("zlib >=1.3", "win", line + 1),),
        },
        run_exports={"weak": (f"openssl >={version},<{version.split('.')[0]}.{int(version.split('.')[1]) + 1}.0a0",)},
        dropped=(Dropped("host", "perl", "unix", line + 2),),
    )
    return RenderResult(pair=pair, outputs=[lib])


def _snap() -> Snapshot:
    out = Output(
        name="libmambapy",
        version="2.6.1",
        variant={"python": "3.14.* *_cp314"},
        requirements={
            "build": (Requirement.from_spec("cross-python_win-arm64", "build_platform != target_platform", 12),),
            "host": (Requirement.from_spec("python", line=14), Requirement.from_spec("libmamba ==2.6.1", line=15)),
            "run": (Requirement.from_spec("python"),),
        },
        run_exports={"weak": ("libmambapy >=2.6.1,<2.7",)},
        ignore_run_exports=("libcxx", "ucrt"),
        dropped=(Dropped("host", "winreg", "not win", 12),),
    )
    stubs = Output(
        name="libmambapy-stubs", version="2.6.1", noarch="python", skip=True, skip_reason="not (linux and x86_64)"
    )
    res = RenderResult(
        pair=ARM,
        outputs=[out, stubs],
        notes=["variants: 2 of 4 kept"],
        findings=[Finding("cross-python-missing", "error", "mamba", "recipe/recipe.yaml", 3, "m")],
    )
    mamba = Feedstock(
        name="mamba",
        schema="v1",
        revision="abc",
        date="2026-05-13",
        source="git",
        settings=PlatformSettings(build_platform={"osx_arm64": "osx_64"}, provider={"win_64": "azure"}),
        renders={ARM.key: res},
        version="2.6.1",
        recipe_file="recipe/recipe.yaml",
    )
    openssl = Feedstock(
        name="openssl",
        revision="m1",
        date="2026-08-01",
        source="git",
        renders={ARM.key: _openssl("3.6.2", ARM, 40), LINUX.key: _openssl("3.6.2", LINUX, 40)},
        version="3.6.2",
        recipe_file="recipe/meta.yaml",
        maintained_branches=("3.5.x", "3.4.x"),
        branches={
            "3.5.x": Branch(
                "3.5.x",
                "b1",
                "2026-07-30",
                "3.5.4",
                "v0",
                "recipe/meta.yaml",
                {ARM.key: _openssl("3.5.4", ARM, 38), LINUX.key: _openssl("3.5.4", LINUX, 38)},
                ["rendered from branch 3.5.x"],
            )
        },
        history=(HistoryEntry("m1", "2026-08-01", "3.6.2"), HistoryEntry("m0", "2026-06-01", "3.6.0")),
    )
    bad = RenderResult(pair=ARM, error="zlib/recipe/meta.yaml:7: undefined variable 'foo'")
    return Snapshot(
        date="2026-08-22",
        description="test",
        pairs=[ARM, LINUX],
        pinning={"source": "cbc.yaml", "platforms": {ARM.key: {"values": {"python": ["3.14.* *_cp314"]}}}},
        feedstocks={"mamba": mamba, "openssl": openssl, "zlib": Feedstock(name="zlib", renders={ARM.key: bad})},
        output_index={"libmamba": ["mamba", "libmamba"]},
        failures={"x": "unreadable"},
    )


def _sorted(fs: Feedstock) -> Feedstock:
    """The order a store gives back: outputs by name and variant."""
    for br in fs.builds():
        for r in br.renders.values():
            r.outputs.sort(key=Output.sort_key)
    return fs


def test_round_trip_keeps_every_field_incl_branches_history_and_lines(tmp_path):
    snap = _snap()
    path = tmp_path / "s.sqlite"
    snap.save(path)
    back = snapmod.load(path)
    assert (back.date, back.description, back.pairs, back.pinning) == (
        snap.date,
        snap.description,
        sorted(snap.pairs),
        snap.pinning,
    )
    assert back.output_index == {"libmamba": ["libmamba", "mamba"]} and back.failures == snap.failures
    assert list(back.feedstocks) == ["mamba", "openssl", "zlib"] and len(back.feedstocks) == 3
    for name in snap.feedstocks:
        assert back.feedstocks[name] == _sorted(snap.feedstocks[name])
    ossl = back.feedstocks["openssl"]
    assert [b.name for b in ossl.builds()] == ["main", "3.5.x"]
    assert ossl.branches["3.5.x"].version == "3.5.4" and ossl.maintained_branches == ("3.5.x", "3.4.x")
    assert ossl.history[1] == HistoryEntry("m0", "2026-06-01", "3.6.0")
    host = ossl.branches["3.5.x"].renders[ARM.key].outputs[0].reqs("host")[0]
    assert (host.spec, host.condition, host.line) == ("zlib >=1.3", "win", 39)
    assert ossl.renders[LINUX.key].outputs[0].run_exports == {"weak": ("openssl >=3.6.2,<3.7.0a0",)}
    assert ossl.renders[LINUX.key].outputs[0].build_number == 1
    with pytest.raises(KeyError):
        back.feedstocks["nope"]
    assert "nope" not in back.feedstocks and "zlib" in back.feedstocks


def test_rewrite_is_byte_identical_and_independent_of_insertion_order(tmp_path):
    a, b = _snap(), _snap()
    b.feedstocks = dict(reversed(list(b.feedstocks.items())))
    b.pairs = list(reversed(b.pairs))
    assert snapmod.dumps(a) == snapmod.dumps(b)
    path = tmp_path / "s.sqlite"
    a.save(path)
    assert snapmod.dumps(snapmod.load(path)) == path.read_bytes()


def test_lazy_load_reads_only_the_pairs_asked_for(tmp_path):
    path = tmp_path / "s.sqlite"
    _snap().save(path)
    snap = snapmod.load(path, pairs=[LINUX])
    ossl = snap.feedstocks["openssl"]
    assert list(ossl.renders) == [LINUX.key] and list(ossl.branches["3.5.x"].renders) == [LINUX.key]
    assert snap.feedstocks["mamba"].renders == {}
    # the feedstock is read once and then kept
    assert snap.feedstocks["openssl"] is ossl


def test_producers_answered_by_the_index(tmp_path):
    path = tmp_path / "s.sqlite"
    _snap().save(path)
    snap = snapmod.load(path)
    assert snap.producers("openssl") == ["openssl"]
    assert snap.producers("libmambapy-stubs") == ["mamba"]  # skipped outputs count
    assert snap.producers("libmambapy", LINUX) == [] and snap.producers("libmambapy", ARM) == ["mamba"]
    assert snap.producers("nothing") == []
    assert _snap().producers("libmambapy", ARM) == ["mamba"]  # the in-memory snapshot agrees
    db = sqlite3.connect(path)
    plan = db.execute(
        "EXPLAIN QUERY PLAN SELECT DISTINCT s.name FROM output o JOIN feedstock s ON s.id = o.feedstock_id"
        " WHERE o.name = ?",
        ("openssl",),
    ).fetchall()
    assert any("output_name_pair" in row[-1] for row in plan)
    assert snap.output_names() == _snap().output_names() == {"libmambapy", "libmambapy-stubs", "openssl"}


def test_truncated_file_is_one_clear_error(tmp_path):
    path = tmp_path / "s.sqlite"
    data = snapmod.dumps(_snap())
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(SnapshotError, match="truncated") as exc:
        snapmod.load(path)
    assert str(path) in str(exc.value)
    path.write_bytes(data[:50])
    with pytest.raises(SnapshotError, match="truncated"):
        snapmod.load(path)


def test_truncated_xz_store(tmp_path):
    path = tmp_path / "s.sqlite.xz"
    _snap().save(path)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(SnapshotError, match="truncated or corrupted"):
        snapmod.load(path)


def test_foreign_files(tmp_path):
    path = tmp_path / "s.sqlite"
    path.write_bytes(b"this is not a snapshot at all")
    with pytest.raises(SnapshotError, match="not a newarch snapshot"):
        snapmod.load(path)
    other = tmp_path / "other.sqlite"
    db = sqlite3.connect(other)
    db.execute("CREATE TABLE t (x)")
    db.commit()
    db.close()
    with pytest.raises(SnapshotError, match="not a newarch snapshot") as exc:
        snapmod.load(other)
    assert str(other) in str(exc.value)


def test_other_store_version(tmp_path):
    path = tmp_path / "s.sqlite"
    _snap().save(path)
    db = sqlite3.connect(path)
    db.execute("UPDATE meta SET value = '99' WHERE key = 'version'")
    db.commit()
    db.close()
    with pytest.raises(SnapshotError, match="format 99 is not supported.*newarch snapshot"):
        snapmod.load(path)


def test_format_1_file_says_how_to_regenerate(tmp_path):
    path = tmp_path / "old.json.xz"
    # format 1 wrote sorted keys: "format" comes after the (large) feedstocks list
    doc = {"date": "2026-08-22", "feedstocks": [{"name": f"f{i}", "x": "y" * 100} for i in range(5000)]}
    doc |= {"format": "newarch.snapshot", "version": 1}
    text = json.dumps(doc, sort_keys=True, separators=(",", ":")).encode()
    path.write_bytes(lzma.compress(text))
    with pytest.raises(SnapshotError, match=r"snapshot format 1 is not supported; re-create it with `newarch snapshot"):
        snapmod.load(path)
    other = tmp_path / "other.json.xz"
    other.write_bytes(lzma.compress(b'{"something": "else"}'))
    with pytest.raises(SnapshotError, match="not a newarch snapshot"):
        snapmod.load(other)


@pytest.mark.parametrize("content", [b"garbage", b"SQLite format 3\x00" + b"\x00" * 20])
def test_cli_turns_a_bad_snapshot_into_exit_2_and_one_line(tmp_path, content):
    bad = tmp_path / "bad.sqlite"
    bad.write_bytes(content)
    r = CliRunner().invoke(main, ["plan", "mamba", "--snapshot", str(bad)])
    assert r.exit_code == 2, r.output
    lines = [ln for ln in r.output.splitlines() if ln.strip()]
    assert len(lines) == 1 and str(bad) in lines[0] and "Traceback" not in r.output


def test_missing_file(tmp_path):
    with pytest.raises(SnapshotError, match="not found"):
        snapmod.load(tmp_path / "nope.sqlite")


def test_save_is_atomic(tmp_path, monkeypatch):
    path = tmp_path / "s.sqlite"
    _snap().save(path)
    before = path.read_bytes()

    def boom(src, dst):
        raise OSError("disk full")

    monkeypatch.setattr(files.os, "replace", boom)
    monkeypatch.setattr("newarch.store.write.os.replace", boom)
    snap = _snap()
    snap.date = "2026-09-01"
    with pytest.raises(OSError):
        snap.save(path)
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["s.sqlite"]


def test_xz_store_is_unpacked_once_into_the_cache(tmp_path, monkeypatch):
    cache = tmp_path / "cache"
    monkeypatch.setenv("XDG_CACHE_HOME", str(cache))
    path = tmp_path / "s.sqlite.xz"
    _snap().save(path)
    assert snapmod.load(path).feedstocks["openssl"].version == "3.6.2"
    unpacked = list((cache / "newarch").iterdir())
    assert len(unpacked) == 1 and unpacked[0].read_bytes() == snapmod.dumps(_snap())
    mtime = unpacked[0].stat().st_mtime_ns
    snapmod.load(path)
    assert unpacked[0].stat().st_mtime_ns == mtime


@pytest.mark.skipif(hasattr(os, "geteuid") and os.geteuid() == 0, reason="root writes into read-only dirs")
def test_read_only_cache_falls_back_to_a_temp_dir(tmp_path, monkeypatch):
    cache = tmp_path / "ro"
    cache.mkdir()
    cache.chmod(stat.S_IRUSR | stat.S_IXUSR)
    monkeypatch.setenv("XDG_CACHE_HOME", str(cache))
    monkeypatch.setenv("TMPDIR", str(tmp_path / "tmp"))
    (tmp_path / "tmp").mkdir()
    import tempfile

    monkeypatch.setattr(tempfile, "tempdir", None)
    path = tmp_path / "s.sqlite.xz"
    _snap().save(path)
    try:
        assert snapmod.load(path).feedstocks["mamba"].schema == "v1"
    finally:
        cache.chmod(stat.S_IRWXU)
    assert any((tmp_path / "tmp").rglob("*.sqlite"))


def test_unwritable_cache_falls_back_even_as_root(tmp_path, monkeypatch):
    """A cache path that is a file (so not a writable dir, whoever runs the test) falls back too."""
    blocker = tmp_path / "cachefile"
    blocker.write_text("x")
    monkeypatch.setenv("XDG_CACHE_HOME", str(blocker))
    monkeypatch.setattr(readmod.tempfile, "gettempdir", lambda: str(tmp_path / "tmp"))
    path = tmp_path / "s.sqlite.xz"
    _snap().save(path)
    assert snapmod.load(path).feedstocks["openssl"].branches["3.5.x"].version == "3.5.4"
    assert len(list((tmp_path / "tmp").rglob("*.sqlite"))) == 1


def test_bundled_snapshot_loads_and_covers_the_bootstrap_list(tmp_path, monkeypatch):
    from pathlib import Path

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    snap = snapmod.load(None)
    assert len(snap.feedstocks) >= 170 and snap.date.startswith("2026-")
    # rendered for every pair `newarch snapshot` renders by default
    assert {p.key for p in snap.pairs} >= set(DEFAULT_PAIRS)
    assert "python" in snap.producers("python")
    listed = Path(__file__).resolve().parents[1] / ".." / "shared" / "data" / "feedstocks.txt"
    if listed.is_file():  # the bundled closure includes conda-forge's bootstrap list
        names = {ln.strip() for ln in listed.read_text().splitlines() if ln.strip() and not ln.startswith("#")}
        assert names <= set(snap.feedstocks)
