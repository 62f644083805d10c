"""Prove a plan with the solver: every target installs, every planned build finds its environments.

For the plan's pair (target subdir ``T``, build subdir ``B``):

* **targets**: for each target and each python variant of ``T`` (the pinning's ``python`` values), solve
  an install of the target on ``T`` with ``python`` constrained to the variant and the virtual
  packages a conda-forge CI machine of ``T`` offers;
* **host**: for each planned build, each output variant: solve its host requirements on ``T`` (unpinned
  names the variant pins get the variant's value, as conda-build does);
* **build** (native builds only): its build requirements, without the cross-only ones, on ``T``;
* **builder** (native builds only): the tool that runs the build (conda-build for v0 recipes,
  rattler-build for v1) must be installable on a subdir ``T`` executes (``newarch.platforms``): the
  emulated one (win-64 on win-arm64: exists before the plan starts) or ``T`` itself, then only once
  the planned builds it needs exist (their wave before this build's).

Each answer is solvable or the failing specs with the chain that led to them (solver explanation).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import rattler

from newarch.model import Output, PlatformPair, Requirement
from newarch.plan.graph import pair_index
from newarch.platforms import EXECUTES
from newarch.sources.availability import Availability
from newarch.verify.channel import (
    NOARCH,
    Origin,
    PlannedBuild,
    VirtualChannel,
    host_spec,
    make_record,
    normalize_spec,
    pin_run_as_build,
    sibling_exact_pins,
)
from newarch.verify.explain import explain
from newarch.verify.solve import Request, Result, solve_each, solve_many

ALL_TARGETS = "(all together)"
BUILDER_TOOL = {"v0": "conda-build", "v1": "rattler-build"}


@dataclass(slots=True)
class TargetCheck:
    target: str
    output: str
    python: str  # the python variant ("" when the platform has none)
    result: Result
    why: dict[str, tuple[str, str]] = field(default_factory=dict)  # failing spec -> (kind, explanation)

    def to_json(self) -> dict[str, Any]:
        d = {"target": self.target, "output": self.output, "python": self.python, **self.result.to_dict()}
        if self.why:
            d["why"] = {k: {"kind": kind, "text": text} for k, (kind, text) in self.why.items()}
        return d


@dataclass(slots=True)
class EnvCheck:
    build: str  # PlannedBuild.key
    output: str
    variant: str  # short variant label ("python 3.14.* *_cp314, openssl 3.5")
    env: str  # "host" | "build"
    result: Result
    why: dict[str, tuple[str, str]] = field(default_factory=dict)  # failing spec -> (kind, explanation)

    def to_json(self) -> dict[str, Any]:
        d: dict[str, Any] = {"build": self.build, "output": self.output, "variant": self.variant, "env": self.env}
        if self.why:
            d["why"] = {k: {"kind": kind, "text": text} for k, (kind, text) in self.why.items()}
        return d


@dataclass(slots=True)
class BuilderCheck:
    build: str
    tool: str
    ok: bool
    how: str

    def to_json(self) -> dict[str, Any]:
        return {"build": self.build, "tool": self.tool, "ok": self.ok, "how": self.how}


@dataclass(slots=True)
class Unneeded:
    build: str
    reason: str  # why the solver does not need it
    kept_because: str  # why the graph walk kept it
    blocked: bool = False  # only because the environments that need it do not solve

    def to_json(self) -> dict[str, Any]:
        return {"build": self.build, "reason": self.reason, "kept_because": self.kept_because, "blocked": self.blocked}


@dataclass(slots=True)
class Verification:
    pair: PlatformPair
    pythons: list[str]
    records: dict[str, int]  # subdir -> records of the virtual channel (planned + noarch + existing)
    targets: list[TargetCheck] = field(default_factory=list)
    envs: list[EnvCheck] = field(default_factory=list)
    builders: list[BuilderCheck] = field(default_factory=list)
    unneeded: list[Unneeded] | None = None  # None: minimality not checked
    needed: dict[str, str] = field(default_factory=dict)  # build -> the solve that breaks without it
    builds: int = 0
    solves: int = 0

    @property
    def ok(self) -> bool:
        return (
            all(t.result.solvable for t in self.targets)
            and all(e.result.solvable for e in self.envs)
            and all(b.ok for b in self.builders)
        )

    def figures(self) -> dict[str, Any]:
        host = [e for e in self.envs if e.env == "host"]
        bad_builds = {e.build for e in host if not e.result.solvable}
        return {
            "targets": sum(1 for t in self.targets if t.target != ALL_TARGETS),
            "targets_solvable": sum(1 for t in self.targets if t.target != ALL_TARGETS and t.result.solvable),
            "together_solvable": [t.result.solvable for t in self.targets if t.target == ALL_TARGETS],
            "builds": self.builds,
            "builds_host_solvable": self.builds - len(bad_builds),
            "host_envs": len(host),
            "host_envs_solvable": sum(1 for e in host if e.result.solvable),
            "build_envs": sum(1 for e in self.envs if e.env == "build"),
            "build_envs_solvable": sum(1 for e in self.envs if e.env == "build" and e.result.solvable),
            "builders_ok": sum(1 for b in self.builders if b.ok),
            "builders": len(self.builders),
            "not_needed": None if self.unneeded is None else len(self.unneeded),
            "not_needed_blocked": None if self.unneeded is None else sum(1 for u in self.unneeded if u.blocked),
            "solves": self.solves,
        }

    def failure_kinds(self) -> dict[str, int]:
        """How many distinct failing specs of each kind (explain.KINDS, "conflict")."""
        out: dict[str, int] = {}
        for _spec, _n, kind, _why in self.failing_specs():
            out[kind or "other"] = out.get(kind or "other", 0) + 1
        return dict(sorted(out.items(), key=lambda kv: (-kv[1], kv[0])))

    def failing_specs(self) -> list[tuple[str, int, str, str]]:
        """(spec, how many target installs / environments it fails, kind, why), most frequent first."""
        count: dict[str, int] = {}
        why: dict[str, tuple[str, str]] = {}
        checks: list[TargetCheck | EnvCheck] = [*self.targets, *self.envs]
        for c in checks:
            for spec in c.result.failing:
                count[spec] = count.get(spec, 0) + 1
                why.setdefault(spec, c.why.get(spec, ("", "")))
        rows = [(s, n, why[s][0], why[s][1]) for s, n in count.items()]
        return sorted(rows, key=lambda x: (-x[1], x[0]))

    def to_json(self) -> dict[str, Any]:
        return {
            "failing_specs": [{"spec": s, "count": n, "kind": k, "why": w} for s, n, k, w in self.failing_specs()],
            "failure_kinds": self.failure_kinds(),
            "platform": self.pair.target,
            "build_platform": self.pair.build,
            "ok": self.ok,
            "figures": self.figures(),
            "python_variants": list(self.pythons),
            "channel_records": dict(sorted(self.records.items())),
            "targets": [t.to_json() for t in self.targets],
            "envs": [{**e.to_json(), **e.result.to_dict()} for e in self.envs],
            "builders": [b.to_json() for b in self.builders],
            "not_needed": None if self.unneeded is None else [u.to_json() for u in self.unneeded],
            "needed": dict(self.needed),
        }


# -- the channel --------------------------------------------------------------------------------


def _published_noarch(snapshot: Any, fname: str, o: Output) -> bool:
    """A noarch output every render skips unconditionally but the channel index lists: published before."""
    return (
        o.skip
        and bool(o.noarch)
        and o.skip_reason.strip().strip("'\"").lower() in ("true", "yes")
        and fname in snapshot.output_index.get(o.name, ())
    )


def build_channel(
    snapshot: Any, pair: PlatformPair, builds: Sequence[PlannedBuild], availability: Availability | None = None
) -> VirtualChannel:
    """The virtual channel for ``pair`` (module docstring of ``newarch.verify.channel``)."""
    idx = pair_index(snapshot, pair)
    prab = pin_run_as_build(snapshot, pair)
    ch = VirtualChannel()

    def add_render(
        outputs: Sequence[Output],
        subdir: str,
        pidx: Any,
        native: bool,
        origin: Origin,
        keep: Any,
        chosen: dict[str, list[Output]] | None = None,
        gaps: dict[str, str] | None = None,
    ) -> None:
        pins = sibling_exact_pins(outputs)
        sib: dict[str, list[Output]] = {}
        for o in outputs:
            if not o.skip:
                sib.setdefault(o.name, []).append(o)
        taken: dict[str, set[str]] = {}
        for o in outputs:
            if keep(o):
                rec = make_record(
                    o, subdir, pidx, native, pins, prab, sib, taken.setdefault(o.name, set()), chosen, gaps
                )
                ch.add(rec, origin)
                # one rendered variant that siblings pin under several exact build strings (rattler-build
                # hashes it per combination of the siblings' variants): the build makes each of them
                exact = [x for x in pins.get(o.name, ()) if "*" not in x and x != str(rec.build)]
                if len(sib.get(o.name, ())) == 1:
                    for build in exact:
                        ch.add(_with_build(rec, build), origin)

    for b in builds:
        render = b.render
        if not render:
            main = snapshot.feedstocks[b.feedstock].renders.get(pair.key)
            render = main.outputs if main else b.outputs
        mine = {id(o) for o in b.outputs}
        add_render(
            render,
            pair.target,
            idx,
            b.mode == "native",
            Origin("planned", b.feedstock, b.key),
            lambda o, mine=mine: id(o) in mine,
            b.chosen,
            b.gaps,
        )
        for name, text in b.gaps.items():
            ch.gaps.setdefault(name, text)
    # read on the first lookup of each name (``VirtualChannel.named``), so that a solve reads only the
    # feedstocks producing the names it meets, not the whole snapshot:
    avail = availability or Availability()
    existing = [
        (sub, own, pair_index(snapshot, own))
        for sub in EXECUTES.get(pair.target, ())
        if not (avail.sparse.get(sub) or avail.channels)
        for own in [PlatformPair(sub, sub)]
        if own in snapshot.pairs
    ]

    def provide(name: str) -> None:
        producers = snapshot.producers(name)
        # every noarch build the snapshot renders, on any branch (built once elsewhere, installable on
        # every subdir)
        for fname in producers:
            for br in snapshot.feedstocks[fname].builds():
                for key in sorted(br.renders):
                    render = br.renders[key]
                    if name not in render.noarch_names(skipped=True):
                        continue
                    add_render(
                        render.outputs,
                        pair.target,
                        idx,
                        False,
                        Origin("noarch", fname),
                        lambda o, fname=fname: (
                            o.name == name and bool(o.noarch) and (not o.skip or _published_noarch(snapshot, fname, o))
                        ),
                    )
        # what the machine can already run: the emulated subdirs' existing packages (conda-forge builds
        # what its recipes render for a released subdir), unless --available gives real repodata for them
        for sub, own, sidx in existing:
            for fname in producers:
                for br in snapshot.feedstocks[fname].builds():  # maintained release branches publish there too
                    render = br.renders.get(own.key)
                    if render is None or render.error:
                        continue
                    add_render(
                        render.outputs,
                        sub,
                        sidx,
                        True,
                        Origin("existing", fname),
                        lambda o: o.name == name and not o.skip and not o.noarch,
                    )

    ch.set_provider(provide)
    ch.sparse = {k: list(v) for k, v in avail.sparse.items()}
    ch.channels = list(avail.channels)
    return ch


# -- the requests -------------------------------------------------------------------------------


def _with_build(rec: rattler.PackageRecord, build: str) -> rattler.PackageRecord:
    return rattler.PackageRecord(
        rec.name,
        rec.version,
        rattler.BuildString(build),
        rec.build_number,
        rec.subdir,
        noarch=rec.noarch if rec.noarch else None,
        depends=list(rec.depends),
        constrains=list(rec.constrains),
    )


def python_variants(snapshot: Any, pair: PlatformPair, builds: Sequence[PlannedBuild]) -> list[str]:
    """The python variants of the pair: the pinning's, else those the planned outputs are built for."""
    facts = (snapshot.pinning.get("platforms") or {}).get(pair.key) or {}
    values = list((facts.get("values") or {}).get("python") or ())
    if not values:
        values = sorted({o.variant["python"] for b in builds for o in b.outputs if " " in o.variant.get("python", "")})
    return [str(v) for v in values]


