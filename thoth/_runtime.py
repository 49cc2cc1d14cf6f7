"""The SDK's process-wide state, in one object: connection pools, event senders, background work, call ids.

Everything a governed agent shares with the other agents of its process lives in
one :class:`Runtime`, never in scattered module globals:

* one :class:`~thoth._transport.Transport` (pooled HTTP clients) per endpoint, key and timeouts;
* one :class:`~thoth._sender.Sender` (queue and thread) per endpoint and key;
* one :class:`~thoth._background.Background` thread for work off the call path (observe
  mode's shadow checks, tool inventories);
* one :class:`~thoth._local.BundleSource` per enforcer for local decisions, and the one
  thread that refreshes them (started with the first);
* the call-id prefix and counter.

:meth:`Runtime.close` stops them all within a bound (``thoth.close()`` calls it);
each part starts again on its next use. One fork hook gives a child process fresh
senders, background thread and call ids (pools notice the fork themselves), and one
exit hook flushes what is queued, bounded by ``THOTH_EXIT_FLUSH_SECONDS``
(default 2). Test suites start each test clean with :func:`thoth.testing.reset`.
"""

from __future__ import annotations

import atexit
import hashlib
import itertools
import os
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Final, TypeVar

from thoth._background import Background
from thoth._sender import DeliveryStats, Sender
from thoth._transport import Transport
from thoth.errors import ThothConfigError

if TYPE_CHECKING:
    from thoth._local import BundleRefresher, BundleSource
    from thoth.models import ThothConfig

__all__ = ["SHADOW_CHECK", "TOOL_INVENTORY", "Runtime", "replace_runtime", "runtime"]

#: The kinds of background work, as ``delivery_stats()`` counts them.
SHADOW_CHECK: Final = "shadow_check"
TOOL_INVENTORY: Final = "tool_inventory"

_DEFAULT_EXIT_FLUSH: Final = 2.0
K = TypeVar("K")
V = TypeVar("V")


