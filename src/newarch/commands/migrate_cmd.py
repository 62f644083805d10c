"""``newarch migrate``: the bot's target list, conda-forge.yml diffs and PR bodies for a plan."""

from __future__ import annotations

from pathlib import Path

import click

from newarch.errors import NewarchError
from newarch.commands.options import (
    available_option,
    build_platform_option,
    ignore_option,
    mode_option,
    out_option,
    platform_option,
    resolve_targets,
    snapshot_option,
    targets_file_option,
)


def register(group: click.Group) -> None:
    group.add_command(migrate)


@click.command()
@click.argument("targets", nargs=-1)
@platform_option
@build_platform_option
@mode_option
@targets_file_option
@ignore_option
@out_option("Directory to write (replaced as a whole; refused if it holds other files).", folder=True)
@click.option(
    "--feedstocks",
    "feedstocks",
    multiple=True,
    type=click.Path(path_type=Path),
    help="Feedstock checkouts or git mirrors (or folders of them) to read the real conda-forge.yml "
    "from; without, diffs are synthesized from the snapshot's recorded settings.",
)
@click.option(
    "--apply",
    "apply_dirs",
    multiple=True,
    type=click.Path(file_okay=False, path_type=Path),
    metavar="FEEDSTOCK_DIR",
    help="Edit conda-forge.yml in these feedstock checkouts (atomic; a second run changes nothing).",
)
@available_option(
    "What exists on the target already (repodata.json, channel folder or URL, name list): "
    "feedstocks whose needed outputs are there count as done and get no change.",
    metavar="REPODATA|URL",
)
@snapshot_option
def migrate(
    targets: tuple[str, ...],
    platform: str,
    build_platform: str | None,
    mode: str,
    targets_file: Path | None,
    ignore: tuple[str, ...],
    out: Path,
    feedstocks: tuple[Path, ...],
    apply_dirs: tuple[Path, ...],
    available: tuple[str, ...],
    snapshot_path: Path | None,
) -> None:
    """Write migration files for TARGETS (default: the seed targets) into --out.

    --out gets migration_support/<platform>.txt (minimal sorted target list), patches/<feedstock>.diff
    (the conda-forge.yml change) and prs/<feedstock>.md (a PR body) for every planned feedstock that is
    not done yet, and a README.md. With --apply, the listed checkouts are edited too.
    """
    from rich.console import Console

    from newarch.status.cfyml import write_change
    from newarch.report.migrate import build_migration, describe_command, feedstock_texts, write_tree
    from newarch.sources.recipes import feedstock_name, is_git_dir
    from newarch.status.states import compute_status, plan_for_status
    from newarch.commands.options import build_for, check_targets, load_snapshot

    err = Console(stderr=True, highlight=False)
    names = resolve_targets(targets, targets_file)
    apply_map: dict[str, Path] = {}
    for d in apply_dirs:
        if not d.is_dir():
            raise NewarchError("feedstock directory not found", str(d))
        if is_git_dir(d):
            raise NewarchError("--apply needs a checkout with a work tree, not a bare git directory", str(d))
        apply_map[feedstock_name(d)] = d
    snap = load_snapshot(snapshot_path)
    check_targets(snap, targets)
    plan = plan_for_status(snap, names, platform, build_for(snap, platform, build_platform), mode, ignore)
    avail = None
    if available:
        from newarch.sources.availability import load_availability

        avail = load_availability(available, plan.pair.target, plan.pair.build)
    statuses = compute_status(snap, plan, avail).feedstocks
    texts = feedstock_texts(list(feedstocks)) if feedstocks else {}
    for name, d in apply_map.items():
        from newarch.status.cfyml import feedstock_yml, read_feedstock

        texts[name] = (read_feedstock(d), str(feedstock_yml(d)))
    command = describe_command(
        plan,
        f"--targets-file {targets_file.name}" if targets_file else "",
        targets=list(targets) if targets_file else None,
    )
    result = build_migration(snap, plan, statuses, command, texts)
    write_tree(out, result.files)
    err.print(
        f"wrote {out}: {len(result.changes)} feedstock changes, {len(result.skipped)} planned feedstocks "
        f"skipped (done or nothing to change)"
    )
    for name, d in sorted(apply_map.items()):
        change = result.changes.get(name)
        if name not in plan.feedstocks:
            err.print(f"[yellow]{name}[/]: not in the plan; {d} left unchanged")
        elif change is None:
            err.print(f"{name}: {result.skipped.get(name, 'nothing to change')}; {d} left unchanged")
        elif write_change(d, change):
            err.print(f"{name}: edited {d / 'conda-forge.yml'} ({change.mode})")
