"""The virtual channel a plan would create, as py-rattler records.

For one platform pair it holds what already exists (``--available`` repodata, read by py-rattler),
every noarch build the snapshot renders (built once elsewhere, installable everywhere) and every
build the plan would make for the target. Each build is a ``rattler.PackageRecord`` written the way
conda-build / rattler-build would write its ``index.json``:

* ``depends`` = the output's rendered run requirements (unpinned ones that the variant pins and
  ``pin_run_as_build`` names are pinned, e.g. ``python`` -> ``python >=3.14,<3.15.0a0``) plus the
  run_exports of its host deps (weak + strong) and build deps (strong), minus ``ignore_run_exports``
  and ``ignore_run_exports_from``; a noarch output takes the ``noarch`` run_exports of its host deps.
* ``constrains`` = ``run_constraints``.

Build strings. The snapshot does not store an output's build string, so it is reconstructed from the
recipe facts and conda-forge's conventions, in this order (``docs/verify.md``):

1. an exact ``pin_subpackage`` of the output by a sibling output of the same feedstock and version
   (rattler-build renders those with the real build string, e.g. ``libmamba ==2.6.1 h8bc80fe_0``);
2. a build-string glob the output promises for itself (a run_export of its own name, e.g.
   ``m2-conda-epoch 20250515 *_x86_64``): ``{build_number}_x86_64``;
3. ``python``: ``h{hash}_{bn}_{abi}`` with the ABI tag of its own ``python_abi`` run dependency
   (``h{hash}_{bn}_cpython`` before python 3.13, as python-feedstock's older branches write it);
   ``python_abi``: ``{bn}_{python_abi_tag}``; a ``license_family`` variant: ``{family}_h{hash}_{bn}``
   (libarchive) — the build strings those feedstocks' recipes set;
4. otherwise conda-build's default: ``py{XY}h{hash}_{bn}`` for outputs with a python variant,
   ``pyh{hash}_{bn}`` for noarch python, ``h{hash}_{bn}`` for the rest.

The hash is a digest of the variant (stable, not conda-build's exact hash): only its shape matters.
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from functools import partial
from typing import Any, Literal, cast

import rattler

from newarch.model import Output, PlatformPair, dep_name
from newarch.plan.graph import RUN_EXPORT_KINDS_FROM, PairIndex
from newarch.plan.specs import version_matches
from newarch.render.jinja import apply_pin_expressions, ensure_valid_spec

NOARCH = "noarch"
CHANNEL_URL = "https://newarch.invalid/virtual"
# conda-build's default pin_run_as_build (conda_build.variants.DEFAULT_VARIANTS); conda-forge's pinning
# adds a few rarely used ones (libblst, netcdf-cxx4, vlfeat) read from the snapshot when stored there.
PIN_RUN_AS_BUILD: dict[str, tuple[str, str]] = {"python": ("x.x", "x.x"), "r-base": ("x.x", "x.x")}


@dataclass(slots=True)
class PlannedBuild:
    """One build job of the plan for the target: a feedstock's branch and the outputs it builds."""

    feedstock: str
    branch: str
    outputs: list[Output]
    mode: str = "cross"  # "cross" | "native"
    wave: int = 0
    schema: str = "v0"
    kept_because: str = ""  # why the planner kept it (who needs it), for the minimality report
    version: str = ""  # the branch's recipe version
    # every output of the branch's render for the pair, skipped ones too (siblings pin each other's build
    # strings); empty: main's render
    render: list[Output] = field(default_factory=list)
    # dependency name -> the outputs of the builds the plan chose for it (a release branch where a pin
    # asks for one): their run_exports are the ones this build gets from its host/build deps
    chosen: dict[str, list[Output]] = field(default_factory=dict)
    # dependency name -> the plan's gap for it ("python:python asks 'libffi 3.5.*' in host ..."): no build
    # meets the spec, so what it would run-export is not known (the record depends on the bare name)
    gaps: dict[str, str] = field(default_factory=dict)

    @property
    def key(self) -> str:
        return self.feedstock if self.branch == "main" else f"{self.feedstock}@{self.branch}"


