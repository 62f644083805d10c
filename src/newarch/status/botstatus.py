"""The autotick bot's migration status file (regro/cf-graph-countyfair ``status/migration_json/*.json``).

Real format: one list of feedstock names per state bucket (``done``, ``in-pr``, ``awaiting-parents``,
``awaiting-pr``, ``not-solvable``, ``bot-error``) and, optionally, ``_feedstock_status`` with per node
``immediate_children`` (the bot graph's edges), ``num_descendants``, ``pr_url``, ``pr_status``.

Reading is forgiving where the meaning is clear and loud where it is not: not JSON / not an object / no
bucket at all is an error naming the file; unknown keys, missing buckets, non-list buckets and
non-string entries are warnings, and the rest is used.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from newarch.errors import NewarchError
from newarch.files import read_json

BUCKETS: tuple[str, ...] = ("done", "in-pr", "awaiting-parents", "awaiting-pr", "not-solvable", "bot-error")
BLOCKED: tuple[str, ...] = ("awaiting-parents", "awaiting-pr", "not-solvable", "bot-error")
KNOWN_EXTRA_KEYS: tuple[str, ...] = ("_feedstock_status", "_note", "_comment")


@dataclass(slots=True)
class BotNode:
    name: str
    state: str  # one of BUCKETS, or "" when only _feedstock_status names it
    children: tuple[str, ...] = ()
    num_descendants: int | None = None
    pr_url: str = ""
    pr_status: str = ""


@dataclass(slots=True)
class BotStatus:
    origin: str
    nodes: dict[str, BotNode] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    has_edges: bool = False  # True when _feedstock_status gave immediate_children

    def state(self, name: str) -> str:
        node = self.nodes.get(name)
        return node.state if node else ""

    def in_state(self, *states: str) -> list[str]:
        return sorted(n for n, node in self.nodes.items() if node.state in states)

    def parents(self, name: str) -> list[str]:
        """Nodes whose ``immediate_children`` include ``name`` (empty without _feedstock_status)."""
        return sorted(n for n, node in self.nodes.items() if name in node.children)

    def counts(self) -> dict[str, int]:
        out = {b: 0 for b in BUCKETS}
        for node in self.nodes.values():
            if node.state:
                out[node.state] += 1
        return out


def _strip(name: str) -> str:
    name = name.strip()
    return name[: -len("-feedstock")] if name.endswith("-feedstock") else name


def parse_bot_status(data: Any, origin: str) -> BotStatus:
    if not isinstance(data, dict):
        raise NewarchError(
            f"not a bot migration status: the top level is a {type(data).__name__}, not an object", origin
        )
    status = BotStatus(origin)
    warn = status.warnings.append
    present = [b for b in BUCKETS if b in data]
    fs_status = data.get("_feedstock_status")
    if not present and not isinstance(fs_status, dict):
        raise NewarchError(
            "not a bot migration status: none of the state buckets " + ", ".join(BUCKETS) + " is present", origin
        )
    for key in sorted(k for k in data if k not in BUCKETS and k not in KNOWN_EXTRA_KEYS):
        warn(f"{origin}: unknown key {key!r} ignored")
    missing = [b for b in BUCKETS if b not in data]
    if missing:
        warn(f"{origin}: bucket(s) {', '.join(missing)} missing; taken as empty")
    for bucket in present:
        items = data[bucket]
        if not isinstance(items, list):
            warn(f"{origin}: bucket {bucket!r} is a {type(items).__name__}, not a list; ignored")
            continue
        bad = 0
        for item in items:
            if not isinstance(item, str) or not item.strip():
                bad += 1
                continue
            name = _strip(item)
            node = status.nodes.get(name)
            if node is None:
                status.nodes[name] = BotNode(name, bucket)
            elif node.state != bucket:
                warn(f"{origin}: {name} is in both {node.state!r} and {bucket!r}; kept {node.state!r}")
        if bad:
            warn(f"{origin}: bucket {bucket!r} has {bad} entr{'y' if bad == 1 else 'ies'} that are not names; skipped")
    if fs_status is not None:
        if not isinstance(fs_status, dict):
            warn(f"{origin}: '_feedstock_status' is a {type(fs_status).__name__}, not an object; ignored")
        else:
            _read_feedstock_status(status, fs_status)
    return status


def _read_feedstock_status(status: BotStatus, fs_status: dict[str, Any]) -> None:
    origin = status.origin
    bad: list[str] = []
    unbucketed: list[str] = []
    for raw, info in fs_status.items():
        name = _strip(str(raw))
        if not isinstance(info, dict):
            bad.append(name)
            continue
        node = status.nodes.get(name)
        if node is None:
            node = status.nodes[name] = BotNode(name, "")
            unbucketed.append(name)
        children = info.get("immediate_children", ())
        if isinstance(children, list):
            node.children = tuple(sorted({_strip(c) for c in children if isinstance(c, str) and c.strip()}))
            status.has_edges = True
        elif children is not None:
            bad.append(name)
        nd = info.get("num_descendants")
        if isinstance(nd, int) and not isinstance(nd, bool):
            node.num_descendants = nd
        pr_url, pr_status = info.get("pr_url"), info.get("pr_status")
        node.pr_url = pr_url if isinstance(pr_url, str) else ""
        node.pr_status = pr_status if isinstance(pr_status, str) else ""
    if bad:
        status.warnings.append(
            f"{origin}: _feedstock_status entries with an unexpected shape ignored: "
            + ", ".join(sorted(bad)[:10])
            + (" ..." if len(bad) > 10 else "")
        )
    if unbucketed:
        status.warnings.append(
            f"{origin}: {len(unbucketed)} node(s) in _feedstock_status are in no state bucket: "
            + ", ".join(sorted(unbucketed)[:10])
            + (" ..." if len(unbucketed) > 10 else "")
        )


def load_bot_status(path: str | Path) -> BotStatus:
    data = read_json(path, "bot status file")
    return parse_bot_status(data, str(path))
