"""``newarch plan``, ``newarch why NAME``, ``newarch why-not NAME``."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any
from collections.abc import Callable

import click

from newarch.commands.options import (
    available_option,
    build_platform_option,
    check_name,
    check_targets,
    ignore_option,
    mode_option,
    build_for,
    format_option,
    load_snapshot,
    platform_option,
    resolve_targets,
    snapshot_option,
    targets_file_option,
)


def _plan_options(f: Callable[..., Any]) -> Callable[..., Any]:
    """The options of plan / why / why-not; the command takes their values as ``**plan_args`` and hands
    them to :func:`_make_plan` whole."""
    f = ignore_option(f)
    f = available_option(
        "What already exists on the target: repodata.json, channel dir/URL, or a text "
        "file of package names (repeatable)."
    )(f)
    f = click.option(
        "--available-build",
        "available_build",
        multiple=True,
        metavar="FILE|URL",
        help="What exists on the build platform: repodata.json, channel dir/URL, or a text file of package "
        "names (repeatable). Without it, a build dependency the snapshot does not render for the build "
        "platform is reported as unknown there.",
    )(f)
    f = click.option(
        "--python",
        "pythons",
        multiple=True,
        metavar="X.Y",
        help="Cover only these python variants (repeatable; default: the pinning's for the target plus the "
        "ones feedstocks' migrations render that a python build serves).",
    )(f)
    f = mode_option(f)
    f = build_platform_option(f)
    f = platform_option(f)
    f = targets_file_option(f)
    f = snapshot_option(f)
    return f


def _make_plan(
    snapshot_path: Path | None,
    targets: tuple[str, ...],
    targets_file: Path | None,
    platform: str,
    build_platform: str | None,
    mode: str,
    available: tuple[str, ...],
    ignore: tuple[str, ...],
    pythons: tuple[str, ...] = (),
    available_build: tuple[str, ...] = (),
):
    from newarch.plan.planner import PlanOptions, make_plan

    snap = load_snapshot(snapshot_path)
    check_targets(snap, targets)
    build = build_for(snap, platform, build_platform)
    names: set[str] = set()
    on_build: set[str] | None = None
    if available or available_build:
        from newarch.sources.availability import load_available

        if available:
            names = load_available(list(available), platform)
        if available_build:
            on_build = load_available(list(available_build), build)
    opts = PlanOptions(
        resolve_targets(targets, targets_file),
        platform,
        build,
        mode,
        names,
        set(ignore),
        pythons=tuple(pythons),
        available_build=on_build,
    )
    try:
        return snap, make_plan(snap, opts)
    except ValueError as e:  # an unknown --python variant
        raise click.UsageError(str(e)) from None


# -- plan ---------------------------------------------------------------------------------------


def _target_line(plan, target: str) -> str:
    """Where a target ends up: a planned feedstock (wave, mode), noarch (built elsewhere), or not planned."""
    outs = [o for t, o in plan.roots if t == target]
    where: list[str] = []
    for o in outs or [target]:
        fs = next((f for f in plan.feedstocks.values() if o in f.outputs or f.name == o), None)
        if fs is not None:
            where.append(f"{fs.name} wave {fs.wave} ({fs.mode})")
        elif o in plan.noarch:
            where.append(f"{o} noarch (built elsewhere; its run deps are planned)")
    if not where:
        u = next((u for u in plan.unknown if u.name == target), None)
        where.append(f"not planned: {u.reason}" if u else "not planned (see newarch why-not)")
    return f"{target} -> {', '.join(dict.fromkeys(where))}"


def _mode_cell(plan, f) -> str:
    return f.mode + ("" if f.mode == "cross" or plan.options.mode == "native" else " *")


def _python_line(plan) -> str:
    """Which python variants the plan covers (and which rendered ones it leaves out)."""
    from newarch.plan.specs import py_minor

    covered = ", ".join(py_minor(v) for v in plan.python_variants) or "none"
    how = "--python" if plan.options.pythons else "pinning + migrations"
    text = f"python variants: {covered} ({how})"
    if plan.python_left_out:
        left = "; ".join(f"{m} (rendered by {', '.join(fs)})" for m, fs in plan.python_left_out.items())
        text += f"; left out (no python build for {plan.pair.target}, or free-threading): {left}"
    return text


def _gap_lines(plan) -> list[str]:
    """One line per gap; gaps that differ only in who asks (python 3.10-3.13 asked by 150 jobs when no
    python branch is rendered) share one line naming the first askers (--format json lists each)."""
    groups: dict[tuple, list] = {}
    for g in plan.gaps:
        key = (g.name, g.feedstock, tuple(g.python), tuple(g.versions_available), g.suggestion)
        groups.setdefault(key, []).append(g)
    lines: list[str] = []
    for (name, fs, py, have, sug), gs in groups.items():
        if len(gs) < 4:
            lines += [f"{name}: {g.text()}" for g in gs]
            continue
        asks = "; ".join(f"{g.needed_by}:{g.output} '{g.spec}' ({g.section})" for g in gs[:3])
        pys = f" for python {', '.join(py)}" if py else ""
        tail = f"; {sug}" if sug else ""
        lines.append(
            f"{name}{pys}: {len(gs)} jobs ask for it ({asks}; …); {fs} builds {', '.join(have) or 'nothing'}{tail}"
        )
    return lines


def _name_cell(plan, f) -> str:
    return f.label + (f" (cycle {f.cycle + 1})" if f.cycle is not None else "")


# The plan table's columns: header -> (cell of a planned feedstock, rich column options). New columns
# (verified, branch, version, ...) are one entry here and one name in DEFAULT/VERBOSE_COLUMNS.
PLAN_COLUMNS: dict[str, tuple[Callable[[Any, Any], str], dict[str, Any]]] = {
    "name": (_name_cell, {"no_wrap": True, "overflow": "ellipsis", "min_width": 8}),
    "wave": (lambda plan, f: str(f.wave), {"justify": "right"}),
    "mode": (_mode_cell, {"no_wrap": True}),
    "needs": (lambda plan, f: ", ".join(f.needs) or "-", {"ratio": 2}),
    "unblocks": (lambda plan, f: str(f.unblocks), {"justify": "right"}),
    "why": (lambda plan, f: " > ".join(f.why), {"ratio": 3}),
    # plan --verify: "ok" when the job's host envs (and a native job's build envs and builder) solve, else
    # "N fail": how many distinct specs fail there; filled from the verification (plan_table's argument)
    "verified": (lambda plan, f: "-", {"no_wrap": True}),
}
DEFAULT_COLUMNS: tuple[str, ...] = ("name", "wave", "mode", "why")
VERBOSE_COLUMNS: tuple[str, ...] = ("name", "wave", "mode", "unblocks", "needs", "why")


def with_verified(columns: tuple[str, ...]) -> tuple[str, ...]:
    """``columns`` with ``verified`` before ``why`` (plan --verify)."""
    at = columns.index("why") if "why" in columns else len(columns)
    return (*columns[:at], "verified", *columns[at:])


def plan_table(plan, columns: tuple[str, ...] | list[str], verification: Any = None):
    """The plan as a Rich table with ``columns`` (keys of :data:`PLAN_COLUMNS`); every cell plain text.
    ``verification``: the plan's ``newarch.verify`` result, for the ``verified`` column."""
    from newarch.report.console import add_row, table

    cells = {c: PLAN_COLUMNS[c][0] for c in columns}
    if verification is not None and "verified" in cells:
        from newarch.commands.verify_cmd import job_verdicts

        verdicts = job_verdicts(verification)
        cells["verified"] = lambda plan, f: verdicts.get(f.name, ("ok", []))[0]  # no env to solve: ok
    t = table([(c, PLAN_COLUMNS[c][1]) for c in columns])
    for f in plan.feedstocks.values():
        add_row(t, *(cells[c](plan, f) for c in columns))
    return t