def planned_builds(plan: Any) -> list[PlannedBuild]:
    """The plan's build jobs for its pair, one PlannedBuild each. The one place verify reads the plan's
    data model (``newarch.plan.model``): ``plan.feedstocks`` is keyed by job id (``openssl``,
    ``openssl@3.5.x``); a job builds the non-skipped compiled outputs of its branch's render, for the
    python variants the plan chose for it (``PlannedFeedstock.variants``)."""
    out: list[PlannedBuild] = []
    snap = plan.snapshot
    for jid, pf in plan.feedstocks.items():
        fname = pf.feedstock or jid
        fs = snap.feedstocks[fname]
        branch = fs.branches.get(pf.branch) if pf.branch != "main" else None
        render = (branch.renders if branch is not None else fs.renders).get(plan.pair.key)
        allouts = list(render.outputs) if render else []
        pys = set(pf.variants.get("python", ()))
        outs = [
            o
            for o in allouts
            if not o.skip and not o.noarch and (not pys or "python" not in o.variant or o.variant["python"] in pys)
        ]
        out.append(
            PlannedBuild(
                fname,
                pf.branch,
                outs,
                pf.mode,
                pf.wave,
                branch.schema if branch is not None else fs.schema,
                _kept_because(plan, jid),
                pf.version or (branch.version if branch is not None else fs.version),
                allouts,
                _chosen(plan, pf),
                {g.name: g.text() for g in reversed(plan.gaps) if g.job == jid},
            )
        )
    return out


def _chosen(plan: Any, pf: Any) -> dict[str, list[Output]]:
    """dep name -> outputs of that name of the jobs / noarch builds the plan chose for it."""
    found: dict[str, list[Output]] = {}
    for name, refs in pf.dep_targets.items():
        outs: list[Output] = []
        for kind, key in refs:
            if kind == "fs":
                job = plan.feedstocks.get(key)
                outs += [o for o in (job.outs if job is not None else ()) if o.name == name]
            else:
                node = plan.noarch.get(key)
                outs += [o for o in (node.outs if node is not None else ()) if o.name == name]
        if outs:
            found[name] = outs
    return found


def _kept_because(plan: Any, name: str, limit: int = 3) -> str:
    """Who the graph walk says needs feedstock ``name``: targets and the first edges of its consumers."""
    pf = plan.feedstocks[name]
    parts: list[str] = []
    targets = [t for t, o in plan.roots if o in pf.outputs]
    if targets:
        parts.append("target " + ", ".join(dict.fromkeys(targets)))
    mine = set(pf.outputs)
    for node in plan.noarch.values():
        hit = [d for d in node.deps if d in mine]
        if hit:
            parts.append(f"noarch {node.name} (run: {', '.join(hit)})")
    for other in plan.feedstocks.values():
        edges = other.need_edges.get(name) if other.name != name else None
        if edges:
            e = edges[0]
            via = f" via {e.via}" if e.via else ""
            parts.append(f"{other.name} ({e.output} {e.section}{via}: {e.spec})")
    more = f" and {len(parts) - limit} more" if len(parts) > limit else ""
    return "; ".join(parts[:limit]) + more


@dataclass(slots=True)
class Origin:
    """Where a record of the virtual channel comes from."""

    kind: str  # "planned" | "noarch" | "existing"
    feedstock: str = ""
    build: str = ""  # PlannedBuild.key for planned records


@dataclass(slots=True)
class _Records:
    """The records of a virtual channel, shared by the channel and its views (:meth:`VirtualChannel.without`).

    ``provider(name)`` adds the records of a package name that are not known up front (the noarch
    builds and the existing packages of the whole snapshot); it is called once per name, on the first
    lookup, so a solve reads the snapshot only for the names it meets."""

    records: dict[str, list[rattler.RepoDataRecord]] = field(default_factory=dict)
    origins: dict[str, Origin] = field(default_factory=dict)  # "subdir/file name" -> origin
    by_name: dict[tuple[str, str], list[rattler.RepoDataRecord]] = field(default_factory=dict)
    subdirs: dict[str, set[str]] = field(default_factory=dict)  # name -> subdirs holding it
    provider: Callable[[str], None] | None = None
    loaded: set[str] = field(default_factory=set)
    lock: threading.RLock = field(default_factory=threading.RLock)  # a name is read whole before it is seen


