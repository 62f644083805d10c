"""``--available`` inputs: repodata files, channel folders and URLs, name lists; bad files name themselves."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from newarch.sources.availability import load_availability, load_available
from newarch.errors import NewarchError

CHANNEL = Path(__file__).parent / "data" / "repodata"


def test_repodata_files_target_and_noarch():
    names = load_available([CHANNEL / "win-arm64" / "repodata.json", CHANNEL / "noarch" / "repodata.json"], "win-arm64")
    assert {"python", "openssl", "vc", "tzdata", "pip"} <= names
    assert "ninja" not in names  # win-64 only, not given


def test_other_subdirs_are_kept_apart():
    avail = load_availability([CHANNEL], "win-arm64")
    assert "ninja" in avail.names["win-64"]
    assert "ninja" not in avail.available_on("win-arm64")
    assert "ninja" in avail.available_on("win-64") and "pip" in avail.available_on("win-64")


def test_subdir_from_info_when_folder_is_not_a_subdir(tmp_path):
    dst = tmp_path / "downloads" / "arm.json"
    dst.parent.mkdir()
    shutil.copy(CHANNEL / "win-arm64" / "repodata.json", dst)
    avail = load_availability([dst], "win-arm64")
    assert list(avail.names) == ["win-arm64"] and "python" in avail.names["win-arm64"]


def test_no_subdir_anywhere_is_an_error(tmp_path):
    f = tmp_path / "repodata.json"
    f.write_text(json.dumps({"packages": {}, "packages.conda": {}}))
    with pytest.raises(NewarchError, match="cannot tell the subdir") as e:
        load_available([f], "win-arm64")
    assert str(f) in str(e.value)


def test_channel_url():
    names = load_available([CHANNEL.resolve().as_uri()], "win-arm64")
    assert {"python", "pip"} <= names and "ninja" not in names


def test_unreachable_channel_url_names_it(tmp_path):
    url = (tmp_path / "nothing").as_uri()
    with pytest.raises(NewarchError, match="cannot read channel") as e:
        load_available([url], "win-arm64")
    assert str(e.value).startswith(url)


def test_name_list_with_comments(tmp_path):
    f = tmp_path / "done.txt"
    f.write_text("# published on win-arm64\nzlib\n\nlibffi   # since July\n")
    avail = load_availability([f], "win-arm64")
    assert avail.available_on("win-arm64") == {"zlib", "libffi"} == avail.available_on("linux-64")
    assert not avail.has_records("win-arm64")


def test_bad_name_in_list_names_file_and_line(tmp_path):
    f = tmp_path / "done.txt"
    f.write_text("zlib\nnot a name\n")
    with pytest.raises(NewarchError) as e:
        load_available([f], "win-arm64")
    assert str(e.value).startswith(f"{f}:2: not a package name")


@pytest.mark.parametrize(
    "text, line",
    [
        ('{"info": {"subdir": "win-arm64"},\n "packages": {"broken": {}}}', 2),
        ('{"info": {"subdir": "win-arm64"}, "packages": {\n', 2),
        ("{]", 1),
    ],
)
def test_malformed_repodata_names_file_and_line(tmp_path, text, line):
    f = tmp_path / "win-arm64" / "repodata.json"
    f.parent.mkdir()
    f.write_text(text)
    with pytest.raises(NewarchError) as e:
        load_available([f], "win-arm64")
    assert str(e.value).startswith(f"{f}:{line}: not a readable repodata.json")


def test_missing_file_and_empty_folder(tmp_path):
    with pytest.raises(NewarchError, match="file not found"):
        load_available([tmp_path / "nope.json"], "win-arm64")
    with pytest.raises(NewarchError, match="no <subdir>/repodata.json"):
        load_available([tmp_path], "win-arm64")


def test_binary_file_is_rejected(tmp_path):
    f = tmp_path / "names"
    f.write_bytes(b"\xff\xfe\x00garbage")
    with pytest.raises(NewarchError, match="not UTF-8"):
        load_available([f], "win-arm64")
