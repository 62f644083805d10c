"""Migration status: one state per planned feedstock, totals, the remaining critical path, next steps.

The plan is made without ``--available`` (see :func:`plan_for_status`), so finished work stays in the
graph and shows as ``done``; the repodata only decides what is done and what can be installed.

States, in precedence order (the first that applies wins):

``done``
    *Built*: every output the plan needs from it is in the target's repodata (target subdir or
    noarch), or the bot's status file (``--bot-status``) lists it as ``done``, or its ``--prs`` entry
    has state ``merged``.
``configured``
    The feedstock's ``conda-forge.yml`` configures the platform (``build_platform`` or ``provider``
    has a ``win_arm64`` key) but no evidence above says it was built. Its dependents treat it as
    available (the CI builds it), and a planned parent of it that is not done carries a note.
``in-pr``
    Listed in ``--prs`` with an open state (``open``, ``draft`` or no state). ``closed`` entries are
    ignored (reported in the notes).
``blocked``
    The stored cross-readiness lint has an error-level finding for this platform pair (or the recipe
    could not be rendered for it): it cannot be built as is, whatever its parents do. Findings of
    cross-compile-only rules (``cross-python-missing``, ``build-tool-missing``) do not block a
    feedstock the plan builds natively; they are still listed.
``not-solvable``
    Only with repodata records for the target: every needed parent is done, but the environment the
    build needs on the target cannot be solved with that repodata. That environment is, for each
    variant of each non-noarch output the feedstock builds, its ``host`` requirements (plus ``build``
    when the plan builds it natively), without the feedstock's own outputs. Any failing variant makes
    the feedstock not-solvable; the missing/conflicting specs are named.
``ready``
    Every needed parent (planned feedstock in ``needs``) is done.
``awaiting-parents``
    Some needed parents are not done; they are named (``missing_parents``). A needed dependency
    that no feedstock can provide for the platform also keeps its dependents here (``unresolved``)
    unless it is in the target's repodata: names nobody produces (plan ``unknown`` of kind
    ``unknown``), names every feedstock skips for the platform (kind ``skipped``) unless some
    render of the snapshot makes them ``noarch`` (a noarch package built on another platform serves
    this one too, e.g. the ``m2-*`` packages), and names the output index gives to a feedstock that
    does not render them (kind ``unrendered``) unless that feedstock is itself planned (then it is
    the parent). Names from feedstocks outside the snapshot (kind ``external``) hold nothing back:
    the snapshot cannot tell. A plan ``gap`` (a spec no branch of the providing feedstock satisfies)
    keeps the job that asks it here too (``"openssl 3.5.* (gap)"``), unless the name is in the
    target's repodata or only noarch builds of it exist (the noarch channel keeps published versions,
    so another one may serve the spec: a note says so, the job is not held).

A planned item is a job (``openssl`` for main, ``openssl@3.5.x`` for a release branch): states are per
job; the feedstock's conda-forge.yml, stored lint findings and ``--prs`` entry (for ``main``) apply
to its jobs.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable, Iterable, Set as AbstractSet
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import networkx as nx

from newarch.sources.availability import Availability
from newarch.errors import NewarchError
from newarch.model import Finding, PlatformPair
from newarch.plan.planner import Plan, PlannedFeedstock, PlanOptions, make_plan
from newarch.store.snapshot import Snapshot
from newarch.verify.solve import SolveOutcome, solve_specs, solve_targets

STATES: tuple[str, ...] = ("done", "configured", "in-pr", "blocked", "not-solvable", "ready", "awaiting-parents")
OPEN_PR_STATES = frozenset({"", "open", "opened", "draft"})
MERGED_PR_STATES = frozenset({"merged"})
CLOSED_PR_STATES = frozenset({"closed"})
STATUS_SCHEMA = "newarch.status/1"
BLOCKING_UNKNOWN = frozenset({"unknown", "skipped", "unrendered"})
# Lint rules about cross-compiling only: they cannot block a feedstock the plan builds natively.
CROSS_ONLY_RULES = frozenset({"cross-python-missing", "build-tool-missing", "autotools-no-cc-for-build"})

Progress = Callable[[str], None]


@dataclass(frozen=True, slots=True)
class PullRequest:
    feedstock: str
    url: str
    state: str = ""  # "" | open | draft | merged | closed

    def to_dict(self) -> dict[str, str]:
        return {"url": self.url, "state": self.state}


@dataclass(slots=True)
class FeedstockStatus:
    name: str
    state: str
    reason: str
    wave: int
    unblocks: int
    needs: list[str]
    why: list[str]
    mode: str = ""
    missing_parents: list[str] = field(default_factory=list)
    unresolved: list[str] = field(default_factory=list)  # "name (kind)" of needed deps nobody can build
    findings: list[Finding] = field(default_factory=list)  # all stored findings for the pair
    pr: PullRequest | None = None
    solve: list[SolveOutcome] = field(default_factory=list)  # failing build environments
    done_by: str = ""  # "conda-forge.yml (cross)", "repodata", "merged PR"

    @property
    def errors(self) -> list[Finding]:
        """Error-level findings that apply to how the plan builds it (cross-only rules do not apply
        to a native build)."""
        return [
            f
            for f in self.findings
            if f.severity == "error" and not (self.mode == "native" and f.rule in CROSS_ONLY_RULES)
        ]

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {
            "name": self.name,
            "state": self.state,
            "reason": self.reason,
            "wave": self.wave,
            "unblocks": self.unblocks,
            "needs": list(self.needs),
            "why": list(self.why),
            "mode": self.mode,
            "missing_parents": list(self.missing_parents),
            "unresolved": list(self.unresolved),
            "findings": [f.to_dict() for f in self.findings],
        }
        if self.pr:
            d["pr"] = self.pr.to_dict()
        if self.solve:
            d["solve"] = [s.to_dict() for s in self.solve]
        if self.done_by:
            d["done_by"] = self.done_by
        return d


@dataclass(slots=True)
class StatusReport:
    plan: Plan
    feedstocks: dict[str, FeedstockStatus]  # in plan order (wave, name)
    critical_path: list[str]  # longest chain of not-done feedstocks ending at a target
    next_actions: list[dict[str, str]]
    installability: dict[str, SolveOutcome]
    availability: str = ""
    notes: list[str] = field(default_factory=list)
    configured: list[str] = field(default_factory=list)  # every snapshot feedstock configured for the platform

    @property
    def pair(self) -> PlatformPair:
        return self.plan.pair

    def totals(self) -> dict[str, int]:
        counts = {s: 0 for s in STATES}
        for st in self.feedstocks.values():
            counts[st.state] += 1
        return counts

    def to_json(self) -> dict[str, Any]:
        snap = self.plan.snapshot
        return {
            "schema": STATUS_SCHEMA,
            "platform": self.pair.target,
            "build_platform": self.pair.build,
            "targets": list(self.plan.targets),
            "snapshot": {"date": snap.date, "origin": snap.origin, "description": snap.description},
            "available": self.availability,
            "totals": self.totals(),
            "configured_in_snapshot": list(self.configured),
            "feedstocks": [s.to_dict() for s in self.feedstocks.values()],
            "critical_path": list(self.critical_path),
            "next_actions": list(self.next_actions),
            "installability": {t: o.to_dict() for t, o in self.installability.items()},
            "toolchain": [t.to_json() for t in self.plan.toolchain],
            "gaps": [g.to_json() for g in self.plan.gaps],
            "python_variants": list(self.plan.python_variants),
            "unknown": [u.to_json() for u in self.plan.unknown],
            "cycles": [list(c.members) for c in self.plan.cycles],
            "notes": list(self.notes),
        }


# -- inputs ---------------------------------------------------------------------------------------
def _pr_entry(name: str, value: Any, origin: str) -> PullRequest:
    if isinstance(value, str):
        return PullRequest(name, value, "")
    if isinstance(value, dict) and isinstance(value.get("url", ""), str):
        return PullRequest(name, str(value.get("url", "")), str(value.get("state", "") or "").lower())
    raise NewarchError(f'PR entry for {name!r} must be a URL string or {{"url": ..., "state": ...}}', origin)


def _strip(name: str) -> str:
    name = name.strip()
    return name[: -len("-feedstock")] if name.endswith("-feedstock") else name


def load_prs(path: str | Path) -> dict[str, PullRequest]:
    """``--prs``: JSON ``{feedstock: url}`` / ``{feedstock: {"url", "state"}}`` or CSV ``feedstock,url[,state]``."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise NewarchError(f"cannot read PR list ({getattr(exc, 'strerror', None) or exc})", str(p)) from None
    if text.lstrip().startswith(("{", "[")):
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise NewarchError(f"not valid JSON ({exc.msg})", str(p), exc.lineno) from None
        if not isinstance(data, dict):
            raise NewarchError("expected a JSON object {feedstock: url | {url, state}}", str(p))
        return {_strip(k): _pr_entry(_strip(k), v, str(p)) for k, v in data.items()}
    out: dict[str, PullRequest] = {}
    for lineno, row in enumerate(csv.reader(io.StringIO(text)), 1):
        if not row or not "".join(row).strip() or row[0].lstrip().startswith("#"):
            continue
        if lineno == 1 and row[0].strip().lower() == "feedstock":
            continue  # header
        if len(row) < 2 or len(row) > 3 or not row[0].strip():
            raise NewarchError("expected 'feedstock,url[,state]'", str(p), lineno)
        name = _strip(row[0])
        out[name] = PullRequest(name, row[1].strip(), row[2].strip().lower() if len(row) > 2 else "")
    return out


