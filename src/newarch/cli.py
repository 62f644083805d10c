"""The command line: a thin layer over the modules. Each command lives in ``newarch.commands``."""

from __future__ import annotations

import importlib
import sys
from typing import Any

import click

from newarch import __version__
from newarch.errors import NewarchError

# Each command's module (it defines ``register(group)``, which adds all of that module's commands).
# A command's module is imported when the command runs or ``--help`` lists the commands, so that
# ``newarch plan`` does not import the renderers, the crawl or the HTML report.
COMMANDS: dict[str, str] = {
    "snapshot": "newarch.commands.snapshot_cmd",
    "outputs-map": "newarch.commands.snapshot_cmd",
    "lint": "newarch.commands.lint_cmd",
    "render": "newarch.commands.render_cmd",
    "plan": "newarch.commands.plan_cmd",
    "why": "newarch.commands.plan_cmd",
    "why-not": "newarch.commands.plan_cmd",
    "verify": "newarch.commands.verify_cmd",
    "status": "newarch.commands.status_cmd",
    "report": "newarch.commands.status_cmd",
    "migrate": "newarch.commands.migrate_cmd",
    "compare-bot": "newarch.commands.compare_cmd",
}


class _Group(click.Group):
    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(set(super().list_commands(ctx)) | set(COMMANDS))

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in self.commands and cmd_name in COMMANDS:
            importlib.import_module(COMMANDS[cmd_name]).register(self)
        return super().get_command(ctx, cmd_name)

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except NewarchError as exc:
            click.echo(f"error: {exc}", err=True)
            sys.exit(2)
        except BrokenPipeError:
            sys.exit(1)


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, prog_name="newarch")
def main() -> None:
    """Plan and track bringing a conda-forge-style channel up on a new platform."""
