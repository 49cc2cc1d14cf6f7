"""Anthropic tool-use loops with the real `anthropic` client (hosted API scripted behind
httpx2.MockTransport) and a real `thoth serve` on 127.0.0.1."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

pytest.importorskip("anthropic.types")  # a submodule: never mistake this test directory for the package
pytest.importorskip("httpx2")

import anthropic
from anthropic_support import text, tool_uses

import thoth
from tests.integrations._hosted_model import ScriptedModel
from tests.integrations._shared import REFUSAL_MARK, Approver, events, governed_options
from thoth.integrations.anthropic import atool_result_message, tool_result_message, tool_results

pytestmark = pytest.mark.integration

TOOLS = [
    {
        "name": "search_docs",
        "description": "Search docs",
        "input_schema": {"type": "object", "properties": {"query": {"type": "string"}}},
    },
    {
        "name": "delete_record",
        "description": "Delete a record",
        "input_schema": {"type": "object", "properties": {"record_id": {"type": "string"}}},
    },
]


class Tools:
    def __init__(self) -> None:
        self.ran: list[str] = []

    def search_docs(self, query: str) -> str:
        self.ran.append(f"search:{query}")
        return f"policy doc for {query}"

    def delete_record(self, record_id: str) -> str:
        self.ran.append(f"delete:{record_id}")
        return "deleted"

    async def asearch_docs(self, query: str) -> str:
        return self.search_docs(query)

    async def adelete_record(self, record_id: str) -> str:
        return self.delete_record(record_id)


def _agent_id() -> str:
    return f"ant-{uuid.uuid4().hex[:8]}"


def _governed(server: Any, agent_id: str, fns: dict[str, Any], enforcement: str = "block") -> Any:
    return thoth.instrument_anthropic(fns, **governed_options(server, agent_id, ["search_docs"], enforcement))


def _search_and_delete() -> dict[str, Any]:
    return tool_uses(
        ("search_docs", {"query": "retention"}, "toolu_search"),
        ("delete_record", {"record_id": "42"}, "toolu_delete"),
    )


def _results_seen(request: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The tool_result blocks of the last user message the model was sent, by tool_use id."""
    return {b["tool_use_id"]: b for b in request["messages"][-1]["content"] if b.get("type") == "tool_result"}


def _assert_answered(tools: Tools, model: ScriptedModel) -> None:
    assert tools.ran == ["search:retention"]  # delete_record's body never ran
    seen = _results_seen(model.requests[-1])
    assert seen["toolu_search"]["content"] == "policy doc for retention"
    assert "is_error" not in seen["toolu_search"]
    assert seen["toolu_delete"]["is_error"] is True
    assert seen["toolu_delete"]["content"].startswith(REFUSAL_MARK)


def _assert_events(server: Any, agent_id: str) -> None:
    recorded = events(server, agent_id)
    assert ("TOOL_CALL_POST", "search_docs", "toolu_search") in recorded
    assert ("TOOL_CALL_PRE", "delete_record", "toolu_delete") in recorded
    assert ("TOOL_CALL_BLOCK", "delete_record", "toolu_delete") in recorded
    assert ("TOOL_CALL_POST", "delete_record", "toolu_delete") not in recorded


def test_messages_loop_answers_every_tool_use(thoth_server: Any) -> None:
    tools, agent_id = Tools(), _agent_id()
    governed = _governed(
        thoth_server, agent_id, {"search_docs": tools.search_docs, "delete_record": tools.delete_record}
    )
    model = ScriptedModel(_search_and_delete(), text("Our retention policy is 90 days."))
    client = anthropic.Anthropic(
        api_key="sk-ant-test", base_url="http://model.test", http_client=model.sync_client(), max_retries=0
    )

    messages: list[Any] = [{"role": "user", "content": "Find our data retention policy."}]
    while True:
        response = client.messages.create(
            model="claude-opus-4-6", max_tokens=1024, tools=TOOLS, messages=messages
        )
        if response.stop_reason == "end_turn":
            break
        messages.append({"role": "assistant", "content": response.content})
        messages.append(tool_result_message(response, governed))

    assert response.content[0].text == "Our retention policy is 90 days."
    _assert_answered(tools, model)
    _assert_events(thoth_server, agent_id)


