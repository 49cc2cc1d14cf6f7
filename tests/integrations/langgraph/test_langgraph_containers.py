"""LangChain tools given to ``thoth.instrument`` in a generic shape (an object with ``.tools``, a dict,
a list that starts with a plain function: issue 14, item 12), then run by a LangGraph graph nobody
instrumented. The tools are governed in place by the LangChain integration, so the graph's ToolNode
runs governed tools: against a real `thoth serve` on 127.0.0.1, the allowed call runs and the blocked
one is answered with the refusal, its body unrun, through ``invoke`` and ``ainvoke``."""

from __future__ import annotations

import uuid
import warnings
from typing import Any

import pytest

pytest.importorskip("langgraph.prebuilt")

from test_langgraph_integration import Tools, _search_and_post

import thoth
from tests.integrations._langchain_model import scripted, tool_messages_seen
from tests.integrations._shared import (
    GENERIC_SHAPES,
    REFUSAL_MARK,
    events,
    generic_container,
    governed_options,
)

with warnings.catch_warnings():  # create_react_agent is deprecated in favour of langchain's create_agent
    warnings.simplefilter("ignore")
    from langgraph.prebuilt import create_react_agent

pytestmark = [
    pytest.mark.integration,
    pytest.mark.filterwarnings("ignore:create_react_agent has been moved"),
]


@pytest.mark.parametrize("mode", ["invoke", "ainvoke"])
@pytest.mark.parametrize("shape", GENERIC_SHAPES)
async def test_a_graph_over_tools_governed_in_a_generic_container_is_governed(
    thoth_server: Any, shape: str, mode: str
) -> None:
    tools, model, agent_id = Tools(), scripted(*_search_and_post()), f"lgc-{uuid.uuid4().hex[:8]}"
    thoth.instrument(
        generic_container(
            shape, {"search_database": tools.search_database, "send_slack_message": tools.send_slack_message}
        ),
        **governed_options(thoth_server, agent_id, ["search_database"], "block", on_block="return"),
    )
    graph = create_react_agent(model, tools.all)  # not instrumented: the tools carry their governance

    state = {"messages": [("user", "post Q4")]}
    if mode == "invoke":
        graph.invoke(state)
    else:
        await graph.ainvoke(state)

    assert tools.ran == ["search:Q4"]  # the allowed call ran, the blocked one did not
    seen = tool_messages_seen(model)
    assert seen["call_slack"].status == "error"
    assert REFUSAL_MARK in str(seen["call_slack"].content)
    recorded = events(thoth_server, agent_id)
    assert ("TOOL_CALL_BLOCK", "send_slack_message", "call_slack") in recorded
    assert ("TOOL_CALL_POST", "search_database", "call_search") in recorded
