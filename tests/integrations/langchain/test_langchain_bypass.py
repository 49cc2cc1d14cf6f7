"""LangChain: no way around the check. Every public way of running a governed tool, driven by a
scripted model against a real `thoth serve` on 127.0.0.1: each blocked call leaves the tool body
unrun and a TOOL_CALL_BLOCK on the enforcer."""

from __future__ import annotations

import copy
import inspect
import uuid
from typing import Any

import pytest

pytest.importorskip("langchain_core")
pytest.importorskip("langchain_classic")
pytest.importorskip("langchain.agents")

from langchain.agents import create_agent
from langchain_classic.agents import AgentExecutor, create_tool_calling_agent
from langchain_core.callbacks import CallbackManagerForToolRun
from langchain_core.messages import AIMessage, ToolMessage
from langchain_core.prompts import ChatPromptTemplate
from langchain_core.tools import BaseTool, StructuredTool, tool

import thoth
from tests.integrations._langchain_model import calls, scripted, tool_messages_seen
from tests.integrations._shared import (
    REFUSAL_MARK,
    events,
    governed_options,
    make_tracer,
    unreachable_tracer,
)
from thoth.integrations.langchain import GovernedTool, middleware

pytestmark = pytest.mark.integration

PROMPT = ChatPromptTemplate.from_messages([("human", "{input}"), ("placeholder", "{agent_scratchpad}")])
DELETE = {"path": "/etc/hosts"}


class Tools:
    """web_search is in scope, delete_file is not; the bodies record their runs."""

    def __init__(self) -> None:
        self.ran: list[tuple[str, Any]] = []

        @tool
        def web_search(query: str) -> str:
            """Search the web for current information."""
            self.ran.append(("web_search", query))
            return f"results for {query}"

        @tool
        def delete_file(path: str) -> str:
            """Delete a file."""
            self.ran.append(("delete_file", path))
            return f"deleted {path}"

        self.web_search = web_search
        self.delete_file = delete_file

    @property
    def all(self) -> list[Any]:
        return [self.web_search, self.delete_file]

    @property
    def deleted(self) -> bool:
        return any(name == "delete_file" for name, _ in self.ran)


def _agent_id() -> str:
    return f"lcb-{uuid.uuid4().hex[:8]}"


def _options(server: Any, agent_id: str, scope: tuple[str, ...] = ("web_search",), **extra: Any) -> Any:
    return governed_options(server, agent_id, list(scope), "block", on_block="return", **extra)


def _blocked(server: Any, agent_id: str, tool_name: str = "delete_file") -> bool:
    return any(kind == "TOOL_CALL_BLOCK" and name == tool_name for kind, name, _ in events(server, agent_id))


def _delete_then_answer() -> list[AIMessage]:
    return [calls(("delete_file", DELETE, "call_d")), AIMessage("done")]


def _executor(model: Any, tool_list: list[Any]) -> AgentExecutor:
    agent = create_tool_calling_agent(model, tool_list, PROMPT)
    return AgentExecutor(agent=agent, tools=tool_list, return_intermediate_steps=True)


# ---- the tool object the user holds ------------------------------------------------------------
TOOL_CALL = {"name": "delete_file", "args": DELETE, "id": "call_direct", "type": "tool_call"}


async def _run_tool(tool_obj: Any, way: str) -> Any:
    async def collect(chunks: Any) -> list[Any]:
        return [chunk async for chunk in chunks]

    run = {
        "invoke": lambda: tool_obj.invoke(DELETE),
        "invoke_tool_call": lambda: tool_obj.invoke(TOOL_CALL),
        "ainvoke": lambda: tool_obj.ainvoke(DELETE),
        "run": lambda: tool_obj.run(DELETE),
        "arun": lambda: tool_obj.arun(DELETE),
        "batch": lambda: tool_obj.batch([DELETE, DELETE]),
        "abatch": lambda: tool_obj.abatch([DELETE]),
        "stream": lambda: list(tool_obj.stream(DELETE)),
        "astream": lambda: collect(tool_obj.astream(DELETE)),
        "func": lambda: tool_obj.func(**DELETE),
        "private_run": lambda: tool_obj._run(**DELETE, config={}),
        "with_config": lambda: tool_obj.with_config(run_name="x").invoke(DELETE),
        "model_copy": lambda: tool_obj.model_copy().invoke(DELETE),
        "deepcopy": lambda: copy.deepcopy(tool_obj).invoke(DELETE),
    }[way]
    out = run()
    return await out if inspect.isawaitable(out) else out


