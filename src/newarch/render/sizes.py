"""How large a value gets when it is printed or walked, without building it.

YAML aliases and Jinja list repetition make values that share their parts: ``[[a] * 1000] * 1000``
holds 1 000 list objects but prints a million ``a``; a YAML alias bomb is a few kilobytes of
text and a graph of a few dozen nodes that expands to 10^9. Memory is only spent when something
expands them (``str``, a walk over the recipe). :func:`expanded_size` counts what the expansion
would hold, visiting each shared part once, and stops as soon as the count passes the limit.
"""

from __future__ import annotations

from typing import Any

CONTAINERS = (list, tuple, dict, set, frozenset)


def expanded_size(value: Any, limit: int) -> int:
    """Characters of strings plus items of containers in ``value`` expanded as a tree (shared parts
    counted every time they appear). Past ``limit`` the count stops early and is ``> limit``;
    a container that contains itself counts as ``limit + 1``."""
    memo: dict[int, int] = {}

    def size(x: Any) -> int:
        if isinstance(x, str):
            return len(x)
        if not isinstance(x, CONTAINERS):
            return 1
        key = id(x)
        known = memo.get(key)
        if known is not None:
            return known
        memo[key] = limit + 1  # while in progress: a cycle is too large
        total = len(x)
        parts = (p for kv in x.items() for p in kv) if isinstance(x, dict) else x
        for part in parts:
            total += size(part)
            if total > limit:
                break
        memo[key] = total
        return total

    return size(value)


def too_large(value: Any, limit: int) -> bool:
    """``expanded_size(value) > limit``, cheap for scalars."""
    if isinstance(value, str):
        return len(value) > limit
    if not isinstance(value, CONTAINERS):
        return False
    return expanded_size(value, limit) > limit


__all__ = ["expanded_size", "too_large"]
