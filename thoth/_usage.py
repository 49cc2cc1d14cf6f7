"""Token usage as the vendors report it, read into one shape (pure: no I/O, no SDK imports).

Token spend is recorded from what the framework already reports, never estimated: a response
without usage gives ``None`` and nothing is recorded. Every reader accepts the SDK's objects and
their dict (JSON) form alike, and tolerates missing or malformed fields (a wrong type is treated
as missing, never as a crash): usage is accounting, it must never break an agent's loop.

The shapes read here, as the APIs return them:

* OpenAI Chat Completions: ``usage.prompt_tokens`` / ``completion_tokens`` / ``total_tokens``.
* OpenAI Responses API: ``usage.input_tokens`` / ``output_tokens`` / ``total_tokens``.
* Anthropic Messages: ``usage.input_tokens`` / ``output_tokens``, plus
  ``cache_creation_input_tokens`` / ``cache_read_input_tokens`` (billed input, so counted in).
* LangChain: ``AIMessage.usage_metadata`` (``input_tokens`` / ``output_tokens`` /
  ``total_tokens``) or ``LLMResult.llm_output["token_usage"]`` (OpenAI's names).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

__all__ = ["Usage", "langchain_usage", "usage_of", "usage_of_fields"]


@dataclass(frozen=True)
class Usage:
    """One LLM invocation's token counts (``latency_ms`` when the caller timed it)."""

    model: str | None
    input_tokens: int
    output_tokens: int
    total: int
    latency_ms: float | None = None

    def metadata(self) -> dict[str, Any]:
        """The LLM_INVOCATION event's metadata: counts and model only, never prompt text."""
        return {
            "model": self.model,
            "input_tokens": self.input_tokens,
            "output_tokens": self.output_tokens,
            "total_tokens": self.total,
            "latency_ms": self.latency_ms,
        }


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


def _model(obj: Any) -> str | None:
    for name in ("model", "model_name"):
        value = _get(obj, name)
        if isinstance(value, str) and value:
            return value
    return None


def usage_of_fields(usage: Any, model: str | None = None, latency_ms: float | None = None) -> Usage | None:
    """Read one ``usage`` object or dict in any of the vendors' namings; ``None`` without counts."""
    if usage is None:
        return None
    inputs = _count(usage, "input_tokens", "prompt_tokens")
    outputs = _count(usage, "output_tokens", "completion_tokens")
    if inputs is None and outputs is None:
        return None
    inputs = (inputs or 0) + (_count(usage, "cache_creation_input_tokens") or 0)
    inputs += _count(usage, "cache_read_input_tokens") or 0
    outputs = outputs or 0
    total = _count(usage, "total_tokens")
    # A reported total below the parts is not trusted (Anthropic reports none; cache adds to input).
    total = total if total is not None and total >= inputs + outputs else inputs + outputs
    return Usage(model, inputs, outputs, total, latency_ms)


def usage_of(response: Any, latency_ms: float | None = None) -> Usage | None:
    """The usage of an OpenAI ``ChatCompletion`` / ``Response`` or an Anthropic ``Message`` (object
    or dict), of the ``response.completed`` event or of a list of stream chunks/events."""
    if isinstance(response, list | tuple):
        return _usage_of_stream(response, latency_ms)
    if _get(response, "type") in ("response.completed", "message_start"):
        inner = _get(response, "response") or _get(response, "message")
        return usage_of(inner, latency_ms)
    return usage_of_fields(_get(response, "usage"), _model(response), latency_ms)


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
        found = Usage(model, found.input_tokens, found.output_tokens, found.total, latency_ms)
    return found


def _merge_delta(start: Usage, delta: Usage) -> Usage:
    """Anthropic's ``message_delta`` carries the final output count (cumulative), and may repeat input."""
    inputs = max(start.input_tokens, delta.input_tokens)
    return Usage(start.model, inputs, delta.output_tokens, inputs + delta.output_tokens, start.latency_ms)


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
