"""The connection pools for one endpoint and key: one ``httpx.Client``, one ``AsyncClient`` per loop.

The enforcer client, the step-up poller and the event sender of every
``instrument()`` call for the same endpoint share one :class:`Transport` (the
process-wide :class:`~thoth._runtime.Runtime` hands it out), so connections are
reused and nothing grows with the number of instrumented agents. The paths and
methods are the contract's (:mod:`thoth._wire`); this module only owns the pools.
"""

from __future__ import annotations

import os
import platform
import threading
import weakref
from typing import TYPE_CHECKING, Final

import httpx

from thoth._version import __version__

if TYPE_CHECKING:
    import asyncio

__all__ = ["Transport"]

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
        self._forget_connections()

    def _forget_connections(self) -> None:
        """New, or after fork: the parent's sockets and locks are not ours. Drop them without closing."""
        self._pid = os.getpid()
        self._lock = threading.Lock()
        self._sync: httpx.Client | None = None
        self._async: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, httpx.AsyncClient] = (
            weakref.WeakKeyDictionary()
        )

    def __repr__(self) -> str:
        return f"Transport(base_url={self.base_url!r})"

    @property
    def sync_client(self) -> httpx.Client:
        if self._pid != os.getpid():  # a forked child: cheaper and surer than a fork hook per pool
            self._forget_connections()
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

        if self._pid != os.getpid():
            self._forget_connections()
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
