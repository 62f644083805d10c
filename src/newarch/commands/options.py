"""Options shared by several commands."""

from __future__ import annotations

from pathlib import Path

import click

from .. import snapshot as snapshot_mod
from ..snapshot import Snapshot

SEED_TARGETS: tuple[str, ...] = ("conda", "conda-build", "mamba", "rattler-build", "pixi")

snapshot_option = click.option(
    "--snapshot", "snapshot_path", type=click.Path(dir_okay=False, path_type=Path), default=None,
    help="Snapshot file to read (default: the bundled conda-forge snapshot).")
platform_option = click.option("--platform", "platform", default="win-arm64", show_default=True,
                               help="Target subdir.")
build_platform_option = click.option("--build-platform", "build_platform", default=None,
                                     help="Build subdir (default: win-64 for win-arm64, else as the snapshot has it).")


targets_file_option = click.option(
    "--targets-file", "targets_file", type=click.Path(dir_okay=False, path_type=Path), default=None,
    help="Read (more) targets from a file, one per line, '#' comments (e.g. conda-forge's "
         "migration_support/win_arm64.txt).")


def resolve_targets(targets: tuple[str, ...] | list[str], targets_file: Path | None) -> list[str]:
    """Targets from the command line plus ``--targets-file``, in order, once each; the seed list if none."""
    names = list(targets)
    if targets_file is not None:
        from ..migrate import read_targets_file

        names += read_targets_file(targets_file)
    return list(dict.fromkeys(names)) or list(SEED_TARGETS)


def format_option(*choices: str, default: str = "table"):
    return click.option("--format", "fmt", type=click.Choice(list(choices)), default=default, show_default=True,
                        help="Output format.")


def load_snapshot(path: Path | None) -> Snapshot:
    return snapshot_mod.load(path)


def default_build_platform(snap: Snapshot | None, platform: str) -> str:
    """The build platform the snapshot rendered ``platform`` with (cross if it has one)."""
    if snap is not None:
        builds = sorted({p.build for p in snap.pairs if p.target == platform and p.build != platform})
        if builds:
            return builds[0]
    return {"win-arm64": "win-64", "osx-arm64": "osx-64", "linux-aarch64": "linux-64",
            "linux-ppc64le": "linux-64", "linux-riscv64": "linux-64"}.get(platform, platform)
