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


def test_plan_reads_only_the_platform_pairs_it_needs(tmp_path):
    """Each render's outputs are read on first use: a win-arm64 plan reads the win-arm64 and win-64
    renders, and of the other pairs only a render that builds a needed name as noarch (the noarch
    fallback), never the rest."""
    from dataclasses import replace

    from newarch.model import PlatformPair, RenderResult
    from newarch.store.read import StoreRender

    others = [PlatformPair("linux-64", "linux-64"), PlatformPair("osx-arm64", "osx-64")]
    mem = _with_unrelated(3)
    for fs in mem.feedstocks.values():
        base = next(iter(fs.renders.values()))
        for p in others:
            # zlib: compiled on win-arm64, a noarch variant elsewhere (the planner's noarch fallback)
            outs = [replace(o, noarch="generic") if o.name == "zlib" else o for o in base.outputs]
            fs.renders[p.key] = RenderResult(p, sorted(outs, key=Output.sort_key))
        for r in fs.renders.values():
            r.outputs.sort(key=Output.sort_key)
    mem.pairs = sorted({*mem.pairs, *others})
    path = tmp_path / "s.sqlite"
    mem.save(path)
    store = snapmod.load(path)
    options = PlanOptions(["mamba"], "win-arm64", "win-64")
    got, want = make_plan(store, options), make_plan(mem, options)
    read: dict[str, set[str]] = {}
    for name in store.feedstocks._cache:  # type: ignore[attr-defined]
        for key, r in store.feedstocks[name].renders.items():
            assert isinstance(r, StoreRender)
            if r._store is None:  # its outputs were read
                read.setdefault(key, set()).add(name)
    assert set(read) <= {"win-arm64:win-64", "win-64:win-64", "linux-64:linux-64"}
    assert "win-arm64:win-64" in read
    assert read["linux-64:linux-64"] == {"zlib"}
    # (the JSON form explains every pruned feedstock: that part reads every render)
    assert got.to_json()["feedstocks"] == want.to_json()["feedstocks"]
    # reading a render later gives the same outputs as the in-memory snapshot
    assert store.feedstocks["zlib"].renders["osx-arm64:osx-64"] == mem.feedstocks["zlib"].renders["osx-arm64:osx-64"]


def test_explanations_on_a_store_match_memory_and_why_not_reads_little(tmp_path):
    """Prune reasons and why-not answered from the store's indexes say what the in-memory snapshot
    says; a why-not reads only the feedstocks it is about, not the whole snapshot."""
    from newarch.plan.explain import why_not

    mem = _with_unrelated(12)
    from newarch.model import Requirement

    mem.feedstocks["unrelated03"].renders[next(iter(mem.feedstocks["unrelated03"].renders))].outputs[0].skip = True
    consumer = next(iter(mem.feedstocks["unrelated02"].renders.values())).outputs[0]
    consumer.requirements["host"] = (*consumer.reqs("host"), Requirement("unrelated01", "unrelated01", "", 7))
    skipped = next(iter(mem.feedstocks["unrelated05"].renders.values())).outputs[0]  # a skipped output consumes nothing
    skipped.skip = True
    skipped.requirements["host"] = (Requirement("unrelated01", "unrelated01", "", 9),)
    # an output only a release branch has is not one of the feedstock's names (explanations read main)
    from dataclasses import replace

    from newarch.model import Branch, RenderResult

    fs4 = mem.feedstocks["unrelated04"]
    main4 = next(iter(fs4.renders.values()))
    fs4.branches["1.x"] = Branch(
        "1.x",
        version="1.0",
        renders={main4.pair.key: RenderResult(main4.pair, [replace(main4.outputs[0], name="branch-only")])},
    )
    for fs in mem.feedstocks.values():
        for r in fs.renders.values():
            r.outputs.sort(key=Output.sort_key)
    path = tmp_path / "s.sqlite"
    mem.save(path)
    options = PlanOptions(["mamba"], "win-arm64", "win-64")
    store = snapmod.load(path)
    got = make_plan(store, options)
    want = make_plan(mem, options)
    for name in [
        "unrelated00",
        "unrelated03",
        "python",
        "libzlib",
        "m2-perl",
        "nothing-like-it",
        "zlib",
        "branch-only",
    ]:
        assert why_not(store, got, name).to_json() == why_not(mem, want, name).to_json()
    loaded = set(store.feedstocks._cache)  # type: ignore[attr-defined]
    assert not any(n.startswith("unrelated") for n in loaded - {"unrelated00", "unrelated03", "unrelated04"})
    why = {p.name: (p.code, p.reason) for p in want.pruned}
    assert why["unrelated03"][0] == "skipped" and why["unrelated01"][0] == "unreachable"
    assert "its consumers in the win-arm64<-win-64 render (unrelated02)" in why["unrelated01"][1]
    assert why_not(mem, want, "branch-only").code == "absent"
    assert [p.to_json() for p in got.pruned] == [p.to_json() for p in want.pruned]


