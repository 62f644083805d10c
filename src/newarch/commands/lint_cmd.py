"""``newarch lint``: cross-readiness findings per feedstock, with the recipe line and the fix."""

from __future__ import annotations

import json
from dataclasses import replace
from collections import Counter
from pathlib import Path

import click

from newarch.errors import NewarchError
from newarch.model import Finding, PlatformPair, RenderResult
from newarch.commands.options import (
    available_option,
    env_option,
    pinning_option,
    SEED_TARGETS,
    build_platform_option,
    default_build_platform,
    limits_options,
    make_limits,
    platform_option,
    snapshot_option,
)


def register(group: click.Group) -> None:
    group.add_command(lint)


@click.command()
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path))
@click.option(
    "--plan",
    "use_plan",
    is_flag=True,
    help="Lint the feedstocks of the seed plan (conda, conda-build, mamba, rattler-build, pixi). "
    "With PATHS, the planned feedstocks found there are rendered again; without, the findings "
    "stored in the snapshot are shown.",
)
@snapshot_option
@platform_option
@build_platform_option
@pinning_option
@available_option(
    "What exists already (repodata.json, channel folder or URL, or a list of names). "
    "Enables the build-tool-missing rule for the build platform."
)
@click.option(
    "--available-build",
    "available_build_items",
    multiple=True,
    metavar="FILE|URL",
    help="What exists on the build platform only (same forms as --available); for the "
    "build-tool-missing rule, without making the names count as built for the target plan.",
)
@env_option
@click.option(
    "--output-format",
    "output_format",
    type=click.Choice(["concise", "full", "json", "github"]),
    default=None,
    help="concise: one `path:line:col: RULE message` line per finding (default); full: with the fix; json; "
    "github: workflow annotations.",
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["table", "json", "concise", "full", "github"]),
    default=None,
    hidden=True,
    help="Alias of --output-format (table = concise), so `--format json` works as in every other command.",
)
@click.option("--exit-zero", is_flag=True, help="Exit 0 even when there are error or warning findings.")
@click.option("--explain", "explain", metavar="RULE", default=None, help="Explain RULE and exit.")
@limits_options
def lint(
    paths: tuple[Path, ...],
    use_plan: bool,
    snapshot_path: Path | None,
    platform: str,
    build_platform: str | None,
    pinning: Path | None,
    available: tuple[str, ...],
    available_build_items: tuple[str, ...],
    env: tuple[str, ...],
    output_format: str | None,
    fmt: str | None,
    exit_zero: bool,
    explain: str | None,
    timeout: float,
    memory_limit: str,
) -> None:
    """Find what will break when feedstocks are built for a new platform.

    PATHS are feedstock checkouts, bare git mirrors or folders of them. Exit status: 0 no error or warning
    finding (or --exit-zero), 1 findings, 2 bad input.
    """
    if explain is not None:
        _explain(explain)
        return
    alias = {"table": "concise"}.get(fmt or "", fmt)
    if output_format and alias and alias != output_format:
        raise NewarchError(f"--format {fmt} and --output-format {output_format} disagree: give one")
    out_fmt = output_format or alias or "concise"
    if not paths and not use_plan:
        raise NewarchError("give feedstock paths, or --plan")
    limits = make_limits(timeout, memory_limit)
    pair = PlatformPair(platform, build_platform or default_build_platform(None, platform))
    from newarch.sources.availability import load_availability

    avail = load_availability(available, pair.target, pair.build) if available else None
    available_build = avail.available_on(pair.build) if avail is not None else None
    if available_build_items:
        extra = load_availability(available_build_items, pair.build, pair.build).available_on(pair.build)
        available_build = (available_build or set()) | extra

    planned: list[str] | None = None
    native: set[str] = set()
    notes: list[str] = []
    snap = None
    if use_plan:
        from newarch.plan.planner import PlanOptions, make_plan
        from newarch.commands.options import check_platform_pair, load_snapshot

        snap = load_snapshot(snapshot_path)
        check_platform_pair(snap, pair.target, pair.build)
        plan = make_plan(
            snap,
            PlanOptions(
                targets=list(SEED_TARGETS),
                platform=pair.target,
                build_platform=pair.build,
                available=avail.available_on(pair.target) if avail else set(),
            ),
        )
        planned = list(plan.feedstocks)
        native = {f.name for f in plan.feedstocks.values() if f.mode == "native"}
        notes.append(f"plan for {', '.join(SEED_TARGETS)} on {pair}: {len(planned)} feedstocks")

    if paths:
        findings = _lint_paths(list(paths), pair, pinning, env, available_build, planned, notes, limits)
    else:
        assert snap is not None and planned is not None
        findings = _lint_snapshot(snap, planned, pair, available_build, notes)
    findings = [_by_mode(f, native) for f in findings]
    findings.sort(key=lambda f: (f.feedstock, f.file, f.line, f.rule))
    failing = sum(1 for f in findings if f.severity in ("error", "warning"))
    if out_fmt == "json":
        doc = {
            "schema": "newarch.lint/1",
            "platform": pair.target,
            "build_platform": pair.build,
            "counts": dict(Counter(f.severity for f in findings)),
            "findings": [f.to_dict() for f in findings],
            "notes": notes,
        }
        click.echo(json.dumps(doc, indent=2))
    elif out_fmt == "github":
        for f in findings:
            level = {"error": "error", "warning": "warning"}.get(f.severity, "notice")
            title = _gh(f"{f.rule} ({f.feedstock})", prop=True)
            click.echo(f"::{level} title={title},file={_gh(f.file, True)},line={max(f.line, 1)}::{_gh(f.message)}")
    else:
        _print_findings(findings, pair, notes, full=out_fmt == "full")
    if failing and not exit_zero:
        raise SystemExit(1)


