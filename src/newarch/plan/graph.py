"""Output names -> feedstocks for one platform pair, and the typed dependency edges between them.

The index reads a name's producers (``Snapshot.producers``, an index query in a store) the first
time the planner asks for it and caches the answer, so a plan reads only what its walk reaches. Resolution order for a name (issue 4):

0. the consuming feedstock itself produces the name for the pair (an internal dependency);
1. feedstocks whose render for the pair has a non-skipped output of that name; when several do,
   the one named like the output, then one listed for the name in ``output_index``, then the first
   by name — and the choice is reported;
2. the name is only produced skipped for the pair -> ``skipped`` (not needed, reported);
3. ``Snapshot.output_index`` (a channel-wide map) for names no rendered recipe provides;
4. nothing -> ``unknown``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from newarch.model import Feedstock, Output, PlatformPair, RenderResult, dep_name
from newarch.store.snapshot import Snapshot

# Kinds of a Resolution.
RENDERED = "rendered"  # a feedstock renders the name for the pair
SKIPPED = "skipped"  # produced for the pair only as a skipped output
UNRENDERED = "unrendered"  # output_index names a feedstock of the snapshot without a usable render
EXTERNAL = "external"  # output_index names feedstocks that are not in the snapshot
VIRTUAL = "virtual"  # __glibc, __win, ...: provided by the system
UNKNOWN = "unknown"  # nobody provides it

# Run-exports kinds that add run dependencies, by the environment the exporting package is in.
# "noarch": what a noarch output takes from its host deps.
RUN_EXPORT_KINDS_FROM = {"host": ("weak", "strong"), "build": ("strong",), "noarch": ("noarch",)}


@dataclass(frozen=True, slots=True)
class Edge:
    """One dependency of one output of ``src_feedstock`` on the output name ``dep_output``.

    ``section`` is host / run / build / run_exports. For run_exports, ``via`` names the package
    whose run_exports added the dependency and the environment it was in ("vs2022_win-arm64 (build, strong)").
    ``dst_feedstock`` is the feedstock the name resolved to ("" when nobody provides it).
    """

    src_feedstock: str
    dst_feedstock: str
    output: str
    dep_output: str
    section: str
    spec: str
    condition: str = ""
    via: str = ""

    def to_dict(self) -> dict[str, str]:
        d = {
            "from": self.src_feedstock,
            "to": self.dst_feedstock,
            "output": self.output,
            "dep": self.dep_output,
            "section": self.section,
            "spec": self.spec,
        }
        if self.condition:
            d["condition"] = self.condition
        if self.via:
            d["via"] = self.via
        return d

    def label(self) -> str:
        """``mamba:libmambapy --host--> libmamba >=2 [if win]``."""
        via = f" via {self.via}" if self.via else ""
        cond = f" [{self.condition}]" if self.condition else ""
        return f"{self.src_feedstock}:{self.output} --{self.section}{via}--> {self.spec}{cond}"


@dataclass(frozen=True, slots=True)
class Resolution:
    name: str
    kind: str
    feedstock: str = ""
    outputs: tuple[Output, ...] = ()  # the variants of the name in the feedstock's render for the pair
    candidates: tuple[str, ...] = ()  # every feedstock that could provide it
    reason: str = ""  # why this feedstock (when there was a choice) or why none
    noarch: bool = False  # every rendered variant is noarch (then no target-platform build is needed)


@dataclass(slots=True)
class PairIndex:
    """What the snapshot produces for one pair, read lazily: a name is looked up through
    ``Snapshot.producers(name)`` (an index query in a store) the first time the plan asks for it, so a
    plan reads only the feedstocks its walk reaches."""

    snapshot: Snapshot
    pair: PlatformPair
    # name -> feedstock -> non-skipped output variants in that feedstock's render for the pair
    _produced: dict[str, dict[str, list[Output]]] = field(default_factory=dict)
    # name -> feedstocks rendering it for the pair, but skipped
    _skipped: dict[str, list[str]] = field(default_factory=dict)
    # name -> non-skipped outputs of that name rendered (any branch) for the build platform as target
    _on_build: dict[str, list[Output]] = field(default_factory=dict)
    # name -> non-skipped outputs of that name in any render of any branch
    _anywhere: dict[str, list[Output]] = field(default_factory=dict)
    # feedstock -> its main render's outputs for the pair (non-skipped), None without a render
    _fouts: dict[str, list[Output] | None] = field(default_factory=dict)
    _cache: dict[str, Resolution] = field(default_factory=dict)
    _rex: dict[tuple[str, str, bool], tuple[tuple[str, str, str], ...]] = field(default_factory=dict)

    @classmethod
    def build(cls, snapshot: Snapshot, pair: PlatformPair) -> PairIndex:
        return cls(snapshot, pair)

    # -- lazy reads ---------------------------------------------------------------------------
    def _load(self, name: str) -> None:
        """Read what the producers of ``name`` render of it for the pair (main) and for the build
        platform as target (any branch): two renders of each, whatever else the snapshot holds."""
        produced: dict[str, list[Output]] = {}
        skipped: list[str] = []
        on_build: list[Output] = []
        key, build = self.pair.key, self.pair.build
        for fname, fs in self._producers(name):
            mine = fs.renders.get(key)
            for o in mine.outputs if mine is not None else ():
                if o.name != name:
                    continue
                if o.skip:
                    if fname not in skipped:
                        skipped.append(fname)
                else:
                    produced.setdefault(fname, []).append(o)
            for render in _every_render(fs):
                if render.pair.target == build:
                    on_build.extend(o for o in render.outputs if o.name == name and not o.skip)
        self._produced[name] = produced
        self._skipped[name] = skipped
        self._on_build[name] = on_build

    def _producers(self, name: str) -> list[tuple[str, Feedstock]]:
        feedstocks = self.snapshot.feedstocks
        return [(f, fs) for f in self.snapshot.producers(name) if (fs := feedstocks.get(f)) is not None]

    def producing(self, name: str) -> dict[str, list[Output]]:
        """feedstock -> its non-skipped outputs ``name`` in main's render for the pair."""
        if name not in self._produced:
            self._load(name)
        return self._produced[name]

    def skipped_by(self, name: str) -> list[str]:
        """Feedstocks whose main render for the pair has ``name`` only skipped."""
        if name not in self._skipped:
            self._load(name)
        return self._skipped[name]

    def on_build(self, name: str) -> list[Output]:
        """Non-skipped outputs ``name`` rendered (by any branch) for the build platform as target."""
        if name not in self._on_build:
            self._load(name)
        return self._on_build[name]

    def outputs_of(self, feedstock: str) -> list[Output] | None:
        """The non-skipped outputs of main's render of ``feedstock`` for the pair (None: no render)."""
        if feedstock not in self._fouts:
            fs = self.snapshot.feedstocks.get(feedstock)
            render = fs.renders.get(self.pair.key) if fs is not None else None
            self._fouts[feedstock] = None if render is None else [o for o in render.outputs if not o.skip]
        return self._fouts[feedstock]

    # -- resolution -------------------------------------------------------------------------
    def resolve(self, name: str) -> Resolution:
        r = self._cache.get(name)
        if r is None:
            r = self._cache[name] = self._resolve(name)
        return r

    def _resolve(self, name: str) -> Resolution:
        if name.startswith("__"):
            return Resolution(name, VIRTUAL, reason="virtual package provided by the system")
        provs = self.producing(name)
        index = self.snapshot.output_index.get(name, ())
        if provs:
            cands = tuple(sorted(provs))
            if len(cands) == 1:
                chosen, reason = cands[0], ""
            elif name in provs:
                chosen = name
                reason = f"{len(cands)} feedstocks render '{name}' for {self.pair}; chose the one named like the output"
            else:
                listed = [c for c in cands if c in index]
                chosen = listed[0] if listed else cands[0]
                how = "listed in the output index" if listed else "first by name"
                reason = f"{len(cands)} feedstocks render '{name}' for {self.pair}; chose {chosen} ({how})"
            outs = tuple(provs[chosen])
            noarch = all(o.noarch for o in outs)
            if not noarch:
                fallback, where = self._noarch_fallback(chosen, name)
                if fallback:
                    note = (
                        f"the {self.pair.target} render builds '{name}' compiled, but {chosen} also builds a "
                        f"noarch variant of it ({where}) that installs on {self.pair.target}"
                    )
                    return Resolution(
                        name, RENDERED, chosen, fallback, cands, f"{reason}; {note}" if reason else note, True
                    )
            return Resolution(name, RENDERED, chosen, outs, cands, reason, noarch)
        if self.skipped_by(name):
            fs = tuple(sorted(self.skipped_by(name)))
            for f in fs:  # a noarch build made elsewhere installs here too (m2-* packages, built on win-64)
                fallback, where = self._noarch_fallback(f, name)
                if fallback:
                    return Resolution(
                        name,
                        RENDERED,
                        f,
                        fallback,
                        fs,
                        f"'{name}' is skipped in the {self.pair.target} render of {f}, but its noarch "
                        f"build ({where}) installs on {self.pair.target}",
                        True,
                    )
            for f in fs:  # kept in the recipe but skipped everywhere: published by an earlier build
                outs = self._published_noarch(f, name)
                if outs:
                    return Resolution(
                        name,
                        RENDERED,
                        f,
                        outs,
                        fs,
                        f"'{name}' is noarch and every render of {f} skips it "
                        f"(skip: {outs[0].skip_reason or 'true'}); the output index lists it under "
                        f"{f}, so an earlier build published it and it installs on {self.pair.target}",
                        True,
                    )
            return Resolution(
                name, SKIPPED, fs[0], (), fs, f"'{name}' is skipped for {self.pair.target} by {', '.join(fs)}"
            )
        if index:
            inside = [f for f in index if f in self.snapshot.feedstocks]
            if inside:
                f = name if name in inside else sorted(inside)[0]
                if f in self.snapshot.failures:
                    why = f"could not be read: {self.snapshot.failures[f]}"
                else:
                    render = self.snapshot.feedstocks[f].renders.get(self.pair.key)
                    if render is None:
                        why = f"has no render for {self.pair}"
                    elif render.error:
                        why = f"failed to render for {self.pair}: {render.error}"
                    else:
                        why = f"renders no output '{name}' for {self.pair}"
                return Resolution(
                    name,
                    UNRENDERED,
                    f,
                    (),
                    tuple(sorted(index)),
                    f"'{name}' comes from feedstock {f} (output index), which {why}",
                )
            return Resolution(
                name,
                EXTERNAL,
                "",
                (),
                tuple(sorted(index)),
                f"'{name}' comes from {', '.join(sorted(index))}, which is not in the snapshot "
                "(what it needs, and whether it is noarch, is unknown)",
            )
        return Resolution(name, UNKNOWN, reason=f"no feedstock in the snapshot or the output index produces '{name}'")

    def _noarch_fallback(self, feedstock: str, name: str) -> tuple[tuple[Output, ...], str]:
        """Noarch variants of ``name`` the feedstock builds for other pairs (conda-forge's "python
        noarch variants": compiled where possible plus one noarch fallback built on linux-64),
        unless they are restricted to another OS by a virtual-package run dependency."""
        fs = self.snapshot.feedstocks.get(feedstock)
        if fs is None:
            return (), ""
        other_os = _OTHER_OS.get(self.pair.target.split("-")[0], ())
        for key in sorted(fs.renders):
            if key == self.pair.key or name not in fs.renders[key].noarch_names():
                continue
            outs = tuple(
                o
                for o in fs.renders[key].outputs
                if o.name == name and o.noarch and not o.skip and not any(r.name in other_os for r in o.reqs("run"))
            )
            if outs:
                return outs, f"rendered for {fs.renders[key].pair}"
        return (), ""

    def _published_noarch(self, feedstock: str, name: str) -> tuple[Output, ...]:
        """The skipped noarch outputs ``name`` of ``feedstock`` when no render builds it at all and the
        channel's output index lists it under this feedstock (e.g. m2-binary-packages keeps already
        published msys2 repackages in its recipe with ``skip: true``)."""
        if feedstock not in self.snapshot.output_index.get(name, ()):
            return ()
        fs = self.snapshot.feedstocks.get(feedstock)
        if fs is None:
            return ()
        outs = [o for r in fs.renders.values() for o in r.outputs if o.name == name]
        if not outs or not all(o.noarch and o.skip and _unconditional(o.skip_reason) for o in outs):
            return ()
        mine = fs.renders.get(self.pair.key)
        here = tuple(o for o in (mine.outputs if mine else ()) if o.name == name)
        return here or (outs[0],)

    def produces(self, feedstock: str, name: str) -> bool:
        return feedstock in self.producing(name)

    # -- the build platform -----------------------------------------------------------------
    def exists_on_build(self, name: str) -> bool:
        """Does a package of this name exist (or get built) for the build platform?

        True when a feedstock renders it non-skipped for a pair whose target is the build platform,
        or the channel-wide output index knows it (conda-forge builds it somewhere).
        """
        if name.startswith("__"):
            return True
        return bool(self.on_build(name)) or name in self.snapshot.output_index

    # -- run_exports --------------------------------------------------------------------------
    def run_exports_of(self, name: str, prefer_build: bool = False) -> list[tuple[str, str]]:
        """``[(kind, spec)]`` of the outputs named ``name``: the pair's render first, then the build
        platform's renders (``prefer_build`` swaps the two), then any render of the snapshot."""
        r = self.resolve(name)
        sources: list[list[Output]] = []
        pair_outs = list(r.outputs) if r.kind == RENDERED else []
        build_outs = self.on_build(name)
        sources = [build_outs, pair_outs] if prefer_build else [pair_outs, build_outs]
        for outs in sources:
            if outs:
                return _union_run_exports(outs)
        return _union_run_exports(self.anywhere(name))

    def exports(self, name: str, env: str, prefer_build: bool = False) -> tuple[tuple[str, str, str], ...]:
        """``((kind, dep name, spec), ...)`` that a package ``name`` in environment ``env`` (host, build,
        or "noarch" for a noarch output's host) adds to the run requirements. Cached."""
        key = (name, env, prefer_build)
        hit = self._rex.get(key)
        if hit is None:
            kinds = RUN_EXPORT_KINDS_FROM[env]
            hit = self._rex[key] = tuple(
                (k, dep_name(s), s) for k, s in self.run_exports_of(name, prefer_build) if k in kinds
            )
        return hit

    def anywhere(self, name: str) -> list[Output]:
        """Non-skipped outputs ``name`` in any render of any branch of the snapshot (reads every render
        of its producers: only for what the pair and the build platform do not answer)."""
        hit = self._anywhere.get(name)
        if hit is None:
            hit = self._anywhere[name] = [
                o
                for _, fs in self._producers(name)
                for render in _every_render(fs)
                for o in render.outputs
                if o.name == name and not o.skip
            ]
        return hit

    def has_noarch(self, name: str) -> bool:
        """Does any render of any producer build ``name`` as noarch (without reading the outputs)?"""
        return any(name in render.noarch_names() for _, fs in self._producers(name) for render in _every_render(fs))


