"""Derived facts about feedstocks: what the renderers produce and the snapshot stores.

Everything here is plain data (no recipe text, no scripts) with a stable dict form so the
snapshot, ``render --format json`` and tests share one shape.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

SECTIONS: tuple[str, ...] = ("build", "host", "run", "run_constraints")
RUN_EXPORT_KINDS: tuple[str, ...] = ("weak", "strong", "noarch", "weak_constrains", "strong_constrains")


@dataclass(frozen=True, slots=True, order=True)
class PlatformPair:
    """A (target, build) platform pair. ``build == target`` is a native build."""

    target: str
    build: str

    @property
    def key(self) -> str:
        return f"{self.target}:{self.build}"

    @property
    def cross(self) -> bool:
        return self.target != self.build

    @classmethod
    def parse(cls, text: str) -> PlatformPair:
        """``win-arm64:win-64`` or ``win-arm64<-win-64`` or ``win-64`` (native)."""
        for sep in ("<-", ":", "←"):
            if sep in text:
                target, build = (p.strip() for p in text.split(sep, 1))
                return cls(target, build)
        return cls(text.strip(), text.strip())

    def __str__(self) -> str:
        return f"{self.target}<-{self.build}" if self.cross else self.target


def dep_name(spec: str) -> str:
    """The package name of a match spec string (``python >=3.9`` -> ``python``)."""
    spec = spec.strip()
    for i, ch in enumerate(spec):
        if ch in " =<>!~[;":
            return spec[:i].strip()
    return spec


@dataclass(frozen=True, slots=True)
class Requirement:
    """One rendered dependency. ``condition`` is the selector / ``if:`` that made it apply."""

    name: str
    spec: str
    condition: str = ""
    line: int = 0  # line in the branch's recipe file where it is asked for (0: unknown)

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {"name": self.name, "spec": self.spec}
        if self.condition:
            d["condition"] = self.condition
        if self.line:
            d["line"] = self.line
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Requirement:
        return cls(d["name"], d.get("spec", d["name"]), d.get("condition", ""), int(d.get("line", 0)))

    @classmethod
    def from_spec(cls, spec: str, condition: str = "", line: int = 0) -> Requirement:
        spec = " ".join(spec.split())
        return cls(dep_name(spec), spec, condition, line)


@dataclass(frozen=True, slots=True)
class Dropped:
    """A dependency present in the recipe but removed by a selector false on this platform."""

    section: str
    name: str
    condition: str
    line: int = 0

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {"section": self.section, "name": self.name, "condition": self.condition}
        if self.line:
            d["line"] = self.line
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Dropped:
        return cls(d["section"], d["name"], d.get("condition", ""), d.get("line", 0))


@dataclass(slots=True)
class Output:
    """One package a recipe produces for one variant on one platform pair."""

    name: str
    version: str = ""
    noarch: str = ""  # "", "python" or "generic"
    build_number: int = 0
    skip: bool = False
    skip_reason: str = ""
    variant: dict[str, str] = field(default_factory=dict)
    requirements: dict[str, tuple[Requirement, ...]] = field(default_factory=dict)
    run_exports: dict[str, tuple[str, ...]] = field(default_factory=dict)
    ignore_run_exports: tuple[str, ...] = ()
    ignore_run_exports_from: tuple[str, ...] = ()
    dropped: tuple[Dropped, ...] = ()

    def reqs(self, section: str) -> tuple[Requirement, ...]:
        return self.requirements.get(section, ())

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {"name": self.name, "version": self.version}
        if self.noarch:
            d["noarch"] = self.noarch
        if self.build_number:
            d["build_number"] = self.build_number
        if self.skip:
            d["skip"] = True
            if self.skip_reason:
                d["skip_reason"] = self.skip_reason
        if self.variant:
            d["variant"] = dict(sorted(self.variant.items()))
        reqs = {s: [r.to_dict() for r in self.requirements[s]] for s in SECTIONS if self.requirements.get(s)}
        if reqs:
            d["requirements"] = reqs
        rex = {k: sorted(self.run_exports[k]) for k in RUN_EXPORT_KINDS if self.run_exports.get(k)}
        if rex:
            d["run_exports"] = rex
        if self.ignore_run_exports:
            d["ignore_run_exports"] = sorted(self.ignore_run_exports)
        if self.ignore_run_exports_from:
            d["ignore_run_exports_from"] = sorted(self.ignore_run_exports_from)
        if self.dropped:
            d["dropped"] = [x.to_dict() for x in self.dropped]
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Output:
        return cls(
            name=d["name"],
            version=d.get("version", ""),
            noarch=d.get("noarch", ""),
            build_number=int(d.get("build_number", 0)),
            skip=bool(d.get("skip", False)),
            skip_reason=d.get("skip_reason", ""),
            variant={str(k): str(v) for k, v in d.get("variant", {}).items()},
            requirements={
                s: tuple(Requirement.from_dict(r) for r in rs) for s, rs in d.get("requirements", {}).items()
            },
            run_exports={k: tuple(v) for k, v in d.get("run_exports", {}).items()},
            ignore_run_exports=tuple(d.get("ignore_run_exports", ())),
            ignore_run_exports_from=tuple(d.get("ignore_run_exports_from", ())),
            dropped=tuple(Dropped.from_dict(x) for x in d.get("dropped", ())),
        )

    def sort_key(self) -> tuple[str, str]:
        return (self.name, repr(sorted(self.variant.items())))


@dataclass(frozen=True, slots=True)
class Finding:
    """A cross-readiness lint finding."""

    rule: str
    severity: str  # "error" | "warning" | "info"
    feedstock: str
    file: str
    line: int
    message: str
    fix: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {
            "rule": self.rule,
            "severity": self.severity,
            "feedstock": self.feedstock,
            "file": self.file,
            "line": self.line,
            "message": self.message,
            "fix": self.fix,
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Finding:
        return cls(
            d["rule"],
            d["severity"],
            d["feedstock"],
            d.get("file", ""),
            int(d.get("line", 0)),
            d["message"],
            d.get("fix", ""),
        )


@dataclass(slots=True)
class RenderResult:
    """One feedstock rendered for one platform pair: each distinct output variant once."""

    pair: PlatformPair
    outputs: list[Output] = field(default_factory=list)
    error: str = ""  # "file:line: reason" when the recipe could not be rendered
    notes: list[str] = field(default_factory=list)  # fallbacks used, variants cut...
    findings: list[Finding] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.error

    def noarch_names(self, skipped: bool = False) -> frozenset[str]:
        """Names of the noarch outputs this render builds (with ``skipped``: or lists, skipped)."""
        return frozenset(o.name for o in self.outputs if o.noarch and (skipped or not o.skip))

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {
            "target": self.pair.target,
            "build": self.pair.build,
            "outputs": [o.to_dict() for o in sorted(self.outputs, key=Output.sort_key)],
        }
        if self.error:
            d["error"] = self.error
        if self.notes:
            d["notes"] = list(self.notes)
        if self.findings:
            d["findings"] = [f.to_dict() for f in sorted(self.findings, key=lambda f: (f.rule, f.file, f.line))]
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> RenderResult:
        return cls(
            pair=PlatformPair(d["target"], d["build"]),
            outputs=[Output.from_dict(o) for o in d.get("outputs", ())],
            error=d.get("error", ""),
            notes=list(d.get("notes", ())),
            findings=[Finding.from_dict(f) for f in d.get("findings", ())],
        )


@dataclass(slots=True)
class PlatformSettings:
    """The platform part of a feedstock's ``conda-forge.yml``."""

    build_platform: dict[str, str] = field(default_factory=dict)  # {"win_arm64": "win_64"}
    provider: dict[str, str] = field(default_factory=dict)  # {"win_arm64": "default"}
    test: str = ""  # "native_and_emulated", ...
    noarch_platforms: tuple[str, ...] = ()

    def configured(self, platform: str) -> str:
        """'cross' / 'native' / '' for a subdir like ``win-arm64``."""
        key = platform.replace("-", "_")
        if key in self.build_platform:
            return "cross" if self.build_platform[key] != key else "native"
        if key in self.provider:
            return "native"
        return ""

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {}
        if self.build_platform:
            d["build_platform"] = dict(sorted(self.build_platform.items()))
        if self.provider:
            d["provider"] = dict(sorted(self.provider.items()))
        if self.test:
            d["test"] = self.test
        if self.noarch_platforms:
            d["noarch_platforms"] = list(self.noarch_platforms)
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> PlatformSettings:
        return cls(
            build_platform={str(k): str(v) for k, v in (d.get("build_platform") or {}).items()},
            provider={str(k): str(v) for k, v in (d.get("provider") or {}).items()},
            test=str(d.get("test") or ""),
            noarch_platforms=tuple(d.get("noarch_platforms") or ()),
        )


