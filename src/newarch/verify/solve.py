"""Installability: a real py-rattler solve against the given repodata (target subdir + noarch).

The answer is either a solution or the specs that make the request fail, taken from the solver's
explanation: *missing* (no package matches at all, e.g. ``ucrt >=10, for which no candidates were
found``) and *conflicting* (a candidate exists but clashes with what else is required).
"""

from __future__ import annotations

import asyncio
import datetime
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import rattler
from rattler.exceptions import SolverError

from newarch.sources.availability import NOARCH, Availability
from newarch.errors import NewarchError
from newarch.model import dep_name

SOLVE_TIMEOUT = datetime.timedelta(seconds=120)

# The virtual packages a fresh machine of each OS offers. Versions are the conservative ones
# conda-forge builds for; ``__cuda`` and ``__archspec`` are left out on purpose (nothing on the
# bootstrap path needs them and they would hide missing-GPU problems behind a machine detail).
_VIRTUAL: dict[str, tuple[tuple[str, str, str], ...]] = {
    "win": (("__win", "0", "0"),),
    "linux": (("__unix", "0", "0"), ("__linux", "5.10", "0"), ("__glibc", "2.28", "0")),
    "osx": (("__unix", "0", "0"), ("__osx", "11.0", "0")),
}

_MISSING_TOP = re.compile(r"No candidates were found for (?P<spec>.+?)\.?$")
_MISSING_LEAF = re.compile(r"^(?P<spec>.+?), for which no candidates were found")
_CONFLICT = re.compile(r"^(?P<spec>.+?), which conflicts with")
_TREE_CHARS = "│├└─ \t"


@dataclass(frozen=True, slots=True)
class SolveOutcome:
    """The result of solving ``specs`` on ``platform``. ``solvable`` is None when no repodata was given."""

    specs: tuple[str, ...]
    platform: str
    solvable: bool | None
    solution: tuple[str, ...] = ()  # "name version build" of each solved record
    missing: tuple[str, ...] = ()
    conflicts: tuple[str, ...] = ()
    message: str = ""

    @property
    def problems(self) -> tuple[str, ...]:
        return self.missing + self.conflicts

    def summary(self) -> str:
        if self.solvable is None:
            return "not checked (no repodata)"
        if self.solvable:
            return f"solvable ({len(self.solution)} packages)"
        parts = []
        if self.missing:
            parts.append("missing: " + ", ".join(self.missing))
        if self.conflicts:
            parts.append("conflicting: " + ", ".join(self.conflicts))
        return "; ".join(parts) or "not solvable"

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {"specs": list(self.specs), "platform": self.platform, "solvable": self.solvable}
        if self.solvable:
            d["solution"] = list(self.solution)
        if self.solvable is False:
            d["missing"] = list(self.missing)
            d["conflicts"] = list(self.conflicts)
            d["message"] = self.message
        return d


@dataclass(slots=True)
class _Problems:
    missing: list[str] = field(default_factory=list)
    conflicts: list[str] = field(default_factory=list)


def _clean(spec: str) -> str:
    return " ".join(spec.split())


def parse_solver_message(message: str) -> tuple[list[str], list[str]]:
    """(missing specs, conflicting specs) from a py-rattler ``SolverError`` message, each once, in order."""
    found = _Problems()
    for raw in message.splitlines():
        line = raw.strip(_TREE_CHARS)
        if not line:
            continue
        head = line.split("Cannot solve the request because of:", 1)[-1].strip()
        for rx, bucket in ((_MISSING_TOP, found.missing), (_MISSING_LEAF, found.missing), (_CONFLICT, found.conflicts)):
            m = rx.search(head)
            if m:
                spec = _clean(m.group("spec"))
                if spec not in bucket:
                    bucket.append(spec)
                break
    return found.missing, found.conflicts


def virtual_packages_for(platform: str) -> list[rattler.GenericVirtualPackage]:
    """The virtual packages of a plain machine of ``platform`` (``__win`` for win-*, ...)."""
    os_name = platform.split("-", 1)[0]
    return [
        rattler.GenericVirtualPackage(rattler.PackageName(n), rattler.Version(v), rattler.BuildString(b))
        for n, v, b in _VIRTUAL.get(os_name, ())
    ]


def _parse_specs(specs: Iterable[str]) -> list[str]:
    out: list[str] = []
    for spec in specs:
        spec = _clean(spec)
        try:
            rattler.MatchSpec(spec)
        except Exception as exc:
            raise NewarchError(f"not a valid match spec: {spec!r} ({exc})") from None
        if spec not in out:
            out.append(spec)
    return out