WAYS = [
    "invoke",
    "invoke_tool_call",
    "ainvoke",
    "run",
    "arun",
    "batch",
    "abatch",
    "stream",
    "astream",
    "func",
    "private_run",
    "with_config",
    "model_copy",
    "deepcopy",
]


@pytest.mark.parametrize("way", WAYS)
async def test_the_original_tool_object_is_governed_after_instrumenting_a_list(
    thoth_server: Any, way: str
) -> None:
    tools, agent_id = Tools(), _agent_id()
    tool_list = tools.all
    assert thoth.instrument(tool_list, **_options(thoth_server, agent_id)) is tool_list
    assert tool_list[1] is tools.delete_file  # governed in place, not replaced by a proxy

    out = await _run_tool(tools.delete_file, way)

    assert not tools.deleted
    assert REFUSAL_MARK in str(out)
    assert _blocked(thoth_server, agent_id)


@pytest.mark.parametrize("way", ["invoke", "ainvoke", "func"])
async def test_instrument_on_one_tool_returns_that_tool_governed(thoth_server: Any, way: str) -> None:
    tools, agent_id = Tools(), _agent_id()
    assert thoth.instrument(tools.delete_file, **_options(thoth_server, agent_id)) is tools.delete_file
    assert isinstance(tools.delete_file, GovernedTool)

    out = await _run_tool(tools.delete_file, way)

    assert not tools.deleted
    assert REFUSAL_MARK in str(out)
    assert _blocked(thoth_server, agent_id)


async def test_an_async_only_tool_is_governed_through_its_coroutine_too(thoth_server: Any) -> None:
    ran: list[str] = []

    async def adelete(path: str) -> str:
        ran.append(path)
        return "deleted"

    delete_file = StructuredTool.from_function(coroutine=adelete, name="delete_file", description="Delete.")
    agent_id = _agent_id()
    thoth.instrument([delete_file], **_options(thoth_server, agent_id))

    assert REFUSAL_MARK in str(await delete_file.ainvoke(DELETE))
    assert REFUSAL_MARK in str(await delete_file.coroutine(**DELETE))
    assert ran == []
    assert _blocked(thoth_server, agent_id)


async def test_a_base_tool_subclass_is_governed_and_keeps_its_run_manager(thoth_server: Any) -> None:
    managers: list[Any] = []

    class DeleteFile(BaseTool):  # type: ignore[misc]
        name: str = "delete_file"
        description: str = "Delete a file."

        def _run(self, path: str, run_manager: CallbackManagerForToolRun | None = None) -> str:
            managers.append(run_manager)
            return f"deleted {path}"

    class WebSearch(DeleteFile):
        name: str = "web_search"

    agent_id = _agent_id()
    delete_file, web_search = DeleteFile(), WebSearch()
    thoth.instrument([delete_file, web_search], **_options(thoth_server, agent_id))

    assert REFUSAL_MARK in str(delete_file.invoke(DELETE))
    assert REFUSAL_MARK in str(await delete_file.ainvoke(DELETE))
    assert managers == []
    assert web_search.invoke({"path": "q"}) == "deleted q"  # allowed: runs, callbacks intact
    assert managers[0] is not None
    assert _blocked(thoth_server, agent_id)


