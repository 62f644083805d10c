"""The command line: a thin layer over the modules. Each command lives in ``newarch.commands``."""

from __future__ import annotations

import importlib
import sys
from typing import Any

import click

from newarch import __version__
from newarch.errors import NewarchError

# One module per command group; each defines ``register(group)``.
COMMAND_MODULES: tuple[str, ...] = (
    "newarch.commands.snapshot_cmd",
    "newarch.commands.lint_cmd",
    "newarch.commands.render_cmd",
    "newarch.commands.plan_cmd",
    "newarch.commands.verify_cmd",
    "newarch.commands.status_cmd",
    "newarch.commands.migrate_cmd",
    "newarch.commands.compare_cmd",
)


class _Group(click.Group):
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


for _mod in COMMAND_MODULES:
    importlib.import_module(_mod).register(main)
