"""Match specs against rendered builds, with py-rattler (no hand-written spec matching).

A rendered output is turned into a ``rattler.PackageRecord`` (name, version; the build string is not
known before the build runs, so the build-string part of a spec is not checked) and the requirement's
``rattler.MatchSpec`` decides. Python variants are compared by their minor version (``3.12``).
"""

from __future__ import annotations

import re
from functools import lru_cache

from rattler import MatchSpec, PackageRecord
from rattler.package.build_string import BuildString

from newarch.model import Output


def py_minor(text: str) -> str:
    """``3.14.* *_cp314`` / ``3.14`` / ``3.12.7`` -> ``3.14`` / ``3.14`` / ``3.12``."""
    v = text.split()[0] if text.split() else text
    parts = v.replace("*", "").strip(".").split(".")
    return ".".join(parts[:2])


def free_threaded(spelling: str) -> bool:
    """``3.13.* *_cp313t``: a free-threading ABI variant of python."""
    return bool(re.search(r"_cp\d+t\b", spelling))


def output_python(o: Output) -> str | None:
    """The python (minor) a compiled output is built for; None when it does not depend on one."""
    v = o.variant.get("python")
    if v:
        return py_minor(v)
    if o.name == "python" and o.version:
        return py_minor(o.version)
    return None


def _minor_key(m: str) -> tuple[int, ...]:
    return tuple(int(x) if x.isdigit() else 0 for x in m.split("."))


def serves_python(o: Output, py: str) -> bool:
    """Whether a compiled output installs next to python ``py``: built for it, for no python, or built
    once for the lowest python with the stable ABI (conda-forge's ``is_python_min`` / ``is_abi3``
    variants, e.g. maturin built for python_min serves every newer python)."""
    op = output_python(o)
    if op is None or op == py:
        return True
    floor = (
        str(o.variant.get("is_python_min", "")).lower() == "true" or str(o.variant.get("is_abi3", "")).lower() == "true"
    )
    return floor and _minor_key(py) >= _minor_key(op)


@lru_cache(maxsize=65536)
def version_spec(spec: str) -> MatchSpec | None:
    """The name+version part of ``spec`` as a MatchSpec; None when it has no version constraint or
    cannot be parsed (then any version matches, and the caller can say so)."""
    spec = spec.split("#", 1)[0].strip()
    try:
        ms = MatchSpec(spec)
    except Exception:  # noqa: BLE001 - rattler raises its own exception types for unparsable specs
        return None
    version = ms.version
    if version is None or str(version) in ("", "*"):
        return None
    name = ms.name.normalized if hasattr(ms.name, "normalized") else str(spec.split()[0])
    return MatchSpec(f"{name} {version}")


def parses(spec: str) -> bool:
    try:
        MatchSpec(spec.split("#", 1)[0].strip())
    except Exception:  # noqa: BLE001
        return False
    return True


@lru_cache(maxsize=65536)
def _record(name: str, version: str) -> PackageRecord:
    return PackageRecord(name=name, version=version, build=BuildString("0"), build_number=0, subdir="noarch")


def version_matches(spec: str, name: str, version: str) -> bool:
    """Does a build of ``name`` at ``version`` satisfy ``spec``? (unknown version: yes)"""
    ms = version_spec(spec)
    if ms is None or not version:
        return True
    try:
        return bool(ms.matches(_record(name, version)))
    except Exception:  # noqa: BLE001 - a version string rattler cannot parse
        return True


def python_fits(o: Output, py: str) -> bool:
    """Whether a noarch output installs next to python ``py`` (its run requirements on python)."""
    return all(version_matches(r.spec, "python", f"{py}.0") for r in o.reqs("run") if r.name == "python")


def python_bound(o: Output) -> bool:
    """A noarch output whose run requirements constrain python's version."""
    return any(r.name == "python" and version_spec(r.spec) is not None for r in o.reqs("run"))
