"""``newarch render PATH``: every output a recipe produces for one platform pair.

JSON output (``--format json``) is described in docs/render-json.md.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from newarch.model import SECTIONS, Output, PlatformPair, RenderResult
from newarch.commands.options import (
    build_platform_option,
    default_build_platform,
    format_option,
    limits_options,
    make_limits,
    platform_option,
)

if TYPE_CHECKING:  # sources.recipes imports ruamel.yaml: loaded only when a command runs
    from newarch.sources.recipes import RecipeSource

JSON_SCHEMA = "newarch.render/1"


def render_document(
    src: RecipeSource, result: RenderResult, pinning_source: str, env: dict[str, str]
) -> dict[str, Any]:
    """The stable JSON document of ``newarch render --format json``."""
    d = result.to_dict()
    return {
        "schema": JSON_SCHEMA,
        "feedstock": src.name,
        "recipe_schema": src.schema,
        "recipe_file": src.display(src.recipe_file),
        "revision": src.revision,
        "target": result.pair.target,
        "build": result.pair.build,
        "pinning": pinning_source,
        "env": dict(sorted(env.items())),
        "outputs": d["outputs"],
        "notes": list(result.notes),
        "error": result.error or None,
    }


def _variant_text(out: Output) -> str:
    return ", ".join(f"{k}={v}" for k, v in sorted(out.variant.items())) or "-"


def print_table(src: RecipeSource, result: RenderResult, pinning_source: str) -> None:
    """One compact table per output at the terminal's width (80 columns fit): section, requirement,
    condition; every recipe string is plain text, never Rich markup."""
    from rich.text import Text

    from newarch.report.console import add_row, esc, make_console, table

    console = make_console()
    console.print(
        f"[bold]{esc(src.name)}[/bold] ({esc(src.schema)}, {esc(src.display(src.recipe_file))}) "
        f"for [bold]{esc(result.pair)}[/bold]"
    )
    console.print(f"[dim]pinning: {esc(pinning_source)}[/dim]")
    for out in sorted(result.outputs, key=Output.sort_key):
        title = f"{out.name} {out.version}"
        if out.noarch:
            title += f"  noarch: {out.noarch}"
        if out.skip:
            title += f"  SKIPPED ({out.skip_reason or 'skip'})"
        t = table(
            [("section", {"style": "cyan", "no_wrap": True}), "requirement", ("if", {"style": "dim"})],
            title=Text(title, style="bold"),
            title_justify="left",
        )
        add_row(t, "variant", _variant_text(out), "")
        for section in SECTIONS:
            for req in out.reqs(section):
                add_row(t, section, req.spec, req.condition)
        for kind, specs in sorted(out.run_exports.items()):
            for spec in specs:
                add_row(t, f"run_exports.{kind}", spec, "")
        for name in out.ignore_run_exports:
            add_row(t, "ignore_run_exports", name, "")
        for name in out.ignore_run_exports_from:
            add_row(t, "ignore_run_exports_from", name, "")
        for drop in out.dropped:
            add_row(t, f"not in {drop.section}", Text(drop.name, style="strike"), drop.condition)
        console.print(t)
    for note in result.notes:
        console.print(Text.assemble(("note: ", "yellow"), note))


def register(group: click.Group) -> None:
    @group.command("render")
    @click.argument("path", type=click.Path(path_type=Path))
    @platform_option
    @build_platform_option
    @click.option(
        "--pinning",
        "pinning_path",
        type=click.Path(dir_okay=False, path_type=Path),
        default=None,
        help="conda_build_config.yaml to use (default: conda-forge's beside the checkout, "
        "else the pinning recorded in the bundled snapshot).",
    )
    @click.option(
        "--env",
        "env_items",
        multiple=True,
        metavar="KEY=VALUE",
        help="Environment variable the recipe sees (repeatable); -KEY unsets one. Default environment: CI=true.",
    )
    @format_option("table", "json")
    @limits_options
    def render_command(
        path: Path,
        platform: str,
        build_platform: str | None,
        pinning_path: Path | None,
        env_items: tuple[str, ...],
        fmt: str,
        timeout: float,
        memory_limit: str,
    ) -> None:
        """Render the recipe at PATH (feedstock checkout, bare git mirror or recipe dir) for one platform."""
        from newarch.commands.pinning_source import load_pinning_for
        from newarch.render import default_env, parse_env_overrides
        from newarch.render.isolated import render_isolated
        from newarch.sources.recipes import open_source

        pair = PlatformPair(platform, build_platform or default_build_platform(None, platform))
        env = parse_env_overrides(env_items, default_env(pair))
        limits = make_limits(timeout, memory_limit)
        src = open_source(path)  # reads the files only; the render runs in a worker under the limits
        pinning, pinning_source = load_pinning_for(pair, pinning_path)
        result = render_isolated(str(path), src.display(src.recipe_file), pair, pinning, env, limits)
        if fmt == "json":
            click.echo(json.dumps(render_document(src, result, pinning_source, env), indent=2, sort_keys=False))
        elif not result.error:
            print_table(src, result, pinning_source)
        if result.error:
            click.echo(f"error: {result.error}", err=True)
            sys.exit(1)


__all__ = ["register", "render_document", "JSON_SCHEMA"]
