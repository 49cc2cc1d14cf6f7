"""A policy document and its errors, independent of how it was parsed (YAML file or bundle data)."""

from __future__ import annotations

from typing import Any


class LocatedError(Exception):
    """An error at a place in a file: ``file:line:column: message``, or ``file: message`` for an
    error of the whole file (it cannot be read, it is empty): a made-up 1:1 would send the reader
    looking at the first character."""

    def __init__(self, message: str, file: str, line: int | None = None, column: int | None = None) -> None:
        super().__init__(f"{file}:{line}:{column}: {message}" if line is not None else f"{file}: {message}")
        self.message = message
        self.file = file
        self.line = line
        self.column = column


class MarkedDict(dict[Any, Any]):
    """A mapping parsed from YAML that remembers where it and each of its values start (0-based).
    A document that came as data (a bundle) is made of plain dicts, and its errors have no place."""

    mark: Any  # yaml.Mark (typed loosely: PyYAML is needed only to read YAML)
    marks: dict[Any, Any]
    styles: dict[Any, str | None]
