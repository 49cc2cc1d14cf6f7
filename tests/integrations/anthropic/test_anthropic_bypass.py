"""Issue 15, "No way around the check", for Anthropic: every way the application (or the SDK's beta
tool runner) runs a tool through Thoth is governed, or refused with a clear error. The hosted API is
scripted behind httpx2.MockTransport (streams as server-sent events); decisions come from a real
`thoth serve` on 127.0.0.1 whose policy blocks tools outside the approved scope."""

from __future__ import annotations

from typing import Any

import pytest

pytest.importorskip("anthropic.types")  # a submodule: never mistake this test directory for the package
pytest.importorskip("httpx2")

import anthropic
from anthropic.lib.tools import ToolError, beta_async_tool, beta_tool
from anthropic_support import StreamingModel, stream_events, text, tool_uses

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
from thoth.integrations.anthropic import atool_results, instrument, tool_result_message, tool_results

pytestmark = pytest.mark.integration

MODEL = "claude-opus-4-6"


class Tools:
    """search_docs is in scope, delete_record is not; ``ran`` is what really ran."""

    def __init__(self) -> None:
        self.ran: list[str] = []

    def search_docs(self, query: str = "*") -> str:
        self.ran.append(f"search:{query}")
        return f"policy doc for {query}"

    def delete_record(self, record_id: str) -> str:
        self.ran.append(f"delete:{record_id}")
        return "deleted"

    async def adelete_record(self, record_id: str) -> str:
        return self.delete_record(record_id)

    def dispatch(self) -> dict[str, Any]:
        return {"search_docs": self.search_docs, "delete_record": self.delete_record}

    def beta_tools(self) -> list[Any]:
        ran = self

        @beta_tool
        def search_docs(query: str) -> str:
            """Search the docs."""
            return ran.search_docs(query)

        @beta_tool
        def delete_record(record_id: str) -> str:
            """Delete a record."""
            return ran.delete_record(record_id)

        return [search_docs, delete_record]


def _options(server: Any, agent_id: str, scope: list[str] | None = None, **extra: Any) -> dict[str, Any]:
    return governed_options(server, agent_id, scope or ["search_docs"], "block", **extra)


def _client(model: StreamingModel) -> Any:
    return anthropic.Anthropic(
        api_key="sk-ant-test", base_url="http://model.test", http_client=model.sync_client(), max_retries=0
    )


def _search_and_delete() -> dict[str, Any]:
    return tool_uses(
        ("search_docs", {"query": "retention"}, "toolu_search"),
        ("delete_record", {"record_id": "42"}, "toolu_delete"),
    )


def _results_sent(model: StreamingModel) -> dict[str, dict[str, Any]]:
    """The tool_result blocks the model was last sent, by tool_use id."""
    for message in reversed(model.requests[-1]["messages"]):
        if message["role"] == "user" and isinstance(message["content"], list):
            return {b["tool_use_id"]: b for b in message["content"] if b.get("type") == "tool_result"}
    return {}


def _assert_blocked(server: Any, agent_id: str, tool: str, call_id: str | None = None) -> None:
    recorded = events(server, agent_id)
    assert [e for e in recorded if e[0] == "TOOL_CALL_BLOCK" and e[1] == tool], recorded
    if call_id is not None:
        assert ("TOOL_CALL_BLOCK", tool, call_id) in recorded
    assert not [e for e in recorded if e[0] == "TOOL_CALL_POST" and e[1] == tool]


def _assert_runner_refused(tools: Tools, model: StreamingModel) -> None:
    assert tools.ran == ["search:retention"]  # delete_record's body never ran
    sent = _results_sent(model)
    assert sent["toolu_search"]["content"] == "policy doc for retention"
    assert sent["toolu_delete"]["is_error"] is True
    assert sent["toolu_delete"]["content"].startswith(REFUSAL_MARK)


# ---- the application's own loop -----------------------------------------------------------------


def test_sync_messages_loop(thoth_server: Any) -> None:
    tools, agent_id = Tools(), new_agent_id("ant")
    governed = thoth.instrument_anthropic(tools.dispatch(), **_options(thoth_server, agent_id))
    model = StreamingModel(_search_and_delete())

    response = _client(model).messages.create(model=MODEL, max_tokens=64, messages=[])
    results = {b["tool_use_id"]: b for b in tool_result_message(response, governed)["content"]}

    assert results["toolu_delete"]["is_error"] is True
    assert results["toolu_delete"]["content"].startswith(REFUSAL_MARK)
    assert tools.ran == ["search:retention"]
    _assert_blocked(thoth_server, agent_id, "delete_record", "toolu_delete")


