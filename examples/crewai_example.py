"""CrewAI + Thoth: `thoth.instrument()` governs an Agent's (or a Crew's) tool calls.

    pip install "thoth-sdk[crewai,server]"
    python examples/crewai_example.py

Offline by default: a scripted LLM and a throwaway local `thoth serve`. Set
THOTH_API_URL / THOTH_API_KEY / THOTH_TENANT_ID to use your enforcer, and give
the agent a real model (e.g. ``llm="gpt-4o"``).
"""

from __future__ import annotations

import os

os.environ.setdefault("CREWAI_DISABLE_TELEMETRY", "true")
os.environ.setdefault("OTEL_SDK_DISABLED", "true")

import json
from typing import Any

from _local_enforcer import enforcer, print_events  # see _local_enforcer.py: a throwaway local enforcer
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
