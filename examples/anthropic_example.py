"""Anthropic + Thoth: govern the tool calls of a Messages API tool-use loop.

    pip install "thoth-sdk[anthropic,server]"
    python examples/anthropic_example.py

Offline by default: the real `anthropic` client talks to a scripted model (an
httpx2 mock transport) and Thoth to a throwaway local `thoth serve`. Set
ANTHROPIC_API_KEY to talk to the real API, and THOTH_API_URL / THOTH_API_KEY /
THOTH_TENANT_ID to use your enforcer.
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

import anthropic
import httpx
import httpx2

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