async def test_async_parallel_tool_uses_each_decided_by_id(thoth_server: Any) -> None:
    tools, agent_id = Tools(), new_agent_id("ant")
    governed = thoth.instrument_anthropic(
        {"search_docs": tools.search_docs, "delete_record": tools.adelete_record},
        **_options(thoth_server, agent_id),
    )
    response = tool_uses(
        ("delete_record", {"record_id": "1"}, "t1"),
        ("search_docs", {"query": "q"}, "t2"),
        ("delete_record", {"record_id": "2"}, "t3"),
    )

    results = {b["tool_use_id"]: b for b in await atool_results(response, governed)}

    assert results["t1"]["is_error"] and results["t3"]["is_error"] and "is_error" not in results["t2"]
    assert tools.ran == ["search:q"]
    calls = by_call(events(thoth_server, agent_id))
    assert calls["t1"] == calls["t3"] == ["TOOL_CALL_PRE", "TOOL_CALL_BLOCK"]
    assert calls["t2"] == ["TOOL_CALL_PRE", "TOOL_CALL_POST"]


def test_stream_helper_final_message_is_governed(thoth_server: Any) -> None:
    tools, agent_id = Tools(), new_agent_id("ant")
    governed = thoth.instrument_anthropic(tools.dispatch(), **_options(thoth_server, agent_id))
    model = StreamingModel(stream_events(_search_and_delete()))

    with _client(model).messages.stream(model=MODEL, max_tokens=64, messages=[]) as stream:
        message = stream.get_final_message()
    results = {b["tool_use_id"]: b for b in tool_results(message, governed)}

    assert results["toolu_delete"]["content"].startswith(REFUSAL_MARK)
    assert tools.ran == ["search:retention"]
    _assert_blocked(thoth_server, agent_id, "delete_record", "toolu_delete")


def test_raw_stream_events_are_joined_and_governed(thoth_server: Any) -> None:
    tools, agent_id = Tools(), new_agent_id("ant")
    governed = thoth.instrument_anthropic(tools.dispatch(), **_options(thoth_server, agent_id))
    model = StreamingModel(stream_events(_search_and_delete()))

    streamed = list(_client(model).messages.create(model=MODEL, max_tokens=64, messages=[], stream=True))
    results = {b["tool_use_id"]: b for b in tool_results(streamed, governed)}

    assert results["toolu_search"]["content"] == "policy doc for retention"
    assert results["toolu_delete"]["content"].startswith(REFUSAL_MARK)
    assert tools.ran == ["search:retention"]
    _assert_blocked(thoth_server, agent_id, "delete_record", "toolu_delete")


def test_a_stream_cut_inside_a_tool_use_is_answered_as_an_error(thoth_server: Any) -> None:
    tools, agent_id = Tools(), new_agent_id("ant")
    governed = thoth.instrument_anthropic(tools.dispatch(), **_options(thoth_server, agent_id))
    model = StreamingModel(stream_events(tool_uses(("search_docs", {"query": "secret"}, "t1")), cut=True))

    streamed = list(_client(model).messages.create(model=MODEL, max_tokens=64, messages=[], stream=True))
    [result] = tool_results(streamed, governed)

    assert result["is_error"] is True
    assert result["content"].startswith("Error: the arguments for 'search_docs' are not valid")
    assert tools.ran == []


def test_a_stream_object_itself_is_refused_not_answered_with_nothing(thoth_server: Any) -> None:
    tools, agent_id = Tools(), new_agent_id("ant")
    governed = thoth.instrument_anthropic(tools.dispatch(), **_options(thoth_server, agent_id))
    model = StreamingModel(stream_events(_search_and_delete()))

    stream = _client(model).messages.create(model=MODEL, max_tokens=64, messages=[], stream=True)
    with pytest.raises(thoth.ThothConfigError, match="cannot read tool_use blocks"):
        tool_results(stream, governed)
    assert tools.ran == []


