"""Options shared by several commands."""

from __future__ import annotations

from pathlib import Path

import click

from newarch.store import snapshot as snapshot_mod
from newarch.errors import NewarchError
from newarch.store.snapshot import Snapshot

SEED_TARGETS: tuple[str, ...] = ("conda", "conda-build", "mamba", "rattler-build", "pixi")

snapshot_option = click.option(
    "--snapshot",
    "snapshot_path",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Snapshot file to read (default: the bundled conda-forge snapshot).",
)
platform_option = click.option("--platform", "platform", default="win-arm64", show_default=True, help="Target subdir.")
build_platform_option = click.option(
    "--build-platform",
    "build_platform",
    default=None,
    help="Build subdir (default: the cross build the snapshot rendered for the platform, e.g. win-64 for win-arm64).",
)
mode_option = click.option(
    "--mode",
    "mode",
    type=click.Choice(["auto", "cross", "native"]),
    default="auto",
    show_default=True,
    help="cross: build deps run on the build platform; native: on the target; auto: per feedstock, as its "
    "conda-forge.yml says, else cross when its build deps exist on the build platform.",
)
ignore_option = click.option(
    "--ignore", "ignore", multiple=True, metavar="NAME", help="Output or feedstock name not to follow (repeatable)."
)


targets_file_option = click.option(
    "--targets-file",
    "targets_file",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Read (more) targets from a file, one per line, '#' comments (e.g. conda-forge's "
    "migration_support/win_arm64.txt).",
)


def resolve_targets(targets: tuple[str, ...] | list[str], targets_file: Path | None) -> list[str]:
    """Targets from the command line plus ``--targets-file``, in order, once each; the seed list if none."""
    names = list(targets)
    if targets_file is not None:
        from newarch.report.migrate import read_targets_file

        names += read_targets_file(targets_file)
    return list(dict.fromkeys(names)) or list(SEED_TARGETS)


def check_targets(snap: Snapshot, explicit: tuple[str, ...] | list[str]) -> None:
    """Targets typed on the command line must name something the snapshot knows (a feedstock, an output
    of any render, or a name in its output index); a typo is an error with a suggestion. Targets read
    from ``--targets-file`` are not checked here: the plan reports them under ``unknown``."""
    bad = [t for t in explicit if t not in snap.feedstocks and t not in snap.output_index and not snap.producers(t)]
    if bad:
        import difflib

        known: set[str] = set(snap.feedstocks) | set(snap.output_index) | snap.output_names()
        hints = [
            f"{t!r}" + (f" (did you mean {', '.join(m)}?)" if (m := difflib.get_close_matches(t, known, 3)) else "")
            for t in bad
        ]
        raise NewarchError(
            f"unknown target {', '.join(hints)}: no feedstock or output of that name in the snapshot",
            snap.origin or None,
        )


def format_option(*choices: str, default: str = "table"):
    return click.option(
        "--format", "fmt", type=click.Choice(list(choices)), default=default, show_default=True, help="Output format."
    )


def load_snapshot(path: Path | None) -> Snapshot:
    return snapshot_mod.load(path)


def default_build_platform(snap: Snapshot | None, platform: str) -> str:
    """The build platform the snapshot rendered ``platform`` with (cross if it has one)."""
    if snap is not None:
        builds = sorted({p.build for p in snap.pairs if p.target == platform and p.build != platform})
        if builds:
            return builds[0]
    return {
        "win-arm64": "win-64",
        "osx-arm64": "osx-64",
        "linux-aarch64": "linux-64",
        "linux-ppc64le": "linux-64",
        "linux-riscv64": "linux-64",
    }.get(platform, platform)
