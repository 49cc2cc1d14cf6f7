"""Token spend of LangChain / LangGraph model calls: a callback handler that records each call's
reported usage (``on_llm_end``) as an LLM_INVOCATION event of its tracer's session.

LangChain reports usage on the model's result (``AIMessage.usage_metadata``, or the provider's
``llm_output["token_usage"]``); the handler only reads it (``thoth._usage``) and times the call
from ``on_*_start`` to ``on_llm_end``. No prompt or completion text is recorded. A model that
reports no usage records nothing.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any
from uuid import UUID

from langchain_core.callbacks import BaseCallbackHandler

from thoth._usage import langchain_usage

if TYPE_CHECKING:
    from thoth.tracer import Tracer

__all__ = ["UsageCallback", "latency_since"]

# Runs started but never ended (a cancelled task) would otherwise grow the start times forever.
_MAX_OPEN_RUNS = 10_000


def latency_since(started: float | None) -> float | None:
    """Milliseconds since a ``time.perf_counter()`` reading (``None`` when not timed)."""
    return None if started is None else round((time.perf_counter() - started) * 1000, 3)


class UsageCallback(BaseCallbackHandler):  # type: ignore[misc]  # langchain is untyped for mypy here
    """Records the usage of every LLM / chat model call it sees under ``tracer``. Pass it as
    ``config={"callbacks": [thoth.integrations.langchain.usage_callback(tracer)]}``."""

    raise_error = False  # accounting must never break the agent's run

    def __init__(self, tracer: Tracer) -> None:
        super().__init__()
        self._tracer = tracer
        self._started: dict[UUID, float] = {}

    def __repr__(self) -> str:
        return f"UsageCallback(agent_id={self._tracer.config.agent_id!r})"

    def _start(self, run_id: UUID) -> None:
        if len(self._started) >= _MAX_OPEN_RUNS:
            self._started.clear()
        self._started[run_id] = time.perf_counter()

    def on_llm_start(self, serialized: Any, prompts: Any, *, run_id: UUID, **kwargs: Any) -> None:
        self._start(run_id)

    def on_chat_model_start(self, serialized: Any, messages: Any, *, run_id: UUID, **kwargs: Any) -> None:
        self._start(run_id)

    def on_llm_end(self, response: Any, *, run_id: UUID, **kwargs: Any) -> None:
        latency = latency_since(self._started.pop(run_id, None))
        self._tracer.record_llm_invocation(langchain_usage(response, latency))

    def on_llm_error(self, error: BaseException, *, run_id: UUID, **kwargs: Any) -> None:
        self._started.pop(run_id, None)
