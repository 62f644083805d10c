"""Migration files from a plan: the bot's target list, a conda-forge.yml diff and a PR body per feedstock.

Layout of the output directory::

    migration_support/<platform_key>.txt   minimal sorted target list (like conda-forge-pinning's)
    patches/<feedstock>.diff                the conda-forge.yml change (unified diff)
    prs/<feedstock>.md                      a short PR body: why, what it unblocks, cross or native, lints
    README.md                               what was written and what was skipped

Everything is a function of the inputs (no wall-clock time), so reruns give identical files. The files
are written into a temporary directory first and moved into place, so an error leaves nothing half
written.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from newarch.status.cfyml import CfYmlChange, change_from_settings, plan_change, platform_key
from newarch.errors import NewarchError
from newarch.files import read_text
from newarch.plan.explain import why
from newarch.model import Finding
from newarch.plan.planner import Plan
from newarch.store.snapshot import Snapshot
from newarch.status.states import FeedstockStatus

MARKER = ".newarch-migrate"


def read_targets_file(path: str | Path) -> list[str]:
    """Feedstock names from a target list: one a line, ``#`` comments and blank lines ignored."""
    p = Path(path)
    text = read_text(p, "targets file")
    names: list[str] = []
    for lineno, line in enumerate(text.splitlines(), 1):
        item = line.split("#", 1)[0].strip()
        if not item:
            continue
        if any(c.isspace() for c in item):
            raise NewarchError(f"expected one feedstock name per line, got {item!r}", str(p), lineno)
        names.append(item[: -len("-feedstock")] if item.endswith("-feedstock") else item)
    return list(dict.fromkeys(names))


def minimal_targets(plan: Plan) -> list[str]:
    """The planned feedstocks no other planned feedstock needs: listing them brings in all the others.

    Feedstocks in a dependency cycle that nothing outside needs are represented by one member (a
    target when the cycle has one, else the first by name).
    """
    import networkx as nx

    g: nx.DiGraph[str] = nx.DiGraph()
    g.add_nodes_from(plan.feedstocks)
    for f in plan.feedstocks.values():
        g.add_edges_from((n, f.name) for n in f.needs if n in plan.feedstocks and n != f.name)
    cond = nx.condensation(g)
    targets = set(plan.targets)
    out: list[str] = []
    for node in cond.nodes:
        if cond.out_degree(node) == 0:
            members = sorted(cond.nodes[node]["members"])
            preferred = [m for m in members if m in targets]
            jid = (preferred or members)[0]
            out.append(plan.feedstocks[jid].feedstock or jid)  # the list names feedstocks, not branch jobs
    return sorted(set(out))


def describe_command(plan: Plan, extra: str = "", targets: list[str] | None = None) -> str:
    """The command line that reproduces the plan (no paths that change between machines).

    ``targets`` are the names given on the command line (default: the plan's targets); ``extra`` is
    appended (e.g. ``--targets-file win_arm64.txt``).
    """
    given = plan.targets if targets is None else targets
    parts = ["newarch migrate", *given, "--platform", plan.pair.target, "--build-platform", plan.pair.build]
    if plan.options.mode != "auto":
        parts += ["--mode", plan.options.mode]
    for name in sorted(plan.options.ignore):
        parts += ["--ignore", name]
    return " ".join(parts) + (f" {extra}" if extra else "")


def snapshot_label(snapshot: Snapshot) -> str:
    origin = Path(snapshot.origin.strip("<>").split()[-1]).name if snapshot.origin else ""
    date = snapshot.date or "undated"
    return f"{date} ({origin})" if origin else date


def unresolved_targets(plan: Plan) -> list[str]:
    """Targets the plan could not resolve (not in the snapshot, or not rendered for the platform)."""
    targets = set(plan.targets)
    return sorted({u.name for u in plan.unknown if "target" in u.needed_by and u.name in targets})


def target_list_text(plan: Plan, snapshot: Snapshot, command: str) -> str:
    names = minimal_targets(plan)
    unknown = [n for n in unresolved_targets(plan) if n not in names]
    header = [
        f"# {plan.pair.target} migration targets, made by newarch from its plan.",
        f"# command: {command}",
        f"# snapshot: {snapshot_label(snapshot)}",
        f"# {len(names)} targets: the planned feedstocks nothing else in the plan needs; listing them brings in",
        f"# their dependencies, {len(plan.feedstocks)} planned feedstocks in all.",
    ]
    if unknown:
        header.append(f"# {len(unknown)} more kept as given, the snapshot cannot plan them: {' '.join(unknown)}")
    return "\n".join(header + sorted(names + unknown)) + "\n"


