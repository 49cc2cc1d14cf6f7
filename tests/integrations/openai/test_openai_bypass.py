"""Issue 15, "No way around the check", for OpenAI tool loops: every way the application can answer a
tool call through Thoth's dispatcher is governed, or refused with a clear error. The hosted API is
scripted behind httpx2.MockTransport (streams as server-sent events); decisions come from a real
`thoth serve` on 127.0.0.1 whose policy blocks tools outside the approved scope."""

from __future__ import annotations

import json
from typing import Any

import pytest

pytest.importorskip("openai.types.chat")  # a submodule: never mistake this test directory for the package
pytest.importorskip("httpx2")

import openai
from openai_support import (
    StreamingModel,
    chat_stream,
    chat_text,
    chat_tool_calls,
    response_stream,
    response_text,
)

import thoth
from tests.integrations._shared import (
    REFUSAL_MARK,
    by_call,
    events,
    governed_options,
    make_tracer,
    new_agent_id,
    unreachable_tracer,
)
from thoth.integrations.openai import (
    afunction_call_outputs,
    atool_messages,
    function_call_outputs,
    instrument,
    tool_messages,
)

pytestmark = pytest.mark.integration

EMAIL = json.dumps({"to": "all@acme.com", "subject": "s", "body": "b"})


class Tools:
    """search_docs is in scope, send_email and wipe_index are not; ``ran`` is what really ran."""

    def __init__(self) -> None:
        self.ran: list[str] = []

    def search_docs(self, query: str = "*") -> str:
        self.ran.append(f"search:{query}")
        return f"docs about {query}"

    def send_email(self, to: str, subject: str, body: str) -> str:
        self.ran.append(f"email:{to}")
        return "sent"

    def wipe_index(self) -> str:
        self.ran.append("wipe")
        return "wiped"

    async def asend_email(self, to: str, subject: str, body: str) -> str:
        self.ran.append(f"email:{to}")
        return "sent"

    async def awipe_index(self) -> str:
        self.ran.append("wipe")
        return "wiped"

    def dispatch(self) -> dict[str, Any]:
        return {"search_docs": self.search_docs, "send_email": self.send_email, "wipe_index": self.wipe_index}


def _governed(server: Any, agent_id: str, tools: dict[str, Any], scope: list[str] | None = None) -> Any:
    return thoth.instrument_openai(
        tools, **governed_options(server, agent_id, scope or ["search_docs"], "block")
    )


def _client(model: StreamingModel) -> Any:
    return openai.OpenAI(
        api_key="sk-test", base_url="http://model.test/v1", http_client=model.sync_client(), max_retries=0
    )


def _email_call(call_id: str = "call_email") -> Any:
    return chat_tool_calls(("send_email", EMAIL, call_id))["choices"][0]["message"]


def _assert_blocked(server: Any, agent_id: str, tool: str, call_id: str | None = None) -> None:
    recorded = events(server, agent_id)
    blocks = [e for e in recorded if e[0] == "TOOL_CALL_BLOCK" and e[1] == tool]
    assert blocks, f"no TOOL_CALL_BLOCK for {tool}: {recorded}"
    if call_id is not None:
        assert ("TOOL_CALL_BLOCK", tool, call_id) in recorded
    assert not [e for e in recorded if e[0] == "TOOL_CALL_POST" and e[1] == tool]


# ---- the application's own loop: sync, async, parallel, streaming, Responses -------------------


def test_sync_chat_loop(thoth_server: Any) -> None:
    tools, agent_id = Tools(), new_agent_id("oai")
    governed = _governed(thoth_server, agent_id, tools.dispatch())
    model = StreamingModel(chat_tool_calls(("send_email", EMAIL, "c1")), chat_text("ok"))
    client = _client(model)

    message = client.chat.completions.create(model="gpt-4o", messages=[]).choices[0].message
    [answer] = tool_messages(message, governed)

    assert answer["tool_call_id"] == "c1" and answer["content"].startswith(REFUSAL_MARK)
    assert tools.ran == []
    _assert_blocked(thoth_server, agent_id, "send_email", "c1")