async def _solve(
    availability: Availability, specs: Sequence[str], platform: str, gateway: rattler.Gateway | None
) -> list[rattler.RepoDataRecord]:
    sparse = [s for sub in (platform, NOARCH) for s in availability.sparse.get(sub, ())]
    vps = virtual_packages_for(platform)
    if availability.channels:
        sources: list[Any] = [*sparse, *(rattler.Channel(u) for u in availability.channels)]
        return await rattler.solve(
            sources,
            specs,
            gateway=gateway or rattler.Gateway(),
            platforms=[rattler.Subdir(platform), rattler.Subdir(NOARCH)],
            virtual_packages=vps,
            timeout=SOLVE_TIMEOUT,
            channel_priority=rattler.ChannelPriority.Disabled,
            channel_relations="disabled",
        )
    return await rattler.solve_with_sparse_repodata(
        specs, sparse, virtual_packages=vps, timeout=SOLVE_TIMEOUT, channel_priority=rattler.ChannelPriority.Disabled
    )


def solve_specs(
    availability: Availability, specs: Iterable[str], platform: str, gateway: rattler.Gateway | None = None
) -> SolveOutcome:
    """Solve ``specs`` on ``platform`` with the records in ``availability``.

    Specs whose package name is in no record source are reported missing without asking the
    solver (so all of them are named, not only the first); the rest are solved for real.
    """
    spec_list = _parse_specs(specs)
    if not availability.has_records(platform):
        return SolveOutcome(tuple(spec_list), platform, None)
    known = set(availability.names.get(platform, ())) | set(availability.names.get(NOARCH, ()))
    virtual = {vp.name.normalized for vp in virtual_packages_for(platform)}
    absent = [s for s in spec_list if dep_name(s) not in known and dep_name(s) not in virtual]
    present = [s for s in spec_list if s not in absent]
    solution: list[rattler.RepoDataRecord] = []
    conflicts: list[str] = []
    missing, message = list(absent), ""
    if present:
        try:
            solution = asyncio.run(_solve(availability, present, platform, gateway))
        except SolverError as exc:
            message = str(exc).strip()
            more_missing, conflicts = parse_solver_message(message)
            missing += [m for m in more_missing if m not in missing]
            if not missing and not conflicts:
                conflicts = present  # the solver said no without naming a leaf: report the request
        except Exception as exc:  # repodata that cannot be fetched or read while solving
            raise NewarchError(f"solving {', '.join(present)} on {platform} failed: {exc}") from None
    if absent and not message:
        message = "No candidates were found for " + ", ".join(absent) + "."
    solvable = not missing and not conflicts
    names = tuple(sorted(f"{r.name.normalized} {r.version} {r.build}" for r in solution)) if solvable else ()
    return SolveOutcome(tuple(spec_list), platform, solvable, names, tuple(missing), tuple(conflicts), message)


def solve_targets(
    availability: Availability, targets: Iterable[str], platform: str, gateway: rattler.Gateway | None = None
) -> dict[str, SolveOutcome]:
    """Installability of each target (a package name or spec) on ``platform``, solved one by one."""
    return {t: solve_specs(availability, [t], platform, gateway) for t in targets}


# -- batches of solves over in-memory records (newarch verify) ----------------------------------

# The virtual packages conda-forge's CI machines offer, per subdir: (name, version, build string).
# Linux: the alma9 images (glibc 2.34) conda-forge's CI uses by default; macOS: the hosted runners
# (macOS 13 on x86_64, 14 on arm64); Windows: __win only (its version is not used by recipes).
# ``__archspec`` is the machine's architecture family as conda reports it (build string). conda-forge
# has no native linux-riscv64 runners: its values are those of the same alma9-based images.
_LINUX_CI = (("__unix", "0", "0"), ("__linux", "5.14", "0"), ("__glibc", "2.34", "0"))
CI_VIRTUAL: dict[str, tuple[tuple[str, str, str], ...]] = {
    "win-64": (("__win", "0", "0"), ("__archspec", "1", "x86_64")),
    "win-arm64": (("__win", "0", "0"), ("__archspec", "1", "arm64")),
    "linux-64": (*_LINUX_CI, ("__archspec", "1", "x86_64")),
    "linux-aarch64": (*_LINUX_CI, ("__archspec", "1", "aarch64")),
    "linux-ppc64le": (*_LINUX_CI, ("__archspec", "1", "ppc64le")),
    "linux-riscv64": (*_LINUX_CI, ("__archspec", "1", "riscv64")),
    "osx-64": (("__unix", "0", "0"), ("__osx", "13.0", "0"), ("__archspec", "1", "x86_64")),
    "osx-arm64": (("__unix", "0", "0"), ("__osx", "14.0", "0"), ("__archspec", "1", "m1")),
}


def ci_virtual_packages(subdir: str) -> list[rattler.GenericVirtualPackage]:
    """The virtual packages of a conda-forge CI machine of ``subdir`` (falls back to the OS defaults)."""
    items = CI_VIRTUAL.get(subdir)
    if items is None:
        return virtual_packages_for(subdir)
    return [
        rattler.GenericVirtualPackage(rattler.PackageName(n), rattler.Version(v), rattler.BuildString(b))
        for n, v, b in items
    ]


