"""User-given files: one clear error naming the file (and line), and atomic writes."""

from __future__ import annotations

import os

import pytest

from newarch.errors import NewarchError, SnapshotError
from newarch.files import read_json, read_text, write_atomic


def test_missing_directory_and_binary_inputs(tmp_path):
    with pytest.raises(NewarchError, match="targets file not found") as e:
        read_text(tmp_path / "nope.txt", "targets file")
    assert e.value.file == str(tmp_path / "nope.txt")
    with pytest.raises(NewarchError, match="is a directory"):
        read_text(tmp_path, "targets file")
    (tmp_path / "bin.txt").write_bytes(b"conda\n\xff\xfe\n")
    with pytest.raises(NewarchError, match="not UTF-8"):
        read_text(tmp_path / "bin.txt", "targets file")


def test_json_errors_say_truncated_or_malformed_with_the_line(tmp_path):
    p = tmp_path / "s.json"
    p.write_text('{\n  "done": ["a",\n')
    with pytest.raises(SnapshotError, match="truncated") as e:
        read_json(p, "status file", SnapshotError)
    assert e.value.line == 3 and str(e.value).startswith(f"{p}:3: ")
    p.write_text('{\n  "done": ["a" "b"]\n}\n')
    with pytest.raises(NewarchError, match="malformed") as e:
        read_json(p, "status file")
    assert e.value.line == 2
    p.write_text("[" * 100_000 + "]" * 100_000)
    with pytest.raises(NewarchError, match="nested too deeply"):
        read_json(p, "status file")


def test_too_large_file_is_refused(tmp_path):
    p = tmp_path / "big.json"
    p.write_text("[" + "1," * 100 + "1]")
    with pytest.raises(NewarchError, match="too large"):
        read_json(p, "node_attrs file", max_bytes=50)


def test_write_atomic_leaves_no_temporary_files_and_ordinary_permissions(tmp_path):
    target = tmp_path / "sub" / "out.txt"
    old = os.umask(0o022)
    try:
        write_atomic(target, b"one")
        write_atomic(target, b"two")
    finally:
        os.umask(old)
    assert target.read_bytes() == b"two"
    assert [p.name for p in target.parent.iterdir()] == ["out.txt"]
    assert target.stat().st_mode & 0o044 == 0o044  # readable by others, as a normally created file
