"""LangGraph: no way around the check. Every public way of running a governed graph or tool, driven
by a scripted model against a real `thoth serve` on 127.0.0.1: each blocked call leaves the tool body
unrun and a TOOL_CALL_BLOCK on the enforcer."""

from __future__ import annotations

import uuid
import warnings
from typing import Any

import pytest

pytest.importorskip("langgraph.prebuilt")

from langchain_core.messages import AIMessage
from langgraph.graph import END, START, MessagesState, StateGraph
from langgraph.prebuilt import ToolNode, tools_condition
from langgraph.types import Send
from test_langgraph_integration import Tools

import thoth
from tests.integrations._langchain_model import calls, scripted, tool_messages_seen
from tests.integrations._shared import REFUSAL_MARK, events, governed_options

with warnings.catch_warnings():  # create_react_agent is deprecated in favour of langchain's create_agent
    warnings.simplefilter("ignore")
    from langgraph.prebuilt import create_react_agent

pytestmark = [
    pytest.mark.integration,
    pytest.mark.filterwarnings("ignore:create_react_agent has been moved"),
]

SLACK = {"channel": "#analytics", "message": "Q4: 42"}


def _agent_id() -> str:
    return f"lgb-{uuid.uuid4().hex[:8]}"


def _options(server: Any, agent_id: str, scope: tuple[str, ...] = ("search_database",)) -> Any:
    return governed_options(server, agent_id, list(scope), "block", on_block="return")


def _post_then_answer(*call_ids: str) -> list[AIMessage]:
    specs = [("send_slack_message", SLACK, call_id) for call_id in call_ids or ("call_slack",)]
    return [calls(*specs), AIMessage("done")]


def _blocked(server: Any, agent_id: str, call_id: str = "call_slack") -> bool:
    return ("TOOL_CALL_BLOCK", "send_slack_message", call_id) in events(server, agent_id)


def _own_graph(model: Any, tool_node: Any) -> Any:
    def call_model(state: MessagesState) -> dict[str, Any]:
        return {"messages": [model.invoke(state["messages"])]}

    builder = StateGraph(MessagesState)
    builder.add_node("model", call_model)
    builder.add_node("tools", tool_node)
    builder.add_edge(START, "model")
    builder.add_conditional_edges("model", tools_condition)
    builder.add_edge("tools", "model")
    return builder


def _send_graph(model: Any, tool_node: Any) -> Any:
    """Each tool call goes to the ToolNode in its own Send task (create_agent's fan-out)."""

    def call_model(state: MessagesState) -> dict[str, Any]:
        return {"messages": [model.invoke(state["messages"])]}

    def route(state: MessagesState) -> Any:
        last = state["messages"][-1]
        if not last.tool_calls:
            return END
        return [
            Send("tools", {"__type": "tool_call_with_context", "tool_call": call, "state": state})
            for call in last.tool_calls
        ]

    builder = StateGraph(MessagesState)
    builder.add_node("model", call_model)
    builder.add_node("tools", tool_node)
    builder.add_edge(START, "model")
    builder.add_conditional_edges("model", route, ["tools", END])
    builder.add_edge("tools", "model")
    return builder.compile()


async def _run(graph: Any, way: str) -> None:
    request = {"messages": [("user", "post Q4 to #analytics")]}
    if way == "invoke":
        graph.invoke(request)
    elif way == "ainvoke":
        await graph.ainvoke(request)
    elif way == "stream":
        list(graph.stream(request))
    elif way == "astream":
        _ = [chunk async for chunk in graph.astream(request)]
    elif way == "stream_updates":
        list(graph.stream(request, stream_mode="updates"))
    elif way == "astream_events":
        _ = [event async for event in graph.astream_events(request)]
    elif way == "batch":
        graph.batch([request])
    elif way == "abatch":
        await graph.abatch([request])
    else:
        raise AssertionError(way)


