"""Helpers shared by the OpenAI Agents SDK tests: recording tools, what the scripted model was sent,
and an in-memory MCP server (no process, no network)."""

from __future__ import annotations

from typing import Any

from agents import function_tool
from agents.mcp import MCPServer
from agents.testing import ScriptedModel
from mcp.types import CallToolResult, GetPromptResult, ListPromptsResult, TextContent
from mcp.types import Tool as MCPTool


class Tools:
    """``search_docs`` and ``send_email`` function tools that record every run of their bodies."""

    def __init__(self) -> None:
        self.ran: list[tuple[str, dict[str, Any]]] = []

    def functions(self) -> list[Any]:
        return [self.tool("search_docs"), self.tool("send_email")]

    def tool(self, name: str) -> Any:
        if name == "search_docs":

            @function_tool
            def search_docs(query: str) -> str:
                """Search the knowledge base."""
                self.ran.append(("search_docs", {"query": query}))
                return f"3 documents about {query}"

            return search_docs

        @function_tool(name_override=name)
        async def send_email(to: str, body: str) -> str:
            """Send an email."""
            self.ran.append((name, {"to": to, "body": body}))
            return f"sent to {to}"

        return send_email


def outputs_seen(model: ScriptedModel) -> dict[str, str]:
    """call id -> the function_call_output the model was sent for it."""
    seen: dict[str, str] = {}
    for call in model.calls:
        if isinstance(call.input, list):
            for item in call.input:
                if isinstance(item, dict) and item.get("type") == "function_call_output":
                    seen[item["call_id"]] = str(item["output"])
    return seen


class MemoryMCPServer(MCPServer):
    """An MCP server in this process: lists ``tool_names`` and records every call it receives."""

    def __init__(self, *tool_names: str) -> None:
        super().__init__()
        self.tool_names = tool_names
        self.ran: list[tuple[str, dict[str, Any]]] = []

    @property
    def name(self) -> str:
        return "memory"

    async def connect(self) -> None:
        return None

    async def cleanup(self) -> None:
        return None

    async def list_tools(self, run_context: Any = None, agent: Any = None) -> list[MCPTool]:
        schema = {"type": "object", "properties": {"to": {"type": "string"}}, "required": ["to"]}
        return [MCPTool(name=n, description=n, input_schema=schema) for n in self.tool_names]

    async def call_tool(
        self, tool_name: str, arguments: dict[str, Any] | None, meta: dict[str, Any] | None = None
    ) -> CallToolResult:
        self.ran.append((tool_name, dict(arguments or {})))
        return CallToolResult(content=[TextContent(type="text", text=f"{tool_name} done")])

    async def list_prompts(self) -> ListPromptsResult:
        return ListPromptsResult(prompts=[])

    async def get_prompt(self, name: str, arguments: dict[str, Any] | None = None) -> GetPromptResult:
        raise KeyError(name)