def _by_mode(f: Finding, native: set[str]) -> Finding:
    """Severity follows the plan's build mode: a build tool missing on the build platform does not matter
    for a feedstock the plan builds natively (its build deps run on the target)."""
    if f.rule == "build-tool-missing" and f.feedstock in native and f.severity != "info":
        return replace(f, severity="info", message=f.message + " (the plan builds it natively: not needed)")
    return f


def _gh(text: str, prop: bool = False) -> str:
    """Escape for a GitHub workflow command (data, or a property value with ``prop``)."""
    text = text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")
    return text.replace(":", "%3A").replace(",", "%2C") if prop else text


def _explain(rule: str) -> None:
    import difflib

    from newarch.lint.docs import EXPLAIN
    from newarch.lint.catalog import RULES

    if rule not in RULES:
        close = difflib.get_close_matches(rule, list(RULES), 3)
        hint = f" (did you mean {', '.join(close)}?)" if close else f" (rules: {', '.join(RULES)})"
        raise NewarchError(f"unknown rule {rule!r}{hint}")
    severity, what = RULES[rule]
    click.echo(f"{rule} ({severity}): {what}")
    click.echo()
    click.echo(EXPLAIN.get(rule, what))


def _lint_paths(
    paths: list[Path],
    pair: PlatformPair,
    pinning: Path | None,
    env: tuple[str, ...],
    available_build: set[str] | None,
    planned: list[str] | None,
    notes: list[str],
    limits=None,
) -> list[Finding]:
    from newarch.lint.catalog import RULES
    from newarch.render.isolate import Failed, WorkerPool
    from newarch.sources.recipes import discover, feedstock_name, open_source

    try:
        from newarch.commands.pinning_source import load_pinning_for
        from newarch.render import default_env, parse_env_overrides
    except ImportError as exc:  # the renderer is a separate module; say so instead of a traceback
        raise NewarchError(f"the recipe renderer is not available ({exc})") from exc

    variants, _where = load_pinning_for(pair, pinning)
    run_env = parse_env_overrides(list(env), default_env(pair))
    found = discover(paths)
    if planned is not None:
        wanted = set(planned)
        by_name = {feedstock_name(p): p for p in found}
        missing = sorted(wanted - set(by_name))
        found = [by_name[n] for n in sorted(wanted & set(by_name))]
        if missing:
            notes.append(f"{len(missing)} planned feedstock(s) not found in PATHS: {', '.join(missing)}")
    findings: list[Finding] = []
    readable: dict[str, str] = {}  # path -> recipe file as shown
    for path in found:
        try:
            src = open_source(path)
        except NewarchError as exc:  # one broken feedstock in a folder must not stop the others
            findings.append(
                Finding(
                    "render-failed",
                    "error",
                    feedstock_name(path),
                    exc.file or str(path),
                    exc.line or 0,
                    f"cannot read the feedstock: {exc.message}",
                    "check the checkout / mirror",
                )
            )
            continue
        readable[str(path)] = src.display(src.recipe_file)
    # each recipe is rendered and linted in a worker with a deadline and a memory limit
    by_path: dict[str, list[Finding]] = {}
    with WorkerPool(1, limits) as pool:
        shared = (pool.share(variants), pool.share(run_env), pool.share(available_build))  # once per worker
        tasks = ((p, _lint_one, (p, pair, *shared)) for p in readable)
        for p, outcome in pool.run(tasks):
            if isinstance(outcome, Failed):
                by_path[str(p)] = [
                    Finding(
                        "render-failed",
                        RULES["render-failed"][0],
                        feedstock_name(Path(str(p))),
                        readable[str(p)],
                        0,
                        f"cannot render for {pair}: {outcome.text(readable[str(p)])}",
                        "fix the recipe (or the pinning) so it renders for this platform; "
                        "until then nothing about this feedstock is known",
                    )
                ]
            else:
                by_path[str(p)] = [Finding.from_dict(d) for d in outcome]
    for p in readable:
        findings.extend(by_path[p])
    return findings