async def test_async_parallel_calls_each_decided_by_call_id(thoth_server: Any) -> None:
    tools, agent_id = Tools(), new_agent_id("oai")
    governed = _governed(
        thoth_server,
        agent_id,
        {"search_docs": tools.search_docs, "send_email": tools.asend_email, "wipe_index": tools.awipe_index},
    )
    message = chat_tool_calls(
        ("send_email", EMAIL, "c_email"),
        ("search_docs", {"query": "sso"}, "c_search"),
        ("wipe_index", {}, "c_wipe"),
    )

    answers = {a["tool_call_id"]: a["content"] for a in await atool_messages(message, governed)}

    assert answers["c_search"] == "docs about sso"
    assert answers["c_email"].startswith(REFUSAL_MARK) and answers["c_wipe"].startswith(REFUSAL_MARK)
    assert tools.ran == ["search:sso"]
    calls = by_call(events(thoth_server, agent_id))
    assert calls["c_email"] == ["TOOL_CALL_PRE", "TOOL_CALL_BLOCK"]
    assert calls["c_wipe"] == ["TOOL_CALL_PRE", "TOOL_CALL_BLOCK"]
    assert calls["c_search"] == ["TOOL_CALL_PRE", "TOOL_CALL_POST"]


def test_streamed_chunks_are_joined_and_governed(thoth_server: Any) -> None:
    tools, agent_id = Tools(), new_agent_id("oai")
    governed = _governed(thoth_server, agent_id, tools.dispatch())
    model = StreamingModel(chat_stream(("send_email", EMAIL, "c1"), ("search_docs", '{"query": "q"}', "c2")))
    client = _client(model)

    chunks = list(client.chat.completions.create(model="gpt-4o", messages=[], stream=True))
    answers = {a["tool_call_id"]: a["content"] for a in tool_messages(chunks, governed)}

    assert answers["c1"].startswith(REFUSAL_MARK) and answers["c2"] == "docs about q"
    assert tools.ran == ["search:q"]
    _assert_blocked(thoth_server, agent_id, "send_email", "c1")


def test_stream_helper_final_completion_is_governed(thoth_server: Any) -> None:
    tools, agent_id = Tools(), new_agent_id("oai")
    governed = _governed(thoth_server, agent_id, tools.dispatch())
    model = StreamingModel(chat_stream(("send_email", EMAIL, "c1")))
    client = _client(model)

    with client.chat.completions.stream(model="gpt-4o", messages=[]) as stream:
        completion = stream.get_final_completion()
    [answer] = tool_messages(completion, governed)

    assert answer["content"].startswith(REFUSAL_MARK)
    assert tools.ran == []
    _assert_blocked(thoth_server, agent_id, "send_email", "c1")


def test_a_stream_object_itself_is_refused_not_answered_with_nothing(thoth_server: Any) -> None:
    tools, agent_id = Tools(), new_agent_id("oai")
    governed = _governed(thoth_server, agent_id, tools.dispatch())
    client = _client(StreamingModel(chat_stream(("send_email", EMAIL, "c1"))))

    stream = client.chat.completions.create(model="gpt-4o", messages=[], stream=True)
    with pytest.raises(thoth.ThothConfigError, match="cannot read tool calls"):
        tool_messages(stream, governed)
    assert tools.ran == []


def test_a_stream_cut_mid_arguments_is_answered_as_an_error(thoth_server: Any) -> None:
    tools, agent_id = Tools(), new_agent_id("oai")
    governed = _governed(thoth_server, agent_id, tools.dispatch())
    client = _client(StreamingModel(chat_stream(("search_docs", '{"query": "secret"}', "c1"), cut=True)))

    chunks = list(client.chat.completions.create(model="gpt-4o", messages=[], stream=True))
    [answer] = tool_messages(chunks, governed)

    assert answer["content"].startswith("Error: the arguments for 'search_docs' are not valid")
    assert tools.ran == []


