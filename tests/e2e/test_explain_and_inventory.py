"""``violation.explain()`` and the tool inventory ``instrument()`` publishes, against a real `thoth serve`."""

from __future__ import annotations

import asyncio
import json
import logging
import pickle
import socket
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

import thoth
from tests.conftest import ThothServer
from thoth import ThothError, ThothPolicyViolation
from thoth._runtime import runtime

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
POLICY = (ROOT / "examples" / "policy.yaml").read_text(encoding="utf-8")
SCOPE = ["read_invoice", "delete_customer", "send_email"]


def read_invoice(invoice_id: str, include_lines: bool = False) -> str:
    """Read one invoice by its id."""
    return f"invoice {invoice_id}"


def delete_customer(customer_id: str, api_token: str = "tok-never-leaves-the-process") -> str:  # noqa: S107
    """Delete a customer record."""
    return f"deleted {customer_id}"


class Agent:
    def __init__(self, *tools: Callable[..., Any]) -> None:
        self.tools = list(tools)


@pytest.fixture
def server(make_thoth_server: Callable[..., ThothServer]) -> ThothServer:
    return make_thoth_server(POLICY)


def instrumented(server: ThothServer, agent: Any, **options: Any) -> tuple[Any, str]:
    agent_id = f"explain-{uuid.uuid4().hex[:8]}"
    governed = thoth.instrument(
        agent,
        agent_id=agent_id,
        approved_scope=SCOPE,
        tenant_id=server.tenant_id,
        enforcement="block",
        api_url=server.url,
        api_key=server.api_key,
        session_id=f"explain-{uuid.uuid4()}",
        **options,
    )
    return governed, agent_id


def recorded(server: ThothServer, agent_id: str) -> dict[str, dict[str, Any]]:
    assert runtime().background.wait_idle(10.0)
    with server.client() as client:
        page = client.get("/v1/tool-inventory", params={"agent_id": agent_id})
        page.raise_for_status()
    return {tool["name"]: tool for tool in page.json()["items"]}


