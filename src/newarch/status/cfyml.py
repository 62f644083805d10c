"""The ``conda-forge.yml`` change that turns a platform on for one feedstock.

Cross mode adds ``build_platform: {<target>: <build>}`` (plus ``test: native_and_emulated`` when the
file has no ``test`` setting); native mode adds ``provider: {<target>: default}``. Platform names are
conda-smithy keys (``win-arm64`` -> ``win_arm64``), so any platform works.

The edit keeps every other byte of the file: ruamel.yaml's round-trip loader tells where each key is,
and the new lines are inserted there (sorted among their siblings when the siblings are sorted). Only
when the layout is unusual (flow mappings, an empty ``build_platform:``) is the file re-dumped by
ruamel.yaml round-trip (comments, key order and quoting kept). Either way the result is re-read and
checked to mean exactly the original plus the new settings. A file already configured for the
platform is left unchanged, so applying twice changes nothing the second time.
"""

from __future__ import annotations

import copy
import difflib
import io
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap
from ruamel.yaml.error import YAMLError

from newarch.errors import NewarchError
from newarch.model import PlatformSettings
from newarch.files import write_atomic

FILENAME = "conda-forge.yml"
TEST_SETTING = "native_and_emulated"


def platform_key(subdir: str) -> str:
    """``win-arm64`` -> ``win_arm64`` (the spelling conda-forge.yml uses)."""
    return subdir.strip().replace("-", "_")


@dataclass(frozen=True, slots=True)
class Setting:
    """One setting to add: ``top: value`` or ``top: {sub: value}``."""

    top: str
    sub: str | None
    value: str

    def describe(self) -> str:
        return f"{self.top}: {{{self.sub}: {self.value}}}" if self.sub else f"{self.top}: {self.value}"


@dataclass(frozen=True, slots=True)
class CfYmlChange:
    """The change for one feedstock: texts before and after, and what was decided."""

    feedstock: str
    platform: str
    build_platform: str
    mode: str  # "cross" | "native"
    before: str
    after: str
    added: tuple[Setting, ...] = ()
    synthesized: bool = False  # True: ``before`` was made from the snapshot's recorded settings
    notes: tuple[str, ...] = field(default_factory=tuple)

    @property
    def changed(self) -> bool:
        return self.before != self.after

    def diff(self, header_comment: bool = True) -> str:
        """A unified diff (``a/conda-forge.yml`` -> ``b/conda-forge.yml``), '' when unchanged.

        A synthesized change starts with a ``#`` comment saying so (``header_comment=False`` omits it).
        """
        if not self.changed:
            return ""
        header = ""
        if self.synthesized and header_comment:
            header = (
                f"# {self.feedstock}: synthesized from the settings recorded in the snapshot, not from the "
                f"real {FILENAME};\n# the context lines may differ from the feedstock's file.\n"
            )
        return header + unified_diff(self.before, self.after)


def unified_diff(before: str, after: str, path: str = FILENAME) -> str:
    lines = difflib.unified_diff(
        before.splitlines(keepends=True), after.splitlines(keepends=True), fromfile=f"a/{path}", tofile=f"b/{path}"
    )
    out = []
    for line in lines:
        out.append(line if line.endswith("\n") else line + "\n\\ No newline at end of file\n")
    return "".join(out)


def wanted_settings(platform: str, build_platform: str, mode: str, has_test: bool) -> list[Setting]:
    """The settings ``mode`` needs (``mode`` is "cross" or "native")."""
    target = platform_key(platform)
    if mode == "cross":
        if platform_key(build_platform) == target:
            raise NewarchError(f"cross mode needs a build platform other than {platform}")
        wanted = [Setting("build_platform", target, platform_key(build_platform))]
        if not has_test:
            wanted.append(Setting("test", None, TEST_SETTING))
        return wanted
    if mode == "native":
        return [Setting("provider", target, "default")]
    raise NewarchError(f"unknown build mode {mode!r} (expected 'cross' or 'native')")


