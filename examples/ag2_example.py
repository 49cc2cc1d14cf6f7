"""ag2 1.x (`import ag2`) + Thoth: a middleware governs every tool call of an Agent.

    pip install "thoth-sdk[ag2,server]"
    python examples/ag2_example.py

`thoth.instrument(agent, ...)` adds the middleware in place (or pass
`middleware=[thoth_middleware(tracer)]` yourself). Offline by default: the model is
scripted with `ag2.testing.TestConfig` and Thoth talks to a throwaway local `thoth serve`.
Use a real `config=` to talk to a model, and THOTH_API_URL / THOTH_API_KEY / THOTH_TENANT_ID
to use your enforcer.
"""

from __future__ import annotations

import asyncio

from _local_enforcer import enforcer, print_events  # see _local_enforcer.py: a throwaway local enforcer
from ag2 import Agent
from ag2.events import ToolCallEvent
from ag2.testing import TestConfig

import thoth


def search_docs(query: str) -> str:
    """Search internal docs."""
    return f"Data retention policy: customer records are kept 90 days (query {query!r})"


def delete_record(record_id: str) -> str:
    """Delete a customer record."""
    raise RuntimeError("never reached: delete_record is outside the approved scope")


async def run(url: str, key: str, tenant: str) -> None:
    model = TestConfig(
        [
            ToolCallEvent("search_docs", id="call_1", arguments='{"query": "retention"}'),
            ToolCallEvent("delete_record", id="call_2", arguments='{"record_id": "42"}'),
        ],
        "Records are kept 90 days. I was not allowed to delete record 42.",
        raise_tool_errors=False,
    )
    agent = Agent("assistant", config=model, tools=[search_docs, delete_record])
    thoth.instrument(
        agent,
        agent_id="ag2-assistant",
        approved_scope=["search_docs"],
        tenant_id=tenant,
        api_url=url,
        api_key=key,
        enforcement="block",
        on_block="return",  # the model reads the refusal as the tool's error result
    )
    reply = await agent.ask("Find the retention policy, then delete record 42.")
    print(f"assistant: {await reply.content()}")


def main() -> None:
    with enforcer() as (url, key, tenant):
        asyncio.run(run(url, key, tenant))
        print_events(url, key, "ag2-assistant")


if __name__ == "__main__":
    main()
