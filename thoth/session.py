"""Sessions: one per ``instrument()`` call (or continued by ``session_id=``).

The current session lives in a ContextVar, so concurrent threads and asyncio
tasks each see their own.
"""

from __future__ import annotations

import contextvars
import threading
import uuid

from thoth.models import ThothConfig

__all__ = ["SessionContext", "get_current_session"]

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
        self.token_spend: int = 0

    def __repr__(self) -> str:
        return f"SessionContext(session_id={self.session_id!r}, tool_calls={len(self.tool_calls)})"

    @property
    def config(self) -> ThothConfig:
        return self._config

    def record_tool_call(self, tool_name: str) -> None:
        with self._lock:
            self.tool_calls.append(tool_name)

    def record_token_spend(self, tokens: int) -> None:
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
