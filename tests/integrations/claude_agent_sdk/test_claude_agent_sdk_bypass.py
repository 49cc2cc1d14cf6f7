"""Claude Agent SDK: no way around the check. Each public way a session runs a tool is driven through
the real Claude Code CLI against the scripted Messages API on 127.0.0.1 and a real `thoth serve`: a
blocked tool's body never runs and the enforcer records the refusal."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("claude_agent_sdk")

from claude_agent_sdk import AgentDefinition, ClaudeSDKClient, HookMatcher, query
from claude_agent_sdk_support import EMAIL, SEARCH, ScriptedMessagesAPI, Tools, options, result_text, run

import thoth
from tests.integrations._shared import REFUSAL_MARK, events, governed_options, make_tracer, new_agent_id
from thoth.integrations.claude_agent_sdk import instrument, thoth_can_use_tool

pytestmark = [
    pytest.mark.integration,
    pytest.mark.timeout(120),
    pytest.mark.filterwarnings("ignore::claude_agent_sdk.CanUseToolShadowedWarning"),
]

BLOCKED = ["TOOL_CALL_PRE", "TOOL_CALL_BLOCK"]


@pytest.fixture
def home(tmp_path: Path) -> str:
    return str(tmp_path)


def mail_api() -> ScriptedMessagesAPI:
    return ScriptedMessagesAPI([("tool_use", "toolu_1", EMAIL, {"to": "x", "body": "y"})], [("text", "ok")])


def recorded(server: Any, agent_id: str, tool: str = EMAIL) -> list[str]:
    return [kind for kind, name, _call_id in events(server, agent_id) if name == tool]


def only_search(server: Any, agent_id: str) -> dict[str, Any]:
    return governed_options(server, agent_id, [SEARCH], "block", on_block="return")


async def test_query_function_is_governed(thoth_server: Any, home: str) -> None:
    agent_id = new_agent_id("claude-query")
    tools, api = Tools(), mail_api()
    opts = options(api, home, tools, allowed_tools=[EMAIL])
    thoth.instrument(opts, **only_search(thoth_server, agent_id))
    try:
        async for _message in query(prompt="go", options=opts):
            pass
    finally:
        api.close()

    assert tools.ran == []
    assert REFUSAL_MARK in result_text(api.tool_results()["toolu_1"])
    assert recorded(thoth_server, agent_id) == BLOCKED


async def test_bypass_permissions_mode_is_still_governed(thoth_server: Any, home: str) -> None:
    agent_id = new_agent_id("claude-bypassmode")
    tools, api = Tools(), mail_api()
    opts = options(api, home, tools, permission_mode="bypassPermissions")
    opts.env["IS_SANDBOX"] = "1"  # the CLI refuses bypassPermissions as root outside a sandbox
    thoth.instrument(opts, **only_search(thoth_server, agent_id))
    try:
        await run(opts)
    finally:
        api.close()

    assert tools.ran == []
    assert recorded(thoth_server, agent_id) == BLOCKED


async def test_options_copied_after_instrument_stay_governed(thoth_server: Any, home: str) -> None:
    agent_id = new_agent_id("claude-copy")
    tools, api = Tools(), mail_api()
    opts = options(api, home, tools)
    thoth.instrument(opts, **only_search(thoth_server, agent_id))
    copied = dataclasses.replace(opts, allowed_tools=[EMAIL], max_turns=5)
    try:
        await run(copied)
    finally:
        api.close()

    assert tools.ran == []
    assert recorded(thoth_server, agent_id) == BLOCKED


async def test_hooks_replaced_after_instrument_get_thoth_back(thoth_server: Any, home: str) -> None:
    agent_id = new_agent_id("claude-rehook")
    tools, api = Tools(), mail_api()
    seen: list[str] = []

    async def app_hook(hook_input: Any, tool_use_id: str | None, context: Any) -> dict[str, Any]:
        seen.append(str(hook_input.get("tool_name")))
        return {}

    opts = options(api, home, tools, allowed_tools=[EMAIL])  # allowed_tools: can_use_tool is skipped
    thoth.instrument(opts, **only_search(thoth_server, agent_id))
    opts.hooks = {"PreToolUse": [HookMatcher(hooks=[app_hook])]}  # drops Thoth's hooks
    try:
        await run(opts)
    finally:
        api.close()

    assert tools.ran == []
    assert seen == [EMAIL]  # the application's own hook still runs
    assert recorded(thoth_server, agent_id) == BLOCKED


async def test_an_application_hook_that_allows_does_not_override_the_refusal(
    thoth_server: Any, home: str
) -> None:
    agent_id = new_agent_id("claude-apphook")
    tools, api = Tools(), mail_api()

    async def allow_all(hook_input: Any, tool_use_id: str | None, context: Any) -> dict[str, Any]:
        return {"hookSpecificOutput": {"hookEventName": "PreToolUse", "permissionDecision": "allow"}}

    opts = options(api, home, tools, hooks={"PreToolUse": [HookMatcher(hooks=[allow_all])]})
    thoth.instrument(opts, **only_search(thoth_server, agent_id))
    try:
        await run(opts)
    finally:
        api.close()

    assert tools.ran == []
    assert recorded(thoth_server, agent_id) == BLOCKED


async def test_client_options_replaced_before_connect_are_governed(thoth_server: Any, home: str) -> None:
    agent_id = new_agent_id("claude-newopts")
    tools, api = Tools(), mail_api()
    client = ClaudeSDKClient(options(api, home, tools))
    thoth.instrument(client, **only_search(thoth_server, agent_id))
    client.options = options(api, home, tools, allowed_tools=[EMAIL])  # fresh, never instrumented
    try:
        async with client:
            await client.query("go")
            async for _message in client.receive_response():
                pass
            with pytest.raises(thoth.ThothConfigError, match="before it connects"):
                thoth.instrument(client, **only_search(thoth_server, agent_id))
    finally:
        api.close()

    assert tools.ran == []
    assert recorded(thoth_server, agent_id) == BLOCKED


async def test_reinstrument_with_another_tracer_takes_effect(thoth_server: Any, home: str) -> None:
    first_id, second_id = new_agent_id("claude-first"), new_agent_id("claude-second")
    tools, api = Tools(), mail_api()
    opts = options(api, home, tools)
    thoth.instrument(opts, **governed_options(thoth_server, first_id, [EMAIL], "block", on_block="return"))
    thoth.instrument(opts, **only_search(thoth_server, second_id))
    try:
        await run(opts)
    finally:
        api.close()

    assert tools.ran == []
    assert recorded(thoth_server, second_id) == BLOCKED
    assert recorded(thoth_server, first_id) == []


async def test_same_tracer_twice_decides_once(thoth_server: Any, home: str) -> None:
    agent_id = new_agent_id("claude-twice")
    tools, api = Tools(), mail_api()
    tracer = make_tracer(thoth_server, agent_id, [SEARCH], "block", on_block="return")
    opts = instrument(instrument(options(api, home, tools), tracer), tracer)
    try:
        await run(opts)
    finally:
        api.close()

    assert tools.ran == []
    assert recorded(thoth_server, agent_id) == BLOCKED  # one decision, not two


async def test_can_use_tool_alone_with_allowed_tools_is_still_governed(thoth_server: Any, home: str) -> None:
    # The CLI never asks can_use_tool about allowed_tools: Thoth adds its hook when the session starts.
    agent_id = new_agent_id("claude-cb-allowed")
    tools, api = Tools(), mail_api()
    tracer = make_tracer(thoth_server, agent_id, [SEARCH], "block", on_block="return")
    opts = options(api, home, tools, allowed_tools=[EMAIL], can_use_tool=thoth_can_use_tool(tracer))
    try:
        await run(opts)
    finally:
        api.close()

    assert tools.ran == []
    assert recorded(thoth_server, agent_id) == BLOCKED


async def test_a_sub_agents_tool_calls_are_governed(thoth_server: Any, home: str) -> None:
    agent_id = new_agent_id("claude-subagent")
    tools = Tools()
    api = ScriptedMessagesAPI(
        [
            (
                "tool_use",
                "toolu_task",
                "Task",
                {"description": "mail", "prompt": "mail it", "subagent_type": "mailer"},
            )
        ],
        [("text", "done")],
        by_system={  # the sub-agent's turns, in whatever order its requests and the main loop's arrive
            "Send the mail.": [
                [("tool_use", "toolu_sub", EMAIL, {"to": "x", "body": "y"})],
                [("text", "sub done")],
            ]
        },
    )
    helper = AgentDefinition(description="Sends mail", prompt="Send the mail.", tools=[EMAIL])
    opts = options(api, home, tools, agents={"mailer": helper}, allowed_tools=["Agent", SEARCH, EMAIL])
    opts.tools = ["Agent"]  # the built-in that starts a sub-agent (formerly "Task")
    thoth.instrument(
        opts, **governed_options(thoth_server, agent_id, [SEARCH, "Agent"], "block", on_block="return")
    )
    try:
        await run(opts)
    finally:
        api.close()

    assert tools.ran == []
    assert REFUSAL_MARK in result_text(api.tool_results()["toolu_sub"])
    assert not api.by_system["Send the mail."]  # the sub-agent asked for both its turns: it made the call
    assert recorded(thoth_server, agent_id) == BLOCKED
    assert recorded(thoth_server, agent_id, "Agent") == ["TOOL_CALL_PRE", "TOOL_CALL_POST"]