@pytest.mark.parametrize("mode", ["sync", "async"])
async def test_responses_api_and_its_stream(thoth_server: Any, mode: str) -> None:
    tools, agent_id = Tools(), new_agent_id("oai")
    governed = _governed(thoth_server, agent_id, tools.dispatch())
    spec = ("send_email", json.loads(EMAIL), "c_email")
    model = StreamingModel(response_stream(spec), response_text("ok"))
    client = _client(model)

    streamed = list(client.responses.create(model="gpt-4o", input="go", stream=True))
    outputs = (
        function_call_outputs(streamed, governed)
        if mode == "sync"
        else await afunction_call_outputs(streamed[-1], governed)  # the response.completed event
    )

    assert [o["call_id"] for o in outputs] == ["c_email"]
    assert outputs[0]["output"].startswith(REFUSAL_MARK)
    assert tools.ran == []
    _assert_blocked(thoth_server, agent_id, "send_email", "c_email")


# ---- arguments ----------------------------------------------------------------------------------


@pytest.mark.parametrize("raw", [None, "", "{not json", "[1, 2]"])
def test_missing_or_malformed_arguments_never_run_the_tool(thoth_server: Any, raw: Any) -> None:
    tools, agent_id = Tools(), new_agent_id("oai")
    governed = _governed(thoth_server, agent_id, tools.dispatch())
    message = {"tool_calls": [{"id": "c1", "function": {"name": "search_docs", "arguments": raw}}]}

    [answer] = tool_messages(message, governed)

    assert answer["content"].startswith("Error: the arguments for 'search_docs' are not valid")
    assert tools.ran == []  # never with {} (search_docs would have run with its default)


def test_json_string_arguments_through_the_dispatcher_itself(thoth_server: Any) -> None:
    tools, agent_id = Tools(), new_agent_id("oai")
    governed = thoth.ThothClient(**governed_options(thoth_server, agent_id, ["search_docs"], "block"))
    dispatch = governed.wrap_openai_tools(tools.dispatch())

    assert dispatch["search_docs"]('{"query": "q"}') == "docs about q"
    with pytest.raises(thoth.ThothPolicyViolation):
        dispatch["send_email"](EMAIL)
    assert tools.ran == ["search:q"]
    _assert_blocked(thoth_server, agent_id, "send_email")


# ---- the dispatcher changed after instrument ----------------------------------------------------


def test_a_tool_added_to_the_dict_later_is_refused_not_run(thoth_server: Any) -> None:
    tools, agent_id = Tools(), new_agent_id("oai")
    governed = _governed(thoth_server, agent_id, {"search_docs": tools.search_docs})
    governed["send_email"] = tools.send_email  # a plain function: not governed

    with pytest.raises(thoth.ThothConfigError, match="'send_email' is not governed"):
        tool_messages(_email_call(), governed)
    assert tools.ran == []


def test_a_tool_added_later_is_governed_by_the_loops_tracer(thoth_server: Any) -> None:
    tools, agent_id = Tools(), new_agent_id("oai")
    tracer = make_tracer(thoth_server, agent_id, ["search_docs"], "block")
    dispatch = instrument({"search_docs": tools.search_docs}, tracer)
    dispatch["send_email"] = tools.send_email

    [answer] = tool_messages(_email_call(), dispatch, tracer)

    assert answer["content"].startswith(REFUSAL_MARK)
    assert tools.ran == []
    _assert_blocked(thoth_server, agent_id, "send_email", "call_email")


# ---- one function, two agents; re-instrumenting -------------------------------------------------


