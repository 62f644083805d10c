"""Our plan against the autotick bot's migration graph, with a reason for every difference.

Groups:

* ``both``: feedstocks in the bot's migration and in our plan.
* ``bot_only``: in the bot's migration, not in our plan; each with our why-not code and reason
  (grouped by code: ``build-only``, ``noarch-host-only``, ``selector``, ``python-variant``,
  ``unreachable``, ... and ``absent`` for names the snapshot does not have at all).
* ``ours_only``: in our plan, not in the bot's migration; each with the chain that needs it.
* ``blocked_ready``: the bot holds them (``awaiting-parents``, ``awaiting-pr``, ``not-solvable``,
  ``bot-error``) but our status says ``ready``; with the bot parents that hold them and our verdict
  on each parent (e.g. mamba held by mypy, which is only a host dep of a noarch output).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from newarch.status.botstatus import BLOCKED, BotStatus
from newarch.plan.explain import why, why_not
from newarch.plan.planner import Plan
from newarch.store.snapshot import Snapshot
from newarch.status.states import FeedstockStatus

SCHEMA = "newarch.compare-bot/1"
ABSENT = "absent"


class _Row:
    """A result row whose JSON form is exactly its fields."""

    __slots__ = ()

    def to_json(self) -> dict[str, Any]:
        fields: dict[str, Any] = asdict(self)  # type: ignore[call-overload]  # every subclass is a dataclass
        return fields


@dataclass(slots=True)
class BothRow(_Row):
    name: str
    bot_state: str
    our_state: str
    wave: int
    mode: str


@dataclass(slots=True)
class BotOnlyRow(_Row):
    name: str
    bot_state: str
    code: str
    reason: str


@dataclass(slots=True)
class OursOnlyRow(_Row):
    name: str
    our_state: str
    wave: int
    mode: str
    chain: list[str]  # [target, ..., name]
    edges: list[str] = field(default_factory=list)  # labelled edges of the shortest chain


@dataclass(slots=True)
class HeldBy(_Row):
    """A bot parent that is not done in the bot's view, with our verdict on it."""

    name: str
    bot_state: str
    verdict: str  # "needed (<our state>)" or a why-not code
    reason: str


@dataclass(slots=True)
class BlockedReadyRow:
    name: str
    bot_state: str
    our_reason: str
    held_by: list[HeldBy] = field(default_factory=list)
    parents_known: bool = True  # False when the status file has no _feedstock_status

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "bot_state": self.bot_state,
            "our_state": "ready",
            "our_reason": self.our_reason,
            "held_by": [h.to_json() for h in self.held_by] if self.parents_known else None,
        }


@dataclass(slots=True)
class Comparison:
    platform: str
    build_platform: str
    targets: list[str]
    snapshot_date: str
    status_origin: str
    bot_counts: dict[str, int]
    both: list[BothRow] = field(default_factory=list)
    bot_only: list[BotOnlyRow] = field(default_factory=list)
    ours_only: list[OursOnlyRow] = field(default_factory=list)
    blocked_ready: list[BlockedReadyRow] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    def done_disagreements(self) -> list[BothRow]:
        """In both, but only one side counts it as done (e.g. the snapshot predates the merge)."""
        ours = ("done", "configured")  # configured (conda-forge.yml) does not contradict the bot's done
        return [r for r in self.both if (r.bot_state == "done") != (r.our_state in ours)]

    def bot_only_by_code(self) -> dict[str, list[BotOnlyRow]]:
        groups: dict[str, list[BotOnlyRow]] = {}
        for row in self.bot_only:
            groups.setdefault(row.code, []).append(row)
        # largest group first, "absent" last
        return dict(sorted(groups.items(), key=lambda kv: (kv[0] == ABSENT, -len(kv[1]), kv[0])))

    def sizes(self) -> dict[str, int]:
        return {
            "both": len(self.both),
            "bot_only": len(self.bot_only),
            "ours_only": len(self.ours_only),
            "blocked_ready": len(self.blocked_ready),
            "absent": sum(1 for r in self.bot_only if r.code == ABSENT),
        }

    def to_json(self) -> dict[str, Any]:
        return {
            "schema": SCHEMA,
            "platform": self.platform,
            "build_platform": self.build_platform,
            "targets": list(self.targets),
            "snapshot": {"date": self.snapshot_date},
            "status_file": self.status_origin,
            "bot_counts": dict(self.bot_counts),
            "sizes": self.sizes(),
            "both": [r.to_json() for r in self.both],
            "bot_only": {code: [r.to_json() for r in rows] for code, rows in self.bot_only_by_code().items()},
            "ours_only": [r.to_json() for r in self.ours_only],
            "blocked_ready": [r.to_json() for r in self.blocked_ready],
            "done_disagreements": [r.to_json() for r in self.done_disagreements()],
            "warnings": list(self.warnings),
        }


