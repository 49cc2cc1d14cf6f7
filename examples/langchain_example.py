"""LangChain + Thoth: one line governs every tool call of a `create_agent` agent.

    pip install "thoth-sdk[langchain,server]"
    python examples/langchain_example.py

Offline by default: a scripted model and a throwaway local `thoth serve`. Set
THOTH_API_URL / THOTH_API_KEY / THOTH_TENANT_ID to use your enforcer, and swap
the scripted model for a real one (e.g. ``ChatOpenAI(model="gpt-4o")``).
An ``AgentExecutor`` from ``langchain_classic`` is instrumented the same way.
"""

from __future__ import annotations

from typing import Any

from _local_enforcer import enforcer, print_events  # see _local_enforcer.py: a throwaway local enforcer
from langchain.agents import create_agent
from langchain_core.language_models.fake_chat_models import FakeMessagesListChatModel
from langchain_core.messages import AIMessage
from langchain_core.tools import tool

import thoth


@tool
def web_search(query: str) -> str:
    """Search the web for current information."""
    return f"3 results for {query!r}"


@tool
def delete_file(path: str) -> str:
    """Delete a file from the local filesystem."""
    raise RuntimeError("never reached: delete_file is outside the approved scope")


class ScriptedModel(FakeMessagesListChatModel):
    def bind_tools(self, tools: Any, **kwargs: Any) -> ScriptedModel:
        return self


def scripted_model() -> ScriptedModel:
    return ScriptedModel(
        responses=[
            AIMessage(
                "",
                tool_calls=[
                    {"name": "web_search", "args": {"query": "AAPL 10-K"}, "id": "call_1"},
                    {"name": "delete_file", "args": {"path": "/tmp/report.txt"}, "id": "call_2"},
                ],
            ),
            AIMessage("Found the filings; deleting files is not allowed for me."),
        ]
    )


def main() -> None:
    with enforcer() as (url, key, tenant):
        agent = create_agent(scripted_model(), [web_search, delete_file])
        agent = thoth.instrument(
            agent,
            agent_id="research-agent",
            approved_scope=["web_search"],
            tenant_id=tenant,
            api_url=url,
            api_key=key,
            user_id="bob@acme.com",
            enforcement="block",
            on_block="return",  # the model reads the refusal and goes on
        )
        result = agent.invoke({"messages": [("user", "Find recent SEC filings for AAPL, then clean up")]})
        for message in result["messages"]:
            print(f"{type(message).__name__:>12}: {message.content or message.tool_calls}")
        print_events(url, key, "research-agent")


if __name__ == "__main__":
    main()
