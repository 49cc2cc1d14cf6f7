"""pydantic-ai tools inside the generic shapes (issue 14, item 12). pydantic-ai runs a tool through
the Agent (its toolsets), so a ``pydantic_ai.Tool`` in a list, a dict or an object's ``.tools``
cannot be governed where it stands: ``instrument()`` refuses it with a message naming what to
instrument instead, before it changed anything, and never leaves it to run unchecked."""

from __future__ import annotations

from typing import Any

import pytest

pytest.importorskip("pydantic_ai")

from pydantic_ai import Tool

import thoth
from tests.integrations._shared import (
    GENERIC_SHAPES,
    generic_container,
    governed_options,
    held_tools,
    new_agent_id,
)

pytestmark = pytest.mark.integration


def delete_record(record_id: str) -> str:
    """Delete a customer record."""
    raise AssertionError("never run")


@pytest.mark.parametrize("shape", GENERIC_SHAPES)
def test_a_pydantic_ai_tool_in_a_generic_container_is_refused_with_what_to_do(
    thoth_server: Any, shape: str
) -> None:
    container = generic_container(shape, {"delete_record": Tool(delete_record)})
    before = held_tools(container)

    with pytest.raises(thoth.ThothConfigError, match=r"pydantic_ai.*pydantic-ai Agent"):
        thoth.instrument(container, **governed_options(thoth_server, new_agent_id("pai-box"), [], "block"))

    assert held_tools(container) == before  # nothing replaced
