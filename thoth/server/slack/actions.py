"""A Slack button click, parsed (pure): which hold, which resolution, who clicked.

The body is Slack's ``application/x-www-form-urlencoded`` form with one ``payload`` field
holding JSON. Everything in it is checked for shape before use, and anything unexpected is a
:class:`ParseError` (an HTTP 400), never an exception: the endpoint faces the internet.
Call :func:`parse_action` only on a body whose signature :mod:`.signing` has verified.

``response_url`` is where the clicked message can be replaced; :func:`response_url_allowed`
keeps a forged or odd one from turning the server into a proxy to an internal address.
"""

from __future__ import annotations

import ipaddress
import json
import re
import urllib.parse
from collections.abc import Mapping
from typing import Any, Final

import attrs

from thoth.server.slack.messages import APPROVE_ACTION_ID, DENY_ACTION_ID, OPEN_ACTION_ID

__all__ = [
    "DEFAULT_RESPONSE_HOSTS",
    "MAX_BODY_BYTES",
    "Action",
    "ParseError",
    "approver_of",
    "parse_action",
    "response_url_allowed",
]

#: larger than any click on our messages (Slack sends the whole message back with it)
MAX_BODY_BYTES: Final = 256 * 1024
DEFAULT_RESPONSE_HOSTS: Final = frozenset({"hooks.slack.com"})
#: the one address allowed over plain http, and only when listed (the tests' fake Slack)
LOOPBACK: Final = "127.0.0.1"
URL_MAX_CHARS: Final = 2048
NAME_MAX_CHARS: Final = 64
_RAW_NAME_MAX_CHARS: Final = 256

_RESOLUTION_OF: Final = {APPROVE_ACTION_ID: "ALLOW", DENY_ACTION_ID: "BLOCK"}
_REF: Final = re.compile(r"[0-9a-f]{20}")
_SLACK_ID: Final = re.compile(r"[A-Za-z0-9]{1,64}")
_NAME_CHARS: Final = re.compile(r"[A-Za-z0-9._-]+")
# printable ASCII but space and backslash: what a URL Slack sends is made of
_URL_CHARS: Final = re.compile(r"[!-\[\]-~]+")


@attrs.frozen
class Action:
    """A click on Approve (``ALLOW``) or Deny (``BLOCK``) of the hold named ``hold_ref``."""

    resolution: str
    hold_ref: str
    user_id: str
    user_name: str | None
    team_id: str
    # whoever holds it can post into the channel for a while: kept out of reprs and logs
    response_url: str | None = attrs.field(repr=False)


@attrs.frozen
class ParseError:
    """Why a body is not a click to honour. ``ignorable``: a well-formed click that resolves
    nothing (the console link button), to answer 200 so Slack shows the clicker no error."""

    reason: str
    ignorable: bool = False


class _Refused(Exception):
    def __init__(self, reason: str, ignorable: bool = False) -> None:
        super().__init__(reason)
        self.reason = reason
        self.ignorable = ignorable


def parse_action(body: bytes) -> Action | ParseError:
    """The click in ``body``, or why it is not one."""
    try:
        return _action(_payload(body))
    except _Refused as refused:
        return ParseError(refused.reason, refused.ignorable)


def _payload(body: bytes) -> Mapping[str, Any]:
    if len(body) > MAX_BODY_BYTES:
        raise _Refused("body too large")
    try:
        form = urllib.parse.parse_qs(
            body.decode("ascii"), strict_parsing=True, errors="strict", max_num_fields=16
        )
    except ValueError:  # UnicodeDecodeError too
        raise _Refused("not a form body") from None
    values = form.get("payload", [])
    if len(values) != 1:
        raise _Refused("expected one payload field")
    try:
        payload = json.loads(values[0])
    except (ValueError, RecursionError):  # RecursionError: nesting deep enough to exhaust the stack
        raise _Refused("payload is not JSON") from None
    if not isinstance(payload, dict):
        raise _Refused("payload is not an object")
    if payload.get("type") != "block_actions":
        raise _Refused("not a block_actions payload")
    return payload


def _action(payload: Mapping[str, Any]) -> Action:
    user = _object(payload, "user")
    action_id, value = _clicked(payload)
    if action_id == OPEN_ACTION_ID:
        raise _Refused("the console link resolves nothing", ignorable=True)
    resolution = _RESOLUTION_OF.get(action_id)
    if resolution is None:
        raise _Refused("unknown action")
    if not _REF.fullmatch(value):
        raise _Refused("bad hold ref")
    return Action(
        resolution=resolution,
        hold_ref=value,
        user_id=_slack_id(user.get("id"), "user"),
        user_name=_user_name(user),
        team_id=_slack_id(_object(payload, "team").get("id"), "team"),
        response_url=_response_url(payload.get("response_url")),
    )


def _object(payload: Mapping[str, Any], key: str) -> Mapping[str, Any]:
    value = payload.get(key)
    if not isinstance(value, dict):
        raise _Refused(f"missing {key}")
    return value


def _clicked(payload: Mapping[str, Any]) -> tuple[str, str]:
    """The action_id and value of the one action a button click reports."""
    actions = payload.get("actions")
    if not isinstance(actions, list) or len(actions) != 1 or not isinstance(actions[0], dict):
        raise _Refused("expected exactly one action")
    action_id, value = actions[0].get("action_id"), actions[0].get("value", "")
    if not isinstance(action_id, str) or not isinstance(value, str):
        raise _Refused("malformed action")
    return action_id, value


def _slack_id(value: object, what: str) -> str:
    if not isinstance(value, str) or not _SLACK_ID.fullmatch(value):
        raise _Refused(f"bad {what} id")
    return value


def _user_name(user: Mapping[str, Any]) -> str | None:
    """``username`` (or the older ``name``), kept as sent but bounded; approver_of cleans it."""
    for key in ("username", "name"):
        value = user.get(key)
        if isinstance(value, str) and value:
            return value[:_RAW_NAME_MAX_CHARS]
    return None


def _response_url(value: object) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise _Refused("bad response_url")
    return value


def approver_of(action: Action) -> str:
    """The hold's approver: ``slack:<username>``, or ``slack:<user id>`` when the username is
    missing or would have to be altered to be safe (two people must not read as one)."""
    name = action.user_name
    if name is None or len(name) > NAME_MAX_CHARS or not _NAME_CHARS.fullmatch(name):
        name = "".join(_NAME_CHARS.findall(action.user_id))[:NAME_MAX_CHARS]
    return "slack:" + name


def response_url_allowed(url: str, allowed_hosts: frozenset[str] = DEFAULT_RESPONSE_HOSTS) -> bool:
    """Whether the server may post to ``url``: https to a listed host name (no user info, no
    other port than 443, no IP literal); plain http only to 127.0.0.1, and only when listed."""
    if len(url) > URL_MAX_CHARS or not _URL_CHARS.fullmatch(url):
        return False  # urlsplit drops tabs and newlines silently: refuse them first
    try:
        parts = urllib.parse.urlsplit(url)
        host, port = parts.hostname, parts.port
    except ValueError:
        return False
    if host is None or host not in allowed_hosts:
        return False
    if parts.netloc.lower() != (host if port is None else f"{host}:{port}"):
        return False  # user info, an empty port, brackets: anything but host[:port]
    if host == LOOPBACK:
        return parts.scheme in ("http", "https")
    return parts.scheme == "https" and port in (None, 443) and not _ip_literal(host)


def _ip_literal(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True
