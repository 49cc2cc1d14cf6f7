"""pydantic-ai + Thoth: a capability governs every tool call of an Agent.

    pip install "thoth-sdk[pydantic-ai,server]"
    python examples/pydantic_ai_example.py

`thoth.instrument(agent, ...)` adds the capability to each run (or build the agent with
`capabilities=[thoth_capability(tracer)]`). Offline by default: the model is a
`FunctionModel` and Thoth talks to a throwaway local `thoth serve`. Pass a real model name to
`Agent` to use one, and set THOTH_API_URL / THOTH_API_KEY / THOTH_TENANT_ID to use your enforcer.
"""

from __future__ import annotations

from _local_enforcer import enforcer, print_events  # see _local_enforcer.py: a throwaway local enforcer
from pydantic_ai import Agent
from pydantic_ai.messages import ModelMessage, ModelResponse, TextPart, ToolCallPart
from pydantic_ai.models.function import AgentInfo, FunctionModel

import thoth

TURNS: list[ModelResponse] = [
    ModelResponse(
        parts=[
            ToolCallPart(tool_name="search_docs", args={"query": "retention"}, tool_call_id="call_1"),
            ToolCallPart(tool_name="delete_record", args={"record_id": "42"}, tool_call_id="call_2"),
        ]
    ),
    ModelResponse(parts=[TextPart("Records are kept 90 days. I was not allowed to delete record 42.")]),
]


def scripted_model(messages: list[ModelMessage], info: AgentInfo) -> ModelResponse:
    for part in getattr(messages[-1], "parts", []):
        if getattr(part, "tool_call_id", None):
            print(f"  tool {part.tool_call_id}: {part.content}")
    return TURNS.pop(0)


agent = Agent(FunctionModel(scripted_model))


@agent.tool_plain
def search_docs(query: str) -> str:
    """Search internal docs."""
    return f"Data retention policy: customer records are kept 90 days (query {query!r})"


@agent.tool_plain
def delete_record(record_id: str) -> str:
    """Delete a customer record."""
    raise RuntimeError("never reached: delete_record is outside the approved scope")


def main() -> None:
    with enforcer() as (url, key, tenant):
        thoth.instrument(
            agent,
            agent_id="pydantic-ai-assistant",
            approved_scope=["search_docs"],
            tenant_id=tenant,
            api_url=url,
            api_key=key,
            enforcement="block",
            on_block="return",  # ToolFailed: the model reads the refusal as a failed call
        )
        result = agent.run_sync("Find the retention policy, then delete record 42.")
        print(f"assistant: {result.output}")
        print_events(url, key, "pydantic-ai-assistant")


if __name__ == "__main__":
    main()
