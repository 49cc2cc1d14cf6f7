"""How a server is set up: store URL, policy, keys, limits."""

from __future__ import annotations

import hashlib
import os
import urllib.parse
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any, Final

import attrs

from thoth._signing import SigningKeyError
from thoth.policy import Policy, PolicyError, builtin_policy, load_policy
from thoth.receipts import ReceiptSigner
from thoth.server._limiter import THRESHOLD
from thoth.server.auth import KeySpec, check_names
from thoth.server.slack.config import SlackConfig, read_slack_config
from thoth.server.store import SQLITE_SYNCHRONOUS

DEFAULT_PORT: Final = 8787
BUILTIN_POLICY_VERSION: Final = "builtin"
DEFAULT_DB_URL: Final = "sqlite:///thoth.db"
MAX_BODY_BYTES: Final = 4 * 1024 * 1024
MAX_BATCH_EVENTS: Final = 1000
AUTH_FAILURE_LIMIT: Final = THRESHOLD


@attrs.frozen
class ServerConfig:
    db_url: str = DEFAULT_DB_URL
    policy: Policy = attrs.field(factory=builtin_policy)
    api_keys: tuple[KeySpec, ...] = ()
    admin_keys: tuple[KeySpec, ...] = ()
    insecure_dev: bool = False
    webhook_url: str | None = attrs.field(default=None, repr=False)  # Slack webhook URLs are secrets
    max_body_bytes: int = MAX_BODY_BYTES
    max_batch_events: int = MAX_BATCH_EVENTS
    session_cache_size: int = 100_000
    hold_retry_after_seconds: int = 1
    migrate: bool = False  # upgrade a schema that is behind instead of refusing to start
    sqlite_synchronous: str = "normal"  # "full": a commit also survives a power loss
    db_pool_size: int = 8  # PostgreSQL connections for reads (the writer keeps one more)
    store_timeout_seconds: float = 4.0  # a write that takes longer answers 503 store_unavailable
    policy_version: str = BUILTIN_POLICY_VERSION  # first 16 hex of the SHA-256 of the policy's text
    policy_path: str | None = None  # where the policy was read from (SIGHUP reads it again)
    receipt_signer: ReceiptSigner | None = None  # signs a receipt for every decision; repr: key id only
    bundle_signer: ReceiptSigner | None = None  # signs the policy bundle; repr: key id only
    redact_events: bool = True  # secrets in stored events replaced (thoth.server.redaction)
    # different keys a client may have refused in a minute before it waits (_limiter); 0: no limit
    auth_failure_limit: int = AUTH_FAILURE_LIMIT
    # the address people reach this server at (https://thoth.acme.internal): approval_url is built on it
    public_url: str | None = None
    # new holds posted to Slack with Approve / Deny buttons (POST /integrations/slack/actions)
    slack: SlackConfig | None = None
    # OpenTelemetry spans and metrics (thoth.server.telemetry); the providers: the global ones
    otel: bool = False
    otel_tracer_provider: Any = attrs.field(default=None, repr=False)
    otel_meter_provider: Any = attrs.field(default=None, repr=False)

    def __attrs_post_init__(self) -> None:
        if self.sqlite_synchronous not in SQLITE_SYNCHRONOUS:
            raise ValueError(
                f"--sqlite-synchronous must be one of {', '.join(SQLITE_SYNCHRONOUS)}, "
                f"not {self.sqlite_synchronous!r}"
            )
        if self.auth_failure_limit < 0:
            raise ValueError(
                f"--auth-failure-limit must be 0 (no limit) or more, not {self.auth_failure_limit}"
            )
        if self.db_pool_size < 1:
            raise ValueError(f"--db-pool-size must be at least 1, not {self.db_pool_size}")
        check_names((*self.api_keys, *self.admin_keys))
        if not (self.api_keys or self.admin_keys or self.insecure_dev):
            raise ValueError(
                "no API key: give --api-key (or THOTH_SERVER_API_KEYS), or --insecure-dev for local trials"
            )


def read_public_url(text: str | None) -> str | None:
    """``--public-url``: an http(s) address with a host and nothing after the path, kept without
    its trailing slash. Anything else fails at start: a link an approver cannot open is worse
    than no link."""
    if text is None:
        return None
    parsed = urllib.parse.urlsplit(text.strip())
    if parsed.scheme not in ("http", "https") or not parsed.hostname or parsed.query or parsed.fragment:
        raise ValueError(
            "--public-url must be the http:// or https:// address people open this server at, "
            "with a host and no query or fragment (e.g. https://thoth.example.com)"
        )
    return urllib.parse.urlunsplit((parsed.scheme, parsed.netloc, parsed.path.rstrip("/"), "", ""))


def keys_from(values: Iterable[str] | None, env_value: str | None) -> tuple[KeySpec, ...]:
    """Keys from flags and from a comma-separated environment variable."""
    texts = [v for v in (values or ()) if v.strip()]
    if env_value:
        texts.extend(part for part in env_value.split(",") if part.strip())
    return tuple(KeySpec.parse(text) for text in texts)


