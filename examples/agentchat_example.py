"""autogen-agentchat 0.7 + Thoth: a governed workbench for an AssistantAgent.

    pip install "thoth-sdk[agentchat,server]"
    python examples/agentchat_example.py

`thoth.instrument(agent, ...)` wraps the agent's workbenches in place (or pass
`workbench=govern_workbench(workbench, tracer)`, which also wraps an McpWorkbench).
Offline by default: the model is a `ReplayChatCompletionClient` and Thoth talks to a
throwaway local `thoth serve`. Use a real model client to talk to a model, and
THOTH_API_URL / THOTH_API_KEY / THOTH_TENANT_ID to use your enforcer.
"""

from __future__ import annotations

import asyncio

from _local_enforcer import enforcer, print_events  # see _local_enforcer.py: a throwaway local enforcer
from autogen_agentchat.agents import AssistantAgent
from autogen_core import FunctionCall
from autogen_core.models import CreateResult, RequestUsage
from autogen_ext.models.replay import ReplayChatCompletionClient

import thoth


def search_docs(query: str) -> str:
    """Search internal docs."""
    return f"Data retention policy: customer records are kept 90 days (query {query!r})"


def delete_record(record_id: str) -> str:
    """Delete a customer record."""
    raise RuntimeError("never reached: delete_record is outside the approved scope")


def scripted_model() -> ReplayChatCompletionClient:
    calls = [
        FunctionCall(id="call_1", name="search_docs", arguments='{"query": "retention"}'),
        FunctionCall(id="call_2", name="delete_record", arguments='{"record_id": "42"}'),
    ]
    usage = RequestUsage(prompt_tokens=0, completion_tokens=0)
    return ReplayChatCompletionClient(
        [
            CreateResult(finish_reason="function_calls", content=calls, usage=usage, cached=False),
            "Records are kept 90 days. I was not allowed to delete record 42.",
        ],
        model_info={
            "vision": False,
            "function_calling": True,
            "json_output": False,
            "family": "unknown",
            "structured_output": False,
        },
    )


async def run(url: str, key: str, tenant: str) -> None:
    agent = AssistantAgent(
        "assistant",
        model_client=scripted_model(),
        tools=[search_docs, delete_record],
        reflect_on_tool_use=True,
    )
    thoth.instrument(
        agent,
        agent_id="agentchat-assistant",
        approved_scope=["search_docs"],
        tenant_id=tenant,
        api_url=url,
        api_key=key,
        enforcement="block",
        on_block="return",
    )
    result = await agent.run(task="Find the retention policy, then delete record 42.")
    for message in result.messages:
        for item in message.content if isinstance(message.content, list) else []:
            if hasattr(item, "is_error"):
                print(f"  tool {item.call_id}{' (is_error)' if item.is_error else ''}: {item.content}")
    print(f"assistant: {result.messages[-1].content}")


def main() -> None:
    with enforcer() as (url, key, tenant):
        asyncio.run(run(url, key, tenant))
        print_events(url, key, "agentchat-assistant")


if __name__ == "__main__":
    main()
