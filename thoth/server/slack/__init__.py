"""Step-up approvals in Slack: a hold's message with Approve / Deny buttons, and the click.

``messages`` (Block Kit JSON, escaped and bounded; pure), ``signing`` (Slack's request
signatures; pure), ``actions`` (a click parsed, the approver's name, the ``response_url``
guard; pure) and ``delivery`` (:class:`SlackSender`: posts with retries; I/O). A button carries
the hold's public ref, never its token.
"""

from __future__ import annotations

from thoth.server.slack.actions import (
    DEFAULT_RESPONSE_HOSTS,
    MAX_BODY_BYTES,
    Action,
    ParseError,
    approver_of,
    parse_action,
    response_url_allowed,
)
from thoth.server.slack.delivery import SlackSender
from thoth.server.slack.messages import (
    APPROVE_ACTION_ID,
    DENY_ACTION_ID,
    OPEN_ACTION_ID,
    hold_message,
    mrkdwn_escape,
    outcome_message,
)
from thoth.server.slack.signing import MAX_SKEW_SECONDS, sign, verify

__all__ = [
    "APPROVE_ACTION_ID",
    "DEFAULT_RESPONSE_HOSTS",
    "DENY_ACTION_ID",
    "MAX_BODY_BYTES",
    "MAX_SKEW_SECONDS",
    "OPEN_ACTION_ID",
    "Action",
    "ParseError",
    "SlackSender",
    "approver_of",
    "hold_message",
    "mrkdwn_escape",
    "outcome_message",
    "parse_action",
    "response_url_allowed",
    "sign",
    "verify",
]
