"""The closure: from the targets, every build job (feedstock@branch) and noarch node needed, in BFS order.

Each dependency is a spec asked by an output for a python variant (``deps.Dep``); ``resolve.Resolver``
picks the build that serves it per variant, or reports a gap. A build of a job builds all of its
non-skipped compiled outputs for the pair (for the python variants the plan covers), so the
requirements of all of them are followed. Auto mode: per job, cross when every build dep exists on
the build platform, native otherwise; what the build platform has is decided per subdir (its renders
in the snapshot, or ``--available-build`` repodata), never from the output->feedstock map alone.
"""

from __future__ import annotations

from collections import deque

from newarch.model import Output, PlatformPair, Requirement
from newarch.plan.deps import Dep, cross_only, deps_built, deps_noarch
from newarch.plan.graph import RENDERED, VIRTUAL, PairIndex, Resolution
from newarch.plan.model import (
    Choice,
    Gap,
    Need,
    NoarchNode,
    Plan,
    PlannedFeedstock,
    PlanOptions,
    Ref,
    ToolchainItem,
    UnknownDep,
    job_id,
)
from newarch.plan.resolve import BuildChoice, Resolver, Unsatisfied, _vkey
from newarch.plan.specs import free_threaded, output_python, python_fits, serves_python, version_matches
from newarch.store.snapshot import Snapshot

YES, MISSING, UNKNOWN = "yes", "missing", "unknown"


def _one_python(
    chosen: list[tuple[frozenset[str], BuildChoice | Unsatisfied]],
) -> list[tuple[frozenset[str], BuildChoice | Unsatisfied]]:
    """Of the per-variant choices for a dependency of an output built for no particular python: the
    build serving the newest variant that has one (a build-time python), else every gap."""
    ok = [(g, c) for g, c in chosen if isinstance(c, BuildChoice)]
    if not ok:
        return chosen
    g, c = max(ok, key=lambda gc: max((_vkey(p) for p in gc[0]), default=(0, "")))
    newest = max(g, key=_vkey) if g else None
    return [(frozenset((newest,)) if newest is not None else g, c)]


