"""``newarch lint --explain RULE``: what each rule checks, why it matters for a new platform, the fix."""

from __future__ import annotations

EXPLAIN: dict[str, str] = {
    "render-failed": "The recipe cannot be rendered for the target platform (bad YAML, Jinja error, missing "
    "pinning key). Nothing else can be checked until it renders. Fix the line named in the message.",
    "cross-python-missing": "A python extension is cross-compiled (build platform != target) but its build "
    "requirements lack cross-python_<target>, so the build would link against the build platform's python. "
    "Add `cross-python_{{ target_platform }}` to build under `build_platform != target_platform`.",
    "mingw-on-arm64": "The recipe uses the MinGW toolchain (m2w64 compilers), which has no aarch64-w64-mingw32 "
    "GCC on conda-forge. Use the MSVC/clang-cl compilers on win-arm64.",
    "build-tool-missing": "A build requirement does not exist on the build platform (checked against "
    "--available / --available-build). When the plan builds the feedstock natively, build requirements run "
    "on the target and the finding is only informational.",
    "autotools-no-cc-for-build": "An autotools build on a Windows cross-compile needs CC_FOR_BUILD (a compiler "
    "for the build machine) or configure's checks run target binaries. Set CC_FOR_BUILD in the build script.",
    "x86-selector": "A selector tests x86_64, x86, win64, osx64 or linux64 and the recipe has no arm64 case, so "
    "the arm64 target silently differs from its x86_64 twin (conda-build: win64 is true only on win-64). "
    "Write `win` if all Windows platforms are meant, or add an explicit `arm64` case.",
    "binary-repack": "The source is a prebuilt binary for one architecture (e.g. an x86_64 zip); it will not "
    "run on the new platform. Build from source or repack the arm64 binary.",
    "build-script-unreadable": "A build script named by the recipe is missing or too large to read, so the "
    "script-based rules could not look at it.",
}
