"""LangChain: AgentExecutor, create_agent (middleware) and tool lists, driven by a scripted model
against a real `thoth serve` on 127.0.0.1."""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest

pytest.importorskip("langchain_core")
pytest.importorskip("langchain_classic")
pytest.importorskip("langchain.agents")

from langchain.agents import create_agent
from langchain.tools import ToolRuntime
from langchain_classic.agents import AgentExecutor, create_tool_calling_agent
from langchain_core.messages import AIMessage, ToolMessage
from langchain_core.prompts import ChatPromptTemplate
from langchain_core.tools import StructuredTool, tool

import thoth
from tests.integrations._langchain_model import calls, scripted, tool_messages_seen
from tests.integrations._shared import (
    REFUSAL_MARK,
    Approver,
    events,
    governed_options,
    make_tracer,
    stored_events,
)
from thoth.integrations.langchain import GovernedTool, middleware

pytestmark = pytest.mark.integration

PROMPT = ChatPromptTemplate.from_messages([("human", "{input}"), ("placeholder", "{agent_scratchpad}")])


class Tools:
    """Two tools whose bodies count their runs: web_search is in scope, delete_file is not."""

    def __init__(self) -> None:
        self.ran: list[tuple[str, Any]] = []

        @tool
        def web_search(query: str) -> str:
            """Search the web for current information."""
            self.ran.append(("web_search", query))
            return f"results for {query}"

        def delete_file(path: str) -> str:
            """Delete a file."""
            self.ran.append(("delete_file", path))
            return f"deleted {path}"

        async def adelete_file(path: str) -> str:
            self.ran.append(("delete_file", path))
            return f"deleted {path}"

        self.web_search = web_search
        self.delete_file = StructuredTool.from_function(func=delete_file, coroutine=adelete_file)

    @property
    def all(self) -> list[Any]:
        return [self.web_search, self.delete_file]


def _search_and_delete() -> list[AIMessage]:
    return [
        calls(
            ("web_search", {"query": "AAPL 10-K"}, "call_s"),
            ("delete_file", {"path": "/etc/hosts"}, "call_d"),
        ),
        AIMessage("Here is what I found."),
    ]


def _agent_id() -> str:
    return f"lc-{uuid.uuid4().hex[:8]}"


def _tracer(server: Any, agent_id: str, enforcement: str, **extra: Any) -> Any:
    return make_tracer(server, agent_id, ["web_search"], enforcement, **extra)


def _executor(model: Any, tools: Tools) -> AgentExecutor:
    agent = create_tool_calling_agent(model, tools.all, PROMPT)
    return AgentExecutor(agent=agent, tools=tools.all, return_intermediate_steps=True)


@pytest.mark.parametrize("mode", ["sync", "async"])
async def test_agent_executor_runs_allowed_blocks_refused_and_goes_on(thoth_server: Any, mode: str) -> None:
    tools, model, agent_id = Tools(), scripted(*_search_and_delete()), _agent_id()
    executor = _executor(model, tools)

    same = thoth.instrument(
        executor, **governed_options(thoth_server, agent_id, ["web_search"], "block", on_block="return")
    )
    assert same is executor
    assert all(isinstance(t, GovernedTool) for t in executor.tools)

    request = {"input": "Find recent SEC filings for AAPL, then clean up"}
    out = executor.invoke(request) if mode == "sync" else await executor.ainvoke(request)

    assert out["output"] == "Here is what I found."
    assert tools.ran == [("web_search", "AAPL 10-K")]  # delete_file's body never ran
    observations = {action.tool: observation for action, observation in out["intermediate_steps"]}
    assert observations["web_search"] == "results for AAPL 10-K"
    assert observations["delete_file"].startswith(REFUSAL_MARK)
    seen = tool_messages_seen(model)  # the model read the refusal in its next turn
    assert any(REFUSAL_MARK in str(m.content) and "delete_file" in str(m.content) for m in seen.values())

    kinds = [(kind, name) for kind, name, _ in events(thoth_server, agent_id)]
    assert ("TOOL_CALL_PRE", "web_search") in kinds
    assert ("TOOL_CALL_POST", "web_search") in kinds
    assert ("TOOL_CALL_BLOCK", "delete_file") in kinds
    assert ("TOOL_CALL_POST", "delete_file") not in kinds


