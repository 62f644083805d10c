"""``newarch snapshot``: placeholder registration until the snapshot builder lands."""

from __future__ import annotations

import click


def register(group: click.Group) -> None:
    pass
