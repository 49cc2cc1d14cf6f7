"""CrewAI tools inside the generic shapes (issue 14, item 12). CrewAI runs a tool through the agent
that holds it (its before/after tool-call hooks), so a CrewAI tool in a list, a dict or an object's
``.tools`` cannot be governed where it stands: ``instrument()`` refuses it with a message naming
what to instrument instead, before it changed anything, and never leaves it to run unchecked."""

from __future__ import annotations

from typing import Any

import pytest

pytest.importorskip("crewai")

from crewai_support import Tools

import thoth
from tests.integrations._shared import (
    GENERIC_SHAPES,
    generic_container,
    governed_options,
    held_tools,
    new_agent_id,
)

pytestmark = pytest.mark.integration


@pytest.mark.parametrize("shape", GENERIC_SHAPES)
def test_a_crewai_tool_in_a_generic_container_is_refused_with_what_to_do(
    thoth_server: Any, shape: str
) -> None:
    tools = Tools()
    container = generic_container(
        shape, {"web_search": tools.web_search, "delete_record": tools.delete_record}
    )
    before = held_tools(container)

    with pytest.raises(thoth.ThothConfigError, match=r"crewai.*CrewAI Agent or Crew"):
        thoth.instrument(container, **governed_options(thoth_server, new_agent_id("crew-box"), [], "block"))

    assert held_tools(container) == before  # nothing replaced, a plain function first in the list neither
    assert tools.ran == []
