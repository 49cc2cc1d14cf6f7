"""Token usage as the vendors report it, read into one shape (pure: no I/O, no SDK imports).

Token spend is recorded from what the framework already reports, never estimated: a response
without usage gives ``None`` and nothing is recorded. Every reader accepts the SDK's objects and
their dict (JSON) form alike, and tolerates missing or malformed fields (a wrong type is treated
as missing, never as a crash): usage is accounting, it must never break an agent's loop.

The shapes read here, as the APIs return them:

* OpenAI Chat Completions: ``usage.prompt_tokens`` / ``completion_tokens`` / ``total_tokens``.
* OpenAI Responses API: ``usage.input_tokens`` / ``output_tokens`` / ``total_tokens``.
* Anthropic Messages: ``usage.input_tokens`` / ``output_tokens``, plus
  ``cache_creation_input_tokens`` / ``cache_read_input_tokens`` (billed input, so counted in; only
  beside ``input_tokens``, which excludes them: an OpenAI-style ``prompt_tokens``, as LiteLLM
  reports Anthropic usage, already includes them).
* Gemini (as CrewAI passes it on): ``prompt_token_count`` / ``candidates_token_count`` /
  ``total_token_count``.
* LangChain: ``AIMessage.usage_metadata`` (``input_tokens`` / ``output_tokens`` /
  ``total_tokens``) or ``LLMResult.llm_output["token_usage"]`` (OpenAI's names).

A response counts once: ``Usage.response_id`` is the vendor's id of the response (OpenAI's and
Anthropic's ``id``, a stream's chunk or ``message_start`` id, an integration's own), and a tracer
remembers the last ids it counted (``RecentIds``), so the same response recorded twice (an
application loop and a helper both passing it on) adds to ``token_spend`` once. A response without
an id (a hand-built dict) is not guarded: no id, nothing that safely says "the same response".
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

__all__ = ["RecentIds", "Usage", "langchain_usage", "metadata_tokens", "usage_of", "usage_of_fields"]

RECENT_RESPONSE_IDS = 1_024  # the response ids a tracer remembers, against counting one twice


@dataclass(frozen=True)
class Usage:
    """One LLM invocation's token counts (``latency_ms`` when the caller timed it).

    ``response_id`` names the response, to count it once; it is not part of the counts (equality
    ignores it) nor of the event."""

    model: str | None
    input_tokens: int
    output_tokens: int
    total: int
    latency_ms: float | None = None
    response_id: str | None = field(default=None, compare=False)

    def metadata(self) -> dict[str, Any]:
        """The LLM_INVOCATION event's metadata: counts and model only, never prompt text."""
        return {
            "model": self.model,
            "input_tokens": self.input_tokens,
            "output_tokens": self.output_tokens,
            "total_tokens": self.total,
            "latency_ms": self.latency_ms,
        }


class RecentIds:
    """The last ``limit`` response ids counted (bounded memory; thread-safe: integrations record
    from framework threads)."""

    def __init__(self, limit: int = RECENT_RESPONSE_IDS) -> None:
        self._limit = limit
        self._ids: dict[str, None] = {}  # insertion-ordered: the oldest is dropped first
        self._lock = threading.Lock()

    def first_time(self, response_id: str | None) -> bool:
        """Whether ``response_id`` is new (remembering it); ``None`` (no id) is always new."""
        if response_id is None:
            return True
        with self._lock:
            if response_id in self._ids:
                return False
            self._ids[response_id] = None
            if len(self._ids) > self._limit:
                del self._ids[next(iter(self._ids))]
            return True


def metadata_tokens(metadata: Mapping[str, Any]) -> int:
    """The tokens an LLM_INVOCATION event's metadata (what ``Usage.metadata`` writes) reports:
    ``total_tokens``, else input plus output; a count that is not a non-negative int is 0. The
    enforcer's token limits read events with it (thoth.server.store.reported_tokens)."""
    total = _count(metadata, "total_tokens")
    if total is None:
        total = (_count(metadata, "input_tokens") or 0) + (_count(metadata, "output_tokens") or 0)
    return total


def _get(obj: Any, name: str) -> Any:
    if isinstance(obj, Mapping):
        return obj.get(name)
    return getattr(obj, name, None)


def _count(obj: Any, *names: str) -> int | None:
    """The first of ``names`` that holds a non-negative int (bools and other types are missing)."""
    for name in names:
        value = _get(obj, name)
        if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
            return value
    return None


def _text(obj: Any, *names: str) -> str | None:
    """The first of ``names`` that holds a non-empty string."""
    for name in names:
        value = _get(obj, name)
        if isinstance(value, str) and value:
            return value
    return None


