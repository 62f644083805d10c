"""Lay the plan out for the SVG: one column per wave, rows ordered to keep edges short.

Rows inside a column are ordered by the barycentre of the node's neighbours in the columns around
it (a few down and up sweeps, the usual layered-graph heuristic), ties broken by name, so the same
plan always gives the same picture.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import networkx as nx

COL_WIDTH = 176
NODE_WIDTH = 150
NODE_HEIGHT = 22
ROW_GAP = 8
MARGIN_X = 16
MARGIN_TOP = 34  # room for the wave headings
LABEL_CHARS = 19
SWEEPS = 4


@dataclass(frozen=True, slots=True)
class NodeBox:
    name: str
    wave: int
    row: int
    x: float
    y: float
    width: float = NODE_WIDTH
    height: float = NODE_HEIGHT

    @property
    def label(self) -> str:
        return self.name if len(self.name) <= LABEL_CHARS else self.name[: LABEL_CHARS - 1] + "…"

    @property
    def cx(self) -> float:
        return self.x + self.width / 2

    @property
    def cy(self) -> float:
        return self.y + self.height / 2


@dataclass(frozen=True, slots=True)
class EdgePath:
    parent: str  # built first
    child: str  # needs the parent
    d: str  # SVG path data
    backward: bool  # parent is not in an earlier wave (a cycle)


@dataclass(frozen=True, slots=True)
class Layout:
    nodes: dict[str, NodeBox]
    edges: list[EdgePath]
    width: float
    height: float
    waves: int


def _graph(waves: Mapping[str, int], needs: Mapping[str, Iterable[str]]) -> nx.DiGraph[str]:
    g: nx.DiGraph[str] = nx.DiGraph()
    g.add_nodes_from(waves)
    for child, parents in needs.items():
        for p in parents:
            if p in waves and child in waves and p != child:
                g.add_edge(p, child)
    return g


def _order_columns(g: nx.DiGraph[str], columns: list[list[str]]) -> list[list[str]]:
    pos = {n: i for col in columns for i, n in enumerate(col)}
    for sweep in range(SWEEPS):
        down = sweep % 2 == 0
        rng = range(1, len(columns)) if down else range(len(columns) - 2, -1, -1)
        for c in rng:
            col = columns[c]

            def key(n: str, down: bool = down) -> tuple[float, str]:
                nb = list(g.predecessors(n)) if down else list(g.successors(n))
                nb = [m for m in nb if m in pos] or list(g.predecessors(n)) + list(g.successors(n))
                bc = sum(pos[m] for m in nb) / len(nb) if nb else float(pos[n])
                return (bc, n)

            col.sort(key=key)
            for i, n in enumerate(col):
                pos[n] = i
    return columns


def layout(waves: Mapping[str, int], needs: Mapping[str, Iterable[str]]) -> Layout:
    """Positions for every node (``waves``: name -> wave) and a path for every ``needs`` edge."""
    g = _graph(waves, needs)
    ncols = max(waves.values(), default=-1) + 1
    columns: list[list[str]] = [[] for _ in range(ncols)]
    for name in sorted(waves, key=lambda n: (-len(list(g.successors(n))), n)):
        columns[waves[name]].append(name)
    columns = _order_columns(g, columns)
    nodes: dict[str, NodeBox] = {}
    for w, col in enumerate(columns):
        for r, name in enumerate(col):
            nodes[name] = NodeBox(name, w, r, MARGIN_X + w * COL_WIDTH, MARGIN_TOP + r * (NODE_HEIGHT + ROW_GAP))
    edges: list[EdgePath] = []
    for p, c in sorted(g.edges):
        a, b = nodes[p], nodes[c]
        backward = a.wave >= b.wave
        if backward:  # loop around the right side of the parent and into the child's left side
            x1, y1, x2, y2 = a.x + a.width, a.cy, b.x, b.cy
            bend = 40
            d = f"M{x1:.0f},{y1:.0f} C{x1 + bend:.0f},{y1:.0f} {x2 - bend:.0f},{y2 - 30:.0f} {x2:.0f},{y2:.0f}"
        else:
            x1, y1, x2, y2 = a.x + a.width, a.cy, b.x, b.cy
            span = b.wave - a.wave
            if span == 1:
                mid = (x1 + x2) / 2
                d = f"M{x1:.0f},{y1:.0f} C{mid:.0f},{y1:.0f} {mid:.0f},{y2:.0f} {x2:.0f},{y2:.0f}"
            else:
                # skip the columns in between through the row gap above the target row, so the line
                # does not run through the boxes of the waves it jumps over
                lane = min(y1, y2) - NODE_HEIGHT / 2 - ROW_GAP / 2
                gx1 = x1 + (COL_WIDTH - NODE_WIDTH) / 2
                gx2 = x2 - (COL_WIDTH - NODE_WIDTH) / 2
                d = (
                    f"M{x1:.0f},{y1:.0f} C{gx1:.0f},{y1:.0f} {x1:.0f},{lane:.0f} {gx1 + 10:.0f},{lane:.0f} "
                    f"L{gx2 - 10:.0f},{lane:.0f} C{x2:.0f},{lane:.0f} {gx2:.0f},{y2:.0f} {x2:.0f},{y2:.0f}"
                )
        edges.append(EdgePath(p, c, d, backward))
    rows = max((len(c) for c in columns), default=0)
    width = MARGIN_X * 2 + max(ncols, 1) * COL_WIDTH - (COL_WIDTH - NODE_WIDTH)
    height = MARGIN_TOP + rows * (NODE_HEIGHT + ROW_GAP) + 10
    return Layout(nodes, edges, width, height, ncols)
