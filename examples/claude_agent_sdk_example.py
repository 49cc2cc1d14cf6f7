"""Claude Agent SDK + Thoth: govern every tool call the Claude Code CLI makes.

    pip install "thoth-sdk[claude-agent-sdk,server]"
    python examples/claude_agent_sdk_example.py

`thoth.instrument(options, ...)` adds a PreToolUse hook (it sees every call, whatever the
permission mode), a `can_use_tool` callback and PostToolUse hooks to `ClaudeAgentOptions`.
Offline by default: the real CLI bundled with the SDK runs, but the hosted Messages API it talks
to is scripted on 127.0.0.1, and Thoth talks to a throwaway local `thoth serve`. Set
ANTHROPIC_API_KEY to use the real API, and THOTH_API_URL / THOTH_API_KEY / THOTH_TENANT_ID to
use your enforcer.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import tempfile
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from _local_enforcer import enforcer, print_events  # see _local_enforcer.py: a throwaway local enforcer
from claude_agent_sdk import ClaudeAgentOptions, ClaudeSDKClient, ResultMessage, create_sdk_mcp_server, tool

import thoth


@tool("search_docs", "Search internal docs", {"query": str})
async def search_docs(args: dict[str, Any]) -> dict[str, Any]:
    text = f"Data retention policy: customer records are kept 90 days (query {args['query']!r})"
    return {"content": [{"type": "text", "text": text}]}


@tool("delete_record", "Delete a customer record", {"record_id": str})
async def delete_record(args: dict[str, Any]) -> dict[str, Any]:
    raise RuntimeError("never reached: delete_record is outside the approved scope")


SEARCH, DELETE = "mcp__docs__search_docs", "mcp__docs__delete_record"


# --- the hosted model, scripted on 127.0.0.1 (the CLI streams Messages API responses) ----------
TURNS: list[list[dict[str, Any]]] = [
    [
        {"type": "tool_use", "id": "toolu_1", "name": SEARCH, "input": {"query": "retention"}},
        {"type": "tool_use", "id": "toolu_2", "name": DELETE, "input": {"record_id": "42"}},
    ],
    [{"type": "text", "text": "Records are kept 90 days. I was not allowed to delete record 42."}],
]


class ScriptedAPI(BaseHTTPRequestHandler):
    def log_message(self, *args: Any) -> None:
        pass

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers.get("content-length") or 0)) or b"{}")
        main_loop = bool(self.path.startswith("/v1/messages") and body.get("tools") and TURNS)
        content = TURNS.pop(0) if main_loop else [{"type": "text", "text": "ok"}]
        for message in body.get("messages", []):
            for block in message.get("content") if isinstance(message.get("content"), list) else []:
                if block.get("type") == "tool_result" and main_loop:
                    print(f"  model reads {block['tool_use_id']}: {str(block.get('content'))[:110]}")
        stop = "tool_use" if content[0]["type"] == "tool_use" else "end_turn"
        self.send_response(200)
        self.send_header("content-type", "text/event-stream")
        self.end_headers()
        usage = {"input_tokens": 1, "output_tokens": 1}
        start = {
            "id": "msg_demo",
            "type": "message",
            "role": "assistant",
            "model": "claude-sonnet-4-5",
            "content": [],
            "stop_reason": None,
            "stop_sequence": None,
            "usage": usage,
        }
        events: list[dict[str, Any]] = [{"type": "message_start", "message": start}]
        for index, block in enumerate(content):
            if block["type"] == "text":
                first, delta = {"type": "text", "text": ""}, {"type": "text_delta", "text": block["text"]}
            else:
                first = {**block, "input": {}}
                delta = {"type": "input_json_delta", "partial_json": json.dumps(block["input"])}
            events += [
                {"type": "content_block_start", "index": index, "content_block": first},
                {"type": "content_block_delta", "index": index, "delta": delta},
                {"type": "content_block_stop", "index": index},
            ]
        events += [
            {"type": "message_delta", "delta": {"stop_reason": stop, "stop_sequence": None}, "usage": usage},
            {"type": "message_stop"},
        ]
        for event in events:
            self.wfile.write(f"event: {event['type']}\ndata: {json.dumps(event)}\n\n".encode())


@contextlib.contextmanager
def model_env(home: str) -> Iterator[dict[str, str]]:
    if os.environ.get("ANTHROPIC_API_KEY"):
        yield {}
        return
    api = ThreadingHTTPServer(("127.0.0.1", 0), ScriptedAPI)
    threading.Thread(target=api.serve_forever, daemon=True).start()
    try:
        yield {
            "ANTHROPIC_BASE_URL": f"http://127.0.0.1:{api.server_address[1]}",
            "ANTHROPIC_API_KEY": "sk-ant-demo",
            "HOME": home,
            "DISABLE_TELEMETRY": "1",
            "DISABLE_AUTOUPDATER": "1",
            "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC": "1",
        }
    finally:
        api.shutdown()


async def run(options: ClaudeAgentOptions) -> None:
    async with ClaudeSDKClient(options) as client:
        await client.query("Find the retention policy, then delete record 42.")
        async for message in client.receive_response():
            if isinstance(message, ResultMessage):
                print(f"assistant: {message.result}")


def main() -> None:
    with enforcer() as (url, key, tenant), tempfile.TemporaryDirectory() as home, model_env(home) as env:
        options = ClaudeAgentOptions(
            mcp_servers={"docs": create_sdk_mcp_server("docs", tools=[search_docs, delete_record])},
            tools=[],  # only the MCP tools above
            setting_sources=[],
            cwd=home,
            env=env,
        )
        thoth.instrument(
            options,
            agent_id="claude-agent",
            approved_scope=[SEARCH],
            tenant_id=tenant,
            api_url=url,
            api_key=key,
            enforcement="block",
            on_block="return",  # the model reads the refusal as the tool's error result
        )
        asyncio.run(run(options))
        print_events(url, key, "claude-agent")


if __name__ == "__main__":
    main()