def synthesize(settings: PlatformSettings) -> str:
    """A minimal conda-forge.yml with the recorded platform settings (for diffs without a checkout)."""
    data = settings.to_dict()
    if not data:
        return ""
    buf = io.StringIO()
    yaml = YAML()
    yaml.indent(mapping=2, sequence=4, offset=2)
    yaml.dump(data, buf)
    return buf.getvalue()


# --------------------------------------------------------------------------------------------- parsing


def _safe_load(text: str, origin: str) -> Any:
    try:
        return YAML(typ="safe", pure=True).load(text)
    except YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        raise NewarchError(
            f"not valid YAML: {getattr(exc, 'problem', None) or exc}", origin, mark.line + 1 if mark else None
        ) from exc


def _rt_load(text: str, origin: str) -> Any:
    return _rt_load_with(YAML(), text, origin)


def _rt_load_with(yaml: YAML, text: str, origin: str) -> Any:
    try:
        return yaml.load(text)
    except YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        raise NewarchError(
            f"not valid YAML: {getattr(exc, 'problem', None) or exc}", origin, mark.line + 1 if mark else None
        ) from exc


def read_settings(text: str, origin: str = FILENAME) -> PlatformSettings:
    data = _safe_load(text, origin)
    if data is None:
        return PlatformSettings()
    if not isinstance(data, dict):
        raise NewarchError("top level is not a mapping", origin)
    try:
        return PlatformSettings.from_dict(data)
    except (AttributeError, TypeError, ValueError) as exc:
        raise NewarchError(f"unexpected platform settings ({exc})", origin) from exc


# --------------------------------------------------------------------------------------------- editing


class _NeedsRedump(Exception):
    """The layout is unusual; fall back to a ruamel.yaml round-trip dump."""


def _newline(text: str) -> str:
    return "\r\n" if "\r\n" in text else "\n"


def _is_sorted(keys: list[Any]) -> bool:
    names = [str(k) for k in keys]
    return names == sorted(names)


def _comment_block_start(lines: list[str], line: int) -> int:
    """Move ``line`` up over the full-line comments directly above it (they belong to that key)."""
    while line > 0 and lines[line - 1].lstrip().startswith("#"):
        line -= 1
    return line


def _insert_index(mapping: CommentedMap, key: str, lines: list[str]) -> int | None:
    """Where a new child ``key`` goes: before the first larger sibling if siblings are sorted, else None."""
    keys = list(mapping.keys())
    if not keys or not _is_sorted(keys):
        return None
    for k in keys:
        if str(k) > key:
            return _comment_block_start(lines, mapping.lc.key(k)[0])
    return None


def _child_indent(root: CommentedMap) -> int:
    """The mapping indent the file uses (from its first nested block mapping), default 2."""
    base = root.lc.col if root else 0
    for k in root:
        v = root[k]
        if isinstance(v, CommentedMap) and v and not v.fa.flow_style():
            first = next(iter(v))
            return max(1, int(v.lc.key(first)[1]) - base)
    return 2


