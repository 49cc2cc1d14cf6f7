"""``ThothMiddleware`` for ``langchain.agents.create_agent`` (needs the ``langchain`` package)."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from langchain.agents.middleware import AgentMiddleware

from thoth._usage import langchain_usage
from thoth.integrations._langchain_toolcall import ToolCallGovernor
from thoth.integrations._langchain_usage import latency_since

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

    It also records each model call's reported token usage (an LLM_INVOCATION event, and the
    session's ``token_spend``): do not add ``usage_callback`` to the same agent as well.
    """

    def __init__(self, tracer: Tracer) -> None:
        super().__init__()
        self._governor = ToolCallGovernor(tracer)
        self._tracer = tracer

    def wrap_model_call(self, request: Any, handler: Callable[[Any], Any]) -> Any:
        started = time.perf_counter()
        response = handler(request)
        self._record_usage(response, started)
        return response

    async def awrap_model_call(self, request: Any, handler: Callable[[Any], Awaitable[Any]]) -> Any:
        started = time.perf_counter()
        response = await handler(request)
        self._record_usage(response, started)
        return response

    def _record_usage(self, response: Any, started: float) -> None:
        """The usage of the model's message (a ``ModelResponse``, its extended form, or an ``AIMessage``)."""
        inner = getattr(response, "model_response", response)
        messages = getattr(inner, "result", None)
        for message in messages if isinstance(messages, list) else [inner]:
            usage = langchain_usage(message, latency_since(started))
            if usage is not None:
                self._tracer.record_llm_invocation(usage)
                return

    def wrap_tool_call(self, request: Any, handler: Callable[[Any], Any]) -> Any:
        return self._governor.wrap(request, handler)

    async def awrap_tool_call(self, request: Any, handler: Callable[[Any], Awaitable[Any]]) -> Any:
        return await self._governor.awrap(request, handler)
