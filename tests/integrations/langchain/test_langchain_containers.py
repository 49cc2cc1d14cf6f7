"""LangChain tools inside the generic shapes (issue 14, item 12): an object with a ``.tools`` list or
dict, a list (also one that starts with a plain function), a dict. Each ``StructuredTool`` in them is
governed by the LangChain integration, in place, as when the tools are instrumented on their own:
against a real `thoth serve` on 127.0.0.1, an allowed call runs and a blocked one raises
``ThothPolicyViolation`` with the tool body unrun, through ``invoke``, ``ainvoke``, ``run`` and ``arun``."""

from __future__ import annotations

import inspect
import uuid
from typing import Any

import pytest

pytest.importorskip("langchain_core")

from langchain_core.tools import StructuredTool

import thoth
from tests.integrations._shared import (
    GENERIC_SHAPES,
    ToolHolder,
    events,
    generic_container,
    governed_options,
    held_tools,
    ping,
)
from thoth.integrations.langchain import GovernedTool

pytestmark = pytest.mark.integration

DELETE = {"path": "/etc/hosts"}
SEARCH = {"query": "cats"}


class Tools:
    """``web_search`` is in scope, ``delete_file`` is not; both bodies (sync and async) record their runs."""

    def __init__(self) -> None:
        self.ran: list[tuple[str, Any]] = []

        def web_search(query: str) -> str:
            self.ran.append(("web_search", query))
            return f"results for {query}"

        async def aweb_search(query: str) -> str:
            return web_search(query)

        def delete_file(path: str) -> str:
            self.ran.append(("delete_file", path))
            return f"deleted {path}"

        async def adelete_file(path: str) -> str:
            return delete_file(path)

        self.web_search = StructuredTool.from_function(
            func=web_search, coroutine=aweb_search, name="web_search", description="Search the web."
        )
        self.delete_file = StructuredTool.from_function(
            func=delete_file, coroutine=adelete_file, name="delete_file", description="Delete a file."
        )

    @property
    def deleted(self) -> bool:
        return any(name == "delete_file" for name, _ in self.ran)


async def _call(tool_obj: Any, way: str, args: dict[str, Any]) -> Any:
    out = getattr(tool_obj, way)(args)
    return await out if inspect.isawaitable(out) else out


def _agent_id() -> str:
    return f"lcc-{uuid.uuid4().hex[:8]}"


def _recorded(server: Any, agent_id: str) -> list[tuple[str, str]]:
    return [(kind, name) for kind, name, _ in events(server, agent_id)]


@pytest.mark.parametrize("way", ["invoke", "ainvoke", "run", "arun"])
@pytest.mark.parametrize("shape", GENERIC_SHAPES)
async def test_langchain_tools_in_a_generic_container_are_governed(
    thoth_server: Any, shape: str, way: str
) -> None:
    tools, agent_id = Tools(), _agent_id()
    container = generic_container(shape, {"web_search": tools.web_search, "delete_file": tools.delete_file})

    assert thoth.instrument(
        container, **governed_options(thoth_server, agent_id, ["web_search"], "block")
    ) is (container)

    held = held_tools(container)
    assert tools.web_search in held and tools.delete_file in held  # governed in place, not replaced
    assert isinstance(tools.delete_file, GovernedTool)
    assert await _call(tools.web_search, way, SEARCH) == "results for cats"
    with pytest.raises(thoth.ThothPolicyViolation):
        await _call(tools.delete_file, way, DELETE)
    assert tools.ran == [("web_search", "cats")]  # the blocked body never ran
    recorded = _recorded(thoth_server, agent_id)
    assert ("TOOL_CALL_POST", "web_search") in recorded
    assert ("TOOL_CALL_BLOCK", "delete_file") in recorded
    assert ("TOOL_CALL_POST", "delete_file") not in recorded


async def test_the_plain_function_of_a_mixed_list_is_governed_too(thoth_server: Any) -> None:
    tools, agent_id = Tools(), _agent_id()
    container = generic_container("list_after_a_plain_function", {"web_search": tools.web_search})
    thoth.instrument(container, **governed_options(thoth_server, agent_id, ["web_search"], "block"))

    assert container[0] is not ping  # the list holds the governed callable
    with pytest.raises(thoth.ThothPolicyViolation):
        container[0]("example.com")
    assert ("TOOL_CALL_BLOCK", "ping") in _recorded(thoth_server, agent_id)


def test_func_and_tool_calls_of_a_tool_in_a_dict_are_governed(thoth_server: Any) -> None:
    tools, agent_id = Tools(), _agent_id()
    container = ToolHolder({"delete_file": tools.delete_file})
    thoth.instrument(container, **governed_options(thoth_server, agent_id, [], "block", on_block="return"))

    call = {"name": "delete_file", "args": DELETE, "id": "call_1", "type": "tool_call"}
    message = tools.delete_file.invoke(call)
    assert message.status == "error"
    assert "[Thoth policy]" in str(tools.delete_file.func(**DELETE))
    assert not tools.deleted


def test_a_container_instrumented_again_under_other_settings_is_refused(thoth_server: Any) -> None:
    # The same rule as for a LangChain tool list: one tool object carries one agent's settings.
    tools, first, second = Tools(), _agent_id(), _agent_id()
    container = ToolHolder([tools.web_search, tools.delete_file])
    thoth.instrument(container, **governed_options(thoth_server, first, ["web_search"], "block"))

    with pytest.raises(thoth.ThothConfigError, match="already governed for agent"):
        thoth.instrument(container, **governed_options(thoth_server, second, ["delete_file"], "block"))

    with pytest.raises(thoth.ThothPolicyViolation):
        tools.delete_file.invoke(DELETE)  # still decided under the first agent's settings
    assert not tools.deleted
    assert ("TOOL_CALL_BLOCK", "delete_file") in _recorded(thoth_server, first)