@dataclass(frozen=True, slots=True)
class HistoryEntry:
    """One commit of a feedstock's default branch that touched the recipe, with its version line."""

    commit: str
    date: str
    version: str

    def to_dict(self) -> dict[str, str]:
        return {"commit": self.commit, "date": self.date, "version": self.version}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> HistoryEntry:
        return cls(str(d["commit"]), str(d.get("date", "")), str(d.get("version", "")))


@dataclass(slots=True)
class Branch:
    """One branch of a feedstock as rendered: ``main`` or a maintained release branch (``3.5.x``)."""

    name: str = "main"
    revision: str = ""
    date: str = ""
    version: str = ""  # the recipe's version on this branch
    schema: str = "v0"
    recipe_file: str = ""  # "recipe/meta.yaml" / "recipe/recipe.yaml": where Requirement.line points
    renders: dict[str, RenderResult] = field(default_factory=dict)  # by PlatformPair.key
    notes: list[str] = field(default_factory=list)

    def render_for(self, pair: PlatformPair) -> RenderResult | None:
        return self.renders.get(pair.key)

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {
            "name": self.name,
            "revision": self.revision,
            "date": self.date,
            "version": self.version,
            "schema": self.schema,
            "recipe_file": self.recipe_file,
            "renders": {k: self.renders[k].to_dict() for k in sorted(self.renders)},
        }
        if self.notes:
            d["notes"] = list(self.notes)
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Branch:
        return cls(
            name=str(d.get("name", "main")),
            revision=str(d.get("revision", "")),
            date=str(d.get("date", "")),
            version=str(d.get("version", "")),
            schema=str(d.get("schema", "v0")),
            recipe_file=str(d.get("recipe_file", "")),
            renders={k: RenderResult.from_dict(v) for k, v in (d.get("renders") or {}).items()},
            notes=list(d.get("notes", ())),
        )