def test_verify_on_a_store_reads_only_the_names_its_solves_meet(tmp_path):
    """The virtual channel reads the noarch builds and the emulated subdir's packages of a name when a
    solve first asks for it: unrelated feedstocks (noarch ones included) stay unread, and the answer
    is the in-memory one."""
    from snapbuilder import PAIR, WIN64, SnapBuilder

    from newarch.verify.channel import PlannedBuild
    from newarch.verify.checks import verify

    b = SnapBuilder()
    b.fs("app", out("app", version="1.0", host=["tool"], run=["libfoo >=1", "helper"]))
    b.fs("libfoo", out("libfoo", version="1.0"))
    b.fs("helper", out("helper", version="2.0", noarch="generic"))
    b.fs("tool", out("tool", version="3.0"), pair=WIN64)  # only on win-64: app's host env lacks it
    for i in range(6):  # feedstocks nothing needs: noarch, and packages of the emulated win-64
        b.fs(f"lonely{i}", out(f"lonely{i}", noarch="generic"))
        b.fs(f"winonly{i}", out(f"winonly{i}"), pair=WIN64)
    mem = b.snapshot()
    path = tmp_path / "s.sqlite"
    mem.save(path)
    store = snapmod.load(path)

    def run(snap):
        builds = [
            PlannedBuild(n, "main", list(snap.feedstocks[n].renders[PAIR.key].outputs), "cross", 0, "v0")
            for n in ("app", "libfoo")
        ]
        return verify(snap, PAIR, [("app", "app")], builds)

    got, want = run(store), run(mem)
    loaded = set(store.feedstocks._cache)  # type: ignore[attr-defined]
    assert {"app", "libfoo", "helper"} <= loaded
    assert not any(n.startswith(("lonely", "winonly")) for n in loaded)
    assert [t.result.solvable for t in got.targets] == [True]
    assert [(e.build, e.env, e.result.solvable) for e in got.envs] == [("app", "host", False)]
    assert got.to_json()["targets"] == want.to_json()["targets"]
    assert got.to_json()["envs"] == want.to_json()["envs"]
    # the records the solves read: the planned builds, helper, and win-64's app, libfoo and tool (the
    # emulated subdir is a source of the solves); none of the 12 unrelated feedstocks'
    assert got.records == want.records == {"win-arm64": 2, "noarch": 1, "win-64": 3}


def test_configured_feedstocks_from_the_settings_rows_match_the_model():
    """``configured`` on a store reads only the feedstock rows' conda-forge.yml settings."""
    from newarch.store.model import Snapshot

    store = snapmod.load()  # the bundled snapshot: real conda-forge.yml settings
    for target in ("win-arm64", "osx-arm64", "linux-riscv64"):
        fast = store.configured(target)
        assert fast == Snapshot.configured(store, target)  # the in-memory rule over every feedstock
    assert store.configured("win-arm64")  # some feedstocks of the snapshot build win-arm64 already