def plan_for_status(
    snapshot: Snapshot,
    targets: Iterable[str],
    platform: str,
    build_platform: str | None,
    mode: str = "auto",
    ignore: Iterable[str] = (),
) -> Plan:
    """The whole bring-up plan (availability deliberately not applied, so done work stays visible)."""
    return make_plan(snapshot, PlanOptions(list(targets), platform, build_platform, mode, set(), set(ignore)))


# -- the states -----------------------------------------------------------------------------------
def _stored_findings(snapshot: Snapshot, name: str, pair: PlatformPair) -> list[Finding]:
    fs = snapshot.feedstocks.get(name)
    render = fs.render_for(pair) if fs else None
    if render is None:
        return []
    findings = list(render.findings)
    if render.error and not any(f.rule == "render-failed" for f in findings):
        findings.append(
            Finding(
                "render-failed", "error", name, "", 0, render.error, "fix the recipe so it renders for this platform"
            )
        )
    return findings


def _noarch_somewhere(snapshot: Snapshot, name: str) -> bool:
    """Does a ``main`` render of any pair list ``name`` as noarch (skipped or not)? Asks only the
    feedstocks that produce the name."""
    return any(
        name in r.noarch_names(skipped=True)
        for f in snapshot.producers(name)
        if (fs := snapshot.feedstocks.get(f)) is not None
        for r in fs.renders.values()
    )


