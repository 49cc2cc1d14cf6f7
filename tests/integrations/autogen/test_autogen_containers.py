"""AutoGen ``Tool`` objects inside the generic shapes (issue 14, item 12): an object with a
``.tools`` list or dict, a list (also one that starts with a plain function), a dict. Each one is
replaced in its container by a governed copy from the AutoGen integration (as an agent's tools
are), so calling it or its ``func``, sync or async, is decided first: against a real `thoth serve`
on 127.0.0.1, the allowed tool runs and the blocked one raises ``ThothPolicyViolation`` with its
body unrun."""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

import pytest

pytest.importorskip("autogen")

from autogen.tools import Tool
from test_autogen_integration import Tools

import thoth
from tests.integrations._shared import (
    GENERIC_SHAPES,
    events,
    generic_container,
    governed_options,
    held_tools,
    new_agent_id,
)

pytestmark = pytest.mark.integration


def _tools(bodies: Tools, asynchronous: bool) -> list[Any]:
    search, send = (
        (bodies.asearch_docs, bodies.asend_email) if asynchronous else (bodies.search_docs, bodies.send_email)
    )
    return [
        Tool(name="search_docs", description="Search the docs.", func_or_tool=search),
        Tool(name="send_email", description="Send an email.", func_or_tool=send),
    ]


async def _call(fn: Callable[..., Any], **kwargs: Any) -> Any:
    out = fn(**kwargs)
    return await out if inspect.isawaitable(out) else out


@pytest.mark.parametrize("way", ["tool", "func"])
@pytest.mark.parametrize("asynchronous", [False, True], ids=["sync", "async"])
@pytest.mark.parametrize("shape", GENERIC_SHAPES)
async def test_autogen_tools_in_a_generic_container_are_governed(
    thoth_server: Any, shape: str, asynchronous: bool, way: str
) -> None:
    bodies, agent_id = Tools(), new_agent_id("autogen-containers")
    originals = _tools(bodies, asynchronous)
    container = generic_container(shape, {t.name: t for t in originals})

    options = governed_options(thoth_server, agent_id, ["search_docs"], "block")
    assert thoth.instrument(container, **options) is container

    held = {t.name: t for t in held_tools(container) if isinstance(t, Tool)}
    assert held["send_email"] is not originals[1]  # the container holds the governed copy
    search, send = held["search_docs"], held["send_email"]
    if way == "func":
        search, send = search.func, send.func
    assert await _call(search, query="q4") == "3 documents about q4"
    with pytest.raises(thoth.ThothPolicyViolation):
        await _call(send, to="x@y.z", body="hi")
    assert bodies.ran == [("search_docs", {"query": "q4"})]  # the blocked body never ran
    recorded = [(kind, tool) for kind, tool, _ in events(thoth_server, agent_id)]
    assert ("TOOL_CALL_POST", "search_docs") in recorded
    assert ("TOOL_CALL_BLOCK", "send_email") in recorded
    assert ("TOOL_CALL_POST", "send_email") not in recorded