def _cross_only(r: Requirement) -> bool:
    cond = r.condition.replace(" ", "")
    return (
        r.name.startswith("cross-python_")
        or "build_platform!=target_platform" in cond
        or "target_platform!=build_platform" in cond
    )


def _norm(spec: str) -> str:
    return normalize_spec(spec) or spec


def _label(o: Output) -> str:
    keys = [k for k in ("python", "freethreading", "license_family") if k in o.variant]
    return ", ".join(f"{k} {o.variant[k]}" for k in keys)


def verify(
    snapshot: Any,
    pair: PlatformPair,
    roots: Sequence[tuple[str, str]],
    builds: Sequence[PlannedBuild],
    availability: Availability | None = None,
    minimal: bool = True,
    gateway: rattler.Gateway | None = None,
    pythons: Sequence[str] = (),
) -> Verification:
    """Solve the targets (``roots``: (target, output name)) and the planned builds' environments."""
    channel = build_channel(snapshot, pair, builds, availability)
    subdirs = [pair.target, NOARCH, *EXECUTES.get(pair.target, ())]
    sources = channel.sources(subdirs)
    pythons = list(pythons) or python_variants(snapshot, pair, builds)
    v = Verification(pair, pythons, {}, builds=len(builds))
    gw = gateway or rattler.Gateway()

    t_reqs = [
        (t, out, py, Request((out,), pair.target, (f"python {py}",) if py else ()))
        for t, out in roots
        for py in (pythons or [""])
    ]
    together = tuple(dict.fromkeys(out for _, out in roots))
    if len(together) > 1:  # ``conda create conda mamba ...``: one environment with every target
        t_reqs += [
            (ALL_TARGETS, " ".join(together), py, Request(together, pair.target, (f"python {py}",) if py else ()))
            for py in (pythons or [""])
        ]
    e_reqs: list[tuple[PlannedBuild, Output, str, Request]] = []
    for b in builds:
        for o in b.outputs:
            host = tuple(dict.fromkeys(_norm(host_spec(o, r.spec)) for r in o.reqs("host")))
            if host:
                e_reqs.append((b, o, "host", Request(host, pair.target)))
            if b.mode == "native":
                bld = tuple(dict.fromkeys(_norm(host_spec(o, r.spec)) for r in o.reqs("build") if not _cross_only(r)))
                if bld:
                    e_reqs.append((b, o, "build", Request(bld, pair.target)))
    requests = [r for *_, r in t_reqs] + [r for *_, r in e_reqs]
    results = solve_many(sources, requests, gw)
    v.solves = len(requests)
    for (t, out, py, _), res in zip(t_reqs, results[: len(t_reqs)], strict=True):
        res = _all_missing(channel, res)
        v.targets.append(TargetCheck(t, out, py, res, _why(channel, snapshot, pair, res)))
    for (b, o, env, _), res in zip(e_reqs, results[len(t_reqs) :], strict=True):
        res = _all_missing(channel, res)
        v.envs.append(EnvCheck(b.key, o.name, _label(o), env, res, _why(channel, snapshot, pair, res)))
    v.builders = _builders(channel, pair, builds, sources, gw, v, availability)
    if minimal:
        v.unneeded = _minimality(channel, builds, results, requests, subdirs, gw, v)
    v.records = {sub: len(recs) for sub, recs in channel.records.items()}  # what the solves read
    return v


