"""OpenAI tool loops with the real `openai` client (hosted API scripted behind httpx2.MockTransport)
and a real `thoth serve` on 127.0.0.1."""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest

pytest.importorskip("openai.types.chat")  # a submodule: never mistake this test directory for the package
pytest.importorskip("httpx2")

import openai
from openai_support import chat_text, chat_tool_calls, response_function_calls, response_text

import thoth
from tests.integrations._hosted_model import ScriptedModel
from tests.integrations._shared import REFUSAL_MARK, Approver, events, governed_options, make_tracer
from thoth.integrations.openai import (
    afunction_call_outputs,
    atool_messages,
    function_call_outputs,
    tool_messages,
)

pytestmark = pytest.mark.integration

TOOLS = [
    {
        "type": "function",
        "function": {
            "name": "search_docs",
            "parameters": {
                "type": "object",
                "properties": {"query": {"type": "string"}},
                "required": ["query"],
            },
        },
    },
    {
        "type": "function",
        "function": {
            "name": "send_email",
            "parameters": {
                "type": "object",
                "properties": {
                    "to": {"type": "string"},
                    "subject": {"type": "string"},
                    "body": {"type": "string"},
                },
            },
        },
    },
]


class Tools:
    def __init__(self) -> None:
        self.ran: list[str] = []

    def search_docs(self, query: str) -> str:
        self.ran.append(f"search:{query}")
        return f"2 docs about {query}"

    def send_email(self, to: str, subject: str, body: str) -> str:
        self.ran.append(f"email:{to}")
        return "sent"

    async def asearch_docs(self, query: str) -> dict[str, Any]:
        self.ran.append(f"search:{query}")
        return {"hits": 2, "query": query}

    async def asend_email(self, to: str, subject: str, body: str) -> str:
        self.ran.append(f"email:{to}")
        return "sent"


def _agent_id() -> str:
    return f"oai-{uuid.uuid4().hex[:8]}"


def _governed(server: Any, agent_id: str, tools: dict[str, Any], enforcement: str = "block") -> Any:
    return thoth.instrument_openai(tools, **governed_options(server, agent_id, ["search_docs"], enforcement))


def _client(model: ScriptedModel) -> Any:
    return openai.OpenAI(
        api_key="sk-test", base_url="http://model.test/v1", http_client=model.sync_client(), max_retries=0
    )


def _search_and_email() -> dict[str, Any]:
    return chat_tool_calls(
        ("search_docs", {"query": "access control"}, "call_search"),
        ("send_email", {"to": "all@acme.com", "subject": "docs", "body": "..."}, "call_email"),
    )


def _tool_answers(request: dict[str, Any]) -> dict[str, str]:
    return {m["tool_call_id"]: m["content"] for m in request["messages"] if m.get("role") == "tool"}


def _assert_events(server: Any, agent_id: str) -> None:
    recorded = events(server, agent_id)
    assert ("TOOL_CALL_PRE", "search_docs", "call_search") in recorded
    assert ("TOOL_CALL_POST", "search_docs", "call_search") in recorded
    assert ("TOOL_CALL_PRE", "send_email", "call_email") in recorded
    assert ("TOOL_CALL_BLOCK", "send_email", "call_email") in recorded
    assert ("TOOL_CALL_POST", "send_email", "call_email") not in recorded


def test_chat_completions_loop_answers_every_call(thoth_server: Any) -> None:
    tools, agent_id = Tools(), _agent_id()
    governed = _governed(
        thoth_server, agent_id, {"search_docs": tools.search_docs, "send_email": tools.send_email}
    )
    model = ScriptedModel(_search_and_email(), chat_text("Found 2 docs; I may not send email."))
    client = _client(model)

    messages: list[Any] = [{"role": "user", "content": "Find docs about access control and mail them"}]
    while True:
        response = client.chat.completions.create(model="gpt-4o", tools=TOOLS, messages=messages)
        message = response.choices[0].message
        if not message.tool_calls:
            break
        messages.append(message)
        messages += tool_messages(message, governed)

    assert message.content == "Found 2 docs; I may not send email."
    assert tools.ran == ["search:access control"]  # send_email's body never ran
    answers = _tool_answers(model.requests[-1])  # what the model read
    assert answers["call_search"] == "2 docs about access control"
    assert answers["call_email"].startswith(REFUSAL_MARK)
    assert "send_email" in answers["call_email"]
    _assert_events(thoth_server, agent_id)