def _model(obj: Any) -> str | None:
    return _text(obj, "model", "model_name")


def usage_of_fields(
    usage: Any, model: str | None = None, latency_ms: float | None = None, response_id: str | None = None
) -> Usage | None:
    """Read one ``usage`` object or dict in any of the vendors' namings; ``None`` without counts."""
    if usage is None:
        return None
    inputs = _count(usage, "input_tokens")
    if inputs is not None:  # Anthropic's input count leaves the cache out: add it
        inputs += _count(usage, "cache_creation_input_tokens") or 0
        inputs += _count(usage, "cache_read_input_tokens") or 0
    else:
        inputs = _count(usage, "prompt_tokens", "prompt_token_count")
    outputs = _count(usage, "output_tokens", "completion_tokens", "candidates_token_count")
    if inputs is None and outputs is None:
        return None
    inputs, outputs = inputs or 0, outputs or 0
    total = _count(usage, "total_tokens", "total_token_count")
    # A reported total below the parts is not trusted (Anthropic reports none; cache adds to input).
    total = total if total is not None and total >= inputs + outputs else inputs + outputs
    return Usage(model, inputs, outputs, total, latency_ms, response_id)


def usage_of(response: Any, latency_ms: float | None = None) -> Usage | None:
    """The usage of an OpenAI ``ChatCompletion`` / ``Response`` or an Anthropic ``Message`` (object
    or dict), of the ``response.completed`` event or of a list of stream chunks/events."""
    if isinstance(response, list | tuple):
        return _usage_of_stream(response, latency_ms)
    if _get(response, "type") in ("response.completed", "message_start"):
        inner = _get(response, "response") or _get(response, "message")
        return usage_of(inner, latency_ms)
    return usage_of_fields(_get(response, "usage"), _model(response), latency_ms, _text(response, "id"))


def _usage_of_stream(items: list[Any] | tuple[Any, ...], latency_ms: float | None) -> Usage | None:
    """A stream reports usage once at its end (OpenAI's last chunk, ``response.completed``) or,
    for Anthropic, input in ``message_start`` and the output count in ``message_delta``."""
    found: Usage | None = None
    model: str | None = None
    for item in items:
        kind = _get(item, "type")
        if kind == "message_delta" and found is not None:
            delta = usage_of_fields(_get(item, "usage"), found.model, latency_ms)
            if delta is not None:
                found = _merge_delta(found, delta)
            continue
        usage = usage_of(item, latency_ms)
        model = model or _model(item)
        if usage is not None:
            found = usage
    if found is not None and found.model is None and model is not None:
        found = replace(found, model=model)
    return found


def _merge_delta(start: Usage, delta: Usage) -> Usage:
    """Anthropic's ``message_delta`` carries the final output count (cumulative), and may repeat input."""
    inputs = max(start.input_tokens, delta.input_tokens)
    return replace(
        start, input_tokens=inputs, output_tokens=delta.output_tokens, total=inputs + delta.output_tokens
    )


def langchain_usage(result: Any, latency_ms: float | None = None) -> Usage | None:
    """The usage of a LangChain ``LLMResult`` (``on_llm_end``) or ``AIMessage``: the messages'
    ``usage_metadata`` summed over the generations, else ``llm_output["token_usage"]``."""
    message_usage = _usage_of_messages(result, latency_ms)
    if message_usage is not None:
        return message_usage
    output = _get(result, "llm_output")
    if not isinstance(output, Mapping):
        return None
    token_usage = output.get("token_usage") or output.get("usage")
    return usage_of_fields(token_usage, _model(output), latency_ms)


def _usage_of_messages(result: Any, latency_ms: float | None) -> Usage | None:
    messages = [result] if _get(result, "usage_metadata") is not None else _generation_messages(result)
    parts = [
        u
        for m in messages
        if (u := usage_of_fields(_get(m, "usage_metadata"), _message_model(m), latency_ms)) is not None
    ]
    if not parts:
        return None
    return Usage(
        next((p.model for p in parts if p.model), None),
        sum(p.input_tokens for p in parts),
        sum(p.output_tokens for p in parts),
        sum(p.total for p in parts),
        latency_ms,
    )


def _generation_messages(result: Any) -> list[Any]:
    generations = _get(result, "generations")
    if not isinstance(generations, list | tuple):
        return []
    out = []
    for batch in generations:
        for generation in batch if isinstance(batch, list | tuple) else [batch]:
            message = _get(generation, "message")
            if message is not None:
                out.append(message)
    return out


def _message_model(message: Any) -> str | None:
    metadata = _get(message, "response_metadata")
    return _model(metadata) if isinstance(metadata, Mapping) else None
