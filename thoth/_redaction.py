"""Redact and truncate what goes into an event's ``content``. Pure functions.

Keys that name a secret (password, secret, token, api_key, authorization, ...)
have their values replaced; string values that look like credentials (API keys,
bearer tokens, JWTs, private keys) are replaced wherever they appear. The result
is compact JSON, cut to a maximum length with a marker saying how much was cut.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from typing import Any

__all__ = ["REDACTED", "redact", "to_content"]

REDACTED = "[REDACTED]"
_MAX_DEPTH = 8
_MAX_ITEMS = 100

_SECRET_KEY = re.compile(
    r"pass(word|wd|phrase)?|secret|token|api[-_]?key|apikey|authori[sz]ation|auth[-_]?header|"
    r"credential|private[-_]?key|cookie|session[-_]?key|access[-_]?key|signature|\bpin\b|ssn|cvv",
    re.IGNORECASE,
)
_SECRET_VALUE = re.compile(
    r"(?:\bsk-[A-Za-z0-9_-]{16,}"  # OpenAI-style keys
    r"|\bthoth_(?:live|test)_[A-Za-z0-9_-]{6,}"  # our own keys
    r"|\b(?:AKIA|ASIA)[0-9A-Z]{16}\b"  # AWS access key ids
    r"|\bgh[pousr]_[A-Za-z0-9]{30,}"  # GitHub tokens
    r"|\bxox[abposr]-[A-Za-z0-9-]{10,}"  # Slack tokens
    r"|\bAIza[0-9A-Za-z_-]{35}"  # Google API keys
    r"|\beyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}"  # JWTs
    r"|\b[Bb]earer\s+[A-Za-z0-9._~+/=-]{12,}"
    r"|-----BEGIN [A-Z ]*PRIVATE KEY-----[\s\S]*?(?:-----END [A-Z ]*PRIVATE KEY-----|$))"
)


def _redact_text(text: str) -> str:
    return _SECRET_VALUE.sub(REDACTED, text) if len(text) >= 16 else text


def redact(value: Any, _depth: int = 0) -> Any:
    """A JSON-ready copy of ``value`` with secrets replaced by ``[REDACTED]``."""
    if isinstance(value, str):
        return _redact_text(value)
    if value is None or isinstance(value, bool | int | float):
        return value
    if _depth >= _MAX_DEPTH:
        return "[...]"
    if isinstance(value, Mapping):
        return _redact_mapping(value, _depth)
    if isinstance(value, list | tuple | set | frozenset):
        items = [redact(item, _depth + 1) for item in list(value)[:_MAX_ITEMS]]
        if len(value) > _MAX_ITEMS:
            items.append(f"[... {len(value) - _MAX_ITEMS} more items]")
        return items
    if isinstance(value, bytes | bytearray):
        return f"<{len(value)} bytes>"
    dump = getattr(value, "model_dump", None)  # pydantic models, e.g. framework messages
    if callable(dump):
        try:
            return redact(dump(), _depth + 1)
        except Exception:  # noqa: S110, BLE001 - any failure to dump falls back to the text form below
            pass
    return _redact_text(
        repr(value) if not isinstance(value, BaseException) else f"{type(value).__name__}: {value}"
    )


def _redact_mapping(value: Mapping[Any, Any], depth: int) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for index, (key, item) in enumerate(value.items()):
        if index == _MAX_ITEMS:
            out["[...]"] = f"{len(value) - _MAX_ITEMS} more keys"
            break
        name = str(key)
        secret = _SECRET_KEY.search(name) and item not in (None, "")
        out[name] = REDACTED if secret else redact(item, depth + 1)
    return out


def to_content(value: Any, *, max_chars: int, redactor: Callable[[Any], Any] | None = None) -> str:
    """Redacted, truncated JSON text for an event's ``content`` field."""
    if redactor is not None:
        value = redactor(value)
    text = json.dumps(redact(value), ensure_ascii=False, separators=(",", ":"), default=str)
    if len(text) <= max_chars:
        return text
    marker = f"...[truncated {len(text) - max_chars} chars]"
    return text[: max(0, max_chars - len(marker))] + marker
