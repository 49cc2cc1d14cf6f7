"""AutoGen classic bypass matrix: every way an agent runs a function is governed, against a real
`thoth serve` on 127.0.0.1, driven by the scripted assistant of test_autogen_integration."""

from __future__ import annotations

import asyncio
import copy
import json
from typing import Any

import pytest

pytest.importorskip("autogen")

import autogen
from test_autogen_integration import ScriptedAssistant, Tools, executor, tool_calls

import thoth
from tests.integrations._shared import by_call, events, governed_options, new_agent_id

pytestmark = pytest.mark.integration

BLOCKED = "Error: Thoth blocked tool 'send_email'"
MAIL = ("send_email", {"to": "x@y.z", "body": "hi"})


def instrument(agent: Any, server: Any, agent_id: str, scope: list[str] | None = None) -> Any:
    return thoth.instrument(agent, **governed_options(server, agent_id, scope or ["search_docs"], "block"))


def assert_refused(server: Any, agent_id: str, call_id: str | None = None) -> None:
    recorded = events(server, agent_id)
    assert ("TOOL_CALL_BLOCK", "send_email") in [(kind, tool) for kind, tool, _ in recorded]
    assert ("TOOL_CALL_POST", "send_email") not in [(kind, tool) for kind, tool, _ in recorded]
    if call_id is not None:
        assert by_call(recorded)[call_id] == ["TOOL_CALL_PRE", "TOOL_CALL_BLOCK"]


def test_function_map_entry_set_after_instrument_is_governed(thoth_server: Any) -> None:
    agent_id = new_agent_id("autogen-bypass-map")
    tools = Tools()
    user_proxy = instrument(executor({}), thoth_server, agent_id)
    user_proxy.function_map["send_email"] = tools.send_email  # no register_function at all
    model = ScriptedAssistant(tool_calls((*MAIL, "c-1")), "TERMINATE")

    user_proxy.initiate_chat(model.agent, message="go", max_turns=2, silent=True)

    assert tools.ran == []
    assert model.tool_responses()["c-1"].startswith(BLOCKED)
    assert_refused(thoth_server, agent_id, "c-1")


def test_register_for_execution_after_instrument_async_chat(thoth_server: Any) -> None:
    agent_id = new_agent_id("autogen-bypass-decorator")
    tools = Tools()
    user_proxy = instrument(executor({}), thoth_server, agent_id)

    @user_proxy.register_for_execution(name="send_email")
    async def send_email(to: str, body: str) -> str:
        return await tools.asend_email(to, body)

    model = ScriptedAssistant(tool_calls((*MAIL, "c-1")), "TERMINATE")

    asyncio.run(user_proxy.a_initiate_chat(model.agent, message="go", max_turns=2, silent=True))

    assert tools.ran == []
    assert model.tool_responses()["c-1"].startswith(BLOCKED)
    assert_refused(thoth_server, agent_id, "c-1")


def test_legacy_function_call_via_generate_reply_and_a_generate_reply(thoth_server: Any) -> None:
    agent_id = new_agent_id("autogen-bypass-function-call")
    tools = Tools()
    user_proxy = executor({"send_email": tools.send_email})
    instrument(user_proxy, thoth_server, agent_id)
    sender = autogen.ConversableAgent("assistant", llm_config=False, human_input_mode="NEVER")
    message = {
        "role": "assistant",
        "content": None,
        "function_call": {"name": "send_email", "arguments": json.dumps(MAIL[1])},
    }

    reply = user_proxy.generate_reply(messages=[message], sender=sender)
    areply = asyncio.run(user_proxy.a_generate_reply(messages=[message], sender=sender))

    assert tools.ran == []
    assert isinstance(reply, dict) and str(reply["content"]).startswith(BLOCKED)
    assert isinstance(areply, dict) and str(areply["content"]).startswith(BLOCKED)
    assert [kind for kind, tool, _ in events(thoth_server, agent_id) if tool == "send_email"].count(
        "TOOL_CALL_BLOCK"
    ) == 2


def test_execute_function_and_a_execute_function_directly(thoth_server: Any) -> None:
    agent_id = new_agent_id("autogen-bypass-execute")
    tools = Tools()
    user_proxy = instrument(executor({"send_email": tools.send_email}), thoth_server, agent_id)
    call = {"name": "send_email", "arguments": json.dumps(MAIL[1])}

    ok, result = user_proxy.execute_function(call, call_id="c-sync")
    aok, aresult = asyncio.run(user_proxy.a_execute_function(call, call_id="c-async"))

    assert tools.ran == [] and not ok and not aok
    assert result["content"].startswith(BLOCKED) and aresult["content"].startswith(BLOCKED)
    assert_refused(thoth_server, agent_id, "c-sync")
    assert by_call(events(thoth_server, agent_id))["c-async"] == ["TOOL_CALL_PRE", "TOOL_CALL_BLOCK"]


