"""AutoGen classic (ag2 0.14, ``import autogen``): a real two-agent chat with a scripted assistant
(``ConversableAgent(llm_config=False)`` + ``register_reply``) and a real `thoth serve` on 127.0.0.1."""

from __future__ import annotations

import json
import threading
from typing import Any

import pytest

pytest.importorskip("autogen")

import autogen

import thoth
from tests.integrations._shared import (
    REFUSAL_MARK,
    Approver,
    by_call,
    events,
    governed_options,
    modify_policy,
    new_agent_id,
    unreachable_tracer,
)
from thoth.emitter import HttpEmitter
from thoth.enforcer_client import EnforcerClient
from thoth.models import EnforcementMode, ThothConfig
from thoth.session import SessionContext
from thoth.step_up import StepUpClient
from thoth.tracer import Tracer

pytestmark = pytest.mark.integration


class Tools:
    """Tool bodies that record each run (thread-safe: AutoGen runs async calls concurrently)."""

    def __init__(self) -> None:
        self.ran: list[tuple[str, dict[str, Any]]] = []
        self._lock = threading.Lock()

    def _note(self, name: str, args: dict[str, Any]) -> None:
        with self._lock:
            self.ran.append((name, args))

    def search_docs(self, query: str) -> str:
        self._note("search_docs", {"query": query})
        return f"3 documents about {query}"

    def send_email(self, to: str, body: str) -> str:
        self._note("send_email", {"to": to, "body": body})
        return f"sent to {to}"

    async def asearch_docs(self, query: str) -> str:
        self._note("search_docs", {"query": query})
        return f"3 documents about {query}"

    async def asend_email(self, to: str, body: str) -> str:
        self._note("send_email", {"to": to, "body": body})
        return f"sent to {to}"

    def names(self) -> list[str]:
        return [name for name, _ in self.ran]


def tool_calls(*calls: tuple[str, dict[str, Any], str]) -> dict[str, Any]:
    return {
        "role": "assistant",
        "content": None,
        "tool_calls": [
            {"id": call_id, "type": "function", "function": {"name": name, "arguments": json.dumps(args)}}
            for name, args, call_id in calls
        ],
    }


class ScriptedAssistant:
    """Plays the model: answers each turn with the next scripted message; records what it was sent."""

    def __init__(self, *steps: dict[str, Any] | str) -> None:
        self.steps = list(steps)
        self.received: list[dict[str, Any]] = []
        self.agent = autogen.ConversableAgent("assistant", llm_config=False, human_input_mode="NEVER")
        self.agent.register_reply([autogen.Agent, None], self._reply, position=0)
        self.agent.register_reply(
            [autogen.Agent, None], self._areply, position=0, ignore_async_in_sync_chat=True
        )

    def _next(self, messages: list[dict[str, Any]]) -> tuple[bool, Any]:
        self.received.append(messages[-1])
        return True, self.steps.pop(0)

    def _reply(self, recipient: Any, messages: Any, sender: Any, config: Any) -> tuple[bool, Any]:
        return self._next(messages)

    async def _areply(self, recipient: Any, messages: Any, sender: Any, config: Any) -> tuple[bool, Any]:
        return self._next(messages)

    def tool_responses(self) -> dict[str, str]:
        """call id -> the content the model was given for it."""
        return {
            r["tool_call_id"]: r["content"]
            for message in self.received
            for r in message.get("tool_responses", [])
        }


def executor(function_map: dict[str, Any]) -> autogen.UserProxyAgent:
    return autogen.UserProxyAgent(
        "executor",
        human_input_mode="NEVER",
        code_execution_config=False,
        function_map=function_map,
        is_termination_msg=lambda m: "TERMINATE" in (m.get("content") or ""),
    )


def readme_tracer(server: Any, agent_id: str) -> Tracer:
    """The tracer exactly as the existing README builds it (LangGraph section)."""
    config = ThothConfig(
        agent_id=agent_id,
        approved_scope=["search_docs"],
        tenant_id=server.tenant_id,
        user_id="alice@acme.com",
        enforcement=EnforcementMode.BLOCK,
        api_key=server.api_key,
        api_url=server.url,
    )
    session = SessionContext(config)
    return Tracer(
        config=config,
        session=session,
        emitter=HttpEmitter(api_url=config.resolved_api_url, api_key=server.api_key),
        enforcer=EnforcerClient(config),
        step_up=StepUpClient(config),
    )


