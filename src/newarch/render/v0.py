"""Render a conda-build ``meta.yaml`` (v0 recipe) for one platform pair, as conda-build does.

Steps (per conda-build): merge the recipe's ``conda_build_config.yaml`` over the channel pinning,
find the variant keys the recipe uses, expand their combinations (honouring ``zip_keys``), and for
each combination render Jinja (sandboxed), apply ``# [selector]`` lines, parse the YAML (PyYAML
with numbers kept as strings, like conda-build's ``StringifyNumbersLoader``) and build outputs.

Lines are selected in ``v0_lines``, variants found in ``v0_variants``, outputs assembled in
``v0_outputs``.

Unknown selector names read as false, as in conda-build. ``py27``-style flags exist only for the
versions conda-build defines (26, 27, 33-36).

Names conda-build defines outside the recipe: osx hosts get ``osx_vars`` (``MACOSX_DEPLOYMENT_TARGET``
...); ``GIT_DESCRIBE_*`` of a ``git_url`` source get stand-ins (conda-build fetches the source to
define them; noted). A render that fails on an undefined name is rendered again with undefined names
permitted, as conda-build's first pass is: a recipe whose top-level ``build/skip`` is then true is
skipped (noted), as conda-build skips it; otherwise the error stands.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any
from collections.abc import Mapping

from newarch.errors import NewarchError, RenderError
from newarch.model import Dropped, Output, PlatformPair, RenderResult, dep_name
from newarch.render.pinning import Variants
from newarch.sources.recipes import RecipeSource
from newarch.render.selector_namespace import selector_namespace
from newarch.render.jinja import RenderContext, git_source_vars
from newarch.render.jinja_sandbox import UndefinedNameError, jinja_vars, render_template
from newarch.render.v0_lines import (
    _norm_item,
    _plan,
    _selector_values,
    _Selected,
    apply_switches,
    line_mapper,
    load_yaml,
    load_yaml_blocks,
    select,
    select_source,
    template_text,
)
from newarch.render.v0_outputs import _build_outputs, _truthy
from newarch.render.v0_variants import (
    expand_variants,
    merge_variants,
    parse_recipe_cbc,
    used_in_scripts,
    used_variables,
    _scalar,
)

IMPLICIT_VARIANT_KEYS = frozenset({"target_platform"})  # implied by the platform pair


# ----------------------------------------------------------------------------- entry point


def render_v0(src: RecipeSource, pair: PlatformPair, pinning: Variants, env: dict[str, str]) -> RenderResult:
    """Render ``src``'s meta.yaml for ``pair``. Raises RenderError (file and line) for bad recipes."""
    file = src.display("meta.yaml")
    raw = src.text("meta.yaml")
    if raw is None:
        raise RenderError("no meta.yaml", file)
    result = RenderResult(pair=pair)
    host, build = pair.target, pair.build
    windows = host.startswith("win-")

    base = Variants({k: list(v) for k, v in pinning.values.items()}, [list(g) for g in pinning.zip_keys])
    base.values.setdefault("target_platform", [host])
    filters: dict[str, set[str]] = {}
    cbc_text = src.text("conda_build_config.yaml")
    if cbc_text is not None:
        first = {k: v[0] for k, v in base.values.items() if v}
        ns0 = selector_namespace(host, build, first, env)
        recipe_variants, _ = parse_recipe_cbc(cbc_text, ns0, src.display("conda_build_config.yaml"))
        base, filters = merge_variants(base, recipe_variants, src.display("conda_build_config.yaml"))

    keys = [k for k in base.values if k != "zip_keys"]
    used = used_variables(keys, raw) | used_variables(keys, raw, selectors_only=True)
    used |= used_in_scripts(keys, src, windows)
    combos, total = expand_variants(base, used, filters, src.display("conda_build_config.yaml"))
    if total > len(combos):
        result.notes.append(f"{file}: {total} variant combinations, rendered the first {len(combos)}")
    if not combos:
        combos = [{k: v[0] for k, v in base.values.items() if v}]

    source_vars = git_source_vars(raw)
    if source_vars:
        result.notes.append(
            f"{file}: {', '.join(n for n in sorted(source_vars) if n in raw)} come from the git checkout of the source, which "
            "conda-build fetches before rendering; newarch does not fetch sources and uses stand-ins "
            f"({source_vars['GIT_DESCRIBE_TAG']!r}, {source_vars['GIT_DESCRIBE_NUMBER']!r}, "
            f"{source_vars['GIT_DESCRIBE_HASH']!r}): versions built from them are not the real ones"
        )
    seen: dict[str, Output] = {}
    has_package = re.search(r"^package:", raw, re.M) is not None
    for variant in combos:
        rendered = _render_variant(src, raw, file, host, build, variant, env, used, has_package, source_vars)
        if rendered.note and rendered.note not in result.notes:
            result.notes.append(rendered.note)
        for out in rendered.outputs:
            key = repr(sorted(out.to_dict().items()))
            if key not in seen:
                seen[key] = out
    result.outputs = list(seen.values())
    return result


