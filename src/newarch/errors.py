"""The one error type users see: a message that names the file and line."""

from __future__ import annotations


class NewarchError(Exception):
    """A user-facing error. ``file`` and ``line`` point at the offending input when known."""

    def __init__(self, message: str, file: str | None = None, line: int | None = None) -> None:
        self.message = message
        self.file = file
        self.line = line
        super().__init__(str(self))

    def __str__(self) -> str:
        where = ""
        if self.file:
            where = f"{self.file}:{self.line}: " if self.line else f"{self.file}: "
        return f"{where}{self.message}"


class RenderError(NewarchError):
    """A recipe could not be rendered (bad YAML, unknown Jinja, bad selector...)."""


class SnapshotError(NewarchError):
    """A snapshot file is missing, truncated, corrupted or of another version."""


class UnsafeRecipeError(RenderError):
    """A recipe tried something a recipe must never do (attribute tricks, imports, file reads)."""