def _why(channel: VirtualChannel, snapshot: Any, pair: PlatformPair, r: Result) -> dict[str, tuple[str, str]]:
    """failing spec -> (kind, explanation); kinds in ``explain.KINDS`` or "conflict"."""
    if r.solvable:
        return {}
    out: dict[str, tuple[str, str]] = {}
    for s in r.missing:
        out[s] = explain(channel, snapshot, pair, r.request.subdir, s)
    for s in r.conflicts:
        chain = next((c for c in r.chains if c and c[-1] == s), ())
        via = f" (via {' -> '.join(chain[:-1])})" if len(chain) > 1 else ""
        out[s] = ("conflict", "conflicts with what else the environment needs" + via)
    return out


def _all_missing(channel: VirtualChannel, r: Result) -> Result:
    """The solver names the first dead end; add every other requested spec no record matches at all
    (e.g. both ``openssl 3.5.*`` and ``libffi 3.5.*`` for python's host env)."""
    if r.solvable:
        return r
    missing = [_bare(s) for s in r.missing]
    if not (channel.sparse or channel.channels):
        missing += [s for s in r.request.specs if not channel.matches_any(s, r.request.subdir)]
    missing = list(dict.fromkeys(_bare(s) for s in missing))
    chains = tuple(tuple(c[:-1]) + (_bare(c[-1]),) if c else c for c in r.chains)
    return replace(r, missing=tuple(missing), chains=chains)