@dataclass(slots=True)
class Feedstock:
    """Everything newarch knows about one feedstock."""

    name: str  # without "-feedstock"
    schema: str = "v0"  # "v0" (meta.yaml) or "v1" (recipe.yaml)
    revision: str = ""
    date: str = ""
    source: str = ""  # "git", "directory", "node_attrs"
    settings: PlatformSettings = field(default_factory=PlatformSettings)
    renders: dict[str, RenderResult] = field(default_factory=dict)  # main's renders, by PlatformPair.key
    notes: list[str] = field(default_factory=list)
    version: str = ""  # main's recipe version
    recipe_file: str = ""  # main's recipe file
    # conda-forge.yml ``bot: abi_migration_branches`` (the maintained release branches)
    maintained_branches: tuple[str, ...] = ()
    branches: dict[str, Branch] = field(default_factory=dict)  # rendered release branches (never "main")
    history: tuple[HistoryEntry, ...] = ()  # main's commits touching the recipe, newest first

    def render_for(self, pair: PlatformPair) -> RenderResult | None:
        return self.renders.get(pair.key)

    @property
    def main(self) -> Branch:
        """``main`` as a Branch (a view of this feedstock's own fields)."""
        return Branch(
            "main", self.revision, self.date, self.version, self.schema, self.recipe_file, self.renders, self.notes
        )

    def builds(self) -> list[Branch]:
        """Every rendered branch: ``main`` first, then release branches by name."""
        return [self.main] + [self.branches[k] for k in sorted(self.branches)]

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {
            "name": self.name,
            "schema": self.schema,
            "revision": self.revision,
            "date": self.date,
            "source": self.source,
            "conda_forge_yml": self.settings.to_dict(),
            "renders": {k: self.renders[k].to_dict() for k in sorted(self.renders)},
        }
        if self.notes:
            d["notes"] = list(self.notes)
        if self.version:
            d["version"] = self.version
        if self.recipe_file:
            d["recipe_file"] = self.recipe_file
        if self.maintained_branches:
            d["maintained_branches"] = list(self.maintained_branches)
        if self.branches:
            d["branches"] = {k: self.branches[k].to_dict() for k in sorted(self.branches)}
        if self.history:
            d["history"] = [h.to_dict() for h in self.history]
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Feedstock:
        return cls(
            name=d["name"],
            schema=d.get("schema", "v0"),
            revision=d.get("revision", ""),
            date=d.get("date", ""),
            source=d.get("source", ""),
            settings=PlatformSettings.from_dict(d.get("conda_forge_yml") or {}),
            renders={k: RenderResult.from_dict(v) for k, v in (d.get("renders") or {}).items()},
            notes=list(d.get("notes", ())),
            version=str(d.get("version", "")),
            recipe_file=str(d.get("recipe_file", "")),
            maintained_branches=tuple(d.get("maintained_branches") or ()),
            branches={k: Branch.from_dict(v) for k, v in (d.get("branches") or {}).items()},
            history=tuple(HistoryEntry.from_dict(h) for h in d.get("history") or ()),
        )
