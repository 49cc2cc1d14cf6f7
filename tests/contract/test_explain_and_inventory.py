"""``violation.explain()`` and the tool inventory on the wire: requests per the spec, answers strict."""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest

import thoth
from tests._contract import BASE_URL, EXPLANATION, ContractAPI, Reply, error
from thoth import ThothError, ThothPolicyViolation
from thoth._runtime import runtime
from thoth.tracer import Tracer

from .conftest import API_KEY


def blocked(api: ContractAPI, make_tracer: Callable[..., Tracer]) -> ThothPolicyViolation:
    api.on_enforce(
        Reply(
            json={
                "decision": "BLOCK",
                "reason": "deleting is never automated",
                "decision_reason_code": "POLICY_BLOCK",
                "violation_id": "vio_1",
                "matched_rule_ids": ["no-deletes"],
            }
        )
    )
    with pytest.raises(ThothPolicyViolation) as caught:
        make_tracer(session_id="s-explain").authorize("delete_everything", {"path": "/"})
    return caught.value


def test_explain_sends_the_decision_and_the_agent_s_identity(
    api: ContractAPI, make_tracer: Callable[..., Tracer]
) -> None:
    explanation = blocked(api, make_tracer).explain()
    (request,) = api.calls("/v1/explain")
    body = json.loads(request.content)
    assert body == {
        "agent_id": "contract-agent",
        "tenant_id": "acme-corp",
        "user_id": "alice@acme.com",
        "approved_scope": ["read_file", "search"],
        "session_id": "s-explain",
        "enforcement_mode": "block",
        "tool_name": "delete_everything",
        "decision": "BLOCK",
        "decision_reason_code": "POLICY_BLOCK",
        "reason": "deleting is never automated",
        "violation_id": "vio_1",
        "matched_rule_ids": ["no-deletes"],
    }
    assert request.headers["x-api-key"] == API_KEY
    assert explanation.why == EXPLANATION["why_it_was_blocked"]
    assert (explanation.policy_version, explanation.source) == ("sha256:abc", "stored")


@pytest.mark.parametrize(
    ("reply", "message"),
    [
        (Reply(json={"what_happened": "x"}, conforms=False), "the answer has no why_it_was_blocked"),
        (Reply(content=b"<html>", conforms=False), "the body is not JSON"),
        (Reply(json=["not", "an", "object"], conforms=False), "not an object"),
        (error(403, "forbidden", "this key may not act for that tenant"), "403"),
    ],
    ids=["missing-field", "not-json", "array", "forbidden"],
)
def test_an_answer_that_is_no_explanation_raises_and_says_why(
    api: ContractAPI, make_tracer: Callable[..., Tracer], reply: Reply, message: str
) -> None:
    violation = blocked(api, make_tracer)
    api.on_explain(reply)
    with pytest.raises(ThothError, match="cannot explain the decision") as caught:
        violation.explain()
    assert message in str(caught.value) and API_KEY not in str(caught.value)


def test_instrument_publishes_the_inventory_per_the_spec(api: ContractAPI) -> None:
    def search(query: str, limit: int = 10) -> list[str]:
        """Search the index."""
        return []

    thoth.instrument(
        [search],
        agent_id="contract-agent",
        approved_scope=["search"],
        tenant_id="acme-corp",
        api_url=BASE_URL,
        api_key=API_KEY,
    )
    assert runtime().background.wait_idle(5.0)
    (request,) = api.calls("/acme-corp/thoth/tool-inventory")
    body = json.loads(request.content)
    assert body["agent_id"] == "contract-agent" and body["source"] == "thoth-python-sdk"
    assert [tool["name"] for tool in body["tools"]] == ["search"]
    assert set(body["tools"][0]["input_schema"]["properties"]) == {"query", "limit"}


def test_an_agent_with_no_tools_to_read_sends_no_inventory(api: ContractAPI) -> None:
    class Bare:
        tools: list[object] = []

    thoth.instrument(
        Bare(),
        agent_id="contract-agent",
        approved_scope=[],
        tenant_id="acme-corp",
        api_url=BASE_URL,
        api_key=API_KEY,
    )
    assert runtime().background.wait_idle(5.0)
    assert api.calls("/acme-corp/thoth/tool-inventory") == []
