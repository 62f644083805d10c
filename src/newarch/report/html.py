"""Render a :class:`~newarch.status.states.StatusReport` into one self-contained HTML file.

Everything (CSS, JS, the SVG graph, the data) is inlined; the page loads nothing from the network
and its Content-Security-Policy forbids it. Every recipe-derived string goes through Jinja's
autoescaping; the embedded JSON is made safe for a ``<script>`` element by escaping ``<``, ``>``
and ``&``; PR links are only links when they are http(s) URLs.
"""

from __future__ import annotations

import datetime
import json
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import jinja2
from markupsafe import Markup

from newarch import __version__
from newarch.store.snapshot import write_atomic
from newarch.status.states import STATES, StatusReport
from newarch.report.chains import StepLabeller, conda_forge_yml_url, feedstock_url
from newarch.report.layout import COL_WIDTH, MARGIN_X, layout


@dataclass(frozen=True, slots=True)
class Section:
    """An extra part of the page (e.g. the bot-status comparison).

    ``body`` is inserted as is, so a provider must build it from escaped parts (``markupsafe.escape``
    or a Jinja template with autoescape).
    """

    id: str
    title: str
    body: Markup
    wrap: bool = True  # False: ``body`` is a whole ``<section id=...>`` with its own heading


SectionProvider = Callable[[StatusReport], "Section | None"]


def _static(name: str) -> str:
    return (resources.files("newarch.report") / name).read_text(encoding="utf-8")