def test_raise_mode_raises_the_policy_violation_from_the_original_object(thoth_server: Any) -> None:
    tools, agent_id = Tools(), _agent_id()
    thoth.instrument(tools.all, **governed_options(thoth_server, agent_id, ["web_search"], "block"))

    with pytest.raises(thoth.ThothPolicyViolation):
        tools.delete_file.invoke(DELETE)
    with pytest.raises(thoth.ThothPolicyViolation):
        tools.delete_file.func(**DELETE)
    assert not tools.deleted


def test_an_unreachable_enforcer_fails_closed_on_the_original_object() -> None:
    tools = Tools()
    thoth.integrations.langchain.govern_tool(
        tools.delete_file, unreachable_tracer(_agent_id(), ["delete_file"])
    )

    with pytest.raises(thoth.ThothPolicyViolation) as raised:
        tools.delete_file.invoke(DELETE)
    assert raised.value.failed_closed
    assert not tools.deleted


def test_tool_calls_from_a_model_bound_to_the_tools_are_governed(thoth_server: Any) -> None:
    tools, agent_id = Tools(), _agent_id()
    thoth.instrument(tools.all, **_options(thoth_server, agent_id))
    model = scripted(calls(("delete_file", DELETE, "call_bound"))).bind_tools(tools.all)

    [call] = model.invoke("clean up").tool_calls
    message = tools.delete_file.invoke(call)

    assert isinstance(message, ToolMessage)
    assert message.status == "error"
    assert not tools.deleted
    assert ("TOOL_CALL_BLOCK", "delete_file", "call_bound") in events(thoth_server, agent_id)


# ---- AgentExecutor -----------------------------------------------------------------------------
async def _run_executor(executor: Any, way: str) -> None:
    request = {"input": "clean up"}
    if way == "invoke":
        executor.invoke(request)
    elif way == "ainvoke":
        await executor.ainvoke(request)
    elif way == "stream":
        list(executor.stream(request))
    elif way == "astream":
        _ = [step async for step in executor.astream(request)]
    elif way == "batch":
        executor.batch([request])
    elif way == "abatch":
        await executor.abatch([request])
    elif way == "iter":
        list(executor.iter(request))
    else:
        raise AssertionError(way)


@pytest.mark.parametrize("way", ["invoke", "ainvoke", "stream", "astream", "batch", "abatch", "iter"])
async def test_agent_executor_every_entry_point(thoth_server: Any, way: str) -> None:
    tools, agent_id = Tools(), _agent_id()
    executor = _executor(scripted(*_delete_then_answer()), tools.all)
    thoth.instrument(executor, **_options(thoth_server, agent_id))

    await _run_executor(executor, way)

    assert not tools.deleted
    recorded = events(thoth_server, agent_id)
    assert ("TOOL_CALL_BLOCK", "delete_file", "call_d") in recorded
    assert [e for e in recorded if e[0] == "TOOL_CALL_PRE"] == [("TOOL_CALL_PRE", "delete_file", "call_d")]


@pytest.mark.filterwarnings("ignore:The `copy` method is deprecated")
@pytest.mark.parametrize("make_copy", ["copy", "model_copy", "deepcopy"])
def test_agent_executor_copies_stay_governed(thoth_server: Any, make_copy: str) -> None:
    tools, agent_id = Tools(), _agent_id()
    executor = _executor(scripted(*_delete_then_answer()), tools.all)
    thoth.instrument(executor, **_options(thoth_server, agent_id))
    clone = {
        "copy": lambda: executor.copy(),
        "model_copy": lambda: executor.model_copy(),
        "deepcopy": lambda: copy.deepcopy(executor),
    }[make_copy]()

    clone.invoke({"input": "clean up"})

    assert not tools.deleted
    assert _blocked(thoth_server, agent_id)


