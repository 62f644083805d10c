"""Cross-readiness lints: what will break when a feedstock is built for a new platform.

Facts (which outputs exist, what they need) come from the rendered :class:`RenderResult`; the
recipe text is only read to name the line. Build scripts are read as text, never run.

Rules (ids are stable):

=============================  ========  ==========================================================
``render-failed``              error     the recipe cannot be rendered for the platform
``cross-python-missing``       error     python in host of a compiled output, cross-compiled without
                                         ``cross-python_<target>`` in build
``mingw-on-arm64``             error     MinGW toolchain / ``m2w64-*`` packages on win-arm64
``build-tool-missing``         error     a build dependency that does not exist on the build platform
``autotools-no-cc-for-build``  warning   autotools in build on a Windows cross-compile, and no build
                                         script mentions ``CC_FOR_BUILD``
``x86-selector``               warning   a selector that means x86_64 but also matches arm64
                                         (``win64``, ``not win32``) or that drops arm64 by testing
                                         ``x86_64``, in a recipe with no arm64/aarch64 selector
``binary-repack``              warning   a source url that is a platform-specific prebuilt binary
``unknown-selector-name``      warning   a v0 selector name conda-build does not define (it reads
                                         it as ``False``, with a warning): usually a typo
``build-script-unreadable``    info      a build script named by the recipe is missing or binary
=============================  ========  ==========================================================
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Set as AbstractSet
from dataclasses import dataclass

from newarch.errors import NewarchError
from newarch.lint.expr import UNKNOWN, X86_TWIN, evaluate, names, split_subdir, strings, truth
from newarch.lint.selector_names import unknown_selector_names
from newarch.lint.text import Line, RecipeText, dep_token, scan
from newarch.model import Finding, Output, PlatformPair, RenderResult
from newarch.sources.recipes import RecipeSource

SEVERITIES: tuple[str, ...] = ("error", "warning", "info")

RULES: dict[str, tuple[str, str]] = {
    "render-failed": ("error", "the recipe cannot be rendered for this platform"),
    "cross-python-missing": ("error", "python extension cross-compiled without cross-python"),
    "mingw-on-arm64": ("error", "MinGW toolchain on win-arm64"),
    "build-tool-missing": ("error", "build dependency missing on the build platform"),
    "autotools-no-cc-for-build": ("warning", "autotools on a Windows cross-compile without CC_FOR_BUILD"),
    "x86-selector": ("warning", "selector means x86_64 but matches or drops arm64"),
    "binary-repack": ("warning", "source is a platform-specific prebuilt binary"),
    "unknown-selector-name": ("warning", "selector name conda-build does not define (read as False)"),
    "build-script-unreadable": ("info", "a build script named by the recipe cannot be read"),
}

REQ_SECTIONS = ("build", "host", "run", "run_constraints")
# Autotools proper. ``make`` alone is often just a cmake/cargo helper, so it counts only when a build
# script also runs ``configure`` / ``autoreconf``.
AUTOTOOLS = {"autoconf", "automake", "libtool", "autoconf-archive", "autotools_clang_conda"}
AUTOTOOLS_PREFIXES = ("m2-autoconf", "m2-automake", "m2-libtool", "m2-autotools")
MAKE_TOOLS = {"make", "m2-make"}
_CONFIGURE_RUN = re.compile(
    r"(?:\.\.?/|/|\\|\b(?:ba)?sh\s+(?:-\S+\s+)*[\"']?)configure\b|\bautoreconf\b|\bautogen\.sh\b"
)
MINGW_COMPILER_LANGS = {"gcc": "m2w64_c", "gxx": "m2w64_cxx", "gfortran": "m2w64_fortran"}
SCRIPT_EXTS = (".bat", ".cmd", ".sh", ".bash", ".ps1")
ARM_WORDS = ("arm64", "aarch64")
_ERROR_WHERE = re.compile(r"^(?P<file>[^\s:]+?)(?::(?P<line>\d+))?(?::\d+)?: (?P<reason>.*)$", re.S)
_PREBUILT = re.compile(
    r"(?<![a-z0-9])(x86_64|x86-64|x64|amd64|win64|win-64|win_amd64|i686|win32|mingw64|ucrt64)(?![a-z0-9])"
)
# MinGW toolchain pieces in build (m2w64 build *tools* such as m2w64-pkg-config run on the build machine).
# The MinGW-w64 sysroot (headers, CRT) exists for win-arm64 (``m2w64-sysroot_win-arm64`` is a conda-forge
# output); what is missing upstream is GCC for aarch64-w64-mingw32, so only compilers are flagged in build.
_MINGW_TOOLCHAIN = re.compile(r"^m2w64(_(c|cxx|fortran)(_|$)|-(gcc|gxx|g\+\+|gfortran|toolchain)(?![a-z]))")
_MINGW_SYSROOT = re.compile(r"^m2w64[-_](sysroot|c_stdlib)")
_COMPILER_CALL = re.compile(r"""(?P<func>compiler|stdlib)\(\s*['"](?P<lang>[A-Za-z0-9_]+)['"]""")
_SUBDIR_SUFFIX = re.compile(r"_((?:win|linux|osx|emscripten|wasi)-[a-z0-9]+)$")
_VS_ACTIVATION = re.compile(r"^vs20\d\d_")


def lint_source(
    src: RecipeSource, pair: PlatformPair, result: RenderResult, available_build: AbstractSet[str] | None = None
) -> list[Finding]:
    """All findings for one feedstock rendered for ``pair`` (sorted by file, line, rule)."""
    ctx = _Context.make(src, pair, result, available_build)
    findings: list[Finding] = []
    rules = (_render_failed, _cross_python, _mingw, _build_tool_missing, _autotools, _x86_selector, _binary_repack)
    for rule in (*rules, _unknown_selector_name):
        findings.extend(rule(ctx))
    unique = {(f.rule, f.file, f.line, f.message): f for f in findings}
    return sorted(unique.values(), key=lambda f: (f.file, f.line, f.rule, f.message))


findings_for = lint_source


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


# ---------------------------------------------------------------------------------------------
def _render_failed(ctx: _Context) -> list[Finding]:
    if not ctx.result.error:
        return []
    msg = ctx.result.error.strip()
    file, line, reason = ctx.file(), 0, msg
    m = _ERROR_WHERE.match(msg)
    if m:
        where = m.group("file")
        prefix = f"{ctx.src.name}/"
        file = where[len(prefix) :] if where.startswith(prefix) else where
        line, reason = int(m.group("line") or 0), m.group("reason")
    reason = " ".join(reason.split())
    return [
        ctx.finding(
            "render-failed",
            line,
            f"cannot render for {ctx.pair}: {reason}",
            "fix the recipe (or the pinning) so it renders for this platform; "
            "until then nothing about this feedstock is known",
            file=file,
        )
    ]


def _cross_python(ctx: _Context) -> list[Finding]:
    if not ctx.pair.cross or ctx.result.error:
        return []
    want = f"cross-python_{ctx.pair.target}"
    built = ctx.built()
    if any(o.name == "python" for o in ctx.result.outputs):
        return []  # the recipe builds python itself: its host python is its own output, not an interpreter to run
    handled = any(r.name == want for o in built for r in o.reqs("build"))
    out: list[Finding] = []
    for o in _unique_by_name(built):
        variants = [v for v in built if v.name == o.name]
        bad = [
            v
            for v in variants
            if any(r.name == "python" for r in v.reqs("host")) and not any(r.name == want for r in v.reqs("build"))
        ]
        if not bad:
            continue
        if handled and not _has_own_script(ctx, o.name):
            continue  # a scriptless output of a recipe whose build uses cross-python: nothing runs for it
        lines = ctx.dep_lines("host", lambda t: t == "python", o.name)
        line = lines[0].number if lines else ctx.section_line("host", o.name)
        if ctx.v1:
            fix = (
                "add to requirements.build: `- if: build_platform != target_platform` / "
                "`then: [python, cross-python_${{ target_platform }}]`"
            )
        else:
            fix = (
                "add to requirements/build: `- python  # [build_platform != target_platform]` and "
                "`- cross-python_{{ target_platform }}  # [build_platform != target_platform]`"
            )
        out.append(
            ctx.cross_finding(
                "cross-python-missing",
                line,
                f"output {o.name} has python in host and is cross-compiled ({ctx.pair}) but has no {want} "
                f"in build, so the build cannot run the target's python",
                fix,
            )
        )
    return out


def _has_own_script(ctx: _Context, output: str) -> bool:
    """Whether the ``outputs`` entry named ``output`` has a build script (v0 ``script:``, v1 ``build: script:``).
    Unknown entries (name not found in the text) count as having one."""
    indexes = [i for i, n in ctx.text.output_names.items() if n == output]
    if not indexes:
        return True
    for ln in ctx.text.lines:
        if ln.output in indexes and ln.key == "script" and not any(k in ("test", "tests") for k in ln.ancestors):
            return True
    return False


def _mingw_names(o: Output, target: str) -> list[tuple[str, str]]:
    """(section, name) of MinGW toolchain pieces an output needs."""
    found: list[tuple[str, str]] = []
    suffix = f"_{target}"
    for section in REQ_SECTIONS:
        for r in o.reqs(section):
            n = r.name
            other = _SUBDIR_SUFFIX.search(n)
            if other and other.group(1) != target:
                continue  # e.g. m2w64-sysroot_win-64 in a cross *compiler* package that targets win-64
            if _MINGW_SYSROOT.match(n):
                continue
            if section != "build":
                if n.startswith(("m2w64_", "m2w64-")):  # MinGW-built libraries / runtime for the target
                    found.append((section, n))
            elif _MINGW_TOOLCHAIN.match(n) or (n.endswith(suffix) and n[: -len(suffix)] in MINGW_COMPILER_LANGS):
                found.append((section, n))  # a compiler that has to produce arm64 code
    return found


def _mingw(ctx: _Context) -> list[Finding]:
    os_name, arch = split_subdir(ctx.pair.target)
    if os_name != "win" or arch not in ARM_WORDS or ctx.result.error:
        return []
    out: list[Finding] = []
    seen: set[str] = set()
    for o in ctx.built():
        for section, name in _mingw_names(o, ctx.pair.target):
            if name in seen:
                continue
            seen.add(name)
            line = _mingw_line(ctx, section, name, o.name)
            out.append(
                ctx.finding(
                    "mingw-on-arm64",
                    line,
                    f"output {o.name} needs {name} ({section}): MinGW GCC and its runtime do not support "
                    "Windows on Arm64 upstream",
                    "build with the MSVC or clang toolchain on win-arm64 (compiler('c') / "
                    "compiler('cxx'), flang for Fortran), or skip win-arm64: `skip: true  # [win and arm64]`",
                )
            )
    return out


def _mingw_line(ctx: _Context, section: str, name: str, output: str) -> int:
    """The recipe line behind a MinGW requirement: the dependency itself, else the ``compiler()`` /
    ``stdlib()`` call it came from (``gcc_win-arm64`` <- ``compiler('m2w64_c')`` or ``compiler('c')``)."""
    target = ctx.pair.target
    base = name[: -len(target) - 1] if name.endswith(f"_{target}") else name
    if base.startswith("m2w64-sysroot") or base.startswith("m2w64_c_stdlib"):
        calls = [("stdlib", "m2w64_c"), ("stdlib", "c")]
    elif base in MINGW_COMPILER_LANGS:
        lang = MINGW_COMPILER_LANGS[base]
        calls = [("compiler", lang), ("compiler", lang[len("m2w64_") :]), ("compiler", base)]
    elif base.startswith("m2w64_"):
        calls = [("compiler", base)]
    else:
        calls = []
    lines = ctx.dep_lines(section, lambda t: ctx.normalize(t) == name, output)
    for func, lang in calls:
        if lines:
            break
        lines = ctx.dep_lines(section, lambda t, f=func, g=lang: _calls(t, f, g), output)
    if lines:
        return lines[0].number
    for ln in ctx.text.lines:  # e.g. `{% set native = "m2w64-" %}` then `{{ native }}gcc-libs`
        if "m2w64" in ln.content and not ln.content.startswith("#"):
            return ln.number
    return ctx.section_line(section, output)


def _calls(token: str, func: str, lang: str) -> bool:
    m = _COMPILER_CALL.search(token)
    return bool(m and m.group("func") == func and m.group("lang") == lang)


def _build_tool_missing(ctx: _Context) -> list[Finding]:
    if ctx.available is None or not ctx.pair.cross or ctx.result.error:
        return []
    out: list[Finding] = []
    seen: set[str] = set()
    for o in ctx.built():
        for r in o.reqs("build"):
            n = r.name
            if n in seen or n in ctx.available or not n or "{" in n or "$" in n or n == f"_{ctx.pair.target}":
                continue  # ("_win-arm64": a compiler whose name rendered empty; not a package to look up)
            seen.add(n)
            lines = ctx.dep_lines("build", lambda t, n=n: ctx.normalize(t) == n, o.name)
            line = lines[0].number if lines else ctx.section_line("build", o.name)
            out.append(
                ctx.cross_finding(
                    "build-tool-missing",
                    line,
                    f"output {o.name} needs {n} in build, which does not exist for the build platform {ctx.pair.build}",
                    f"build {n} for {ctx.pair.build} first, or build this feedstock natively on {ctx.pair.target}",
                )
            )
    return out


def _is_autotool(name: str) -> bool:
    return name in AUTOTOOLS or name.startswith(AUTOTOOLS_PREFIXES)


def _autotools(ctx: _Context) -> list[Finding]:
    os_name, _ = split_subdir(ctx.pair.target)
    if os_name != "win" or not ctx.pair.cross or ctx.result.error:
        return []
    tools: dict[str, str] = {}
    makes: dict[str, str] = {}
    for o in ctx.built():
        for r in o.reqs("build"):
            if _is_autotool(r.name):
                tools.setdefault(r.name, o.name)
            elif r.name in MAKE_TOOLS:
                makes.setdefault(r.name, o.name)
    if not tools and not makes:
        return []
    scripts, unreadable = _build_scripts(ctx)
    texts = [ctx.src.text(ctx.recipe_rel) or ""] + [t for _, t in scripts]
    runs_configure = [rel for rel, t in scripts if _CONFIGURE_RUN.search(t)]
    out = [
        ctx.finding(
            "build-script-unreadable",
            line,
            f"build script {rel} named here cannot be read ({why}); the autotools / CC_FOR_BUILD check did not see it",
            "check it by hand",
        )
        for rel, line, why in unreadable
    ]
    if not tools:
        if not runs_configure:
            return out  # make without configure: cmake/cargo/nmake style builds need no CC_FOR_BUILD
        tools = makes
    if any("cc_for_build" in t.lower() for t in texts):
        return out
    name, output = sorted(tools.items())[0]
    lines = ctx.dep_lines("build", lambda t: ctx.normalize(t) == name, output)
    line = lines[0].number if lines else ctx.section_line("build", output)
    seen = ", ".join(sorted(rel for rel, _ in scripts)) or "none"
    evidence = f"; configure run in {', '.join(runs_configure)}" if runs_configure else ""
    activation = sorted({r.name for o in ctx.built() for r in o.reqs("build") if _VS_ACTIVATION.match(r.name)})
    if activation:
        # vc-feedstock's activate.bat exports CC_FOR_BUILD/CXX_FOR_BUILD (x64 cl.exe on a subst'ed drive)
        # for cross builds, so configure may find it in the environment: worth a look, not a blocker.
        why = (
            f"only the {activation[0]} activation sets CC_FOR_BUILD (to the build machine's cl.exe); "
            "check that configure's build-machine helpers pick it up"
        )
        severity = "info"
    else:
        why = "nothing sets CC_FOR_BUILD, so configure cannot build its build-machine helpers"
        severity = ""
    out.append(
        ctx.cross_finding(
            "autotools-no-cc-for-build",
            line,
            f"autotools ({', '.join(sorted(tools))}{evidence}) on a Windows cross-compile ({ctx.pair}) and no "
            f"CC_FOR_BUILD in the build scripts (read: {seen}); {why}",
            "build the build-machine part with CC=$CC_FOR_BUILD / CXX=$CXX_FOR_BUILD in the build script "
            "(as icu-feedstock's build.sh does), or build natively on the target",
            severity=severity,
        )
    )
    return out


def _build_scripts(ctx: _Context) -> tuple[list[tuple[str, str]], list[tuple[str, int, str]]]:
    """(rel, text) of every script the build may run, and (rel, line, reason) of named unreadable ones."""
    named: dict[str, int] = {}
    for ln in ctx.text.lines:
        if ln.in_block_scalar or ln.key not in ("script", "file") or not ln.value:
            continue
        if any(k in ("test", "tests") for k in ln.ancestors):
            continue
        if ln.key == "file" and ln.ancestors[-1:] != ("script",):
            continue
        if ln.key == "script" and not (ln.ancestors[-1:] == ("build",) or ln.ancestors[-1:] == ("outputs",)):
            continue
        value = ln.value.strip().strip("\"'")
        if not value or " " in value or "{" in value or "$" in value or value in ("|", ">"):
            continue
        if value.lower().endswith(SCRIPT_EXTS):
            named.setdefault(value, ln.number)
        elif "." not in value.rsplit("/", 1)[-1] and ctx.v1:
            for ext in (".bat", ".sh"):
                named.setdefault(value + ext, -ln.number)  # either may exist
    scripts: list[tuple[str, str]] = []
    unreadable: list[tuple[str, int, str]] = []
    for rel in sorted(ctx.src.files):
        if rel.lower().endswith(SCRIPT_EXTS):
            data = ctx.src.files[rel]
            if b"\0" in data[:8192]:
                if rel in named:
                    unreadable.append((rel, abs(named[rel]), "binary file"))
                continue
            scripts.append((rel, data.decode("utf-8", errors="replace")))
    present = set(ctx.src.files)
    v1_pairs: dict[int, list[str]] = {}
    for rel, line in named.items():
        if line < 0:
            v1_pairs.setdefault(-line, []).append(rel)
        elif rel not in present:
            unreadable.append((rel, line, "not in the recipe directory or too large"))
    for line, rels in v1_pairs.items():
        if not any(r in present for r in rels):
            unreadable.append((" or ".join(rels), line, "not in the recipe directory or too large"))
    return scripts, unreadable


def _x86_selector(ctx: _Context) -> list[Finding]:
    os_name, arch = split_subdir(ctx.pair.target)
    twin_subdir = X86_TWIN.get(ctx.pair.target)
    if arch not in ARM_WORDS or not twin_subdir:
        return []
    twin = PlatformPair(twin_subdir, ctx.pair.build if ctx.pair.build != ctx.pair.target else twin_subdir)
    exprs = ctx.text.expressions()
    for _, expr, _ in exprs:
        if names(expr) & set(ARM_WORDS) or any(w in s for s in strings(expr) for w in ARM_WORDS):
            return []  # the recipe thinks about arm64 somewhere: trust it
    out: list[Finding] = []
    done: set[int] = set()
    for number, expr, kind in exprs:
        if number in done:
            continue
        ids = names(expr)
        if not ids:
            continue
        vt, vx = truth(evaluate(expr, ctx.pair)), truth(evaluate(expr, twin))
        if vt is UNKNOWN or vx is UNKNOWN:
            continue
        where = f"`{expr}` ({kind})"
        markers = sorted(ids & {"x86_64", "x86", "osx64", "linux64", "win64"})
        if twin_subdir in strings(expr):
            markers.append(repr(twin_subdir))
        if markers and vt != vx:
            done.add(number)
            out.append(
                ctx.finding(
                    "x86-selector",
                    number,
                    f"{where} is {vx} on {twin_subdir} but {vt} on {ctx.pair.target} because it tests "
                    f"{', '.join(markers)}; the recipe has no arm64 selector, so {ctx.pair.target} silently "
                    "differs",
                    f"if the line is meant for every 64-bit {os_name}, drop the {markers[0]} test; "
                    f"if it is x86-only, add the arm64 case explicitly (e.g. `{os_name} and arm64`)",
                )
            )
        elif vt == vx and "win32" in ids and vt is True:
            done.add(number)
            word = "not win32"
            out.append(
                ctx.finding(
                    "x86-selector",
                    number,
                    f"{where} uses {word}, which is also {vt} on {ctx.pair.target}; it probably means x86_64 "
                    "and the recipe has no arm64 selector",
                    f"write `{os_name} and x86_64` if only x86_64 is "
                    f"meant, or `{os_name}` (and an explicit `arm64` case) if arm64 is meant too",
                )
            )
    return out


def _unknown_selector_name(ctx: _Context) -> list[Finding]:
    if ctx.v1 or ctx.result.error:
        return []
    from newarch.render import default_env

    out: list[Finding] = []
    for number, selector, unknown in unknown_selector_names(
        ctx.text, ctx.pair, ctx.result.outputs, default_env(ctx.pair)
    ):
        listed = ", ".join(repr(n) for n in unknown)
        out.append(
            ctx.finding(
                "unknown-selector-name",
                number,
                f"selector `[{selector}]` uses {listed}, which conda-build does not define: it reads "
                "it as False (with a warning), so the line is dropped wherever the name decides",
                "correct the name (e.g. `x86_64`, `win`, `arm64`, a variant key) or remove the selector",
            )
        )
    return out


def _binary_repack(ctx: _Context) -> list[Finding]:
    _, arch = split_subdir(ctx.pair.target)
    if arch in ("x86_64", "x86") or not ctx.built():
        return []
    urls: list[tuple[Line, str]] = []
    for ln in ctx.text.lines:
        if ln.in_block_scalar:
            continue
        if ln.key == "url" and ln.value or ln.item and not ln.key and ln.ancestors[-1:] == ("url",):
            urls.append((ln, ln.value.strip().strip("\"'")))
    if any(w in url.lower() for _, url in urls for w in ARM_WORDS):
        return []  # the recipe already knows an arm64 binary
    hits: list[tuple[Line, str, str]] = []
    for ln, url in urls:
        if "://" not in url or not ctx.applies(ln):
            continue
        why = _prebuilt_reason(url)
        if why:
            hits.append((ln, url, why))
    if not hits:
        return []
    ln, url, why = hits[0]  # one finding per feedstock: the first prebuilt url, and how many there are
    more = f" (and {len(hits) - 1} more prebuilt source url(s))" if len(hits) > 1 else ""
    return [
        ctx.finding(
            "binary-repack",
            ln.number,
            f"source {_short(url)} is a prebuilt binary ({why}){more}; upstream may have no {ctx.pair.target} build",
            f"look for an {arch} asset upstream and select it for {ctx.pair.target}, or build from source",
        )
    ]


def _prebuilt_reason(url: str) -> str:
    path = url.split("://", 1)[1].split("?", 1)[0].split("#", 1)[0]
    path = path.split("/", 1)[1] if "/" in path else ""
    low = path.lower()
    filename = low.rsplit("/", 1)[-1]
    if filename.endswith(".whl"):
        tag = filename[:-4].rsplit("-", 1)[-1]
        return "" if tag == "any" else f"wheel for platform {tag}"
    if filename.endswith((".exe", ".msi", ".msix", ".nupkg")):
        return f"{filename.rsplit('.', 1)[-1]} installer"
    if filename.endswith(("-any.pkg.tar.zst", "-any.pkg.tar.xz")):
        return ""
    m = _PREBUILT.search(filename)
    if m:
        return f"'{m.group(1)}' in the file name"
    dirs = set(low.split("/")[:-1])
    hit = sorted(dirs & {"x86_64", "x64", "amd64", "win64", "win-64", "mingw64", "ucrt64"})
    return f"'{hit[0]}/' in the url path" if hit else ""


def _short(url: str, limit: int = 100) -> str:
    return url if len(url) <= limit else url[: limit - 3] + "..."
