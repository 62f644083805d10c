"""``newarch verify``: solve the targets and every planned build against the channel the plan would create."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import click

from newarch.commands.options import (
    available_option,
    build_platform_option,
    check_targets,
    default_build_platform,
    format_option,
    ignore_option,
    load_snapshot,
    mode_option,
    platform_option,
    resolve_targets,
    snapshot_option,
    targets_file_option,
)


def run_verify(
    snap: Any,
    targets: list[str],
    platform: str,
    build_platform: str | None,
    mode: str = "auto",
    available: tuple[str, ...] = (),
    ignore: tuple[str, ...] = (),
    python: tuple[str, ...] = (),
    minimal: bool = True,
) -> tuple[Any, Any]:
    """(plan, verification) for the targets on the pair."""
    from newarch.plan.planner import PlanOptions, make_plan
    from newarch.sources.availability import Availability, load_availability
    from newarch.verify.channel import planned_builds
    from newarch.verify.checks import verify

    import rattler

    from newarch.errors import NewarchError

    for spec in python:
        try:
            rattler.MatchSpec(f"python {spec}")
        except Exception as exc:
            raise NewarchError(f"--python {spec!r} is not a python version spec ({exc})") from None
    build = build_platform or default_build_platform(snap, platform)
    avail = load_availability(list(available), platform, build) if available else Availability()
    names = avail.available_on(platform) if available else set()
    plan = make_plan(snap, PlanOptions(targets, platform, build, mode, names, set(ignore)))
    v = verify(snap, plan.pair, plan.roots, planned_builds(plan), avail, minimal=minimal, pythons=list(python))
    return plan, v


def _status(ok: bool | None) -> str:
    return "[green]solvable[/green]" if ok else "[red]NOT solvable[/red]"


def print_verification(v: Any) -> None:
    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table

    console = Console(width=max(Console().width, 120))
    recs = ", ".join(f"{k} {n}" for k, n in sorted(v.records.items()))
    console.print(
        f"[bold]Verify[/bold] {v.pair}: virtual channel records the solves read: {recs}; "
        f"python variants: {escape(', '.join(v.pythons) or 'none')}"
    )
    t = Table(show_header=True, header_style="bold")
    for col in ("target", "python", "result"):
        t.add_column(col, overflow="fold")
    for c in v.targets:
        t.add_row(escape(c.target), escape(c.python or "-"), _result_text(c.result, escape, c.why))
    console.print(t)
    bad = [e for e in v.envs if not e.result.solvable]
    if bad:
        t = Table(show_header=True, header_style="bold", title="planned builds whose environment does not solve")
        for col in ("build", "output", "variant", "env", "failing spec (chain)"):
            t.add_column(col, overflow="fold")
        for e in bad:
            t.add_row(
                escape(e.build),
                escape(e.output),
                escape(e.variant or "-"),
                e.env,
                _result_text(e.result, escape, e.why),
            )
        console.print(t)
    failing = v.failing_specs()
    if failing:
        kinds = ", ".join(f"{k} {n}" for k, n in v.failure_kinds().items())
        console.print(
            f"[bold]failing specs[/bold] (how many installs / environments each one fails; by kind: {kinds}):"
        )
        for spec, n, _kind, why in failing:
            console.print(f"  {n:3d}  {escape(spec)}" + (f" — {escape(why)}" if why else ""))
    for b in v.builders:
        if not b.ok:
            console.print(f"[red]builder[/red] {escape(b.build)}: {escape(b.how)}")
    if v.unneeded:
        console.print("[bold]not needed by the solver[/bold]:")
        for u in v.unneeded:
            kept = f" — kept by the graph walk for: {escape(u.kept_because)}" if u.kept_because else ""
            console.print(f"  {escape(u.build)}: {escape(u.reason)}{kept}")
    console.print(summary_line(v))


def job_verdicts(v: Any) -> dict[str, tuple[str, list[str]]]:
    """Per planned job (PlannedBuild.key = plan job id): ("ok" | "N fail", ["host libmamba: spec, ...", ...]).
    Counted: the distinct specs failing in its host envs, a native job's build envs, and its builder."""
    out: dict[str, tuple[str, list[str]]] = {}
    by_job: dict[str, list[Any]] = {}
    for e in v.envs:
        by_job.setdefault(e.build, []).append(e)
    builders = {b.build: b for b in v.builders}
    for key in dict.fromkeys([*by_job, *builders]):
        failing: dict[str, None] = {}
        where: dict[str, dict[str, None]] = {}
        for e in by_job.get(key, ()):
            if not e.result.solvable:
                for spec in e.result.failing:
                    failing[spec] = None
                    where.setdefault(f"{e.env} {e.output}", {})[spec] = None
        b = builders.get(key)
        if b is not None and not b.ok:
            failing[f"builder {b.tool}"] = None
            where.setdefault("builder", {})[b.how] = None
        lines = [f"{w}: {', '.join(specs)}" for w, specs in where.items()]
        out[key] = ("ok" if not failing else f"{len(failing)} fail", lines)
    return out


