"""Spec -> build choice: which branch of which feedstock satisfies a requirement, per python variant.

A need is a requirement spec (a ``rattler.MatchSpec``) asked by an output built for a python variant
(or for every variant the plan covers). The providing feedstock comes from ``graph.PairIndex``; its
builds are ``main`` and its rendered release branches. For each python variant the choice is the
first build (``main``, then branches newest first) with

1. a noarch output of that name whose version satisfies the spec and whose run requirements on
   python fit the variant (a noarch build is made once elsewhere and installs here), else
2. a compiled output for the pair whose version satisfies the spec, built for that python (or for
   no python).

No build satisfying it is a gap: the spec, the versions the branches do build, and the newest commit
of the recipe history whose version line satisfies the spec.
"""

from __future__ import annotations

from dataclasses import dataclass

from rattler import Version

from newarch.model import Branch, Feedstock, Output
from newarch.model import Requirement
from newarch.model import dep_name
from newarch.store.snapshot import Snapshot
from newarch.plan.graph import _OTHER_OS, RENDERED, RUN_EXPORT_KINDS_FROM, PairIndex, Resolution
from newarch.plan.specs import (
    free_threaded,
    output_python,
    py_minor,
    python_bound,
    python_fits,
    serves_python,
    version_matches,
)


@dataclass(frozen=True, slots=True)
class BuildChoice:
    feedstock: str
    branch: str
    version: str
    noarch: bool
    outputs: tuple[Output, ...]  # noarch: the noarch outputs chosen; compiled: the matching outputs


@dataclass(frozen=True, slots=True)
class Unsatisfied:
    """No build of ``feedstock`` satisfies the spec (for the python variants it is returned with)."""

    feedstock: str
    versions: tuple[str, ...]
    suggestion: str
    noarch: bool = False  # every build of the name is noarch (older published builds may serve it)


def _vkey(v: str) -> tuple[int, Version | str]:
    try:
        return (1, Version(v))
    except Exception:  # noqa: BLE001 - not a conda version: sort by text after the real ones
        return (0, v)


def python_variants(snapshot: Snapshot, idx: PairIndex, wanted: tuple[str, ...] = ()) -> dict[str, str]:
    """minor -> spelling of the python variants a plan starts from: the pinning's python values for the
    pair, or the ``--python`` subset of them and of what the python feedstock builds for the pair (an
    unknown one is an error). The planner then adds the variants the reached feedstocks' own migrations
    render (``more_python_variants``)."""
    pinned: dict[str, str] = {}
    plat = (snapshot.pinning.get("platforms") or {}).get(idx.pair.key) or {}
    for v in (plat.get("values") or {}).get("python", ()) or ():
        pinned.setdefault(py_minor(str(v)), str(v))
    if wanted:
        every = dict(pinned)
        for m in sorted(_python_builds(snapshot, idx), key=_vkey):
            every.setdefault(m, m)
        want = {py_minor(w) for w in wanted}
        unknown = sorted(want - set(every), key=_vkey)
        if unknown and every:
            raise ValueError(
                f"--python {', '.join(unknown)}: no python build for {idx.pair} (pinning and python builds: "
                f"{', '.join(sorted(every, key=_vkey))})"
            )
        pinned = {k: v for k, v in every.items() if k in want} if every else {w: w for w in sorted(want)}
    return dict(sorted(pinned.items(), key=lambda kv: _vkey(kv[0])))


def more_python_variants(
    snapshot: Snapshot, idx: PairIndex, covered: dict[str, str], rendered: dict[str, tuple[str, set[str]]]
) -> tuple[dict[str, str], dict[str, list[str]]]:
    """Of the python minors the reached feedstocks render beyond ``covered`` (minor -> (spelling,
    feedstocks)): the ones a build of the python feedstock serves for the pair (a migration such as
    python 3.14 on osx-arm64: covered from now on), and the ones none does (pywin32's 3.12 on win-arm64:
    left out, minor -> feedstocks). Without any python build in the snapshot every rendered one counts."""
    served = _python_builds(snapshot, idx)
    add: dict[str, str] = {}
    left: dict[str, list[str]] = {}
    for m, (spelled, by) in rendered.items():
        if m in covered or m.rstrip("t") in covered:  # 3.14t beside a covered 3.14 is built with it
            continue
        if free_threaded(spelled):  # a free-threading ABI variant (3.13t): only when pinned or asked
            left[m] = sorted(by)
        elif m in served or not served:
            add[m] = spelled
        else:
            left[m] = sorted(by)
    return add, dict(sorted(left.items(), key=lambda kv: _vkey(kv[0])))