async def test_async_client_runs_the_turn_concurrently(thoth_server: Any) -> None:
    tools, agent_id = Tools(), _agent_id()
    governed = _governed(
        thoth_server, agent_id, {"search_docs": tools.asearch_docs, "send_email": tools.asend_email}
    )
    model = ScriptedModel(_search_and_email(), chat_text("done"))
    client = openai.AsyncOpenAI(
        api_key="sk-test", base_url="http://model.test/v1", http_client=model.async_client(), max_retries=0
    )

    messages: list[Any] = [{"role": "user", "content": "go"}]
    first = (await client.chat.completions.create(model="gpt-4o", tools=TOOLS, messages=messages)).choices[0]
    messages += [first.message, *await atool_messages(first.message, governed)]
    final = await client.chat.completions.create(model="gpt-4o", tools=TOOLS, messages=messages)

    assert final.choices[0].message.content == "done"
    assert tools.ran == ["search:access control"]
    answers = _tool_answers(model.requests[-1])
    assert json.loads(answers["call_search"]) == {"hits": 2, "query": "access control"}
    assert answers["call_email"].startswith(REFUSAL_MARK)
    _assert_events(thoth_server, agent_id)


def test_step_up_approved_while_the_loop_waits(thoth_server: Any) -> None:
    tools, agent_id = Tools(), _agent_id()
    governed = _governed(thoth_server, agent_id, {"send_email": tools.send_email}, "step_up")
    model = ScriptedModel(
        chat_tool_calls(("send_email", {"to": "cfo@acme.com", "subject": "s", "body": "b"}, "call_email")),
        chat_text("Sent."),
    )
    client = _client(model)

    first = client.chat.completions.create(model="gpt-4o", tools=TOOLS, messages=[]).choices[0].message
    with Approver(thoth_server, agent_id) as approver:
        answers = tool_messages(first, governed)

    assert len(approver.approved) == 1
    assert answers == [{"role": "tool", "tool_call_id": "call_email", "content": "sent"}]
    assert tools.ran == ["email:cfo@acme.com"]
    assert ("TOOL_CALL_POST", "send_email", "call_email") in events(thoth_server, agent_id)


def test_malformed_and_unknown_calls_are_answered_without_running_anything(thoth_server: Any) -> None:
    tools, agent_id = Tools(), _agent_id()
    governed = _governed(thoth_server, agent_id, {"search_docs": tools.search_docs})
    message = chat_tool_calls(("search_docs", "{not json", "c1"), ("rm_rf", {}, "c2"))["choices"][0][
        "message"
    ]

    answers = {m["tool_call_id"]: m["content"] for m in tool_messages(message, governed)}

    assert answers["c1"].startswith("Error: the arguments for 'search_docs' are not valid")
    assert answers["c2"].startswith("Error: unknown tool 'rm_rf'")
    assert tools.ran == []
    assert events(thoth_server, agent_id) == []


def test_raise_mode_raises_the_violation(thoth_server: Any) -> None:
    tools, agent_id = Tools(), _agent_id()
    governed = _governed(
        thoth_server, agent_id, {"search_docs": tools.search_docs, "send_email": tools.send_email}
    )
    message = _search_and_email()["choices"][0]["message"]

    with pytest.raises(thoth.ThothPolicyViolation):
        tool_messages(message, governed, on_block="raise")
    assert "email:all@acme.com" not in tools.ran


def test_ungoverned_functions_are_refused_not_run() -> None:
    tools = Tools()
    message = chat_tool_calls(("search_docs", {"query": "q"}, "c1"))["choices"][0]["message"]
    with pytest.raises(thoth.ThothConfigError, match="not governed"):
        tool_messages(message, {"search_docs": tools.search_docs})
    assert tools.ran == []


@pytest.mark.parametrize("mode", ["sync", "async"])
async def test_responses_api_function_call_outputs(thoth_server: Any, mode: str) -> None:
    tools, agent_id = Tools(), _agent_id()
    governed = _governed(
        thoth_server, agent_id, {"search_docs": tools.search_docs, "send_email": tools.send_email}
    )
    model = ScriptedModel(
        response_function_calls(
            ("search_docs", {"query": "sso"}, "call_search"),
            ("send_email", {"to": "x@y.z", "subject": "s", "body": "b"}, "call_email"),
        ),
        response_text("Found SSO docs."),
    )
    client = _client(model)

    response = client.responses.create(model="gpt-4o", input="Find SSO docs and mail them")
    outputs = (
        function_call_outputs(response, governed)
        if mode == "sync"
        else await afunction_call_outputs(response, governed)
    )
    final = client.responses.create(model="gpt-4o", input=[*response.output, *outputs])

    assert final.output_text == "Found SSO docs."
    assert tools.ran == ["search:sso"]
    sent = {
        i["call_id"]: i["output"]
        for i in model.requests[-1]["input"]
        if i.get("type") == "function_call_output"
    }
    assert sent["call_search"] == "2 docs about sso"
    assert sent["call_email"].startswith(REFUSAL_MARK)
    assert ("TOOL_CALL_BLOCK", "send_email", "call_email") in events(thoth_server, agent_id)


