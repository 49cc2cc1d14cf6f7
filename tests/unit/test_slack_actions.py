"""thoth.server.slack.actions: a click is parsed strictly (anything else is a ParseError, never an
exception), the approver's name is safe, and response_url cannot point anywhere but Slack."""

from __future__ import annotations

import json
import urllib.parse
from typing import Any

import pytest

from thoth.server.slack.actions import (
    MAX_BODY_BYTES,
    Action,
    ParseError,
    approver_of,
    parse_action,
    response_url_allowed,
)

REF = "0123456789abcdef0123"
RESPONSE_URL = "https://hooks.slack.com/actions/T0001/1234/abcdef"


def payload(action_id: str = "thoth_approve", value: str = REF, **changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "type": "block_actions",
        "user": {"id": "U0123ABC", "username": "alice", "name": "alice", "team_id": "T0001"},
        "team": {"id": "T0001", "domain": "acme"},
        "actions": [{"action_id": action_id, "value": value, "block_id": "thoth_hold", "type": "button"}],
        "response_url": RESPONSE_URL,
        "container": {"type": "message", "message_ts": "1.2"},
        "message": {"text": "Thoth approval needed", "blocks": []},
    }
    body.update(changes)
    return body


def form(data: Any) -> bytes:
    text = data if isinstance(data, str) else json.dumps(data)
    return urllib.parse.urlencode({"payload": text}).encode("ascii")


def action(**fields: Any) -> Action:
    base: dict[str, Any] = {
        "resolution": "ALLOW",
        "hold_ref": REF,
        "user_id": "U0123ABC",
        "user_name": "alice",
        "team_id": "T0001",
        "response_url": RESPONSE_URL,
    }
    return Action(**{**base, **fields})


# -- good clicks ----------------------------------------------------------------------------------


@pytest.mark.parametrize(("action_id", "resolution"), [("thoth_approve", "ALLOW"), ("thoth_deny", "BLOCK")])
def test_a_click_is_parsed(action_id: str, resolution: str) -> None:
    assert parse_action(form(payload(action_id))) == Action(
        resolution=resolution,
        hold_ref=REF,
        user_id="U0123ABC",
        user_name="alice",
        team_id="T0001",
        response_url=RESPONSE_URL,
    )


def test_the_older_name_field_stands_in_for_username() -> None:
    parsed = parse_action(form(payload(user={"id": "U1", "name": "bob"})))
    assert isinstance(parsed, Action)
    assert parsed.user_name == "bob"


def test_no_username_and_no_response_url_are_allowed() -> None:
    body = payload(user={"id": "U1"})
    del body["response_url"]
    parsed = parse_action(form(body))
    assert isinstance(parsed, Action)
    assert (parsed.user_name, parsed.response_url) == (None, None)


def test_the_response_url_stays_out_of_the_repr() -> None:
    assert RESPONSE_URL not in repr(parse_action(form(payload())))


def test_the_console_link_is_an_ignorable_click() -> None:
    assert parse_action(form(payload("thoth_open", value=""))) == ParseError(
        "the console link resolves nothing", ignorable=True
    )


# -- malformed bodies -----------------------------------------------------------------------------

MALFORMED: list[tuple[str, bytes, str]] = [
    ("empty", b"", "expected one payload field"),
    ("not a form", b"\xff\xfe{}", "not a form body"),
    ("json body", json.dumps(payload()).encode(), "not a form body"),
    ("no payload", b"other=1", "expected one payload field"),
    ("two payloads", form(payload()) + b"&" + form(payload()), "expected one payload field"),
    ("bad percent utf-8", b"payload=%FF%FE", "not a form body"),
    ("bad json", form("{not json"), "payload is not JSON"),
    ("deep json", form("[" * 40_000 + "]" * 40_000), "payload is not JSON"),
    ("json array", form([payload()]), "payload is not an object"),
    ("wrong type", form(payload(type="view_submission")), "not a block_actions payload"),
    ("no type", form({k: v for k, v in payload().items() if k != "type"}), "not a block_actions payload"),
    ("unknown action", form(payload("thoth_approve_all")), "unknown action"),
    ("no actions", form(payload(actions=[])), "expected exactly one action"),
    ("two actions", form(payload(actions=payload()["actions"] * 2)), "expected exactly one action"),
    ("action not an object", form(payload(actions=["thoth_approve"])), "expected exactly one action"),
    ("action id not a string", form(payload(actions=[{"action_id": 1, "value": REF}])), "malformed action"),
    (
        "value not a string",
        form(payload(actions=[{"action_id": "thoth_approve", "value": 1}])),
        "malformed action",
    ),
    ("short ref", form(payload(value=REF[:-1])), "bad hold ref"),
    ("upper-case ref", form(payload(value=REF.upper())), "bad hold ref"),
    ("a token as value", form(payload(value="hold_" + "a" * 32)), "bad hold ref"),
    ("ref with newline", form(payload(value=REF + "\n")), "bad hold ref"),
    ("no user", form(payload(user=None)), "missing user"),
    ("bad user id", form(payload(user={"id": "U1<script>"})), "bad user id"),
    ("user id not a string", form(payload(user={"id": 5})), "bad user id"),
    ("no team", form(payload(team=None)), "missing team"),
    ("bad team id", form(payload(team={"id": ""})), "bad team id"),
    ("response_url not a string", form(payload(response_url=["x"])), "bad response_url"),
    ("too big", form(payload(message={"text": "x" * MAX_BODY_BYTES})), "body too large"),
]


