"""The per-session hash chain that SDK events carry, and its verification (pure).

Each event of a session has ``chain_index`` 0, 1, 2, ..., ``previous_hash`` equal to
the previous event's ``hash`` ("" for index 0), and ``hash`` = SHA-256 hex of the
canonical JSON of the event without ``hash``, ``signature`` and ``ingested_at``.
Events with an empty ``hash`` come from clients that do not chain.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from typing import Any, Literal, NamedTuple

import attrs

from thoth._chain import UNHASHED_FIELDS, canonical_json, event_hash

__all__ = [
    "UNHASHED_FIELDS",
    "ChainHead",
    "ChainStatus",
    "Link",
    "LinkCheck",
    "canonical_json",
    "check_event",
    "check_link",
    "event_hash",
    "link_of",
]

ChainStatus = Literal["verified", "unchained", "gap", "mismatch", "fork"]


@attrs.frozen
class ChainHead:
    """The last event that extended a session's chain."""

    index: int
    hash: str


class LinkCheck(NamedTuple):
    status: ChainStatus
    new_head: ChainHead | None  # the head after this event (unchanged when it does not extend)


class Link(NamedTuple):  # a NamedTuple: one is built per event on the ingest path
    """What the chain check needs of one event, with its hash computed once."""

    claimed_hash: str  # "" when the sender does not chain
    computed_hash: str
    chain_index: int
    previous_hash: str


def link_of(event: Mapping[str, Any], canonical: bytes | None = None) -> Link:
    """The event's link; ``canonical`` is its canonical JSON without the unhashed keys, if known."""
    computed = event_hash(event) if canonical is None else hashlib.sha256(canonical).hexdigest()
    return Link(
        claimed_hash=event.get("hash") or "",
        computed_hash=computed,
        chain_index=int(event.get("chain_index") or 0),
        previous_hash=event.get("previous_hash") or "",
    )


def check_link(link: Link, head: ChainHead | None) -> LinkCheck:
    """Check one event against its session's current head.

    A gap is recorded but the chain continues from the event (its own hash is sound);
    a changed event (hash mismatch) or a second event at an index already taken
    (fork) does not move the head.
    """
    claimed = link.claimed_hash
    if not claimed:
        return LinkCheck("unchained", head)
    if link.computed_hash != claimed:
        return LinkCheck("mismatch", head)
    index, previous = link.chain_index, link.previous_hash
    extended = ChainHead(index, claimed)
    if head is None:
        if index == 0 and previous == "":
            return LinkCheck("verified", extended)
        return LinkCheck("gap", extended)
    if index <= head.index:
        return LinkCheck("fork", head)
    if index == head.index + 1:
        if previous == head.hash:
            return LinkCheck("verified", extended)
        return LinkCheck("mismatch", head)
    return LinkCheck("gap", extended)


def check_event(event: Mapping[str, Any], head: ChainHead | None) -> LinkCheck:
    """``check_link`` for an event as sent."""
    return check_link(link_of(event), head)
