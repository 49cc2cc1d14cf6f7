"""LangGraph + Thoth: `thoth.instrument()` governs the ToolNode of a compiled graph.

    pip install "thoth-sdk[langgraph,server]"
    python examples/langgraph_example.py

Offline by default: a scripted model and a throwaway local `thoth serve` in
step-up mode; the out-of-scope call waits until this script approves it (as a
reviewer would in Slack or with `thoth holds approve`). Set THOTH_API_URL /
THOTH_API_KEY / THOTH_TENANT_ID to use your enforcer instead.
"""

from __future__ import annotations

import threading
from typing import Any

import httpx
from _local_enforcer import enforcer, print_events  # see _local_enforcer.py: a throwaway local enforcer
from langchain_core.language_models.fake_chat_models import FakeMessagesListChatModel
from langchain_core.messages import AIMessage
from langchain_core.tools import tool
from langgraph.graph import START, MessagesState, StateGraph
from langgraph.prebuilt import ToolNode, tools_condition

import thoth


@tool
def search_database(query: str) -> str:
    """Search the internal knowledge base."""
    return f"Q4 revenue: 42M (query {query!r})"


@tool
def send_slack_message(channel: str, message: str) -> str:
    """Post a message to Slack."""
    return f"posted to {channel}"


class ScriptedModel(FakeMessagesListChatModel):
    def bind_tools(self, tools: Any, **kwargs: Any) -> ScriptedModel:
        return self


MODEL = ScriptedModel(
    responses=[
        AIMessage("", tool_calls=[{"name": "search_database", "args": {"query": "Q4"}, "id": "call_1"}]),
        AIMessage(
            "",
            tool_calls=[
                {
                    "name": "send_slack_message",
                    "args": {"channel": "#analytics", "message": "Q4: 42M"},
                    "id": "call_2",
                },
            ],
        ),
        AIMessage("Posted the Q4 numbers to #analytics."),
    ]
)


def build_graph() -> Any:
    builder = StateGraph(MessagesState)
    builder.add_node("model", lambda state: {"messages": [MODEL.invoke(state["messages"])]})
    builder.add_node("tools", ToolNode([search_database, send_slack_message]))
    builder.add_edge(START, "model")
    builder.add_conditional_edges("model", tools_condition)
    builder.add_edge("tools", "model")
    return builder.compile()


def approve_holds(url: str, key: str, stop: threading.Event) -> None:
    """Plays the human reviewer (needs an admin key; the local server's key is one)."""
    headers = {"x-api-key": key}
    while not stop.wait(0.2):
        for hold in httpx.get(f"{url}/v1/holds", params={"status": "pending"}, headers=headers).json()[
            "items"
        ]:
            print(f"  reviewer approves {hold['tool_name']} (hold {hold['hold_token'][:12]}...)")
            httpx.post(
                f"{url}/v1/enforce/hold/{hold['hold_token']}/resolve",
                headers=headers,
                json={"resolution": "ALLOW", "approver": "reviewer@acme.com"},
            )


def main() -> None:
    with enforcer() as (url, key, tenant):
        graph = thoth.instrument(
            build_graph(),
            agent_id="langgraph-analyst",
            approved_scope=["search_database"],
            tenant_id=tenant,
            api_url=url,
            api_key=key,
            user_id="alice@acme.com",
            enforcement="step_up",  # out-of-scope calls wait for a human
            step_up_poll_interval_seconds=0.2,
        )
        stop = threading.Event()
        reviewer = threading.Thread(target=approve_holds, args=(url, key, stop), daemon=True)
        reviewer.start()
        try:
            result = graph.invoke({"messages": [("user", "Search for Q4 data and post it to #analytics")]})
        finally:
            stop.set()
        for message in result["messages"]:
            print(f"{type(message).__name__:>12}: {message.content or message.tool_calls}")
        print_events(url, key, "langgraph-analyst")


if __name__ == "__main__":
    main()
