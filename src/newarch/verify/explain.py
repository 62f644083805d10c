"""Why a spec fails: what the virtual channel and the snapshot have for its name.

The solver says *which* spec fails; this says *why* in the plan's terms, so a failure can be told
apart as a gap of the recipes (a pin no build satisfies), of the plan (a producer it does not build)
or of the offline data (a feedstock outside the snapshot, an older noarch build only the real
channel has).
"""

from __future__ import annotations

from typing import Any

import rattler

from newarch.model import PlatformPair, dep_name
from newarch.plan.specs import version_matches
from newarch.verify.channel import NOARCH, VirtualChannel


def _records(channel: VirtualChannel, subdir: str, name: str) -> list[rattler.RepoDataRecord]:
    return [*channel.named(subdir, name), *channel.named(NOARCH, name)]


def _snapshot_builds(snapshot: Any, pair: PlatformPair, producers: list[str], name: str) -> dict[str, str]:
    """``feedstock@branch`` -> version of the non-skipped outputs ``name`` its branches build for the pair
    (compiled) or anywhere (noarch)."""
    found: dict[str, str] = {}
    for f in producers:
        for b in snapshot.feedstocks[f].builds():
            for key, r in sorted(b.renders.items()):
                for o in r.outputs:
                    if o.name == name and not o.skip and o.version and (key == pair.key or o.noarch):
                        found.setdefault(f if b.name == "main" else f"{f}@{b.name}", o.version)
    return found


# Kinds of failure, from the plan's point of view. "data" kinds are limits of an offline snapshot that
# the real channel (--available) may not have; the others are gaps of the recipes or of the plan.
KINDS: dict[str, str] = {
    "other-version": "no build of the name matches (a pin the recipes do not meet; the plan lists it as a gap)",
    "older-noarch": "only a newer noarch build is known (data: older ones may exist on the real channel)",
    "outside-snapshot": "its feedstock is not in the snapshot (data)",
    "not-rendered": "its feedstock is in the snapshot but renders no such output",
    "not-built": "a snapshot feedstock produces it, but the plan does not build it for the subdir",
    "skipped": "its recipe skips it for the target",
    "virtual": "a virtual package the machine does not offer",
    "unknown": "nothing produces it",
}


def explain_spec(channel: VirtualChannel, snapshot: Any, pair: PlatformPair, subdir: str, spec: str) -> str:
    """One sentence on why ``spec`` finds no (compatible) build on ``subdir``."""
    return explain(channel, snapshot, pair, subdir, spec)[1]


def explain(channel: VirtualChannel, snapshot: Any, pair: PlatformPair, subdir: str, spec: str) -> tuple[str, str]:
    """(kind, sentence): why ``spec`` finds no (compatible) build on ``subdir``; kinds in ``KINDS``."""
    name = dep_name(spec)
    if name.startswith("__"):
        return "virtual", f"virtual package {name}: a {subdir} machine does not offer it"
    recs = _records(channel, subdir, name)
    if recs:
        kinds: dict[str, list[str]] = {}
        for r in recs:
            o = channel.origin_of(r)
            where = f"{o.kind} from {o.feedstock}" if o and o.feedstock else (o.kind if o else "available")
            kinds.setdefault(f"{r.version}", []).append(where)
        have = "; ".join(f"{v} ({', '.join(sorted(set(w)))})" for v, w in sorted(kinds.items()))
        text = f"the channel has {name} {have} only"
        if all((o := channel.origin_of(r)) is not None and o.kind == "noarch" for r in recs):
            return "older-noarch", text + (
                "; older noarch builds may exist on the real channel (the snapshot knows one version of each "
                "recipe): check with --available"
            )
        return "other-version", text
    producers = snapshot.producers(name)  # any pair, any branch, skipped or not
    if name in channel.gaps:
        built = _snapshot_builds(snapshot, pair, producers, name)
        have = ", ".join(f"{name} {v} ({where})" for where, v in built.items()) or "nothing"
        return "other-version", (
            f"no build meets what the plan asks of {name}, so the plan builds none: the snapshot builds {have} "
            f"only (plan gap: {channel.gaps[name]})"
        )
    if producers:
        skipped = []
        for f in producers:
            render = snapshot.feedstocks[f].renders.get(pair.key)
            if render is not None and any(o.name == name and o.skip for o in render.outputs):
                skipped.append(f)
        if skipped:
            return "skipped", f"{name} is skipped for {pair.target} by {', '.join(skipped)}"
        built = _snapshot_builds(snapshot, pair, producers, name)
        if built and not any(version_matches(spec, name, v) for v in built.values()):
            have = ", ".join(f"{name} {v} ({where})" for where, v in built.items())
            return "other-version", (
                f"no build meets it, so the plan does not build one: the snapshot builds {have} only "
                "(a gap of the plan: newarch plan lists it with the recipe commit to build from)"
            )
        return "not-built", f"{name} comes from {', '.join(producers)}, which the plan does not build for {subdir}"
    index = sorted(snapshot.output_index.get(name, ()))
    inside = [f for f in index if f in snapshot.feedstocks]
    if inside:
        return "not-rendered", (
            f"{name} comes from {', '.join(inside)} (channel index), whose recipe in the snapshot renders no "
            f"output {name}"
        )
    if index:
        return "outside-snapshot", f"{name} comes from {', '.join(index)}, which is not in the snapshot"
    return "unknown", f"nothing in the snapshot produces {name}"