WAYS = ["invoke", "ainvoke", "stream", "astream", "stream_updates", "astream_events", "batch", "abatch"]


@pytest.mark.parametrize("way", WAYS)
@pytest.mark.parametrize("shape", ["react_agent", "own_graph"])
async def test_every_entry_point_of_an_instrumented_graph(thoth_server: Any, shape: str, way: str) -> None:
    tools, model, agent_id = Tools(), scripted(*_post_then_answer()), _agent_id()
    graph = (
        create_react_agent(model, tools.all)
        if shape == "react_agent"
        else _own_graph(model, ToolNode(tools.all)).compile()
    )
    thoth.instrument(graph, **_options(thoth_server, agent_id))

    await _run(graph, way)

    assert not tools.posted
    assert tool_messages_seen(model)["call_slack"].status == "error"
    assert _blocked(thoth_server, agent_id)


@pytest.mark.parametrize("make_copy", ["copy", "with_config"])
async def test_graph_copies_stay_governed(thoth_server: Any, make_copy: str) -> None:
    tools, agent_id = Tools(), _agent_id()
    graph = create_react_agent(scripted(*_post_then_answer()), tools.all)
    thoth.instrument(graph, **_options(thoth_server, agent_id))
    clone = graph.copy() if make_copy == "copy" else graph.with_config(recursion_limit=10)

    await _run(clone, "ainvoke")

    assert not tools.posted
    assert _blocked(thoth_server, agent_id)


@pytest.mark.parametrize("nesting", ["subgraph_node", "subgraph_in_a_function"])
async def test_tool_nodes_of_subgraphs_are_governed(thoth_server: Any, nesting: str) -> None:
    tools, model, agent_id = Tools(), scripted(*_post_then_answer()), _agent_id()
    inner = _own_graph(model, ToolNode(tools.all)).compile()

    def agent(state: MessagesState) -> Any:
        return inner.invoke(state)

    outer = StateGraph(MessagesState)
    outer.add_node("agent", inner if nesting == "subgraph_node" else agent)
    outer.add_edge(START, "agent")
    outer.add_edge("agent", END)
    graph = outer.compile()
    thoth.instrument(graph, **_options(thoth_server, agent_id))

    await _run(graph, "invoke")

    assert not tools.posted
    assert _blocked(thoth_server, agent_id)


@pytest.mark.parametrize("mode", ["invoke", "ainvoke"])
async def test_send_fan_out_and_parallel_calls_are_each_governed(thoth_server: Any, mode: str) -> None:
    tools, agent_id = Tools(), _agent_id()
    model = scripted(
        calls(
            ("search_database", {"query": "Q4"}, "call_search"),
            ("send_slack_message", SLACK, "call_slack_1"),
            ("send_slack_message", {**SLACK, "channel": "#general"}, "call_slack_2"),
        ),
        AIMessage("done"),
    )
    graph = _send_graph(model, ToolNode(tools.all))
    thoth.instrument(graph, **_options(thoth_server, agent_id))

    await _run(graph, mode)

    assert tools.ran == ["search:Q4"]
    assert _blocked(thoth_server, agent_id, "call_slack_1")
    assert _blocked(thoth_server, agent_id, "call_slack_2")


@pytest.mark.parametrize("mode", ["invoke", "ainvoke"])
async def test_the_tool_objects_the_user_holds_are_governed(thoth_server: Any, mode: str) -> None:
    tools, agent_id = Tools(), _agent_id()
    thoth.instrument(
        create_react_agent(scripted(AIMessage("hi")), tools.all), **_options(thoth_server, agent_id)
    )

    call = {"name": "send_slack_message", "args": SLACK, "id": "call_slack", "type": "tool_call"}
    slack = tools.send_slack_message
    message = slack.invoke(call) if mode == "invoke" else await slack.ainvoke(call)

    assert message.status == "error"
    assert REFUSAL_MARK in str(slack.func(**SLACK))
    assert not tools.posted
    assert _blocked(thoth_server, agent_id)


