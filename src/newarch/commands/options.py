"""Options shared by several commands."""

from __future__ import annotations

from pathlib import Path

import click

from newarch.store import snapshot as snapshot_mod
from newarch.platforms import KNOWN_SUBDIRS  # a platform outside it is a typo, not a new platform
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


def normalize_platform(value: str, option: str = "--platform") -> str:
    """A known subdir, ``_`` read as ``-`` (conda-forge.yml writes ``win_arm64``); a typo is an error
    (exit 2) naming the closest subdirs."""
    import difflib

    name = value.strip().replace("_", "-")
    if name in KNOWN_SUBDIRS:
        return name
    close = difflib.get_close_matches(name, KNOWN_SUBDIRS, 3, 0.6)
    hint = f" (did you mean {', '.join(close)}?)" if close else f" (known: {', '.join(KNOWN_SUBDIRS)})"
    raise NewarchError(f"{option}: unknown platform {value!r}{hint}")


def _platform_callback(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    if value is None:
        return None
    return normalize_platform(value, "--" + (param.name or "platform").replace("_", "-"))


def check_platform_pair(snap: Snapshot, platform: str, build_platform: str) -> None:
    """The snapshot must have rendered (platform, build_platform): otherwise every answer would be an
    empty plan. The error says which pairs it has and the command that renders the missing one."""
    keys = {(p.target, p.build) for p in snap.pairs}
    if not keys or (platform, build_platform) in keys:
        return
    have = ", ".join(sorted(p.key for p in snap.pairs))
    pair = platform if build_platform == platform else f"{platform}:{build_platform}"
    raise NewarchError(
        f"the snapshot has no render for {platform}<-{build_platform} (it has {have}); render it with: "
        f"newarch snapshot MIRRORS --platforms {pair} --out my.json.xz, then pass --snapshot my.json.xz",
        snap.origin or None,
    )


platform_option = click.option(
    "--platform",
    "platform",
    default="win-arm64",
    show_default=True,
    callback=_platform_callback,
    help="Target subdir (win_arm64 is read as win-arm64).",
)
build_platform_option = click.option(
    "--build-platform",
    "build_platform",
    default=None,
    callback=_platform_callback,
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


pinning_option = click.option(
    "--pinning",
    "pinning",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="conda_build_config.yaml (default: ../shared/data/conda_build_config.yaml or $NEWARCH_PINNING).",
)
env_option = click.option(
    "--env", "env", multiple=True, metavar="KEY=VALUE", help="Environment seen by recipes (on top of CI=true)."
)


def out_option(help: str, *, folder: bool = False):
    """``--out`` (required): the file a command writes, or with ``folder`` the folder it writes into."""
    kind = click.Path(file_okay=False, path_type=Path) if folder else click.Path(dir_okay=False, path_type=Path)
    return click.option("--out", "out", required=True, type=kind, help=help)


def available_option(help: str, metavar: str = "FILE|URL"):
    """``--available`` (repeatable): what already exists; each command says what it does with it."""
    return click.option("--available", "available", multiple=True, metavar=metavar, help=help)


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
    bad = [t for t in explicit if not _is_known(snap, t)]
    if bad:
        known = known_names(snap)
        raise NewarchError(
            f"unknown target {', '.join(_hint(t, known) for t in bad)}: no feedstock or output of that name "
            "in the snapshot",
            snap.origin or None,
        )


def _hint(name: str, known: set[str]) -> str:
    import difflib

    m = difflib.get_close_matches(name, sorted(known), 3)
    return f"{name!r}" + (f" (did you mean {', '.join(m)}?)" if m else "")


def known_names(snap: Snapshot) -> set[str]:
    """Every feedstock and output name the snapshot knows (for suggestions: reads the whole name index)."""
    return set(snap.feedstocks) | set(snap.output_index) | snap.output_names()


def _is_known(snap: Snapshot, name: str) -> bool:
    """One name, answered by the snapshot's indexes without reading every feedstock."""
    return name in snap.feedstocks or name in snap.output_index or bool(snap.producers(name))


def check_name(snap: Snapshot, name: str, what: str = "name") -> None:
    """A feedstock/output name typed for why / why-not: unknown is an error (exit 2) with a suggestion."""
    if not _is_known(snap, name):
        raise NewarchError(
            f"unknown {what} {_hint(name, known_names(snap))}: no feedstock or output of that name in the snapshot"
        )


def limits_options(f):
    """``--timeout`` and ``--memory-limit``: the bounds of every render of an untrusted recipe."""
    from newarch.render.isolate import DEFAULT_MEMORY, DEFAULT_TIMEOUT, format_size

    f = click.option(
        "--memory-limit",
        "memory_limit",
        default=format_size(DEFAULT_MEMORY).replace(" ", ""),
        show_default=True,
        metavar="SIZE",
        help="Address-space limit of each render worker (e.g. 2GiB, 512MiB; 0 = none). A recipe over it "
        "is one failed render.",
    )(f)
    return click.option(
        "--timeout",
        "timeout",
        type=click.FloatRange(min=0),
        default=DEFAULT_TIMEOUT,
        show_default=True,
        metavar="SECONDS",
        help="Wall-clock limit of one render (one recipe, one platform pair; 0 = none). A recipe over it "
        "is one failed render.",
    )(f)


def make_limits(timeout: float, memory_limit: str):
    from newarch.render.isolate import Limits, parse_size

    return Limits(timeout=timeout, memory=parse_size(memory_limit))


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


def build_for(snap: Snapshot, platform: str, build_platform: str | None) -> str:
    """The build platform to plan ``platform`` with (given, or the snapshot's cross build), checked
    against the pairs the snapshot rendered."""
    build = build_platform or default_build_platform(snap, platform)
    check_platform_pair(snap, platform, build)
    return build
