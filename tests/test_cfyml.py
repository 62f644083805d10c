"""The conda-forge.yml change: round trip keeps the file, idempotent, cross vs native."""

from __future__ import annotations

import os
import stat

import pytest
from ruamel.yaml import YAML

from newarch.status.cfyml import (
    add_settings,
    change_for_dir,
    change_from_settings,
    plan_change,
    platform_key,
    read_settings,
    write_change,
    Setting,
)
from newarch.errors import NewarchError
from newarch.model import PlatformSettings

HAND_WRITTEN = """\
# conda-forge.yml of a made-up feedstock
bot:
  abi_migration_branches:
  - prerelease   # keep this branch
  automerge: true
build_platform:
  linux_aarch64: linux_64   # cross from x86
  osx_arm64: osx_64
# providers below; keep this comment
provider:
  linux_ppc64le: default
github:
  branch_name: "main"
  tooling_branch_name: 'main'
remote_ci_setup:
  - conda-forge-ci-setup=4
  # pinned for a reason
  - conda-build <24.11
"""


def comments(text: str) -> list[str]:
    return [line[line.index("#") :] for line in text.splitlines() if "#" in line]


def top_keys(text: str) -> list[str]:
    return list(YAML().load(text).keys())


def safe(text: str):
    return YAML(typ="safe", pure=True).load(text)


def test_cross_keeps_every_line_comment_and_key_order():
    change = plan_change("demo", HAND_WRITTEN, "win-arm64", "win-64", "cross")
    after = change.after
    assert change.changed
    # every original line is still there, in order: only insertions
    old_lines = HAND_WRITTEN.splitlines()
    it = iter(after.splitlines())
    assert all(any(line == new for new in it) for line in old_lines)
    assert comments(after) == comments(HAND_WRITTEN)
    assert top_keys(after)[: len(top_keys(HAND_WRITTEN))] == top_keys(HAND_WRITTEN)
    data = safe(after)
    assert data["build_platform"] == {"linux_aarch64": "linux_64", "osx_arm64": "osx_64", "win_arm64": "win_64"}
    assert list(data["build_platform"]) == ["linux_aarch64", "osx_arm64", "win_arm64"]
    assert data["test"] == "native_and_emulated"
    assert '  branch_name: "main"' in after and "  tooling_branch_name: 'main'" in after
    assert read_settings(after).configured("win-arm64") == "cross"
    diff = change.diff()
    assert diff.startswith("--- a/conda-forge.yml\n+++ b/conda-forge.yml\n")
    assert sorted(line for line in diff.splitlines() if line.startswith("+") and not line.startswith("+++")) == [
        "+  win_arm64: win_64",
        "+test: native_and_emulated",
    ]
    assert not [line for line in diff.splitlines() if line.startswith("-") and not line.startswith("---")]


def test_idempotent_second_run_changes_nothing():
    for mode, build in (("cross", "win-64"), ("native", "win-arm64")):
        first = plan_change("demo", HAND_WRITTEN, "win-arm64", build, mode)
        second = plan_change("demo", first.after, "win-arm64", build, mode)
        assert first.changed and not second.changed
        assert second.after == first.after
        assert second.diff() == ""


def test_native_adds_provider_only():
    change = plan_change("demo", HAND_WRITTEN, "win-arm64", "win-arm64", "native")
    data = safe(change.after)
    assert data["provider"] == {"linux_ppc64le": "default", "win_arm64": "default"}
    assert "win_arm64" not in data["build_platform"]
    assert "test" not in data
    assert read_settings(change.after).configured("win-arm64") == "native"


def test_existing_test_setting_is_kept():
    text = "build_platform:\n  osx_arm64: osx_64\ntest: native\n"
    change = plan_change("demo", text, "win-arm64", "win-64", "cross")
    assert safe(change.after) == {"build_platform": {"osx_arm64": "osx_64", "win_arm64": "win_64"}, "test": "native"}
    assert any("test: native" in n for n in change.notes)


