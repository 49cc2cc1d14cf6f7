"""CrewAI + Thoth: `thoth.instrument()` governs an Agent's (or a Crew's) tool calls.

    pip install "thoth-sdk[crewai,server]"
    python examples/crewai_example.py

Offline by default: a scripted LLM and a throwaway local `thoth serve`. Set
THOTH_API_URL / THOTH_API_KEY / THOTH_TENANT_ID to use your enforcer, and give
the agent a real model (e.g. ``llm="gpt-4o"``).
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

os.environ.setdefault("CREWAI_DISABLE_TELEMETRY", "true")
os.environ.setdefault("OTEL_SDK_DISABLED", "true")

import json
from typing import Any

import httpx
from crewai import Agent, Crew, Task
from crewai.llms.base_llm import BaseLLM
from crewai.tools import tool

import thoth


@tool("web_search")
def web_search(query: str) -> str:
    """Search the web."""
    return f"3 articles about {query!r}"


@tool("publish_post")
def publish_post(text: str) -> str:
    """Publish a post on the company blog."""
    raise RuntimeError("never reached: publish_post is outside the approved scope")


class ScriptedLLM(BaseLLM):
    """Native function calling, scripted: two parallel tool calls, then the final answer."""

    turns: list[Any] = []

    def call(self, messages: Any, *args: Any, **kwargs: Any) -> Any:
        return self.turns.pop(0)

    def supports_function_calling(self) -> bool:
        return True


def scripted_llm() -> ScriptedLLM:
    def call(name: str, args: dict[str, Any], call_id: str) -> dict[str, Any]:
        return {"id": call_id, "type": "function", "function": {"name": name, "arguments": json.dumps(args)}}

    return ScriptedLLM(
        model="scripted",
        turns=[
            [
                call("web_search", {"query": "AI governance"}, "call_1"),
                call("publish_post", {"text": "AI governance roundup"}, "call_2"),
            ],
            "Found 3 articles; publishing was refused by policy.",
        ],
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
        researcher = Agent(
            role="Researcher",
            goal="Find information",
            backstory="A careful analyst.",
            llm=scripted_llm(),
            tools=[web_search, publish_post],
        )
        thoth.instrument(
            researcher,
            agent_id="crewai-researcher",
            approved_scope=["web_search"],
            tenant_id=tenant,
            api_url=url,
            api_key=key,
            user_id="alice@acme.com",
            enforcement="block",
        )
        task = Task(
            description="Research AI governance and publish a post",
            expected_output="a summary",
            agent=researcher,
        )
        result = Crew(agents=[researcher], tasks=[task]).kickoff()
        print(f"crew: {result.raw}")
        print_events(url, key, "crewai-researcher")


if __name__ == "__main__":
    main()
