"""Platform facts: the conda subdirs newarch knows, and which subdirs a machine of each can execute.

The execution profiles are the one table the planner (native builds, tipping point) and the verifier
(build environments) read. They state what conda-forge's CI does, not what is possible in theory:
win-arm64 machines run win-64 binaries under emulation and osx-arm64 runs osx-64 under Rosetta 2,
but conda-forge's linux-aarch64, linux-ppc64le and linux-riscv64 builders do not run linux-64
binaries. conda-forge's native win-arm64 CI runs the x64 conda-build / rattler-build under
emulation while the build and host environments hold win-arm64 packages.
"""

from __future__ import annotations

# conda's subdirs (conda.base.constants.KNOWN_SUBDIRS, plus the wasm ones conda-forge builds).
KNOWN_SUBDIRS: tuple[str, ...] = (
    "emscripten-wasm32",
    "freebsd-64",
    "linux-32",
    "linux-64",
    "linux-aarch64",
    "linux-armv6l",
    "linux-armv7l",
    "linux-ppc64",
    "linux-ppc64le",
    "linux-riscv64",
    "linux-s390x",
    "noarch",
    "osx-64",
    "osx-arm64",
    "wasi-wasm32",
    "win-32",
    "win-64",
    "win-arm64",
    "zos-z",
)

# subdir -> the other subdirs whose binaries a machine of that subdir runs in conda-forge's CI.
EXECUTES: dict[str, tuple[str, ...]] = {
    "win-arm64": ("win-64",),  # x64 emulation on Windows on Arm
    "osx-arm64": ("osx-64",),  # Rosetta 2
    "win-64": ("win-32",),
    "linux-64": ("linux-32",),
    "linux-aarch64": (),
    "linux-ppc64le": (),
    "linux-riscv64": (),
    "osx-64": (),
}


def normalize(subdir: str) -> str:
    """``win_arm64`` (conda-forge.yml spelling) -> ``win-arm64``; other text is returned stripped."""
    return subdir.strip().replace("_", "-")


def runs_on(machine: str, binaries: str) -> bool:
    """Whether a machine of subdir ``machine`` executes binaries built for ``binaries``."""
    return machine == binaries or binaries == "noarch" or binaries in EXECUTES.get(machine, ())


def native_tools_from(target: str) -> str | None:
    """The subdir whose build tools (conda-build, rattler-build, ninja...) run natively on ``target``
    from the start of a bootstrap, or None when the target must wait for its own builds."""
    emulated = EXECUTES.get(target, ())
    return emulated[0] if emulated else None