def unresolved_deps(snapshot: Snapshot, plan: Plan, available: set[str]) -> dict[str, list[str]]:
    """feedstock -> ``"name (kind)"`` of needed deps that nothing can provide (see the module docstring)."""
    out: dict[str, list[str]] = {}
    planned = {pf.feedstock or pf.name for pf in plan.feedstocks.values()}
    jobs: dict[str, list[str]] = {}
    for jid, pf in plan.feedstocks.items():
        jobs.setdefault(pf.feedstock or jid, []).append(jid)
    for u in plan.unknown:
        if u.kind not in BLOCKING_UNKNOWN or u.name in available:
            continue
        if u.kind == "skipped" and _noarch_somewhere(snapshot, u.name):
            continue
        if u.kind == "unrendered" and plan.index.resolve(u.name).feedstock in planned:
            continue
        for who in u.needed_by:  # feedstock names: every planned job of it
            for jid in jobs.get(who, [who]):
                out.setdefault(jid, []).append(f"{u.name} ({u.kind})")
    for g in plan.gaps:
        if g.name in available or g.noarch:  # noarch: see noarch_gap_notes
            continue
        py = f", python {', '.join(g.python)}" if g.python else ""
        item = f"{g.spec} (gap{py})"
        if item not in out.get(g.job, []):
            out.setdefault(g.job, []).append(item)
    return out


def build_environments(snapshot: Snapshot, pf: PlannedFeedstock, pair: PlatformPair) -> list[tuple[str, list[str]]]:
    """(label, specs) of each distinct target-side build environment of a planned job (the outputs of
    its branch the plan builds)."""
    outs = pf.outs
    if not outs:
        fs = snapshot.feedstocks.get(pf.feedstock or pf.name)
        render = fs.render_for(pair) if fs else None
        if render is None:
            return []
        outs = render.outputs
    own = {o.name for o in outs} | set(pf.outputs)
    sections = ("host", "build") if pf.mode == "native" else ("host",)
    envs: dict[tuple[str, ...], str] = {}
    for out in outs:
        if out.skip or out.noarch:
            continue
        specs = tuple(sorted({r.spec for s in sections for r in out.reqs(s) if r.name not in own}))
        if not specs or specs in envs:
            continue
        variant = ", ".join(f"{k}={v}" for k, v in sorted(out.variant.items()))
        envs[specs] = f"{out.name} ({variant})" if variant else out.name
    return [(label, list(specs)) for specs, label in envs.items()]