def test_an_uninstrumented_graph_over_governed_tools_is_governed(thoth_server: Any) -> None:
    tools, model, agent_id = Tools(), scripted(*_post_then_answer()), _agent_id()
    thoth.instrument(tools.all, **_options(thoth_server, agent_id))

    _own_graph(model, ToolNode(tools.all)).compile().invoke({"messages": [("user", "post")]})

    assert not tools.posted
    assert tool_messages_seen(model)["call_slack"].status == "error"
    assert _blocked(thoth_server, agent_id)


def test_a_tool_added_to_the_tool_node_later_is_governed(thoth_server: Any) -> None:
    tools, model, agent_id = Tools(), scripted(*_post_then_answer()), _agent_id()
    node = ToolNode([tools.search_database])
    graph = _own_graph(model, node).compile()
    thoth.instrument(graph, **_options(thoth_server, agent_id))
    node.tools_by_name["send_slack_message"] = tools.send_slack_message

    graph.invoke({"messages": [("user", "post")]})

    assert not tools.posted
    assert _blocked(thoth_server, agent_id)
    assert REFUSAL_MARK in str(tools.send_slack_message.invoke(SLACK))  # the late object too


@pytest.mark.parametrize("mode", ["invoke", "ainvoke"])
async def test_a_tool_shared_by_two_graphs_is_decided_under_the_one_that_runs_it(
    thoth_server: Any, mode: str
) -> None:
    tools = Tools()
    strict_id, lenient_id = _agent_id(), _agent_id()
    strict = create_react_agent(scripted(*_post_then_answer()), tools.all)
    lenient = create_react_agent(scripted(*_post_then_answer()), tools.all)
    thoth.instrument(strict, **_options(thoth_server, strict_id))
    thoth.instrument(lenient, **_options(thoth_server, lenient_id, ("search_database", "send_slack_message")))

    await _run(strict, mode)
    assert not tools.posted
    await _run(lenient, mode)
    assert tools.ran == ["slack:#analytics"]

    assert _blocked(thoth_server, strict_id)
    lenient_events = events(thoth_server, lenient_id)
    assert ("TOOL_CALL_POST", "send_slack_message", "call_slack") in lenient_events
    assert [e for e in lenient_events if e[0] == "TOOL_CALL_PRE"] == [
        ("TOOL_CALL_PRE", "send_slack_message", "call_slack")
    ]  # decided once, by the graph that ran it


def test_one_tool_node_in_two_compiled_graphs_cannot_carry_two_settings(thoth_server: Any) -> None:
    tools, first_id = Tools(), _agent_id()
    builder = _own_graph(scripted(*_post_then_answer()), ToolNode(tools.all))
    first, second = builder.compile(), builder.compile()
    thoth.instrument(first, **_options(thoth_server, first_id))
    thoth.instrument(second, **_options(thoth_server, first_id))  # the same settings: fine

    with pytest.raises(thoth.ThothConfigError, match="already governed for agent"):
        thoth.instrument(second, **_options(thoth_server, _agent_id(), ("send_slack_message",)))

    first.invoke({"messages": [("user", "post")]})
    assert not tools.posted
    assert _blocked(thoth_server, first_id)


def test_re_instrumenting_a_graph_with_new_settings_takes_effect(thoth_server: Any) -> None:
    tools, first_id, second_id = Tools(), _agent_id(), _agent_id()
    graph = create_react_agent(scripted(*_post_then_answer()), tools.all)
    thoth.instrument(graph, **_options(thoth_server, first_id, ("search_database", "send_slack_message")))
    thoth.instrument(graph, **_options(thoth_server, second_id))

    graph.invoke({"messages": [("user", "post")]})
    assert REFUSAL_MARK in str(tools.send_slack_message.invoke(SLACK))  # direct calls: new settings too

    assert not tools.posted
    assert _blocked(thoth_server, second_id)
    assert events(thoth_server, first_id) == []
