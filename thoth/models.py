"""Configuration, and the wire enums under the names the public API has always used.

``EnforcementMode``, ``DecisionType``, ``EventType`` and ``SourceType`` are the
contract's own enums (generated from ``openapi/thoth.yaml``, see :mod:`thoth._wire`),
re-exported here: there is one definition of each.
"""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Callable
from typing import Any, Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, field_validator

from thoth._wire import DecisionType, EnforcementMode, EventType, SourceType, parse_enforcement
from thoth.errors import ThothConfigError

__all__ = ["DecisionType", "EnforcementMode", "EventType", "SourceType", "ThothConfig"]


class ThothConfig(BaseModel):
    """Everything one governed agent needs to know.

    The first nine fields are those of aten-thoth 0.1.x, with the same defaults.
    The rest tune transport, events and refusals; their defaults are safe.
    ``api_key`` never appears in ``repr()``.
    """

    model_config = ConfigDict(extra="forbid", arbitrary_types_allowed=True)

    agent_id: str
    approved_scope: list[str]
    tenant_id: str
    user_id: str = "system"
    enforcement: EnforcementMode = EnforcementMode.PROGRESSIVE
    api_key: str | None = Field(default=None, repr=False)
    api_url: str | None = None
    step_up_timeout_minutes: float = Field(default=15, gt=0)
    step_up_poll_interval_seconds: float = Field(default=5, gt=0)
    step_up_unreachable_grace_seconds: float = Field(default=60, gt=0)
    """How long a pending hold keeps polling an enforcer it cannot reach before the call fails closed
    with ``enforcer_unreachable`` (the hold may still be pending there)."""
    session_intent: str | None = None
    environment: str = "prod"
    enforcement_trace_id: str | None = None

    on_block: Literal["raise", "return"] = "raise"
    """``raise`` ThothPolicyViolation (default), or ``return`` a refusal string the model can read."""
    decision_timeout_seconds: float = Field(default=10.0, gt=0)
    """Deadline for one policy decision, retries included (not the human step-up wait)."""
    request_timeout_seconds: float = Field(default=5.0, gt=0)
    connect_timeout_seconds: float = Field(default=2.0, gt=0)
    max_retries: int = Field(default=2, ge=0, le=10)
    """Retries of transient enforcer failures (reset connection, 502/503/504, 429 with Retry-After)."""
    observe_shadow_checks: bool = True
    """In ``observe``, ask the enforcer in the background (never on the call's path) so that it
    records what it would have decided: the shadow decisions to read before enforcing."""
    tool_inventory: bool = True
    """Publish the agent's tool names, descriptions and input schemas to the enforcer's tool
    inventory when it is instrumented (in the background, never delaying the start; schemas
    leave without default and example values). ``THOTH_TOOL_INVENTORY=off`` turns it off too."""
    session_history_limit: int = Field(default=50, ge=1, le=10_000)
    """How many of the session's latest tool names travel as ``session_tool_calls`` (keeps each call O(1))."""
    allow_insecure_http: bool = False
    """Allow plain http:// to a host that is not loopback (the key would travel in clear)."""

    event_batch_size: int = Field(default=10, ge=1, le=1000)
    event_buffer_max_events: int = Field(default=10_000, ge=1)
    event_buffer_max_bytes: int = Field(default=16 * 1024 * 1024, ge=1024)
    event_content: Literal["redacted", "none"] = "redacted"
    """``redacted``: arguments and results, redacted and truncated; ``none``: send no content at all."""
    max_content_chars: int = Field(default=4096, ge=64, le=65536)
    redactor: Callable[[Any], Any] | None = Field(default=None, repr=False, exclude=True)
    """Optional hook applied to arguments and results before the built-in redaction."""

    decision_mode: Literal["remote", "local"] = "remote"
    """``remote``: ask the enforcer for every call. ``local``: decide ALLOW, BLOCK and MODIFY in
    this process from the enforcer's policy bundle (STEP_UP and DEFER still go to the enforcer,
    where holds live). ``THOTH_DECISION_MODE`` overrides it. See the README's "Local decisions"."""
    bundle_public_key: str | None = Field(default=None, repr=False)
    """Local mode: the Ed25519 public key (PEM text, or the path of a PEM file) that must have
    signed the bundle; with it, an unsigned or wrongly signed bundle is refused."""
    bundle_refresh_seconds: float = Field(default=30.0, gt=0)
    """Local mode: how often the bundle is checked for a new policy (a 304 costs one request)."""
    bundle_max_age_seconds: float = Field(default=3600.0, gt=0)
    """Local mode: how long the last good bundle keeps deciding while the enforcer cannot be
    reached; after that, calls fail closed with ``bundle_stale``."""
    bundle_cache_dir: str | None = None
    """Local mode: where the last good bundle is kept for the next start (default
    ``THOTH_BUNDLE_CACHE_DIR``, else ``~/.cache/thoth/bundles``; ``""`` keeps none)."""

    otel: bool = False
    """One OpenTelemetry span per governed tool call (``thoth-sdk[otel]``), nested under the
    framework's current span. ``THOTH_OTEL=on``/``off`` overrides it. Off, a call pays three
    ``is None`` checks and opentelemetry is never imported."""
    otel_tracer_provider: Any = Field(default=None, repr=False, exclude=True)
    """The OpenTelemetry ``TracerProvider`` the spans go to (default: the global one)."""

    @field_validator("enforcement", mode="before")
    @classmethod
    def _enforcement(cls, value: Any) -> EnforcementMode:
        return parse_enforcement(value)  # "Block", " block " and EnforcementMode.BLOCK are one mode

    @field_validator("agent_id", "tenant_id", "user_id", "environment")
    @classmethod
    def _not_blank(cls, value: str) -> str:
        if not value or not value.strip():
            raise ValueError("must be a non-empty string")
        return value

    @field_validator("approved_scope")
    @classmethod
    def _scope_names(cls, value: list[str]) -> list[str]:
        if any(not name.strip() for name in value):
            raise ValueError("tool names in approved_scope must be non-empty strings")
        return value

    @field_validator("api_url")
    @classmethod
    def _check_url_shape(cls, value: str | None) -> str | None:
        if value is not None and value.strip():
            _check_url(value, allow_insecure_http=True)  # transport security is checked on use
        return value

    @property
    def resolved_api_url(self) -> str:
        """The base URL for every path: ``THOTH_API_URL`` overrides ``api_url``."""
        url = (os.environ.get("THOTH_API_URL") or self.api_url or "").strip()
        if not url:
            raise ThothConfigError(
                "Thoth API URL is required: pass api_url=... or set THOTH_API_URL "
                "(for a local enforcer: http://127.0.0.1:8787)"
            )
        return _check_url(url, allow_insecure_http=self.allow_insecure_http)

    @property
    def publishes_tool_inventory(self) -> bool:
        """``tool_inventory``, unless ``THOTH_TOOL_INVENTORY`` says ``off`` (or ``0``, ``false``, ``no``)."""
        value = os.environ.get("THOTH_TOOL_INVENTORY", "").strip().lower()
        if not value:
            return self.tool_inventory
        if value in _ON or value in _OFF:
            return self.tool_inventory and value in _ON
        raise ThothConfigError(f"THOTH_TOOL_INVENTORY must be on or off, not {value[:32]!r}")

    @property
    def resolved_decision_mode(self) -> Literal["remote", "local"]:
        """``decision_mode``, unless ``THOTH_DECISION_MODE`` says otherwise."""
        value = os.environ.get("THOTH_DECISION_MODE", "").strip().lower()
        if not value:
            return self.decision_mode
        if value == "remote":
            return "remote"
        if value == "local":
            return "local"
        raise ThothConfigError(f"THOTH_DECISION_MODE must be remote or local, not {value[:32]!r}")

    @property
    def resolved_otel(self) -> bool:
        """``otel``, unless ``THOTH_OTEL`` says ``on`` or ``off`` (or ``1``/``0``, ``true``/``false``)."""
        value = os.environ.get("THOTH_OTEL", "").strip().lower()
        if not value:
            return self.otel
        if value in _ON or value in _OFF:
            return value in _ON
        raise ThothConfigError(f"THOTH_OTEL must be on or off, not {value[:32]!r}")

    @property
    def resolved_api_key(self) -> str | None:
        """``api_key``, else ``THOTH_API_KEY``, else None (a local ``--insecure-dev`` server)."""
        return self.api_key or os.environ.get("THOTH_API_KEY") or None


_ON = frozenset({"on", "1", "true", "yes"})
_OFF = frozenset({"off", "0", "false", "no"})
_LOOPBACK_NAMES = {"localhost", "localhost.localdomain"}


def is_loopback(host: str) -> bool:
    """A loopback address or name (localhost, *.localhost, 127.0.0.0/8, ::1)."""
    if host in _LOOPBACK_NAMES or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _check_url(url: str, *, allow_insecure_http: bool) -> str:
    parts = urlsplit(url.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ThothConfigError(
            f"Thoth API URL {url!r} is not an http(s) URL: use e.g. https://enforce.example.com "
            "or http://127.0.0.1:8787"
        )
    if parts.username or parts.password:
        raise ThothConfigError("Thoth API URL must not carry credentials: pass api_key or set THOTH_API_KEY")
    if parts.scheme == "http" and not allow_insecure_http and not is_loopback(parts.hostname):
        raise ThothConfigError(
            f"Thoth API URL uses plain http to a non-loopback host ({parts.hostname}): the API key "
            "would travel unencrypted. Use https://, or pass allow_insecure_http=True if you accept that."
        )
    return url.strip().rstrip("/")
