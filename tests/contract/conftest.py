from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
import respx

import thoth
import thoth.testing
from tests._contract import BASE_URL, ContractAPI
from thoth._instrument import build_tracer, make_config
from thoth._runtime import runtime
from thoth.tracer import Tracer

API_KEY = "thoth_test_contractkey_0123456789"


def reset_sdk_globals() -> None:
    """Each test gets fresh pools and senders (they are process-wide by design)."""
    runtime().background.wait_idle(2.0)
    thoth.testing.reset(timeout=1.0)


@pytest.fixture
def api() -> Iterator[ContractAPI]:
    reset_sdk_globals()
    with respx.mock(assert_all_called=False, assert_all_mocked=True) as router:
        contract = ContractAPI(router)
        yield contract
        thoth.flush(timeout=2.0)
        reset_sdk_globals()
    assert contract.violations == [], "\n".join(contract.violations)


@pytest.fixture
def make_tracer(monkeypatch: pytest.MonkeyPatch) -> Callable[..., Tracer]:
    monkeypatch.delenv("THOTH_API_URL", raising=False)
    monkeypatch.delenv("THOTH_API_KEY", raising=False)

    def make(**overrides: Any) -> Tracer:
        options: dict[str, Any] = {
            "agent_id": "contract-agent",
            "approved_scope": ["read_file", "search"],
            "tenant_id": "acme-corp",
            "user_id": "alice@acme.com",
            "enforcement": "block",
            "api_key": API_KEY,
            "api_url": BASE_URL,
            "step_up_poll_interval_seconds": 0.01,
            "max_retries": 2,
        }
        session_id = overrides.pop("session_id", None)
        options.update(overrides)
        return build_tracer(make_config(**options), session_id)

    return make