def test_readme_wrap_autogen_tools_allows_and_blocks(thoth_server: Any) -> None:
    from thoth.integrations.autogen import wrap_autogen_tools

    agent_id = new_agent_id("autogen-readme")
    tracer = readme_tracer(thoth_server, agent_id)
    tools = Tools()
    governed = wrap_autogen_tools(
        {"search_docs": tools.search_docs, "send_email": tools.send_email}, tracer=tracer
    )
    user_proxy = executor(governed)
    model = ScriptedAssistant(
        tool_calls(
            ("search_docs", {"query": "retention"}, "call_1"),
            ("send_email", {"to": "x@y.z", "body": "hi"}, "call_2"),
        ),
        "Done. TERMINATE",
    )

    user_proxy.initiate_chat(model.agent, message="find the retention policy", max_turns=3, silent=True)

    assert tools.ran == [("search_docs", {"query": "retention"})]  # send_email's body never ran
    seen = model.tool_responses()
    assert seen["call_1"] == "3 documents about retention"
    assert seen["call_2"].startswith("Error: Thoth blocked tool 'send_email'")
    kinds = [(kind, tool) for kind, tool, _ in events(thoth_server, agent_id)]
    assert ("TOOL_CALL_POST", "search_docs") in kinds
    assert ("TOOL_CALL_BLOCK", "send_email") in kinds
    assert ("TOOL_CALL_POST", "send_email") not in kinds


def test_instrument_async_parallel_calls_keyed_by_call_id_and_usable_after_refusal(thoth_server: Any) -> None:
    import asyncio

    agent_id = new_agent_id("autogen-async")
    tools = Tools()
    user_proxy = executor({"search_docs": tools.asearch_docs, "send_email": tools.asend_email})
    assert (
        thoth.instrument(
            user_proxy,
            **governed_options(thoth_server, agent_id, ["search_docs"], "block", on_block="return"),
        )
        is user_proxy
    )
    model = ScriptedAssistant(
        tool_calls(
            ("send_email", {"to": "x@y.z", "body": "hi"}, "c-mail"), ("search_docs", {"query": "a"}, "c-a")
        ),
        tool_calls(("search_docs", {"query": "b"}, "c-b")),  # the agent goes on after the refusal
        "Done. TERMINATE",
    )

    asyncio.run(user_proxy.a_initiate_chat(model.agent, message="go", max_turns=4, silent=True))

    assert sorted(tools.names()) == ["search_docs", "search_docs"]
    seen = model.tool_responses()
    assert seen["c-mail"].startswith(REFUSAL_MARK) and "send_email" in seen["c-mail"]
    assert seen["c-a"] == "3 documents about a" and seen["c-b"] == "3 documents about b"
    per_call = by_call(events(thoth_server, agent_id))
    assert per_call["c-mail"] == ["TOOL_CALL_PRE", "TOOL_CALL_BLOCK"]
    assert per_call["c-a"] == ["TOOL_CALL_PRE", "TOOL_CALL_POST"]
    assert per_call["c-b"] == ["TOOL_CALL_PRE", "TOOL_CALL_POST"]


def test_step_up_is_approved_while_the_chat_waits(thoth_server: Any) -> None:
    agent_id = new_agent_id("autogen-stepup")
    tools = Tools()
    user_proxy = executor({"search_docs": tools.search_docs, "send_email": tools.send_email})
    thoth.instrument(user_proxy, **governed_options(thoth_server, agent_id, ["search_docs"], "step_up"))
    model = ScriptedAssistant(
        tool_calls(("send_email", {"to": "boss@acme.com", "body": "report"}, "c-1")), "TERMINATE"
    )

    with Approver(thoth_server, agent_id) as approver:
        user_proxy.initiate_chat(model.agent, message="mail the report", max_turns=2, silent=True)

    assert len(approver.approved) == 1 and approver.approved[0]["tool_name"] == "send_email"
    assert tools.ran == [("send_email", {"to": "boss@acme.com", "body": "report"})]
    assert model.tool_responses()["c-1"] == "sent to boss@acme.com"
    assert by_call(events(thoth_server, agent_id))["c-1"] == ["TOOL_CALL_PRE", "TOOL_CALL_POST"]


