"""thoth.server.slack.messages: what an agent sent cannot mention, link, hide text or break the
message; the token never leaves; every field stays within Slack's limits."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from thoth.server import holds
from thoth.server.slack import messages
from thoth.server.slack.messages import hold_message, mrkdwn_escape, outcome_message

TOKEN = "hold_" + "T0kenSecretT0kenSecretT0kenSecret"
REF = holds.ref_of(TOKEN)
NOW = 1_800_000_000.0
HOSTILE = ["<script>alert(1)</script>", "a & b", "<!channel>", "<!here|here>", "<@U123>", "<https://evil|ok>"]
AGENT_FIELDS = ["agent_id", "tool_name", "tenant_id", "session_id", "rule_id", "reason", "user_id"]


def make_hold(**changes: Any) -> dict[str, Any]:
    hold: dict[str, Any] = {
        "hold_token": TOKEN,
        "hold_ref": REF,
        "tenant_id": "acme",
        "agent_id": "billing-bot",
        "session_id": "sess-1",
        "user_id": "u-7",
        "tool_name": "send_email",
        "args_sha256": "ab" * 32,
        "reason": "sending mail needs approval",
        "rule_id": "mail-step-up",
        "status": "pending",
        "created_at": NOW,
        "expires_at": NOW + 300,
        "resolved_at": None,
        "approver": None,
        "resolution_reason": None,
        "redacted_args": json.dumps({"to": "ops@example.com", "subject": "hi"}),
        "decision_id": "dec-1",
    }
    hold.update(changes)
    return hold


def texts(message: dict[str, Any]) -> Iterator[tuple[str, str]]:
    """Every (type, text) of a message: the fallback text and each text object of its blocks."""
    yield "mrkdwn", message["text"]
    for block in message["blocks"]:
        objects = [block.get("text"), *block.get("fields", []), *block.get("elements", [])]
        for item in objects:
            if item is None:
                continue
            inner = item.get("text", item)
            if isinstance(inner, dict):
                yield inner["type"], inner["text"]
            elif item.get("type") in ("mrkdwn", "plain_text"):
                yield item["type"], item["text"]


def mrkdwn_texts(message: dict[str, Any]) -> list[str]:
    return [text for kind, text in texts(message) if kind == "mrkdwn"]


def blocks_of(message: dict[str, Any], kind: str) -> list[dict[str, Any]]:
    return [block for block in message["blocks"] if block["type"] == kind]


# -- escaping -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "escaped"),
    [
        ("<script>", "&lt;script&gt;"),
        ("a & b", "a &amp; b"),
        ("<!channel>", "&lt;!channel&gt;"),
        ("<@U123>", "&lt;@U123&gt;"),
        ("&amp;", "&amp;amp;"),
        ("plain text", "plain text"),
    ],
)
def test_mrkdwn_escape_writes_entities(raw: str, escaped: str) -> None:
    assert mrkdwn_escape(raw) == escaped


@pytest.mark.parametrize(
    ("raw", "escaped"),
    [
        ("a\x1b[2Jb", "a\\x1b[2Jb"),
        ("a\rb", "a\\rb"),
        ("a\x00b", "a\\x00b"),
        ("a\x85b", "a\\x85b"),  # C1 next line
        ("a\u202eb", "a\\u202eb"),  # right-to-left override
        ("a\ud800b", "a\\ud800b"),  # a lone surrogate could not even be encoded
    ],
)
def test_mrkdwn_escape_neutralises_unprintable_characters(raw: str, escaped: str) -> None:
    assert mrkdwn_escape(raw) == escaped


def test_newlines_stay_unless_one_line() -> None:
    assert mrkdwn_escape("a\nb") == "a\nb"
    assert mrkdwn_escape("a\nb", one_line=True) == "a\\nb"


def test_the_limit_counts_escapes_and_never_splits_an_entity() -> None:
    cut = mrkdwn_escape("&" * 1000, limit=102)
    assert len(cut) <= 102
    assert cut.endswith(messages.TRUNCATED)
    assert cut[: -len(messages.TRUNCATED)] == "&amp;" * 20
    assert mrkdwn_escape("x" * 10, limit=10) == "x" * 10  # what fits is not marked


@pytest.mark.parametrize("field", AGENT_FIELDS)
@pytest.mark.parametrize("value", HOSTILE)
def test_no_agent_string_reaches_mrkdwn_unescaped(field: str, value: str) -> None:
    message = hold_message(make_hold(**{field: f"x {value} y"}), "https://thoth.example/ui/holds/" + REF)
    for text in mrkdwn_texts(message):
        assert value not in text
    assert any(mrkdwn_escape(value) in text for text in mrkdwn_texts(message))


@pytest.mark.parametrize("value", HOSTILE)
def test_arguments_are_escaped_in_their_code_block(value: str) -> None:
    message = hold_message(make_hold(redacted_args=json.dumps({"body": value})), None)
    args = next(text for text in mrkdwn_texts(message) if text.startswith("*Arguments*"))
    assert value not in args
    assert mrkdwn_escape(value) in args


def test_a_backtick_in_the_arguments_cannot_close_the_code_block() -> None:
    message = hold_message(make_hold(redacted_args=json.dumps({"body": "```\n<!channel>\n```"})), None)
    args = next(text for text in mrkdwn_texts(message) if text.startswith("*Arguments*"))
    assert args.count("```") == 2  # the fences, and only them


def test_control_characters_reach_no_text() -> None:
    hostile = "a\x1b[31m\r\x07\u202e\x00b"
    message = hold_message(make_hold(tool_name=hostile, agent_id=hostile, reason=hostile), None)
    for _, text in texts(message):
        assert all(char.isprintable() or char == "\n" for char in text), text
    json.dumps(message, ensure_ascii=False).encode("utf-8")  # nothing unencodable either


# -- the token, the ref, the buttons --------------------------------------------------------------


def test_no_message_contains_the_hold_token() -> None:
    hold = make_hold()
    assert TOKEN not in json.dumps(hold_message(hold, "https://thoth.example/ui/holds/" + REF))
    assert TOKEN not in json.dumps(outcome_message(hold, "Approved by slack:alice"))


def test_buttons_carry_the_ref_and_their_action() -> None:
    (actions,) = blocks_of(hold_message(make_hold(), None), "actions")
    approve, deny = actions["elements"]
    assert (approve["action_id"], approve["style"], approve["value"]) == ("thoth_approve", "primary", REF)
    assert (deny["action_id"], deny["style"], deny["value"]) == ("thoth_deny", "danger", REF)


def test_a_hold_without_its_ref_is_named_by_the_token_digest() -> None:
    (actions,) = blocks_of(hold_message(make_hold(hold_ref=None), None), "actions")
    assert {button["value"] for button in actions["elements"]} == {REF}


def test_the_console_link_is_a_button_when_given() -> None:
    url = "https://thoth.example/ui/holds/" + REF
    (actions,) = blocks_of(hold_message(make_hold(), url), "actions")
    link = actions["elements"][-1]
    assert (link["action_id"], link["url"]) == ("thoth_open", url)
    assert "value" not in link


@pytest.mark.parametrize(
    "url", [None, "javascript:alert(1)", "https://x.example/" + "a" * 3000, "https://a b"]
)
def test_no_link_button_without_an_acceptable_url(url: str | None) -> None:
    (actions,) = blocks_of(hold_message(make_hold(), url), "actions")
    assert [button["action_id"] for button in actions["elements"]] == ["thoth_approve", "thoth_deny"]


def test_the_context_names_the_ref_and_the_expiry() -> None:
    (context,) = blocks_of(hold_message(make_hold(), None), "context")
    text = context["elements"][0]["text"]
    assert REF in text
    assert "2027-01-15 08:05:00 UTC" in text


def test_the_message_names_agent_tool_tenant_session_rule_and_reason() -> None:
    joined = "\n".join(mrkdwn_texts(hold_message(make_hold(), None)))
    for value in (
        "billing-bot",
        "send_email",
        "acme",
        "sess-1",
        "mail-step-up",
        "sending mail needs approval",
    ):
        assert value in joined
    assert '"to": "ops@example.com"' in joined


@pytest.mark.parametrize(
    ("stored", "note"), [(None, "not recorded"), ("", "no arguments"), ("{}", "no arguments")]
)
def test_missing_arguments_are_said_so(stored: str | None, note: str) -> None:
    joined = "\n".join(mrkdwn_texts(hold_message(make_hold(redacted_args=stored), None)))
    assert note in joined
    assert "```" not in joined


# -- limits ---------------------------------------------------------------------------------------


def huge_hold() -> dict[str, Any]:
    big = "<&>" * 20_000
    return make_hold(
        agent_id=big, tool_name=big, tenant_id=big, session_id=big, rule_id=big, reason=big, user_id=big,
        redacted_args=json.dumps({"body": big}),
    )  # fmt: skip


@pytest.mark.parametrize(
    "build", [lambda h: hold_message(h, None), lambda h: outcome_message(h, "<&>" * 9000)]
)
def test_huge_fields_stay_within_slack_limits(build: Any) -> None:
    message = build(huge_hold())
    for block in message["blocks"]:
        if block["type"] == "header":
            assert len(block["text"]["text"]) <= messages.HEADER_MAX
        if block["type"] == "section" and "text" in block:
            assert len(block["text"]["text"]) <= messages.SECTION_TEXT_MAX
        for field in block.get("fields", []):
            assert len(field["text"]) <= messages.FIELD_TEXT_MAX
        for element in block.get("elements", []):
            if element["type"] == "button":
                assert len(element["text"]["text"]) <= messages.BUTTON_TEXT_MAX
            else:
                assert len(element["text"]) <= messages.SECTION_TEXT_MAX
    assert len(message["text"]) <= messages.SECTION_TEXT_MAX
    assert len(json.dumps(message)) < 20_000


def test_cut_arguments_say_so() -> None:
    message = hold_message(huge_hold(), None)
    args = next(text for text in mrkdwn_texts(message) if text.startswith("*Arguments*"))
    assert "console shows them all" in args
    assert args.count("```") == 2


# -- the outcome ----------------------------------------------------------------------------------


def test_the_outcome_replaces_the_buttons() -> None:
    outcome = outcome_message(
        make_hold(status="approved"), "Approved by slack:alice at 2027-01-15 08:01:00 UTC"
    )
    assert outcome["replace_original"] is True
    assert blocks_of(outcome, "actions") == []
    joined = "\n".join(mrkdwn_texts(outcome))
    assert "Approved by slack:alice at 2027-01-15 08:01:00 UTC" in joined
    assert "send_email" in joined
    assert REF in joined


def test_the_outcome_text_is_escaped() -> None:
    outcome = outcome_message(make_hold(), "Denied by <!channel> & co\r")
    for text in mrkdwn_texts(outcome):
        assert "<!channel>" not in text
        assert "\r" not in text
    assert any("Denied by &lt;!channel&gt; &amp; co\\r" in text for text in mrkdwn_texts(outcome))


def test_the_webhook_text_escapes_what_the_agent_named() -> None:
    from thoth.server import notify

    hold = {
        "agent_id": "<!channel>",
        "tool_name": "send\nemail",
        "tenant_id": "acme",
        "session_id": "s-1",
        "reason": "see <https://evil.example|the form> & approve",
        "hold_token": "hold_abc",
    }
    text = notify.hold_message(hold)["text"]
    assert text == (
        "Thoth: agent &lt;!channel&gt; wants to run send\\nemail (tenant acme, session s-1): "
        "see &lt;https://evil.example|the form&gt; &amp; approve. "
        "Approve: thoth holds approve hold_abc  Deny: thoth holds deny hold_abc"
    )