@pytest.mark.parametrize("how", ["append", "replace_list"])
def test_agent_executor_tools_added_after_instrument_are_governed(thoth_server: Any, how: str) -> None:
    tools, agent_id = Tools(), _agent_id()
    executor = _executor(scripted(*_delete_then_answer()), [tools.web_search])
    thoth.instrument(executor, **_options(thoth_server, agent_id))
    if how == "append":
        executor.tools.append(tools.delete_file)
    else:
        executor.tools = [tools.web_search, tools.delete_file]

    executor.invoke({"input": "clean up"})

    assert not tools.deleted
    assert _blocked(thoth_server, agent_id)
    assert REFUSAL_MARK in str(tools.delete_file.invoke(DELETE))  # and the late object itself


@pytest.mark.parametrize("mode", ["sync", "async"])
async def test_a_tool_shared_by_two_executors_is_decided_under_the_one_that_runs_it(
    thoth_server: Any, mode: str
) -> None:
    tools = Tools()
    strict_id, lenient_id = _agent_id(), _agent_id()
    strict = _executor(scripted(*_delete_then_answer()), tools.all)
    lenient = _executor(scripted(*_delete_then_answer()), tools.all)
    thoth.instrument(strict, **_options(thoth_server, strict_id))
    thoth.instrument(lenient, **_options(thoth_server, lenient_id, ("web_search", "delete_file")))

    request = {"input": "clean up"}
    strict.invoke(request) if mode == "sync" else await strict.ainvoke(request)
    assert not tools.deleted
    lenient.invoke(request) if mode == "sync" else await lenient.ainvoke(request)
    assert tools.ran == [("delete_file", "/etc/hosts")]

    assert _blocked(thoth_server, strict_id)
    assert not _blocked(thoth_server, lenient_id)
    assert ("TOOL_CALL_POST", "delete_file", "call_d") in events(thoth_server, lenient_id)


def test_re_instrumenting_an_executor_with_new_settings_takes_effect(thoth_server: Any) -> None:
    tools, first_id, second_id = Tools(), _agent_id(), _agent_id()
    executor = _executor(scripted(*_delete_then_answer(), *_delete_then_answer()), tools.all)
    thoth.instrument(executor, **_options(thoth_server, first_id, ("web_search", "delete_file")))
    thoth.instrument(executor, **_options(thoth_server, second_id))

    executor.invoke({"input": "clean up"})
    assert REFUSAL_MARK in str(tools.delete_file.invoke(DELETE))  # direct calls follow the new settings

    assert not tools.deleted
    assert _blocked(thoth_server, second_id)
    assert events(thoth_server, first_id) == []


def test_governing_a_tool_list_again_under_other_settings_is_refused(thoth_server: Any) -> None:
    tools = Tools()
    first_id = _agent_id()
    thoth.instrument(tools.all, **_options(thoth_server, first_id))
    thoth.instrument(tools.all, **_options(thoth_server, first_id))  # same settings: fine

    with pytest.raises(thoth.ThothConfigError, match="already governed for agent"):
        thoth.instrument([tools.delete_file], **_options(thoth_server, _agent_id(), ("delete_file",)))
    assert REFUSAL_MARK in str(tools.delete_file.invoke(DELETE))  # still under the first settings
    assert not tools.deleted
    assert _blocked(thoth_server, first_id)


# ---- create_agent ------------------------------------------------------------------------------
async def _run_graph(graph: Any, way: str) -> None:
    request = {"messages": [("user", "clean up")]}
    if way == "invoke":
        graph.invoke(request)
    elif way == "ainvoke":
        await graph.ainvoke(request)
    elif way == "stream":
        list(graph.stream(request))
    elif way == "astream":
        _ = [chunk async for chunk in graph.astream(request)]
    elif way == "batch":
        graph.batch([request])
    elif way == "abatch":
        await graph.abatch([request])
    else:
        raise AssertionError(way)


GRAPH_WAYS = ["invoke", "ainvoke", "stream", "astream", "batch", "abatch"]