@dataclass(slots=True)
class VirtualChannel:
    """Records per subdir, with where each comes from. ``sparse`` are ``--available`` repodata files."""

    store: _Records = field(default_factory=_Records)
    sparse: dict[str, list[rattler.SparseRepoData]] = field(default_factory=dict)
    channels: list[str] = field(default_factory=list)
    gaps: dict[str, str] = field(default_factory=dict)  # name -> the plan's gap for it (first one)
    excluded: str = ""  # a view without this planned build's records (PlannedBuild.key)

    def add(self, record: rattler.PackageRecord, origin: Origin) -> bool:
        """Add a record (once per subdir/name/version/build); False when already there."""
        st = self.store
        subdir = str(record.subdir)
        fn = f"{record.name.normalized}-{record.version}-{record.build}.conda"
        key = f"{subdir}/{fn}"
        if key in st.origins:
            return False
        st.origins[key] = origin
        rec = rattler.RepoDataRecord(record, fn, f"{CHANNEL_URL}/{key}", CHANNEL_URL)
        name = record.name.normalized
        st.records.setdefault(subdir, []).append(rec)
        st.by_name.setdefault((subdir, name), []).append(rec)
        st.subdirs.setdefault(name, set()).add(subdir)
        return True

    def set_provider(self, provider: Callable[[str], None]) -> None:
        self.store.provider = provider

    def origin_of(self, record: rattler.RepoDataRecord) -> Origin | None:
        return self.store.origins.get(f"{record.subdir}/{record.file_name}")

    def _visible(self, rec: rattler.RepoDataRecord) -> bool:
        return not self.excluded or (o := self.origin_of(rec)) is None or o.build != self.excluded

    def without(self, build_key: str) -> VirtualChannel:
        """The same channel without one planned build's records (a view: records found later are shared)."""
        return VirtualChannel(self.store, self.sparse, self.channels, self.gaps, build_key)

    def _ensure(self, name: str) -> None:
        st = self.store
        if st.provider is None or name in st.loaded:
            return
        with st.lock:
            if name not in st.loaded:
                st.provider(name)
                st.loaded.add(name)

    def named(self, subdir: str, name: str) -> list[rattler.RepoDataRecord]:
        """The records of package ``name`` for ``subdir`` (exactly that subdir)."""
        self._ensure(name)
        return [r for r in self.store.by_name.get((subdir, name), ()) if self._visible(r)]

    def named_anywhere(self, name: str) -> list[rattler.RepoDataRecord]:
        """The records of package ``name`` in every subdir."""
        self._ensure(name)
        return [r for sub in sorted(self.store.subdirs.get(name, ())) for r in self.named(sub, name)]

    @property
    def records(self) -> dict[str, list[rattler.RepoDataRecord]]:
        """The records known so far, per subdir (the planned builds, and what lookups have read)."""
        return {sub: [r for r in recs if self._visible(r)] for sub, recs in self.store.records.items()}

    # rattler.RepoDataSource protocol
    async def fetch_package_records(self, platform: Any, name: Any) -> list[rattler.RepoDataRecord]:
        return self.named(str(platform), name.normalized)

    def package_names(self, platform: Any) -> list[str]:
        """Names known so far for ``platform`` (rattler's solve asks records by name, not this)."""
        return sorted({n for n, subs in self.store.subdirs.items() if str(platform) in subs})

    def matches_any(self, spec: str, subdir: str) -> bool:
        """Whether some record of ``subdir`` or noarch satisfies ``spec`` on its own."""
        try:
            ms = rattler.MatchSpec(spec)
        except Exception:
            return False
        name = dep_name(spec)
        if name.startswith("__"):
            return True
        return any(ms.matches(r) for sub in (subdir, NOARCH) for r in self.named(sub, name))

    def installable(self, subdir: str, name: str) -> bool:
        """Whether this channel's own records have ``name`` for ``subdir`` (its subdir or noarch)."""
        return bool(self.named(subdir, name) or self.named(NOARCH, name))

    def sources(self, subdirs: Iterable[str]) -> list[Any]:
        wanted = list(subdirs)
        out: list[Any] = [self]
        out += [s for sub in wanted for s in self.sparse.get(sub, ())]
        out += [rattler.Channel(u) for u in self.channels]
        return out


# -- build strings ------------------------------------------------------------------------------


def _digest(o: Output, extra: Iterable[str] = ()) -> str:
    text = json.dumps([o.name, o.version, sorted(o.variant.items()), sorted(extra)], sort_keys=True)
    return hashlib.sha1(text.encode()).hexdigest()[:7]


