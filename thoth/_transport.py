"""One pooled HTTP client per (base URL, API key), shared by everything that talks to it.

The enforcer client, the step-up poller and the event emitter of every
``instrument()`` call for the same endpoint share one ``httpx.Client`` (and one
``httpx.AsyncClient`` per event loop), so connections are reused and nothing
grows with the number of instrumented agents. Requests are built by the
generated client (``thoth_api_client``); this module only owns the pools.
"""

from __future__ import annotations

import hashlib
import os
import platform
import threading
import weakref
from typing import TYPE_CHECKING, Final

import httpx

from thoth._version import __version__

if TYPE_CHECKING:
    import asyncio

__all__ = ["Transport", "get_transport", "reset_transports"]

USER_AGENT: Final = f"thoth-sdk/{__version__} httpx/{httpx.__version__} python/{platform.python_version()}"
_LIMITS: Final = httpx.Limits(max_connections=100, max_keepalive_connections=20, keepalive_expiry=30.0)


class Transport:
    """The connection pools for one endpoint and key. Its repr never shows the key."""

    def __init__(
        self, base_url: str, api_key: str | None, *, connect_timeout: float, request_timeout: float
    ) -> None:
        self.base_url = base_url
        self._headers = {"User-Agent": USER_AGENT, "Accept": "application/json"}
        if api_key:
            # Old servers read x-api-key on /v1/enforce and Bearer elsewhere: send both everywhere.
            self._headers["x-api-key"] = api_key
            self._headers["Authorization"] = f"Bearer {api_key}"
        self.timeout = httpx.Timeout(request_timeout, connect=connect_timeout)
        self._lock = threading.Lock()
        self._sync: httpx.Client | None = None
        self._async: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, httpx.AsyncClient] = (
            weakref.WeakKeyDictionary()
        )
        _all_transports.add(self)

    def _forget_connections(self) -> None:
        """After fork: the parent's sockets and locks are not ours. Drop them without closing."""
        self._lock = threading.Lock()
        self._sync = None
        self._async = weakref.WeakKeyDictionary()

    def __repr__(self) -> str:
        return f"Transport(base_url={self.base_url!r})"

    @property
    def sync_client(self) -> httpx.Client:
        client = self._sync
        if client is None:
            with self._lock:
                if self._sync is None:
                    self._sync = httpx.Client(
                        base_url=self.base_url,
                        headers=self._headers,
                        timeout=self.timeout,
                        limits=_LIMITS,
                        follow_redirects=False,
                    )
                client = self._sync
        return client

    def async_client(self) -> httpx.AsyncClient:
        """The AsyncClient for the running event loop (an AsyncClient cannot cross loops)."""
        import asyncio  # only async callers pay for it

        loop = asyncio.get_running_loop()
        client = self._async.get(loop)
        if client is None:
            with self._lock:
                client = self._async.get(loop)
                if client is None:
                    client = httpx.AsyncClient(
                        base_url=self.base_url,
                        headers=self._headers,
                        timeout=self.timeout,
                        limits=_LIMITS,
                        follow_redirects=False,
                    )
                    self._async[loop] = client
        return client

    def close(self) -> None:
        with self._lock:
            if self._sync is not None:
                self._sync.close()
                self._sync = None
            self._async.clear()  # their loops own their sockets; dropping the reference is enough


_all_transports: weakref.WeakSet[Transport] = weakref.WeakSet()
_registry: dict[tuple[str, str, float, float], Transport] = {}
_registry_lock = threading.Lock()


def get_transport(
    base_url: str, api_key: str | None, *, connect_timeout: float, request_timeout: float
) -> Transport:
    """The shared Transport for this endpoint, key and timeouts."""
    key_id = hashlib.sha256(api_key.encode()).hexdigest() if api_key else ""
    registry_key = (base_url, key_id, connect_timeout, request_timeout)
    transport = _registry.get(registry_key)
    if transport is None:
        with _registry_lock:
            transport = _registry.get(registry_key)
            if transport is None:
                transport = Transport(
                    base_url, api_key, connect_timeout=connect_timeout, request_timeout=request_timeout
                )
                _registry[registry_key] = transport
    return transport


def reset_transports() -> None:
    """Close every pool (used at close and, without closing, after fork)."""
    with _registry_lock:
        transports = list(_registry.values())
        _registry.clear()
    for transport in transports:
        transport.close()


def _forget_after_fork() -> None:
    # Sockets and locks inherited from the parent must not be used by the child.
    global _registry_lock
    _registry_lock = threading.Lock()
    for transport in list(_all_transports):
        transport._forget_connections()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_after_fork)
