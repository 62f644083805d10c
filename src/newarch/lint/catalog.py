"""The lint rules' catalog: each rule's id, severity and one-line explanation.

Ids are stable; the longer explanations for ``newarch lint --explain`` are in ``docs.py``, the rules
themselves in ``rules.py``, ``toolchain.py`` and ``selector_rules.py``.
"""

from __future__ import annotations

SEVERITIES: tuple[str, ...] = ("error", "warning", "info")

RULES: dict[str, tuple[str, str]] = {
    "render-failed": ("error", "the recipe cannot be rendered for this platform"),
    "cross-python-missing": ("error", "python extension cross-compiled without cross-python"),
    "mingw-on-arm64": ("error", "MinGW toolchain on win-arm64"),
    "build-tool-missing": ("error", "build dependency missing on the build platform"),
    "autotools-no-cc-for-build": ("warning", "autotools on a Windows cross-compile without CC_FOR_BUILD"),
    "x86-selector": ("warning", "selector means x86_64 but matches or drops arm64"),
    "binary-repack": ("warning", "source is a platform-specific prebuilt binary"),
    "unknown-selector-name": ("warning", "selector name conda-build does not define (read as False)"),
    "build-script-unreadable": ("info", "a build script named by the recipe cannot be read"),
}
