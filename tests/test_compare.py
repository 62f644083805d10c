"""compare-bot: bot status reading (good and bad files), the three groups, blocked-but-ready, output."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from newarch.status.botstatus import load_bot_status, parse_bot_status
from newarch.cli import main
from newarch.report.compare import compare, compare_bot_file, compare_section_html
from newarch.errors import NewarchError
from newarch.model import PlatformSettings
from newarch.status.states import compute_status, plan_for_status
from snapbuilder import LINUX64, SnapBuilder, out

CROSS = PlatformSettings(build_platform={"win_arm64": "win_64"})
REPO = Path(__file__).resolve().parent.parent
SHARED = REPO.parent / "shared" / "data"


def small_snapshot():
    """app needs libfoo (done) and has a noarch stubs output whose host needs mypy (the mamba pattern)."""
    b = SnapBuilder()
    b.fs("libfoo", out("libfoo", run_exports={"weak": ["libfoo >=1"]}), settings=CROSS)
    b.fs(
        "app",
        out("app", host=["libfoo"]),
        out("app-stubs", noarch="python", skip=True, skip_reason="not linux64", host=["mypy"]),
    )
    b.fs("app", out("app", host=["libfoo"]), out("app-stubs", noarch="python", host=["mypy", "app"]), pair=LINUX64)
    b.fs("mypy", out("mypy", host=["libbar"]))
    b.fs("libbar", out("libbar"))
    b.fs("tool", out("tool", host=["libbaz"]))
    b.fs("libbaz", out("libbaz"))
    b.fs("r-thing", out("r-thing"))
    return b.snapshot()


BOT = {
    "_feedstock_status": {
        "libfoo": {"immediate_children": ["app"], "num_descendants": 1, "pr_url": ""},
        "mypy": {"immediate_children": ["app"], "num_descendants": 1},
        "libbar": {"immediate_children": ["mypy"]},
        "app": {"immediate_children": []},
    },
    "done": ["libfoo"],
    "in-pr": ["libbar"],
    "awaiting-parents": ["app", "mypy", "r-thing", "ghost-feedstock"],
    "awaiting-pr": [],
    "not-solvable": [],
    "bot-error": [],
}


def run_compare(snap, data, *targets):
    plan = plan_for_status(snap, list(targets), "win-arm64", "win-64")
    statuses = compute_status(snap, plan).feedstocks
    return compare(snap, plan, parse_bot_status(data, "bot.json"), statuses)


def test_groups_and_reasons():
    c = run_compare(small_snapshot(), BOT, "app", "tool")
    assert [r.name for r in c.both] == ["app", "libfoo"]
    assert {r.name: r.our_state for r in c.both} == {"app": "ready", "libfoo": "configured"}
    by_name = {r.name: r for r in c.bot_only}
    assert set(by_name) == {"mypy", "libbar", "r-thing", "ghost"}
    assert by_name["mypy"].code == "noarch-host-only"
    assert by_name["r-thing"].code == "unreachable"
    assert by_name["ghost"].code == "absent" and "not in the snapshot" in by_name["ghost"].reason
    assert all(r.reason for r in c.bot_only)
    ours = {r.name: r for r in c.ours_only}
    assert set(ours) == {"tool", "libbaz"}
    assert ours["libbaz"].chain == ["tool", "libbaz"]
    assert ours["libbaz"].edges and "libbaz" in ours["libbaz"].edges[0]
    groups = c.bot_only_by_code()
    assert list(groups)[-1] == "absent"
    assert c.sizes() == {"both": 2, "bot_only": 4, "ours_only": 2, "blocked_ready": 1, "absent": 1}
    assert c.done_disagreements() == []


def test_done_disagreements():
    data = dict(BOT, done=["libfoo", "app"], **{"awaiting-parents": ["mypy"]})
    c = run_compare(small_snapshot(), data, "app")
    assert [(r.name, r.bot_state, r.our_state) for r in c.done_disagreements()] == [("app", "done", "ready")]
    assert "compare-disagree" in compare_section_html(c)


def test_blocked_by_the_bot_but_ready_here_names_the_holding_parent():
    c = run_compare(small_snapshot(), BOT, "app")
    assert [r.name for r in c.blocked_ready] == ["app"]
    held = c.blocked_ready[0].held_by
    assert [(h.name, h.bot_state, h.verdict) for h in held] == [("mypy", "awaiting-parents", "noarch-host-only")]


def test_without_feedstock_status_parents_are_unknown_and_said_so():
    data = {k: v for k, v in BOT.items() if k != "_feedstock_status"}
    c = run_compare(small_snapshot(), data, "app")
    assert c.blocked_ready[0].parents_known is False
    assert c.blocked_ready[0].to_json()["held_by"] is None
    assert any("_feedstock_status" in w for w in c.warnings)


def test_json_and_html_output():
    data = dict(BOT, **{"awaiting-parents": BOT["awaiting-parents"] + ["<b>evil"]})
    c = run_compare(small_snapshot(), data, "app")
    doc = json.loads(json.dumps(c.to_json()))
    assert doc["schema"] == "newarch.compare-bot/1"
    assert doc["bot_only"]["noarch-host-only"][0]["name"] == "mypy"
    assert doc["blocked_ready"][0]["held_by"][0]["name"] == "mypy"
    html = compare_section_html(c)
    assert html.startswith('<section class="compare-bot"')
    assert "&lt;b&gt;evil" in html and "<b>evil" not in html
    assert 'data-code="noarch-host-only"' in html


# -- reading status files -------------------------------------------------------------------------


def test_real_format_is_read_with_edges():
    st = parse_bot_status(BOT, "bot.json")
    assert st.warnings == []
    assert st.state("ghost") == "awaiting-parents"  # "-feedstock" suffix stripped
    assert st.parents("app") == ["libfoo", "mypy"]
    assert st.counts()["awaiting-parents"] == 4


@pytest.mark.parametrize(
    "text, needle",
    [
        ("{not json", "not JSON"),
        ("[1, 2]", "top level is a list"),
        ('{"foo": []}', "none of the state buckets"),
        ("", "not JSON"),
    ],
)
def test_bad_status_files_are_clear_errors(tmp_path, text, needle):
    p = tmp_path / "status.json"
    p.write_text(text)
    with pytest.raises(NewarchError) as exc:
        load_bot_status(p)
    assert needle in str(exc.value) and exc.value.file == str(p)


def test_odd_content_gives_warnings_and_is_used():
    data = {
        "done": ["a", 3, ""],
        "in-pr": "b",
        "awaiting-parents": ["a", "c"],
        "surprise": 1,
        "_feedstock_status": {"c": {"immediate_children": "x"}, "d": {"immediate_children": ["c"]}, "e": 5},
    }
    st = parse_bot_status(data, "odd.json")
    text = "\n".join(st.warnings)
    assert "unknown key 'surprise'" in text
    assert "awaiting-pr, not-solvable, bot-error missing" in text
    assert "'in-pr' is a str" in text
    assert "2 entries that are not names" in text
    assert "a is in both 'done' and 'awaiting-parents'" in text
    assert "unexpected shape ignored: c, e" in text
    assert "in no state bucket: d" in text
    assert st.state("a") == "done" and st.state("c") == "awaiting-parents" and st.state("d") == ""


def test_missing_file_is_an_error(tmp_path):
    with pytest.raises(NewarchError, match="not found"):
        load_bot_status(tmp_path / "nope.json")


# -- command line ---------------------------------------------------------------------------------


@pytest.fixture()
def snap_file(tmp_path):
    path = tmp_path / "snap.sqlite"
    small_snapshot().save(path)
    return path


def test_cli_json_and_table(tmp_path, snap_file):
    status = tmp_path / "status.json"
    status.write_text(json.dumps(BOT))
    res = CliRunner().invoke(
        main, ["compare-bot", str(status), "app", "--snapshot", str(snap_file), "--format", "json"]
    )
    assert res.exit_code == 0, res.output
    doc = json.loads(res.stdout)
    assert doc["sizes"]["blocked_ready"] == 1 and doc["targets"] == ["app"]
    env = {"COLUMNS": "80"}
    res = CliRunner().invoke(main, ["compare-bot", str(status), "app", "--snapshot", str(snap_file)], env=env)
    assert res.exit_code == 0
    lines = res.output.splitlines()
    # summary first: one line per group, names only
    assert "held by the bot, ready here (1): app" in lines
    assert "bot only, noarch-host-only (1): mypy" in lines
    assert "Held by the bot" not in res.output and all(len(ln) <= 80 for ln in lines)
    res = CliRunner().invoke(main, ["compare-bot", str(status), "app", "--snapshot", str(snap_file), "-v"], env=env)
    assert res.exit_code == 0
    assert "noarch-host-only" in res.output and "Held by the bot" in res.output
    assert all(len(ln) <= 80 for ln in res.output.splitlines())


def test_console_text_is_never_markup_and_same_reasons_are_said_once():
    """Selectors such as [linux] reach the terminal verbatim (Rich would eat them as markup)."""
    from rich.console import Console

    from newarch.report.compare import BotOnlyRow, BothRow, Comparison, render_table

    c = Comparison("win-arm64", "win-64", ["app"], "2026-08-21", "s.json", {})
    c.bot_only = [
        BotOnlyRow("binutils", "done", "selector", "needs ld_impl_linux-64 in host only under [linux], which is false"),
        BotOnlyRow("x", "done", "selector", "only under [win and arm64] and [/] and [bold]"),
    ] + [BotOnlyRow(f"absent{i}", "done", "absent", f"absent{i} is not in the snapshot") for i in range(50)]
    c.both = [BothRow("[linux]", "done", "ready", 0, "cross")]
    for verbose in (False, True):
        console = Console(width=80, record=True, force_terminal=False)
        render_table(c, console, verbose=verbose)
        text = console.export_text()
        assert all(len(ln) <= 80 for ln in text.splitlines())
        assert "[linux]" in text
        text = " ".join(text.split())  # the lines wrap at 80 columns
        if verbose:
            assert "only under [linux], which is false" in text
            assert "[win and arm64] and [/] and [bold]" in text
            # the 50 identical sentences are one line group, the name masked
            assert text.count("is not in the snapshot") == 1 and "NAME is not in the snapshot" in text
        else:
            assert "bot only, absent (50): absent0, absent1" in text and "is not in the snapshot" not in text


def test_cli_bad_status_file_exits_2_without_traceback(tmp_path, snap_file):
    status = tmp_path / "status.json"
    status.write_text('{"done": [\n')
    res = CliRunner().invoke(main, ["compare-bot", str(status), "--snapshot", str(snap_file)])
    assert res.exit_code == 2
    assert "not JSON" in res.output and str(status) in res.output and "Traceback" not in res.output


# -- real data (bundled snapshot + shared status file) --------------------------------------------


def _bundled():
    from newarch.errors import SnapshotError
    from newarch.store.snapshot import load

    try:
        return load()
    except SnapshotError:
        return None


@pytest.mark.realdata
@pytest.mark.parametrize("targets", ["seed", "win_arm64.txt"])
def test_real_every_bot_only_node_has_a_reason(targets):
    status = SHARED / "bot-status-supportwindowsarm64platform.json"
    if not status.exists():
        pytest.skip("no ../shared/data")
    snap = _bundled()
    if snap is None:
        pytest.skip("no bundled snapshot")
    from newarch.commands.options import SEED_TARGETS
    from newarch.report.migrate import read_targets_file

    names = list(SEED_TARGETS) if targets == "seed" else read_targets_file(SHARED / "win_arm64.txt")
    c = compare_bot_file(snap, status, names)
    for row in c.bot_only:
        assert row.reason
        if row.name in snap.feedstocks:
            assert row.code != "absent"
        else:
            assert row.code == "absent"