@dataclass(slots=True)
class MigrationFiles:
    files: dict[str, str] = field(default_factory=dict)  # relative path -> text
    changes: dict[str, CfYmlChange] = field(default_factory=dict)  # feedstock -> change
    skipped: dict[str, str] = field(default_factory=dict)  # feedstock -> why no patch
    notes: list[str] = field(default_factory=list)


def _finding_line(f: Finding) -> str:
    where = f" (`{f.file}:{f.line}`)" if f.file and f.line else (f" (`{f.file}`)" if f.file else "")
    fix = f" Fix: {f.fix}" if f.fix else ""
    return f"- **{f.severity}** `{f.rule}`{where}: {f.message}.{fix}".replace("..", ".")


def pr_body(
    plan: Plan, snapshot: Snapshot, name: str, change: CfYmlChange, status: FeedstockStatus | None, command: str
) -> str:
    pf = plan.feedstocks[name]
    pair = plan.pair
    lines: list[str] = []
    how = f"cross-compiled on {pair.build}" if pf.mode == "cross" else f"built natively on {pair.target}"
    lines.append(f"# Build {name} for {pair.target} ({how})")
    lines.append("")
    lines.append(
        f"This adds `{pair.target}` to the platforms of this feedstock ("
        + ", ".join(f"`{s.describe()}`" for s in change.added)
        + " in `conda-forge.yml`), "
        "then the feedstock needs a rerender."
    )
    lines.append("")
    lines.append("## Why it is needed")
    lines.append("")
    chains = why(plan, name, limit=2)
    if chains:
        for chain in chains:
            lines.append(f"- `{' -> '.join(chain.feedstocks)}`")
            for e in chain.edges:
                lines.append(f"  - {e.label()}")
    else:
        lines.append(f"- `{' -> '.join(pf.why) or name}`")
    lines.append("")
    lines.append("## What it unblocks")
    lines.append("")
    direct = sorted(f.name for f in plan.feedstocks.values() if name in f.needs and f.name != name)
    if direct:
        lines.append(f"Directly needed by {len(direct)} planned feedstock(s): " + ", ".join(direct) + ".")
    else:
        lines.append("No other planned feedstock needs it (it is a target, or needed only by targets' noarch parts).")
    lines.append(f"In all, {pf.unblocks} planned feedstock(s) wait for it.")
    if status is not None and status.missing_parents:
        lines.append("")
        lines.append("Build these first (needed and not done yet): " + ", ".join(status.missing_parents) + ".")
    lines.append("")
    lines.append("## Cross or native")
    lines.append("")
    lines.append(f"{pf.mode}: {pf.mode_reason}" if pf.mode_reason else pf.mode)
    lines.append("")
    lines.append("## Cross-readiness findings")
    lines.append("")
    findings = status.findings if status is not None else []
    if findings:
        order = {"error": 0, "warning": 1, "info": 2}
        for f in sorted(findings, key=lambda f: (order.get(f.severity, 3), f.rule, f.file, f.line)):
            lines.append(_finding_line(f))
    else:
        lines.append("None found.")
    lines.append("")
    lines.append("## The change")
    lines.append("")
    if change.synthesized:
        lines.append(
            "Computed from the settings recorded in the snapshot (no checkout was given); "
            "the context lines may differ from the real file."
        )
        lines.append("")
    lines.append("```diff")
    lines.append(change.diff(header_comment=False).rstrip("\n"))
    lines.append("```")
    lines.append("")
    lines.append(f"<sub>Made by `{command}` from snapshot {snapshot_label(snapshot)}.</sub>")
    return "\n".join(lines) + "\n"


def feedstock_texts(paths: list[Path]) -> dict[str, tuple[str, str]]:
    """feedstock name -> (conda-forge.yml text, origin) from checkouts or mirrors (see ``--feedstocks``)."""
    from newarch.sources.recipes import discover, feedstock_name, open_source

    out: dict[str, tuple[str, str]] = {}
    for p in discover(list(paths)):
        name = feedstock_name(p)
        if name in out:
            continue
        yml = p / "conda-forge.yml"
        if yml.is_file():
            out[name] = (yml.read_text(encoding="utf-8"), str(yml))
            continue
        src = open_source(p)
        text = src.conda_forge_yml.decode("utf-8") if src.conda_forge_yml else ""
        out[name] = (text, f"{src.origin}:conda-forge.yml")
    return out


