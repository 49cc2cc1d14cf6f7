"""The per-session hash chain that makes an audit trail tamper-evident. Pure functions.

Every event of a session carries ``chain_index`` (0, 1, 2, ...), ``previous_hash``
(the ``hash`` of the event before it, ``""`` for the first) and ``hash``:

    hash = sha256(canonical_json(event minus hash, signature, ingested_at)).hexdigest()
    canonical_json(x) = json.dumps(x, sort_keys=True, separators=(",", ":"),
                                   ensure_ascii=False).encode("utf-8")

``ingested_at`` is left out because a server may set it; ``signature`` because it
signs the hash. A verifier that replays a session in ``chain_index`` order sees a
removed event as a gap, and a changed one as a hash mismatch.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from typing import Any

__all__ = ["UNHASHED_FIELDS", "canonical_json", "event_hash", "seal", "verify_chain"]

UNHASHED_FIELDS = frozenset({"hash", "signature", "ingested_at"})


def canonical_json(value: Any, *, allow_nan: bool = True) -> bytes:
    """Sorted keys, separators ``(",", ":")``, UTF-8, non-ASCII kept: what is hashed and signed."""
    return json.dumps(
        value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=allow_nan
    ).encode("utf-8")


def event_hash(event: Mapping[str, Any]) -> str:
    """The ``hash`` an event must carry, given all its other fields."""
    body = {key: value for key, value in event.items() if key not in UNHASHED_FIELDS}
    return hashlib.sha256(canonical_json(body)).hexdigest()


def seal(event: Mapping[str, Any]) -> tuple[str, bytes]:
    """Hash an event that has no unhashed fields yet; return the hash and the event's JSON with it.

    The JSON is the canonical form plus ``hash`` and an empty ``signature``: one
    serialisation serves both the hash and the wire.
    """
    if UNHASHED_FIELDS.intersection(event):
        raise ValueError("seal() takes an event without hash, signature or ingested_at")
    body = canonical_json(event)
    digest = hashlib.sha256(body).hexdigest()
    suffix = b'"hash":"' + digest.encode() + b'","signature":""}'
    return digest, (body[:-1] + b"," + suffix) if len(body) > 2 else b"{" + suffix


def verify_chain(events: Iterable[Mapping[str, Any]]) -> list[str]:
    """Problems found in one session's events (sorted by ``chain_index``); empty means intact."""
    problems: list[str] = []
    expected_index, previous = 0, ""
    for event in sorted(events, key=lambda e: int(e.get("chain_index", -1))):
        index = event.get("chain_index")
        if index != expected_index:
            problems.append(f"gap: expected chain_index {expected_index}, found {index}")
        if event.get("previous_hash", "") != previous:
            problems.append(f"chain_index {index}: previous_hash does not match the event before it")
        if event.get("hash") != event_hash(event):
            problems.append(f"chain_index {index}: hash does not match the event's content")
        expected_index = (index if isinstance(index, int) else expected_index) + 1
        previous = str(event.get("hash", ""))
    return problems