def test_functions_registered_after_instrument_are_governed_too(thoth_server: Any) -> None:
    agent_id = new_agent_id("autogen-late")
    tools = Tools()
    user_proxy = executor({})
    thoth.instrument(user_proxy, **governed_options(thoth_server, agent_id, ["search_docs"], "block"))
    user_proxy.register_function({"send_email": tools.send_email})
    model = ScriptedAssistant(tool_calls(("send_email", {"to": "x", "body": "y"}, "c-1")), "TERMINATE")

    user_proxy.initiate_chat(model.agent, message="go", max_turns=2, silent=True)

    assert tools.ran == []
    assert model.tool_responses()["c-1"].startswith("Error: Thoth blocked tool 'send_email'")


def test_enforcer_failure_never_runs_the_tool() -> None:
    from thoth.integrations.autogen import instrument

    tools = Tools()
    user_proxy = executor({"search_docs": tools.search_docs})
    instrument(
        user_proxy, unreachable_tracer(new_agent_id("autogen-down"), ["search_docs"], on_block="return")
    )
    model = ScriptedAssistant(tool_calls(("search_docs", {"query": "q"}, "c-1")), "TERMINATE")

    user_proxy.initiate_chat(model.agent, message="go", max_turns=2, silent=True)

    assert tools.ran == []  # fail closed, even for an approved tool
    assert model.tool_responses()["c-1"].startswith(REFUSAL_MARK)


def test_modify_runs_the_tool_with_rewritten_arguments(make_thoth_server: Any) -> None:
    server = make_thoth_server(policy_text=modify_policy("send_email"))
    agent_id = new_agent_id("autogen-modify")
    tools = Tools()
    user_proxy = executor({"send_email": tools.send_email})
    thoth.instrument(user_proxy, **governed_options(server, agent_id, ["send_email"], "block"))
    model = ScriptedAssistant(
        tool_calls(("send_email", {"to": "x@evil.com", "body": "hi"}, "c-1")), "TERMINATE"
    )

    user_proxy.initiate_chat(model.agent, message="go", max_turns=2, silent=True)

    assert tools.ran == [("send_email", {"to": "security@acme.com", "body": "hi"})]
    assert model.tool_responses()["c-1"] == "sent to security@acme.com"
    assert by_call(events(server, agent_id))["c-1"] == ["TOOL_CALL_PRE", "TOOL_CALL_POST"]


def test_sync_chat_runs_async_tools_governed(thoth_server: Any) -> None:
    # A sync chat runs each async tool in a fresh event loop on another thread (AutoGen's own way).
    agent_id = new_agent_id("autogen-sync-async")
    tools = Tools()
    user_proxy = executor({"search_docs": tools.asearch_docs, "send_email": tools.asend_email})
    thoth.instrument(user_proxy, **governed_options(thoth_server, agent_id, ["search_docs"], "block"))
    model = ScriptedAssistant(
        tool_calls(
            ("search_docs", {"query": "a"}, "c-a"), ("send_email", {"to": "x", "body": "y"}, "c-mail")
        ),
        tool_calls(("search_docs", {"query": "b"}, "c-b")),
        "TERMINATE",
    )

    user_proxy.initiate_chat(model.agent, message="go", max_turns=4, silent=True)

    assert tools.names() == ["search_docs", "search_docs"]
    seen = model.tool_responses()
    assert seen["c-mail"].startswith("Error: Thoth blocked tool 'send_email'")
    assert seen["c-b"] == "3 documents about b"
    per_call = by_call(events(thoth_server, agent_id))
    assert per_call["c-a"] == per_call["c-b"] == ["TOOL_CALL_PRE", "TOOL_CALL_POST"]
    assert per_call["c-mail"] == ["TOOL_CALL_PRE", "TOOL_CALL_BLOCK"]


def test_instrumenting_a_group_chat_manager_governs_its_members(thoth_server: Any) -> None:
    agent_id = new_agent_id("autogen-groupchat")
    tools = Tools()
    member = executor({"send_email": tools.send_email, "search_docs": tools.search_docs})
    other = autogen.ConversableAgent("writer", llm_config=False, human_input_mode="NEVER")
    manager = autogen.GroupChatManager(
        autogen.GroupChat(agents=[member, other], messages=[]), llm_config=False
    )
    thoth.instrument(manager, **governed_options(thoth_server, agent_id, ["search_docs"], "block"))

    with pytest.raises(thoth.ThothPolicyViolation):
        member.function_map["send_email"](to="x", body="y")
    assert member.function_map["search_docs"](query="q") == "3 documents about q"
    assert tools.ran == [("search_docs", {"query": "q"})]
