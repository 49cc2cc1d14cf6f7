"""Text bound for a terminal, made inert: what an agent sent (a tool name, an argument, a reason)
cannot move the cursor, clear the screen, ring the bell, rewrite the line with a carriage return
or reorder it with bidi overrides on an approver's terminal.

Every character that is not printable (control, format, separator, surrogate, private use and
unassigned characters, per ``str.isprintable``) except newline and tab is written as its Python
escape (``\\x1b``, ``\\r``, ``\\u202e``). :class:`SafeStream` applies it to a whole stream, so
``thoth``'s commands and the server's log lines cannot forget it.
"""

from __future__ import annotations

from typing import Any, TextIO

__all__ = ["SafeStream", "terminal_safe"]

_KEPT = frozenset("\n\t")


def terminal_safe(text: str, *, one_line: bool = False) -> str:
    """``text`` with every unprintable character but newline and tab (those too when
    ``one_line``: a value that must stay on its line) written as an escape."""
    kept = frozenset() if one_line else _KEPT
    if text.isprintable() or (kept and text.replace("\n", "").replace("\t", "").isprintable()):
        return text  # the common case, checked in C
    return "".join(
        char if char.isprintable() or char in kept else char.encode("unicode_escape").decode("ascii")
        for char in text
    )


class SafeStream:
    """A text stream whose writes go through :func:`terminal_safe`; the rest is the stream's."""

    def __init__(self, stream: TextIO) -> None:
        self._stream = stream

    def write(self, text: str) -> int:
        return self._stream.write(terminal_safe(text))

    def writelines(self, lines: Any) -> None:
        for line in lines:
            self.write(line)

    def __getattr__(self, name: str) -> Any:  # flush, fileno, isatty, encoding, buffer...
        return getattr(self._stream, name)
