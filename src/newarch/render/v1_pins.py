"""Which outputs of a v1 recipe pin which (``pin_subpackage``), and which output a rendered variant is.

rattler-build fails a render that pins an output it does not render (``MissingOutput``), so a recipe
cut to some outputs (a skip probe, a learned render) keeps the outputs they pin. Pin arguments are
often expressions (``pin_subpackage("gcc_" ~ cross_target_platform, exact=True)``): they are spelled
out over the variant values and matched against the outputs' name templates spelled the same way. A
name that cannot be spelled out may pin any output.

Output names are templates too, and one can match another's rendered names (``gcc_${{ target }}``
matches ``gcc_bootstrap_linux-64``): a rendered variant is placed by its name spelled with its own
variant values first.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterator
from typing import Any

from newarch.render.pinning import Variants
from newarch.render.v1_conditions import PIN_ITEM
from newarch.render.v1_outputs import _as_text, _output_name, package_outputs
from newarch.render.v1_variants import _spelling

MAX_PIN_NAMES = 4096  # names a templated pin_subpackage argument is spelled out to, at most

_PIN_ARG = re.compile(rf"pin_subpackage\(\s*({PIN_ITEM}(?:\s*~\s*{PIN_ITEM})*)\s*[,)]")
_PIN_CALL = re.compile(r"pin_subpackage\(")
_TEMPLATE = re.compile(r"\$\{\{.*?\}\}", re.S)


def texts(node: Any) -> Iterator[str]:
    """Every string of ``node``, mapping keys included."""
    if isinstance(node, str):
        yield node
    elif isinstance(node, dict):
        for k, v in node.items():
            yield str(k)
            yield from texts(v)
    elif isinstance(node, list):
        for v in node:
            yield from texts(v)


def _pin_names(arg: str, v: Variants, known: dict[str, str]) -> list[str] | None:
    """The names a ``pin_subpackage`` argument (``"gcc_" ~ cross_target_platform``) can take, or
    ``None`` when one of its names is neither a variant key nor a platform name (or too many)."""
    choices: list[list[str]] = []
    for item in re.findall(PIN_ITEM, arg):
        if item[0] in "\"'":
            choices.append([item[1:-1]])
        elif item in known:
            choices.append([known[item]])
        elif item in v.values:
            choices.append(list(v.values[item]))
        else:
            return None
    count = 1
    for c in choices:
        count *= len(c)
    if count > MAX_PIN_NAMES:
        return None
    return ["".join(p) for p in itertools.product(*choices)]


def pins(stage0: dict[str, Any], v: Variants, known: dict[str, str]) -> list[set[int]]:
    """For each package output, the package outputs it may pin, directly (a superset)."""
    outs = package_outputs(stage0)
    spelled = [re.compile(_spelling(_output_name(o), v, known), re.S) for o in outs]
    every = set(range(len(outs)))
    found: list[set[int]] = []
    for o in outs:
        targets: set[int] = set()
        for text in texts(o):
            args = _PIN_ARG.findall(text)
            if len(args) != len(_PIN_CALL.findall(text)):  # an argument other than literals and names joined by ~
                targets = every
                break
            spelt = [_pin_names(arg, v, known) for arg in args]
            if any(names is None for names in spelt):
                targets = every
                break
            targets.update(
                j for j, r in enumerate(spelled) for names in spelt if any(r.fullmatch(n) for n in names or [])
            )
        found.append(targets)
    return found


def closure(direct: list[set[int]], indexes: set[int]) -> set[int]:
    """``indexes`` and every output they pin (``direct``: ``pins``), transitively."""
    keep = set(indexes)
    todo = list(indexes)
    while todo:
        for j in direct[todo.pop()]:
            if j not in keep:
                keep.add(j)
                todo.append(j)
    return keep


def sub_recipe(stage0: dict[str, Any], indexes: set[int]) -> dict[str, Any]:
    """``stage0`` with only the package outputs ``indexes`` (staging outputs stay; shares unchanged parts)."""
    d = dict(stage0)
    outputs: list[Any] = []
    index = 0
    for o in stage0.get("outputs") or []:
        if not (isinstance(o, dict) and "package" in o):
            outputs.append(o)
            continue
        if index in indexes:
            outputs.append(o)
        index += 1
    d["outputs"] = outputs
    return d


def output_index(
    d: dict[str, Any],
    variant: dict[Any, Any],
    outputs: list[dict[str, Any]],
    patterns: list[re.Pattern[str]],
    known: dict[str, str],
) -> int | None:
    """Which stage0 package output a rendered variant ``d`` comes from.

    By its name: a literal name first, then the name templates spelled with the variant's values and
    the rendered ``context`` (``clang-${{ major }}`` is not ``clang-format-22``), then by ``noarch``,
    then the template with the longest literal text (the more specific one).
    """
    if len(outputs) == 1:
        return 0
    name = str((d.get("package") or {}).get("name", ""))
    matches = [i for i, p in enumerate(patterns) if p.fullmatch(name)]
    if len(matches) > 1:
        matches = [i for i in matches if _output_name(outputs[i]) == name] or matches
    if len(matches) > 1:
        context = d.get("context")
        values = {
            str(k): [_as_text(x)]
            for k, x in (context.items() if isinstance(context, dict) else ())
            if isinstance(x, (str, int, float))
        }
        values.update({str(k): [_as_text(x)] for k, x in (variant or {}).items()})
        v = Variants(values)
        matches = [
            i for i in matches if re.fullmatch(_spelling(_output_name(outputs[i]), v, known), name, re.S)
        ] or matches
    if len(matches) > 1:
        noarch = str((d.get("build") or {}).get("noarch") or "")
        same = [i for i in matches if str((outputs[i].get("build") or {}).get("noarch") or "") == noarch]
        matches = same or matches
    if len(matches) > 1:
        matches.sort(key=lambda i: -len(_TEMPLATE.sub("", _output_name(outputs[i]))))
    return matches[0] if matches else None
