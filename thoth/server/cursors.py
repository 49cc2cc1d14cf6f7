"""Page cursors: opaque to clients, base64url of a position (``MTIz`` is position 123)."""

from __future__ import annotations

import base64
import binascii
import re
from typing import Final

PATTERN: Final = re.compile(r"^[A-Za-z0-9_=-]{1,256}$")  # the contract's Cursor


def encode(position: int) -> str:
    return base64.urlsafe_b64encode(str(position).encode("ascii")).decode("ascii").rstrip("=")


def decode(cursor: str) -> int | None:
    """The position, or None for a well-formed cursor this server never gave (an empty page)."""
    try:
        raw = base64.urlsafe_b64decode(cursor.rstrip("=") + "=" * (-len(cursor.rstrip("=")) % 4))
    except (binascii.Error, ValueError):
        return None
    text = raw.decode("ascii", "replace")
    if not text.isdigit() or len(text) > 18:
        return None
    return int(text)
