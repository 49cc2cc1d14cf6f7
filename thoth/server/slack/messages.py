"""The Slack messages of a step-up hold, as Block Kit JSON (pure).

Every string an agent supplied (ids, tool name, reason, arguments) reaches Slack through
:func:`mrkdwn_escape`: ``&``, ``<`` and ``>`` are written as entities, so an agent cannot
mention ``<!channel>`` or ``<@U123>``, nor forge a link, and unprintable characters are written
as escapes (:func:`thoth._terminal.terminal_safe`), so none can hide or reorder text. Every text
is cut to Slack's limit for its field: a message over a limit is refused whole.

The buttons carry the hold's public ref, never its token (a bearer credential): a click is
honoured only once the signature of Slack's request is checked and the ref looked up.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

from thoth._terminal import terminal_safe
from thoth.server import holds
from thoth.server.ui import views

__all__ = [
    "APPROVE_ACTION_ID",
    "ARGS_MAX_CHARS",
    "DENY_ACTION_ID",
    "OPEN_ACTION_ID",
    "hold_message",
    "mrkdwn_escape",
    "outcome_message",
    "plain_text",
]

APPROVE_ACTION_ID: Final = "thoth_approve"
DENY_ACTION_ID: Final = "thoth_deny"
#: the console link button: Slack reports its clicks too, and they resolve nothing
OPEN_ACTION_ID: Final = "thoth_open"

# Slack's limits (characters, as sent: after escaping)
HEADER_MAX: Final = 150
BUTTON_TEXT_MAX: Final = 75
SECTION_TEXT_MAX: Final = 3000
FIELD_TEXT_MAX: Final = 2000
URL_MAX: Final = 3000

#: the arguments' share of their section, so label and fences keep it under SECTION_TEXT_MAX
ARGS_MAX_CHARS: Final = 2500
#: an id, a tool name or a rule: a glance, not a document
ID_MAX_CHARS: Final = 200
REASON_MAX_CHARS: Final = 1000
OUTCOME_MAX_CHARS: Final = 1000
DEFAULT_MAX_CHARS: Final = 1000
TRUNCATED: Final = "…"

_ENTITIES: Final = {"&": "&amp;", "<": "&lt;", ">": "&gt;"}
# In a code block a backtick could close the fence and let the rest be read as mrkdwn.
_CODE_ENTITIES: Final = {**_ENTITIES, "`": "\u02cb"}  # MODIFIER LETTER GRAVE ACCENT


def mrkdwn_escape(text: str, *, limit: int = DEFAULT_MAX_CHARS, one_line: bool = False) -> str:
    """``text`` safe in a mrkdwn field: entities for ``& < >``, escapes for unprintable
    characters (newlines too when ``one_line``), at most ``limit`` characters as sent (a cut
    text ends with ``…``). Escaping lengthens a text, so the limit is counted after it."""
    return _bounded(text, limit, one_line, _ENTITIES)


def plain_text(text: str, *, limit: int) -> str:
    """``text`` for a ``plain_text`` object (a header, a button): Slack reads no markup there,
    but unprintable characters are still escaped and the length still bounded."""
    return _bounded(text, limit, True, {})


def _bounded(text: str, limit: int, one_line: bool, entities: Mapping[str, str]) -> str:
    pieces: list[str] = []
    used = 0
    for char in text:  # stops at the limit: a huge text costs no more than a long one
        piece = entities.get(char) or terminal_safe(char, one_line=one_line)
        if used + len(piece) > limit:
            return _cut(pieces, used, limit)
        pieces.append(piece)
        used += len(piece)
    return "".join(pieces)


def _cut(pieces: list[str], used: int, limit: int) -> str:
    """Whole pieces (an entity or an escape is never split) and the marker, within ``limit``."""
    while pieces and used + len(TRUNCATED) > limit:
        used -= len(pieces.pop())
    return "".join(pieces) + TRUNCATED if limit >= len(TRUNCATED) else ""


def _text(value: object) -> str:
    return "" if value is None else str(value)


def _ref(hold: Mapping[str, Any]) -> str:
    return _text(hold.get("hold_ref")) or holds.ref_of(hold["hold_token"])


def _header(prefix: str, hold: Mapping[str, Any]) -> dict[str, Any]:
    text = plain_text(f"{prefix}: {_text(hold.get('tool_name'))}", limit=HEADER_MAX)
    return {"type": "header", "text": {"type": "plain_text", "text": text, "emoji": False}}


def _field(label: str, value: object) -> dict[str, str]:
    shown = mrkdwn_escape(_text(value), limit=ID_MAX_CHARS, one_line=True) or "-"
    return {"type": "mrkdwn", "text": f"*{label}*\n{shown}"}


def _facts(hold: Mapping[str, Any]) -> dict[str, Any]:
    """Who asks to run what, where: each value cut, so the fields stay under Slack's limits."""
    fields = [
        _field("Agent", hold.get("agent_id")),
        _field("Tool", hold.get("tool_name")),
        _field("Tenant", hold.get("tenant_id")),
        _field("Session", hold.get("session_id")),
        _field("Rule", hold.get("rule_id")),
    ]
    if hold.get("user_id"):
        fields.append(_field("User", hold.get("user_id")))
    return {"type": "section", "fields": fields}