def _print_table(plan, verbose: bool = False, verification: Any = None) -> None:
    from newarch.report.console import esc, line, make_console, para

    console = make_console()
    n = len(plan.feedstocks)
    modes = {m: sum(1 for f in plan.feedstocks.values() if f.mode == m) for m in ("cross", "native")}
    console.print(
        f"[bold]Plan[/bold] for {esc(', '.join(plan.targets))} on [bold]{esc(plan.pair)}[/bold] "
        f"(mode {plan.options.mode}; snapshot {esc(plan.snapshot.date or plan.snapshot.origin)})"
    )
    para(console, _python_line(plan))
    columns = VERBOSE_COLUMNS if verbose else DEFAULT_COLUMNS
    if verification is not None:
        columns = with_verified(columns)
    console.print(plan_table(plan, columns, verification))
    line(
        console,
        f"{n} feedstocks in {len(plan.waves)} waves: {modes['cross']} cross, {modes['native']} native; "
        f"{len(plan.noarch)} noarch outputs needed (built elsewhere); "
        f"{len(plan.snapshot.feedstocks) - n} of {len(plan.snapshot.feedstocks)} snapshot feedstocks pruned "
        "(newarch why-not NAME)",
    )
    console.print("[bold]targets[/bold]: " + esc("; ".join(_target_line(plan, t) for t in plan.targets)))
    natives = [f for f in plan.feedstocks.values() if f.mode == "native" and plan.options.mode == "auto"]
    if natives:
        console.print("[bold]* native[/bold] (auto mode):")
        reasons: dict[str, list[str]] = {}
        for f in natives:
            reasons.setdefault(f.mode_reason, []).append(f.name)
        for reason, names in sorted(reasons.items()):
            para(console, f"  {', '.join(names)}: {reason}")
    if plan.critical_path:
        console.print(f"[bold]critical path[/bold] ({len(plan.critical_path)}): {esc(' -> '.join(plan.critical_path))}")
    if plan.toolchain:
        console.print(f"[bold]toolchain[/bold] missing or unknown on {esc(plan.pair.build)}:")
        for t in plan.toolchain:
            how = " (these build natively instead)" if t.resolved_by == "native" else ""
            state = "" if t.status == "missing" else " [unknown there: --available-build decides]"
            para(console, f"  {t.name}{state}: needed by {', '.join(t.needed_by)}{how}")
    if plan.gaps:
        console.print(f"[bold]gaps[/bold] ({len(plan.gaps)}: specs no branch satisfies; newarch why NAME):")
        for text in _gap_lines(plan):
            para(console, f"  {text}")
    if plan.unknown:
        console.print("[bold]unknown[/bold] (nobody provides them for this platform):")
        for u in plan.unknown:
            para(console, f"  {u.name} ({u.kind}): needed by {', '.join(u.needed_by)} — {u.reason}")
    for i, c in enumerate(plan.cycles):
        breaks = ", ".join(f"{a} -> {b}" for a, b in c.suggested_breaks)
        console.print(
            f"[bold]cycle {i + 1}[/bold]: {esc(', '.join(c.members))}; break: {esc(breaks)} ({esc(c.break_reason)})"
        )
    for ch in plan.choices:
        console.print(f"[dim]choice: {esc(ch.reason)}[/dim]")
    tp = plan.tipping_point_wave
    tools = "; ".join(
        f"{k}: {'wave ' + str(v['wave']) if v['wave'] is not None else 'not reachable'}"
        for k, v in plan.tipping_point.get("tools", {}).items()
    )
    if tp == -1:
        console.print(
            f"[bold]tipping point[/bold]: native builds are possible from the start: "
            f"{plan.tipping_point.get('reason', '')} ({tools})"
        )
    elif tp is None:
        console.print(
            f"[bold]tipping point[/bold]: none — conda, conda-build/rattler-build and ninja never all "
            f"exist on {esc(plan.pair.target)} ({esc(tools)})"
        )
    else:
        extra = plan.tipping_point.get("extra_feedstocks") or []
        more = f"; needs {len(extra)} feedstock(s) outside the plan: {', '.join(extra)}" if extra else ""
        console.print(
            f"[bold]tipping point[/bold]: after wave {tp} native builds are possible ({esc(tools)}){esc(more)}"
        )


