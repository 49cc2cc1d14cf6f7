"""Audit events, sent in the background without losing any silently.

One background thread per process and endpoint (base URL + key) sends batches
to ``POST /v1/events/batch``; every ``HttpEmitter`` for that endpoint shares it
(the :class:`~thoth._sender.Sender`, kept by the process's :class:`~thoth._runtime.Runtime`).
The agent's thread only appends to a bounded queue: redaction, serialisation
and the per-session hash chain happen on the sender thread.

* Bounded: ``event_buffer_max_events`` queued, ``event_buffer_max_bytes`` serialised.
* Retries network errors, 408, 429 and 5xx with exponential backoff and full
  jitter; an event keeps its ``event_id`` across retries, so they are idempotent.
* Nothing is dropped silently: :meth:`HttpEmitter.delivery_stats` counts sent,
  retried and dropped (by reason), and a rate-limited WARNING names the count.
* ``flush(timeout)``, ``close(timeout)``, and a bounded flush at interpreter exit
  (``THOTH_EXIT_FLUSH_SECONDS``, default 2). After ``os.fork()`` the child starts
  with an empty queue and its own thread.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from thoth._runtime import runtime
from thoth._sender import DEFAULT_CONTENT, ContentPolicy, DeliveryStats, uuid7
from thoth._transport import Transport

__all__ = ["ContentPolicy", "DeliveryStats", "HttpEmitter", "uuid7"]


class HttpEmitter:
    """Sends audit events to ``{api_url}/v1/events/batch`` in the background.

    Every HttpEmitter for the same ``api_url`` and ``api_key`` shares one queue and
    one sender thread; the first one created sets the batch size and buffer bounds.
    """

    def __init__(
        self,
        api_url: str,
        api_key: str | None = None,
        *,
        batch_size: int = 10,
        max_events: int = 10_000,
        max_bytes: int = 16 * 1024 * 1024,
        transport: Transport | None = None,
    ) -> None:
        url = api_url.rstrip("/")
        key = api_key or None
        shared = runtime()
        self._transport = transport or shared.transport(url, key, connect_timeout=2.0, request_timeout=5.0)
        self._sender = shared.sender(
            self._transport, key, batch_size=batch_size, max_events=max_events, max_bytes=max_bytes
        )

    def __repr__(self) -> str:
        return f"HttpEmitter(api_url={self._transport.base_url!r})"

    def record(
        self,
        fields: dict[str, Any],
        content: Any = None,
        metadata: dict[str, Any] | None = None,
        policy: ContentPolicy = DEFAULT_CONTENT,
    ) -> bool:
        """Queue one event built by the tracer (``fields`` is taken over, not copied)."""
        return self._sender.submit(fields, content, metadata, policy)

    def emit(self, event: Mapping[str, Any] | Any) -> bool:
        """Queue a complete event (a mapping, or a pydantic model) to be sent as it is."""
        dump = getattr(event, "model_dump", None)
        body = dump(mode="json") if callable(dump) else event
        if not isinstance(body, Mapping):
            raise TypeError(f"emit() takes a mapping or a pydantic model, not {type(event).__name__}")
        return self._sender.submit_raw(body)

    def flush(self, timeout: float = 5.0) -> bool:
        """Wait up to ``timeout`` seconds for queued events to be delivered; True if all were."""
        return self._sender.flush(timeout)

    def close(self, timeout: float = 5.0) -> bool:
        """Flush, then stop the sender thread; what is left is counted as dropped ("shutdown")."""
        return self._sender.close(timeout)

    def delivery_stats(self) -> DeliveryStats:
        """Counts for this endpoint: enqueued, sent, retried, dropped (by reason), pending."""
        return self._sender.snapshot()
