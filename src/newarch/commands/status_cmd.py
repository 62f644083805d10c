"""``newarch status`` and ``newarch report``: where the migration stands, in the terminal or as HTML."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from newarch.commands.options import (
    available_option,
    build_platform_option,
    format_option,
    ignore_option,
    mode_option,
    out_option,
    platform_option,
    resolve_targets,
    snapshot_option,
    targets_file_option,
)

if TYPE_CHECKING:
    from rich.console import Console

    from newarch.report import Section
    from newarch.status.states import StatusReport

STATE_STYLE: dict[str, str] = {
    "done": "green",
    "configured": "green",
    "in-pr": "cyan",
    "blocked": "red",
    "not-solvable": "magenta",
    "ready": "bold yellow",
    "awaiting-parents": "dim",
}


def register(group: click.Group) -> None:
    group.add_command(status)
    group.add_command(report)


def _common(f: Callable) -> Callable:
    """The options of status and report; the command takes their values as ``**common`` and hands them to
    :func:`_compute` whole."""
    for opt in reversed(
        [
            click.argument("targets", nargs=-1),
            targets_file_option,
            platform_option,
            build_platform_option,
            snapshot_option,
            mode_option,
            available_option(
                "repodata.json (target subdir, noarch), a channel folder or URL, or a text file of "
                "names; marks outputs done and enables the installability solves. Repeatable.",
                metavar="REPODATA|URL",
            ),
            click.option(
                "--prs",
                "prs",
                type=click.Path(dir_okay=False, path_type=Path),
                default=None,
                help="Open PRs: JSON {feedstock: url | {url, state}} or CSV feedstock,url[,state].",
            ),
            ignore_option,
            click.option(
                "--bot-status",
                "bot_status",
                type=click.Path(dir_okay=False, path_type=Path),
                default=None,
                help="The bot's migration status JSON: feedstocks it lists as done count as built "
                "(report: also compared in an extra tab).",
            ),
        ]
    ):
        f = opt(f)
    return f


def _compute(
    targets: tuple[str, ...],
    targets_file: Path | None,
    platform: str,
    build_platform: str | None,
    snapshot_path: Path | None,
    mode: str,
    available: tuple[str, ...],
    prs: Path | None,
    ignore: tuple[str, ...],
    err: Console,
    bot_status: Path | None = None,
) -> StatusReport:
    from newarch.report.console import progress_bar

    from newarch.sources.availability import load_availability
    from newarch.status.states import compute_status, load_prs, plan_for_status
    from newarch.commands.options import build_for, check_targets, load_snapshot

    with err.status("loading snapshot and repodata", spinner="dots"):
        snap = load_snapshot(snapshot_path)
        check_targets(snap, targets)
        build = build_for(snap, platform, build_platform)
        avail = load_availability(available, platform, build) if available else None
        pr_map = load_prs(prs) if prs else {}
        bot = None
        if bot_status is not None:
            from newarch.status.botstatus import load_bot_status

            bot = load_bot_status(bot_status)
    with err.status("planning", spinner="dots"):
        plan = plan_for_status(snap, resolve_targets(targets, targets_file), platform, build, mode, ignore)
    with progress_bar(err, "status", "{task.description}", spinner=True) as bar:
        task = bar.add_task("", total=len(plan.feedstocks))
        return compute_status(
            snap,
            plan,
            avail,
            pr_map,
            lambda n: bar.update(task, advance=1, description=n),
            bot_done=set(bot.in_state("done")) if bot else frozenset(),
            bot_origin=bot.origin if bot else "",
        )


@click.command()
@_common
@format_option("table", "json")
@click.option("-v", "--verbose", is_flag=True, help="Table with every column (mode, missing parents).")
@click.option(
    "--strict",
    is_flag=True,
    help="Exit 1 when a feedstock is blocked or not-solvable, or a target does not install (CI gate).",
)
def status(fmt: str, verbose: bool, strict: bool, **common: Any) -> None:
    """The state of every feedstock the TARGETS need on the platform (default: the seed targets).

    States, first match wins: done > configured > in-pr > blocked > not-solvable > ready >
    awaiting-parents. Exit status: 0; with --strict, 1 when something is blocked or not-solvable or a
    target does not install; 2 bad input.
    """
    from newarch.report.console import make_console

    err = make_console(stderr=True)
    rep = _compute(err=err, **common)
    if fmt == "json":
        click.echo(json.dumps(rep.to_json(), indent=2))
    else:
        print_status(rep, make_console(), verbose)
    if strict and strict_failures(rep):
        raise SystemExit(1)


def strict_failures(rep: StatusReport) -> list[str]:
    """What makes ``status --strict`` fail: blocked / not-solvable feedstocks and targets that do not install.
    Work not started yet (ready, awaiting-parents) is not a failure."""
    bad = [f"{s.name} {s.state}" for s in rep.feedstocks.values() if s.state in ("blocked", "not-solvable")]
    bad += [f"{t} does not install" for t, o in rep.installability.items() if not o.solvable]
    return bad


def print_status(rep: StatusReport, console: Console, verbose: bool = False) -> None:
    from rich.text import Text

    from newarch.report.console import add_row, table as make_table
    from newarch.status.states import STATES

    snap = rep.plan.snapshot
    console.print(
        Text.assemble(
            ("newarch status ", "bold"),
            (f"{rep.pair.target} ← {rep.pair.build}" if rep.pair.cross else rep.pair.target),
            f"  targets: {', '.join(rep.plan.targets)}  ·  snapshot {snap.date or '?'}"
            + (f"  ·  repodata: {rep.availability}" if rep.availability else ""),
        )
    )
    totals = rep.totals()
    line = Text(f"{len(rep.feedstocks)} planned: ")
    for s in STATES:
        line.append(f"{s} {totals[s]}", style=STATE_STYLE[s])
        line.append("  ")
    console.print(line)
    if rep.configured:
        inside = sum(1 for n in rep.configured if n in rep.feedstocks)
        console.print(
            Text(
                f"{len(rep.configured)} feedstocks of the snapshot configure {rep.pair.target} in "
                f"conda-forge.yml; {inside} of them are in this plan",
                style="dim",
            )
        )

    cols: list[tuple[str, dict]] = [
        ("feedstock", {"no_wrap": True, "overflow": "ellipsis", "min_width": 8, "max_width": 28}),
        ("state", {"no_wrap": True}),
        ("wave", {"justify": "right"}),
        ("unblocks", {"justify": "right"}),
    ]
    if verbose:
        cols += [("mode", {"no_wrap": True}), ("missing parents", {})]
    cols.append(("detail", {"min_width": 20}))
    table = make_table(cols)
    order = {s: i for i, s in enumerate(STATES)}
    todo = [s for s in rep.feedstocks.values() if s.state not in ("done", "configured")]
    for st in sorted(todo, key=lambda s: (order[s.state], s.wave, s.name)):
        extra = [st.mode, ", ".join(st.missing_parents) or "-"] if verbose else []
        add_row(table, st.name, Text(st.state, style=STATE_STYLE[st.state]), st.wave, st.unblocks, *extra, st.reason)
    if todo:
        console.print(table)
    done = sorted(
        (s for s in rep.feedstocks.values() if s.state in ("done", "configured")), key=lambda s: (s.wave, s.name)
    )
    if done:
        by: dict[tuple[str, str], list[str]] = {}
        for fs in done:
            by.setdefault((fs.state, fs.done_by), []).append(fs.name)
        for (state, how), names in sorted(by.items()):
            console.print(Text.assemble((f"{state} ({how}, {len(names)}): ", "green"), ", ".join(names)))

    if rep.critical_path:
        console.print(
            Text.assemble(
                ("remaining critical path ", "bold"), f"({len(rep.critical_path)}): ", " → ".join(rep.critical_path)
            )
        )
    if rep.installability:
        console.print(Text("installability of the targets", style="bold"))
        t = make_table(["target", "result"])
        for name, o in rep.installability.items():
            add_row(t, name, Text(o.summary(), style="green" if o.solvable else "red"))
        console.print(t)
    if rep.next_actions:
        console.print(Text("next actions", style="bold"))
        for a in rep.next_actions[:12]:
            console.print(Text(f"  {a['action']:<8} {a['feedstock']}: {a['detail']}"))
        if len(rep.next_actions) > 12:
            console.print(Text(f"  … {len(rep.next_actions) - 12} more (--format json lists all)"))
    if rep.plan.toolchain:
        console.print(
            Text("toolchain (build platform) still missing: ", style="bold")
            + Text(", ".join(f"{t.name} ({t.platform})" for t in rep.plan.toolchain))
        )
    if rep.plan.gaps:
        console.print(Text(f"gaps ({len(rep.plan.gaps)}: specs no branch satisfies; newarch why NAME)", style="bold"))
        for g in rep.plan.gaps:
            console.print(Text(f"  {g.name}: {g.text()}"))
    for note in rep.notes:
        console.print(Text(f"note: {note}", style="yellow"))


def _bot_status_provider(path: Path) -> Callable[[StatusReport], Section | None]:
    """The bot-status comparison (``newarch.report.compare``) as an extra section of the page."""
    from markupsafe import Markup

    from newarch.report.compare import compare_bot_file, compare_section_html
    from newarch.report import Section

    def provide(rep: StatusReport) -> Section:
        comparison = compare_bot_file(
            rep.plan.snapshot,
            path,
            rep.plan.targets,
            rep.pair.target,
            rep.pair.build,
            rep.plan.options.mode,
            plan=rep.plan,
            statuses=rep.feedstocks,
        )
        # compare_section_html escapes every value itself and brings its own <section id="compare-bot">
        return Section("compare-bot", "Compared with the bot", Markup(compare_section_html(comparison)), wrap=False)

    return provide


def _verified_provider(available: tuple[str, ...]):
    def provide(rep):
        from newarch.commands.plan_cmd import _verify_plan
        from newarch.commands.verify_cmd import summary_line
        from newarch.report.html import Section
        from newarch.report.verified import verified_section_html

        v = _verify_plan(rep.plan.snapshot, rep.plan, available)
        return Section("verified", "Verified", verified_section_html(v, summary_line(v)))

    return provide


@click.command()
@_common
@out_option("Folder to write index.html into.", folder=True)
@click.option(
    "--verify",
    "do_verify",
    is_flag=True,
    help="Add a 'Verified' section: the targets and planned builds solved with conda's solver (newarch verify).",
)
def report(out: Path, do_verify: bool = False, **common: Any) -> None:
    """Write a self-contained HTML status page (graph by waves, table, summary) to --out/index.html."""
    from newarch.report import write_report
    from newarch.report.console import make_console

    err = make_console(stderr=True)
    providers = [_bot_status_provider(common["bot_status"])] if common["bot_status"] else []
    if do_verify:
        providers.append(_verified_provider(common["available"]))
    rep = _compute(err=err, **common)
    path = write_report(rep, out, providers)
    totals = ", ".join(f"{k} {v}" for k, v in rep.totals().items() if v)
    err.print(f"wrote {path} ({len(rep.feedstocks)} feedstocks: {totals})", highlight=False, markup=False)