def test_already_configured_differently_is_left_alone():
    text = "provider:\n  win_arm64: default\n"
    change = plan_change("demo", text, "win-arm64", "win-64", "cross")
    assert not change.changed
    assert "native" in change.notes[0] and "left as is" in change.notes[0]


def test_other_platforms_and_empty_file():
    change = plan_change("demo", "", "linux-riscv64", "linux-64", "cross")
    assert safe(change.after) == {"build_platform": {"linux_riscv64": "linux_64"}, "test": "native_and_emulated"}
    assert platform_key("linux-riscv64") == "linux_riscv64"


def test_new_top_level_key_goes_to_its_sorted_place_when_keys_are_sorted():
    text = "bot:\n  automerge: true\n# about github\ngithub:\n  branch_name: main\ntest: all\n"
    after = plan_change("demo", text, "win-arm64", "win-64", "cross").after
    assert top_keys(after) == ["bot", "build_platform", "github", "test"]
    assert "# about github\ngithub:" in after  # the comment stays with its key


def test_flow_mapping_is_extended_in_place():
    text = "bot: {automerge: true}\nbuild_platform: {osx_arm64: osx_64}\ntest: native_and_emulated\n"
    after = plan_change("demo", text, "win-arm64", "win-64", "cross").after
    assert after.splitlines()[1] == "build_platform: {osx_arm64: osx_64, win_arm64: win_64}"
    assert after.splitlines()[0] == "bot: {automerge: true}"


def test_empty_mapping_value_falls_back_to_round_trip_dump_keeping_comments():
    text = "# head\nbuild_platform:\ngithub:\n  branch_name: main  # inline\n"
    after = plan_change("demo", text, "win-arm64", "win-64", "cross").after
    assert comments(after) == comments(text)
    assert safe(after)["build_platform"] == {"win_arm64": "win_64"}
    assert safe(after)["github"] == {"branch_name": "main"}


def test_crlf_line_endings_are_kept():
    text = "build_platform:\r\n  osx_arm64: osx_64\r\ntest: all\r\n"
    after = plan_change("demo", text, "win-arm64", "win-64", "cross").after
    assert after == "build_platform:\r\n  osx_arm64: osx_64\r\n  win_arm64: win_64\r\ntest: all\r\n"


def test_bad_yaml_names_file_and_line():
    with pytest.raises(NewarchError) as exc:
        plan_change("demo", "a: 1\nb: [unclosed\n", "win-arm64", "win-64", "cross", origin="x/conda-forge.yml")
    assert exc.value.file == "x/conda-forge.yml" and exc.value.line
    with pytest.raises(NewarchError):
        plan_change("demo", "- a\n- b\n", "win-arm64", "win-64", "cross")
    with pytest.raises(NewarchError):
        add_settings("build_platform: 3\n", [Setting("build_platform", "win_arm64", "win_64")])


def test_synthesized_diff_says_so_and_cannot_be_written(tmp_path):
    change = change_from_settings(
        "demo", PlatformSettings(build_platform={"osx_arm64": "osx_64"}), "win-arm64", "win-64", "cross"
    )
    assert change.synthesized
    assert change.diff().startswith("# demo: synthesized")
    with pytest.raises(NewarchError):
        write_change(tmp_path, change)


def test_apply_to_directory_is_atomic_and_keeps_mode(tmp_path):
    path = tmp_path / "conda-forge.yml"
    path.write_text(HAND_WRITTEN)
    os.chmod(path, 0o640)
    change = change_for_dir("demo", tmp_path, "win-arm64", "win-64", "cross")
    assert write_change(tmp_path, change)
    assert path.read_text() == change.after
    assert stat.S_IMODE(path.stat().st_mode) == 0o640
    again = change_for_dir("demo", tmp_path, "win-arm64", "win-64", "cross")
    assert not again.changed and not write_change(tmp_path, again)
    assert [p.name for p in tmp_path.iterdir()] == ["conda-forge.yml"]