def test_existing_readme_loop_still_works(thoth_server: Any) -> None:
    """The existing SDK README's loop, verbatim but for the local server and scripted model."""
    from thoth import ThothPolicyViolation

    tools, agent_id = Tools(), _agent_id()
    governed = thoth.instrument_openai(
        {"search_docs": tools.search_docs, "send_email": tools.send_email},
        agent_id=agent_id,
        approved_scope=["search_docs"],
        tenant_id=thoth_server.tenant_id,
        user_id="charlie@acme.com",
        enforcement="block",
        api_url=thoth_server.url,
        api_key=thoth_server.api_key,
    )
    model = ScriptedModel(_search_and_email(), chat_text("ok"))
    client = _client(model)
    messages: list[Any] = [{"role": "user", "content": "Find docs about access control"}]

    while True:
        response = client.chat.completions.create(model="gpt-4o", tools=TOOLS, messages=messages)
        msg = response.choices[0].message
        if not msg.tool_calls:
            break
        messages.append(msg)
        for call in msg.tool_calls:
            try:
                result = governed[call.function.name](json.loads(call.function.arguments))
            except ThothPolicyViolation as e:
                result = f"[blocked: {e.reason}]"
            messages.append({"role": "tool", "tool_call_id": call.id, "content": str(result)})

    assert tools.ran == ["search:access control"]
    answers = _tool_answers(model.requests[-1])
    assert answers["call_email"].startswith("[blocked: ")


def test_modify_runs_the_function_with_the_rewritten_arguments(make_thoth_server: Any) -> None:
    server = make_thoth_server(
        "version: 1\nrules:\n  - id: safe-search\n    tools: [search_docs]\n    decision: MODIFY\n"
        "    modify: {set: {query: public}}\n"
    )
    tools = Tools()
    governed = _governed(server, _agent_id(), {"search_docs": tools.search_docs})
    message = chat_tool_calls(("search_docs", {"query": "secret"}, "c1"))["choices"][0]["message"]

    assert tool_messages(message, governed) == [
        {"role": "tool", "tool_call_id": "c1", "content": "2 docs about public"}
    ]
    assert tools.ran == ["search:public"]


def test_instrument_governs_a_dict_in_place(thoth_server: Any) -> None:
    from thoth.integrations.openai import instrument

    tools, agent_id = Tools(), _agent_id()
    tracer = make_tracer(thoth_server, agent_id, ["search_docs"], "block")
    dispatch = {"search_docs": tools.search_docs, "send_email": tools.send_email}

    assert instrument(dispatch, tracer) is dispatch
    answers = tool_messages(_search_and_email()["choices"][0]["message"], dispatch)

    assert tools.ran == ["search:access control"]
    assert answers[1]["content"].startswith(REFUSAL_MARK)
    _assert_events(thoth_server, agent_id)


class _AsyncSearch:
    """An object whose ``__call__`` is a coroutine function: async, though not a coroutine function itself."""

    def __init__(self, tools: Tools) -> None:
        self._tools = tools

    async def __call__(self, query: str) -> str:
        return await self._tools.asend_email(query, "", "")


def test_async_callable_object_in_the_sync_loop_is_answered_as_an_error(thoth_server: Any) -> None:
    tools, agent_id = Tools(), _agent_id()
    governed = _governed(thoth_server, agent_id, {"search_docs": _AsyncSearch(tools)})
    message = chat_tool_calls(("search_docs", {"query": "q"}, "c1"))["choices"][0]["message"]

    [answer] = tool_messages(message, governed)

    assert answer["content"].startswith("Error: TypeError: async tool in a sync loop")
    assert tools.ran == []
    assert ("TOOL_CALL_POST", "search_docs", "c1") in events(thoth_server, agent_id)
