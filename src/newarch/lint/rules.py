"""Cross-readiness lints: what will break when a feedstock is built for a new platform.

Facts (which outputs exist, what they need) come from the rendered :class:`RenderResult`; the
recipe text is only read to name the line. Build scripts are read as text, never run.

Rules (ids are stable):

=============================  ========  ==========================================================
``render-failed``              error     the recipe cannot be rendered for the platform
``cross-python-missing``       error     python in host of a compiled output, cross-compiled without
                                         ``cross-python_<target>`` in build
``mingw-on-arm64``             error     MinGW toolchain / ``m2w64-*`` packages on win-arm64
``build-tool-missing``         error     a build dependency that does not exist on the build platform
``autotools-no-cc-for-build``  warning   autotools in build on a Windows cross-compile, and no build
                                         script mentions ``CC_FOR_BUILD``
``x86-selector``               warning   a selector that means x86_64 but also matches arm64
                                         (``win64``, ``not win32``) or that drops arm64 by testing
                                         ``x86_64``, in a recipe with no arm64/aarch64 selector
``binary-repack``              warning   a source url that is a platform-specific prebuilt binary
``unknown-selector-name``      warning   a v0 selector name conda-build does not define (it reads
                                         it as ``False``, with a warning): usually a typo
``build-script-unreadable``    info      a build script named by the recipe is missing or binary
=============================  ========  ==========================================================
"""

from __future__ import annotations

import re
from collections.abc import Set as AbstractSet

from newarch.lint.context import ARM_WORDS, _Context
from newarch.lint.expr import split_subdir
from newarch.lint.text import Line
from newarch.lint.selector_rules import _unknown_selector_name, _x86_selector
from newarch.lint.toolchain import _autotools, _build_tool_missing, _cross_python, _mingw
from newarch.model import Finding, PlatformPair, RenderResult
from newarch.sources.recipes import RecipeSource

_ERROR_WHERE = re.compile(r"^(?P<file>[^\s:]+?)(?::(?P<line>\d+))?(?::\d+)?: (?P<reason>.*)$", re.S)
_PREBUILT = re.compile(
    r"(?<![a-z0-9])(x86_64|x86-64|x64|amd64|win64|win-64|win_amd64|i686|win32|mingw64|ucrt64)(?![a-z0-9])"
)


def lint_source(
    src: RecipeSource, pair: PlatformPair, result: RenderResult, available_build: AbstractSet[str] | None = None
) -> list[Finding]:
    """All findings for one feedstock rendered for ``pair`` (sorted by file, line, rule)."""
    ctx = _Context.make(src, pair, result, available_build)
    findings: list[Finding] = []
    rules = (_render_failed, _cross_python, _mingw, _build_tool_missing, _autotools, _x86_selector, _binary_repack)
    for rule in (*rules, _unknown_selector_name):
        findings.extend(rule(ctx))
    unique = {(f.rule, f.file, f.line, f.message): f for f in findings}
    return sorted(unique.values(), key=lambda f: (f.file, f.line, f.rule, f.message))


findings_for = lint_source


# ---------------------------------------------------------------------------------------------
def _render_failed(ctx: _Context) -> list[Finding]:
    if not ctx.result.error:
        return []
    msg = ctx.result.error.strip()
    file, line, reason = ctx.file(), 0, msg
    m = _ERROR_WHERE.match(msg)
    if m:
        where = m.group("file")
        prefix = f"{ctx.src.name}/"
        file = where[len(prefix) :] if where.startswith(prefix) else where
        line, reason = int(m.group("line") or 0), m.group("reason")
    reason = " ".join(reason.split())
    return [
        ctx.finding(
            "render-failed",
            line,
            f"cannot render for {ctx.pair}: {reason}",
            "fix the recipe (or the pinning) so it renders for this platform; "
            "until then nothing about this feedstock is known",
            file=file,
        )
    ]


def _binary_repack(ctx: _Context) -> list[Finding]:
    _, arch = split_subdir(ctx.pair.target)
    if arch in ("x86_64", "x86") or not ctx.built():
        return []
    urls: list[tuple[Line, str]] = []
    for ln in ctx.text.lines:
        if ln.in_block_scalar:
            continue
        if ln.key == "url" and ln.value or ln.item and not ln.key and ln.ancestors[-1:] == ("url",):
            urls.append((ln, ln.value.strip().strip("\"'")))
    if any(w in url.lower() for _, url in urls for w in ARM_WORDS):
        return []  # the recipe already knows an arm64 binary
    hits: list[tuple[Line, str, str]] = []
    for ln, url in urls:
        if "://" not in url or not ctx.applies(ln):
            continue
        why = _prebuilt_reason(url)
        if why:
            hits.append((ln, url, why))
    if not hits:
        return []
    ln, url, why = hits[0]  # one finding per feedstock: the first prebuilt url, and how many there are
    more = f" (and {len(hits) - 1} more prebuilt source url(s))" if len(hits) > 1 else ""
    return [
        ctx.finding(
            "binary-repack",
            ln.number,
            f"source {_short(url)} is a prebuilt binary ({why}){more}; upstream may have no {ctx.pair.target} build",
            f"look for an {arch} asset upstream and select it for {ctx.pair.target}, or build from source",
        )
    ]


def _prebuilt_reason(url: str) -> str:
    path = url.split("://", 1)[1].split("?", 1)[0].split("#", 1)[0]
    path = path.split("/", 1)[1] if "/" in path else ""
    low = path.lower()
    filename = low.rsplit("/", 1)[-1]
    if filename.endswith(".whl"):
        tag = filename[:-4].rsplit("-", 1)[-1]
        return "" if tag == "any" else f"wheel for platform {tag}"
    if filename.endswith((".exe", ".msi", ".msix", ".nupkg")):
        return f"{filename.rsplit('.', 1)[-1]} installer"
    if filename.endswith(("-any.pkg.tar.zst", "-any.pkg.tar.xz")):
        return ""
    m = _PREBUILT.search(filename)
    if m:
        return f"'{m.group(1)}' in the file name"
    dirs = set(low.split("/")[:-1])
    hit = sorted(dirs & {"x86_64", "x64", "amd64", "win64", "win-64", "mingw64", "ucrt64"})
    return f"'{hit[0]}/' in the url path" if hit else ""


def _short(url: str, limit: int = 100) -> str:
    return url if len(url) <= limit else url[: limit - 3] + "..."
