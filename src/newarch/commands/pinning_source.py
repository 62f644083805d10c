"""The pinning a single-recipe command (render, lint) renders with, and where it came from."""

from __future__ import annotations

from pathlib import Path

from newarch.errors import NewarchError
from newarch.model import PlatformPair
from newarch.render.pinning import Variants, default_pinning_path, load_pinning


def load_pinning_for(pair: PlatformPair, pinning_path: str | Path | None = None) -> tuple[Variants, str]:
    """The pinning for ``pair`` and a sentence saying where it came from.

    Order: ``pinning_path``; else ``newarch.render.pinning.default_pinning_path()`` (``$NEWARCH_PINNING`` or
    conda-forge's ``conda_build_config.yaml`` beside the checkout); else the pinning facts recorded
    in the bundled snapshot for this pair.
    """
    path = Path(pinning_path) if pinning_path is not None else default_pinning_path()
    if path is not None:
        return load_pinning(path, pair), str(path)
    from newarch.store import snapshot as snapshot_mod

    snap = snapshot_mod.load(None)
    platforms = (snap.pinning or {}).get("platforms") or {}
    facts = platforms.get(pair.key)
    if facts is None:
        known = ", ".join(sorted(platforms)) or "none"
        raise NewarchError(
            f"no pinning file found and the bundled snapshot has no pinning for {pair.key} "
            f"(it has: {known}); pass --pinning FILE",
            snap.origin,
        )
    source = (snap.pinning or {}).get("source") or "conda_build_config.yaml"
    return (
        Variants.from_dict(facts),
        f"no conda_build_config.yaml found; using the pinning recorded in the bundled snapshot "
        f"({snap.date}, from {source})",
    )
