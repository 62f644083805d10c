"""Lint rules on v0 selectors: ``x86-selector`` and ``unknown-selector-name`` (see ``catalog.py``)."""

from __future__ import annotations

from newarch.lint.context import ARM_WORDS, _Context
from newarch.lint.expr import UNKNOWN, X86_TWIN, evaluate, names, split_subdir, strings, truth
from newarch.lint.selector_names import unknown_selector_names
from newarch.model import Finding, PlatformPair


def _x86_selector(ctx: _Context) -> list[Finding]:
    os_name, arch = split_subdir(ctx.pair.target)
    twin_subdir = X86_TWIN.get(ctx.pair.target)
    if arch not in ARM_WORDS or not twin_subdir:
        return []
    twin = PlatformPair(twin_subdir, ctx.pair.build if ctx.pair.build != ctx.pair.target else twin_subdir)
    exprs = ctx.text.expressions()
    for _, expr, _ in exprs:
        if names(expr) & set(ARM_WORDS) or any(w in s for s in strings(expr) for w in ARM_WORDS):
            return []  # the recipe thinks about arm64 somewhere: trust it
    out: list[Finding] = []
    done: set[int] = set()
    for number, expr, kind in exprs:
        if number in done:
            continue
        ids = names(expr)
        if not ids:
            continue
        vt, vx = truth(evaluate(expr, ctx.pair)), truth(evaluate(expr, twin))
        if vt is UNKNOWN or vx is UNKNOWN:
            continue
        where = f"`{expr}` ({kind})"
        markers = sorted(ids & {"x86_64", "x86", "osx64", "linux64", "win64"})
        if twin_subdir in strings(expr):
            markers.append(repr(twin_subdir))
        if markers and vt != vx:
            done.add(number)
            out.append(
                ctx.finding(
                    "x86-selector",
                    number,
                    f"{where} is {vx} on {twin_subdir} but {vt} on {ctx.pair.target} because it tests "
                    f"{', '.join(markers)}; the recipe has no arm64 selector, so {ctx.pair.target} silently "
                    "differs",
                    f"if the line is meant for every 64-bit {os_name}, drop the {markers[0]} test; "
                    f"if it is x86-only, add the arm64 case explicitly (e.g. `{os_name} and arm64`)",
                )
            )
        elif vt == vx and "win32" in ids and vt is True:
            done.add(number)
            word = "not win32"
            out.append(
                ctx.finding(
                    "x86-selector",
                    number,
                    f"{where} uses {word}, which is also {vt} on {ctx.pair.target}; it probably means x86_64 "
                    "and the recipe has no arm64 selector",
                    f"write `{os_name} and x86_64` if only x86_64 is "
                    f"meant, or `{os_name}` (and an explicit `arm64` case) if arm64 is meant too",
                )
            )
    return out


def _unknown_selector_name(ctx: _Context) -> list[Finding]:
    if ctx.v1 or ctx.result.error:
        return []
    from newarch.render import default_env

    out: list[Finding] = []
    for number, selector, unknown in unknown_selector_names(
        ctx.text, ctx.pair, ctx.result.outputs, default_env(ctx.pair)
    ):
        listed = ", ".join(repr(n) for n in unknown)
        out.append(
            ctx.finding(
                "unknown-selector-name",
                number,
                f"selector `[{selector}]` uses {listed}, which conda-build does not define: it reads "
                "it as False (with a warning), so the line is dropped wherever the name decides",
                "correct the name (e.g. `x86_64`, `win`, `arm64`, a variant key) or remove the selector",
            )
        )
    return out
