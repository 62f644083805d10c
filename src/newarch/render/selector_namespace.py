"""The selector namespace, built exactly like conda-build's ``get_selectors``: platform flags from the
host subdir, ``py``/``np``, the environment and every variant key (ints where the value is an int,
booleans for ``true``/``false``)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from functools import lru_cache
from typing import Any

from newarch.platforms import KNOWN_SUBDIRS  # conda's: conda-build derives os/arch flags from them

ARCH_MAP = {"32": "x86", "64": "x86_64"}


# ----------------------------------------------------------------------------- namespace


class Environ:
    """A read-only view of the controlled environment, the only ``environ`` a recipe sees."""

    __slots__ = ("_env",)

    def __init__(self, env: Mapping[str, str]) -> None:
        self._env = env

    def get(self, key: Any, default: Any = None) -> Any:
        return self._env.get(key, default) if isinstance(key, str) else default

    def __contains__(self, key: object) -> bool:
        return key in self._env

    def __getitem__(self, key: str) -> str:
        return self._env[key]

    def keys(self) -> list[str]:
        return list(self._env)

    def items(self) -> list[tuple[str, str]]:
        return list(self._env.items())

    def values(self) -> list[str]:
        return list(self._env.values())

    def __iter__(self):  # pragma: no cover - trivial
        return iter(list(self._env))

    def __len__(self) -> int:
        return len(self._env)

    def __repr__(self) -> str:
        return "environ"


class OSModule:
    """The subset of ``os`` conda-build exposes to selectors and Jinja (``OSModuleSubset``)."""

    __slots__ = ("environ",)
    sep = "/"
    pathsep = ":"

    def __init__(self, environ: Environ) -> None:
        self.environ = environ

    def getenv(self, key: Any, default: Any = None) -> Any:
        return self.environ.get(key, default)

    def __repr__(self) -> str:
        return "os"


def py_int(python: str) -> int:
    """``3.14.* *_cp314`` -> 314 (conda-build's ``py``)."""
    major, minor, *_ = python.split(" ")[0].split(".") + ["0"]
    digits = re.sub(r"\D", "", major) + re.sub(r"\D", "", minor)
    return int(digits) if digits else 0


@lru_cache(maxsize=16384)
def _auto_type(value: str) -> Any:
    try:
        return int(value)
    except (TypeError, ValueError):
        if isinstance(value, str) and value.lower() in ("true", "false"):
            return value.lower() == "true"
        return value


def selector_namespace(host: str, build: str, variant: Mapping[str, str], env: Mapping[str, str]) -> dict[str, Any]:
    """The selector namespace of conda-build's ``get_selectors`` for host subdir ``host``.

    ``win64`` is ``host == "win-64"`` (false on win-arm64, where ``arm64`` and ``win`` are true),
    ``x86_64`` is ``host.endswith("-64")``; ``variant`` values are strings.
    """
    d = dict(
        _fixed_namespace(
            host,
            build,
            tuple(env.items()),
            variant.get("python") or "3.12",
            variant.get("numpy") or "1.26",
            variant.get("perl", "5.26.2"),
            variant.get("lua", "5"),
        )
    )
    d.update({k: _auto_type(v) for k, v in variant.items() if k not in d})
    return d


@lru_cache(maxsize=256)
def _fixed_namespace(
    host: str, build: str, env_items: tuple[tuple[str, str], ...], py: str, np: str, perl: str, lua: str
) -> dict[str, Any]:
    """Everything in the namespace but the variant keys (callers copy it: never mutate)."""
    env = dict(env_items)
    environ = Environ(env)
    d: dict[str, Any] = {
        "linux32": host == "linux-32",
        "linux64": host == "linux-64",
        "arm": host.startswith("linux-arm"),
        "unix": host.startswith(("linux-", "osx-", "emscripten-")),
        "win32": host == "win-32",
        "win64": host == "win-64",
        "os": OSModule(environ),
        "environ": environ,
        "nomkl": env.get("FEATURE_NOMKL", "0") == "1",
    }
    subdirs = [s for s in (*KNOWN_SUBDIRS, host) if "-" in s]
    for os_name in {s.split("-")[0] for s in subdirs}:
        d[os_name] = host.startswith(f"{os_name}-")
    for arch in {s.split("-", 1)[1] for s in subdirs}:
        d[ARCH_MAP.get(arch, arch)] = host.endswith(f"-{arch}")
    d["x86"] = host.endswith(("-32", "-64"))
    py_ver = py_int(py)
    py_major = py.split(" ")[0].split(".")[0]
    d["build_platform"] = build
    d.update(
        py=py_ver,
        py3k=py_major == "3",
        py2k=py_major == "2",
        py26=py_ver == 26,
        py27=py_ver == 27,
        py33=py_ver == 33,
        py34=py_ver == 34,
        py35=py_ver == 35,
        py36=py_ver == 36,
    )
    np_digits = re.sub(r"\D", "", "".join(np.split(".")[:2]))
    d["np"] = int(np_digits) if np_digits else 0
    d["pl"] = perl
    d["lua"] = lua
    d["luajit"] = lua[:1] == "2"
    for key in ("FEATURE_DEBUG", "FEATURE_NOMKL", "FEATURE_OPT"):
        if env.get(key) in ("0", "1"):
            d[key[8:].lower()] = env[key] == "1"
    d.update(env)
    return d