def _absent_verdict(snapshot: Snapshot, plan: Plan, name: str) -> tuple[str, str]:
    if name in snapshot.failures:
        return ABSENT, (
            f"not in the snapshot: it could not be read when the snapshot was made ({snapshot.failures[name]})"
        )
    # why-not still knows whether the plan reaches it (only through a dependency listed as unknown),
    # and a name that is also an output of a rendered feedstock gets that output's reason
    w = why_not(snapshot, plan, name)
    return ABSENT, w.text if w.code == ABSENT else f"not in the snapshot; as an output: {w.text}"


def _verdicts(snapshot: Snapshot, plan: Plan) -> dict[str, tuple[str, str]]:
    """feedstock -> (why-not code, reason) for every snapshot feedstock outside the plan."""
    return {p.name: (p.code, p.reason) for p in plan.pruned}


def compare(snapshot: Snapshot, plan: Plan, bot: BotStatus, statuses: dict[str, FeedstockStatus]) -> Comparison:
    """Compare ``plan`` (with its ``statuses``, see :func:`newarch.status.states.compute_status`) with ``bot``."""
    result = Comparison(
        plan.pair.target,
        plan.pair.build,
        list(plan.targets),
        snapshot.date,
        bot.origin,
        bot.counts(),
        warnings=list(bot.warnings),
    )
    verdicts = _verdicts(snapshot, plan)
    # the bot names feedstocks; the plan's jobs are feedstock@branch (main: the feedstock's name)
    job_of: dict[str, str] = {}
    for jid, pf in plan.feedstocks.items():
        job_of.setdefault(pf.feedstock or jid, jid)

    def verdict(name: str) -> tuple[str, str]:
        if name in job_of:
            st = statuses.get(job_of[name])
            return f"needed ({st.state if st else 'planned'})", st.reason if st else ""
        if name in verdicts:
            return verdicts[name]
        if name not in snapshot.feedstocks:
            return _absent_verdict(snapshot, plan, name)
        return "unreachable", f"nothing needed on {plan.pair} depends on {name}"

    for name in sorted(bot.nodes):
        node = bot.nodes[name]
        if name in job_of:
            pf = plan.feedstocks[job_of[name]]
            st = statuses.get(job_of[name])
            result.both.append(BothRow(name, node.state, st.state if st else "", pf.wave, pf.mode))
        else:
            code, reason = verdict(name)
            result.bot_only.append(BotOnlyRow(name, node.state, code, reason))
    result.bot_only.sort(key=lambda r: (r.code, r.name))

    for name, pf in sorted(plan.feedstocks.items()):
        if (pf.feedstock or name) in bot.nodes:
            continue
        st = statuses.get(name)
        chains = why(plan, name, limit=1)
        edges = [e.label() for e in chains[0].edges] if chains else []
        result.ours_only.append(OursOnlyRow(name, st.state if st else "", pf.wave, pf.mode, list(pf.why), edges))

    for name in bot.in_state(*BLOCKED):
        st = statuses.get(name)
        if st is None or st.state != "ready":
            continue
        row = BlockedReadyRow(name, bot.state(name), st.reason, parents_known=bot.has_edges)
        for parent in bot.parents(name):
            pstate = bot.state(parent)
            if pstate == "done":
                continue
            code, reason = verdict(parent)
            row.held_by.append(HeldBy(parent, pstate or "(no bucket)", code, reason))
        result.blocked_ready.append(row)
    if not bot.has_edges:
        result.warnings.append(
            f"{bot.origin}: no _feedstock_status (immediate_children), so the bot parents "
            "holding blocked nodes cannot be named"
        )
    return result


# ------------------------------------------------------------------------------------------------- output