def _dot(plan) -> str:
    lines = ["digraph plan {", "  rankdir=LR;", "  node [shape=box];"]
    for w, names in enumerate(plan.waves):
        lines.append(f"  subgraph wave{w} {{ rank=same; " + " ".join(json.dumps(n) for n in names) + " }")
    for f in plan.feedstocks.values():
        attrs = " style=dashed" if f.mode == "native" else ""
        lines.append(f"  {json.dumps(f.name)} [label={json.dumps(f'{f.name} (w{f.wave})')}{attrs}];")
        for d in f.needs:
            secs = sorted({e.section for e in f.need_edges.get(d, ())})
            lines.append(f"  {json.dumps(d)} -> {json.dumps(f.name)} [label={json.dumps(','.join(secs))}];")
    lines.append("}")
    return "\n".join(lines)


def _mermaid(plan) -> str:
    ids = {n: f"n{i}" for i, n in enumerate(plan.feedstocks)}
    lines = ["flowchart LR"]
    for f in plan.feedstocks.values():
        label = f"{f.name} w{f.wave}".replace('"', "'")
        lines.append(f'  {ids[f.name]}["{label}"]')
    for f in plan.feedstocks.values():
        for d in f.needs:
            lines.append(f"  {ids[d]} --> {ids[f.name]}")
    return "\n".join(lines)


