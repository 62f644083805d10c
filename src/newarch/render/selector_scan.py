"""Find the ``# [selector]`` at the end of a recipe line in linear time.

conda-build splits a line with ``sel_pat = (.+?)\\s*(#.*)?\\[([^\\[\\]]+)\\](?(2)[^\\(\\)]*)$``. Python's
backtracking regex engine needs quadratic time on some lines (``x``, 10 000 spaces, ``[win](``
takes seconds; a 1 MB line takes hours), and recipes are untrusted. :func:`split_line` returns the
same groups as that pattern in one pass over the line (``test_selectors.py`` checks the two agree
on random lines).

How the pattern matches, and so how this scan works: the selector is ``[sel]`` (no brackets
inside) and either ends the line, or follows a ``#`` and is followed by text without
parentheses. The regex takes the *shortest* prefix (``.+?``), so the match starts at the first
place either can begin; after a ``#`` the greedy ``.*`` picks the *last* ``[sel]`` that qualifies.
"""

from __future__ import annotations


def split_line(line: str) -> tuple[str, str] | None:
    """``(text before the selector, selector)`` as conda-build's ``sel_pat`` finds them, or None.

    ``line`` has no newline (one line of ``str.splitlines``).
    """
    n = len(line)
    if n < 3 or "]" not in line or "[" not in line:
        return None
    paren = max(line.rfind("("), line.rfind(")"))
    # the last "[sel]" (no bracket inside, not empty) followed by no parenthesis: after a '#'
    qmax = rsel = -1
    next_bracket = -1
    for k in range(n - 1, -1, -1):
        c = line[k]
        if c == "[":
            if next_bracket > k + 1 and next_bracket > paren and line[next_bracket] == "]":
                qmax, rsel = k, next_bracket
                break
            next_bracket = k
        elif c == "]":
            next_bracket = k
    # "[sel]" ending the line (without a '#' before it)
    bare = -1
    if line[-1] == "]":
        last_open = line.rfind("[")
        if 0 < last_open < n - 2 and "]" not in line[last_open + 1 : n - 1]:
            bare = last_open
    first_hash = line.find("#", 1)
    starts = []
    if qmax != -1 and first_hash != -1 and first_hash < qmax:
        starts.append(first_hash)
    if bare != -1:
        starts.append(bare)
    if not starts:
        return None
    p = min(starts)
    before = line[: max(1, len(line[:p].rstrip()))]
    if p == bare:
        return before, line[bare + 1 : n - 1]
    return before, line[qmax + 1 : rsel]


__all__ = ["split_line"]