def test_agent_executor_raise_mode_raises_and_stays_usable(thoth_server: Any) -> None:
    tools, agent_id = Tools(), _agent_id()
    first_turn = _search_and_delete()[0]  # the run stops at the refusal: no second turn
    model = scripted(first_turn, calls(("web_search", {"query": "again"}, "c3")), AIMessage("ok"))
    executor = _executor(model, tools)
    thoth.instrument(executor, **governed_options(thoth_server, agent_id, ["web_search"], "block"))

    with pytest.raises(thoth.ThothPolicyViolation) as raised:
        executor.invoke({"input": "clean up"})
    assert raised.value.tool_name == "delete_file"
    assert ("delete_file", "/etc/hosts") not in tools.ran

    assert executor.invoke({"input": "search again"})["output"] == "ok"  # the same agent still works
    assert tools.ran[-1] == ("web_search", "again")


def test_agent_executor_step_up_approved_while_waiting(thoth_server: Any) -> None:
    tools, agent_id = Tools(), _agent_id()
    model = scripted(calls(("delete_file", {"path": "/tmp/old.log"}, "call_d")), AIMessage("Deleted."))
    executor = _executor(model, tools)
    thoth.instrument(executor, **governed_options(thoth_server, agent_id, ["web_search"], "step_up"))

    with Approver(thoth_server, agent_id) as approver:
        out = executor.invoke({"input": "delete the old log"})

    assert len(approver.approved) == 1
    assert out["output"] == "Deleted."
    assert tools.ran == [("delete_file", "/tmp/old.log")]
    kinds = [(kind, name) for kind, name, _ in events(thoth_server, agent_id)]
    assert kinds.count(("TOOL_CALL_POST", "delete_file")) == 1
    assert ("TOOL_CALL_BLOCK", "delete_file") not in kinds


@pytest.mark.parametrize("mode", ["sync", "async"])
async def test_create_agent_middleware_keys_parallel_calls_by_id(thoth_server: Any, mode: str) -> None:
    tools, model, agent_id = Tools(), scripted(*_search_and_delete()), _agent_id()
    tracer = _tracer(thoth_server, agent_id, "block", on_block="return")
    agent = create_agent(model, tools.all, middleware=[middleware(tracer)])

    request = {"messages": [("user", "search then delete")]}
    out = agent.invoke(request) if mode == "sync" else await agent.ainvoke(request)

    assert out["messages"][-1].content == "Here is what I found."
    assert tools.ran == [("web_search", "AAPL 10-K")]
    seen = tool_messages_seen(model)
    assert seen["call_s"].status == "success"
    assert seen["call_s"].content == "results for AAPL 10-K"
    assert seen["call_d"].status == "error"
    assert str(seen["call_d"].content).startswith(REFUSAL_MARK)

    recorded = events(thoth_server, agent_id)
    assert ("TOOL_CALL_PRE", "web_search", "call_s") in recorded
    assert ("TOOL_CALL_POST", "web_search", "call_s") in recorded
    assert ("TOOL_CALL_PRE", "delete_file", "call_d") in recorded
    assert ("TOOL_CALL_BLOCK", "delete_file", "call_d") in recorded


async def test_create_agent_middleware_step_up_async(thoth_server: Any) -> None:
    tools, agent_id = Tools(), _agent_id()
    model = scripted(calls(("delete_file", {"path": "/tmp/x"}, "call_d")), AIMessage("Done."))
    tracer = _tracer(thoth_server, agent_id, "step_up")
    agent = create_agent(model, tools.all, middleware=[middleware(tracer)])

    with Approver(thoth_server, agent_id) as approver:
        out = await agent.ainvoke({"messages": [("user", "delete it")]})

    assert len(approver.approved) == 1
    assert out["messages"][-1].content == "Done."
    assert tools.ran == [("delete_file", "/tmp/x")]
    assert ("TOOL_CALL_POST", "delete_file", "call_d") in events(thoth_server, agent_id)


def test_create_agent_middleware_raise_mode_aborts_run_without_running_tool(thoth_server: Any) -> None:
    tools, model, agent_id = Tools(), scripted(*_search_and_delete()), _agent_id()
    agent = create_agent(model, tools.all, middleware=[middleware(_tracer(thoth_server, agent_id, "block"))])

    with pytest.raises(thoth.ThothPolicyViolation):
        agent.invoke({"messages": [("user", "search then delete")]})
    assert ("delete_file", "/etc/hosts") not in tools.ran


async def test_instrumented_tool_list_governs_create_agent(thoth_server: Any) -> None:
    tools, model, agent_id = Tools(), scripted(*_search_and_delete()), _agent_id()
    tool_list = tools.all
    assert (
        thoth.instrument(
            tool_list, **governed_options(thoth_server, agent_id, ["web_search"], "block", on_block="return")
        )
        is tool_list
    )
    agent = create_agent(model, tool_list)

    out = await agent.ainvoke({"messages": [("user", "go")]})

    assert out["messages"][-1].content == "Here is what I found."
    assert tools.ran == [("web_search", "AAPL 10-K")]
    seen = tool_messages_seen(model)
    assert seen["call_d"].status == "error"
    assert REFUSAL_MARK in str(seen["call_d"].content)
    assert ("TOOL_CALL_BLOCK", "delete_file", "call_d") in events(thoth_server, agent_id)


