"""OpenAI Agents SDK tools inside the generic shapes (issue 14, item 12): an object with a ``.tools``
list or dict, a list (also one after a plain function), a dict. Each ``FunctionTool`` in them is
governed in place by the OpenAI Agents integration, so a Runner over an Agent nobody instrumented,
or a direct ``on_invoke_tool``, runs the allowed tool and refuses the blocked one (its body unrun),
against a real `thoth serve` on 127.0.0.1. A tool Thoth cannot see run is refused at instrument()."""

from __future__ import annotations

import json
from typing import Any

import pytest

pytest.importorskip("agents")

from agents import Agent, LocalShellTool, Runner, set_tracing_disabled
from agents.testing import ScriptedModel, assistant_message, function_call
from agents.tool_context import ToolContext
from openai_agents_support import Tools, outputs_seen

import thoth
from tests.integrations._shared import (
    GENERIC_SHAPES,
    REFUSAL_MARK,
    by_call,
    events,
    generic_container,
    governed_options,
    new_agent_id,
)

pytestmark = pytest.mark.integration

set_tracing_disabled(True)  # the SDK's trace exporter would call the hosted API


def _govern(container: Any, server: Any, agent_id: str) -> None:
    options = governed_options(server, agent_id, ["search_docs"], "block", on_block="return")
    assert thoth.instrument(container, **options) is container


@pytest.mark.parametrize("shape", GENERIC_SHAPES)
async def test_a_runner_over_tools_governed_in_a_generic_container_is_governed(
    thoth_server: Any, shape: str
) -> None:
    tools, agent_id = Tools(), new_agent_id("oai-containers")
    search_docs, send_email = tools.functions()
    _govern(
        generic_container(shape, {"search_docs": search_docs, "send_email": send_email}),
        thoth_server,
        agent_id,
    )
    model = ScriptedModel(
        [
            [function_call("search_docs", {"query": "q4"}, call_id="c-1")],
            [function_call("send_email", {"to": "x", "body": "y"}, call_id="c-2")],
            [assistant_message("done")],
        ]
    )

    await Runner.run(Agent(name="a", model=model, tools=[search_docs, send_email]), "go")  # not instrumented

    assert tools.ran == [("search_docs", {"query": "q4"})]
    assert outputs_seen(model)["c-2"].startswith(REFUSAL_MARK)
    assert by_call(events(thoth_server, agent_id)) == {
        "c-1": ["TOOL_CALL_PRE", "TOOL_CALL_POST"],
        "c-2": ["TOOL_CALL_PRE", "TOOL_CALL_BLOCK"],
    }


async def test_a_tool_of_a_dict_called_directly_is_governed(thoth_server: Any) -> None:
    tools, agent_id = Tools(), new_agent_id("oai-containers-direct")
    search_docs, send_email = tools.functions()
    container = {"search_docs": search_docs, "send_email": send_email}
    _govern(container, thoth_server, agent_id)

    arguments = json.dumps({"to": "x", "body": "y"})
    ctx = ToolContext(context=None, tool_name="send_email", tool_call_id="d-1", tool_arguments=arguments)
    answer = await container["send_email"].on_invoke_tool(ctx, arguments)

    assert container["send_email"] is send_email  # governed in place
    assert answer.startswith(REFUSAL_MARK)
    assert tools.ran == []
    assert by_call(events(thoth_server, agent_id))["d-1"] == ["TOOL_CALL_PRE", "TOOL_CALL_BLOCK"]


@pytest.mark.parametrize("shape", GENERIC_SHAPES)
def test_a_tool_thoth_cannot_see_run_is_refused_in_a_container_before_anything_is_governed(
    thoth_server: Any, shape: str
) -> None:
    tools, agent_id = Tools(), new_agent_id("oai-containers-shell")
    search_docs, _ = tools.functions()
    shell = LocalShellTool(executor=lambda request: "ok")
    before = search_docs.on_invoke_tool

    with pytest.raises(thoth.ThothConfigError, match="local_shell"):
        _govern(
            generic_container(shape, {"search_docs": search_docs, "local_shell": shell}),
            thoth_server,
            agent_id,
        )
    assert search_docs.on_invoke_tool is before  # refused before any tool was changed