def _insert_one(text: str, setting: Setting, origin: str) -> str:
    root = _rt_load(text, origin)
    nl = _newline(text)
    lines = text.splitlines(keepends=True)
    if root is None:
        root = CommentedMap()
    if not isinstance(root, CommentedMap):
        raise NewarchError("top level is not a mapping", origin)
    if root and root.fa.flow_style():
        raise _NeedsRedump()
    col = root.lc.key(next(iter(root)))[1] if root else 0
    pad = " " * col
    if setting.top in root:
        if setting.sub is None:
            return text  # only ever added when absent
        child = root[setting.top]
        if not isinstance(child, CommentedMap):
            raise _NeedsRedump()
        if setting.sub in child:
            return text
        if child.fa.flow_style():
            return _insert_flow(text, lines, root.lc.value(setting.top), setting, origin)
        if not child:
            raise _NeedsRedump()
        last = list(child.keys())[-1]
        ccol = child.lc.key(last)[1]
        new = [f"{' ' * ccol}{setting.sub}: {setting.value}{nl}"]
        at = _insert_index(child, setting.sub, lines)
        if at is None:
            key_line, _ = child.lc.key(last)
            val_line = child.lc.value(last)[0]
            if isinstance(child[last], (dict, list)) or val_line != key_line or "\n" in str(child[last]):
                raise _NeedsRedump()
            at = key_line + 1
    else:
        if setting.sub is None:
            new = [f"{pad}{setting.top}: {setting.value}{nl}"]
        else:
            ind = " " * (col + _child_indent(root))
            new = [f"{pad}{setting.top}:{nl}", f"{ind}{setting.sub}: {setting.value}{nl}"]
        at = _insert_index(root, setting.top, lines) if root else None
        if at is None:
            at = len(lines)
            while at > 0 and lines[at - 1].strip() in ("...",):
                at -= 1
    if at >= len(lines) and lines and not lines[-1].endswith(("\n", "\r")):
        lines[-1] += nl
    lines[at:at] = new
    return "".join(lines)


def _insert_flow(text: str, lines: list[str], start: tuple[int, int], setting: Setting, origin: str) -> str:
    """Add ``sub: value`` to a one-line flow mapping ``{a: b}`` -> ``{a: b, sub: value}``."""
    line, col = start
    row = lines[line]
    if col >= len(row) or row[col] != "{":
        raise _NeedsRedump()
    end = row.find("}", col)
    inner = row[col + 1 : end] if end > 0 else ""
    if end < 0 or any(c in inner for c in "{}[]'\"#"):
        raise _NeedsRedump()
    item = f"{setting.sub}: {setting.value}"
    if inner.strip():
        body = inner.rstrip()
        lines[line] = row[: col + 1] + body + ", " + item + inner[len(body) :] + row[end:]
    else:
        lines[line] = row[: col + 1] + item + row[end:]
    return "".join(lines)


# (mapping, sequence, offset) layouts tried when re-dumping; the one closest to the original wins.
_LAYOUTS: tuple[tuple[int, int, int], ...] = ((2, 2, 0), (2, 4, 2), (4, 4, 2), (4, 6, 4), (4, 4, 0))


def _redump(text: str, settings: list[Setting], origin: str) -> str:
    best: str | None = None
    best_cost = -1
    for layout in _LAYOUTS:
        out = _redump_with(text, settings, origin, layout)
        sm = difflib.SequenceMatcher(None, text.splitlines(), out.splitlines(), autojunk=False)
        cost = sum(max(i2 - i1, j2 - j1) for op, i1, i2, j1, j2 in sm.get_opcodes() if op != "equal")
        if best is None or cost < best_cost:
            best, best_cost = out, cost
    assert best is not None
    return best


def _redump_with(text: str, settings: list[Setting], origin: str, layout: tuple[int, int, int]) -> str:
    yaml = YAML()
    yaml.preserve_quotes = True
    yaml.width = 4096
    yaml.indent(mapping=layout[0], sequence=layout[1], offset=layout[2])
    data = _rt_load_with(yaml, text, origin)
    if data is None:
        data = CommentedMap()
    for s in settings:
        if s.sub is None:
            if s.top not in data:
                data[s.top] = s.value
            continue
        child = data.get(s.top)
        if not isinstance(child, dict):
            if child is not None:
                raise NewarchError(f"'{s.top}' is not a mapping; cannot add {s.describe()}", origin)
            data[s.top] = child = CommentedMap()
        if s.sub not in child:
            child[s.sub] = s.value
    buf = io.StringIO()
    yaml.dump(data, buf)
    return buf.getvalue()