@pytest.mark.parametrize("way", GRAPH_WAYS)
@pytest.mark.parametrize("hook", ["middleware", "instrument_graph", "instrument_tools"])
async def test_create_agent_every_entry_point(thoth_server: Any, hook: str, way: str) -> None:
    tools, agent_id = Tools(), _agent_id()
    model = scripted(*_delete_then_answer())
    if hook == "middleware":
        tracer = make_tracer(thoth_server, agent_id, ["web_search"], "block", on_block="return")
        agent = create_agent(model, tools.all, middleware=[middleware(tracer)])
    elif hook == "instrument_graph":
        agent = thoth.instrument(create_agent(model, tools.all), **_options(thoth_server, agent_id))
    else:
        agent = create_agent(model, thoth.instrument(tools.all, **_options(thoth_server, agent_id)))

    await _run_graph(agent, way)

    assert not tools.deleted
    assert tool_messages_seen(model)["call_d"].status == "error"
    assert ("TOOL_CALL_BLOCK", "delete_file", "call_d") in events(thoth_server, agent_id)


@pytest.mark.parametrize("make_copy", ["copy", "with_config"])
def test_create_agent_graph_copies_stay_governed(thoth_server: Any, make_copy: str) -> None:
    tools, agent_id = Tools(), _agent_id()
    agent = thoth.instrument(
        create_agent(scripted(*_delete_then_answer()), tools.all), **_options(thoth_server, agent_id)
    )
    clone = agent.copy() if make_copy == "copy" else agent.with_config(recursion_limit=10)

    clone.invoke({"messages": [("user", "clean up")]})

    assert not tools.deleted
    assert _blocked(thoth_server, agent_id)


def test_create_agent_instrumented_graph_governs_the_tools_the_user_holds(thoth_server: Any) -> None:
    tools, agent_id = Tools(), _agent_id()
    thoth.instrument(create_agent(scripted(AIMessage("hi")), tools.all), **_options(thoth_server, agent_id))

    assert REFUSAL_MARK in str(tools.delete_file.invoke(DELETE))
    assert not tools.deleted
    assert _blocked(thoth_server, agent_id)


def test_middleware_governs_the_tool_objects_it_runs(thoth_server: Any) -> None:
    tools, agent_id = Tools(), _agent_id()
    tracer = make_tracer(thoth_server, agent_id, ["web_search"], "block", on_block="return")
    model = scripted(calls(("web_search", {"query": "q"}, "call_s")), AIMessage("done"))
    create_agent(model, tools.all, middleware=[middleware(tracer)]).invoke({"messages": [("user", "go")]})

    assert isinstance(tools.web_search, GovernedTool)  # adopted when the agent ran it
    assert tools.web_search.invoke({"query": "direct"}) == "results for direct"
    pre = [call_id for kind, _, call_id in events(thoth_server, agent_id) if kind == "TOOL_CALL_PRE"]
    assert len(pre) == 2  # the agent's call and the direct one, each decided once


@pytest.mark.parametrize("mode", ["sync", "async"])
async def test_a_tool_shared_by_two_create_agent_graphs_is_decided_under_the_one_that_runs_it(
    thoth_server: Any, mode: str
) -> None:
    tools = Tools()
    strict_id, lenient_id = _agent_id(), _agent_id()
    strict = create_agent(scripted(*_delete_then_answer()), tools.all)
    lenient = create_agent(scripted(*_delete_then_answer()), tools.all)
    thoth.instrument(strict, **_options(thoth_server, strict_id))
    thoth.instrument(lenient, **_options(thoth_server, lenient_id, ("web_search", "delete_file")))

    await _run_graph(strict, "invoke" if mode == "sync" else "ainvoke")
    assert not tools.deleted
    await _run_graph(lenient, "invoke" if mode == "sync" else "ainvoke")
    assert tools.ran == [("delete_file", "/etc/hosts")]

    assert _blocked(thoth_server, strict_id)
    pre = [e for e in events(thoth_server, lenient_id) if e[0] == "TOOL_CALL_PRE"]
    assert len(pre) == 1  # decided once, by the graph that ran it
    assert not _blocked(thoth_server, lenient_id)