def _py_tag(o: Output) -> str:
    """``314`` for an output built against a ``python 3.14.* *_cp314`` variant, else ''."""
    py = o.variant.get("python", "")
    ver = py.split(" ")[0].rstrip(".*")
    parts = ver.split(".")
    return parts[0] + parts[1] if len(parts) >= 2 and all(p.isdigit() for p in parts[:2]) else ""


def _glob_fill(glob: str, fill: str) -> str:
    """A build string matching ``glob`` (``*_x86_64`` with fill ``0`` -> ``0_x86_64``)."""
    return glob.replace("*", fill, 1).replace("*", "")


def build_string(
    o: Output, sibling_pins: dict[str, list[str]], depends: Iterable[str] = (), bn: int | None = None
) -> str:
    """The build string of output ``o`` (rules in the module docstring). ``depends`` make noarch builds
    of different content (one per OS, per ``python_min``) distinct; ``bn`` overrides the build number."""
    bn = o.build_number if bn is None else bn
    h = _digest(o, depends if o.noarch else ())
    tag = _py_tag(o)
    pinned = [b for b in sibling_pins.get(o.name, []) if not b.startswith("*")]
    fit = [b for b in pinned if tag and b.startswith(f"py{tag}")] if tag else pinned
    if len(fit) == 1:
        return fit[0]
    for specs in o.run_exports.values():
        for spec in specs:
            parts = spec.split()
            if dep_name(spec) == o.name and len(parts) >= 3 and "*" in parts[2]:
                return _glob_fill(parts[2], str(bn))
    if o.name == "python":
        # python-feedstock's branches before 3.13 end the string in ``_cpython``; 3.13+ in the ABI tag
        parts = (o.version or "").split(".")
        if len(parts) >= 2 and parts[0].isdigit() and parts[1].isdigit() and (int(parts[0]), int(parts[1])) < (3, 13):
            return f"h{h}_{bn}_cpython"
        for r in o.reqs("run"):
            parts = r.spec.split()
            if r.name == "python_abi" and len(parts) >= 3:
                return f"h{h}_{bn}_{parts[2].lstrip('*').lstrip('_')}"
    if o.name == "python_abi" and o.variant.get("python_abi_tag"):
        return f"{bn}_{o.variant['python_abi_tag']}"
    if o.variant.get("license_family"):
        return f"{o.variant['license_family']}_h{h}_{bn}"
    if o.noarch == "python":
        return f"pyh{h}_{bn}"
    if tag and not o.noarch:
        return f"py{tag}h{h}_{bn}"
    return f"h{h}_{bn}"


def sibling_exact_pins(outputs: Iterable[Output]) -> dict[str, list[str]]:
    """Build strings the outputs of one render pin each other to: name -> build strings. Exact pins
    (``libmamba ==2.6.1 h8bc80fe_0``) and build-number globs (``zlib 1.3.2 *_2``, from a
    ``run_constraints`` of a sibling) both count; the latter also tell the build number."""
    found: dict[str, list[str]] = {}
    outs = list(outputs)
    versions = {o.name: o.version for o in outs}
    for o in outs:
        for reqs in o.requirements.values():
            for r in reqs:
                parts = r.spec.split()
                if r.name in versions and len(parts) == 3 and parts[1].lstrip("=") == versions[r.name]:
                    b = parts[2]
                    if ("*" not in b or (b.startswith("*_") and b[2:].isdigit())) and b not in found.setdefault(
                        r.name, []
                    ):
                        found[r.name].append(b)
    return found


def build_number_of(o: Output, pins: dict[str, list[str]]) -> int:
    """The output's build number, or the one its siblings pin it to (``*_2``, ``h..._2``) when the render
    did not record it."""
    if o.build_number:
        return o.build_number
    for b in pins.get(o.name, ()):
        tail = b.rsplit("_", 1)[-1]
        if tail.isdigit():
            return int(tail)
    return 0


# -- specs as conda-build writes them ------------------------------------------------------------


def variant_value(o: Output, name: str) -> str:
    """The variant's value for a dependency ``name`` (variant keys spell ``-`` as ``_``)."""
    return o.variant.get(name) or o.variant.get(name.replace("-", "_"), "")


