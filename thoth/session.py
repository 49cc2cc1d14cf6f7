"""Sessions: one per ``instrument()`` call (or continued by ``session_id=``).

The current session lives in a ContextVar, so concurrent threads and asyncio
tasks each see their own.
"""

from __future__ import annotations

import contextvars
import threading
import uuid

from thoth.models import ThothConfig

__all__ = ["MAX_REMEMBERED_CALLS", "SessionContext", "get_current_session"]

# The most recent tool names a session remembers (the largest session_history_limit); older ones are
# forgotten, so a long-lived session holds bounded memory. tool_call_count keeps the full count.
MAX_REMEMBERED_CALLS = 10_000

_CURRENT_SESSION: contextvars.ContextVar[SessionContext | None] = contextvars.ContextVar(
    "thoth_session", default=None
)


class SessionContext:
    """What Thoth knows about one agent session."""

    def __init__(self, config: ThothConfig, session_id: str | None = None) -> None:
        self._config = config
        self._lock = threading.Lock()
        self.session_id: str = session_id or str(uuid.uuid4())
        self.tool_calls: list[str] = []
        """The session's latest tool calls, oldest first (at most ``MAX_REMEMBERED_CALLS``)."""
        self.tool_call_count: int = 0
        """How many tool calls the session has run in all."""
        self.token_spend: int = 0
        """The LLM tokens (input + output) the session's recorded LLM_INVOCATION events reported."""

    def __repr__(self) -> str:
        return f"SessionContext(session_id={self.session_id!r}, tool_calls={len(self.tool_calls)})"

    @property
    def config(self) -> ThothConfig:
        return self._config

    def record_tool_call(self, tool_name: str) -> None:
        with self._lock:
            self.tool_calls.append(tool_name)
            self.tool_call_count += 1
            if len(self.tool_calls) > 2 * MAX_REMEMBERED_CALLS:  # trim in bulk: O(1) per call on average
                del self.tool_calls[:-MAX_REMEMBERED_CALLS]

    def record_token_spend(self, tokens: int) -> None:
        """Add one invocation's tokens (``Tracer.record_llm_invocation`` calls this)."""
        with self._lock:
            self.token_spend += tokens

    def pending_calls(self, tool_name: str, limit: int) -> list[str]:
        """The last calls, ``tool_name`` appended, at most ``limit``: the wire's ``session_tool_calls``."""
        with self._lock:
            return [*self.tool_calls[-(limit - 1) :], tool_name] if limit > 1 else [tool_name]

    def recent_calls(self, limit: int) -> list[str]:
        """The last ``limit`` calls (an event's ``session_tool_calls``)."""
        return self.tool_calls[-limit:]

    def is_in_scope(self, tool_name: str) -> bool:
        return tool_name in self._config.approved_scope


def get_current_session() -> SessionContext | None:
    """The Thoth session of the current thread or asyncio task, if any."""
    return _CURRENT_SESSION.get()
