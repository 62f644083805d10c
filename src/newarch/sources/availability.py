"""What already exists on a channel: the ``--available`` inputs.

Each input is one of

- a local ``repodata.json`` (any subdir; the subdir is taken from the parent folder when it is a
  known subdir name such as ``win-arm64/repodata.json``, otherwise from the file's ``info.subdir``);
- a local channel folder holding ``<subdir>/repodata.json`` files;
- a channel URL (``https://``, ``http://``, ``file://``), read through a py-rattler ``Gateway``;
- a plain text file of package names, one per line (``#`` comments allowed). Such names count as
  available on every subdir but carry no records, so they cannot take part in solves.

Repodata is read with py-rattler (``SparseRepoData`` for files, ``Gateway`` for URLs); the records
stay loaded lazily for the installability solves in :mod:`newarch.verify.solve`.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import rattler

from newarch.errors import NewarchError

NOARCH = "noarch"
KNOWN_SUBDIRS: frozenset[str] = frozenset(str(p) for p in rattler.Subdir.all())
URL_SCHEMES: tuple[str, ...] = ("https://", "http://", "file://")
_LOCATION = re.compile(r"at line (\d+) column \d+")


class AvailabilityError(NewarchError):
    """An ``--available`` input could not be read."""


@dataclass(slots=True)
class Availability:
    """Package names (and lazily loaded records) per subdir from all ``--available`` inputs."""

    names: dict[str, set[str]] = field(default_factory=dict)  # subdir -> package names
    any_subdir: set[str] = field(default_factory=set)  # names from plain text lists
    sparse: dict[str, list[rattler.SparseRepoData]] = field(default_factory=dict)  # subdir -> files
    channels: list[str] = field(default_factory=list)  # channel URLs (solved through a Gateway)
    origins: list[str] = field(default_factory=list)  # every input as given, in order

    def available_on(self, platform: str) -> set[str]:
        """Names installable on ``platform``: its own subdir, ``noarch`` and plain name lists."""
        return set(self.names.get(platform, ())) | set(self.names.get(NOARCH, ())) | self.any_subdir

    def has_records(self, platform: str) -> bool:
        """Whether a real solve for ``platform`` is possible (some repodata for it or noarch)."""
        return bool(self.channels or self.sparse.get(platform) or self.sparse.get(NOARCH))

    def subdirs(self) -> list[str]:
        return sorted(self.names)

    def describe(self) -> str:
        """One line naming the sources, for reports."""
        return ", ".join(self.origins) if self.origins else "none"

    def merge(self, other: Availability) -> None:
        for subdir, names in other.names.items():
            self.names.setdefault(subdir, set()).update(names)
        self.any_subdir |= other.any_subdir
        for subdir, items in other.sparse.items():
            self.sparse.setdefault(subdir, []).extend(items)
        self.channels.extend(other.channels)
        self.origins.extend(other.origins)


def is_url(text: str) -> bool:
    return text.startswith(URL_SCHEMES)


def _error_from(exc: BaseException, origin: str, what: str) -> AvailabilityError:
    text = str(exc).strip() or type(exc).__name__
    m = _LOCATION.search(text)
    line = int(m.group(1)) if m else None
    return AvailabilityError(f"{what}: {text}", origin, line)


def _subdir_of(path: Path) -> str:
    parent = path.parent.name
    if parent in KNOWN_SUBDIRS:
        return parent
    try:
        info = rattler.RepoData.from_path(path).info
    except BaseException as exc:  # py-rattler raises its own IoError types
        raise _error_from(exc, str(path), "not a readable repodata.json") from None
    subdir = info.subdir if info is not None else None
    if not subdir:
        raise AvailabilityError(
            "cannot tell the subdir of this repodata.json: it has no info.subdir and its folder is not "
            "named like a subdir (e.g. win-arm64/repodata.json)",
            str(path),
        )
    return str(subdir)


def _load_repodata_file(path: Path, subdir: str | None = None) -> Availability:
    subdir = subdir or _subdir_of(path)
    channel = rattler.Channel(path.resolve().parent.parent.as_uri())
    try:
        sparse = rattler.SparseRepoData(channel, subdir, path)
        names = set(sparse.package_names())
    except BaseException as exc:
        raise _error_from(exc, str(path), "not a readable repodata.json") from None
    return Availability(names={subdir: names}, sparse={subdir: [sparse]}, origins=[str(path)])


def _load_name_list(path: Path) -> Availability:
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise AvailabilityError("not a text file of package names (not UTF-8)", str(path)) from None
    except OSError as exc:
        raise AvailabilityError(f"cannot read ({exc.strerror})", str(path)) from None
    names: set[str] = set()
    for lineno, raw in enumerate(text.splitlines(), 1):
        item = raw.split("#", 1)[0].strip()
        if not item:
            continue
        try:
            names.add(rattler.PackageName(item).normalized)
        except Exception as exc:
            raise AvailabilityError(f"not a package name: {item!r} ({exc})", str(path), lineno) from None
    return Availability(any_subdir=names, origins=[str(path)])


def _load_channel_dir(path: Path) -> Availability:
    result = Availability()
    found = sorted(p for p in path.glob("*/repodata.json") if p.parent.name in KNOWN_SUBDIRS)
    if not found:
        raise AvailabilityError("folder has no <subdir>/repodata.json files (e.g. win-arm64/repodata.json)", str(path))
    for p in found:
        result.merge(_load_repodata_file(p, p.parent.name))
    result.origins = [str(path)]
    return result


async def _channel_names(url: str, subdirs: Sequence[str], gateway: rattler.Gateway) -> list[list[str]]:
    out = []
    for subdir in subdirs:
        names = await gateway.names([rattler.Channel(url)], [rattler.Subdir(subdir)])
        out.append([n.normalized for n in names])
    return out


def _load_channel_url(url: str, subdirs: Sequence[str], gateway: rattler.Gateway | None) -> Availability:
    gateway = gateway or rattler.Gateway()
    try:
        per_subdir = asyncio.run(_channel_names(url, subdirs, gateway))
    except BaseException as exc:
        if isinstance(exc, KeyboardInterrupt):
            raise
        raise AvailabilityError(f"cannot read channel ({str(exc).strip() or type(exc).__name__})", url) from None
    return Availability(
        names={s: set(n) for s, n in zip(subdirs, per_subdir, strict=True)}, channels=[url], origins=[url]
    )


def _looks_like_json(path: Path) -> bool:
    try:
        with path.open("rb") as fh:
            head = fh.read(256).lstrip()
    except OSError as exc:
        raise AvailabilityError(f"cannot read ({exc.strerror})", str(path)) from None
    return head.startswith(b"{")


def load_one(item: str | Path, subdirs: Sequence[str], gateway: rattler.Gateway | None = None) -> Availability:
    """Read one ``--available`` input (see the module docstring)."""
    text = str(item)
    if is_url(text):
        return _load_channel_url(text.rstrip("/"), subdirs, gateway)
    path = Path(text)
    if path.is_dir():
        return _load_channel_dir(path)
    if not path.exists():
        raise AvailabilityError("file not found", text)
    if path.suffix == ".json" or _looks_like_json(path):
        return _load_repodata_file(path)
    return _load_name_list(path)


def load_availability(
    items: Iterable[str | Path],
    platform: str,
    build_platform: str | None = None,
    gateway: rattler.Gateway | None = None,
) -> Availability:
    """Read all ``--available`` inputs. URLs are queried for ``platform``, ``noarch`` (and the build
    platform when given); local files keep whatever subdir they are for."""
    subdirs = [platform, NOARCH] + ([build_platform] if build_platform and build_platform != platform else [])
    result = Availability()
    for item in items:
        result.merge(load_one(item, subdirs, gateway))
    return result


def load_available(paths: Iterable[str | Path], platform: str) -> set[str]:
    """The package names available on ``platform`` (its subdir + noarch + plain name lists)."""
    return load_availability(paths, platform).available_on(platform)