_HTML = """\
<section class="compare-bot" id="compare-bot">
<h2>Compared with the bot</h2>
<p>Bot migration status <code>{{ c.status_origin }}</code> against the plan for
<code>{{ c.platform }}</code>{% if c.build_platform != c.platform %} built on <code>{{ c.build_platform }}</code>{% endif %}
 (targets: {{ c.targets|join(", ") }}; snapshot {{ c.snapshot_date or "undated" }}).</p>
<ul class="compare-sizes">
<li>in both: <strong>{{ s.both }}</strong></li>
<li>bot only: <strong>{{ s.bot_only }}</strong>{% if s.absent %} ({{ s.absent }} absent from the snapshot){% endif %}</li>
<li>ours only: <strong>{{ s.ours_only }}</strong></li>
<li>held by the bot but ready here: <strong>{{ s.blocked_ready }}</strong></li>
</ul>
{% if c.warnings %}<ul class="compare-warnings">{% for w in c.warnings %}<li>{{ w }}</li>{% endfor %}</ul>{% endif %}
{% if c.blocked_ready %}
<h3>Held by the bot, ready in our plan</h3>
<table class="compare-blocked"><thead><tr><th>feedstock</th><th>bot state</th><th>held by (bot parents not done)</th></tr></thead><tbody>
{% for r in c.blocked_ready %}<tr><td>{{ r.name }}</td><td>{{ r.bot_state }}</td><td>
{% if not r.parents_known %}(the status file does not list the bot's edges){% else %}<ul>
{% for h in r.held_by %}<li><strong>{{ h.name }}</strong> ({{ h.bot_state }}): <span class="code">{{ h.verdict }}</span> {{ h.reason }}</li>
{% endfor %}</ul>{% endif %}</td></tr>
{% endfor %}</tbody></table>
{% endif %}
<h3>Only in the bot's graph ({{ s.bot_only }}), by reason</h3>
{% for code, rows in groups.items() %}
<details class="compare-group" data-code="{{ code }}"><summary><span class="code">{{ code }}</span> ({{ rows|length }})</summary>
<table><thead><tr><th>feedstock</th><th>bot state</th><th>why it is not needed</th></tr></thead><tbody>
{% for r in rows %}<tr><td>{{ r.name }}</td><td>{{ r.bot_state }}</td><td>{{ r.reason }}</td></tr>
{% endfor %}</tbody></table></details>
{% endfor %}
<h3>Only in our plan ({{ s.ours_only }})</h3>
<table class="compare-ours"><thead><tr><th>feedstock</th><th>state</th><th>wave</th><th>mode</th><th>needed by</th></tr></thead><tbody>
{% for r in c.ours_only %}<tr><td>{{ r.name }}</td><td>{{ r.our_state }}</td><td>{{ r.wave }}</td><td>{{ r.mode }}</td>
<td title="{{ r.edges|join('\n') }}">{{ r.chain|join(" → ") }}</td></tr>
{% endfor %}</tbody></table>
{% if disagree %}
<h3>In both, but only one side counts it done ({{ disagree|length }})</h3>
<table class="compare-disagree"><thead><tr><th>feedstock</th><th>bot state</th><th>our state</th></tr></thead><tbody>
{% for r in disagree %}<tr><td>{{ r.name }}</td><td>{{ r.bot_state }}</td><td>{{ r.our_state }}</td></tr>
{% endfor %}</tbody></table>
{% endif %}
<details class="compare-both"><summary>In both ({{ s.both }})</summary>
<table><thead><tr><th>feedstock</th><th>bot state</th><th>our state</th><th>wave</th><th>mode</th></tr></thead><tbody>
{% for r in c.both %}<tr><td>{{ r.name }}</td><td>{{ r.bot_state }}</td><td>{{ r.our_state }}</td><td>{{ r.wave }}</td><td>{{ r.mode }}</td></tr>
{% endfor %}</tbody></table></details>
</section>
"""


def compare_section_html(comparison: Comparison) -> str:
    """The "compared with the bot" section of the HTML report: a self-contained, escaped fragment."""
    from jinja2 import Environment

    env = Environment(autoescape=True, trim_blocks=True, lstrip_blocks=True)
    return env.from_string(_HTML).render(
        c=comparison,
        s=comparison.sizes(),
        groups=comparison.bot_only_by_code(),
        disagree=comparison.done_disagreements(),
    )


def _names_line(names: list[str], width: int) -> str:
    """``a, b, c, ... (+N)`` cut to ``width`` characters."""
    out = ""
    for i, n in enumerate(names):
        more = f", ... (+{len(names) - i})"
        piece = n if not out else f", {n}"
        if len(out) + len(piece) + len(more) > width and i:
            return out + more
        out += piece
    return out