def _reason(hold: Mapping[str, Any]) -> dict[str, Any]:
    reason = mrkdwn_escape(_text(hold.get("reason")), limit=REASON_MAX_CHARS, one_line=True)
    return _section(f"*Reason*\n{reason or '-'}")


def _arguments(hold: Mapping[str, Any]) -> dict[str, Any]:
    """The redacted arguments in a code block, cut so the section stays under 3,000 characters
    (the console shows them whole)."""
    args, note = views.args_text(hold.get("redacted_args"))
    if not args:
        return _section(f"*Arguments*\n_{mrkdwn_escape(note, one_line=True)}_")
    shown = _bounded(args, ARGS_MAX_CHARS, False, _CODE_ENTITIES)
    suffix = "\n_cut: the console shows them all_" if shown.endswith(TRUNCATED) else ""
    return _section(f"*Arguments*\n```\n{shown}\n```{suffix}")


def _section(text: str) -> dict[str, Any]:
    return {"type": "section", "text": {"type": "mrkdwn", "text": text[:SECTION_TEXT_MAX]}}


def _context(hold: Mapping[str, Any]) -> dict[str, Any]:
    ref = mrkdwn_escape(_ref(hold), limit=ID_MAX_CHARS, one_line=True)
    expiry = views.utc_text(hold.get("expires_at")) or "unknown"
    text = f"Hold {ref} · expires {expiry}"
    return {"type": "context", "elements": [{"type": "mrkdwn", "text": text}]}


def _button(text: str, action_id: str, **extra: str) -> dict[str, Any]:
    label = {"type": "plain_text", "text": plain_text(text, limit=BUTTON_TEXT_MAX), "emoji": False}
    return {"type": "button", "action_id": action_id, "text": label, **extra}


def _actions(hold: Mapping[str, Any], approval_url: str | None) -> dict[str, Any]:
    """Approve and Deny, valued with the ref (never the token); the console link when it fits."""
    ref = _ref(hold)
    elements = [
        _button("Approve", APPROVE_ACTION_ID, style="primary", value=ref),
        _button("Deny", DENY_ACTION_ID, style="danger", value=ref),
    ]
    if _linkable(approval_url):
        assert approval_url is not None
        elements.append(_button("Open in console", OPEN_ACTION_ID, url=approval_url))
    return {"type": "actions", "block_id": "thoth_hold", "elements": elements}


def _linkable(url: str | None) -> bool:
    """A link Slack accepts (an unacceptable one would get the whole message refused)."""
    return (
        url is not None
        and len(url) <= URL_MAX
        and url.startswith(("https://", "http://"))
        and url.isprintable()
        and " " not in url
    )


def _fallback(prefix: str, hold: Mapping[str, Any]) -> str:
    """The notification text (and what clients without blocks show): mrkdwn, so escaped too."""

    def short(key: str) -> str:
        return mrkdwn_escape(_text(hold.get(key)), limit=100, one_line=True)

    return (
        f"{prefix}: agent {short('agent_id')} wants to run {short('tool_name')} (tenant {short('tenant_id')})"
    )


def _body(hold: Mapping[str, Any]) -> list[dict[str, Any]]:
    return [_facts(hold), _reason(hold), _arguments(hold), _context(hold)]


def hold_message(hold: Mapping[str, Any], approval_url: str | None) -> dict[str, Any]:
    """The message that asks for a decision: facts, reason, arguments, ref and expiry, and the
    Approve / Deny buttons (plus a console link when ``approval_url`` is given)."""
    blocks = [_header("Approval needed", hold), *_body(hold), _actions(hold, approval_url)]
    return {"text": _fallback("Thoth approval needed", hold), "blocks": blocks}


def outcome_message(hold_row: Mapping[str, Any], outcome_text: str) -> dict[str, Any]:
    """The same message without buttons and with what became of the hold (``Approved by ...``),
    to replace the original through its ``response_url``: no one clicks a settled hold again."""
    outcome = mrkdwn_escape(outcome_text, limit=OUTCOME_MAX_CHARS, one_line=True)
    blocks = [_header("Step-up hold", hold_row), *_body(hold_row), _section(f"*Outcome:* {outcome}")]
    return {"replace_original": True, "text": f"Thoth hold: {outcome}", "blocks": blocks}
