"""Test support for the Claude Agent SDK suite: the hosted Messages API, played on 127.0.0.1 for the
real Claude Code CLI (the shared server helpers are in ``tests.integrations._shared``)."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from claude_agent_sdk import (
    ClaudeAgentOptions,
    ClaudeSDKClient,
    ResultMessage,
    ToolResultBlock,
    UserMessage,
    create_sdk_mcp_server,
    tool,
)

# -- the hosted model, scripted on 127.0.0.1 -------------------------------------------------------------
# The Claude Code CLI that the SDK drives is real (bundled with claude-agent-sdk); only the hosted
# Messages API it talks to is played here: ANTHROPIC_BASE_URL points the CLI at this server.

Turn = list[tuple[Any, ...]]  # ("text", str) or ("tool_use", id, name, input)
# What a response reports when a test gives no usage for it (the Messages API's ``usage`` shape).
DEFAULT_USAGE: dict[str, int] = {"input_tokens": 10, "output_tokens": 5}


class ScriptedMessagesAPI:
    """Answers each main-loop ``POST /v1/messages`` with the next scripted turn (SSE when asked).

    ``by_system`` gives a loop of its own its own turns: a request whose system prompt holds one
    of its keys (a sub-agent's prompt) takes the next of that key's turns, so a sub-agent that
    runs alongside the main loop's requests gets its turns whatever the order they arrive in.

    Each response has an id of its own (``msg_001``...) and reports ``usage`` as the API does: the
    next of ``usages`` for a scripted turn (else ``DEFAULT_USAGE``); streamed, ``message_start``
    carries the input counts and ``output_tokens: 1``, ``message_delta`` the final output count.
    """

    def __init__(
        self,
        *turns: Turn,
        by_system: dict[str, list[Turn]] | None = None,
        usages: list[dict[str, int]] | None = None,
    ) -> None:
        self.turns = list(turns)
        self.by_system = {marker: list(queue) for marker, queue in (by_system or {}).items()}
        self.usages = list(usages or [])
        self.replies = 0
        self.requests: list[dict[str, Any]] = []
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self))
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        threading.Thread(target=self._server.serve_forever, args=(0.05,), daemon=True).start()

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def next_turn(self, body: dict[str, Any]) -> Turn:
        with self._lock:
            self.requests.append(body)
            system = json.dumps(body.get("system"))
            for marker, queue in self.by_system.items():
                if marker in system:
                    return queue.pop(0) if queue else [("text", "ok")]
            return self.turns.pop(0) if self.turns else [("text", "ok")]

    def reply(self, body: dict[str, Any]) -> dict[str, Any]:
        """The Message answering ``body``: its scripted turn, its usage, an id of its own."""
        scripted = bool(body.get("tools"))
        turn = self.next_turn(body) if scripted else [("text", "ok")]
        with self._lock:
            self.replies += 1
            usage = self.usages.pop(0) if scripted and self.usages else DEFAULT_USAGE
            return message(turn, usage, f"msg_{self.replies:03d}")

    def tool_results(self) -> dict[str, dict[str, Any]]:
        """tool_use id -> the tool_result block the model was sent for it."""
        seen: dict[str, dict[str, Any]] = {}
        for body in self.requests:
            for message in body.get("messages", []):
                content = message.get("content")
                for block in content if isinstance(content, list) else []:
                    if block.get("type") == "tool_result":
                        seen[block["tool_use_id"]] = block
        return seen


def result_text(block: dict[str, Any]) -> str:
    content = block.get("content")
    if isinstance(content, list):
        return "".join(part.get("text", "") for part in content)
    return str(content)


def message(turn: Turn, usage: dict[str, int] = DEFAULT_USAGE, msg_id: str = "msg_test") -> dict[str, Any]:
    content: list[dict[str, Any]] = []
    for part in turn:
        if part[0] == "text":
            content.append({"type": "text", "text": part[1]})
        else:
            content.append({"type": "tool_use", "id": part[1], "name": part[2], "input": part[3]})
    stop = "tool_use" if any(p[0] == "tool_use" for p in turn) else "end_turn"
    return {
        "id": msg_id,
        "type": "message",
        "role": "assistant",
        "model": "claude-sonnet-4-5",
        "content": content,
        "stop_reason": stop,
        "stop_sequence": None,
        "usage": dict(usage),
    }


def sse_events(full: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """The stream of the Message ``full``, as the API sends it."""
    start = {**full, "content": [], "stop_reason": None, "usage": {**full["usage"], "output_tokens": 1}}
    out: list[tuple[str, dict[str, Any]]] = [("message_start", {"type": "message_start", "message": start})]
    for index, block in enumerate(full["content"]):
        if block["type"] == "text":
            first = {"type": "text", "text": ""}
            delta = {"type": "text_delta", "text": block["text"]}
        else:
            first = {"type": "tool_use", "id": block["id"], "name": block["name"], "input": {}}
            delta = {"type": "input_json_delta", "partial_json": json.dumps(block["input"])}
        out += [
            ("content_block_start", {"type": "content_block_start", "index": index, "content_block": first}),
            ("content_block_delta", {"type": "content_block_delta", "index": index, "delta": delta}),
            ("content_block_stop", {"type": "content_block_stop", "index": index}),
        ]
    out += [
        (
            "message_delta",
            {
                "type": "message_delta",
                "delta": {"stop_reason": full["stop_reason"], "stop_sequence": None},
                "usage": {"output_tokens": full["usage"]["output_tokens"]},
            },
        ),
        ("message_stop", {"type": "message_stop"}),
    ]
    return out


def _handler(api: ScriptedMessagesAPI) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:
            pass

        def do_POST(self) -> None:
            body = json.loads(self.rfile.read(int(self.headers.get("content-length") or 0)) or b"{}")
            if not self.path.startswith("/v1/messages") or "count_tokens" in self.path:
                self._json({"input_tokens": 10})
                return
            reply = api.reply(body)
            if not body.get("stream"):
                self._json(reply)
                return
            self.send_response(200)
            self.send_header("content-type", "text/event-stream")
            self.end_headers()
            for name, data in sse_events(reply):
                self.wfile.write(f"event: {name}\ndata: {json.dumps(data)}\n\n".encode())
            self.wfile.flush()

        def do_GET(self) -> None:
            self.send_response(404)
            self.end_headers()

        def _json(self, obj: dict[str, Any]) -> None:
            data = json.dumps(obj).encode()
            self.send_response(200)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

    return Handler


def cli_env(api: ScriptedMessagesAPI, home: str) -> dict[str, str]:
    """Environment for the CLI: the scripted API, a throwaway HOME, no traffic anywhere else."""
    return {
        "ANTHROPIC_BASE_URL": api.url,
        "ANTHROPIC_API_KEY": "sk-ant-test-offline",
        "HOME": home,
        "DISABLE_TELEMETRY": "1",
        "DISABLE_ERROR_REPORTING": "1",
        "DISABLE_AUTOUPDATER": "1",
        "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC": "1",
    }


# -- the application: two in-process SDK MCP tools, and one session driven to its result ----------

SEARCH, EMAIL = "mcp__docs__search_docs", "mcp__docs__send_email"


class Tools:
    def __init__(self) -> None:
        self.ran: list[tuple[str, dict[str, Any]]] = []

    def server(self) -> Any:
        @tool("search_docs", "Search the knowledge base", {"query": str})
        async def search_docs(args: dict[str, Any]) -> dict[str, Any]:
            self.ran.append(("search_docs", args))
            return {"content": [{"type": "text", "text": f"3 documents about {args['query']}"}]}

        @tool("send_email", "Send an email", {"to": str, "body": str})
        async def send_email(args: dict[str, Any]) -> dict[str, Any]:
            self.ran.append(("send_email", args))
            return {"content": [{"type": "text", "text": f"sent to {args['to']}"}]}

        return create_sdk_mcp_server("docs", tools=[search_docs, send_email])


def options(api: ScriptedMessagesAPI, home: str, tools: Tools, **extra: Any) -> ClaudeAgentOptions:
    return ClaudeAgentOptions(
        mcp_servers={"docs": tools.server()},
        tools=[],  # no built-in tools: the model only has the scripted MCP ones
        setting_sources=[],
        model="claude-sonnet-4-5",
        cwd=home,
        env=cli_env(api, home),
        **extra,
    )


class Run:
    """What the SDK streamed back: the final result and the tool results, by tool_use id."""

    def __init__(self) -> None:
        self.result: ResultMessage | None = None
        self.tool_results: dict[str, ToolResultBlock] = {}


async def run(opts: ClaudeAgentOptions, prompt: str = "go") -> Run:
    seen = Run()
    async with ClaudeSDKClient(opts) as client:
        await client.query(prompt)
        async for message in client.receive_response():
            if isinstance(message, ResultMessage):
                seen.result = message
            elif isinstance(message, UserMessage) and isinstance(message.content, list):
                seen.tool_results.update(
                    {b.tool_use_id: b for b in message.content if isinstance(b, ToolResultBlock)}
                )
    assert seen.result is not None
    return seen
