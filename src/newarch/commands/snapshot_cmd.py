"""``newarch snapshot``: render feedstocks into one derived-facts snapshot file."""

from __future__ import annotations

from pathlib import Path

import click

from newarch.commands.options import env_option, limits_options, make_limits, out_option, pinning_option
from newarch.commands.crawl_run import crawl_options
from newarch.errors import NewarchError


def register(group: click.Group) -> None:
    group.add_command(snapshot)
    group.add_command(outputs_map_cmd)


@click.command()
@click.argument("sources", nargs=-1, required=False, type=click.Path(path_type=Path))
@out_option("Snapshot file to write: a SQLite store (an xz-compressed one when the name ends in .xz).")
@click.option(
    "--platforms",
    "platforms",
    default=None,
    help="Comma-separated TARGET[:BUILD] pairs (default: win-arm64:win-64, win-64, linux-64, "
    "linux-aarch64:linux-64, linux-riscv64:linux-64, osx-64, osx-arm64:osx-64).",
)
@pinning_option
@click.option(
    "--outputs-map",
    "outputs_map",
    default=None,
    help="Output -> feedstock map: feedstock-outputs JSON {output: [feedstock...]}, a feedstock-outputs "
    "checkout or mirror (outputs/<a>/<b>/<c>/NAME.json), or its git URL (crawl only). Default: "
    "../shared/data/feedstock-outputs.json when present; with --closure, the map bundled with newarch.",
)
@click.option(
    "--only",
    "only",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="File of feedstock names (one per line, '#' comments) to keep; others found are ignored.",
)
@click.option("--date", "date", default="", help="Date the data describes (default: newest source commit date).")
@click.option("--description", default="", help="Free text stored in the snapshot.")
@env_option
@click.option(
    "--branches",
    "branches",
    default="maintained",
    show_default=True,
    metavar="maintained|all|none|NAME,...",
    help="Git branches to render besides the default one: those conda-forge.yml lists under "
    "bot: abi_migration_branches, every branch, none, or the names given.",
)
@click.option("-j", "--jobs", type=int, default=0, help="Parallel workers (default: all cores).")
@limits_options
@crawl_options
def snapshot(
    sources: tuple[Path, ...],
    out: Path,
    platforms: str | None,
    pinning: Path | None,
    outputs_map: str | None,
    only: Path | None,
    date: str,
    description: str,
    env: tuple[str, ...],
    branches: str,
    jobs: int,
    timeout: float,
    memory_limit: str,
    closure: tuple[str, ...],
    targets_files: tuple[Path, ...],
    source: str,
    cache: Path | None,
    refresh: bool,
    available: tuple[str, ...],
    named_only: bool,
    fetch_jobs: int,
) -> None:
    """Render every feedstock found in SOURCES and write derived facts to --out.

    SOURCES are feedstock checkouts, bare git mirrors (as fetched), or folders of them.

    With --closure/--targets-file instead of SOURCES: crawl the closure of those names. Each
    feedstock reached is fetched from --source and rendered for every pair; every name its outputs
    need (build, host, run, run-exports) is mapped to its feedstock with the output map and crawled
    in turn, until nothing new is reached. Names in --available stop the crawl.
    """
    from rich.console import Console
    from rich.markup import escape
    from newarch.report.console import progress_bar

    from newarch.model import PlatformPair
    from newarch.render.pinning import SHARED_DATA_CANDIDATES, default_pinning_path, load_pinning
    from newarch.store.build import DEFAULT_PAIRS, BuildRequest, build_snapshot, load_outputs_map, summarize
    from newarch.sources.node_attrs_files import is_node_attrs_source, iter_node_attrs_files
    from newarch.sources.recipes import discover, feedstock_name, select_names

    err = Console(stderr=True)
    limits = make_limits(timeout, memory_limit)
    pairs = [PlatformPair.parse(p) for p in (platforms.split(",") if platforms else DEFAULT_PAIRS) if p.strip()]
    pin_path = pinning or default_pinning_path()
    if pin_path is None:
        raise NewarchError("no pinning file: pass --pinning conda_build_config.yaml")
    crawling = bool(closure or targets_files)
    if crawling and sources:
        raise NewarchError("give either SOURCES or --closure/--targets-file, not both")
    if not crawling and not sources:
        raise NewarchError("nothing to do: give SOURCES, or --closure NAME / --targets-file FILE to crawl")
    if not crawling and (available or refresh or cache or named_only):
        raise NewarchError("--available, --cache, --refresh and --named-only only apply to a --closure crawl")
    env_map = parse_env(env)
    if crawling:
        from newarch.commands.crawl_run import CrawlArgs, run_crawl

        run_crawl(
            CrawlArgs(
                targets=list(closure),
                targets_files=list(targets_files),
                out=out,
                pairs=pairs,
                pin_path=pin_path,
                outputs_map=outputs_map,
                date=date,
                description=description,
                env=env_map,
                jobs=jobs,
                source=source,
                cache=cache,
                refresh=refresh,
                available=list(available),
                named_only=named_only,
                fetch_jobs=fetch_jobs,
            ),
            err,
        )
        return
    outputs_path = Path(outputs_map) if outputs_map else None
    if outputs_path is None:
        for d in SHARED_DATA_CANDIDATES:
            if (d / "feedstock-outputs.json").is_file():
                outputs_path = (d / "feedstock-outputs.json").resolve()
                break
    na_sources = [s for s in sources if is_node_attrs_source(s)]
    rest = [s for s in sources if s not in na_sources]
    paths = discover(list(rest)) if rest else []
    na_files = [f for s in na_sources for f in iter_node_attrs_files(s)]
    if na_sources and not na_files:
        raise NewarchError("no node_attrs JSON files found here", str(na_sources[0]))
    if only is not None and not na_files:
        paths = select_names(paths, only)
    elif only is not None:  # node_attrs cover the channel: keep what is listed, missing names are fine
        lines = only.read_text(encoding="utf-8").splitlines()
        wanted = {ln.strip() for ln in lines if ln.strip() and not ln.lstrip().startswith("#")}
        paths = [p for p in paths if feedstock_name(p) in wanted]
        na_files = [f for f in na_files if f.stem in wanted]
    req = BuildRequest(
        sources=paths,
        pairs=pairs,
        pinnings={p.key: load_pinning(pin_path, p) for p in pairs},
        pinning_source=pin_path.name,
        outputs_map=load_outputs_map(outputs_path) if outputs_path else None,
        date=date,
        description=description,
        env=env_map,
        jobs=jobs,
        node_attrs=na_files,
        limits=limits,
        branches="" if branches == "none" else branches,
    )
    with progress_bar(err, "rendering", "{task.description}") as bar:
        task = bar.add_task("", total=len(paths) + len(na_files))
        snap = build_snapshot(req, lambda p: bar.update(task, advance=1, description=Path(p).name))
    summary = summarize(snap)
    for key, c in sorted(summary["per_pair"].items()):
        err.print(f"{key}: {c['rendered']} rendered, {c['failed']} failed")
    if summary["branches"]:
        n = sum(len(b) for b in summary["branches"].values())
        err.print(f"release branches: {n} rendered for {len(summary['branches'])} feedstocks", highlight=False)
    for name, note in summary["branch_notes"]:
        err.print(f"[yellow]branch[/] {escape(name)}: {escape(note)}", markup=True, highlight=False)
    for name, key, error in summary["errors"]:
        err.print(f"[yellow]render failed[/] {escape(name)} ({key}): {escape(str(error))}", highlight=False)
    for name, error in summary["unreadable"].items():
        err.print(f"[red]unreadable[/] {escape(name)}: {escape(str(error))}", highlight=False)
    if not any(c["rendered"] for c in summary["per_pair"].values()):
        err.print(f"no render succeeded: {out} not written", highlight=False)
        raise SystemExit(1)
    snap.save(out)
    size = out.stat().st_size
    err.print(f"wrote {out} ({len(snap.feedstocks)} feedstocks, {len(pairs)} platform pairs, {size / 1e6:.2f} MB)")


def parse_env(env: tuple[str, ...]) -> dict[str, str]:
    env_map: dict[str, str] = {}
    for item in env:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise NewarchError(f"--env expects KEY=VALUE, got {item!r}")
        env_map[key] = value
    return env_map


@click.command("outputs-map")
@click.argument("source")
@out_option("File to write (newarch's compact, xz-compressed output -> feedstock map).")
@click.option("--label", default="", help="Where the data came from, stored in the file (default: SOURCE's name).")
def outputs_map_cmd(source: str, out: Path, label: str) -> None:
    """Derive newarch's compact output -> feedstock map from conda-forge's feedstock-outputs.

    SOURCE is the flat feedstock-outputs.json, or a feedstock-outputs checkout or bare mirror
    (outputs/<a>/<b>/<c>/NAME.json). The bundled src/newarch/data/outputs-map.json.xz is made this way.
    """
    from rich.console import Console

    from newarch.sources.outputs_map import load_any, write_compact

    mapping = load_any(source)
    write_compact(mapping, out, label or Path(source).name)
    Console(stderr=True).print(
        f"wrote {out} ({len(mapping)} names, {out.stat().st_size / 1e3:.0f} kB)", markup=False, highlight=False
    )