def _expected(data: Any, settings: list[Setting]) -> dict[str, Any]:
    out: dict[str, Any] = copy.deepcopy(data) if isinstance(data, dict) else {}
    for s in settings:
        if s.sub is None:
            out.setdefault(s.top, s.value)
        else:
            if not isinstance(out.get(s.top), dict):
                out[s.top] = {}
            out[s.top].setdefault(s.sub, s.value)
    return out


def add_settings(text: str, settings: list[Setting], origin: str = FILENAME) -> str:
    """``text`` with ``settings`` added; checked to mean exactly the original plus the settings."""
    original = _safe_load(text, origin)
    if original is not None and not isinstance(original, dict):
        raise NewarchError("top level is not a mapping", origin)
    try:
        new = text
        for s in settings:
            new = _insert_one(new, s, origin)
    except _NeedsRedump:
        new = _redump(text, settings, origin)
    result = _safe_load(new, origin)
    if result != _expected(original, settings):
        raise NewarchError("editing would change more than the platform settings; edit it by hand", origin)
    return new


def plan_change(
    feedstock: str,
    text: str,
    platform: str,
    build_platform: str,
    mode: str,
    origin: str = FILENAME,
    synthesized: bool = False,
) -> CfYmlChange:
    """The change turning ``platform`` on in ``text``; no change when it is configured already."""
    current = read_settings(text, origin)
    notes: list[str] = []
    configured = current.configured(platform)
    if configured:
        if configured != mode:
            notes.append(f"already configured {configured} for {platform}; the plan says {mode}; left as is")
        else:
            notes.append(f"already configured {configured} for {platform}")
        return CfYmlChange(feedstock, platform, build_platform, mode, text, text, (), synthesized, tuple(notes))
    wanted = wanted_settings(platform, build_platform, mode, has_test=bool(current.test))
    after = add_settings(text, wanted, origin)
    if mode == "cross" and current.test:
        notes.append(f"kept the existing 'test: {current.test}'")
    return CfYmlChange(feedstock, platform, build_platform, mode, text, after, tuple(wanted), synthesized, tuple(notes))


def change_from_settings(
    feedstock: str, settings: PlatformSettings, platform: str, build_platform: str, mode: str
) -> CfYmlChange:
    """The change computed on a conda-forge.yml synthesized from recorded settings (no checkout)."""
    return plan_change(
        feedstock,
        synthesize(settings),
        platform,
        build_platform,
        mode,
        origin=f"{feedstock}/{FILENAME} (synthesized)",
        synthesized=True,
    )


def feedstock_yml(feedstock_dir: Path) -> Path:
    return Path(feedstock_dir) / FILENAME


def read_feedstock(feedstock_dir: Path) -> str:
    """The text of ``<dir>/conda-forge.yml`` ('' when the feedstock has none)."""
    path = feedstock_yml(feedstock_dir)
    if not Path(feedstock_dir).is_dir():
        raise NewarchError("feedstock directory not found", str(feedstock_dir))
    if not path.exists():
        return ""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise NewarchError(f"cannot read ({exc.strerror})", str(path)) from exc
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise NewarchError("not UTF-8 text", str(path)) from exc


def change_for_dir(feedstock: str, feedstock_dir: Path, platform: str, build_platform: str, mode: str) -> CfYmlChange:
    text = read_feedstock(feedstock_dir)
    return plan_change(feedstock, text, platform, build_platform, mode, origin=str(feedstock_yml(feedstock_dir)))


def write_change(feedstock_dir: Path, change: CfYmlChange) -> bool:
    """Write ``change.after`` into ``<dir>/conda-forge.yml`` atomically; False when nothing changed."""
    if change.synthesized:
        raise NewarchError("refusing to write a conda-forge.yml synthesized from the snapshot", str(feedstock_dir))
    if not change.changed:
        return False
    path = feedstock_yml(feedstock_dir)
    mode = path.stat().st_mode & 0o7777 if path.exists() else 0o644
    write_atomic(path, change.after.encode("utf-8"))
    os.chmod(path, mode)
    return True
