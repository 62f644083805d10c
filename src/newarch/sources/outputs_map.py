"""The output -> feedstock map: which feedstock(s) build a package name.

Inputs, all read into ``{output: [feedstock, ...]}``:

- the map bundled with newarch (``data/outputs-map.json.xz``), derived from conda-forge's
  feedstock-outputs with ``newarch outputs-map`` (see README); the default, so a fresh clone works;
- a JSON file ``{output: [feedstock, ...]}`` (the flat ``feedstock-outputs.json``);
- a feedstock-outputs repository, as a checkout or a bare mirror: ``outputs/<a>/<b>/<c>/<name>.json``
  files holding ``{"feedstocks": [...]}``, sharded by the first three alphanumeric characters of the
  name (padded with ``z``).

The map says nothing about subdirs: a name it lists may not be built for every platform.
"""

from __future__ import annotations

import json
import lzma
import subprocess
from importlib import resources
from pathlib import Path
from typing import Any

from newarch.errors import NewarchError
from newarch.files import parse_json, read_bytes, read_json, write_atomic

FORMAT = "newarch.outputs-map"
VERSION = 1
BUNDLED_NAME = "outputs-map.json.xz"


def sharded_path(name: str) -> str:
    """Where feedstock-outputs keeps ``name``: ``outputs/l/i/b/libzlib.json``."""
    chars = [c for c in name if c.isalnum()]
    chars += ["z"] * (3 - len(chars))
    return f"outputs/{chars[0]}/{chars[1]}/{chars[2]}/{name}.json"


def _entry(origin: str, name: str, value: Any) -> list[str]:
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list):
        raise NewarchError(f"outputs map entry {name!r} must be a list of feedstock names", origin)
    return sorted({str(x) for x in value})


def load_outputs_json(path: str | Path) -> dict[str, list[str]]:
    """conda-forge/feedstock-outputs style JSON: ``{output: [feedstock, ...]}``."""
    data = read_json(path, "outputs map")
    if not isinstance(data, dict):
        raise NewarchError("outputs map must be a JSON object {output: [feedstock, ...]}", str(path))
    if data.get("format") == FORMAT:
        return _from_compact(data, str(path))
    return {str(k): _entry(str(path), str(k), v) for k, v in data.items()}


def _from_shard(origin: str, name: str, data: bytes) -> list[str]:
    d = parse_json(data, "feedstock-outputs entry", origin)
    if not isinstance(d, dict) or not isinstance(d.get("feedstocks"), list):
        raise NewarchError('feedstock-outputs entry must be {"feedstocks": [...]}', origin)
    return _entry(origin, name, d["feedstocks"])


def read_outputs_repo(path: str | Path) -> dict[str, list[str]]:
    """A feedstock-outputs checkout (``outputs/`` folder) or bare git mirror, read whole."""
    root = Path(path)
    if (root / "outputs").is_dir():
        out: dict[str, list[str]] = {}
        for f in sorted((root / "outputs").rglob("*.json")):
            out[f.stem] = _from_shard(str(f), f.stem, read_bytes(f, "feedstock-outputs entry"))
        if not out:
            raise NewarchError("no outputs/**/*.json files in this feedstock-outputs checkout", str(root))
        return out
    git_dir = next((c for c in (root, root / "repo") if (c / "HEAD").is_file() and (c / "objects").is_dir()), None)
    if git_dir is None:
        raise NewarchError("not a feedstock-outputs repository (no outputs/ folder, not a git mirror)", str(root))
    return _read_outputs_git(git_dir)