def _every_render(fs: Feedstock) -> list[RenderResult]:
    """The renders of ``main`` and then of each release branch (in the snapshot's branch order)."""
    return [r for renders in (fs.renders, *(b.renders for b in fs.branches.values())) for r in renders.values()]


def _unconditional(skip_reason: str) -> bool:
    """``skip: true`` written as such (not a platform or variant condition)."""
    return skip_reason.strip().strip("'\"").lower() in ("true", "yes")


def _union_run_exports(outs: list[Output]) -> list[tuple[str, str]]:
    seen: dict[tuple[str, str], None] = {}
    for o in outs:
        for kind, specs in o.run_exports.items():
            for s in specs:
                seen[(kind, s)] = None
    return list(seen)


# Virtual packages that restrict a noarch package to other operating systems than the key.
_OTHER_OS = {
    "win": ("__unix", "__linux", "__osx", "__glibc"),
    "linux": ("__win", "__osx"),
    "osx": ("__win", "__linux", "__glibc"),
}

_INDEX_CACHE: dict[tuple[int, str], tuple[Snapshot, PairIndex]] = {}


def pair_index(snapshot: Snapshot, pair: PlatformPair) -> PairIndex:
    """The (cached) index of ``snapshot`` for ``pair``."""
    key = (id(snapshot), pair.key)
    hit = _INDEX_CACHE.get(key)
    if hit is not None and hit[0] is snapshot:
        return hit[1]
    if len(_INDEX_CACHE) > 8:
        _INDEX_CACHE.clear()
    idx = PairIndex.build(snapshot, pair)
    _INDEX_CACHE[key] = (snapshot, idx)
    return idx


def exported_names(specs: list[tuple[str, str]], kinds: tuple[str, ...]) -> list[tuple[str, str, str]]:
    """``[(kind, name, spec)]`` of run_exports of the given kinds."""
    return [(k, dep_name(s), s) for k, s in specs if k in kinds]
