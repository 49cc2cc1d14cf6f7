"""Claude Agent SDK: the real Claude Code CLI (bundled with claude-agent-sdk) runs its agent loop
offline against a scripted Messages API on 127.0.0.1, calling in-process SDK MCP tools; Thoth
governs through the SDK's hooks and ``can_use_tool``, against a real `thoth serve` on 127.0.0.1."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("claude_agent_sdk")

from claude_agent_sdk import PermissionResultAllow
from claude_agent_sdk_support import EMAIL, SEARCH, ScriptedMessagesAPI, Tools, options, result_text, run

import thoth
from tests.integrations._shared import (
    REFUSAL_MARK,
    Approver,
    by_call,
    events,
    governed_options,
    make_tracer,
    modify_policy,
    new_agent_id,
    unreachable_tracer,
)
from thoth.integrations.claude_agent_sdk import thoth_can_use_tool

pytestmark = [pytest.mark.integration, pytest.mark.timeout(120)]


@pytest.fixture
def home(tmp_path: Path) -> str:
    return str(tmp_path)


async def test_parallel_calls_refusal_read_by_model_and_usable_after(thoth_server: Any, home: str) -> None:
    agent_id = new_agent_id("claude-sdk")
    tools = Tools()
    api = ScriptedMessagesAPI(
        [
            ("tool_use", "toolu_a", SEARCH, {"query": "a"}),
            ("tool_use", "toolu_mail", EMAIL, {"to": "x", "body": "y"}),
        ],
        [("tool_use", "toolu_b", SEARCH, {"query": "b"})],
        [("text", "done")],
    )
    opts = options(api, home, tools)
    assert (
        thoth.instrument(
            opts, **governed_options(thoth_server, agent_id, [SEARCH], "block", on_block="return")
        )
        is opts
    )
    try:
        outcome = await run(opts)
    finally:
        api.close()

    assert outcome.result is not None
    assert outcome.result.result == "done" and not outcome.result.is_error
    assert tools.ran == [("search_docs", {"query": "a"}), ("search_docs", {"query": "b"})]
    seen = api.tool_results()
    assert seen["toolu_mail"].get("is_error") and REFUSAL_MARK in result_text(seen["toolu_mail"])
    assert result_text(seen["toolu_a"]).startswith("3 documents about a")
    assert result_text(seen["toolu_b"]).startswith("3 documents about b")
    per_call = by_call(events(thoth_server, agent_id))
    assert per_call["toolu_mail"] == ["TOOL_CALL_PRE", "TOOL_CALL_BLOCK"]
    assert per_call["toolu_a"] == per_call["toolu_b"] == ["TOOL_CALL_PRE", "TOOL_CALL_POST"]


@pytest.mark.filterwarnings("ignore::claude_agent_sdk.CanUseToolShadowedWarning")
async def test_tools_auto_approved_by_allowed_tools_are_still_governed(thoth_server: Any, home: str) -> None:
    # allowed_tools makes the CLI skip can_use_tool for these tools; the PreToolUse hook still decides.
    agent_id = new_agent_id("claude-sdk-allowed")
    tools = Tools()
    api = ScriptedMessagesAPI([("tool_use", "toolu_1", EMAIL, {"to": "x", "body": "y"})], [("text", "ok")])
    opts = options(api, home, tools, allowed_tools=[SEARCH, EMAIL])
    thoth.instrument(opts, **governed_options(thoth_server, agent_id, [SEARCH], "block", on_block="return"))
    try:
        await run(opts)
    finally:
        api.close()

    assert tools.ran == []
    assert REFUSAL_MARK in result_text(api.tool_results()["toolu_1"])


async def test_step_up_is_approved_while_the_cli_waits(thoth_server: Any, home: str) -> None:
    agent_id = new_agent_id("claude-sdk-stepup")
    tools = Tools()
    api = ScriptedMessagesAPI(
        [("tool_use", "toolu_1", EMAIL, {"to": "boss", "body": "report"})], [("text", "sent")]
    )
    app_asked: list[str] = []

    async def app_can_use_tool(name: str, tool_input: dict[str, Any], context: Any) -> PermissionResultAllow:
        app_asked.append(name)  # the application's own callback still runs, after Thoth allowed
        return PermissionResultAllow()

    opts = options(api, home, tools, can_use_tool=app_can_use_tool)
    thoth.instrument(opts, **governed_options(thoth_server, agent_id, [SEARCH], "step_up"))
    try:
        with Approver(thoth_server, agent_id) as approver:
            outcome = await run(opts, "mail the report")
    finally:
        api.close()

    assert outcome.result is not None and outcome.result.result == "sent"
    assert [h["tool_name"] for h in approver.approved] == [EMAIL]
    assert tools.ran == [("send_email", {"to": "boss", "body": "report"})]
    assert app_asked == [EMAIL]
    assert result_text(api.tool_results()["toolu_1"]).startswith("sent to boss")
    assert by_call(events(thoth_server, agent_id))["toolu_1"] == ["TOOL_CALL_PRE", "TOOL_CALL_POST"]


@pytest.mark.parametrize("on_block", ["return", "raise"])
async def test_can_use_tool_alone_denies(thoth_server: Any, home: str, on_block: str) -> None:
    agent_id = new_agent_id("claude-sdk-callback")
    tools = Tools()
    api = ScriptedMessagesAPI(
        [("tool_use", "toolu_1", EMAIL, {"to": "x", "body": "y"})], [("text", "went on")]
    )
    tracer = make_tracer(thoth_server, agent_id, [SEARCH], "block", on_block=on_block)
    opts = options(api, home, tools, can_use_tool=thoth_can_use_tool(tracer))
    try:
        outcome = await run(opts)
    finally:
        api.close()

    assert tools.ran == []
    assert outcome.tool_results["toolu_1"].is_error
    if on_block == "return":  # the model reads the refusal and goes on
        assert REFUSAL_MARK in result_text(api.tool_results()["toolu_1"])
        assert outcome.result is not None and outcome.result.result == "went on"
    else:  # interrupt=True: the CLI stops the turn; the model is not asked again
        assert len(api.requests) == 1
    assert by_call(events(thoth_server, agent_id))["toolu_1"] == ["TOOL_CALL_PRE", "TOOL_CALL_BLOCK"]


async def test_enforcer_failure_never_runs_the_tool(home: str) -> None:
    from thoth.integrations.claude_agent_sdk import instrument

    tools = Tools()
    api = ScriptedMessagesAPI([("tool_use", "toolu_1", SEARCH, {"query": "q"})], [("text", "ok")])
    opts = options(api, home, tools)
    instrument(opts, unreachable_tracer(new_agent_id("claude-sdk-down"), [SEARCH], on_block="return"))
    try:
        await run(opts)
    finally:
        api.close()

    assert tools.ran == []
    assert REFUSAL_MARK in result_text(api.tool_results()["toolu_1"])


async def test_modify_runs_the_tool_with_rewritten_arguments(make_thoth_server: Any, home: str) -> None:
    server = make_thoth_server(policy_text=modify_policy(EMAIL))
    agent_id = new_agent_id("claude-sdk-modify")
    tools = Tools()
    api = ScriptedMessagesAPI(
        [("tool_use", "toolu_1", EMAIL, {"to": "x@evil.com", "body": "hi"})], [("text", "ok")]
    )
    opts = options(api, home, tools)
    thoth.instrument(opts, **governed_options(server, agent_id, [EMAIL], "block"))
    try:
        await run(opts)
    finally:
        api.close()

    assert tools.ran == [("send_email", {"to": "security@acme.com", "body": "hi"})]
    assert result_text(api.tool_results()["toolu_1"]).startswith("sent to security@acme.com")
    assert by_call(events(server, agent_id))["toolu_1"] == ["TOOL_CALL_PRE", "TOOL_CALL_POST"]


async def test_raise_mode_stops_the_agent_from_the_hook(thoth_server: Any, home: str) -> None:
    agent_id = new_agent_id("claude-sdk-raise")
    tools = Tools()
    api = ScriptedMessagesAPI(
        [("tool_use", "toolu_1", EMAIL, {"to": "x", "body": "y"})], [("text", "went on")]
    )
    opts = options(api, home, tools)
    thoth.instrument(opts, **governed_options(thoth_server, agent_id, [SEARCH], "block"))  # on_block="raise"
    try:
        outcome = await run(opts)
    finally:
        api.close()

    assert tools.ran == []
    assert len(api.requests) == 1  # continue: false: the model is not asked to go on
    assert outcome.result is not None and outcome.result.result != "went on"
    assert by_call(events(thoth_server, agent_id))["toolu_1"] == ["TOOL_CALL_PRE", "TOOL_CALL_BLOCK"]
