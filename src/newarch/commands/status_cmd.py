"""``newarch status`` and ``newarch report``: where the migration stands, in the terminal or as HTML."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import click

from newarch.commands.options import (
    build_platform_option,
    format_option,
    ignore_option,
    mode_option,
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
    for opt in reversed(
        [
            click.argument("targets", nargs=-1),
            targets_file_option,
            platform_option,
            build_platform_option,
            snapshot_option,
            mode_option,
            click.option(
                "--available",
                "available",
                multiple=True,
                metavar="REPODATA|URL",
                help="repodata.json (target subdir, noarch), a channel folder or URL, or a text file of "
                "names; marks outputs done and enables the installability solves. Repeatable.",
            ),
            click.option(
                "--prs",
                "prs",
                type=click.Path(dir_okay=False, path_type=Path),
                default=None,
                help="Open PRs: JSON {feedstock: url | {url, state}} or CSV feedstock,url[,state].",
            ),
            ignore_option,
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
) -> StatusReport:
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    from newarch.sources.availability import load_availability
    from newarch.status.states import compute_status, load_prs, plan_for_status
    from newarch.commands.options import check_targets, default_build_platform, load_snapshot

    with err.status("loading snapshot and repodata", spinner="dots"):
        snap = load_snapshot(snapshot_path)
        check_targets(snap, targets)
        build = build_platform or default_build_platform(snap, platform)
        avail = load_availability(available, platform, build) if available else None
        pr_map = load_prs(prs) if prs else {}
    with err.status("planning", spinner="dots"):
        plan = plan_for_status(snap, resolve_targets(targets, targets_file), platform, build, mode, ignore)
    with Progress(
        SpinnerColumn(),
        TextColumn("status"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TextColumn("{task.description}"),
        console=err,
        transient=True,
    ) as bar:
        task = bar.add_task("", total=len(plan.feedstocks))
        return compute_status(snap, plan, avail, pr_map, lambda n: bar.update(task, advance=1, description=n))


@click.command()
@_common
@format_option("table", "json")
def status(
    targets: tuple[str, ...],
    targets_file: Path | None,
    platform: str,
    build_platform: str | None,
    snapshot_path: Path | None,
    mode: str,
    available: tuple[str, ...],
    prs: Path | None,
    ignore: tuple[str, ...],
    fmt: str,
) -> None:
    """The state of every feedstock the TARGETS need on the platform (default: the seed targets).

    States, first match wins: done > in-pr > blocked > not-solvable > ready > awaiting-parents.
    """
    from rich.console import Console

    err = Console(stderr=True)
    rep = _compute(targets, targets_file, platform, build_platform, snapshot_path, mode, available, prs, ignore, err)
    if fmt == "json":
        click.echo(json.dumps(rep.to_json(), indent=2))
        return
    print_status(rep, Console())


def print_status(rep: StatusReport, console: Console) -> None:
    from rich.table import Table
    from rich.text import Text

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

    table = Table(show_lines=False, header_style="bold", expand=False)
    for col, kw in (
        ("feedstock", {}),
        ("state", {}),
        ("wave", {"justify": "right"}),
        ("unblocks", {"justify": "right"}),
        ("detail", {"overflow": "fold"}),
    ):
        table.add_column(col, **kw)
    order = {s: i for i, s in enumerate(STATES)}
    todo = [s for s in rep.feedstocks.values() if s.state != "done"]
    for st in sorted(todo, key=lambda s: (order[s.state], s.wave, s.name)):
        table.add_row(
            Text(st.name), Text(st.state, style=STATE_STYLE[st.state]), str(st.wave), str(st.unblocks), Text(st.reason)
        )
    if todo:
        console.print(table)
    done = sorted((s for s in rep.feedstocks.values() if s.state == "done"), key=lambda s: (s.wave, s.name))
    if done:
        by: dict[str, list[str]] = {}
        for s in done:
            by.setdefault(s.done_by, []).append(s.name)
        for how, names in sorted(by.items()):
            console.print(Text.assemble((f"done ({how}, {len(names)}): ", "green"), ", ".join(names)))

    if rep.critical_path:
        console.print(
            Text.assemble(
                ("remaining critical path ", "bold"), f"({len(rep.critical_path)}): ", " → ".join(rep.critical_path)
            )
        )
    if rep.installability:
        t = Table(title="installability of the targets", title_justify="left", header_style="bold")
        t.add_column("target")
        t.add_column("result", overflow="fold")
        for name, o in rep.installability.items():
            t.add_row(Text(name), Text(o.summary(), style="green" if o.solvable else "red"))
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


@click.command()
@_common
@click.option(
    "--out",
    "out",
    required=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="Folder to write index.html into.",
)
@click.option(
    "--bot-status",
    "bot_status",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="The autotick bot's migration status JSON, compared in an extra tab.",
)
def report(
    targets: tuple[str, ...],
    targets_file: Path | None,
    platform: str,
    build_platform: str | None,
    snapshot_path: Path | None,
    mode: str,
    available: tuple[str, ...],
    prs: Path | None,
    ignore: tuple[str, ...],
    out: Path,
    bot_status: Path | None,
) -> None:
    """Write a self-contained HTML status page (graph by waves, table, summary) to --out/index.html."""
    from rich.console import Console

    from newarch.report import write_report

    err = Console(stderr=True)
    providers = [_bot_status_provider(bot_status)] if bot_status else []
    rep = _compute(targets, targets_file, platform, build_platform, snapshot_path, mode, available, prs, ignore, err)
    path = write_report(rep, out, providers)
    totals = ", ".join(f"{k} {v}" for k, v in rep.totals().items() if v)
    err.print(f"wrote {path} ({len(rep.feedstocks)} feedstocks: {totals})", highlight=False, markup=False)
