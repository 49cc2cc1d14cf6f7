"""The per-session hash chain: hashing rules and link checks (pure)."""

from __future__ import annotations

import hashlib
import json
from typing import Any

from thoth.server.chain import ChainHead, canonical_json, check_event, event_hash


def chained(count: int, session: str = "s1") -> list[dict[str, Any]]:
    events: list[dict[str, Any]] = []
    previous = ""
    for index in range(count):
        event = {
            "event_id": f"00000000-0000-4000-8000-{index:012d}",
            "session_id": session,
            "event_type": "TOOL_CALL_PRE",
            "content": "héllo",  # non-ASCII stays UTF-8 in the canonical form
            "chain_index": index,
            "previous_hash": previous,
            "signature": "",
            "ingested_at": "2026-11-25T10:00:00Z",
        }
        event["hash"] = event_hash(event)
        previous = event["hash"]
        events.append(event)
    return events


def test_hash_is_sha256_of_sorted_compact_utf8_json_without_unhashed_keys() -> None:
    event = {"b": 1, "a": "é", "hash": "x", "signature": "sig", "ingested_at": "now"}
    expected = hashlib.sha256(b'{"a":"\xc3\xa9","b":1}').hexdigest()
    assert canonical_json({"b": 1, "a": "é"}) == b'{"a":"\xc3\xa9","b":1}'
    assert event_hash(event) == expected
    assert event_hash({**event, "signature": "other", "ingested_at": "later"}) == expected
    assert event_hash({**event, "b": 2}) != expected


def test_a_sound_chain_verifies_link_by_link() -> None:
    head = None
    for event in chained(4):
        check = check_event(event, head)
        assert check.status == "verified"
        head = check.new_head
    assert head == ChainHead(3, chained(4)[3]["hash"])


def test_unchained_events_are_accepted_as_such() -> None:
    check = check_event({"event_id": "x", "hash": "", "chain_index": 0}, None)
    assert (check.status, check.new_head) == ("unchained", None)


def test_a_changed_event_is_a_mismatch_and_does_not_move_the_head() -> None:
    first, second = chained(2)
    head = check_event(first, None).new_head
    tampered = {**second, "content": "changed"}
    check = check_event(tampered, head)
    assert (check.status, check.new_head) == ("mismatch", head)


def test_a_gap_is_recorded_and_the_chain_continues() -> None:
    events = chained(4)
    head = check_event(events[0], None).new_head
    gap = check_event(events[2], head)
    assert gap.status == "gap"
    assert check_event(events[3], gap.new_head).status == "verified"
    assert check_event(events[1], None).status == "gap"  # nothing known before index 1


def test_a_second_event_at_a_taken_index_is_a_fork() -> None:
    events = chained(2)
    head = check_event(events[1], check_event(events[0], None).new_head).new_head
    rival = {**events[1], "event_id": "other", "content": "rival"}
    rival["hash"] = event_hash(rival)
    assert check_event(rival, head).status == "fork"


def test_a_wrong_previous_hash_is_a_mismatch() -> None:
    events = chained(2)
    head = check_event(events[0], None).new_head
    relinked = {**events[1], "previous_hash": "0" * 64}
    relinked["hash"] = event_hash(relinked)
    assert check_event(relinked, head).status == "mismatch"


def test_the_hash_survives_a_json_round_trip() -> None:
    event = chained(1)[0] | {"metadata": {"n": 1.5, "big": 2**60, "nested": [None, True]}}
    event["hash"] = event_hash(event)
    assert event_hash(json.loads(json.dumps(event))) == event["hash"]