def _bare(spec: str) -> str:
    """``vswhere *`` (how the solver prints a bare name) -> ``vswhere``."""
    return spec[:-2] if spec.endswith(" *") and len(spec.split()) == 2 else spec


def _builders(
    channel: VirtualChannel,
    pair: PlatformPair,
    builds: Sequence[PlannedBuild],
    sources: list[Any],
    gw: rattler.Gateway,
    v: Verification,
    availability: Availability | None = None,
) -> list[BuilderCheck]:
    natives = [b for b in builds if b.mode == "native"]
    if not natives:
        return []
    tools = sorted({BUILDER_TOOL.get(b.schema, "conda-build") for b in natives})
    emulated = list(EXECUTES.get(pair.target, ()))
    # on an emulated subdir the tool only has to exist (it does on a released subdir: conda-forge ships
    # it there); on the target it has to install from what the plan builds
    exists = {
        (tool, sub): channel.installable(sub, tool) or tool in (availability.names.get(sub, ()) if availability else ())
        for tool in tools
        for sub in emulated
    }
    reqs = [Request((tool,), pair.target) for tool in tools]
    res = dict(zip([(r.specs[0], r.subdir) for r in reqs], solve_many(sources, reqs, gw), strict=True))
    v.solves += len(reqs)
    machines = [*emulated, pair.target]
    waves = {b.key: b.wave for b in builds}
    out: list[BuilderCheck] = []
    for b in natives:
        tool = BUILDER_TOOL.get(b.schema, "conda-build")
        found: BuilderCheck | None = None
        for sub in machines:
            if sub != pair.target:
                if exists[(tool, sub)]:
                    found = BuilderCheck(b.key, tool, True, f"{tool} for {sub} runs on {pair.target} (emulated)")
                    break
                continue
            r = res[(tool, sub)]
            if not r.solvable:
                continue
            planned = {o.build for rec in r.solution if (o := channel.origin_of(rec)) and o.kind == "planned"}
            ready = max((waves.get(k, 0) for k in planned), default=-1)
            if not planned or ready < b.wave:
                when = f"after wave {ready}" if planned else "from the start"
                found = BuilderCheck(b.key, tool, True, f"{tool} for {pair.target}, installable {when}")
                break
            found = BuilderCheck(
                b.key,
                tool,
                False,
                f"{tool} for {pair.target} needs planned builds up to wave {ready}, but this build is in wave "
                f"{b.wave}; {pair.target} machines run no other subdir's binaries",
            )
        if found is None:
            where = " or ".join(machines)
            found = BuilderCheck(b.key, tool, False, f"no {tool} installable on {where}")
        out.append(found)
    return out