def host_spec(o: Output, spec: str) -> str:
    """A host/build requirement as conda-build solves it: an unpinned name the variant pins gets the
    variant's value (``openssl`` -> ``openssl 3.5.*``)."""
    name = dep_name(spec)
    if spec.strip() != name:
        return spec
    value = variant_value(o, name)
    return ensure_valid_spec(f"{name} {value}") if value else spec


def python_independent(o: Output) -> bool:
    """A build made once for the lowest python (``is_python_min`` / ``is_abi3`` variants): its python run
    requirement is not pinned and python's ``python_abi`` run_export does not apply (rattler-build's
    ``python: version_independent``)."""
    return any(str(o.variant.get(k, "")).lower() == "true" for k in ("is_python_min", "is_abi3"))


def run_spec(o: Output, spec: str, pin_run_as_build: dict[str, tuple[str, str]]) -> str:
    """A run requirement as written to ``index.json``: pin_run_as_build applied to unpinned names, except
    python for a build made once for the lowest python (``is_python_min`` / ``is_abi3`` variants, e.g.
    maturin's ``python: version_independent``), as the planner reads them (``plan.specs.serves_python``)."""
    name = dep_name(spec)
    if spec.strip() != name or name not in pin_run_as_build or o.noarch:
        return spec
    if name == "python" and python_independent(o):
        return spec  # built once for the lowest python (abi3 / version_independent): serves every newer one
    value = variant_value(o, name).split(" ")[0]
    if not value:
        return spec
    lo, hi = pin_run_as_build[name]
    pin = apply_pin_expressions(value.rstrip(".*"), lo, hi)
    return f"{name} {pin}" if pin else spec


def depends_of(
    o: Output,
    idx: PairIndex,
    native: bool,
    prab: dict[str, tuple[str, str]],
    siblings: dict[str, list[Output]] | None = None,
    pins: dict[str, list[str]] | None = None,
    chosen: dict[str, list[Output]] | None = None,
    gaps: dict[str, str] | None = None,
) -> list[str]:
    """``depends`` of a built output (module docstring). run_exports of a name the same render produces
    come from that sibling output (the build installs its own fresh package), else from the builds the
    plan chose for the name (``chosen``: e.g. ``openssl@3.5.x`` for ``openssl 3.5.*``), else the index.
    A host/build dep the plan has as a gap (``gaps``: no build meets its spec) exports the names the
    index's build exports, unpinned: the dependency is known, its version is not."""
    deps: dict[str, None] = {}
    for r in o.reqs("run"):
        deps[run_spec(o, r.spec, prab)] = None
    irf = set(o.ignore_run_exports_from)
    ire = set(o.ignore_run_exports) | ({"python_abi"} if python_independent(o) else set())
    sib = siblings or {}
    envs = (("host", "noarch"),) if o.noarch else (("host", "host"), ("build", "build"))
    for section, env in envs:
        kinds = RUN_EXPORT_KINDS_FROM[env]
        for r in o.reqs(section):
            if r.name in irf:
                continue
            cross_build = env == "build" and not native
            own = sib.get(r.name) if not cross_build else None
            picked = (chosen or {}).get(r.name) if not cross_build else None
            spec = r.spec if env == "build" else host_spec(o, r.spec)
            tiers: list[list[Output] | Callable[[], list[Output]]]
            if own:
                tiers = [own]
            elif cross_build:
                tiers = [list(idx.on_build(r.name))]
            else:  # the plan's choice, then main's build, then the provider's release branches
                tiers = [picked or [], list(idx.resolve(r.name).outputs), partial(branch_outputs, idx, r.name)]
            fit: list[Output] = []
            for tier in tiers:
                fit = [c for c in (tier() if callable(tier) else tier) if _matches(spec, c, pins)]
                if fit:
                    break
            if not fit and gaps and r.name in gaps:  # no build meets it: the name is known, the version not
                for _kind, name, _spec in idx.exports(r.name, env, False):
                    if name not in ire and name != o.name:
                        deps[name] = None
                continue
            if not fit and (own or picked):  # the build string could not tell: the version still can
                mine = own or picked or []
                fit = [c for c in mine if version_matches(spec, c.name, c.version)] or mine
            if fit:
                exported = [
                    (k, dep_name(x), x) for c in fit for k, xs in c.run_exports.items() if k in kinds for x in xs
                ]
            else:
                exported = list(idx.exports(r.name, env, cross_build))
            for _kind, name, spec in exported:
                if name not in ire and name != o.name:
                    deps[spec] = None
    return list(deps)