def _python_builds(snapshot: Snapshot, idx: PairIndex) -> set[str]:
    """The python minors the python feedstock's builds (main and branches) make for the pair."""
    r = idx.resolve("python")
    fs = snapshot.feedstocks.get(r.feedstock or "python")
    if fs is None:
        return set()
    found: set[str] = set()
    for b in (fs.main, *fs.branches.values()):
        render = idx.outputs_of(fs.name) if b.name == "main" else None
        outs = (
            render
            if render is not None
            else [o for o in getattr(b.renders.get(idx.pair.key), "outputs", ()) if not o.skip]
        )
        for o in outs:
            if o.name == "python":
                m = output_python(o)
                if m:
                    found.add(m)
    return found


class Resolver:
    def __init__(self, idx: PairIndex) -> None:
        self.idx = idx
        self.snapshot = idx.snapshot
        self.pair = idx.pair
        self._builds: dict[str, list[Branch]] = {}
        self._cands: dict[tuple[str, str, str], tuple[tuple[Output, ...], tuple[Output, ...]]] = {}
        self._memo: dict[tuple[str, str, frozenset[str]], list[tuple[frozenset[str], BuildChoice | Unsatisfied]]] = {}
        self._rex: dict[tuple[str, str, str, bool, str | None], tuple[tuple[str, str, str], ...]] = {}

    def exports(
        self, req: Requirement, env: str, prefer_build: bool, py: str | None
    ) -> tuple[tuple[str, str, str], ...]:
        """The run_exports the build chosen for ``req`` (in ``env`` of an output built for python ``py``)
        adds: a release branch's own render when the spec picks that branch; nothing when no build
        satisfies the spec (a gap: what it would export is not known); build-platform tools of a cross
        build (``prefer_build``) and names no render places keep the index's answer."""
        key = (req.name, req.spec, env, prefer_build, py)
        hit = self._rex.get(key)
        if hit is not None:
            return hit
        idx = self.idx
        r = idx.resolve(req.name)
        if prefer_build or r.kind != RENDERED:
            hit = idx.exports(req.name, env, prefer_build)
        else:
            chosen = [c for _, c in self.choose(r, req.spec, frozenset((py,)) if py else frozenset())]
            ok = [c for c in chosen if isinstance(c, BuildChoice)]
            if not ok:
                hit = ()
            elif ok[0].branch == "main":
                hit = idx.exports(req.name, env, prefer_build)
            else:
                kinds = RUN_EXPORT_KINDS_FROM[env]
                seen: dict[tuple[str, str], None] = {}
                for o in ok[0].outputs:
                    for kind, specs in o.run_exports.items():
                        for spec in specs:
                            seen[(kind, spec)] = None
                hit = tuple((k, dep_name(s), s) for k, s in seen if k in kinds)
        self._rex[key] = hit
        return hit

    def builds(self, fname: str) -> list[Branch]:
        """``main`` first, then the rendered release branches, newest version first."""
        hit = self._builds.get(fname)
        if hit is None:
            fs = self.snapshot.feedstocks.get(fname)
            if fs is None:
                hit = []
            else:
                rel = sorted(fs.branches.values(), key=lambda b: (_vkey(b.version), b.name), reverse=True)
                hit = [fs.main, *rel]
            self._builds[fname] = hit
        return hit

    def branch_outputs(self, fname: str, branch: Branch) -> list[Output]:
        """The non-skipped outputs of a branch's render for the pair."""
        if branch.name == "main":
            return list(self.idx.outputs_of(fname) or ())
        r = branch.renders.get(self.pair.key)
        return [o for o in r.outputs if not o.skip] if r else []

    def candidates(self, r: Resolution, branch: Branch) -> tuple[tuple[Output, ...], tuple[Output, ...]]:
        """(compiled, noarch) outputs named ``r.name`` a build of ``branch`` gives the pair."""
        key = (r.feedstock, branch.name, r.name)
        hit = self._cands.get(key)
        if hit is not None:
            return hit
        name = r.name
        if branch.name == "main":
            compiled = tuple(o for o in self.idx.producing(name).get(r.feedstock, ()) if not o.noarch)
            noarch = tuple(r.outputs) if r.noarch else ()
            if not noarch:
                noarch = tuple(o for o in self.idx.producing(name).get(r.feedstock, ()) if o.noarch)
        else:
            mine = branch.renders.get(self.pair.key)
            outs = [o for o in (mine.outputs if mine else ()) if o.name == name and not o.skip]
            compiled = tuple(o for o in outs if not o.noarch)
            noarch = tuple(o for o in outs if o.noarch)
            if not noarch:  # a noarch build made for another pair of the same branch
                other_os = _OTHER_OS.get(self.pair.target.split("-")[0], ())
                for k in sorted(branch.renders):
                    if name not in branch.renders[k].noarch_names():
                        continue
                    noarch = tuple(
                        o
                        for o in branch.renders[k].outputs
                        if o.name == name
                        and o.noarch
                        and not o.skip
                        and not any(x.name in other_os for x in o.reqs("run"))
                    )
                    if noarch:
                        break
        hit = self._cands[key] = (compiled, noarch)
        return hit

    def choose(
        self, r: Resolution, spec: str, pythons: frozenset[str]
    ) -> list[tuple[frozenset[str], BuildChoice | Unsatisfied]]:
        """For each group of python variants: the build that serves ``spec`` there, or why none does."""
        key = (r.name, spec, pythons)
        hit = self._memo.get(key)
        if hit is not None:
            return hit
        builds = self.builds(r.feedstock)
        cands = [(b, *self.candidates(r, b)) for b in builds]
        py_dependent = any(output_python(o) is not None for _, c, _n in cands for o in c) or any(
            python_bound(o) for _, _c, n in cands for o in n
        )
        groups: dict[object, set[str]] = {}
        results: dict[object, BuildChoice | Unsatisfied] = {}
        for py in sorted(pythons) if (py_dependent and pythons) else [None]:
            choice: BuildChoice | Unsatisfied | None = None
            for b, compiled, noarch in cands:
                nf = tuple(
                    o for o in noarch if version_matches(spec, r.name, o.version) and (py is None or python_fits(o, py))
                )
                if nf:
                    choice = BuildChoice(r.feedstock, b.name, nf[0].version or b.version, True, nf)
                    break
                cf = tuple(
                    o
                    for o in compiled
                    if version_matches(spec, r.name, o.version) and (py is None or serves_python(o, py))
                )
                if cf:
                    choice = BuildChoice(r.feedstock, b.name, cf[0].version or b.version, False, cf)
                    break
            if choice is None:
                choice = self._unsatisfied(r, spec, cands)
            k = (
                (choice.feedstock, choice.branch, choice.noarch, tuple(id(o) for o in choice.outputs))
                if isinstance(choice, BuildChoice)
                else "gap"
            )
            groups.setdefault(k, set())
            if py is not None:
                groups[k].add(py)
            results[k] = choice
        out = [(frozenset(groups[k]) if py_dependent and pythons else pythons, results[k]) for k in results]
        self._memo[key] = out
        return out

    def _unsatisfied(
        self, r: Resolution, spec: str, cands: list[tuple[Branch, tuple[Output, ...], tuple[Output, ...]]]
    ) -> Unsatisfied:
        versions: dict[str, None] = {}
        for b, compiled, noarch in cands:
            for o in compiled:
                versions[f"{o.version or '?'} ({b.name})"] = None
            for o in noarch:
                req = next((x.spec for x in o.reqs("run") if x.name == "python"), "")
                extra = f", noarch: {req}" if req and python_bound(o) else ", noarch"
                versions[f"{o.version or '?'} ({b.name}{extra})"] = None
        only_noarch = any(n for _b, _c, n in cands) and not any(c for _b, c, _n in cands)
        return Unsatisfied(
            r.feedstock,
            tuple(versions),
            suggestion(self.snapshot.feedstocks.get(r.feedstock), r.name, spec),
            only_noarch,
        )


def suggestion(fs: Feedstock | None, name: str, spec: str) -> str:
    """The newest commit of the recipe history whose version line satisfies ``spec``."""
    if fs is None:
        return ""
    for h in fs.history:
        if h.version and version_matches(spec, name, h.version):
            when = f" ({h.date[:10]})" if h.date else ""
            return f"{name} {h.version} at commit {h.commit[:7]}{when}: build it from that commit on a branch"
    if fs.history:
        return f"no commit in the recipe history of {fs.name} ({len(fs.history)} touching the recipe) has a version matching '{spec}'"
    if fs.source == "git":
        return f"the snapshot has no recipe history of {fs.name}"
    return ""