def _lint_one(
    path: str, pair: PlatformPair, variants, env: dict[str, str], available_build: set[str] | None
) -> list[dict]:
    """Worker task: render and lint one feedstock; the findings as dicts."""
    from newarch.lint.rules import lint_source
    from newarch.render import render_source
    from newarch.sources.recipes import open_source

    src = open_source(path)
    result = render_source(src, pair, variants, env)
    return [f.to_dict() for f in lint_source(src, pair, result, available_build)]


def _lint_snapshot(
    snap, planned: list[str], pair: PlatformPair, available_build: set[str] | None, notes: list[str]
) -> list[Finding]:
    """Findings stored in the snapshot (computed when it was built) for the planned feedstocks."""
    from newarch.lint.rules import lint_source
    from newarch.sources.recipes import RecipeSource

    findings: list[Finding] = []
    missing: list[str] = []
    for name in planned:
        fs = snap.feedstocks.get(name)
        result: RenderResult | None = fs.render_for(pair) if fs else None
        if fs is None or result is None:
            missing.append(name)
            continue
        findings.extend(result.findings)
        if available_build is not None:  # the one rule that depends on --available
            src = RecipeSource(
                name=name,
                origin=snap.origin,
                kind="snapshot",
                files={("recipe.yaml" if fs.schema == "v1" else "meta.yaml"): b""},
            )
            findings.extend(
                f for f in lint_source(src, pair, result, available_build) if f.rule == "build-tool-missing"
            )
    if missing:
        notes.append(f"the snapshot has no {pair.key} render for: {', '.join(sorted(missing))}")
    notes.append(f"findings as stored in {snap.origin} ({snap.date}); line numbers refer to that revision")
    return findings


def _print_findings(findings: list[Finding], pair: PlatformPair, notes: list[str], full: bool) -> None:
    """ruff's style: ``path:line:col: RULE message`` (``full``: the fix below it), then counts."""
    from newarch.report.console import esc, line, make_console

    console = make_console()
    style = {"error": "red", "warning": "yellow", "info": "dim"}
    for f in findings:
        path = f.file if f.file.startswith(f.feedstock) else f"{f.feedstock}/{f.file}"
        console.print(
            f"[bold]{esc(path)}:{f.line}:1:[/] [{style.get(f.severity, 'default')}]{esc(f.rule)}[/] {esc(f.message)}",
            highlight=False,
        )
        if full and f.fix:
            line(console, f"  fix: {f.fix}")
    sev = Counter(f.severity for f in findings)
    rules = Counter(f.rule for f in findings)
    per_rule = ", ".join(f"{r} {n}" for r, n in rules.most_common())
    line(
        console,
        f"{len(findings)} findings on {pair} ({sev.get('error', 0)} error, {sev.get('warning', 0)} warning, "
        f"{sev.get('info', 0)} info)" + (f": {per_rule}" if per_rule else ""),
    )
    for note in notes:
        console.print(f"note: {esc(note)}", style="dim", highlight=False)
    if findings:
        line(console, "newarch lint --explain RULE explains a rule; --output-format full shows the fixes")
