"""Terminal output shared by every command: a console that fits the terminal, text that is never markup.

Recipe-provided strings (selectors such as ``[linux]``, specs, reasons) must reach Rich verbatim:
:func:`cells` turns them into :class:`rich.text.Text`, which Rich never parses as markup, and
:func:`esc` escapes a string that is embedded in a markup template.
"""

from __future__ import annotations

import textwrap
from collections.abc import Iterable
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.table import Table
from rich.text import Text


def make_console(*, stderr: bool = False) -> Console:
    """The terminal's own width (``COLUMNS`` when set); never a forced minimum; no auto-highlighting."""
    return Console(stderr=stderr, highlight=False)


def esc(value: object) -> str:
    """``value`` as text to embed in a Rich markup template."""
    return escape(str(value))


def cell(value: Any) -> Any:
    """A table cell: strings become plain :class:`Text` (never markup); Rich renderables pass through."""
    if isinstance(value, str):
        return Text(value)
    if value is None:
        return Text("")
    if isinstance(value, (int, float)):
        return Text(str(value))
    return value


def add_row(table: Table, *values: Any, style: str | None = None) -> None:
    table.add_row(*(cell(v) for v in values), style=style)


def table(columns: Iterable[str | tuple[str, dict[str, Any]]], **kwargs: Any) -> Table:
    """A compact table: no box lines between rows, cells fold inside their column, never forced wider."""
    kwargs.setdefault("show_header", True)
    kwargs.setdefault("header_style", "bold")
    kwargs.setdefault("box", None)
    kwargs.setdefault("pad_edge", False)
    t = Table(**kwargs)
    for col in columns:
        name, opts = (col, {}) if isinstance(col, str) else col
        opts = {"overflow": "fold", **opts}
        t.add_column(name, **opts)
    return t


def line(console: Console, *parts: Any) -> None:
    """Print plain text (no markup parsing) on one logical line."""
    console.print(Text("".join(str(p) for p in parts)), soft_wrap=False)


def para(console: Console, text: str, hang: int = 4) -> None:
    """Plain text wrapped to the console's width; continuation lines indented ``hang`` past the text's
    own leading spaces, so a wrapped item still reads as one item at 80 columns."""
    lead = len(text) - len(text.lstrip(" "))
    wrapped = textwrap.fill(
        text.strip(" "),
        width=max(console.width, 20),
        initial_indent=" " * lead,
        subsequent_indent=" " * (lead + hang),
        break_long_words=False,
        break_on_hyphens=False,
    )
    console.print(Text(wrapped), soft_wrap=True)


def progress_bar(console: Console, label: str, *extra: str, spinner: bool = False) -> Any:
    """A transient progress bar on ``console``: ``label``, bar, done/total, elapsed, then ``extra``
    columns (format strings over the task, e.g. ``"{task.description}"``)."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    columns: list[Any] = [SpinnerColumn()] if spinner else []
    columns += [TextColumn(label), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn()]
    columns += [TextColumn(e) for e in extra]
    return Progress(*columns, console=console, transient=True)