def branch_outputs(idx: PairIndex, name: str) -> list[Output]:
    """Non-skipped outputs ``name`` the release branches of its providing feedstock render for the pair."""
    fs = idx.snapshot.feedstocks.get(idx.resolve(name).feedstock or "")
    if fs is None:
        return []
    found: list[Output] = []
    for b in fs.branches.values():
        render = b.renders.get(idx.pair.key)
        found += [o for o in (render.outputs if render else ()) if o.name == name and not o.skip]
    return found


_SPEC_CACHE: dict[str, str | None] = {}
_MS_CACHE: dict[str, rattler.MatchSpec | None] = {}


_REC_CACHE: dict[tuple[int, int], tuple[Output, Any, rattler.PackageRecord]] = {}


def _matches(spec: str, o: Output, pins: dict[str, list[str]] | None = None) -> bool:
    """Whether the package output ``o`` would satisfy ``spec`` (so its run_exports apply):
    e.g. ``python 3.14.* *_cp314`` picks the GIL python, not the free-threading one."""
    if len(spec.split()) < 2:
        return True  # a bare name matches every build of it
    try:
        ms = _MS_CACHE[spec]
    except KeyError:
        try:
            ms = rattler.MatchSpec(spec)
        except Exception:
            ms = None
        _MS_CACHE[spec] = ms
    if ms is None:
        return False
    key = (id(o), id(pins))
    hit = _REC_CACHE.get(key)
    if hit is None or hit[0] is not o or hit[1] is not pins:
        rec = rattler.PackageRecord(
            o.name, o.version or "0", rattler.BuildString(build_string(o, pins or {})), o.build_number, "noarch"
        )
        if len(_REC_CACHE) > 200_000:
            _REC_CACHE.clear()
        hit = _REC_CACHE[key] = (o, pins, rec)
    return bool(ms.matches(hit[2]))


def normalize_spec(spec: str) -> str | None:
    """A spec as py-rattler's solver reads it (``vcomp14 14.44.35208 *`` -> ``vcomp14 ==14.44.35208 *``);
    None when it is not a match spec at all."""
    hit = _SPEC_CACHE.get(spec, "")
    if hit == "":
        try:
            hit = str(rattler.MatchSpec(spec))
        except Exception:
            hit = None
        _SPEC_CACHE[spec] = hit
    return hit


def _specs(specs: Iterable[str]) -> list[str]:
    return [n for s in specs if (n := normalize_spec(s)) is not None]


def make_record(
    o: Output,
    subdir: str,
    idx: PairIndex,
    native: bool,
    pins: dict[str, list[str]],
    prab: dict[str, tuple[str, str]],
    siblings: dict[str, list[Output]] | None = None,
    taken: set[str] | None = None,
    chosen: dict[str, list[Output]] | None = None,
    gaps: dict[str, str] | None = None,
) -> rattler.PackageRecord:
    """The record conda-build / rattler-build would index for output ``o``. ``taken``: build strings
    already used by other variants of the same name in this build (a pin that cannot tell variants
    apart is then not used twice)."""
    noarch = cast(Literal["python", "generic"] | None, o.noarch or None)  # Output.noarch: "", python, generic
    depends = _specs(depends_of(o, idx, native, prab, siblings, pins, chosen, gaps))
    bn = build_number_of(o, pins)
    build = build_string(o, pins, depends, bn)
    if taken is not None:
        if build in taken:
            build = build_string(o, {}, depends, bn)
        taken.add(build)
    return rattler.PackageRecord(
        o.name,
        o.version or "0",
        rattler.BuildString(build),
        bn,
        NOARCH if noarch else subdir,
        noarch=noarch,
        depends=depends,
        constrains=_specs(r.spec for r in o.reqs("run_constraints")),
    )


def pin_run_as_build(snapshot: Any, pair: PlatformPair) -> dict[str, tuple[str, str]]:
    """conda-build's defaults plus the snapshot pinning's ``pin_run_as_build`` for the pair, if stored."""
    out = dict(PIN_RUN_AS_BUILD)
    facts = (snapshot.pinning.get("platforms") or {}).get(pair.key) or {}
    for name, d in (facts.get("pin_run_as_build") or {}).items():
        if isinstance(d, dict):
            out[str(name)] = (d.get("min_pin") or "", d.get("max_pin") or "")
    return out
