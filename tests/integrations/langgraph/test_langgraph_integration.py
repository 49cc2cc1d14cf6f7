"""LangGraph: ToolNode governance through instrument() on compiled graphs and ToolNodes, and the
existing SDK's low-level Tracer recipe, driven by a scripted model against a real `thoth serve`."""

from __future__ import annotations

import uuid
import warnings
from typing import Any

import pytest

pytest.importorskip("langgraph.prebuilt")

from langchain_core.messages import AIMessage
from langchain_core.tools import StructuredTool, tool
from langgraph.graph import END, START, MessagesState, StateGraph
from langgraph.prebuilt import ToolNode, tools_condition

import thoth
from tests.integrations._langchain_model import calls, scripted, tool_messages_seen
from tests.integrations._shared import REFUSAL_MARK, Approver, events, governed_options, make_tracer
from thoth.integrations.langgraph import governed_tool_node

with warnings.catch_warnings():  # create_react_agent is deprecated in favour of langchain's create_agent
    warnings.simplefilter("ignore")
    from langgraph.prebuilt import create_react_agent

pytestmark = [
    pytest.mark.integration,
    pytest.mark.filterwarnings("ignore:create_react_agent has been moved"),
]


class Tools:
    """search_database is in scope, send_slack_message is not; bodies record their runs."""

    def __init__(self) -> None:
        self.ran: list[str] = []

        @tool
        def search_database(query: str) -> str:
            """Search the internal knowledge base."""
            self.ran.append(f"search:{query}")
            return f"Q4 revenue for {query}: 42"

        def send_slack_message(channel: str, message: str) -> str:
            """Post a message to Slack."""
            self.ran.append(f"slack:{channel}")
            return "posted"

        async def asend_slack_message(channel: str, message: str) -> str:
            self.ran.append(f"slack:{channel}")
            return "posted"

        self.search_database = search_database
        self.send_slack_message = StructuredTool.from_function(
            func=send_slack_message, coroutine=asend_slack_message
        )

    @property
    def all(self) -> list[Any]:
        return [self.search_database, self.send_slack_message]

    @property
    def posted(self) -> bool:
        return any(entry.startswith("slack:") for entry in self.ran)


def _search_and_post() -> list[AIMessage]:
    return [
        calls(
            ("search_database", {"query": "Q4"}, "call_search"),
            ("send_slack_message", {"channel": "#analytics", "message": "Q4: 42"}, "call_slack"),
        ),
        AIMessage("Posted what I could."),
    ]


def _agent_id() -> str:
    return f"lg-{uuid.uuid4().hex[:8]}"


def _options(server: Any, agent_id: str, enforcement: str, **extra: Any) -> dict[str, Any]:
    return governed_options(server, agent_id, ["search_database"], enforcement, **extra)


def _own_graph(model: Any, tool_node: Any) -> Any:
    """A hand-built ReAct graph around ``tool_node``."""

    def call_model(state: MessagesState) -> dict[str, Any]:
        return {"messages": [model.invoke(state["messages"])]}

    builder = StateGraph(MessagesState)
    builder.add_node("model", call_model)
    builder.add_node("tools", tool_node)
    builder.add_edge(START, "model")
    builder.add_conditional_edges("model", tools_condition)
    builder.add_edge("tools", "model")
    return builder.compile()


async def _run(graph: Any, mode: str, text: str = "Search for Q4 data and post it to #analytics") -> Any:
    request = {"messages": [("user", text)]}
    return graph.invoke(request) if mode == "sync" else await graph.ainvoke(request)


def _assert_allowed_and_refused(tools: Tools, model: Any, out: Any) -> None:
    assert out["messages"][-1].content == "Posted what I could."  # the loop went on after the refusal
    assert tools.ran == ["search:Q4"]  # the slack body never ran
    seen = tool_messages_seen(model)
    assert seen["call_search"].status == "success"
    assert "42" in str(seen["call_search"].content)
    assert seen["call_slack"].status == "error"
    assert str(seen["call_slack"].content).startswith(REFUSAL_MARK)


@pytest.mark.parametrize("mode", ["sync", "async"])
async def test_instrument_prebuilt_agent(thoth_server: Any, mode: str) -> None:
    tools, model, agent_id = Tools(), scripted(*_search_and_post()), _agent_id()
    agent = create_react_agent(model, tools.all)

    assert thoth.instrument(agent, **_options(thoth_server, agent_id, "block", on_block="return")) is agent
    out = await _run(agent, mode)

    _assert_allowed_and_refused(tools, model, out)
    recorded = events(thoth_server, agent_id)
    assert ("TOOL_CALL_PRE", "search_database", "call_search") in recorded
    assert ("TOOL_CALL_POST", "search_database", "call_search") in recorded
    assert ("TOOL_CALL_PRE", "send_slack_message", "call_slack") in recorded
    assert ("TOOL_CALL_BLOCK", "send_slack_message", "call_slack") in recorded
    assert ("TOOL_CALL_POST", "send_slack_message", "call_slack") not in recorded


@pytest.mark.parametrize("mode", ["sync", "async"])
async def test_instrument_tool_node_of_own_graph(thoth_server: Any, mode: str) -> None:
    tools, model, agent_id = Tools(), scripted(*_search_and_post()), _agent_id()
    node = ToolNode(tools.all)
    graph = _own_graph(model, node)

    assert thoth.instrument(node, **_options(thoth_server, agent_id, "block", on_block="return")) is node
    out = await _run(graph, mode)

    _assert_allowed_and_refused(tools, model, out)
    assert ("TOOL_CALL_BLOCK", "send_slack_message", "call_slack") in events(thoth_server, agent_id)


