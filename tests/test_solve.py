"""Installability solves with py-rattler on small repodata files in the real format (tests/data/repodata)."""

from __future__ import annotations

from pathlib import Path

import pytest
import rattler

from newarch.sources.availability import load_availability
from newarch.errors import NewarchError
from newarch.verify.solve import parse_solver_message, solve_specs, solve_targets, virtual_packages_for

CHANNEL = Path(__file__).parent / "data" / "repodata"


@pytest.fixture(scope="module")
def avail():
    return load_availability(
        [CHANNEL / "win-arm64" / "repodata.json", CHANNEL / "noarch" / "repodata.json"], "win-arm64"
    )


def test_solvable_request_lists_the_whole_environment(avail):
    o = solve_specs(avail, ["python", "pip"], "win-arm64")
    assert o.solvable is True and o.problems == ()
    names = {s.split()[0] for s in o.solution}
    # transitive deps from the target subdir and noarch both come in
    assert {"python", "pip", "openssl", "vc", "vc14_runtime", "ucrt", "tzdata", "ca-certificates"} <= names
    assert "python 3.13.5 h7de537c_102_cp313" in o.solution


def test_missing_dependency_deep_in_the_tree(avail):
    o = solve_specs(avail, ["mamba"], "win-arm64")
    assert o.solvable is False
    assert o.missing == ("libmamba ==2.3.1 h1f0e5e5_0",) and o.conflicts == ()
    assert "libmamba" in o.message


def test_all_absent_top_level_names_are_reported_not_only_the_first(avail):
    o = solve_specs(avail, ["conda", "python", "rattler-build"], "win-arm64")
    assert o.solvable is False
    assert o.missing == ("conda", "rattler-build")


def test_version_that_does_not_exist_is_missing(avail):
    o = solve_specs(avail, ["python 3.12.*"], "win-arm64")
    assert (o.solvable, o.missing) == (False, ("python 3.12.*",))


def test_conflicting_requirements(avail):
    assert solve_specs(avail, ["legacy-tls"], "win-arm64").solvable is True
    o = solve_specs(avail, ["python", "legacy-tls"], "win-arm64")
    assert o.solvable is False and o.missing == ()
    assert o.conflicts == ("openssl 3.5.2",)
    assert "conflicting: openssl 3.5.2" in o.summary()


def test_virtual_packages_follow_the_platform(avail):
    assert solve_specs(avail, ["needs-win"], "win-arm64").solvable is True
    o = solve_specs(avail, ["needs-linux"], "win-arm64")
    assert (o.solvable, o.missing) == (False, ("__linux *",))
    assert [v.name.normalized for v in virtual_packages_for("win-arm64")] == ["__win"]
    assert {v.name.normalized for v in virtual_packages_for("linux-aarch64")} == {"__unix", "__linux", "__glibc"}


def test_only_target_subdir_and_noarch_are_used():
    avail = load_availability([CHANNEL], "win-arm64")  # the folder also has win-64
    assert "ninja" in avail.names["win-64"]
    o = solve_specs(avail, ["ninja"], "win-arm64")
    assert (o.solvable, o.missing) == (False, ("ninja",))
    # on win-64 ninja is found, but the ucrt it needs exists only for win-arm64 here: not used
    o = solve_specs(avail, ["ninja"], "win-64")
    assert (o.solvable, o.missing) == (False, ("ucrt >=10.0.20348.0",))


def test_channel_url_is_solved_through_a_gateway(tmp_path):
    gateway = rattler.Gateway(cache_dir=tmp_path / "cache")
    avail = load_availability([CHANNEL.resolve().as_uri()], "win-arm64", gateway=gateway)
    assert avail.channels and "python" in avail.available_on("win-arm64")
    assert solve_specs(avail, ["python", "pip"], "win-arm64", gateway).solvable is True
    assert solve_specs(avail, ["mamba"], "win-arm64", gateway).missing == ("libmamba ==2.3.1 h1f0e5e5_0",)


def test_names_list_alone_cannot_be_solved(tmp_path):
    names = tmp_path / "names.txt"
    names.write_text("python\n")
    avail = load_availability([names], "win-arm64")
    o = solve_specs(avail, ["python"], "win-arm64")
    assert o.solvable is None and "not checked" in o.summary()


def test_solve_targets_one_result_per_target(avail):
    res = solve_targets(avail, ["python", "mamba"], "win-arm64")
    assert list(res) == ["python", "mamba"]
    assert res["python"].solvable and not res["mamba"].solvable


def test_invalid_spec_is_a_clear_error(avail):
    with pytest.raises(NewarchError, match="not a valid match spec"):
        solve_specs(avail, ["python >=>3"], "win-arm64")


def test_parse_solver_message_tree():
    msg = (
        "Cannot solve the request because of: The following packages are incompatible\n"
        "├─ b * can be installed with any of the following options:\n"
        "│  └─ b 1.0 would require\n"
        "│     └─ c 2.*, which can be installed with any of the following options:\n"
        "│        └─ c 2.0\n"
        "└─ d * cannot be installed because there are no viable options:\n"
        "   ├─ d 1.0 would require\n"
        "   │  └─ e >=3, for which no candidates were found.\n"
        "   └─ d 0.9 would constrain\n"
        "      └─ c <2, which conflicts with any installable versions previously reported\n"
    )
    assert parse_solver_message(msg) == (["e >=3"], ["c <2"])
    assert parse_solver_message("Cannot solve the request because of: No candidates were found for x 1.*.\n") == (
        ["x 1.*"],
        [],
    )