_LEAF_END = re.compile(r"(, for which no candidates were found\.?|, which conflicts with.*)$")
_NODE_END = re.compile(
    r"(,? which cannot be installed because there are no viable options:?|"
    r" cannot be installed because there are no viable options:?| would require| would constrain)$"
)


def parse_chains(message: str) -> list[tuple[str, ...]]:
    """For each failing leaf of a solver explanation, the chain of requirements that led to it:
    ``("conda *", "conda 25.7.0 py314h..", "python >=3.14,<3.15.0a0", "python 3.14.6 h.._cp314",
    "libffi 3.5.*")`` (request first, failing spec last)."""
    chains: list[tuple[str, ...]] = []
    stack: list[tuple[int, str]] = []
    for raw in message.splitlines():
        text = raw.split("Cannot solve the request because of:", 1)[-1]
        stripped = text.lstrip(_TREE_CHARS)
        if not stripped.strip():
            continue
        indent = len(raw) - len(stripped)
        if raw is not text:
            indent = -1
        while stack and stack[-1][0] >= indent:
            stack.pop()
        leaf = _LEAF_END.search(stripped)
        node = _clean(_NODE_END.sub("", _LEAF_END.sub("", stripped.strip())))
        if leaf:
            chain = tuple(dict.fromkeys([*(t for _, t in stack), node]))
            if chain not in chains:
                chains.append(chain)
        stack.append((indent, node))
    return chains


@dataclass(frozen=True, slots=True)
class Request:
    """One solve of a batch: install ``specs`` on ``subdir`` (``constraints`` limit, never add)."""

    specs: tuple[str, ...]
    subdir: str
    constraints: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Result:
    request: Request
    solvable: bool
    solution: tuple[rattler.RepoDataRecord, ...] = ()
    missing: tuple[str, ...] = ()
    conflicts: tuple[str, ...] = ()
    chains: tuple[tuple[str, ...], ...] = ()
    message: str = ""

    @property
    def failing(self) -> tuple[str, ...]:
        return self.missing + self.conflicts

    def summary(self) -> str:
        if self.solvable:
            return f"solvable ({len(self.solution)} packages)"
        chain = self.chains[0] if self.chains else ()
        head = "missing " + ", ".join(self.missing) if self.missing else "conflict " + ", ".join(self.conflicts)
        return head + (f" (via {' -> '.join(chain[:-1])})" if len(chain) > 1 else "")

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {
            "specs": list(self.request.specs),
            "subdir": self.request.subdir,
            "solvable": self.solvable,
        }
        if self.request.constraints:
            d["constraints"] = list(self.request.constraints)
        if self.solvable:
            d["solution"] = sorted(f"{r.name.normalized} {r.version} {r.build}" for r in self.solution)
        else:
            d["missing"] = list(self.missing)
            d["conflicts"] = list(self.conflicts)
            d["chains"] = [list(c) for c in self.chains]
        return d


async def _one(sources: Sequence[Any], req: Request, gateway: rattler.Gateway) -> Result:
    try:
        records = await rattler.solve(
            sources,
            list(req.specs),
            gateway=gateway,
            platforms=[rattler.Subdir(req.subdir), rattler.Subdir(NOARCH)],
            virtual_packages=ci_virtual_packages(req.subdir),
            timeout=SOLVE_TIMEOUT,
            channel_priority=rattler.ChannelPriority.Disabled,
            constraints=list(req.constraints) or None,
            channel_relations="disabled",
        )
    except SolverError as exc:
        message = str(exc).strip()
        missing, conflicts = parse_solver_message(message)
        if not missing and not conflicts:
            conflicts = list(req.specs)
        return Result(req, False, (), tuple(missing), tuple(conflicts), tuple(parse_chains(message)), message)
    return Result(req, True, tuple(records))


def solve_many(
    sources: Sequence[Any], requests: Sequence[Request], gateway: rattler.Gateway | None = None
) -> list[Result]:
    """Solve every request against the same sources (records, repodata files, channels), in one event loop."""
    return solve_each([(sources, r) for r in requests], gateway)


def solve_each(jobs: Sequence[tuple[Sequence[Any], Request]], gateway: rattler.Gateway | None = None) -> list[Result]:
    """Solve each (sources, request) pair, all in one event loop."""
    gw = gateway or rattler.Gateway()

    async def run() -> list[Result]:
        return list(await asyncio.gather(*(_one(src, r, gw) for src, r in jobs)))

    try:
        return asyncio.run(run())
    except SolverError:
        raise
    except Exception as exc:  # repodata that cannot be fetched or read while solving
        raise NewarchError(f"solving failed: {exc}") from None
