"""OpenAI + Thoth: govern the tool calls of a Chat Completions loop.

    pip install "thoth-sdk[openai,server]"
    python examples/openai_example.py

Offline by default: the real `openai` client talks to a scripted model (an
httpx2 mock transport) and Thoth to a throwaway local `thoth serve`. Set
OPENAI_API_KEY to talk to the real API, and THOTH_API_URL / THOTH_API_KEY /
THOTH_TENANT_ID to use your enforcer.
"""

from __future__ import annotations

import json
import os
from typing import Any

import httpx2
import openai
from _local_enforcer import enforcer, print_events  # see _local_enforcer.py: a throwaway local enforcer

import thoth
from thoth.integrations.openai import tool_messages

TOOLS = [
    {
        "type": "function",
        "function": {
            "name": "search_docs",
            "description": "Search the docs",
            "parameters": {
                "type": "object",
                "properties": {"query": {"type": "string"}},
                "required": ["query"],
            },
        },
    },
    {
        "type": "function",
        "function": {
            "name": "send_email",
            "description": "Send an email",
            "parameters": {
                "type": "object",
                "properties": {
                    "to": {"type": "string"},
                    "subject": {"type": "string"},
                    "body": {"type": "string"},
                },
            },
        },
    },
]


def search_docs(query: str) -> str:
    return f"2 documents about {query!r}"


def send_email(to: str, subject: str, body: str) -> str:
    raise RuntimeError("never reached: send_email is outside the approved scope")


def scripted_openai() -> openai.OpenAI:
    """The real client, answered by a scripted model: one turn of parallel tool calls, then text."""
    turns = [
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [
                {
                    "id": "call_1",
                    "type": "function",
                    "function": {"name": "search_docs", "arguments": json.dumps({"query": "access control"})},
                },
                {
                    "id": "call_2",
                    "type": "function",
                    "function": {
                        "name": "send_email",
                        "arguments": json.dumps({"to": "all@acme.com", "subject": "Docs", "body": "..."}),
                    },
                },
            ],
        },
        {"role": "assistant", "content": "Found 2 documents; I am not allowed to email them."},
    ]

    def answer(request: httpx2.Request) -> httpx2.Response:
        message = turns.pop(0)
        return httpx2.Response(
            200,
            json={
                "id": "chatcmpl-demo",
                "object": "chat.completion",
                "created": 0,
                "model": "gpt-4o",
                "choices": [
                    {
                        "index": 0,
                        "message": message,
                        "finish_reason": "tool_calls" if message.get("tool_calls") else "stop",
                    }
                ],
            },
        )

    transport = httpx2.MockTransport(answer)
    return openai.OpenAI(
        api_key="sk-demo",
        base_url="http://scripted.invalid/v1",
        http_client=httpx2.Client(transport=transport),
    )


def main() -> None:
    with enforcer() as (url, key, tenant):
        governed = thoth.instrument_openai(
            {"search_docs": search_docs, "send_email": send_email},
            agent_id="openai-agent",
            approved_scope=["search_docs"],
            tenant_id=tenant,
            api_url=url,
            api_key=key,
            user_id="charlie@acme.com",
            enforcement="block",
        )
        client = openai.OpenAI() if os.environ.get("OPENAI_API_KEY") else scripted_openai()
        messages: list[Any] = [
            {"role": "user", "content": "Find docs about access control and email them to all"}
        ]
        while True:
            response = client.chat.completions.create(model="gpt-4o", tools=TOOLS, messages=messages)
            message = response.choices[0].message
            if not message.tool_calls:
                break
            messages.append(message)
            answers = tool_messages(message, governed)  # one role:"tool" message per call, refusals included
            messages += answers
            for answer in answers:
                print(f"  tool {answer['tool_call_id']}: {answer['content']}")
        print(f"assistant: {message.content}")
        print_events(url, key, "openai-agent")


if __name__ == "__main__":
    main()