def closed_port_url() -> str:
    """A loopback URL nothing listens on."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{sock.getsockname()[1]}"


def refused(agent: Agent, **call: Any) -> ThothPolicyViolation:
    with pytest.raises(ThothPolicyViolation) as caught:
        agent.tools[1](**call)
    return caught.value


# ---- explain -------------------------------------------------------------------------------
def test_a_blocked_call_explains_itself_from_the_stored_decision(server: ThothServer) -> None:
    agent, _ = instrumented(server, Agent(read_invoice, delete_customer), tool_inventory=False)
    violation = refused(agent, customer_id="c-1")
    assert violation.matched_rule_ids == ("no-deletes",)

    explanation = violation.explain()

    assert explanation.source == "stored"  # the server read the decision it recorded
    assert explanation.violation_id == violation.violation_id
    assert (explanation.tool_name, explanation.decision) == ("delete_customer", "BLOCK")
    assert explanation.matched_rule_ids == ("no-deletes",)
    assert "no-deletes" in explanation.why and "deleting customer data is never automated" in explanation.why
    assert explanation.what_happened == "The call to delete_customer was blocked."
    assert explanation.severity == "high" and explanation.approvers == ()  # a BLOCK has no hold to approve
    text = str(explanation)
    assert text.splitlines()[0] == explanation.what_happened and f"Why: {explanation.why}" in text


def test_aexplain_asks_without_blocking_the_loop(server: ThothServer) -> None:
    agent, _ = instrumented(server, Agent(read_invoice, delete_customer), tool_inventory=False)
    violation = refused(agent, customer_id="c-2")
    explanation = asyncio.run(violation.aexplain())
    assert (explanation.source, explanation.matched_rule_ids) == ("stored", ("no-deletes",))


def test_a_refusal_no_policy_decided_is_explained_without_asking(
    server: ThothServer, caplog: pytest.LogCaptureFixture
) -> None:
    closed = closed_port_url()
    agent = thoth.instrument(
        Agent(read_invoice, delete_customer),
        agent_id="explain-down",
        approved_scope=SCOPE,
        tenant_id=server.tenant_id,
        enforcement="block",
        api_url=closed,
        api_key=server.api_key,
        max_retries=0,
        tool_inventory=False,
    )
    with caplog.at_level(logging.WARNING, logger="thoth"):
        violation = refused(agent, customer_id="c-3")
    assert violation.failed_closed
    explanation = violation.explain()
    assert explanation.source == "sdk" and explanation.reason_code == "enforcer_unreachable"
    assert "could not get a decision" in explanation.why and "api_url" in explanation.what_to_do_next


def test_an_unpickled_violation_says_there_is_no_enforcer_to_ask(server: ThothServer) -> None:
    agent, _ = instrumented(server, Agent(read_invoice, delete_customer), tool_inventory=False)
    violation = refused(agent, customer_id="c-4")
    copy = pickle.loads(pickle.dumps(violation))
    assert copy.matched_rule_ids == ("no-deletes",) and copy.violation_id == violation.violation_id
    with pytest.raises(ThothError, match="no enforcer to ask"):
        copy.explain()


def test_an_enforcer_that_refuses_to_explain_raises_a_thoth_error(server: ThothServer) -> None:
    agent, _ = instrumented(server, Agent(read_invoice, delete_customer), tool_inventory=False)
    violation = refused(agent, customer_id="c-5")
    server.stop()  # the enforcer is gone by the time a person asks
    with pytest.raises(ThothError, match="cannot explain the decision") as caught:
        violation.explain()
    assert server.api_key not in str(caught.value)


# ---- the tool inventory --------------------------------------------------------------------
def test_instrument_publishes_names_descriptions_and_schemas_without_defaults(server: ThothServer) -> None:
    _, agent_id = instrumented(server, Agent(read_invoice, delete_customer))
    tools = recorded(server, agent_id)

    assert set(tools) == {"read_invoice", "delete_customer"}
    invoice = tools["read_invoice"]
    assert invoice["description"] == "Read one invoice by its id."
    assert invoice["source"] == "thoth-python-sdk"
    assert invoice["input_schema"]["properties"]["invoice_id"]["type"] == "string"
    assert invoice["input_schema"]["properties"]["include_lines"]["type"] == "boolean"
    assert invoice["input_schema"]["required"] == ["invoice_id"]
    deleting = tools["delete_customer"]["input_schema"]
    assert set(deleting["properties"]) == {"customer_id", "api_token"}
    assert "tok-never-leaves-the-process" not in json.dumps(tools)
    assert thoth.delivery_stats()["tool_inventories"]["done"] >= 1


def test_the_dict_helpers_publish_too(server: ThothServer) -> None:
    agent_id = f"explain-{uuid.uuid4().hex[:8]}"
    thoth.instrument_openai(
        {"read_invoice": read_invoice},
        agent_id=agent_id,
        approved_scope=SCOPE,
        tenant_id=server.tenant_id,
        api_url=server.url,
        api_key=server.api_key,
    )
    assert list(recorded(server, agent_id)) == ["read_invoice"]


def test_the_inventory_is_opt_out_by_config_and_by_environment(
    server: ThothServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    before = thoth.delivery_stats()["tool_inventories"]["queued"]
    _, by_config = instrumented(server, Agent(read_invoice, delete_customer), tool_inventory=False)
    monkeypatch.setenv("THOTH_TOOL_INVENTORY", "off")
    _, by_env = instrumented(server, Agent(read_invoice, delete_customer))
    assert recorded(server, by_config) == {} and recorded(server, by_env) == {}
    assert thoth.delivery_stats()["tool_inventories"]["queued"] == before


def test_a_misspelt_inventory_switch_fails_at_start(
    server: ThothServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("THOTH_TOOL_INVENTORY", "of")
    with pytest.raises(thoth.ThothConfigError, match="THOTH_TOOL_INVENTORY must be on or off"):
        instrumented(server, Agent(read_invoice, delete_customer))


def test_a_refused_inventory_is_logged_and_counted_and_the_agent_still_runs(
    make_thoth_server: Callable[..., ThothServer], caplog: pytest.LogCaptureFixture
) -> None:
    other_key = "thoth_other_" + uuid.uuid4().hex  # a key of another tenant: the inventory gets 403
    server = make_thoth_server(POLICY, extra_args=["--api-key", f"other-tenant:{other_key}"])
    failed_before = thoth.delivery_stats()["tool_inventories"]["failed"]
    with caplog.at_level(logging.WARNING, logger="thoth.inventory"):
        agent = thoth.instrument(
            Agent(read_invoice, delete_customer),
            agent_id="explain-refused",
            approved_scope=SCOPE,
            tenant_id=server.tenant_id,
            enforcement="observe",
            api_url=server.url,
            api_key=other_key,
            observe_shadow_checks=False,
        )
        assert runtime().background.wait_idle(10.0)
    assert thoth.delivery_stats()["tool_inventories"]["failed"] == failed_before + 1
    assert "did not record the tool inventory of explain-refused: HTTP 403" in caplog.text
    assert other_key not in caplog.text
    assert agent.tools[0](invoice_id="i-1") == "invoice i-1"


def test_an_unreachable_enforcer_is_a_counted_failure_not_an_error_at_start() -> None:
    closed = closed_port_url()
    failed_before = thoth.delivery_stats()["tool_inventories"]["failed"]
    thoth.instrument(
        Agent(read_invoice),
        agent_id="explain-nowhere",
        approved_scope=SCOPE,
        tenant_id="acme-corp",
        api_url=closed,
        api_key="k",
    )
    assert runtime().background.wait_idle(10.0)
    assert thoth.delivery_stats()["tool_inventories"]["failed"] == failed_before + 1
    with pytest.raises(httpx.ConnectError):  # the same port really refuses connections
        httpx.get(closed, timeout=2)
