"""What every lint rule reads of one feedstock rendered for one pair: :class:`_Context`.

The rendered outputs, the recipe text scanned into lines (to name the line of a finding), the
feedstock's conda-forge.yml (a native build makes a cross-only finding ``info``), and helpers to
find the dependency lines of a requirement section.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Set as AbstractSet
from dataclasses import dataclass

from newarch.errors import NewarchError
from newarch.lint.catalog import RULES
from newarch.lint.expr import UNKNOWN, evaluate, truth
from newarch.lint.text import Line, RecipeText, dep_token, scan
from newarch.model import Finding, Output, PlatformPair, RenderResult
from newarch.sources.recipes import RecipeSource

REQ_SECTIONS = ("build", "host", "run", "run_constraints")
ARM_WORDS = ("arm64", "aarch64")


# ---------------------------------------------------------------------------------------------
@dataclass(slots=True)
class _Context:
    src: RecipeSource
    pair: PlatformPair
    result: RenderResult
    available: AbstractSet[str] | None
    text: RecipeText
    recipe_rel: str

    @classmethod
    def make(
        cls, src: RecipeSource, pair: PlatformPair, result: RenderResult, available: AbstractSet[str] | None
    ) -> _Context:
        rel = src.recipe_file
        return cls(src, pair, result, available, scan(src.text(rel) or ""), rel)

    @property
    def v1(self) -> bool:
        return self.src.schema == "v1"

    def file(self, rel: str | None = None) -> str:
        rel = rel or self.recipe_rel
        return f"{self.src.recipe_dir}/{rel}" if self.src.recipe_dir else rel

    def finding(
        self, rule: str, line: int, message: str, fix: str, file: str | None = None, severity: str = ""
    ) -> Finding:
        return Finding(rule, severity or RULES[rule][0], self.src.name, file or self.file(), line, message, fix)

    def cross_finding(self, rule: str, line: int, message: str, fix: str, severity: str = "") -> Finding:
        """A finding that only matters for a cross build: ``info`` when the feedstock's conda-forge.yml
        builds the target natively (a provider for it and no ``build_platform`` entry)."""
        native = self.native_provider()
        if native:
            return self.finding(
                rule,
                line,
                f"{message} (only if cross-compiled: conda-forge.yml builds "
                f"{self.pair.target} natively, provider {native})",
                fix,
                severity="info",
            )
        return self.finding(rule, line, message, fix, severity=severity)

    def native_provider(self) -> str:
        try:
            settings = self.src.settings()
        except NewarchError:
            return ""
        if settings.configured(self.pair.target) != "native":
            return ""
        return settings.provider.get(self.pair.target.replace("-", "_"), "native")

    def built(self, compiled: bool = True) -> list[Output]:
        """Outputs this pair really builds (not skipped; not noarch when ``compiled``)."""
        return [o for o in self.result.outputs if not o.skip and not (compiled and o.noarch)]

    def applies(self, line: Line) -> bool:
        """False only when the line's selector / enclosing ``if:`` is known false on the target."""
        if line.selector and evaluate(line.selector, self.pair) is False:
            return False
        for cond, polarity in line.conditions:
            v = truth(evaluate(cond, self.pair))
            if v is not UNKNOWN and v != polarity:
                return False
        return True

    def dep_lines(self, section: str, match, output: str = "") -> list[Line]:
        """Dependency item lines in ``section`` whose token satisfies ``match``, best first
        (in the output's own block, then top level, then elsewhere; lines false here last)."""
        hits = [
            ln
            for ln in self.text.lines
            if not ln.in_block_scalar and _section(ln) == section and _dep_item(ln) and match(_dep_item(ln))
        ]
        return sorted(hits, key=lambda ln: (not self.applies(ln), self._rank(ln, output), ln.number))

    def _rank(self, ln: Line, output: str) -> int:
        if ln.output >= 0 and output and self.text.output_name(ln.output) == output:
            return 0
        if ln.output < 0:
            return 1
        return 2

    def section_line(self, section: str, output: str = "") -> int:
        """The line of the ``requirements: <section>:`` key for ``output`` (or the top level)."""
        cands = [ln for ln in self.text.lines if ln.key == section and ln.ancestors[-1:] == ("requirements",)]
        cands.sort(key=lambda ln: (self._rank(ln, output), ln.number))
        if cands:
            return cands[0].number
        req = [ln for ln in self.text.lines if ln.key == "requirements"]
        return req[0].number if req else 0  # 0: unknown (e.g. a snapshot without recipe text)

    def normalize(self, token: str) -> str:
        """``cross-python_{{ target_platform }}`` -> ``cross-python_win-arm64``."""

        def repl(m: re.Match[str]) -> str:
            var = m.group(1)
            if var in ("target_platform", "host_platform"):
                return self.pair.target
            if var == "build_platform":
                return self.pair.build
            value = self.text.jinja_sets.get(var)
            if value is None:
                return m.group(0)
            inner = re.fullmatch(r"\$\{\{(.*)\}\}", value.strip(), re.S)
            if inner:  # e.g. native: ${{ "m2w64-" if win else "" }}
                result = evaluate(inner.group(1), self.pair)
                return result if isinstance(result, str) else m.group(0)
            return value

        return re.sub(r"\$?\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\}", repl, token)


def _section(ln: Line) -> str:
    for key in reversed(ln.ancestors):
        if key in ("then", "else", "if"):
            continue
        return key if key in REQ_SECTIONS else ""
    return ""


def _dep_item(ln: Line) -> str:
    """The dependency token of an item line (also ``then: NAME`` in v1)."""
    if ln.item and not ln.key:
        return dep_token(ln.value)
    if ln.key in ("then", "else") and ln.value and not ln.value.startswith("["):
        return dep_token(ln.value)
    return ""


def _unique_by_name(outputs: Iterable[Output]) -> list[Output]:
    seen: dict[str, Output] = {}
    for o in outputs:
        seen.setdefault(o.name, o)
    return list(seen.values())