@pytest.mark.parametrize(("case", "body", "reason"), MALFORMED, ids=[case for case, _, _ in MALFORMED])
def test_malformed_bodies_are_refused_without_raising(case: str, body: bytes, reason: str) -> None:
    assert parse_action(body) == ParseError(reason)


def test_the_reason_names_the_problem() -> None:
    assert parse_action(form(payload(value="nope"))) == ParseError("bad hold ref")
    assert parse_action(b"x" * (MAX_BODY_BYTES + 1)) == ParseError("body too large")
    assert parse_action(form(payload("other"))) == ParseError("unknown action")


# -- approver_of ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("user_name", "user_id", "approver"),
    [
        ("alice", "U1", "slack:alice"),
        ("a.b-c_d", "U1", "slack:a.b-c_d"),
        (None, "U0123ABC", "slack:U0123ABC"),
        ("", "U0123ABC", "slack:U0123ABC"),
        ("al ice", "U1", "slack:U1"),  # a cleaned name could be someone else's
        ("alice\x1b[2J", "U1", "slack:U1"),
        ("<!channel>", "U1", "slack:U1"),
        ("a" * 65, "U1", "slack:U1"),
    ],
)
def test_the_approver_is_a_safe_name(user_name: str | None, user_id: str, approver: str) -> None:
    assert approver_of(action(user_name=user_name, user_id=user_id)) == approver


def test_the_approver_of_a_parsed_hostile_name_is_safe() -> None:
    parsed = parse_action(form(payload(user={"id": "U9", "username": "x\n*bold* <@U1>" * 50})))
    assert isinstance(parsed, Action)
    assert approver_of(parsed) == "slack:U9"


# -- response_url_allowed -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        RESPONSE_URL,
        "https://hooks.slack.com:443/actions/T/1/x",
        "https://HOOKS.slack.com/actions/T/1/x",
    ],
)
def test_slack_response_urls_are_allowed(url: str) -> None:
    assert response_url_allowed(url)


@pytest.mark.parametrize(
    "url",
    [
        "https://hooks.slack.com.evil.com/actions/T/1/x",
        "https://evil.com/hooks.slack.com/",
        "https://user@hooks.slack.com/actions/T/1/x",
        "https://user:pass@hooks.slack.com/actions/T/1/x",
        "https://evil.com@hooks.slack.com/",
        "https://hooks.slack.com@evil.com/",
        "https://hooks.slack.com\\@evil.com/",
        "http://hooks.slack.com/actions/T/1/x",
        "https://10.0.0.1/",
        "https://127.0.0.1/",
        "http://127.0.0.1:8080/",
        "https://[::1]/",
        "https://hooks.slack.com:8443/actions",
        "https://hooks.slack.com:/actions",
        "https://hooks.slack.com:99999/actions",
        "https://hooks.slack.com./actions",
        "https://hooks.slack.com/ac\ttions",
        "https://hooks.sl\nack.com/actions",
        "https://hooks.slack.com/" + "a" * 3000,
        "ftp://hooks.slack.com/",
        "//hooks.slack.com/actions",
        "hooks.slack.com/actions",
        "",
    ],
)
def test_other_urls_are_refused(url: str) -> None:
    assert not response_url_allowed(url)


def test_loopback_http_only_when_listed() -> None:
    hosts = frozenset({"hooks.slack.com", "127.0.0.1"})
    assert response_url_allowed("http://127.0.0.1:8123/actions/T/1/x", hosts)
    assert not response_url_allowed("http://127.0.0.1:8123/actions/T/1/x")
    assert not response_url_allowed("http://localhost:8123/actions", hosts)
    assert not response_url_allowed("http://10.0.0.1:8123/actions", frozenset({"10.0.0.1"}))
    assert not response_url_allowed("http://user@127.0.0.1:8123/actions", hosts)
    assert not response_url_allowed("http://hooks.slack.com/actions", hosts)


def test_an_ip_literal_is_refused_even_when_listed() -> None:
    assert not response_url_allowed("https://10.0.0.1/actions", frozenset({"10.0.0.1"}))
