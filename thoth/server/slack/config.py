"""How ``thoth serve`` reaches Slack, checked at start (pure but for reading the files named).

Secrets come from the environment or a file, so they need not be on a command line where
``ps`` shows them: ``THOTH_SLACK_SIGNING_SECRET`` (or ``--slack-signing-secret-file``),
``THOTH_SLACK_BOT_TOKEN`` (or ``--slack-bot-token-file``), ``THOTH_SLACK_WEBHOOK_URL`` (or
``--slack-webhook-url``). Nothing here goes in a repr.
"""

from __future__ import annotations

import re
import urllib.parse
from collections.abc import Mapping
from pathlib import Path
from typing import Final

import attrs

from thoth.server.slack.actions import DEFAULT_RESPONSE_HOSTS

_USER: Final = re.compile(r"[A-Za-z0-9._-]{1,64}")
_CHANNEL: Final = re.compile(r"[#A-Za-z0-9._-]{1,80}")


@attrs.frozen
class SlackConfig:
    """Where a new hold's message goes (an incoming webhook, or a bot token and a channel), the
    secret that proves a click came from Slack, and who may click."""

    signing_secret: bytes = attrs.field(repr=False)
    webhook_url: str | None = attrs.field(default=None, repr=False)
    bot_token: str | None = attrs.field(default=None, repr=False)
    channel: str | None = None
    #: Slack user ids or usernames allowed to approve; None: anyone in the channel
    allowed_users: frozenset[str] | None = None
    #: hosts a response_url may point at (Slack's own; a test's fake Slack adds 127.0.0.1)
    response_hosts: frozenset[str] = DEFAULT_RESPONSE_HOSTS
    api_base: str = "https://slack.com/api"


def read_slack_config(
    env: Mapping[str, str],
    *,
    webhook_url: str | None = None,
    channel: str | None = None,
    signing_secret_file: str | None = None,
    bot_token_file: str | None = None,
    allowed_users: str | None = None,
) -> SlackConfig | None:
    """The Slack set-up from flags and ``THOTH_SLACK_*``; None when Slack is not asked for.
    Raises ValueError naming the flag or variable to fix."""
    webhook = webhook_url or env.get("THOTH_SLACK_WEBHOOK_URL") or None
    token = _secret(bot_token_file, "--slack-bot-token-file") or env.get("THOTH_SLACK_BOT_TOKEN") or None
    channel = channel or env.get("THOTH_SLACK_CHANNEL") or None
    secret = _secret(signing_secret_file, "--slack-signing-secret-file") or env.get(
        "THOTH_SLACK_SIGNING_SECRET"
    )
    if not (webhook or token or channel or secret):
        return None
    if webhook and token:
        raise ValueError("Slack: give an incoming webhook (THOTH_SLACK_WEBHOOK_URL) or a bot token, not both")
    if not (webhook or token):
        raise ValueError(
            "Slack: say where holds are posted: THOTH_SLACK_WEBHOOK_URL (or --slack-webhook-url), or "
            "THOTH_SLACK_BOT_TOKEN (or --slack-bot-token-file) with --slack-channel"
        )
    if token and not channel:
        raise ValueError(
            "Slack: a bot token posts to a channel: give --slack-channel (or THOTH_SLACK_CHANNEL)"
        )
    if channel and not _CHANNEL.fullmatch(channel):
        raise ValueError("Slack: --slack-channel must be a channel id or #name")
    if webhook:
        _check_https(webhook, "THOTH_SLACK_WEBHOOK_URL", env)
    if not secret:
        raise ValueError(
            "Slack: the Approve and Deny buttons need Slack's signing secret: set THOTH_SLACK_SIGNING_SECRET "
            "or --slack-signing-secret-file (Slack app settings, Basic Information)"
        )
    return SlackConfig(
        signing_secret=secret.encode("utf-8"),
        webhook_url=webhook,
        bot_token=token,
        channel=channel,
        allowed_users=_users(allowed_users or env.get("THOTH_SLACK_ALLOWED_USERS")),
        response_hosts=_hosts(env.get("THOTH_SLACK_RESPONSE_HOSTS")),
        api_base=(env.get("THOTH_SLACK_API_BASE") or "https://slack.com/api").rstrip("/"),
    )


def _secret(path: str | None, flag: str) -> str | None:
    if path is None:
        return None
    try:
        text = Path(path).read_text(encoding="utf-8").strip()
    except (OSError, UnicodeDecodeError) as exc:
        raise ValueError(
            f"{flag}: cannot read {path}: {getattr(exc, 'strerror', None) or type(exc).__name__}"
        ) from None
    if not text:
        raise ValueError(f"{flag}: {path} is empty")
    return text


def _check_https(url: str, name: str, env: Mapping[str, str]) -> None:
    parsed = urllib.parse.urlsplit(url)
    loopback = (
        parsed.hostname in _hosts(env.get("THOTH_SLACK_RESPONSE_HOSTS")) and parsed.hostname == "127.0.0.1"
    )
    if not parsed.hostname or (parsed.scheme != "https" and not loopback):
        raise ValueError(f"Slack: {name} must be an https:// URL (Slack's incoming webhook)")


def _users(text: str | None) -> frozenset[str] | None:
    if not text:
        return None
    users = frozenset(part.strip() for part in text.split(",") if part.strip())
    bad = [user for user in users if not _USER.fullmatch(user)]
    if bad or not users:
        raise ValueError(
            "Slack: --slack-allowed-users is a comma-separated list of Slack user ids or usernames"
        )
    return users


def _hosts(text: str | None) -> frozenset[str]:
    if not text:
        return DEFAULT_RESPONSE_HOSTS
    return frozenset(part.strip().lower() for part in text.split(",") if part.strip())