def test_governed_tool_keeps_the_tool_surface(thoth_server: Any) -> None:
    tools = Tools()
    tracer = _tracer(thoth_server, _agent_id(), "block", on_block="return")
    governed = thoth.integrations.langchain.govern_tool(tools.web_search, tracer)

    assert governed.name == "web_search"
    assert governed.description == tools.web_search.description
    assert governed.args == tools.web_search.args
    assert (
        governed.tool_call_schema.model_json_schema() == tools.web_search.tool_call_schema.model_json_schema()
    )

    assert governed.invoke({"query": "q"}) == "results for q"
    message = governed.invoke({"name": "web_search", "args": {"query": "r"}, "id": "c9", "type": "tool_call"})
    assert isinstance(message, ToolMessage)
    assert message.tool_call_id == "c9"
    assert message.content == "results for r"

    blocked = thoth.integrations.langchain.govern_tool(tools.delete_file, tracer)
    refusal = blocked.invoke({"name": "delete_file", "args": {"path": "/"}, "id": "c10", "type": "tool_call"})
    assert isinstance(refusal, ToolMessage)
    assert refusal.status == "error"
    assert refusal.tool_call_id == "c10"
    assert ("delete_file", "/") not in tools.ran


def test_instrument_rejects_what_it_cannot_govern(thoth_server: Any) -> None:
    tracer = _tracer(thoth_server, _agent_id(), "block")
    with pytest.raises(thoth.ThothConfigError, match="cannot govern"):
        thoth.integrations.langchain.instrument(object(), tracer)


MODIFY_POLICY = """
version: 1
rules:
  - id: safe-search
    tools: [web_search]
    decision: MODIFY
    modify: {set: {query: "public filings"}}
"""


@pytest.mark.parametrize("hook", ["governed_tool", "middleware"])
async def test_modify_runs_the_tool_with_the_rewritten_arguments(make_thoth_server: Any, hook: str) -> None:
    server = make_thoth_server(MODIFY_POLICY)
    tools, agent_id = Tools(), _agent_id()
    model = scripted(calls(("web_search", {"query": "insider tips"}, "call_s")), AIMessage("done"))
    if hook == "governed_tool":
        thoth.instrument(
            tools_list := tools.all, **governed_options(server, agent_id, ["web_search"], "block")
        )
        agent = create_agent(model, tools_list)
    else:
        agent = create_agent(model, tools.all, middleware=[middleware(_tracer(server, agent_id, "block"))])

    await agent.ainvoke({"messages": [("user", "search")]})

    assert tools.ran == [("web_search", "public filings")]
    assert tool_messages_seen(model)["call_s"].content == "results for public filings"


async def test_instrument_on_a_create_agent_graph_governs_its_tool_node(thoth_server: Any) -> None:
    tools, model, agent_id = Tools(), scripted(*_search_and_delete()), _agent_id()
    agent = create_agent(model, tools.all)

    options = governed_options(thoth_server, agent_id, ["web_search"], "block", on_block="return")
    assert thoth.instrument(agent, **options) is agent
    out = await agent.ainvoke({"messages": [("user", "search then delete")]})

    assert out["messages"][-1].content == "Here is what I found."
    assert tools.ran == [("web_search", "AAPL 10-K")]
    assert tool_messages_seen(model)["call_d"].status == "error"
    assert ("TOOL_CALL_BLOCK", "delete_file", "call_d") in events(thoth_server, agent_id)


def test_injected_arguments_reach_the_tool_but_not_the_enforcer(thoth_server: Any) -> None:
    @tool
    def count_messages(label: str, runtime: ToolRuntime) -> str:
        """Count the conversation's messages."""
        return f"{label}: {len(runtime.state['messages'])}"

    agent_id = _agent_id()
    model = scripted(calls(("count_messages", {"label": "n"}, "call_c")), AIMessage("done"))
    tool_list = [count_messages]
    thoth.instrument(tool_list, **governed_options(thoth_server, agent_id, ["count_messages"], "block"))

    create_agent(model, tool_list).invoke({"messages": [("user", "count")]})

    assert tool_messages_seen(model)["call_c"].content == "n: 2"
    [pre] = [e for e in stored_events(thoth_server, agent_id) if e["event_type"] == "TOOL_CALL_PRE"]
    assert json.loads(pre["content"]) == {"label": "n"}  # the runtime (state, store, ...) stayed local