def _done(
    snapshot: Snapshot,
    pf: PlannedFeedstock,
    pair: PlatformPair,
    available: set[str],
    pr: PullRequest | None,
    bot_done: AbstractSet[str] = frozenset(),
) -> tuple[str, str]:
    """(state, evidence): ``done`` when seen built, ``configured`` when only conda-forge.yml says so."""
    needed = pf.needed_outputs or pf.outputs
    if available and needed and all(o in available for o in needed):
        return "done", "repodata"
    if (pf.feedstock or pf.name) in bot_done:
        return "done", "bot status"
    if pr and pr.state in MERGED_PR_STATES:
        return "done", "merged PR"
    fs = snapshot.feedstocks.get(pf.feedstock or pf.name)
    configured = fs.settings.configured(pair.target) if fs else ""
    if configured:
        return "configured", f"conda-forge.yml ({configured})"
    return "", ""


def compute_status(
    snapshot: Snapshot,
    plan: Plan,
    availability: Availability | None = None,
    prs: dict[str, PullRequest] | None = None,
    progress: Progress | None = None,
    bot_done: AbstractSet[str] = frozenset(),
    bot_origin: str = "",
) -> StatusReport:
    """The state of every planned feedstock (see the module docstring for the exact rules).
    ``bot_done``: feedstocks the bot's status file lists as done (``--bot-status``)."""
    pair = plan.pair
    prs = prs or {}
    tick = progress or (lambda _name: None)
    available = availability.available_on(pair.target) if availability else set()
    can_solve = bool(availability and availability.has_records(pair.target))
    notes = [
        f"PR for {n} is {pr.state}; ignored"
        for n, pr in sorted(prs.items())
        if pr.state in CLOSED_PR_STATES and n in plan.feedstocks
    ]
    notes += [f"--prs names {n}, which is not in the plan" for n in sorted(prs) if n not in plan.feedstocks]

    unresolved = unresolved_deps(snapshot, plan, available)
    notes += [
        f"{g.job} asks '{g.spec}' ({g.section}); no branch of {g.feedstock} builds it "
        f"({', '.join(g.versions_available)}), but {g.name} is noarch: a published build of another "
        "version may serve it (not checked; if the spec asks for a newer version than any recipe builds, "
        "the recipe must be updated first)" + (f"; {g.suggestion}" if g.suggestion else "")
        for g in plan.gaps
        if g.noarch and g.name not in available
    ]

    statuses: dict[str, FeedstockStatus] = {}
    for name, pf in plan.feedstocks.items():
        pr = prs.get(name) or (prs.get(pf.feedstock) if pf.branch == "main" else None)
        st = FeedstockStatus(
            name,
            "",
            "",
            pf.wave,
            pf.unblocks,
            list(pf.needs),
            list(pf.why),
            pf.mode,
            findings=_stored_findings(snapshot, pf.feedstock or name, pair),
            pr=pr if pr and pr.state not in CLOSED_PR_STATES else None,
        )
        state, st.done_by = _done(snapshot, pf, pair, available, pr, bot_done)
        if state:
            st.state, st.reason = state, f"{state}: {st.done_by}"
        statuses[name] = st

    for name, st in statuses.items():
        if st.state in ("done", "configured"):
            tick(name)
            continue
        st.missing_parents = [p for p in st.needs if p in statuses and statuses[p].state not in ("done", "configured")]
        st.unresolved = sorted(unresolved.get(name, ()))
        errors = st.errors
        if st.pr is not None:
            st.state, st.reason = "in-pr", f"PR {st.pr.state or 'open'}: {st.pr.url}"
        elif errors:
            first = errors[0]
            where = f" ({first.file}:{first.line})" if first.file else ""
            more = f" (+{len(errors) - 1} more)" if len(errors) > 1 else ""
            st.state, st.reason = "blocked", f"{first.rule}: {first.message}{where}{more}"
        elif st.missing_parents or st.unresolved:
            st.state = "awaiting-parents"
            parts = (["awaiting " + ", ".join(st.missing_parents)] if st.missing_parents else []) + (
                ["no feedstock or branch builds " + ", ".join(st.unresolved)] if st.unresolved else []
            )
            st.reason = "; ".join(parts)
        else:
            st.state, st.reason = "ready", "all needed parents are done" if st.needs else "needs nothing unbuilt"
            if can_solve and availability is not None:
                failing = [
                    o
                    for label, specs in build_environments(snapshot, plan.feedstocks[name], pair)
                    for o in [solve_specs(availability, specs, pair.target)]
                    if o.solvable is False
                ]
                if failing:
                    st.solve = failing
                    st.state = "not-solvable"
                    st.reason = "build environment not solvable: " + "; ".join(o.summary() for o in failing[:2])
        tick(name)

    for name, st in statuses.items():  # a parent of something built/configured cannot be merely "ready"
        if st.state in ("done", "configured"):
            continue
        ahead = sorted(
            c for c, pf in plan.feedstocks.items() if name in pf.needs and statuses[c].state in ("done", "configured")
        )
        if ahead:
            st.reason += (
                f"; note: {', '.join(ahead)} already "
                f"{'built' if any(statuses[c].state == 'done' for c in ahead) else 'configured'} and needs "
                f"{name}: the evidence for {name} is missing (pass --available or --bot-status) or it was "
                "built against an older channel"
            )
    evidence = ["conda-forge.yml (configured)"]
    evidence += [f"repodata: {availability.describe()}"] if availability else []
    evidence += [f"bot status: {bot_origin}"] if bot_origin else []
    evidence += ["--prs"] if prs else []
    notes.insert(0, "evidence used: " + "; ".join(evidence))
    installability: dict[str, SolveOutcome] = {}
    if can_solve and availability is not None:
        installability = solve_targets(availability, plan.targets, pair.target)
    configured = snapshot.configured(pair.target)
    return StatusReport(
        plan,
        statuses,
        remaining_critical_path(plan, statuses),
        next_actions(statuses),
        installability,
        availability.describe() if availability else "",
        notes,
        configured,
    )


