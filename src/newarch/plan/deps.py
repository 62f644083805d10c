"""What one build depends on: the rules of issue 4, in one place, for compiled and noarch outputs.

* For a built output: ``host`` and ``run`` are followed, plus the run_exports of host deps
  (weak+strong) and of build deps (strong; e.g. the compiler's ``vc14_runtime``), minus
  ``ignore_run_exports`` / ``ignore_run_exports_from``. ``build`` deps are followed only when the
  feedstock builds natively on the target (cross: they run on the build platform).
* A noarch output is built once elsewhere: only its ``run`` deps (and ``noarch`` run_exports of its
  host deps) are followed; its host deps never are.

``walk_built`` / ``walk_noarch`` yield every dependency with the facts behind it (for explanations);
``deps_built`` / ``deps_noarch`` are the planner's hot loop and must agree with them (tests check).
A dependency is ``Dep(name, spec, section, line, output, python)``: ``python`` is the python (minor)
the asking output is built for, or None when it is built for none.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import NamedTuple

from newarch.model import Output, Requirement
from newarch.plan.graph import PairIndex
from newarch.plan.specs import output_python


class Dep(NamedTuple):
    name: str
    spec: str
    section: str  # host / run / build / run_exports
    line: int  # line of the requirement (for run_exports: of the host/build dep that exports it)
    output: str
    python: str | None
    via: str = ""


# (requirement, environment, prefer the build platform's renders, python of the asking output)
#   -> ((kind, dep name, spec), ...): the run_exports the build chosen for the requirement adds
# (output, dep name, section, spec, condition, via, followed): see walk_built
Walked = tuple[Output, str, str, str, str, "tuple[str, ...] | None", bool]
Exports = Callable[[Requirement, str, bool, "str | None"], tuple[tuple[str, str, str], ...]]


def main_exports(idx: PairIndex) -> Exports:
    """run_exports from the renders of ``main`` (what the index holds), whatever the spec asks."""
    return lambda req, env, prefer_build, py: idx.exports(req.name, env, prefer_build)


def cross_only(req: Requirement) -> bool:
    """A build requirement that exists only because the recipe is cross-compiled."""
    if req.name.startswith("cross-python_"):
        return True
    cond = req.condition.replace(" ", "")
    return "build_platform!=target_platform" in cond or "target_platform!=build_platform" in cond


def via_text(via: tuple[str, ...] | None) -> str:
    if not via:
        return ""
    if via[0] == "noarch-host":
        return f"host of noarch output {via[1]}"
    return f"{via[0]} ({via[1]}, {via[2]})"


def walk_built(
    idx: PairIndex,
    outs: list[Output],
    native: bool,
    cross: frozenset[Requirement],
    exports: Exports | None = None,
) -> Iterator[Walked]:
    """(output, dep name, section, spec, condition, via, followed) of a build of ``outs``.
    ``exports``: where run_exports come from (default: main's renders)."""
    exports = exports or main_exports(idx)
    for out in outs:
        py = output_python(out)
        reqs = out.requirements
        for section in ("host", "run"):
            for req in reqs.get(section, ()):
                yield out, req.name, section, req.spec, req.condition, None, True
        ire = out.ignore_run_exports
        irf = out.ignore_run_exports_from
        for env in ("host", "build"):
            prefer_build = env == "build" and not native
            for req in reqs.get(env, ()):
                if irf and req.name in irf:
                    continue
                if native and env == "build" and req in cross:
                    continue
                for kind, dep, spec in exports(req, env, prefer_build, py):
                    if ire and dep in ire:
                        continue
                    yield out, dep, "run_exports", spec, req.condition, (req.name, env, kind), True
        for req in reqs.get("build", ()):
            yield out, req.name, "build", req.spec, req.condition, None, native and req not in cross


def deps_built(
    idx: PairIndex,
    outs: list[Output],
    native: bool,
    cross: frozenset[Requirement],
    owns: set[str],
    exports: Exports | None = None,
) -> list[Dep]:
    """The followed dependencies of ``walk_built`` (own outputs excluded), one per (name, spec, python)."""
    deps: dict[tuple[str, str, str | None], Dep] = {}
    exports = exports or main_exports(idx)
    for out in outs:
        py = output_python(out)
        oname = out.name
        reqs = out.requirements

        def add(
            name: str, spec: str, section: str, line: int, via: str = "", oname: str = oname, py: str | None = py
        ) -> None:
            if name not in owns:
                k = (name, spec, py)
                if k not in deps:
                    deps[k] = Dep(name, spec, section, line, oname, py, via)

        for section in ("host", "run"):
            for req in reqs.get(section, ()):
                add(req.name, req.spec, section, req.line)
        ire = out.ignore_run_exports
        irf = out.ignore_run_exports_from
        for req in reqs.get("host", ()):
            if irf and req.name in irf:
                continue
            for _kind, dep, spec in exports(req, "host", False, py):
                if not (ire and dep in ire):
                    add(dep, spec, "run_exports", req.line, req.name)
        for req in reqs.get("build", ()):
            if native:
                if req in cross:
                    continue
                add(req.name, req.spec, "build", req.line)
            if irf and req.name in irf:
                continue
            for _kind, dep, spec in exports(req, "build", not native, py):
                if not (ire and dep in ire):
                    add(dep, spec, "run_exports", req.line, req.name)
    return list(deps.values())


def walk_noarch(idx: PairIndex, outs: Iterable[Output]) -> Iterator[Walked]:
    for out in outs:
        for req in out.requirements.get("run", ()):
            yield out, req.name, "run", req.spec, req.condition, None, True
        ire = out.ignore_run_exports
        irf = out.ignore_run_exports_from
        for req in out.requirements.get("host", ()):
            yield out, req.name, "host", req.spec, req.condition, ("noarch-host", out.name), False
            if irf and req.name in irf:
                continue
            for kind, dep, spec in idx.exports(req.name, "noarch"):
                if ire and dep in ire:
                    continue
                yield out, dep, "run_exports", spec, req.condition, (req.name, "host", kind), True


def deps_noarch(idx: PairIndex, outs: Iterable[Output]) -> list[Dep]:
    """The followed dependencies of a noarch output (python: the consumer's, filled in by the caller)."""
    deps: dict[tuple[str, str], Dep] = {}
    for out, name, section, spec, _cond, via, follow in walk_noarch(idx, outs):
        if follow and (name, spec) not in deps:
            line = 0
            deps[(name, spec)] = Dep(name, spec, section, line, out.name, None, via[0] if via else "")
    for out in outs:  # lines, where the recipe gave them
        for req in out.requirements.get("run", ()):
            d = deps.get((req.name, req.spec))
            if d is not None and not d.line and req.line:
                deps[(req.name, req.spec)] = d._replace(line=req.line)
    return list(deps.values())