def print_plan_verification(v: Any) -> None:
    """After the plan table (whose ``verified`` column has a verdict per job): what fails per job, the
    failing specs and the summary, as plain text that fits the terminal."""
    from newarch.report.console import line, make_console, para

    console = make_console()
    bad = {k: lines for k, (verdict, lines) in job_verdicts(v).items() if verdict != "ok"}
    if bad:
        line(console, "verified: what fails per job (newarch verify explains each spec):")
        for key, lines in bad.items():
            para(console, f"  {key}: " + "; ".join(lines))
    failing = [t for t in v.targets if not t.result.solvable]
    for t in failing:
        para(console, f"  target {t.target} (python {t.python or '-'}): " + ", ".join(t.result.failing))
    para(console, summary_line(v), hang=2)


def summary_line(v: Any) -> str:
    f = v.figures()
    nn = (
        "minimality not checked"
        if f["not_needed"] is None
        else f"{f['not_needed']} builds not needed by the solver ({f['not_needed_blocked']} of them only because "
        "what needs them does not solve)"
    )
    return (
        f"{f['targets_solvable']}/{f['targets']} target installs solvable"
        + (
            f" (all together: {'solvable' if all(f['together_solvable']) else 'NOT solvable'})"
            if f["together_solvable"]
            else ""
        )
        + "; "
        f"{f['builds_host_solvable']}/{f['builds']} planned builds have every host env solvable "
        f"({f['host_envs_solvable']}/{f['host_envs']} host envs); "
        f"{f['build_envs_solvable']}/{f['build_envs']} native build envs solvable; "
        f"{f['builders_ok']}/{f['builders']} native builds have a builder; {nn}; {f['solves']} solves"
    )


def _result_text(r: Any, escape: Any, why: dict[str, tuple[str, str]] | None = None) -> str:
    if r.solvable:
        return f"[green]solvable[/green] ({len(r.solution)} packages)"
    lines = []
    for chain in r.chains[:3] or [tuple(r.failing)]:
        lines.append(escape(" -> ".join(chain)))
    more = f" (+{len(r.chains) - 3} more)" if len(r.chains) > 3 else ""
    head = "missing" if r.missing else "conflict"
    text = f"[red]{head}[/red] " + "; ".join(lines) + more
    for spec, (_kind, reason) in list((why or {}).items())[:2]:
        text += f"\n  [dim]{escape(spec)}: {escape(reason)}[/dim]"
    return text


@click.command("verify")
@click.argument("targets", nargs=-1)
@snapshot_option
@targets_file_option
@platform_option
@build_platform_option
@mode_option
@available_option(
    "What already exists: repodata.json, channel dir or URL (e.g. https://conda.anaconda.org/conda-forge)."
)
@ignore_option
@click.option(
    "--python", "python", multiple=True, metavar="SPEC", help="Python variant(s) to check (default: the pinning's)."
)
@click.option("--minimal/--no-minimal", default=True, show_default=True, help="Also check each build is needed.")
@click.option("--strict", is_flag=True, help="Exit 1 when something does not solve.")
@format_option("table", "json")
def verify_command(
    targets: tuple[str, ...],
    snapshot_path: Path | None,
    targets_file: Path | None,
    platform: str,
    build_platform: str | None,
    mode: str,
    available: tuple[str, ...],
    ignore: tuple[str, ...],
    python: tuple[str, ...],
    minimal: bool,
    strict: bool,
    fmt: str,
) -> None:
    """Solve TARGETS (default: the seed's build tools) and every planned build's environments against the
    channel the plan would create (existing packages + noarch builds + the planned builds)."""
    snap = load_snapshot(snapshot_path)
    check_targets(snap, targets)
    _, v = run_verify(
        snap, resolve_targets(targets, targets_file), platform, build_platform, mode, available, ignore, python, minimal
    )
    if fmt == "json":
        click.echo(json.dumps({"schema": "newarch.verify/1", **v.to_json()}, indent=2))
    else:
        print_verification(v)
    if strict and not v.ok:
        sys.exit(1)


def register(group: click.Group) -> None:
    group.add_command(verify_command)