def _read_outputs_git(git_dir: Path) -> dict[str, list[str]]:
    def git(*args: str, stdin: bytes | None = None) -> bytes:
        try:
            return subprocess.run(
                ["git", f"--git-dir={git_dir}", *args], input=stdin, capture_output=True, check=True, timeout=600
            ).stdout
        except (OSError, subprocess.SubprocessError) as exc:
            raise NewarchError(
                f"cannot read the feedstock-outputs mirror ({type(exc).__name__})", str(git_dir)
            ) from exc

    entries: list[tuple[str, str]] = []
    for line in git("ls-tree", "-r", "-z", "HEAD", "--", "outputs/").split(b"\0"):
        head, _, rel = line.decode("utf-8", "replace").partition("\t")
        parts = head.split()
        if len(parts) == 3 and parts[1] == "blob" and rel.endswith(".json"):
            entries.append((rel, parts[2]))
    if not entries:
        raise NewarchError("no outputs/**/*.json files at HEAD of this feedstock-outputs mirror", str(git_dir))
    batch = git("cat-file", "--batch", stdin="".join(f"{sha}\n" for _, sha in entries).encode())
    out: dict[str, list[str]] = {}
    pos = 0
    for rel, _sha in entries:
        nl = batch.index(b"\n", pos)
        size = int(batch[pos:nl].split()[2])
        name = rel.rsplit("/", 1)[-1][: -len(".json")]
        out[name] = _from_shard(f"{git_dir}:{rel}", name, batch[nl + 1 : nl + 1 + size])
        pos = nl + 1 + size + 1
    return out


def compact_bytes(mapping: dict[str, list[str]], source: str) -> bytes:
    """newarch's own derived form: names built by the feedstock of the same name (most of them) as one
    list, the others with their feedstocks; xz-compressed, sorted, so the same input gives the same bytes."""
    same = sorted(k for k, v in mapping.items() if list(v) == [k])
    other = {k: sorted(v) for k, v in sorted(mapping.items()) if list(v) != [k]}
    doc = {"format": FORMAT, "version": VERSION, "source": source, "same": same, "other": other}
    text = json.dumps(doc, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return lzma.compress(text.encode("utf-8"), format=lzma.FORMAT_XZ, preset=9 | lzma.PRESET_EXTREME)


def write_compact(mapping: dict[str, list[str]], out: Path, source: str) -> None:
    write_atomic(out, compact_bytes(mapping, source))


def _from_compact(d: dict[str, Any], origin: str) -> dict[str, list[str]]:
    if d.get("version") != VERSION:
        raise NewarchError(f"outputs map version {d.get('version')!r} is not supported", origin)
    out = {str(n): [str(n)] for n in d.get("same") or ()}
    out.update({str(k): _entry(origin, str(k), v) for k, v in (d.get("other") or {}).items()})
    return out


def loads_compact(data: bytes, origin: str) -> dict[str, list[str]]:
    try:
        text = lzma.decompress(data)
    except (lzma.LZMAError, EOFError) as exc:
        raise NewarchError(f"outputs map is truncated or corrupted ({exc})", origin) from exc
    d = parse_json(text, "outputs map", origin)
    if not isinstance(d, dict) or d.get("format") != FORMAT:
        raise NewarchError("not a newarch outputs map", origin)
    return _from_compact(d, origin)


def load_bundled() -> dict[str, list[str]]:
    ref = resources.files("newarch") / "data" / BUNDLED_NAME
    try:
        data = ref.read_bytes()
    except FileNotFoundError as exc:
        raise NewarchError("the bundled outputs map is missing from this installation", str(ref)) from exc
    return loads_compact(data, f"<bundled {BUNDLED_NAME}>")


def load_any(spec: str | Path | None) -> dict[str, list[str]]:
    """The map from ``--outputs-map``: ``None`` (the bundled one), a JSON or ``.json.xz`` file, or a
    feedstock-outputs checkout or mirror folder."""
    if spec is None:
        return load_bundled()
    p = Path(spec)
    if p.is_dir():
        return read_outputs_repo(p)
    if p.name.endswith(".xz"):
        return loads_compact(read_bytes(p, "outputs map"), str(p))
    return load_outputs_json(p)


def preferred(name: str, feedstocks: list[str], named_only: bool = False) -> list[str]:
    """The feedstocks to crawl for ``name``: all the map lists (it cannot tell a live feedstock from a
    retired one: ``libmamba`` lists the old libmamba feedstock and mamba, which builds it today), or with
    ``named_only`` the one named like the output when listed (``python`` -> python, not pypy-meta)."""
    if named_only and name in feedstocks:
        return [name]
    return sorted(feedstocks)