def render_table(comparison: Comparison, console: Any, verbose: bool = False) -> None:
    """Print the comparison with rich: a summary first (one line per group), the full lists with ``verbose``.

    Every recipe- or bot-provided string goes through :mod:`newarch.report.console` (never markup)."""
    from newarch.report.console import add_row, esc, line, table

    c = comparison
    s = c.sizes()
    console.print(
        f"[bold]{esc(c.platform)}[/]"
        + (f" <- {esc(c.build_platform)}" if c.build_platform != c.platform else "")
        + f", targets: {esc(', '.join(c.targets))}; bot status: {esc(c.status_origin)}",
        highlight=False,
    )
    line(
        console,
        f"in both: {s['both']}   bot only: {s['bot_only']} ({s['absent']} absent from the snapshot)   "
        f"ours only: {s['ours_only']}   held by the bot but ready here: {s['blocked_ready']}",
    )
    width = max(40, console.width - 4)
    if not verbose:
        groups = [("held by the bot, ready here", [r.name for r in c.blocked_ready])]
        groups += [(f"bot only, {code}", [r.name for r in rows]) for code, rows in c.bot_only_by_code().items()]
        groups += [("ours only", [r.name for r in c.ours_only])]
        groups += [("in both, only one side done", [r.name for r in c.done_disagreements()])]
        groups += [("in both", [r.name for r in c.both])]
        for label, names in groups:
            if names:
                head = f"{label} ({len(names)}): "
                line(console, head + _names_line(names, width - len(head)))
        for w in c.warnings:
            console.print(f"[yellow]warning:[/] {esc(w)}", highlight=False)
        line(console, "(-v: every feedstock with its reason; --format json: everything)")
        return
    if c.blocked_ready:
        t = table(["feedstock", "bot state", "held by (bot parents not done) and our verdict"])
        t.title, t.title_justify = "Held by the bot, ready in our plan", "left"
        for r in c.blocked_ready:
            held = (
                "\n".join(f"{h.name} ({h.bot_state}): {h.verdict} — {h.reason}" for h in r.held_by)
                if r.parents_known
                else "(the status file does not list the bot's edges)"
            )
            add_row(t, r.name, r.bot_state, held or "(no unfinished bot parent)")
        console.print(t)
    for code, rows in c.bot_only_by_code().items():
        console.print(f"[bold]Only in the bot's graph: {esc(code)} ({len(rows)})[/]")
        reasons: dict[str, list[BotOnlyRow]] = {}
        for b in rows:  # the same sentence for many names: say it once, the name as NAME
            reasons.setdefault(b.reason.replace(b.name, "NAME"), []).append(b)
        for reason, same in reasons.items():
            listed = ", ".join(f"{b.name} ({b.bot_state})" for b in same)
            line(console, f"  {listed}: {reason if len(same) > 1 else same[0].reason}")
    if c.ours_only:
        console.print(f"[bold]Only in our plan ({len(c.ours_only)})[/]")
        t = table(["feedstock", "state", ("wave", {"justify": "right"}), "mode", "needed by"])
        for o in c.ours_only:
            add_row(t, o.name, o.our_state, str(o.wave), o.mode, " -> ".join(o.chain))
        console.print(t)
    disagree = c.done_disagreements()
    if disagree:
        console.print(f"[bold]In both, but only one side counts it done ({len(disagree)})[/]")
        t = table(["feedstock", "bot state", "our state"])
        for d in disagree:
            add_row(t, d.name, d.bot_state, d.our_state)
        console.print(t)
    if c.both:
        console.print(f"[bold]In both ({len(c.both)})[/]")
        t = table(["feedstock", "bot state", "our state", ("wave", {"justify": "right"}), "mode"])
        for d in c.both:
            add_row(t, d.name, d.bot_state, d.our_state, str(d.wave), d.mode)
        console.print(t)
    for w in c.warnings:
        console.print(f"[yellow]warning:[/] {esc(w)}", highlight=False)


def compare_bot_file(
    snapshot: Snapshot,
    status_path: Any,
    targets: list[str] | tuple[str, ...],
    platform: str = "win-arm64",
    build_platform: str | None = None,
    mode: str = "auto",
    plan: Plan | None = None,
    statuses: dict[str, FeedstockStatus] | None = None,
) -> Comparison:
    """Load a bot status file and compare; pass ``plan``/``statuses`` when you have them already."""
    from newarch.status.botstatus import load_bot_status
    from newarch.status.states import compute_status, plan_for_status

    bot = load_bot_status(status_path)
    if plan is None:
        plan = plan_for_status(snapshot, targets, platform, build_platform, mode)
    if statuses is None:
        statuses = compute_status(snapshot, plan).feedstocks
    return compare(snapshot, plan, bot, statuses)
