"""Channel pinning (conda_build_config.yaml) evaluated for one platform pair.

py-rattler-build evaluates the pinning's selectors itself; we keep the result as plain data
(:class:`Variants`) so the v0 renderer, the snapshot and the planner can use the same values.
"""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .errors import NewarchError
from .model import PlatformPair

SHARED_DATA_CANDIDATES = (
    Path.cwd() / ".." / "shared" / "data",
    Path(__file__).resolve().parents[2] / ".." / "shared" / "data",
)


@dataclass(slots=True)
class Variants:
    """Variant keys -> candidate values, plus the groups of keys zipped together."""

    values: dict[str, list[str]] = field(default_factory=dict)
    zip_keys: list[list[str]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {"values": {k: list(self.values[k]) for k in sorted(self.values)},
                "zip_keys": [list(g) for g in self.zip_keys]}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "Variants":
        return cls({str(k): [str(x) for x in v] for k, v in (d.get("values") or {}).items()},
                   [list(map(str, g)) for g in (d.get("zip_keys") or [])])

    def restricted(self, keys: set[str]) -> "Variants":
        """Only ``keys`` (and the keys zipped with them): the part a recipe can see."""
        keep = set(keys)
        for group in self.zip_keys:
            if keep.intersection(group):
                keep.update(group)
        return Variants({k: v for k, v in self.values.items() if k in keep},
                        [g for g in self.zip_keys if keep.intersection(g)])

    def merged(self, other: "Variants") -> "Variants":
        """``other`` (a recipe's own variant file) overrides keys; its zip groups replace overlapping ones."""
        values = dict(self.values)
        values.update(other.values)
        touched = {k for g in other.zip_keys for k in g}
        zips = [g for g in self.zip_keys if not touched.intersection(g)] + [list(g) for g in other.zip_keys]
        return Variants(values, zips)

    def to_variant_config(self):  # -> rattler_build.VariantConfig
        from rattler_build import VariantConfig

        return VariantConfig(dict(self.values), [list(g) for g in self.zip_keys] or None)


def platform_config(pair: PlatformPair):
    from rattler_build import PlatformConfig

    return PlatformConfig(target_platform=pair.target, build_platform=pair.build, host_platform=pair.target)


def _from_rattler(vc: Any) -> Variants:
    values: dict[str, list[str]] = {}
    for key in vc.keys():
        vals = vc.get_values(key) or []
        values[str(key)] = [_as_text(v) for v in vals]
    return Variants(values, [list(map(str, g)) for g in (vc.zip_keys or [])])


def _as_text(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    return str(v)


def default_pinning_path() -> Path | None:
    """conda-forge's pinning beside the checkout (``../shared/data``), or ``$NEWARCH_PINNING``."""
    env = os.environ.get("NEWARCH_PINNING")
    if env:
        return Path(env)
    for d in SHARED_DATA_CANDIDATES:
        p = (d / "conda_build_config.yaml").resolve()
        if p.is_file():
            return p
    return None


def load_pinning(path: str | Path, pair: PlatformPair) -> Variants:
    """Evaluate a conda_build_config.yaml for ``pair`` with py-rattler-build."""
    from rattler_build import JinjaConfig, VariantConfig

    p = Path(path)
    if not p.is_file():
        raise NewarchError("pinning file not found", str(p))
    try:
        vc = VariantConfig.from_conda_build_config(str(p), JinjaConfig(platform=platform_config(pair)))
    except Exception as exc:  # py-rattler-build raises its own error types
        raise NewarchError(f"cannot read pinning: {_first_line(exc)}", str(p)) from exc
    return _from_rattler(vc)


def load_recipe_variants(text: str, filename: str, pair: PlatformPair, display: str) -> Variants:
    """A recipe's own ``variants.yaml`` or ``conda_build_config.yaml`` evaluated for ``pair``."""
    from rattler_build import JinjaConfig, VariantConfig

    with tempfile.TemporaryDirectory(prefix="newarch-variants-") as tmp:
        p = Path(tmp) / filename
        p.write_text(text, encoding="utf-8")
        jc = JinjaConfig(platform=platform_config(pair))
        try:
            if filename == "conda_build_config.yaml":
                vc = VariantConfig.from_conda_build_config(str(p), jc)
            else:
                vc = VariantConfig.from_file_with_context(str(p), jc)
        except Exception as exc:
            raise NewarchError(f"cannot read variant file: {_first_line(exc)}", display) from exc
    return _from_rattler(vc)


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