async def test_step_up_approved_while_the_graph_waits(thoth_server: Any) -> None:
    tools, agent_id = Tools(), _agent_id()
    model = scripted(
        calls(("send_slack_message", {"channel": "#ops", "message": "hi"}, "call_slack")),
        AIMessage("Posted."),
    )
    tracer = make_tracer(thoth_server, agent_id, ["search_database"], "step_up")
    graph = _own_graph(model, governed_tool_node(tools.all, tracer))

    with Approver(thoth_server, agent_id) as approver:
        out = await _run(graph, "async", "post hi to #ops")

    assert len(approver.approved) == 1
    assert out["messages"][-1].content == "Posted."
    assert tools.ran == ["slack:#ops"]
    assert ("TOOL_CALL_POST", "send_slack_message", "call_slack") in events(thoth_server, agent_id)


def test_raise_mode_stops_the_run_and_the_graph_stays_usable(thoth_server: Any) -> None:
    tools, agent_id = Tools(), _agent_id()
    model = scripted(
        _search_and_post()[0], calls(("search_database", {"query": "Q1"}, "c3")), AIMessage("ok")
    )
    agent = create_react_agent(model, tools.all)
    thoth.instrument(agent, **_options(thoth_server, agent_id, "block"))

    with pytest.raises(thoth.ThothPolicyViolation) as raised:
        agent.invoke({"messages": [("user", "search and post")]})
    assert raised.value.tool_name == "send_slack_message"
    assert "slack:#analytics" not in tools.ran

    assert agent.invoke({"messages": [("user", "search Q1")]})["messages"][-1].content == "ok"
    assert tools.ran[-1] == "search:Q1"


def test_instrumenting_twice_checks_each_call_once(thoth_server: Any) -> None:
    tools, model, agent_id = Tools(), scripted(*_search_and_post()), _agent_id()
    agent = create_react_agent(model, tools.all)
    options = _options(thoth_server, agent_id, "block", on_block="return")
    thoth.instrument(agent, **options)
    thoth.instrument(agent, **options)

    agent.invoke({"messages": [("user", "go")]})

    pre = [e for e in events(thoth_server, agent_id) if e[0] == "TOOL_CALL_PRE"]
    assert sorted(call_id for _, _, call_id in pre) == ["call_search", "call_slack"]


def test_existing_readme_tracer_recipe_still_works(thoth_server: Any) -> None:
    """The low-level recipe of the existing SDK README, verbatim but for the local server."""
    from thoth.emitter import HttpEmitter
    from thoth.enforcer_client import EnforcerClient
    from thoth.models import EnforcementMode, ThothConfig
    from thoth.session import SessionContext
    from thoth.step_up import StepUpClient
    from thoth.tracer import Tracer

    tools, model, agent_id = Tools(), scripted(*_search_and_post()), _agent_id()
    api_key = thoth_server.api_key
    config = ThothConfig(
        agent_id=agent_id,
        approved_scope=["search_database", "send_slack_message"],
        tenant_id=thoth_server.tenant_id,
        user_id="alice@acme.com",
        enforcement=EnforcementMode.BLOCK,
        api_key=api_key,
        api_url=thoth_server.url,
    )
    session = SessionContext(config)
    tracer = Tracer(
        config=config,
        session=session,
        emitter=HttpEmitter(api_url=config.resolved_api_url, api_key=api_key),
        enforcer=EnforcerClient(config),
        step_up=StepUpClient(config),
    )

    governed_search = tracer.wrap_tool("search_database", tools.search_database)
    governed_slack = tracer.wrap_tool("send_slack_message", tools.send_slack_message)
    agent = create_react_agent(model, [governed_search, governed_slack])

    agent.invoke({"messages": [("user", "Search for Q4 data and post it to #analytics")]})

    assert sorted(tools.ran) == ["search:Q4", "slack:#analytics"]  # both in scope: each ran once
    posts = [e[1] for e in events(thoth_server, agent_id) if e[0] == "TOOL_CALL_POST"]
    assert sorted(posts) == ["search_database", "send_slack_message"]


def test_instrument_without_a_tool_node_is_a_clear_error(thoth_server: Any) -> None:
    builder = StateGraph(MessagesState)
    builder.add_node("noop", lambda state: {"messages": []})
    builder.add_edge(START, "noop")
    builder.add_edge("noop", END)
    with pytest.raises(thoth.ThothConfigError, match="no ToolNode"):
        thoth.instrument(builder.compile(), **_options(thoth_server, _agent_id(), "block"))


def test_modify_runs_the_tool_with_the_rewritten_arguments(make_thoth_server: Any) -> None:
    server = make_thoth_server(
        "version: 1\nrules:\n  - id: q1-only\n    tools: [search_database]\n    decision: MODIFY\n"
        "    modify: {set: {query: Q1}}\n"
    )
    tools, agent_id = Tools(), _agent_id()
    model = scripted(calls(("search_database", {"query": "Q4"}, "call_search")), AIMessage("done"))
    agent = create_react_agent(model, tools.all)
    thoth.instrument(agent, **governed_options(server, agent_id, ["search_database"], "block"))

    agent.invoke({"messages": [("user", "search")]})

    assert tools.ran == ["search:Q1"]
    assert "Q1" in str(tool_messages_seen(model)["call_search"].content)