async def test_async_client_and_async_tools(thoth_server: Any) -> None:
    tools, agent_id = Tools(), _agent_id()
    governed = _governed(
        thoth_server, agent_id, {"search_docs": tools.asearch_docs, "delete_record": tools.adelete_record}
    )
    model = ScriptedModel(_search_and_delete(), text("done"))
    client = anthropic.AsyncAnthropic(
        api_key="sk-ant-test", base_url="http://model.test", http_client=model.async_client(), max_retries=0
    )

    messages: list[Any] = [{"role": "user", "content": "go"}]
    first = await client.messages.create(
        model="claude-opus-4-6", max_tokens=256, tools=TOOLS, messages=messages
    )
    messages += [{"role": "assistant", "content": first.content}, await atool_result_message(first, governed)]
    final = await client.messages.create(
        model="claude-opus-4-6", max_tokens=256, tools=TOOLS, messages=messages
    )

    assert final.stop_reason == "end_turn"
    _assert_answered(tools, model)
    _assert_events(thoth_server, agent_id)


def test_step_up_approved_while_the_loop_waits(thoth_server: Any) -> None:
    tools, agent_id = Tools(), _agent_id()
    governed = _governed(thoth_server, agent_id, {"delete_record": tools.delete_record}, "step_up")
    response = tool_uses(("delete_record", {"record_id": "7"}, "toolu_delete"))

    with Approver(thoth_server, agent_id) as approver:
        results = tool_results(response, governed)

    assert len(approver.approved) == 1
    assert results == [{"type": "tool_result", "tool_use_id": "toolu_delete", "content": "deleted"}]
    assert tools.ran == ["delete:7"]
    assert ("TOOL_CALL_POST", "delete_record", "toolu_delete") in events(thoth_server, agent_id)


def test_tool_errors_are_reported_as_errors(thoth_server: Any) -> None:
    agent_id = _agent_id()

    def search_docs(query: str) -> str:
        raise LookupError(f"no index for {query}")

    governed = _governed(thoth_server, agent_id, {"search_docs": search_docs})
    [result] = tool_results(tool_uses(("search_docs", {"query": "q"}, "toolu_1")), governed)

    assert result["is_error"] is True
    assert result["content"] == "Error: LookupError: no index for q"
    assert ("TOOL_CALL_POST", "search_docs", "toolu_1") in events(thoth_server, agent_id)


def test_existing_readme_loop_still_works(thoth_server: Any) -> None:
    """The existing SDK README's loop, verbatim but for the local server and scripted model."""
    from thoth import ThothPolicyViolation

    tools, agent_id = Tools(), _agent_id()
    governed = thoth.instrument_anthropic(
        {"search_docs": tools.search_docs, "delete_record": tools.delete_record},
        agent_id=agent_id,
        approved_scope=["search_docs"],
        tenant_id=thoth_server.tenant_id,
        user_id="alice@acme.com",
        enforcement="block",
        api_url=thoth_server.url,
        api_key=thoth_server.api_key,
    )
    model = ScriptedModel(_search_and_delete(), text("ok"))
    client = anthropic.Anthropic(
        api_key="sk-ant-test", base_url="http://model.test", http_client=model.sync_client(), max_retries=0
    )
    messages: list[Any] = [{"role": "user", "content": "Find our data retention policy."}]

    while True:
        response = client.messages.create(
            model="claude-opus-4-6", max_tokens=1024, tools=TOOLS, messages=messages
        )
        if response.stop_reason == "end_turn":
            break
        tool_results_ = []
        for block in response.content:
            if block.type == "tool_use":
                try:
                    result = governed[block.name](block.input)
                except ThothPolicyViolation as e:
                    result = f"[blocked: {e.reason}]"
                tool_results_.append({"type": "tool_result", "tool_use_id": block.id, "content": str(result)})
        messages += [
            {"role": "assistant", "content": response.content},
            {"role": "user", "content": tool_results_},
        ]

    assert tools.ran == ["search:retention"]
    assert _results_seen(model.requests[-1])["toolu_delete"]["content"].startswith("[blocked: ")


def test_modify_runs_the_function_with_the_rewritten_arguments(make_thoth_server: Any) -> None:
    server = make_thoth_server(
        "version: 1\nrules:\n  - id: safe-search\n    tools: [search_docs]\n    decision: MODIFY\n"
        "    modify: {set: {query: public}}\n"
    )
    tools = Tools()
    governed = _governed(server, _agent_id(), {"search_docs": tools.search_docs})

    [result] = tool_results(tool_uses(("search_docs", {"query": "secret"}, "toolu_1")), governed)

    assert result == {"type": "tool_result", "tool_use_id": "toolu_1", "content": "policy doc for public"}
    assert tools.ran == ["search:public"]