def _minimality(
    channel: VirtualChannel,
    builds: Sequence[PlannedBuild],
    results: Sequence[Result],
    requests: Sequence[Request],
    subdirs: list[str],
    gw: rattler.Gateway,
    v: Verification,
) -> list[Unneeded]:
    """Builds whose removal breaks no solve that succeeded. A solve whose solution holds no record of a
    build still has that solution without it, so only the solves that used the build are redone."""
    users: dict[str, list[int]] = {}
    for i, r in enumerate(results):
        if not r.solvable:
            continue
        for key in {o.build for rec in r.solution if (o := channel.origin_of(rec)) and o.kind == "planned"}:
            users.setdefault(key, []).append(i)
    blocked: dict[str, str] = {}  # package name -> a failing request that asks for it
    for r, req in zip(results, requests, strict=True):
        if r.solvable:
            continue
        todo = [s.split()[0] for s in req.specs] + [e.split()[0] for c in r.chains for e in c if e]
        while todo:  # what the failing environment asks for, transitively (through every record of a name)
            n = todo.pop()
            if n in blocked:
                continue
            blocked[n] = " ".join(req.specs)[:80]
            todo += [d.split()[0] for rec in channel.named_anywhere(n) for d in rec.depends]
    out: dict[str, Unneeded] = {}
    pending: dict[str, tuple[PlannedBuild, VirtualChannel, list[int]]] = {}
    for b in builds:
        idxs = users.get(b.key, [])
        if not idxs:
            hit = next((f"{x.name} (asked for by '{blocked[x.name]}')" for x in b.outputs if x.name in blocked), "")
            reason = (
                f"no solved environment uses it; the environments that need {hit} do not solve"
                if hit
                else "no solved environment uses any of its packages"
            )
            out[b.key] = Unneeded(b.key, reason, b.kept_because, blocked=bool(hit))
            continue
        # asked for by name first: those break first, and one broken solve is enough
        mine = {x.name for x in b.outputs}
        idxs = sorted(idxs, key=lambda i: (not any(x.split()[0] in mine for x in requests[i].specs), i))
        pending[b.key] = (b, channel.without(b.key), idxs)
    # rounds: each undecided build re-solves its next user; a build is needed at its first failure
    per_build: dict[str, list[Result]] = {}
    reduced_of: dict[str, VirtualChannel] = {}
    while pending:
        keys = list(pending)
        jobs = [(pending[k][1].sources(subdirs), requests[pending[k][2][0]]) for k in keys]
        results_round = solve_each(jobs, gw)
        v.solves += len(jobs)
        for k, r in zip(keys, results_round, strict=True):
            b, reduced, idxs = pending[k]
            per_build.setdefault(k, []).append(r)
            reduced_of[k] = reduced
            if not r.solvable:
                v.needed[k] = f"without it {' '.join(r.request.specs)[:100]} fails ({', '.join(r.failing)[:100]})"
                del pending[k]
            elif len(idxs) == 1:
                del pending[k]
            else:
                pending[k] = (b, reduced, idxs[1:])
    for b in builds:
        rs = per_build.get(b.key)
        if not rs or not all(r.solvable for r in rs):
            continue
        reduced = reduced_of[b.key]
        mine = {x.name for x in b.outputs}
        alt = sorted(
            {
                f"{rec.name.normalized} {rec.version} ({o.kind} {o.feedstock})"
                for r in rs
                for rec in r.solution
                if rec.name.normalized in mine and (o := reduced.origin_of(rec)) and o.kind != "planned"
            }
        )
        how = f"; the solver takes {', '.join(alt)} instead" if alt else ""
        hit = next((f"{x.name} (asked for by '{blocked[x.name]}')" for x in b.outputs if x.name in blocked), "")
        also = f"; environments that do not solve need {hit}" if hit else ""
        out[b.key] = Unneeded(
            b.key,
            f"the {len(rs)} solve(s) using it still succeed without it{how}{also}",
            b.kept_because,
            blocked=bool(hit),
        )
    return [out[b.key] for b in builds if b.key in out]
