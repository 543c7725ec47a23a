"""The one exception type of the FHIRPath engine (with a syntax-error subclass)."""

from __future__ import annotations


class FHIRPathError(Exception):
    """An expression could not be compiled or evaluated; `position` is a 0-based offset."""

    def __init__(self, message: str, *, position: int | None = None) -> None:
        self.message = message
        self.position = position
        where = f" (at position {position})" if position is not None else ""
        super().__init__(message + where)


class FHIRPathSyntaxError(FHIRPathError):
    """The expression text is not valid FHIRPath."""
