"""Reading user-given files with one clear error each, and writing files atomically."""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any

from newarch.errors import NewarchError


def read_bytes(
    path: str | Path, what: str, error: type[NewarchError] = NewarchError, max_bytes: int | None = None
) -> bytes:
    """The bytes of ``path``; a missing, unreadable or too large file is one ``error`` naming it as ``what``."""
    p = Path(path)
    try:
        if max_bytes is not None and p.stat().st_size > max_bytes:
            raise error(f"{what} is too large ({p.stat().st_size} bytes, at most {max_bytes})", str(p))
        return p.read_bytes()
    except FileNotFoundError as exc:
        raise error(f"{what} not found", str(p)) from exc
    except IsADirectoryError as exc:
        raise error(f"{what} is a directory, not a file", str(p)) from exc
    except OSError as exc:
        raise error(f"cannot read {what} ({exc.strerror})", str(p)) from exc


def read_text(path: str | Path, what: str, error: type[NewarchError] = NewarchError) -> str:
    data = read_bytes(path, what, error)
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise error(f"{what} is not UTF-8 text (byte {exc.start})", str(path)) from exc


def parse_json(data: bytes | str, what: str, origin: str, error: type[NewarchError] = NewarchError) -> Any:
    """JSON with the error's line; a document cut short says it is truncated."""
    try:
        text = data.decode("utf-8") if isinstance(data, bytes) else data
    except UnicodeDecodeError as exc:
        raise error(f"{what} is not UTF-8 text (byte {exc.start})", origin) from exc
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        # a whole document ends with the bracket that closes the one it opens with
        body = text.strip()
        closer = {"{": "}", "[": "]"}.get(body[:1], "")
        how = "truncated" if closer and not body.endswith(closer) else "malformed"
        raise error(f"{what} is not JSON: {how} ({exc.msg}, column {exc.colno})", origin, exc.lineno) from exc
    except RecursionError as exc:
        raise error(f"{what} is nested too deeply", origin) from exc


def read_json(
    path: str | Path, what: str, error: type[NewarchError] = NewarchError, max_bytes: int | None = None
) -> Any:
    return parse_json(read_bytes(path, what, error, max_bytes), what, str(path), error)


def write_atomic(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` through a temporary file and a rename: a reader never sees half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    umask = os.umask(0)
    os.umask(umask)
    os.fchmod(fd, 0o666 & ~umask)  # an ordinary file, not mkstemp's private 0600
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
