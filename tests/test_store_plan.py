"""A plan on a store-backed snapshot reads only the feedstocks its walk reaches, and plans the same."""

from __future__ import annotations

from snapbuilder import conda_forge_like, out

from newarch.model import Output
from newarch.plan.planner import PlanOptions, make_plan
from newarch.store import snapshot as snapmod


def _with_unrelated(n: int = 30):
    b = conda_forge_like()
    for i in range(n):  # feedstocks nothing in the plan needs (they need python, not the reverse)
        b.fs(f"unrelated{i:02d}", out(f"unrelated{i:02d}", host=["python"], run=["python"]))
    return b.snapshot()


def test_plan_reads_only_what_its_walk_reaches_and_matches_the_in_memory_plan(tmp_path):
    mem = _with_unrelated()
    for fs in mem.feedstocks.values():  # a store keeps outputs by (name, variant), as the JSON format did
        for r in fs.renders.values():
            r.outputs.sort(key=Output.sort_key)
    path = tmp_path / "s.sqlite"
    mem.save(path)
    store = snapmod.load(path)
    options = PlanOptions(["mamba"], "win-arm64", "win-64")
    got, want = make_plan(store, options), make_plan(mem, options)
    loaded = set(store.feedstocks._cache)  # type: ignore[attr-defined]
    assert loaded and not any(name.startswith("unrelated") for name in loaded)
    assert len(loaded) < len(store.feedstocks)
    # (the JSON form explains every pruned feedstock, so it reads them all)
    assert got.to_json()["feedstocks"] == want.to_json()["feedstocks"]