def _render_variant(
    src: RecipeSource,
    raw: str,
    file: str,
    host: str,
    build: str,
    variant: dict[str, str],
    env: dict[str, str],
    used: set[str],
    has_package: bool,
    source_vars: dict[str, str],
) -> _Rendered:
    ns = selector_namespace(host, build, variant, env)
    values = _selector_values(raw, ns, file)
    source = select_source(raw, values)
    plan = _plan(raw)
    text = template_text(raw, tuple(values[o] for o in plan.baked))
    ctx = RenderContext(
        host=host,
        build=build,
        variant=variant,
        env=env,
        selectors=ns,
        switches=[values[o] for o in plan.switched],
        source_vars=source_vars,
    )
    note = ""
    try:
        meta, selected = _render_passes(text, raw, ctx, ns, file)
    except UndefinedNameError as exc:
        # conda-build renders with undefined names permitted first (``UndefinedNeverFail``) and a
        # recipe whose top-level build/skip is then true is skipped, never rendered strictly.
        ctx.pins.clear()
        try:
            meta, selected = _render_passes(text, raw, ctx, ns, file, lenient=True)
        except RenderError:
            raise exc from None
        if not _top_skip(meta):
            raise
        note = (
            f"{exc}: conda-build permits undefined names in its first render and the recipe's "
            f"build.skip is true on {host}, so it is skipped, not failed"
        )
    selected = _Selected(
        selected.text,
        selected.lines,
        selected.conditions,
        selected.key_selectors,
        {k: list(v) for k, v in selected.dropped.items()},
    )
    jinja_ctx: dict[str, Any] = {}
    for out_idx, drops in source.dropped.items():
        for section, item, cond, line in drops:
            if ("{{" in item or "{%" in item) and not jinja_ctx:
                jinja_ctx = jinja_vars(ctx.context())
            name = _dropped_name(item, jinja_ctx, file)
            if name:
                selected.dropped.setdefault(out_idx, []).append(Dropped(section, name, cond, line))
    outputs = _build_outputs(meta, selected, ctx, variant, has_package, file)
    used_here = used_variables(used, source.text) | used_variables(used, raw, selectors_only=True)
    shown = {k: variant[k] for k in sorted(used_here) if k in variant and k not in IMPLICIT_VARIANT_KEYS}
    for out in outputs:
        out.variant = dict(shown)
    return _Rendered(outputs, note)


@dataclass(slots=True)
class _Rendered:
    outputs: list[Output]
    note: str = ""  # why a failing render was read as skipped


def _top_skip(meta: Mapping[str, Any]) -> bool:
    bld = meta.get("build")
    return isinstance(bld, dict) and _truthy(bld.get("skip", False))


def _render_passes(
    text: str, raw: str, ctx: RenderContext, ns: Mapping[str, Any], file: str, lenient: bool = False
) -> tuple[dict[str, Any], _Selected]:
    """Render ``text``; again with ``PKG_NAME``/``PKG_VERSION``/``PKG_BUILDNUM`` when the recipe uses them."""
    meta, selected = _render_text(text, ctx, ns, file, lenient)
    if "PKG_" in raw:
        pkg = meta.get("package") if isinstance(meta.get("package"), dict) else {}
        bld = meta.get("build") if isinstance(meta.get("build"), dict) else {}
        ctx.pkg_name = _scalar((pkg or {}).get("name") or "")
        ctx.pkg_version = _scalar((pkg or {}).get("version") or "")
        ctx.pkg_buildnum = _scalar((bld or {}).get("number") or "0")
        ctx.pins.clear()
        meta, selected = _render_text(text, ctx, ns, file, lenient)
    return meta, selected


def _render_text(
    text: str, ctx: RenderContext, ns: Mapping[str, Any], file: str, lenient: bool = False
) -> tuple[dict[str, Any], _Selected]:
    rendered = apply_switches(render_template(text, jinja_vars(ctx.context()), file, lenient), ctx.switches)
    selected = select(rendered, ns, file, text)
    mapping: list[list[int]] = []

    def line_of(n: int) -> int:
        if not mapping:
            mapping.append(line_mapper(text, selected.lines))
        m = mapping[0]
        return m[n - 1] if 0 < n <= len(m) else n

    meta = _load_cached(selected.text, file)
    if meta is None:
        meta = load_yaml(selected.text, file, line_of)
    if meta is None:
        raise RenderError("recipe is empty", file)
    if not isinstance(meta, dict):
        raise RenderError("recipe is not a YAML mapping", file, 1)
    return meta, selected


_YAML_CACHE: dict[tuple[str, str], Any] = {}


def _load_cached(text: str, file: str) -> Any:
    """Parsed recipe YAML, cached by text (variants often render identical text); None if not valid."""
    key = (text, file)
    if key in _YAML_CACHE:
        return _YAML_CACHE[key]
    ok, value = load_yaml_blocks(text)
    if not ok:
        try:
            value = load_yaml(text, file)
        except RenderError:
            return None
    if len(_YAML_CACHE) > 256:
        _YAML_CACHE.clear()
    _YAML_CACHE[key] = value
    return value


def _dropped_name(item: str, jinja_ctx: dict[str, Any], file: str) -> str:
    """The package name of a dropped requirement line; Jinja in it is rendered on its own."""
    if "{{" in item or "{%" in item:
        try:
            item = render_template(item, jinja_ctx, file)
        except NewarchError:
            return ""
        item = _norm_item(item.split("#", 1)[0])
    name = dep_name(item)
    return name if name and "{" not in name else ""