@click.command("plan")
@click.argument("targets", nargs=-1)
@_plan_options
@format_option("table", "json", "dot", "mermaid")
@click.option("-v", "--verbose", is_flag=True, help="Table with every column (needs, unblocks).")
@click.option(
    "--strict",
    is_flag=True,
    help="Exit 1 when the plan has gaps (specs no branch satisfies), unknown names or missing toolchain.",
)
@click.option(
    "--verify",
    "do_verify",
    is_flag=True,
    help="Also solve the targets and every planned build against the channel the plan would create "
    "(adds a 'verified' block to JSON; see newarch verify).",
)
def plan_command(
    targets: tuple[str, ...],
    fmt: str,
    verbose: bool,
    strict: bool,
    do_verify: bool = False,
    **plan_args: Any,
) -> None:
    """The minimal set of feedstocks to build for TARGETS (default: the seed's build tools), in waves."""
    snap, plan = _make_plan(targets=targets, **plan_args)
    verified = _verify_plan(snap, plan, plan_args["available"]) if do_verify else None
    if fmt == "json":
        if verified is not None:
            click.echo(json.dumps({**plan.to_json(), "verified": verified.to_json()}, indent=2))
            return
        click.echo(plan.dumps())
    elif fmt == "dot":
        click.echo(_dot(plan))
    elif fmt == "mermaid":
        click.echo(_mermaid(plan))
    else:
        _print_table(plan, verbose, verified)
        if verified is not None:
            from newarch.commands.verify_cmd import print_plan_verification

            print_plan_verification(verified)
    if strict and (plan.gaps or plan.unknown or plan.toolchain):
        raise SystemExit(1)


def _verify_plan(snap, plan, available: tuple[str, ...]):
    """The plan checked with the solver (newarch.verify)."""
    from newarch.sources.availability import Availability, load_availability
    from newarch.verify.channel import planned_builds
    from newarch.verify.checks import verify

    avail = load_availability(list(available), plan.pair.target, plan.pair.build) if available else Availability()
    return verify(snap, plan.pair, plan.roots, planned_builds(plan), avail)


# -- why / why-not ------------------------------------------------------------------------------


def _target_option(f: Callable[..., Any]) -> Callable[..., Any]:
    """``NAME [TARGETS]...``: targets are positional as in ``plan``; ``--target`` stays as a hidden alias."""
    f = click.option("--target", "target_opts", multiple=True, metavar="NAME", hidden=True)(f)
    return click.argument("targets", nargs=-1)(f)


def _plan_naming(name: str, targets: tuple[str, ...], target_opts: tuple[str, ...], plan_args: dict[str, Any]):
    """(snapshot, plan) for why / why-not NAME: the positional and ``--target`` targets once each, and
    NAME checked against the plan and the snapshot."""
    snap, plan = _make_plan(targets=tuple(dict.fromkeys(targets + target_opts)), **plan_args)
    _check_name(snap, plan, name)
    return snap, plan


def _check_name(snap, plan, name: str) -> None:
    """A name the plan itself mentions (a job, a missing toolchain, an unknown, a gap) is known even when no
    snapshot feedstock produces it (``cross-python_win-arm64``); anything else must be in the snapshot."""
    mentioned = (
        set(plan.feedstocks)
        | {t.name for t in plan.toolchain}
        | {u.name for u in plan.unknown}
        | {g.name for g in plan.gaps}
    )
    if name not in mentioned:
        check_name(snap, name)


# why-not codes for something the plan needs but cannot plan a build of
NOT_PLANNED = ("gap", "toolchain", "absent", "unrendered", "skipped")


def _askers(plan, code: str, name: str, fname: str) -> list[str]:
    """Planned jobs that ask for what ``why NAME`` could not plan (their chains show where it is needed)."""
    names = {name, fname}
    if code == "gap":
        found = [g.job for g in plan.gaps if g.name in names or g.feedstock in names]
    elif code == "toolchain":
        found = [j for t in plan.toolchain if t.name in names for j in t.needed_by]
    else:
        found = [w for u in plan.unknown if u.name in names for w in u.needed_by]
    return [j for j in dict.fromkeys(found) if j in plan.feedstocks or j in plan.noarch]