def test_group_chat_member_who_joins_later_is_governed(thoth_server: Any) -> None:
    agent_id = new_agent_id("autogen-bypass-late-member")
    tools = Tools()
    model = ScriptedAssistant(tool_calls((*MAIL, "c-1")), "Done. TERMINATE")
    late = executor({"send_email": tools.send_email})
    groupchat = autogen.GroupChat(
        agents=[model.agent],
        messages=[],
        max_round=4,
        speaker_selection_method=lambda last, chat: model.agent if last is late else late,
    )
    manager = autogen.GroupChatManager(groupchat, llm_config=False)
    instrument(manager, thoth_server, agent_id)
    groupchat.agents.append(late)  # joins after instrument()

    late.initiate_chat(manager, message="go", silent=True)

    assert tools.ran == []
    assert model.tool_responses()["c-1"].startswith(BLOCKED)
    assert_refused(thoth_server, agent_id, "c-1")


def test_nested_chat_registered_after_instrument_is_governed(thoth_server: Any) -> None:
    agent_id = new_agent_id("autogen-bypass-nested")
    tools = Tools()
    outer = instrument(
        autogen.ConversableAgent("outer", llm_config=False, human_input_mode="NEVER"), thoth_server, agent_id
    )
    inner = executor({"send_email": tools.send_email})  # never instrumented by the user
    model = ScriptedAssistant(tool_calls((*MAIL, "c-1")), "Done. TERMINATE")
    outer.register_nested_chats(
        [{"sender": inner, "recipient": model.agent, "message": "go", "max_turns": 2, "silent": True}],
        trigger=lambda sender: True,
    )
    starter = autogen.ConversableAgent("starter", llm_config=False, human_input_mode="NEVER")

    starter.initiate_chat(outer, message="start", max_turns=1, silent=True)

    assert tools.ran == []
    assert model.tool_responses()["c-1"].startswith(BLOCKED)
    assert_refused(thoth_server, agent_id, "c-1")


def test_run_executor_is_governed_by_the_agent_that_creates_it(thoth_server: Any) -> None:
    # ConversableAgent.run() without a recipient assigns agent.run_executor, then registers the tools on it.
    agent_id = new_agent_id("autogen-bypass-run")
    tools = Tools()
    model = ScriptedAssistant(tool_calls((*MAIL, "c-1")), "TERMINATE")
    instrument(model.agent, thoth_server, agent_id)
    model.agent.run_executor = executor({})
    model.agent.run_executor.register_function({"send_email": tools.send_email})

    model.agent.initiate_chat(model.agent.run_executor, message="go", max_turns=2, silent=True)

    assert tools.ran == []
    assert_refused(thoth_server, agent_id)


def test_shared_function_is_decided_under_the_agent_that_runs_it(thoth_server: Any) -> None:
    allowed_id, blocked_id = new_agent_id("autogen-bypass-share-a"), new_agent_id("autogen-bypass-share-b")
    tools = Tools()
    allows = instrument(executor({"send_email": tools.send_email}), thoth_server, allowed_id, ["send_email"])
    blocks = instrument(executor({"send_email": tools.send_email}), thoth_server, blocked_id)
    blocks.register_function({"send_email": allows.function_map["send_email"]}, silent_override=True)
    call = {"name": "send_email", "arguments": json.dumps(MAIL[1])}

    blocked = blocks.execute_function(call, call_id="c-b")[1]["content"]
    allowed = allows.execute_function(call, call_id="c-a")[1]["content"]

    assert blocked.startswith(BLOCKED) and allowed == "sent to x@y.z"
    assert tools.ran == [MAIL]
    assert_refused(thoth_server, blocked_id, "c-b")
    assert by_call(events(thoth_server, allowed_id))["c-a"] == ["TOOL_CALL_PRE", "TOOL_CALL_POST"]


def test_reinstrument_with_new_settings_takes_effect(thoth_server: Any) -> None:
    first_id, second_id = new_agent_id("autogen-bypass-re-1"), new_agent_id("autogen-bypass-re-2")
    tools = Tools()
    user_proxy = instrument(
        executor({"send_email": tools.send_email}), thoth_server, first_id, ["send_email"]
    )
    instrument(user_proxy, thoth_server, second_id)  # now send_email is out of scope
    model = ScriptedAssistant(tool_calls((*MAIL, "c-1")), "TERMINATE")

    user_proxy.initiate_chat(model.agent, message="go", max_turns=2, silent=True)

    assert tools.ran == []
    assert_refused(thoth_server, second_id, "c-1")
    assert events(thoth_server, first_id) == []


def test_copy_of_an_instrumented_agent_is_governed(thoth_server: Any) -> None:
    agent_id = new_agent_id("autogen-bypass-copy")
    tools = Tools()
    clone = copy.copy(instrument(executor({}), thoth_server, agent_id))
    clone.register_function({"send_email": tools.send_email})
    model = ScriptedAssistant(tool_calls((*MAIL, "c-1")), "TERMINATE")

    clone.initiate_chat(model.agent, message="go", max_turns=2, silent=True)

    assert tools.ran == []
    assert_refused(thoth_server, agent_id, "c-1")
    with pytest.raises(thoth.ThothPolicyViolation):
        clone.function_map["send_email"](**MAIL[1])  # the agent's entry; the plain function is the user's