def build_migration(
    snapshot: Snapshot,
    plan: Plan,
    statuses: dict[str, FeedstockStatus],
    command: str,
    texts: dict[str, tuple[str, str]] | None = None,
) -> MigrationFiles:
    """All files for ``plan``. ``texts`` gives real conda-forge.yml texts; others are synthesized."""
    texts = texts or {}
    result = MigrationFiles()
    key = platform_key(plan.pair.target)
    result.files[f"migration_support/{key}.txt"] = target_list_text(plan, snapshot, command)
    for name, pf in sorted(plan.feedstocks.items()):
        st = statuses.get(name)
        if st is not None and st.state in ("done", "configured"):
            result.skipped[name] = f"done ({st.done_by or st.reason})"
            continue
        build = plan.pair.build if pf.mode == "cross" else plan.pair.target
        fname = pf.feedstock or name  # the job's feedstock (a release-branch job: feedstock@branch)
        if name in texts or (pf.branch == "main" and fname in texts):
            text, origin = texts.get(name) or texts[fname]
            change = plan_change(fname, text, plan.pair.target, build, pf.mode, origin=origin)
        else:
            fs = snapshot.feedstocks.get(fname)
            if fs is None:
                result.skipped[name] = "not in the snapshot"
                continue
            change = change_from_settings(fname, fs.settings, plan.pair.target, build, pf.mode)
        if not change.changed:
            result.skipped[name] = "; ".join(change.notes) or "nothing to change"
            continue
        result.changes[name] = change
        result.files[f"patches/{name}.diff"] = change.diff()
        result.files[f"prs/{name}.md"] = pr_body(plan, snapshot, name, change, st, command)
    result.files["README.md"] = _readme(plan, snapshot, command, result, key)
    return result


def _readme(plan: Plan, snapshot: Snapshot, command: str, result: MigrationFiles, key: str) -> str:
    synth = sorted(n for n, c in result.changes.items() if c.synthesized)
    lines = [
        f"# {plan.pair.target} migration files",
        "",
        f"Made by `{command}` from snapshot {snapshot_label(snapshot)}.",
        "",
        f"- `migration_support/{key}.txt`: {len(minimal_targets(plan))} targets covering "
        f"{len(plan.feedstocks)} planned feedstocks.",
        f"- `patches/`, `prs/`: {len(result.changes)} feedstocks to change "
        f"({sum(1 for c in result.changes.values() if c.mode == 'cross')} cross, "
        f"{sum(1 for c in result.changes.values() if c.mode == 'native')} native).",
    ]
    if synth:
        lines.append(
            f"- {len(synth)} diffs are synthesized from the snapshot's recorded settings (no checkout "
            "given with --feedstocks): apply them by running `newarch migrate --apply` on the checkouts."
        )
    if plan.toolchain:
        lines += [
            "",
            f"Build-platform toolchain packages the plan needs on {plan.pair.build} (not migrated by these files):",
            "",
        ]
        for t in plan.toolchain:
            lines.append(
                f"- {t.name} ({t.platform}), needed by {', '.join(t.needed_by[:8])}"
                + (f" — resolved by building {t.resolved_by}" if t.resolved_by else "")
            )
    if result.skipped:
        lines += ["", "No change written for:", ""]
        lines += [f"- {n}: {why_}" for n, why_ in sorted(result.skipped.items())]
    for note in result.notes:
        lines += ["", note]
    return "\n".join(lines) + "\n"


def write_tree(out_dir: Path, files: dict[str, str]) -> None:
    """Replace ``out_dir`` with exactly ``files``, all or nothing."""
    out_dir = Path(out_dir)
    if out_dir.exists():
        if not out_dir.is_dir():
            raise NewarchError("output path exists and is not a directory", str(out_dir))
        if any(out_dir.iterdir()) and not (out_dir / MARKER).exists():
            raise NewarchError(
                "output directory is not empty and was not made by 'newarch migrate'; choose another --out",
                str(out_dir),
            )
    parent = out_dir.resolve().parent
    parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.", dir=parent))
    old: Path | None = None
    try:
        for rel, text in sorted(files.items()):
            path = tmp / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8", newline="")
        (tmp / MARKER).write_text("made by newarch migrate; the whole directory is replaced on the next run\n")
        os.chmod(tmp, 0o755)
        if out_dir.exists():
            old = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.old.", dir=parent))
            os.rmdir(old)
            os.replace(out_dir, old)
        os.replace(tmp, out_dir)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        if old is not None and old.exists() and not out_dir.exists():
            os.replace(old, out_dir)
        raise
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)