@pytest.mark.parametrize("raw", [None, "{not json", ["a list"]])
def test_missing_or_malformed_input_never_runs_the_tool(thoth_server: Any, raw: Any) -> None:
    tools, agent_id = Tools(), new_agent_id("ant")
    governed = thoth.instrument_anthropic(tools.dispatch(), **_options(thoth_server, agent_id))
    response = {"content": [{"type": "tool_use", "id": "t1", "name": "search_docs", "input": raw}]}

    [result] = tool_results(response, governed)

    assert result["is_error"] is True
    assert result["content"].startswith("Error: the arguments for 'search_docs' are not valid")
    assert tools.ran == []  # never with {} (search_docs would have run with its default)


# ---- the dispatcher changed after instrument; one function, two agents ---------------------------


def test_a_tool_added_to_the_dict_later_is_refused_or_governed_by_tracer(thoth_server: Any) -> None:
    tools, agent_id = Tools(), new_agent_id("ant")
    tracer = make_tracer(thoth_server, agent_id, ["search_docs"], "block")
    dispatch = instrument({"search_docs": tools.search_docs}, tracer)
    dispatch["delete_record"] = tools.delete_record  # a plain function: not governed
    response = tool_uses(("delete_record", {"record_id": "9"}, "t1"))

    with pytest.raises(thoth.ThothConfigError, match="'delete_record' is not governed"):
        tool_results(response, dispatch)
    [result] = tool_results(response, dispatch, tracer)

    assert result["content"].startswith(REFUSAL_MARK)
    assert tools.ran == []
    _assert_blocked(thoth_server, agent_id, "delete_record", "t1")


def test_one_function_in_two_dicts_is_decided_by_the_one_that_answers(thoth_server: Any) -> None:
    tools = Tools()
    strict, lenient = new_agent_id("ant"), new_agent_id("ant")
    blocked = thoth.instrument_anthropic(tools.dispatch(), **_options(thoth_server, strict))
    allowed = thoth.instrument_anthropic(
        tools.dispatch(), **_options(thoth_server, lenient, ["delete_record"])
    )

    [refused] = tool_results(tool_uses(("delete_record", {"record_id": "1"}, "t_strict")), blocked)
    assert tools.ran == []
    [ran] = tool_results(tool_uses(("delete_record", {"record_id": "1"}, "t_lenient")), allowed)

    assert refused["is_error"] is True and ran["content"] == "deleted"
    _assert_blocked(thoth_server, strict, "delete_record", "t_strict")
    assert ("TOOL_CALL_POST", "delete_record", "t_lenient") in events(thoth_server, lenient)


def test_reinstrumenting_a_dict_with_another_tracer_takes_effect(thoth_server: Any) -> None:
    tools = Tools()
    first, second = new_agent_id("ant"), new_agent_id("ant")
    dispatch = tools.dispatch()
    instrument(dispatch, make_tracer(thoth_server, first, ["delete_record"], "block"))
    instrument(dispatch, make_tracer(thoth_server, second, ["search_docs"], "block"))

    [result] = tool_results(tool_uses(("delete_record", {"record_id": "1"}, "t1")), dispatch)

    assert result["is_error"] is True
    assert tools.ran == []
    _assert_blocked(thoth_server, second, "delete_record", "t1")
    assert events(thoth_server, first) == []


# ---- the beta tool runner -------------------------------------------------------------------------


def test_beta_tool_runner(thoth_server: Any) -> None:
    tools, agent_id = Tools(), new_agent_id("ant")
    beta_tools = tools.beta_tools()
    assert thoth.instrument(beta_tools, **_options(thoth_server, agent_id)) is beta_tools
    model = StreamingModel(_search_and_delete(), text("done"))

    runner = _client(model).beta.messages.tool_runner(
        model=MODEL, max_tokens=64, messages=[], tools=beta_tools
    )
    final = runner.until_done()

    assert final.content[0].text == "done"
    _assert_runner_refused(tools, model)
    _assert_blocked(thoth_server, agent_id, "delete_record")


async def test_async_beta_tool_runner(thoth_server: Any) -> None:
    tools, agent_id = Tools(), new_agent_id("ant")

    @beta_async_tool
    async def delete_record(record_id: str) -> str:
        """Delete a record."""
        return await tools.adelete_record(record_id)

    @beta_async_tool
    async def search_docs(query: str) -> str:
        """Search the docs."""
        return tools.search_docs(query)

    thoth.instrument([search_docs, delete_record], **_options(thoth_server, agent_id))
    model = StreamingModel(_search_and_delete(), text("done"))
    client = anthropic.AsyncAnthropic(
        api_key="sk-ant-test", base_url="http://model.test", http_client=model.async_client(), max_retries=0
    )

    runner = client.beta.messages.tool_runner(
        model=MODEL, max_tokens=64, messages=[], tools=[search_docs, delete_record]
    )
    await runner.until_done()

    _assert_runner_refused(tools, model)
    _assert_blocked(thoth_server, agent_id, "delete_record")


