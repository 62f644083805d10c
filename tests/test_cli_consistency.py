"""One interface for every command: platforms, targets and names validated (exit 2, one line, a
suggestion), positional targets, one set of --format values, a schema in every JSON document, and
output that fits 80 columns."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from newarch.cli import main
from newarch.commands.plan_cmd import group_by_python
from snapbuilder import conda_forge_like

ENV = {"COLUMNS": "80"}


@pytest.fixture(scope="module")
def snap_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("snap") / "snap.json.xz"
    conda_forge_like().snapshot().save(path)
    return str(path)


def run(*args: str):
    return CliRunner().invoke(main, list(args), env=ENV)


def one_error_line(res, *needles: str) -> None:
    assert res.exit_code == 2, res.output
    lines = [ln for ln in res.output.splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: "), res.output
    for n in needles:
        assert n in lines[0], (n, lines[0])


@pytest.mark.parametrize("command", ["plan", "status", "lint --plan", "compare-bot BOT", "migrate --out OUT"])
def test_unknown_platform_is_exit_2_with_a_suggestion_everywhere(command, snap_file, tmp_path):
    bot = tmp_path / "bot.json"
    bot.write_text(json.dumps({"done": [], "awaiting-parents": []}))
    args = command.replace("BOT", str(bot)).replace("OUT", str(tmp_path / "out")).split()
    one_error_line(
        run(*args, "--snapshot", snap_file, "--platform", "win-arm65"), "win-arm65", "did you mean win-arm64"
    )
    one_error_line(run(*args, "--snapshot", snap_file, "--build-platform", "linux-46"), "did you mean linux-64")


def test_valid_subdir_the_snapshot_lacks_names_the_command_that_renders_it(snap_file):
    res = run("plan", "--snapshot", snap_file, "--platform", "emscripten-wasm32")
    one_error_line(res, "no render for emscripten-wasm32", "newarch snapshot MIRRORS --platforms emscripten-wasm32")
    res = run("why", "zlib", "--snapshot", snap_file, "--build-platform", "linux-64")
    one_error_line(res, "no render for win-arm64<-linux-64", "--platforms win-arm64:linux-64")


def test_conda_forge_yml_spelling_is_accepted(snap_file):
    a = json.loads(run("plan", "mamba", "--snapshot", snap_file, "--format", "json").output)
    res = run("plan", "mamba", "--snapshot", snap_file, "--platform", "win_arm64", "--format", "json")
    assert res.exit_code == 0 and json.loads(res.output) == a


@pytest.mark.parametrize("command", ["why", "why-not"])
def test_unknown_name_is_exit_2_with_did_you_mean(command, snap_file):
    one_error_line(run(command, "zlbi", "--snapshot", snap_file), "unknown name 'zlbi'", "did you mean zlib")


def test_targets_are_positional_in_why_and_why_not(snap_file):
    a = json.loads(run("why", "zlib", "mamba", "--snapshot", snap_file, "--format", "json").output)
    b = json.loads(run("why", "zlib", "--target", "mamba", "--snapshot", snap_file, "--format", "json").output)
    assert a == b and a["chains"] and all(c["target"] == "mamba" for c in a["chains"])
    one_error_line(run("why", "zlib", "mamab", "--snapshot", snap_file), "did you mean mamba")


def test_every_json_document_has_a_schema(snap_file):
    for args in (["plan"], ["why", "zlib"], ["why-not", "mypy"], ["status"], ["lint", "--plan"]):
        res = run(*args, "--snapshot", snap_file, "--format", "json")
        assert res.exit_code in (0, 1), res.output
        doc = json.loads(res.stdout)
        assert isinstance(doc, dict) and doc["schema"].startswith("newarch."), args


def test_format_values_are_the_same_everywhere(snap_file):
    for args in (["plan"], ["why", "zlib"], ["why-not", "mypy"], ["status"]):
        assert run(*args, "--snapshot", snap_file, "--format", "table").exit_code == 0, args


def test_why_not_groups_reasons_that_differ_only_by_python_version():
    details = [
        f"only needed by chardet:chardet for python 3.{v}.* *_cpython under [not use_noarch]; win-arm64 builds "
        "python 3.14 only"
        for v in (10, 11, 12)
    ] + ["only needed by x:x under [linux]"]
    groups = group_by_python(details)
    assert groups == [
        (
            "only needed by chardet:chardet for python X.Y under [not use_noarch]; win-arm64 builds python 3.14 only",
            ["3.10", "3.11", "3.12"],
        ),
        ("only needed by x:x under [linux]", []),
    ]


def test_snapshot_where_every_render_failed_exits_1_and_writes_nothing(tmp_path):
    from pathlib import Path

    pinning = Path(__file__).parent / "fixtures" / "pinning" / "conda_build_config.yaml"
    broken = tmp_path / "src" / "broken-feedstock" / "recipe"
    broken.mkdir(parents=True)
    (broken / "meta.yaml").write_text("package:\n  name: broken\n   version: 1\n")
    out = tmp_path / "s.json.xz"
    res = run("snapshot", str(tmp_path / "src"), "--out", str(out), "--pinning", str(pinning), "-j", "1")
    assert res.exit_code == 1, res.output
    assert "no render succeeded" in res.output and not out.exists()


def test_status_strict_fails_on_blocked_or_not_solvable_only(tmp_path):
    from newarch.model import Finding
    from test_status import chain_snapshot, feedstock

    clean = tmp_path / "clean.json.xz"
    chain_snapshot().save(clean)
    bad = Finding("mingw-on-arm64", "error", "lib", "recipe/meta.yaml", 3, "m2w64 toolchain", "use clang")
    blocked = tmp_path / "blocked.json.xz"
    chain_snapshot(lib=feedstock("lib", findings=(bad,))).save(blocked)
    # ready / awaiting-parents is work not done yet, not a failure
    assert run("status", "app", "--snapshot", str(clean), "--strict").exit_code == 0
    assert run("status", "app", "--snapshot", str(blocked)).exit_code == 0
    res = run("status", "app", "--snapshot", str(blocked), "--strict", "--format", "json")
    assert res.exit_code == 1 and json.loads(res.stdout)["totals"]["blocked"] == 1


def test_lint_format_is_an_alias_of_output_format(snap_file):
    a = run("lint", "--plan", "--snapshot", snap_file, "--format", "json")
    b = run("lint", "--plan", "--snapshot", snap_file, "--output-format", "json")
    assert a.exit_code == b.exit_code and json.loads(a.stdout) == json.loads(b.stdout)
    c = run("lint", "--plan", "--snapshot", snap_file, "--format", "table")
    d = run("lint", "--plan", "--snapshot", snap_file, "--output-format", "concise")
    assert c.output == d.output
    one_error_line(
        run("lint", "--plan", "--snapshot", snap_file, "--format", "json", "--output-format", "github"), "disagree"
    )


def test_render_fits_80_columns_without_a_forced_width():
    from pathlib import Path

    fixtures = Path(__file__).parent / "fixtures"
    res = run(
        "render",
        str(fixtures / "feedstocks" / "pyext-feedstock"),
        "--pinning",
        str(fixtures / "pinning" / "conda_build_config.yaml"),
    )
    assert res.exit_code == 0, res.output
    assert max(len(ln) for ln in res.output.splitlines()) <= 80
    assert "cross-python_win-arm64" in res.output  # the folded table still shows every requirement


def test_every_command_is_mapped_to_the_module_that_registers_it():
    """``newarch.cli.COMMANDS`` (commands load lazily) names exactly what each module registers."""
    import importlib

    import click

    from newarch.cli import COMMANDS

    for module in set(COMMANDS.values()):
        group = click.Group()
        importlib.import_module(module).register(group)
        assert sorted(group.commands) == sorted(n for n, m in COMMANDS.items() if m == module)
    r = CliRunner().invoke(main, ["--help"])
    assert r.exit_code == 0
    for name in COMMANDS:
        assert f"  {name} " in r.output


def test_plan_does_not_import_the_renderers_the_report_or_networkx():
    """``newarch plan`` loads only its own command: no recipe renderer, HTML template engine or graph
    library (they cost more than the plan itself on a cold start)."""
    import subprocess
    import sys

    code = (
        "import sys\n"
        "from newarch.cli import main\n"
        "try:\n"
        "    main(['plan', '--format', 'json'])  # the bundled snapshot: its plan has a cycle to explain\n"
        "except SystemExit:\n"
        "    pass\n"
        "from newarch.commands import plan_cmd\n"
        "plan_cmd.register  # the command module itself is loaded\n"
        "import newarch.plan.planner, newarch.report.console\n"
        "bad = [m for m in ('newarch.render', 'newarch.report.html', 'jinja2', 'networkx', 'ruamel.yaml',"
        " 'rattler_build', 'newarch.commands.snapshot_cmd') if m in sys.modules]\n"
        "print('loaded:', ','.join(bad))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert json.loads(out.rsplit("loaded:", 1)[0])["cycles"]
    assert out.splitlines()[-1] == "loaded: "
