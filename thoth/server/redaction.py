"""Secrets out of what clients send, before it is stored. Pure.

The SDK redacts an event's content before sending it; a platform team on the generated client,
or any other sender, may not. So the server applies the same redaction (``thoth._redaction``) to
every event it stores, on by default (``--no-redact-events`` turns it off): in ``content`` (JSON
text is parsed and walked, other text is searched), in ``metadata`` and in every extension field.
The fields that identify, order and chain an event are never touched.

The hash chain is checked on the event as it was sent, before redaction, and the stored event
keeps the hash it was sent with, so the next event's ``previous_hash`` still links to it; an
event stored redacted says so (``redacted``: how many values were replaced) because it no
longer re-hashes to that hash.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any, Final

from thoth._redaction import may_hold_secret, scrub

__all__ = ["scrub_event"]

#: what names, orders and chains an event: never secrets, never changed
_STRUCTURAL: Final = frozenset(
    {
        "event_id",
        "tenant_id",
        "agent_id",
        "session_id",
        "user_id",
        "source_type",
        "event_type",
        "tool_name",
        "occurred_at",
        "ingested_at",
        "ttl",
        "chain_index",
        "previous_hash",
        "hash",
        "signature",
        "enforcement_mode",
        "violation_id",
        "endpoint_id",
        "hostname",
    }
)


def scrub_event(event: Mapping[str, Any]) -> tuple[Mapping[str, Any], int]:
    """``event`` with the secrets in its content, metadata and extension fields replaced, and how
    many values were; the same object when there were none."""
    changed: dict[str, Any] = {}
    total = 0
    for name, value in event.items():
        if name in _STRUCTURAL:
            continue
        scrubbed, count = _scrub_content(value) if name == "content" else scrub(value)
        if count:
            changed[name] = scrubbed
            total += count
    return (event if not changed else {**event, **changed}), total


def _scrub_content(content: Any) -> tuple[Any, int]:
    """Content is JSON text when the SDK sent it: walked as data (a key named ``password``),
    and written back, compact, only when a secret was found in it."""
    if not isinstance(content, str) or content[:1] not in ("{", "["):
        return scrub(content)
    if not may_hold_secret(content) and "\\u" not in content and "\\/" not in content:
        return content, 0  # no secret's name or value in the text, and no escape could hide one
    try:
        parsed = json.loads(content)
    except ValueError:  # cut short, or not JSON after all: searched as text
        return scrub(content)
    scrubbed, count = scrub(parsed)
    if not count:
        return content, 0
    return json.dumps(scrubbed, ensure_ascii=False, separators=(",", ":")), count