def test_one_function_in_two_dispatchers_is_decided_by_the_one_that_answers(thoth_server: Any) -> None:
    tools = Tools()
    strict, lenient = new_agent_id("oai"), new_agent_id("oai")
    blocked = _governed(thoth_server, strict, {"send_email": tools.send_email})
    allowed = _governed(thoth_server, lenient, {"send_email": tools.send_email}, ["send_email"])

    [refused] = tool_messages(_email_call("c_strict"), blocked)
    assert tools.ran == []
    [ran] = tool_messages(_email_call("c_lenient"), allowed)

    assert refused["content"].startswith(REFUSAL_MARK) and ran["content"] == "sent"
    assert tools.ran == ["email:all@acme.com"]
    _assert_blocked(thoth_server, strict, "send_email", "c_strict")
    assert ("TOOL_CALL_POST", "send_email", "c_lenient") in events(thoth_server, lenient)
    assert ("TOOL_CALL_PRE", "send_email", "c_lenient") not in events(thoth_server, strict)


def test_the_loops_tracer_wins_over_the_callables_own(thoth_server: Any) -> None:
    tools = Tools()
    lenient, strict = new_agent_id("oai"), new_agent_id("oai")
    dispatch = _governed(thoth_server, lenient, {"send_email": tools.send_email}, ["send_email"])
    tracer = make_tracer(thoth_server, strict, ["search_docs"], "block")

    [answer] = tool_messages(_email_call(), dispatch, tracer)

    assert answer["content"].startswith(REFUSAL_MARK)
    assert tools.ran == []
    _assert_blocked(thoth_server, strict, "send_email", "call_email")
    assert events(thoth_server, lenient) == []


def test_reinstrumenting_with_another_tracer_takes_effect(thoth_server: Any) -> None:
    tools = Tools()
    first, second = new_agent_id("oai"), new_agent_id("oai")
    dispatch = {"send_email": tools.send_email}
    instrument(dispatch, make_tracer(thoth_server, first, ["send_email"], "block"))
    instrument(dispatch, make_tracer(thoth_server, second, ["search_docs"], "block"))

    [answer] = tool_messages(_email_call(), dispatch)

    assert answer["content"].startswith(REFUSAL_MARK)
    assert tools.ran == []
    _assert_blocked(thoth_server, second, "send_email", "call_email")
    assert events(thoth_server, first) == []


def test_reinstrumenting_with_the_same_tracer_decides_once(thoth_server: Any) -> None:
    tools, agent_id = Tools(), new_agent_id("oai")
    tracer = make_tracer(thoth_server, agent_id, ["search_docs"], "block")
    dispatch = instrument(instrument({"send_email": tools.send_email}, tracer), tracer)

    tool_messages(_email_call(), dispatch)

    assert tools.ran == []
    assert [e[0] for e in events(thoth_server, agent_id)] == ["TOOL_CALL_PRE", "TOOL_CALL_BLOCK"]


def test_the_original_function_is_yours_the_dispatcher_is_governed(thoth_server: Any) -> None:
    tools, agent_id = Tools(), new_agent_id("oai")
    original = tools.send_email
    governed = _governed(thoth_server, agent_id, {"send_email": original})

    assert governed["send_email"] is not original  # a new governed callable: the dict is what is governed
    with pytest.raises(thoth.ThothPolicyViolation):
        governed["send_email"](json.loads(EMAIL))
    assert tools.ran == []
    _assert_blocked(thoth_server, agent_id, "send_email")


def test_an_unreachable_enforcer_fails_closed() -> None:
    tools = Tools()
    tracer = unreachable_tracer(new_agent_id("oai"), ["search_docs"])
    dispatch = instrument({"search_docs": tools.search_docs}, tracer)
    message = chat_tool_calls(("search_docs", {"query": "q"}, "c1"))

    [answer] = tool_messages(message, dispatch)

    assert "failed closed; no policy refused it" in answer["content"]
    assert tools.ran == []
