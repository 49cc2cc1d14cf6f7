"""OpenAI Agents SDK + Thoth: a tool input guardrail on every function tool.

    pip install "thoth-sdk[openai-agents,server]"
    python examples/openai_agents_example.py

`thoth.instrument(agent, ...)` governs the agent's function tools, its MCP servers and the
agents it hands off to. Offline by default: the model is `agents.testing.ScriptedModel` and
Thoth talks to a throwaway local `thoth serve`. Drop `model=` (and set OPENAI_API_KEY) to
use a real model, and set THOTH_API_URL / THOTH_API_KEY / THOTH_TENANT_ID to use your enforcer.
"""

from __future__ import annotations

import os

from _local_enforcer import enforcer, print_events  # see _local_enforcer.py: a throwaway local enforcer
from agents import Agent, Runner, function_tool, set_tracing_disabled
from agents.testing import ScriptedModel, assistant_message, function_call

import thoth


@function_tool
def search_docs(query: str) -> str:
    """Search internal docs."""
    return f"Data retention policy: customer records are kept 90 days (query {query!r})"


@function_tool
def delete_record(record_id: str) -> str:
    """Delete a customer record."""
    raise RuntimeError("never reached: delete_record is outside the approved scope")


def main() -> None:
    scripted = not os.environ.get("OPENAI_API_KEY")
    if scripted:
        set_tracing_disabled(True)  # offline: no trace export
    model = ScriptedModel(
        [
            [
                function_call("search_docs", {"query": "retention"}, call_id="call_1"),
                function_call("delete_record", {"record_id": "42"}, call_id="call_2"),
            ],
            [assistant_message("Records are kept 90 days. I was not allowed to delete record 42.")],
        ]
    )
    agent = Agent(
        name="assistant", tools=[search_docs, delete_record], **({"model": model} if scripted else {})
    )
    with enforcer() as (url, key, tenant):
        thoth.instrument(
            agent,
            agent_id="openai-agents-assistant",
            approved_scope=["search_docs"],
            tenant_id=tenant,
            api_url=url,
            api_key=key,
            enforcement="block",
            on_block="return",  # reject_content: the model reads the refusal and goes on
        )
        result = Runner.run_sync(agent, "Find the retention policy, then delete record 42.")
        for item in result.new_items:
            if item.type == "tool_call_output_item":
                print(f"  tool {item.raw_item['call_id']}: {item.output}")
        print(f"assistant: {result.final_output}")
        print_events(url, key, "openai-agents-assistant")


if __name__ == "__main__":
    main()
