"""``newarch snapshot --closure``: the crawl options, the progress bar and the end-of-run table."""

from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import click

from newarch.commands.options import available_option
from newarch.errors import NewarchError
from newarch.model import PlatformPair

F = TypeVar("F", bound=Callable[..., Any])
DEFAULT_SOURCE = "https://github.com/conda-forge/{name}-feedstock.git"


def crawl_options(fn: F) -> F:
    opts = [
        click.option(
            "--closure",
            "closure",
            multiple=True,
            metavar="NAME",
            help="Crawl the closure of this package (repeatable): its feedstock and every feedstock it needs.",
        ),
        click.option(
            "--targets-file",
            "targets_files",
            multiple=True,
            type=click.Path(dir_okay=False, path_type=Path),
            help="More --closure names from a file, one a line, '#' comments (repeatable).",
        ),
        click.option(
            "--source",
            "source",
            default=DEFAULT_SOURCE,
            show_default=True,
            help="Where feedstock NAME comes from: a git URL template, a folder template for local mirrors "
            "(e.g. 'MIRRORS/conda-forge+{name}-feedstock/repo'), or a cf-graph node_attrs folder.",
        ),
        click.option(
            "--cache",
            "cache",
            type=click.Path(file_okay=False, path_type=Path),
            default=None,
            help="Clones and renders kept between runs (default: ~/.cache/newarch/feedstocks).",
        ),
        click.option("--refresh", is_flag=True, help="'git fetch' feedstocks already in the cache."),
        available_option(
            "repodata.json, channel folder or name list of what the target has already: such names "
            "stop the crawl (a name must be available on every target platform of --platforms).",
            metavar="PATH",
        ),
        click.option(
            "--named-only",
            is_flag=True,
            help="When the output map lists several feedstocks for a name, crawl only the one named like it "
            "(default: all of them, as the map cannot tell a retired feedstock from a live one).",
        ),
        click.option("--fetch-jobs", type=int, default=8, show_default=True, help="Parallel fetches."),
    ]
    for opt in reversed(opts):
        fn = opt(fn)
    return fn


@dataclass(slots=True)
class CrawlArgs:
    targets: list[str]
    targets_files: list[Path]
    out: Path
    pairs: list[PlatformPair]
    pin_path: Path
    outputs_map: str | None
    date: str = ""
    description: str = ""
    env: dict[str, str] = field(default_factory=dict)
    jobs: int = 0
    source: str = DEFAULT_SOURCE
    cache: Path | None = None
    refresh: bool = False
    available: list[str] = field(default_factory=list)
    named_only: bool = False
    fetch_jobs: int = 8


def _outputs_map(spec: str | None, cache: Path, refresh: bool) -> dict[str, list[str]]:
    from newarch.sources.fetch import GitUrlSource, FetchError
    from newarch.sources.outputs_map import load_any, read_outputs_repo

    if spec and ("://" in spec or spec.startswith("git@")):
        got = GitUrlSource(spec, cache, refresh=refresh, paths=("outputs/",), suffix=".git").get("feedstock-outputs")
        if isinstance(got, FetchError):
            raise NewarchError(f"cannot fetch the output map: {got.reason}")
        return read_outputs_repo(got.path)
    return load_any(spec)


def _available(items: list[str], pairs: list[PlatformPair]) -> frozenset[str]:
    """Names available on every target platform of the crawl."""
    if not items:
        return frozenset()
    from newarch.sources.availability import load_availability

    sets = [load_availability(items, t).available_on(t) for t in sorted({p.target for p in pairs})]
    return frozenset(set.intersection(*sets)) if sets else frozenset()


def run_crawl(a: CrawlArgs, err: Any) -> None:
    from rich.markup import escape
    from newarch.report.console import progress_bar

    from newarch.render.pinning import load_pinning
    from newarch.report.migrate import read_targets_file
    from newarch.sources.fetch import default_cache, make_source
    from newarch.store.build import BuildRequest
    from newarch.store.crawl import CrawlHooks, CrawlRequest, crawl

    targets = list(a.targets)
    for f in a.targets_files:
        targets += read_targets_file(f)
    targets = list(dict.fromkeys(targets))
    cache = a.cache or default_cache()
    source = make_source(a.source, cache, a.refresh)
    omap = _outputs_map(a.outputs_map, cache, a.refresh)
    breq = BuildRequest(
        sources=[],
        pairs=a.pairs,
        pinnings={p.key: load_pinning(a.pin_path, p) for p in a.pairs},
        pinning_source=a.pin_path.name,
        outputs_map=omap,
        date=a.date,
        description=a.description,
        env=a.env,
        jobs=a.jobs,
    )
    req = CrawlRequest(
        targets=targets,
        build=breq,
        available=_available(a.available, a.pairs),
        cache=cache,
        named_only=a.named_only,
        fetch_jobs=a.fetch_jobs,
    )
    try:
        with progress_bar(err, "crawling", "frontier {task.fields[frontier]}") as bar:
            task = bar.add_task("", total=len(targets), frontier=len(targets))

            def progress(done: int, frontier: int, reached: int) -> None:
                bar.update(task, completed=done, total=reached, frontier=frontier)

            snap, report = crawl(req, source, CrawlHooks(on_progress=progress))
    except KeyboardInterrupt:
        err.print(f"interrupted: no snapshot written; finished clones and renders stay in {escape(str(cache))}")
        sys.exit(130)
    snap.save(a.out)
    print_report(err, report, a.out, len(snap.feedstocks), len(a.pairs))


def print_report(err: Any, report: Any, out: Path, n_feedstocks: int, n_pairs: int) -> None:
    from rich.markup import escape
    from rich.table import Table

    t = Table(title="closure crawl", show_header=True)
    t.add_column("")
    t.add_column("count", justify="right")
    renders = len(report.rendered)
    secs = max(report.seconds, 1e-9)
    rows = [
        ("feedstocks reached", len(report.reached)),
        ("rendered now", renders),
        ("reused from the cache", len(report.reused)),
        ("fetch failures", len(report.fetch_failures)),
        ("render failures", len(report.render_failures)),
        ("names no feedstock provides", len(report.unmapped)),
        ("names available already", len(report.stopped)),
    ]
    for label, n in rows:
        t.add_row(label, str(n))
    t.add_row("time", f"{report.seconds:.1f} s ({len(report.reached) / secs:.1f} feedstocks/s)")
    err.print(t)
    for name, why in report.fetch_failures.items():
        err.print(f"[red]fetch failed[/] {escape(name)}: {escape(why)}", highlight=False)
    for name, why in report.render_failures.items():
        err.print(f"[yellow]render failed[/] {escape(name)}: {escape(why)}", highlight=False)
    for name, who in report.unmapped.items():
        by = f" (needed by {escape(', '.join(who))})" if who else ""
        err.print(f"[yellow]no feedstock[/] {escape(name)}{by}", highlight=False)
    size = out.stat().st_size
    err.print(
        f"wrote {escape(str(out))} ({n_feedstocks} feedstocks, {n_pairs} platform pairs, {size / 1e6:.2f} MB)",
        highlight=False,
    )
