"""``ThothMiddleware`` for ``langchain.agents.create_agent`` (needs the ``langchain`` package)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from langchain.agents.middleware import AgentMiddleware

from thoth.integrations._langchain_toolcall import ToolCallGovernor

if TYPE_CHECKING:
    from thoth.tracer import Tracer

__all__ = ["ThothMiddleware"]


class ThothMiddleware(AgentMiddleware):  # type: ignore[misc]  # langchain is untyped for mypy here
    """Governs every tool call of a ``create_agent`` agent, sync (``invoke``) and async (``ainvoke``).

    A refusal returns ``ToolMessage(status="error")`` with the reason, and the
    agent goes on; with ``tracer.on_block == "raise"`` the run raises
    ``ThothPolicyViolation`` instead. Each call is decided once, under this
    middleware's tracer, even for a tool governed in place by another agent; a
    tool it runs that is not governed yet becomes governed in place (so direct
    calls of that object are checked too). Put it last in ``middleware=[...]``
    to check the call as it will run (a later middleware may rewrite it).
    """

    def __init__(self, tracer: Tracer) -> None:
        super().__init__()
        self._governor = ToolCallGovernor(tracer)

    def wrap_tool_call(self, request: Any, handler: Callable[[Any], Any]) -> Any:
        return self._governor.wrap(request, handler)

    async def awrap_tool_call(self, request: Any, handler: Callable[[Any], Awaitable[Any]]) -> Any:
        return await self._governor.awrap(request, handler)