def remaining_critical_path(plan: Plan, statuses: dict[str, FeedstockStatus]) -> list[str]:
    """The longest chain of not-done feedstocks (parents first); cycles count as one step each member."""
    g: nx.DiGraph[str] = nx.DiGraph()
    todo = [n for n, s in statuses.items() if s.state not in ("done", "configured")]
    g.add_nodes_from(todo)
    for n in todo:
        for p in statuses[n].needs:
            if p in g and p != n:
                g.add_edge(p, n)
    if not g:
        return []
    cond = nx.condensation(g)
    for node in cond.nodes:
        cond.nodes[node]["weight"] = len(cond.nodes[node]["members"])
    # longest path by member count: weight each edge by the size of the node it enters
    for u, v in cond.edges:
        cond.edges[u, v]["w"] = cond.nodes[v]["weight"]
    path = nx.dag_longest_path(cond, weight="w", default_weight=1)
    if not path:
        return []
    out: list[str] = []
    for node in path:
        out.extend(sorted(cond.nodes[node]["members"]))
    return out


def next_actions(statuses: dict[str, FeedstockStatus]) -> list[dict[str, str]]:
    """What to do now: start ready ones (most unblocking first), fix blocked, fix not-solvable, merge PRs."""
    by_value = sorted(statuses.values(), key=lambda s: (-s.unblocks, s.wave, s.name))
    acts: list[dict[str, str]] = []
    for s in by_value:
        if s.state == "ready":
            acts.append(
                {
                    "action": "start",
                    "feedstock": s.name,
                    "detail": f"add {s.mode or 'a'} build for the platform; unblocks {s.unblocks}",
                }
            )
    for s in by_value:
        if s.state == "blocked":
            acts.append({"action": "fix", "feedstock": s.name, "detail": s.reason})
        elif s.state == "not-solvable":
            acts.append({"action": "provide", "feedstock": s.name, "detail": s.reason})
    for s in by_value:
        if s.state == "in-pr" and s.pr is not None:
            acts.append({"action": "review", "feedstock": s.name, "detail": s.pr.url})
    return acts
