"""``newarch compare-bot``: our plan against the bot's migration status, with a reason for every difference."""

from __future__ import annotations

import json
from pathlib import Path

import click

from newarch.commands.options import (
    available_option,
    build_platform_option,
    format_option,
    mode_option,
    platform_option,
    resolve_targets,
    snapshot_option,
    targets_file_option,
)


def register(group: click.Group) -> None:
    group.add_command(compare_bot)


@click.command("compare-bot")
@click.argument("status_json", type=click.Path(dir_okay=False, path_type=Path))
@click.argument("targets", nargs=-1)
@platform_option
@build_platform_option
@mode_option
@targets_file_option
@available_option(
    "What exists on the target already (repodata.json, channel folder or URL, name list): "
    "feedstocks whose needed outputs are there count as done.",
    metavar="REPODATA|URL",
)
@snapshot_option
@format_option("table", "json")
@click.option(
    "-v", "--verbose", is_flag=True, help="Every feedstock of every group with its reason (default: a summary)."
)
def compare_bot(
    status_json: Path,
    targets: tuple[str, ...],
    platform: str,
    build_platform: str | None,
    mode: str,
    targets_file: Path | None,
    available: tuple[str, ...],
    snapshot_path: Path | None,
    fmt: str,
    verbose: bool,
) -> None:
    """Compare the bot's migration STATUS_JSON with our plan for TARGETS (default: the seed targets).

    STATUS_JSON is a regro/cf-graph-countyfair status/migration_json/<migration>.json file. Prints what
    both have, what only the bot has (with why we do not need it), what only we have (with the chain that
    needs it), and what the bot holds back that is ready in our plan.
    """
    from newarch.report.console import make_console
    from newarch.status.botstatus import load_bot_status
    from newarch.report.compare import compare, render_table
    from newarch.status.states import compute_status, plan_for_status
    from newarch.commands.options import build_for, check_targets, load_snapshot

    bot = load_bot_status(status_json)  # bad input fails before the (slower) planning
    names = resolve_targets(targets, targets_file)
    snap = load_snapshot(snapshot_path)
    check_targets(snap, targets)
    plan = plan_for_status(snap, names, platform, build_for(snap, platform, build_platform), mode)
    avail = None
    if available:
        from newarch.sources.availability import load_availability

        avail = load_availability(available, plan.pair.target, plan.pair.build)
    statuses = compute_status(snap, plan, avail).feedstocks
    result = compare(snap, plan, bot, statuses)
    if fmt == "json":
        click.echo(json.dumps(result.to_json(), indent=2))
        for w in result.warnings:
            click.echo(f"warning: {w}", err=True)
        return
    render_table(result, make_console(), verbose)