def script_json(data: Any) -> Markup:
    """JSON that cannot end or break out of the ``<script>`` element it is placed in."""
    text = json.dumps(data, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    for ch, rep in (("&", "\\u0026"), ("<", "\\u003c"), (">", "\\u003e"), ("\u2028", "\\u2028"), ("\u2029", "\\u2029")):
        text = text.replace(ch, rep)
    return Markup(text)


def safe_url(url: str) -> str:
    return url if url.startswith(("https://", "http://")) else ""


def _environment() -> jinja2.Environment:
    return jinja2.Environment(
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=False,
        loader=jinja2.FunctionLoader(lambda name: _static(name)),
    )


def build_context(
    rep: StatusReport, sections: Sequence[Section] = (), generated: datetime.datetime | None = None
) -> dict[str, Any]:
    plan = rep.plan
    snap = plan.snapshot
    targets = set(plan.targets)
    target_feedstocks = {pf.why[0] for pf in plan.feedstocks.values() if len(pf.why) == 1} | {
        n for n in plan.feedstocks if n in targets
    }
    lay = layout({n: s.wave for n, s in rep.feedstocks.items()}, {n: s.needs for n, s in rep.feedstocks.items()})
    rank = {s: i for i, s in enumerate(STATES)}
    labeller = StepLabeller(plan)
    rows = []
    nodes_data = []
    for name, st in rep.feedstocks.items():
        findings = sorted(
            st.findings,
            key=lambda f: (
                ("error", "warning", "info").index(f.severity) if f.severity in ("error", "warning", "info") else 3,
                f.rule,
            ),
        )
        pr_url = safe_url(st.pr.url) if st.pr else ""
        pf = plan.feedstocks.get(name)
        branch = str(getattr(pf, "branch", "") or "main")  # a release-branch job reads that branch's file
        links = {"repo": feedstock_url(name), "cfyml": conda_forge_yml_url(name, branch), "branch": branch}
        rows.append(
            {
                "name": name,
                "state": st.state,
                "state_rank": rank[st.state],
                "wave": st.wave,
                "unblocks": st.unblocks,
                "missing": st.missing_parents,
                "unresolved": st.unresolved,
                "mode": st.mode,
                "findings": findings,
                "reason": st.reason,
                "pr_url": pr_url,
                "target": name in target_feedstocks,
                "links": links,
                "search": " ".join(
                    [
                        name,
                        st.state,
                        st.mode,
                        st.reason,
                        *st.missing_parents,
                        *st.unresolved,
                        *(f"{f.rule} {f.message}" for f in findings),
                    ]
                ).lower(),
            }
        )
        nodes_data.append(
            {
                "name": name,
                "state": st.state,
                "reason": st.reason,
                "wave": st.wave,
                "unblocks": st.unblocks,
                "why": st.why,
                "steps": [s.to_json() for s in labeller.steps(st.why)],
                "links": links,
                "needs": st.needs,
                "missing": st.missing_parents,
                "mode": st.mode,
                "unresolved": st.unresolved,
                "pr": pr_url,
                "findings": [
                    f"{f.severity} {f.rule}: {f.message}" + (f" ({f.file}:{f.line})" if f.file else "")
                    for f in findings
                ],
                "solve": [o.summary() for o in st.solve],
            }
        )
    graph_nodes = [
        {
            "name": n,
            "state": rep.feedstocks[n].state,
            "reason": rep.feedstocks[n].reason,
            "unblocks": rep.feedstocks[n].unblocks,
            "target": n in target_feedstocks,
            "box": box,
        }
        for n, box in sorted(lay.nodes.items(), key=lambda kv: (kv[1].wave, kv[1].row))
    ]
    counts = [0] * lay.waves
    for box in lay.nodes.values():
        counts[box.wave] += 1
    pruned = [
        {
            "name": p.name,
            "code": p.code,
            "reason": p.reason,
            "repo": feedstock_url(p.name),
            "search": f"{p.name} {p.code} {p.reason}".lower(),
        }
        for p in plan.pruned
    ]
    totals = rep.totals()
    when = generated or datetime.datetime.now(datetime.UTC)
    return {
        "title": f"{plan.pair.target} bring-up status",
        "platform": plan.pair.target,
        "build_platform": plan.pair.build,
        "mode": plan.options.mode,
        "targets": list(plan.targets),
        "snapshot_date": snap.date,
        "snapshot_source": "; ".join(x for x in (Path(snap.origin).name if snap.origin else "", snap.description) if x),
        "availability": rep.availability,
        "configured_total": len(rep.configured),
        "configured_in_plan": sum(1 for n in rep.configured if n in rep.feedstocks),
        "totals": [(s, totals[s]) for s in STATES],
        "rows": rows,
        "layout": lay,
        "graph_nodes": graph_nodes,
        "wave_heads": [{"wave": w, "x": MARGIN_X + w * COL_WIDTH, "count": counts[w]} for w in range(lay.waves)],
        "critical_path": rep.critical_path,
        "tipping_point_wave": plan.tipping_point_wave,
        "installability": list(rep.installability.items()),
        "next_actions": rep.next_actions,
        "toolchain": plan.toolchain,
        "cycles": [c.members for c in plan.cycles],
        "unknown": plan.unknown,
        "gaps": plan.gaps,
        "notes": rep.notes,
        "pruned": pruned,
        "pruned_codes": sorted({p["code"] for p in pruned}),
        "problems": bool(plan.cycles or plan.unknown or plan.gaps or rep.notes),
        "sections": list(sections),
        "version": __version__,
        "generated": when.strftime("%Y-%m-%d %H:%M UTC"),
        "data_json": script_json({"nodes": nodes_data, "edges": [[e.parent, e.child] for e in lay.edges]}),
        "css": Markup(_static("report.css")),
        "js": Markup(_static("report.js")),
    }


def render_html(rep: StatusReport, sections: Sequence[Section] = (), generated: datetime.datetime | None = None) -> str:
    """The whole page as a string."""
    return _environment().get_template("report.html").render(build_context(rep, sections, generated))


def write_report(
    rep: StatusReport,
    out_dir: str | Path,
    providers: Iterable[SectionProvider] = (),
    generated: datetime.datetime | None = None,
) -> Path:
    """Write ``out_dir/index.html``; ``providers`` may add extra sections (None = nothing to add)."""
    sections = [s for s in (p(rep) for p in providers) if s is not None]
    path = Path(out_dir) / "index.html"
    write_atomic(path, render_html(rep, sections, generated).encode("utf-8"))
    return path
