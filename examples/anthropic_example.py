"""Anthropic + Thoth: govern the tool calls of a Messages API tool-use loop.

    pip install "thoth-sdk[anthropic,server]"
    python examples/anthropic_example.py

Offline by default: the real `anthropic` client talks to a scripted model (an
httpx2 mock transport) and Thoth to a throwaway local `thoth serve`. Set
ANTHROPIC_API_KEY to talk to the real API, and THOTH_API_URL / THOTH_API_KEY /
THOTH_TENANT_ID to use your enforcer.
"""

from __future__ import annotations

import os
from typing import Any

import anthropic
import httpx2
from _local_enforcer import enforcer, print_events  # see _local_enforcer.py: a throwaway local enforcer

import thoth
from thoth.integrations.anthropic import tool_result_message

TOOLS = [
    {
        "name": "search_docs",
        "description": "Search internal docs",
        "input_schema": {
            "type": "object",
            "properties": {"query": {"type": "string"}},
            "required": ["query"],
        },
    },
    {
        "name": "delete_record",
        "description": "Delete a customer record",
        "input_schema": {"type": "object", "properties": {"record_id": {"type": "string"}}},
    },
]


def search_docs(query: str) -> str:
    return f"Data retention policy: customer records are kept 90 days (query {query!r})"


def delete_record(record_id: str) -> str:
    raise RuntimeError("never reached: delete_record is outside the approved scope")


def scripted_anthropic() -> anthropic.Anthropic:
    """The real client, answered by a scripted model: one turn of two tool_use blocks, then text."""
    turns = [
        (
            [
                {"type": "tool_use", "id": "toolu_1", "name": "search_docs", "input": {"query": "retention"}},
                {"type": "tool_use", "id": "toolu_2", "name": "delete_record", "input": {"record_id": "42"}},
            ],
            "tool_use",
        ),
        ([{"type": "text", "text": "Records are kept 90 days. I could not delete record 42."}], "end_turn"),
    ]

    def answer(request: httpx2.Request) -> httpx2.Response:
        content, stop_reason = turns.pop(0)
        return httpx2.Response(
            200,
            json={
                "id": "msg_demo",
                "type": "message",
                "role": "assistant",
                "model": "claude-opus-4-6",
                "content": content,
                "stop_reason": stop_reason,
                "stop_sequence": None,
                "usage": {"input_tokens": 1, "output_tokens": 1},
            },
        )

    return anthropic.Anthropic(
        api_key="sk-ant-demo",
        base_url="http://scripted.invalid",
        http_client=httpx2.Client(transport=httpx2.MockTransport(answer)),
    )


def main() -> None:
    with enforcer() as (url, key, tenant):
        governed = thoth.instrument_anthropic(
            {"search_docs": search_docs, "delete_record": delete_record},
            agent_id="claude-research-agent",
            approved_scope=["search_docs"],
            tenant_id=tenant,
            api_url=url,
            api_key=key,
            user_id="alice@acme.com",
            enforcement="block",
        )
        client = anthropic.Anthropic() if os.environ.get("ANTHROPIC_API_KEY") else scripted_anthropic()
        messages: list[Any] = [
            {"role": "user", "content": "Find our data retention policy, then delete record 42."}
        ]
        while True:
            response = client.messages.create(
                model="claude-opus-4-6", max_tokens=1024, tools=TOOLS, messages=messages
            )
            if response.stop_reason != "tool_use":
                break
            answer = tool_result_message(response, governed)  # a tool_result per tool_use; refusals is_error
            messages += [{"role": "assistant", "content": response.content}, answer]
            for block in answer["content"]:
                flag = " (is_error)" if block.get("is_error") else ""
                print(f"  tool {block['tool_use_id']}{flag}: {block['content']}")
        print(f"assistant: {response.content[0].text}")
        print_events(url, key, "claude-research-agent")


if __name__ == "__main__":
    main()
