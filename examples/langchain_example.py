"""LangChain + Thoth: one line governs every tool call of a `create_agent` agent.

    pip install "thoth-sdk[langchain,server]"
    python examples/langchain_example.py

Offline by default: a scripted model and a throwaway local `thoth serve`. Set
THOTH_API_URL / THOTH_API_KEY / THOTH_TENANT_ID to use your enforcer, and swap
the scripted model for a real one (e.g. ``ChatOpenAI(model="gpt-4o")``).
An ``AgentExecutor`` from ``langchain_classic`` is instrumented the same way.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from typing import Any

import httpx
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