def build_config(
    *,
    db_url: str | None = None,
    policy_path: str | None = None,
    api_keys: Iterable[str] | None = None,
    admin_keys: Iterable[str] | None = None,
    insecure_dev: bool = False,
    webhook_url: str | None = None,
    migrate: bool = False,
    sqlite_synchronous: str | None = None,
    db_pool_size: int | None = None,
    receipt_signing_key: str | None = None,
    bundle_signing_key: str | None = None,
    redact_events: bool | None = None,
    auth_failure_limit: int | None = None,
    public_url: str | None = None,
    slack: Mapping[str, str | None] | None = None,
    otel: bool | None = None,
    environ: Mapping[str, str] | None = None,
) -> ServerConfig:
    """The config from command-line values, falling back to THOTH_SERVER_* variables.

    Raises PolicyError for a bad policy and ValueError for bad keys (API or signing keys).
    ``slack``: the ``--slack-*`` flags (``thoth.server.slack.config.read_slack_config``).
    """
    env = os.environ if environ is None else environ
    policy, policy_version = (
        read_policy(policy_path) if policy_path else (builtin_policy(), BUILTIN_POLICY_VERSION)
    )
    return ServerConfig(
        public_url=read_public_url(public_url or env.get("THOTH_SERVER_PUBLIC_URL") or None),
        slack=read_slack_config(env, **(slack or {})),
        policy_version=policy_version,
        policy_path=policy_path,
        db_url=db_url or env.get("THOTH_SERVER_DB_URL") or DEFAULT_DB_URL,
        policy=policy,
        api_keys=keys_from(api_keys, env.get("THOTH_SERVER_API_KEYS")),
        admin_keys=keys_from(admin_keys, env.get("THOTH_SERVER_ADMIN_KEY")),
        insecure_dev=insecure_dev,
        webhook_url=webhook_url or env.get("THOTH_SERVER_WEBHOOK_URL") or None,
        migrate=migrate,
        sqlite_synchronous=(
            sqlite_synchronous or env.get("THOTH_SERVER_SQLITE_SYNCHRONOUS") or "normal"
        ).lower(),
        db_pool_size=db_pool_size
        if db_pool_size is not None
        else _int_env(env, "THOTH_SERVER_DB_POOL_SIZE", 8),
        receipt_signer=read_signer(
            receipt_signing_key or env.get("THOTH_SERVER_RECEIPT_SIGNING_KEY") or None,
            "--receipt-signing-key",
        ),
        bundle_signer=read_signer(
            bundle_signing_key or env.get("THOTH_SERVER_BUNDLE_SIGNING_KEY") or None, "--bundle-signing-key"
        ),
        redact_events=redact_events
        if redact_events is not None
        else _bool_env(env, "THOTH_SERVER_REDACT_EVENTS", default=True),
        auth_failure_limit=auth_failure_limit
        if auth_failure_limit is not None
        else _int_env(env, "THOTH_SERVER_AUTH_FAILURE_LIMIT", AUTH_FAILURE_LIMIT),
        otel=otel if otel else _bool_env(env, "THOTH_SERVER_OTEL", default=False),
    )


def read_signer(path: str | None, flag: str) -> ReceiptSigner | None:
    """The signer of a PKCS8 PEM Ed25519 key file, or None without a path. A key that cannot
    sign stops the start: a server meant to sign must not answer unsigned."""
    if path is None:
        return None
    try:
        return ReceiptSigner.from_file(path)
    except SigningKeyError as exc:
        raise ValueError(f"{flag}: {exc} (make a key with: thoth receipt keygen --out PATH)") from None


def read_policy(path: str | Path) -> tuple[Policy, str]:
    """The policy in a file, and its version: the first 16 hex of the SHA-256 of its bytes."""
    path = Path(path)
    try:
        data = path.read_bytes()
        text = data.decode("utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise PolicyError(f"cannot read policy: {getattr(exc, 'strerror', None) or exc}", str(path)) from None
    return load_policy(text, str(path)), hashlib.sha256(data).hexdigest()[:16]


def _int_env(env: Mapping[str, str], name: str, default: int) -> int:
    text = env.get(name, "").strip()
    if not text:
        return default
    try:
        return int(text)
    except ValueError:
        raise ValueError(f"{name} must be a whole number, not {text!r}") from None


_TRUE: Final = frozenset({"1", "true", "yes", "on"})
_FALSE: Final = frozenset({"0", "false", "no", "off"})


def _bool_env(env: Mapping[str, str], name: str, *, default: bool) -> bool:
    text = env.get(name, "").strip().lower()
    if not text:
        return default
    if text not in _TRUE | _FALSE:
        raise ValueError(f"{name} must be true or false (1/0, yes/no, on/off), not {text!r}")
    return text in _TRUE
