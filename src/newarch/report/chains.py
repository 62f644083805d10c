"""Words shared by every view of a plan: the reason on an edge, the steps of a why-chain, the links
of a feedstock. The terminal (``newarch why``) and the HTML page use the same functions, so they
say the same thing.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from newarch.plan.graph import Edge

GITHUB_ORG = "https://github.com/conda-forge"


def edge_reason(e: Edge) -> str:
    """``'libcurl >=8.4.0' in host`` (``via vs2022_win-arm64 (build, strong)``, ``[if win]`` when set)."""
    via = f" via {e.via}" if e.via else ""
    cond = f" [if {e.condition}]" if e.condition else ""
    return f"{e.spec!r} in {e.section}{via}{cond}"


@dataclass(frozen=True, slots=True)
class Step:
    """One step of a why-chain: ``needer`` needs ``needed`` because of ``reasons`` (its edges)."""

    needer: str
    needed: str
    reasons: tuple[str, ...]

    def to_json(self) -> dict[str, Any]:
        return {"from": self.needer, "to": self.needed, "reasons": list(self.reasons)}


def _holder_edges(plan: Any) -> dict[str, list[Edge]]:
    """Feedstock -> the edges of the plan nodes it holds (planned feedstocks and noarch outputs)."""
    out: dict[str, list[Edge]] = {}
    for node in plan.noarch.values():
        out.setdefault(node.feedstock, []).extend(node.edges)
    return out


class StepLabeller:
    """Labels the steps of ``PlannedFeedstock.why`` chains with the edges behind them."""

    def __init__(self, plan: Any) -> None:
        self.plan = plan
        self._noarch: dict[str, list[Edge]] | None = None

    def _edges(self, holder: str) -> list[Edge]:
        fs = self.plan.feedstocks.get(holder)
        if fs is not None:
            edges: list[Edge] = fs.edges
            return edges
        if self._noarch is None:
            self._noarch = _holder_edges(self.plan)
        return self._noarch.get(holder, [])

    def step(self, needer: str, needed: str, first: bool = False, limit: int = 3) -> Step:
        edges = [e for e in self._edges(needer) if e.dst_feedstock == needed and e.src_feedstock != needed]
        reasons = list(dict.fromkeys(edge_reason(e) for e in edges))
        if not reasons and first:
            # the chain starts at a target typed as an output name (libmamba -> mamba)
            reasons = [f"target {needer} is an output of {needed}"]
        if len(reasons) > limit:
            reasons = reasons[:limit] + [f"+{len(reasons) - limit} more"]
        return Step(needer, needed, tuple(reasons))

    def steps(self, why: list[str]) -> list[Step]:
        """``why`` = [target, ..., name] -> one step per consecutive pair."""
        return [self.step(why[i], why[i + 1], first=i == 0) for i in range(len(why) - 1)]


def feedstock_url(name: str) -> str:
    return f"{GITHUB_ORG}/{quote(name, safe='')}-feedstock"


def conda_forge_yml_url(name: str, branch: str = "") -> str:
    """The feedstock's conda-forge.yml on ``branch`` (a release branch's job reads that branch's file)."""
    return f"{feedstock_url(name)}/blob/{quote(branch or 'main', safe='')}/conda-forge.yml"
