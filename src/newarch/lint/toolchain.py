"""Lint rules on the build toolchain of a cross-compile: cross-python, MinGW, build tools, autotools.

``cross-python-missing``, ``mingw-on-arm64``, ``build-tool-missing``, ``autotools-no-cc-for-build``
and ``build-script-unreadable`` (see ``catalog.py``); build scripts are read as text, never run.
"""

from __future__ import annotations

import re

from newarch.lint.context import ARM_WORDS, REQ_SECTIONS, _Context, _unique_by_name
from newarch.lint.expr import split_subdir
from newarch.model import Finding, Output

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
# MinGW toolchain pieces in build (m2w64 build *tools* such as m2w64-pkg-config run on the build machine).
# The MinGW-w64 sysroot (headers, CRT) exists for win-arm64 (``m2w64-sysroot_win-arm64`` is a conda-forge
# output); what is missing upstream is GCC for aarch64-w64-mingw32, so only compilers are flagged in build.
_MINGW_TOOLCHAIN = re.compile(r"^m2w64(_(c|cxx|fortran)(_|$)|-(gcc|gxx|g\+\+|gfortran|toolchain)(?![a-z]))")
_MINGW_SYSROOT = re.compile(r"^m2w64[-_](sysroot|c_stdlib)")
_COMPILER_CALL = re.compile(r"""(?P<func>compiler|stdlib)\(\s*['"](?P<lang>[A-Za-z0-9_]+)['"]""")
_SUBDIR_SUFFIX = re.compile(r"_((?:win|linux|osx|emscripten|wasi)-[a-z0-9]+)$")
_VS_ACTIVATION = re.compile(r"^vs20\d\d_")


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
