"""Channel pinning (conda_build_config.yaml) evaluated for one platform pair.

py-rattler-build evaluates the pinning's selectors itself; we keep the result as plain data
(:class:`Variants`) so the v0 renderer, the snapshot and the planner can use the same values.
"""

from __future__ import annotations

import os
import tempfile
from functools import lru_cache
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from newarch.errors import NewarchError
from newarch.model import PlatformPair

SHARED_DATA_CANDIDATES = (
    Path.cwd() / ".." / "shared" / "data",
    Path(__file__).resolve().parents[3] / ".." / "shared" / "data",
)


@dataclass(slots=True)
class Variants:
    """Variant keys -> candidate values, plus the groups of keys zipped together."""

    values: dict[str, list[str]] = field(default_factory=dict)
    zip_keys: list[list[str]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "values": {k: list(self.values[k]) for k in sorted(self.values)},
            "zip_keys": [list(g) for g in self.zip_keys],
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Variants:
        return cls(
            {str(k): [str(x) for x in v] for k, v in (d.get("values") or {}).items()},
            [list(map(str, g)) for g in (d.get("zip_keys") or [])],
        )

    def restricted(self, keys: set[str]) -> Variants:
        """Only ``keys`` (and the keys zipped with them): the part a recipe can see."""
        keep = set(keys)
        for group in self.zip_keys:
            if keep.intersection(group):
                keep.update(group)
        return Variants(
            {k: v for k, v in self.values.items() if k in keep}, [g for g in self.zip_keys if keep.intersection(g)]
        )

    def merged(self, other: Variants) -> Variants:
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
    for key in vc:
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


def _strip_migrator_keys(text: str) -> str:
    """Drop the top-level ``__migrator`` block and ``migrator_ts`` so the rest reads as a variant file."""
    out: list[str] = []
    skipping = False
    for line in text.splitlines():
        top = line[:1] not in ("", " ", "\t", "#", "-")
        if top:
            skipping = line.startswith(("__migrator", "migrator_ts"))
        if not skipping:
            out.append(line)
    return "\n".join(out) + "\n"


@lru_cache(maxsize=256)
def _migrator_meta(text: str) -> dict[str, Any]:
    from ruamel.yaml import YAML

    try:
        data = YAML(typ="safe", pure=True).load(text)
    except Exception:
        return {}
    if not isinstance(data, dict):
        return {}
    meta = data.get("__migrator")
    meta = dict(meta) if isinstance(meta, dict) else {}
    meta["_ts"] = data.get("migrator_ts", 0)
    return meta


@lru_cache(maxsize=512)
def _migration_variants(text: str, pair: PlatformPair) -> Variants | str:
    """A migration file's variant keys for ``pair``, or why it cannot be read. Cached: the same few
    migrations (python314, ...) recur in most feedstocks. Callers only read the result."""
    try:
        return load_recipe_variants(_strip_migrator_keys(text), "conda_build_config.yaml", pair, "")
    except NewarchError as exc:
        return exc.message


def apply_migrations(
    base: Variants, migrations: dict[str, str], pair: PlatformPair, display: str
) -> tuple[Variants, list[str]]:
    """Apply a feedstock's ``.ci_support/migrations/*.yaml`` on top of the pinning, as conda-smithy does.

    ``key_add`` (e.g. python314) appends rows to the primary key's zip group; ``key_remove`` drops
    them; any other migration replaces the values of the keys it names (version migrations).
    Migrations apply in ``migrator_ts`` order. Returns the variants and one note per migration.
    """
    notes: list[str] = []
    if not migrations:
        return base, notes
    ordered = sorted(migrations.items(), key=lambda kv: (float(_migrator_meta(kv[1]).get("_ts") or 0), kv[0]))
    values = {k: list(v) for k, v in base.values.items()}
    zips = [list(g) for g in base.zip_keys]
    for name, text in ordered:
        meta = _migrator_meta(text)
        mig = _migration_variants(text, pair)
        if isinstance(mig, str):
            notes.append(f"migration {name} ignored: {display}/{name}: {mig}")
            continue
        op = str(meta.get("operation") or "")
        primary = str(meta.get("primary_key") or "")
        if op in ("key_add", "key_remove") and primary in mig.values:
            group = next((g for g in zips if primary in g), [primary])
            extra = [str(k) for k in (meta.get("additional_zip_keys") or []) if str(k) in mig.values]
            rows = len(values.get(primary, []))
            cols = list(dict.fromkeys([*group, *extra]))
            table = {k: list(values.get(k) or [""]) for k in cols}
            for k in cols:  # a key newly zipped keeps its single value on the existing rows
                if len(table[k]) != rows:
                    table[k] = [table[k][0]] * rows
            changed = 0
            for i, pval in enumerate(mig.values[primary]):
                present = pval in table[primary]
                if op == "key_add" and not present:
                    for k in cols:
                        given = mig.values.get(k)
                        table[k].append(given[min(i, len(given) - 1)] if given else table[k][0])
                    changed += 1
                elif op == "key_remove" and present:
                    idx = table[primary].index(pval)
                    for k in cols:
                        del table[k][idx]
                    changed += 1
            values.update(table)
            if extra:
                zips = [g for g in zips if not set(g) & set(cols)] + [cols]
            verb = "added" if op == "key_add" else "removed"
            notes.append(f"migration {name}: {verb} {changed} {primary} variant(s)")
        else:
            keys = sorted(k for k in mig.values if not k.startswith("__"))
            for k in keys:
                values[k] = list(mig.values[k])
            if mig.zip_keys:
                touched = {k for g in mig.zip_keys for k in g}
                zips = [g for g in zips if not touched & set(g)] + [list(g) for g in mig.zip_keys]
            notes.append(f"migration {name}: pins {', '.join(keys) or 'nothing'}")
    return Variants(values, zips), notes