@click.command("why")
@click.argument("name")
@_target_option
@_plan_options
@format_option("table", "json")
def why_command(
    name: str,
    targets: tuple[str, ...],
    target_opts: tuple[str, ...],
    fmt: str,
    **plan_args: Any,
) -> None:
    """The shortest chain(s) from TARGETS (default: the seed's build tools) to feedstock NAME, each edge
    with its reason."""
    from newarch.plan.explain import why, why_not

    snap, plan = _plan_naming(name, targets, target_opts, plan_args)
    chains = why(plan, name)
    if fmt == "json":
        doc: dict[str, Any] = {
            "schema": "newarch.why/1",
            "name": name,
            "platform": plan.pair.target,
            "build_platform": plan.pair.build,
            "chains": [c.to_json() for c in chains],
        }
        if not chains:
            doc["why_not"] = why_not(snap, plan, name).to_json()
        click.echo(json.dumps(doc, indent=2))
        return
    from newarch.report.chains import edge_reason
    from newarch.report.console import make_console, para

    console = make_console()
    if not chains:
        w = why_not(snap, plan, name)
        if w.code in NOT_PLANNED:
            para(console, f"{name}: not planned [{w.code}]: {w.text}")
            for d in w.details:
                para(console, f"  also: {d}")
            for asker in _askers(plan, w.code, name, w.name)[:1]:
                for c in why(plan, asker, limit=1):
                    path = " -> ".join(c.path)
                    para(console, f"  asked by {asker}: {path}" if path != asker else f"  asked by {asker} (a target)")
        else:
            para(console, f"{name} is not needed for {', '.join(plan.targets)} on {plan.pair} [{w.code}]: {w.text}")
        return
    fs = plan.feedstocks.get(name)
    nodes = [n for n in plan.noarch.values() if n.name == name or n.feedstock == name]
    if fs:
        head = f"{fs.label}: wave {fs.wave}, {fs.mode} ({fs.mode_reason})"
    elif nodes:
        pys = ", ".join(sorted({p for n in nodes for p in n.pythons}))
        head = f"{name}: noarch (built once elsewhere; its run deps are planned{'; python ' + pys if pys else ''})"
    else:
        jobs = plan.jobs_of(name)
        head = (
            f"{name}: planned as " + "; ".join(f"{j.label} (wave {j.wave}, {j.mode})" for j in jobs) if jobs else name
        )
    para(console, head)
    fname = fs.feedstock if fs else plan.index.resolve(name).feedstock or name
    for g in plan.gaps:
        if g.name == name or g.feedstock == fname:
            para(console, f"  gap: {g.text()}")
    for i, c in enumerate(chains, 1):
        para(console, f"chain {i}: {' -> '.join(c.path)}")
        para(console, f"  target {c.target}")
        for e in c.edges:
            para(console, f"  {e.src_feedstock}: output {e.output} needs {edge_reason(e)} -> {e.dst_feedstock or '?'}")


@click.command("why-not")
@click.argument("name")
@_target_option
@_plan_options
@format_option("table", "json")
@click.option("-v", "--verbose", is_flag=True, help="Every reason as the planner gives it (default: grouped).")
def why_not_command(
    name: str,
    targets: tuple[str, ...],
    target_opts: tuple[str, ...],
    fmt: str,
    verbose: bool,
    **plan_args: Any,
) -> None:
    """Why feedstock NAME is not in the plan for TARGETS (default: the seed's build tools)."""
    from newarch.plan.explain import why_not

    snap, plan = _plan_naming(name, targets, target_opts, plan_args)
    w = why_not(snap, plan, name)
    if fmt == "json":
        doc = {"schema": "newarch.why-not/1", "platform": plan.pair.target, "build_platform": plan.pair.build}
        click.echo(json.dumps({**doc, **w.to_json()}, indent=2))
        return
    from newarch.report.console import make_console, para

    console = make_console()
    para(console, f"{w.name or name} [{w.code}]: {w.text}")
    groups = group_by_python(w.details[1:]) if not verbose else [(d, []) for d in w.details[1:]]
    for text, versions in groups:
        para(console, f"  also: {text.replace('python X.Y', 'python ' + '/'.join(versions))}")
    if len(groups) < len(w.details[1:]):
        para(console, f"  ({len(w.details) - 1} reasons, grouped where only the python version differs; -v lists each)")


_PY_VERSION = re.compile(r"\bpython (\d+\.\d+)\.\* \S+")


def group_by_python(details: list[str]) -> list[tuple[str, list[str]]]:
    """Reasons that differ only by the python version they name, as one reason with the versions listed
    (``python 3.10.* *_cpython`` / ``python 3.11.* *_cpython`` -> ``python X.Y`` + ``3.10, 3.11``)."""
    groups: dict[str, list[str]] = {}
    first: dict[str, str] = {}
    for d in details:
        versions = [m.group(1) for m in _PY_VERSION.finditer(d)]
        key = _PY_VERSION.sub("python X.Y", d) if len(versions) == 1 else d
        groups.setdefault(key, []).extend(versions if len(versions) == 1 else [])
        first.setdefault(key, d)
    return [(key if len(v) > 1 else first[key], v) for key, v in groups.items()]


def register(group: click.Group) -> None:
    group.add_command(plan_command)
    group.add_command(why_command)
    group.add_command(why_not_command)