@pytest.mark.parametrize("eagerly", [False, True])
def test_streaming_beta_tool_runner(thoth_server: Any, eagerly: bool) -> None:
    tools, agent_id = Tools(), new_agent_id("ant")
    beta_tools = thoth.instrument(tools.beta_tools(), **_options(thoth_server, agent_id))
    model = StreamingModel(stream_events(_search_and_delete()), stream_events(text("done")))

    runner = _client(model).beta.messages.tool_runner(
        model=MODEL, max_tokens=64, messages=[], tools=beta_tools, stream=True, run_tools_eagerly=eagerly
    )
    for stream in runner:
        for _event in stream:
            pass

    _assert_runner_refused(tools, model)
    _assert_blocked(thoth_server, agent_id, "delete_record")


def test_a_tool_added_to_the_runner_later_is_governed(thoth_server: Any) -> None:
    tools, agent_id = Tools(), new_agent_id("ant")
    search, delete = tools.beta_tools()
    thoth.instrument([search, delete], **_options(thoth_server, agent_id))
    model = StreamingModel(_search_and_delete(), text("done"))

    runner = _client(model).beta.messages.tool_runner(model=MODEL, max_tokens=64, messages=[], tools=[search])
    runner.add_tools(delete)  # governed in place, so governed wherever it is added
    runner.until_done()

    _assert_runner_refused(tools, model)
    _assert_blocked(thoth_server, agent_id, "delete_record")


def test_the_beta_tool_object_you_hold_is_governed(thoth_server: Any) -> None:
    tools, agent_id = Tools(), new_agent_id("ant")
    _search, delete = tools.beta_tools()
    instrument(delete, make_tracer(thoth_server, agent_id, ["search_docs"], "block"))

    with pytest.raises(ToolError) as info:
        delete.call({"record_id": "1"})  # what every runner calls
    assert isinstance(info.value.__cause__, thoth.ThothPolicyViolation)
    assert str(info.value).startswith(REFUSAL_MARK)
    with pytest.raises(thoth.ThothPolicyViolation):
        delete(record_id="2")  # the decorated function itself
    assert tools.ran == []
    _assert_blocked(thoth_server, agent_id, "delete_record")


def test_a_beta_tool_shared_by_two_agents_is_refused_at_instrument(thoth_server: Any) -> None:
    tools = Tools()
    first, second = new_agent_id("ant"), new_agent_id("ant")
    beta_tools = tools.beta_tools()
    tracer = make_tracer(thoth_server, first, ["search_docs"], "block")
    instrument(beta_tools, tracer)
    assert instrument(beta_tools, tracer) is beta_tools  # the same tracer again: idempotent

    with pytest.raises(thoth.ThothConfigError, match="already governed by agent"):
        thoth.instrument(beta_tools, **_options(thoth_server, second, ["delete_record"]))

    with pytest.raises(ToolError):  # still decided under the first agent, once
        beta_tools[1].call({"record_id": "1"})
    assert tools.ran == []
    assert [e[0] for e in events(thoth_server, first)] == ["TOOL_CALL_PRE", "TOOL_CALL_BLOCK"]
    assert events(thoth_server, second) == []


def test_toolsets_and_other_objects_are_refused_at_instrument(thoth_server: Any) -> None:
    tracer = make_tracer(thoth_server, new_agent_id("ant"), ["search_docs"], "block")
    with pytest.raises(thoth.ThothConfigError, match="cannot govern"):
        instrument([{"name": "web_search", "type": "web_search_20250305"}], tracer)


def test_an_unreachable_enforcer_fails_closed_in_the_runner() -> None:
    tools = Tools()
    search, _delete = tools.beta_tools()
    instrument(search, unreachable_tracer(new_agent_id("ant"), ["search_docs"]))
    model = StreamingModel(tool_uses(("search_docs", {"query": "q"}, "t1")), text("done"))

    _client(model).beta.messages.tool_runner(
        model=MODEL, max_tokens=64, messages=[], tools=[search]
    ).until_done()

    sent = _results_sent(model)["t1"]
    assert sent["is_error"] is True and "failed closed; no policy refused it" in sent["content"]
    assert tools.ran == []
