"""The HTML status page: ``write_report(status_report, out_dir, providers)``.

Extra sections (such as the bot-status comparison behind ``newarch report --bot-status``) come
from *section providers*: callables taking the :class:`~newarch.status.states.StatusReport` and returning
a :class:`Section` (or ``None``). ``newarch report --bot-status FILE`` uses
``newarch.report.compare.bot_status_section(path, report) -> Section`` when that module provides it.
"""

from __future__ import annotations

from newarch.report.html import Section, SectionProvider, build_context, render_html, script_json, write_report

__all__ = ["Section", "SectionProvider", "build_context", "render_html", "script_json", "write_report"]
