"""LangGraph + Thoth: `thoth.instrument()` governs the ToolNode of a compiled graph.

    pip install "thoth-sdk[langgraph,server]"
    python examples/langgraph_example.py

Offline by default: a scripted model and a throwaway local `thoth serve` in
step-up mode; the out-of-scope call waits until this script approves it (as a
reviewer would in Slack or with `thoth holds approve`). Set THOTH_API_URL /
THOTH_API_KEY / THOTH_TENANT_ID to use your enforcer instead.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from typing import Any

import httpx
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


# --- a local enforcer and a scripted model, so the example runs offline ----------------------
@contextlib.contextmanager
def enforcer() -> Iterator[tuple[str, str, str]]:
    """(url, api key, tenant): $THOTH_API_URL if set, else a throwaway `thoth serve` on 127.0.0.1."""
    if os.environ.get("THOTH_API_URL"):
        yield (
            os.environ["THOTH_API_URL"],
            os.environ["THOTH_API_KEY"],
            os.environ.get("THOTH_TENANT_ID", "acme-corp"),
        )
        return
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    key, url = "thoth_demo_" + secrets.token_hex(8), f"http://127.0.0.1:{port}"
    with tempfile.TemporaryDirectory() as tmp:
        server = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "thoth.cli",
                "serve",
                "--port",
                str(port),
                "--db",
                f"sqlite:///{tmp}/thoth.db",
                "--api-key",
                f"acme-corp:{key}",
                "--admin-key",
                f"acme-corp:{key}",
                "--log-level",
                "warning",
            ]
        )
        try:
            for _ in range(300):
                with contextlib.suppress(httpx.HTTPError):
                    if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                        break
                time.sleep(0.05)
            yield url, key, "acme-corp"
        finally:
            thoth.flush()
            server.terminate()
            server.wait(10)


def print_events(url: str, key: str, agent_id: str) -> None:
    thoth.flush()
    page = httpx.get(f"{url}/v1/events", params={"agent_id": agent_id}, headers={"x-api-key": key}).json()
    for event in page["items"]:
        print(f"  event {event['event_type']:<15} {event.get('tool_name')}")


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