class Runtime:
    """The pools, senders, background thread and call ids of one process."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._transports: dict[tuple[str, str, float, float], Transport] = {}
        self._senders: dict[tuple[str, str], Sender] = {}
        self.background = Background()
        self._bundle_sources: dict[tuple[Any, ...], BundleSource] = {}
        self._bundle_lock = threading.Lock()  # its own: a first fetch must not hold up the pools
        self._refresher: BundleRefresher | None = None
        self._new_call_ids()

    def __repr__(self) -> str:
        return f"Runtime(transports={len(self._transports)}, senders={len(self._senders)})"

    # ---- the shared parts -----------------------------------------------------------------
    def transport(
        self, base_url: str, api_key: str | None, *, connect_timeout: float, request_timeout: float
    ) -> Transport:
        """The shared pools for this endpoint, key and timeouts."""
        key = (base_url, _key_id(api_key), connect_timeout, request_timeout)
        return self._shared(
            self._transports,
            key,
            lambda: Transport(
                base_url, api_key, connect_timeout=connect_timeout, request_timeout=request_timeout
            ),
        )

    def sender(
        self, transport: Transport, api_key: str | None, *, batch_size: int, max_events: int, max_bytes: int
    ) -> Sender:
        """The shared event sender for this endpoint and key. Its bounds are the first caller's; a
        later caller asking for others is refused (ThothConfigError), never silently given them."""
        key = (transport.base_url, _key_id(api_key))
        sender = self._shared(
            self._senders,
            key,
            lambda: Sender(transport, batch_size=batch_size, max_events=max_events, max_bytes=max_bytes),
        )
        asked = {"event_batch_size": batch_size, "event_buffer_max_events": max_events}
        asked["event_buffer_max_bytes"] = max_bytes
        has = {
            "event_batch_size": sender.batch_size,
            "event_buffer_max_events": sender.max_events,
            "event_buffer_max_bytes": sender.max_bytes,
        }
        different = [
            f"{name}={asked[name]} (it uses {has[name]})" for name in asked if asked[name] != has[name]
        ]
        if different:
            raise ThothConfigError(
                f"this process already sends events to {transport.base_url} through one buffer with other "
                f"bounds: {', '.join(different)}. Give every agent of one endpoint the same event_* "
                "settings (events of one session must keep one order, so they share one buffer)."
            )
        return sender

    def bundle_source(self, config: ThothConfig, transport: Transport) -> BundleSource:
        """The shared policy bundle for local decisions with this configuration's enforcer and
        bundle settings; made (and its bundle loaded or fetched) on first use."""
        from thoth import _local

        key = _local.source_key(config)
        source = self._bundle_sources.get(key)
        if source is None:
            with self._bundle_lock:  # the first fetch happens under it: agents starting together share it
                source = self._bundle_sources.get(key)
                if source is None:
                    source = self._bundle_sources[key] = _local.new_source(config, transport)
                    if self._refresher is None:
                        self._refresher = _local.BundleRefresher()
                    self._refresher.add(source)
        return source

    def _shared(self, parts: dict[K, V], key: K, make: Callable[[], V]) -> V:
        """``parts[key]``, made once even when threads race for it (no lock once it exists)."""
        part = parts.get(key)
        if part is None:
            with self._lock:
                part = parts.get(key)
                if part is None:
                    part = parts[key] = make()
        return part

    def senders(self, api_url: str | None = None) -> list[Sender]:
        """Every event sender, or those for ``api_url``."""
        url = api_url.rstrip("/") if api_url else None
        return [s for (base, _key), s in list(self._senders.items()) if url is None or base == url]

    def new_call_id(self) -> str:
        """A call id unique in this process: a random per-process prefix and a counter (cheaper than
        a uuid4 on the hot path)."""
        return f"{self._call_prefix}-{next(self._call_counter)}"

    # ---- flush and close ------------------------------------------------------------------
    def flush(self, timeout: float = 5.0, api_url: str | None = None) -> bool:
        """Wait up to ``timeout`` seconds for queued events to be delivered; True when all were."""
        deadline = time.monotonic() + timeout
        # A list, not a generator: every endpoint is flushed even after one times out.
        return all([s.flush(_left(deadline)) for s in self.senders(api_url)])  # noqa: C419

    def close(self, timeout: float = 5.0, api_url: str | None = None) -> bool:
        """Flush and stop the event senders, finish and stop the background work, close the pools,
        all within ``timeout``. Each starts again when next used. True when nothing was left behind
        (what was, is counted as dropped with reason ``shutdown``)."""
        deadline = time.monotonic() + timeout
        done = all([s.close(_left(deadline)) for s in self.senders(api_url)])  # noqa: C419
        if api_url is None:
            done = self.background.close(_left(deadline)) and done
            if self._refresher is not None:
                done = self._refresher.close(_left(deadline)) and done  # restarts on the next decision
        url = api_url.rstrip("/") if api_url else None
        for transport in list(self._transports.values()):
            if url is None or transport.base_url == url:
                transport.close()
        return done

    def delivery_stats(self) -> dict[str, Any]:
        """Event delivery counts across endpoints, and the background work's."""
        per_endpoint: list[DeliveryStats] = [s.snapshot() for s in self.senders()]
        dropped: dict[str, int] = {}
        for stats in per_endpoint:
            for reason, count in stats["dropped"].items():
                dropped[reason] = dropped.get(reason, 0) + count
        totals = {
            key: sum(s[key] for s in per_endpoint) for key in ("enqueued", "sent", "retried", "pending")
        }
        return {
            **totals,
            "dropped": dropped,
            "dropped_total": sum(dropped.values()),
            "endpoints": per_endpoint,
            "shadow_checks": self.background.stats(SHADOW_CHECK),
            "tool_inventories": self.background.stats(TOOL_INVENTORY),
        }

    # ---- process events -------------------------------------------------------------------
    def _new_call_ids(self) -> None:
        self._call_prefix = os.urandom(6).hex()
        self._call_counter = itertools.count(1)

    def _after_fork_in_child(self) -> None:
        # The parent keeps sending its own queued events; the child starts clean (chain positions
        # survive, so a child continues its sessions' chains). Pools notice the fork themselves.
        self._lock = threading.Lock()
        self._bundle_lock = threading.Lock()
        for sender in self._senders.values():
            sender._init_state()
        self.background = Background()
        if self._refresher is not None:  # its thread did not survive the fork
            from thoth._local import BundleRefresher

            self._refresher = BundleRefresher()
            for source in self._bundle_sources.values():
                source.after_fork()
                self._refresher.add(source)
        self._new_call_ids()

    def _at_exit(self) -> None:
        if any(s.pending() for s in self.senders()):
            self.close(_exit_flush_seconds())


def _key_id(api_key: str | None) -> str:
    return hashlib.sha256(api_key.encode()).hexdigest() if api_key else ""


def _left(deadline: float) -> float:
    return max(0.0, deadline - time.monotonic())


def _exit_flush_seconds() -> float:
    try:
        return float(os.environ.get("THOTH_EXIT_FLUSH_SECONDS", _DEFAULT_EXIT_FLUSH))
    except ValueError:
        return _DEFAULT_EXIT_FLUSH


_current = Runtime()


def runtime() -> Runtime:
    """The process's runtime."""
    return _current


def replace_runtime(timeout: float = 1.0) -> Runtime:
    """Close the current runtime (within ``timeout``) and put a fresh one in its place."""
    global _current
    old, _current = _current, Runtime()
    old.close(timeout)
    return _current


atexit.register(lambda: _current._at_exit())
if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=lambda: _current._after_fork_in_child())
