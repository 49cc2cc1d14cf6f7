"""Local decisions build each Call from the agent's configuration once: it must equal what
Call.from_request makes of the body the SDK would have sent (what the enforcer decides)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from thoth._local import BundleSource, LocalEnforcer
from thoth._transport import Transport
from thoth.enforcer_client import EnforcerClient
from thoth.models import ThothConfig
from thoth.policy import Call

URL = "http://127.0.0.1:9"  # never contacted: building a call sends nothing


def enforcer(**options: Any) -> LocalEnforcer:
    fields = {"agent_id": "billing", "approved_scope": ["a", "b"], "tenant_id": "acme", "api_url": URL}
    config = ThothConfig(**(fields | options))
    transport = Transport(URL, None, connect_timeout=1.0, request_timeout=1.0)
    source = BundleSource(
        transport, public_key=None, refresh_seconds=60, max_age_seconds=60, cache_file=None, timeout_seconds=1
    )
    return LocalEnforcer(config, EnforcerClient(config, transport=transport), source)


class Amount:
    def model_dump(self, mode: str) -> dict[str, Any]:
        return {"value": 5, "currency": "EUR"}


@pytest.mark.parametrize(
    "options",
    [
        {},
        {"enforcement": "observe", "environment": "dev", "user_id": "alice"},
        {"enforcement": "Block", "session_intent": "quarterly audit"},
        {"enforcement": "step_up", "approved_scope": []},
    ],
    ids=["defaults", "observe-dev", "block-intent", "empty-scope"],
)
@pytest.mark.parametrize(
    "args",
    [
        None,
        {},
        {"to": "bob@acme.com", "n": 3},
        {"when": dt.date(2026, 12, 4), "amount": Amount(), "tags": ("x",)},
    ],
    ids=["none", "empty", "plain", "objects"],
)
def test_the_local_call_is_the_call_the_enforcer_decides(options: dict[str, Any], args: Any) -> None:
    local = enforcer(**options)
    body = local._remote._body("send_email", "session-1", ["a"], args)
    assert local.call("send_email", args) == Call.from_request(body)
