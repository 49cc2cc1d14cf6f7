"""``thoth._redaction.scrub``: the server's redaction of events as sent (issue 14, item 11)."""

from __future__ import annotations

import json

import hypothesis
import hypothesis.strategies as st

from thoth import _redaction
from thoth._redaction import REDACTED, redact, scrub
from thoth.server.redaction import scrub_event

JWT = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U"


def test_only_secrets_change_and_nothing_is_cut() -> None:
    value = {"rows": list(range(500)), "text": "x" * 100_000, "nested": [[[["deep enough"]]]]}
    assert scrub(value) == (value, 0)  # redact() would cut rows at 100 and text to its limit


def test_a_secret_key_loses_a_string_but_keeps_a_number() -> None:
    value = {"password": "pw-1", "max_tokens": 512, "token_count": 3, "api_key": "", "secret": None}
    assert scrub(value) == (
        {"password": REDACTED, "max_tokens": 512, "token_count": 3, "api_key": "", "secret": None},
        1,
    )


def test_assignments_in_free_text_lose_their_values_and_are_counted_once() -> None:
    text = "retry with password=hunter2 and api_key: 'abc123def' (secret=[REDACTED] already)"
    assert scrub(text) == (
        "retry with password=[REDACTED] and api_key: '[REDACTED]' (secret=[REDACTED] already)",
        2,
    )


def test_the_sdks_redaction_also_takes_assignments_out_of_text() -> None:
    assert redact("connect as admin password=hunter2") == "connect as admin password=[REDACTED]"


def test_what_the_sdk_sent_is_left_byte_for_byte() -> None:
    content = json.dumps({"password": REDACTED, "path": "/tmp/a"}, indent=2)
    event = {"event_id": "e", "content": content, "metadata": {"sdk": "thoth"}}
    assert scrub_event(event) == (event, 0)
    assert scrub_event(event)[0] is event


def test_content_that_is_json_is_walked_and_what_identifies_the_event_is_never_touched() -> None:
    event = {
        "event_id": "e",
        "tool_name": "password=not-a-secret-here",  # structural: left alone
        "content": json.dumps({"authorization": f"Bearer {JWT}"}),
        "metadata": {"jwt": JWT},
    }
    scrubbed, count = scrub_event(event)
    assert count == 2
    assert scrubbed["tool_name"] == event["tool_name"]
    assert json.loads(scrubbed["content"]) == {"authorization": REDACTED}
    assert scrubbed["metadata"] == {"jwt": REDACTED}


def test_a_subtree_too_deep_to_walk_is_replaced_not_passed_unexamined() -> None:
    value: object = "sk-" + "a" * 30
    for _ in range(100):
        value = [value]
    scrubbed, count = scrub(value)
    assert count == 1 and "sk-" not in json.dumps(scrubbed)


_FRAGMENTS = (
    *("password", "PassPhrase", "pwd", "client_secret", "api-key", "APIKEY", "access_token", "x"),
    *("Authorization", "credential", "private_key", "cookie", "session-key", "signature", " pin "),
    *("ssn", "cvv", "sk-", "thoth_live_", "AKIA", "ASIA", "ghp_", "xoxb-", "AIza", "eyJ", "Bearer "),
    *(
        "-----BEGIN RSA PRIVATE KEY-----",
        "=",
        ": ",
        '"',
        ".",
        "0123456789abcdefABCDEF",
        "\u017f",
        "\u212a",
    ),  # long s, Kelvin: fold to s, k
)


@hypothesis.given(st.lists(st.sampled_from(_FRAGMENTS) | st.text(max_size=6), max_size=12).map("".join))
@hypothesis.settings(max_examples=2000, deadline=None)
def test_the_fast_pre_check_never_hides_what_the_patterns_would_find(text: str) -> None:
    patterns = (_redaction._SECRET_KEY, _redaction._SECRET_VALUE, _redaction._SECRET_ASSIGNMENT)
    if not _redaction.may_hold_secret(text):
        assert not [pattern.pattern for pattern in patterns if pattern.search(text)]
