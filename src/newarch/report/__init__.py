"""The HTML status page: ``write_report(status_report, out_dir, providers)``.

Extra sections (such as the bot-status comparison behind ``newarch report --bot-status``) come
from *section providers*: callables taking the :class:`~newarch.status.states.StatusReport` and returning
a :class:`Section` (or ``None``). ``newarch report --bot-status FILE`` uses
``newarch.report.compare.bot_status_section(path, report) -> Section`` when that module provides it.

The names below are read from :mod:`newarch.report.html` on first use, so that importing
``newarch.report.console`` (every terminal command) does not import the HTML page and its template
engine.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from newarch.report.html import Section, SectionProvider, build_context, render_html, script_json, write_report

__all__ = ["Section", "SectionProvider", "build_context", "render_html", "script_json", "write_report"]


def __getattr__(name: str) -> Any:
    if name in __all__:
        return getattr(importlib.import_module("newarch.report.html"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