class Closure:
    def __init__(
        self,
        snapshot: Snapshot,
        options: PlanOptions,
        pair: PlatformPair,
        idx: PairIndex,
        pythons: dict[str, str],
        resolver: Resolver | None = None,
    ) -> None:
        self.snap = snapshot
        self.opt = options
        self.pair = pair
        self.idx = idx
        self._branches_planned: dict[str, list[str]] = {}  # feedstock -> branches it has a job for
        self.pythons = pythons
        self.P = frozenset(pythons)
        self.resolver = resolver or Resolver(idx)  # its memos are keyed by the python set: reusable
        self.plan = Plan(snapshot, options, pair, idx, list(options.targets))
        self.plan.python_variants = list(pythons.values())
        self.plan.exports = self.resolver.exports
        self.queue: deque[tuple[str, str, frozenset[str]]] = deque()
        self.unknown: dict[str, UnknownDep] = {}
        self.toolchain: dict[str, ToolchainItem] = {}
        self.gaps: dict[tuple[str, str, str], Gap] = {}
        self.available = options.available
        self.ignore = options.ignore
        self._status: dict[str, str] = {}
        # python minors the reached jobs render (minor -> (spelling, feedstocks)), covered or not
        self.rendered_pythons: dict[str, tuple[str, set[str]]] = {}

    # -- the build platform ------------------------------------------------------------------------
    def build_status(self, name: str) -> str:
        """yes / missing / unknown: does ``name`` exist for the build platform's subdir?"""
        hit = self._status.get(name)
        if hit is not None:
            return hit
        idx = self.idx
        if name.startswith("__") or idx.on_build(name):
            st = YES
        elif self.opt.available_build is not None:
            st = YES if name in self.opt.available_build else MISSING
        elif idx.has_noarch(name) or any(
            name in r.noarch_names(skipped=True)
            for f in self.snap.output_index.get(name, ())
            if f in self.snap.feedstocks
            for r in self.snap.feedstocks[f].renders.values()
        ):
            st = YES  # a noarch package installs on every subdir
        else:
            owners = set(self.snap.output_index.get(name, ())) | set(idx.producing(name))
            rendered_there = any(
                r.pair.target == self.pair.build
                for f in owners
                if f in self.snap.feedstocks
                for r in self.snap.feedstocks[f].renders.values()
            )
            st = MISSING if rendered_there or not owners else UNKNOWN
        self._status[name] = st
        return st

    # -- bookkeeping --------------------------------------------------------------------------------
    def _unknown(self, name: str, who: str, reason: str, kind: str) -> None:
        u = self.unknown.get(name)
        if u is None:
            u = self.unknown[name] = UnknownDep(name, [], reason, kind)
        if who not in u.needed_by:
            u.needed_by.append(who)

    def _consume(
        self,
        deps: list[Dep],
        who: str,
        sink: dict[str, list[Ref]],
        parent: tuple[str, str],
        ctx: frozenset[str],
        at: tuple[str, str],
        one: bool = False,
    ) -> None:
        """``who`` (a feedstock name or "target") depends on each of ``deps``; ``sink`` gets the nodes chosen.
        ``at``: (job id, recipe file) for gaps. ``one``: a compiled build; an output of it that is not
        built per python (no python in its variant) needs one python, not one per variant."""
        plan = self.plan
        resolve = self.idx.resolve
        P = self.P
        for d in deps:
            name = d.name
            if name in self.available:
                plan.available_hits.setdefault(name, []).append(who)
                continue
            r = resolve(name)
            if self.ignore and (name in self.ignore or r.feedstock in self.ignore):
                plan.ignored_hits.setdefault(name, []).append(who)
                continue
            if r.kind != RENDERED and r.kind != VIRTUAL:
                self._unknown(name, who, r.reason, r.kind)
            if name not in plan.needed:
                plan.needed[name] = Need(name, r, parent)
            if r.kind != RENDERED:
                continue
            pys = frozenset((d.python,)) if d.python is not None and d.python in P else ctx
            refs = sink.setdefault(name, [])
            chosen = self.resolver.choose(r, d.spec, pys)
            if one and d.python is None and len(chosen) > 1:
                chosen = _one_python(chosen)
            for group, choice in chosen:
                if isinstance(choice, Unsatisfied):
                    self._gap(d, who, at, choice, group)
                    continue
                choice = self._prefer_planned(r, d.spec, choice, group)
                ref = self._take(choice, name, group, parent)
                if ref not in refs:
                    refs.append(ref)

    def _prefer_planned(self, r: Resolution, spec: str, choice: BuildChoice, group: frozenset[str]) -> BuildChoice:
        """A build the plan already makes that satisfies ``spec`` serves it too: the run_exports of
        ``openssl@3.5.x`` in python's host (``openssl >=3.5.6,<4.0a0``) must not add a build of main."""
        if choice.noarch:
            return choice
        for branch in self._branches_planned.get(choice.feedstock, ()):
            if branch == choice.branch:
                continue
            b = next((x for x in self.resolver.builds(choice.feedstock) if x.name == branch), None)
            if b is None:
                continue
            compiled, _noarch = self.resolver.candidates(r, b)
            fit = tuple(
                o
                for o in compiled
                if version_matches(spec, r.name, o.version) and all(serves_python(o, py) for py in group)
            )
            if fit:
                return BuildChoice(choice.feedstock, b.name, fit[0].version or b.version, False, fit)
        return choice

    def _gap(self, d: Dep, who: str, at: tuple[str, str], u: Unsatisfied, group: frozenset[str]) -> None:
        key = (at[0], d.name, d.spec)
        g = self.gaps.get(key)
        py = sorted(self.pythons.get(p, p) for p in group) if group and group != self.P else []
        if g is None:
            self.gaps[key] = Gap(
                d.name,
                d.spec,
                who,
                at[0],
                d.output,
                d.section + (f" (run_exports of {d.via})" if d.section == "run_exports" and d.via else ""),
                f"{at[1] or '?'}:{d.line or '?'}" if at[1] or d.line else "",
                u.feedstock,
                list(u.versions),
                u.suggestion,
                py,
                u.noarch,
            )
        elif g.python:
            union = set(g.python) | set(py)
            g.python = sorted(union) if py and union != set(self.pythons.values()) else []

    def _take(self, c: BuildChoice, name: str, pys: frozenset[str], parent: tuple[str, str]) -> Ref:
        plan = self.plan
        if c.noarch:
            key = job_id(name, c.branch)
            node = plan.noarch.get(key)
            if node is None:
                node = plan.noarch[key] = NoarchNode(
                    name, c.feedstock, c.branch, c.version, set(pys), [], c.outputs, parent, {}, plan
                )
                self.queue.append(("noarch", key, pys))
            else:
                more = tuple(o for o in c.outputs if all(o is not x for x in node.outs))
                if more:  # another noarch variant of the same build, for other pythons
                    node.outs = (*node.outs, *more)
                    node.pythons |= pys
                    self.queue.append(("noarch", key, pys))
                else:
                    new = pys - node.pythons
                    if new:
                        node.pythons |= new
                        self.queue.append(("noarch", key, frozenset(new)))
            return ("noarch", key)
        jid = job_id(c.feedstock, c.branch)
        fs = plan.feedstocks.get(jid)
        if fs is None:
            fs = self._new_job(c.feedstock, c.branch, c.version, name, parent)
            self.queue.append(("fs", jid, frozenset()))
        elif name not in fs.needed_outputs:
            fs.needed_outputs.append(name)
        return ("fs", jid)

    # -- the run ------------------------------------------------------------------------------------
    def run(self) -> Plan:
        for t in self.opt.targets:
            self._add_target(t)
        while self.queue:
            kind, key, pys = self.queue.popleft()
            if kind == "fs":
                fs = self.plan.feedstocks[key]
                deps = deps_built(
                    self.idx, fs.outs, fs.mode == "native", fs.cross_only, set(fs.outputs), self.resolver.exports
                )
                fs.deps = list(dict.fromkeys(d.name for d in deps))
                self._consume(deps, fs.feedstock, fs.dep_targets, ("fs", key), self.P, (key, fs.recipe_file), one=True)
            else:
                node = self.plan.noarch[key]
                recipe = self._recipe_file(node.feedstock, node.branch)
                for out in node.outs:  # each noarch variant's run deps, for the pythons it installs next to
                    fits = frozenset(p for p in pys if python_fits(out, p)) if pys else pys
                    if pys and not fits:
                        continue
                    deps = deps_noarch(self.idx, [out])
                    node.deps = list(dict.fromkeys([*node.deps, *(d.name for d in deps)]))
                    self._consume(deps, node.feedstock, node.dep_targets, ("noarch", key), fits, (key, recipe))
        plan = self.plan
        plan.unknown = sorted(self.unknown.values(), key=lambda u: u.name)
        plan.toolchain = sorted(self.toolchain.values(), key=lambda t: t.name)
        plan.gaps = sorted(self.gaps.values(), key=lambda g: (g.name, g.needed_by, g.spec))
        for name, need in plan.needed.items():
            r = need.resolution
            if r.kind == RENDERED and len(r.candidates) > 1:
                plan.choices.append(Choice(name, r.feedstock, list(r.candidates), r.reason))
        return plan

    def _recipe_file(self, fname: str, branch: str) -> str:
        fs = self.snap.feedstocks.get(fname)
        if fs is None:
            return ""
        if branch == "main":
            return fs.recipe_file
        b = fs.branches.get(branch)
        return b.recipe_file if b else ""

    def _add_target(self, t: str) -> None:
        plan = self.plan
        if t in self.ignore:
            plan.ignored_hits.setdefault(t, []).append("target")
            return
        r = self.idx.resolve(t)
        sink: dict[str, list[Ref]] = {}
        if r.kind == RENDERED or t not in self.snap.feedstocks:
            plan.roots.append((t, t))
            self._consume([Dep(t, t, "target", 0, t, None)], "target", sink, ("target", t), self.P, ("target", ""))
        else:  # a feedstock name: all its outputs for the pair
            outs = self.idx.outputs_of(t)
            if outs is None:
                render = self.snap.feedstocks[t].renders.get(self.pair.key)
                why = (
                    f"failed to render for {self.pair}: {render.error}"
                    if render and render.error
                    else f"has no render for {self.pair}"
                )
                self._unknown(t, "target", f"target feedstock {t} {why}", "target")
                return
            if not outs:
                self._unknown(t, "target", f"target feedstock {t} skips every output for {self.pair.target}", "target")
                return
            for name in dict.fromkeys(o.name for o in outs):
                plan.roots.append((t, name))
                self._consume(
                    [Dep(name, name, "target", 0, name, None)], "target", sink, ("target", t), self.P, ("target", "")
                )
        for refs in sink.values():
            for ref in refs:
                plan.root_nodes.append((t, ref))

    def _new_job(
        self, fname: str, branch: str, version: str, needed_output: str, parent: tuple[str, str]
    ) -> PlannedFeedstock:
        P = self.P
        b = next((x for x in self.resolver.builds(fname) if x.name == branch), None)
        allouts = self.resolver.branch_outputs(fname, b) if b is not None else []
        for o in allouts if branch == "main" else ():  # migrations live on main; old branches pin old pythons
            if not o.noarch and "python" in o.variant and fname != "python":
                m = output_python(o)
                if m is not None:
                    m += "t" if free_threaded(o.variant["python"]) else ""
                    self.rendered_pythons.setdefault(m, (o.variant["python"], set()))[1].add(fname)
        outs = [o for o in allouts if not o.noarch and (not P or any(serves_python(o, p) for p in P))]
        own = list(dict.fromkeys(o.name for o in outs))
        pys = sorted({o.variant["python"] for o in outs if "python" in o.variant})
        jid = job_id(fname, branch)
        fs = PlannedFeedstock(
            jid,
            outputs=own,
            needed_outputs=[needed_output],
            parent_name=needed_output,
            feedstock=fname,
            branch=branch,
            version=(b.version if b is not None and b.version else version),
            variants={"python": pys} if pys else {},
            recipe_file=b.recipe_file if b is not None else "",
            parent=parent,
            outs=outs,
            plan=self.plan,
        )
        self.plan.feedstocks[jid] = fs
        self._branches_planned.setdefault(fname, []).append(branch)
        fs.mode, fs.mode_reason, fs.cross_only = self._decide_mode(fname, jid, outs)
        return fs

    def _decide_mode(self, fname: str, jid: str, outs: list[Output]) -> tuple[str, str, frozenset[Requirement]]:
        builds = [req for o in outs for req in o.requirements.get("build", ())]
        cross = frozenset(r for r in builds if cross_only(r))
        if not self.pair.cross:
            return "native", f"target and build platform are both {self.pair.target}", cross
        mode = self.opt.mode
        if mode == "native":
            return "native", "native mode requested", cross
        # what the feedstock already builds with on the build platform itself exists there (from conda-forge
        # or another channel its CI uses, e.g. msys2's posix); only the others need checking
        native = self.snap.feedstocks[fname].renders.get(f"{self.pair.build}:{self.pair.build}")
        used_on_build = {
            r.name for o in (native.outputs if native else ()) if not o.skip for r in o.requirements.get("build", ())
        }
        status = {r.name: self.build_status(r.name) for r in builds if r.name not in used_on_build}
        missing = [n for n, s in status.items() if s == MISSING]
        unknown = [n for n, s in status.items() if s == UNKNOWN]
        for m in missing + unknown:
            item = self.toolchain.get(m)
            if item is None:
                item = self.toolchain[m] = ToolchainItem(
                    m, self.pair.build, [], "native" if mode == "auto" and m in missing else "", status[m]
                )
            item.needed_by.append(jid)
        unk = (
            f"; {', '.join(unknown)}: unknown on {self.pair.build} (no render or repodata of {self.pair.build} "
            "places it; --available-build decides)"
            if unknown
            else ""
        )
        if mode == "cross":
            if missing:
                return "cross", f"cross mode requested; missing on {self.pair.build}: {', '.join(missing)}{unk}", cross
            return "cross", f"cross mode requested{unk}", cross
        configured = self.snap.feedstocks[fname].settings.configured(self.pair.target)
        if configured:  # conda-forge.yml says how conda-forge builds it today: that is a fact, not a guess
            how = "cross-compiled" if configured == "cross" else "built natively"
            return (
                configured,
                f"conda-forge.yml already has it {how} for {self.pair.target}"
                + (
                    f" (though {', '.join(missing)} does not exist for {self.pair.build})"
                    if missing and configured == "cross"
                    else ""
                ),
                cross,
            )
        if missing:
            return (
                "native",
                f"{', '.join(missing)} does not exist for {self.pair.build}, so it cannot be cross-compiled "
                f"from {self.pair.build}",
                cross,
            )
        if unknown:
            return "cross", f"every build dependency known on {self.pair.build} exists there{unk}", cross
        return "cross", f"every build dependency exists on {self.pair.build}", cross
