"""Redact and truncate what goes into an event's ``content``. Pure functions.

Keys that name a secret (password, secret, token, api_key, authorization, ...)
have their values replaced; string values that look like credentials (API keys,
bearer tokens, JWTs, private keys, ``password=...`` assignments) are replaced
wherever they appear. The result is compact JSON, cut to a maximum length with a
marker saying how much was cut.

``scrub`` is the same redaction for data that must otherwise stay as it is (the
server's copy of an event a client sent): nothing cut, nothing but secrets changed,
and a count of what was replaced.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from typing import Any

__all__ = ["REDACTED", "may_hold_secret", "redact", "scrub", "to_content"]

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
# ``password=hunter2``, ``api_key: abc``, ``"secret": "abc"`` inside free text (a log line, a URL's
# query, JSON that was cut and no longer parses): the name stays, the value goes
_SECRET_ASSIGNMENT = re.compile(
    r"(?i)\b(pass(?:word|wd|phrase)?|pwd|secret|client[-_]?secret|api[-_]?key|apikey|"
    r"(?:access|auth|refresh|bearer|session)[-_]?token|private[-_]?key)"
    r"([\"']?\s*[=:]\s*[\"']?)([^\s\"'&,;]+)"
)
_SCRUB_DEPTH = 64
# Every match of the three patterns above contains one of these, case-folded. Looking for them is
# some 10x faster than the patterns (which try every position: 2.6 ms for 17 KB of text), and
# almost no text holds any of them, so the patterns run only on text that may match.
_LITERALS = (
    *("pass", "pwd", "secret", "token", "api", "auth", "credential", "private", "cookie"),
    *("session", "access", "signature", "pin", "ssn", "cvv", "sk-", "thoth_", "akia", "asia"),
    *("ghp_", "gho_", "ghu_", "ghs_", "ghr_", "xox", "aiza", "eyj", "bearer"),  # (BEGIN: "private")
)


def _first_char_alternation(literals: tuple[str, ...]) -> re.Pattern[str]:
    """``p(?:ass|wd|...)|s(?:ecret|...)|...``: one branch per first character, which the regex
    engine tries at each position instead of every literal (2x faster than a flat alternation)."""
    by_first: dict[str, list[str]] = {}
    for literal in literals:
        by_first.setdefault(literal[0], []).append(re.escape(literal[1:]))
    return re.compile(
        "|".join(f"{re.escape(first)}(?:{'|'.join(rests)})" for first, rests in by_first.items())
    )


_ANY_LITERAL = _first_char_alternation(_LITERALS)


def may_hold_secret(text: str) -> bool:
    """False when ``text`` cannot match a secret's name or value (a fast, exact pre-check)."""
    # case-folded as IGNORECASE matches: the long s folds to "s", the Kelvin sign to "k"
    return _ANY_LITERAL.search(text.casefold()) is not None


def _redact_text(text: str) -> str:
    return _scrub_text(text)[0] if len(text) >= 16 else text


def _scrub_text(text: str) -> tuple[str, int]:
    if not may_hold_secret(text):
        return text, 0
    text, count = _SECRET_VALUE.subn(REDACTED, text)
    assigned = 0

    def value_gone(match: re.Match[str]) -> str:
        nonlocal assigned
        if match.group(3) == REDACTED:  # redacted already (by the SDK, or above)
            return match.group(0)
        assigned += 1
        return match.group(1) + match.group(2) + REDACTED

    text = _SECRET_ASSIGNMENT.sub(value_gone, text)
    return text, count + assigned


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


def scrub(value: Any) -> tuple[Any, int]:
    """``value`` (parsed JSON) with its secrets replaced by ``[REDACTED]``, and how many were.

    Unlike ``redact``, nothing else changes: no truncation, no limits on items. A string under
    a key that names a secret is replaced; a number or a boolean there is not (``max_tokens``
    and ``token_count`` are not credentials). Below a depth no real event reaches, a whole
    subtree is replaced: unexamined data must not pass as examined.
    """
    return _scrub(value, 0)


def _scrub(value: Any, depth: int) -> tuple[Any, int]:
    if isinstance(value, str):
        return _scrub_text(value) if len(value) >= 8 else (value, 0)
    if not isinstance(value, dict | list):
        return value, 0
    if depth >= _SCRUB_DEPTH:
        return REDACTED, 1
    if isinstance(value, list):
        items = [_scrub(item, depth + 1) for item in value]
        return [item for item, _ in items], sum(count for _, count in items)
    out: dict[str, Any] = {}
    total = 0
    for key, item in value.items():
        name = str(key)
        if (
            isinstance(item, str)
            and item not in ("", REDACTED)
            and may_hold_secret(name)
            and _SECRET_KEY.search(name)
        ):
            out[key], count = REDACTED, 1
        else:
            out[key], count = _scrub(item, depth + 1)
        total += count
    return out, total
