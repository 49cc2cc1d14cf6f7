"""uvicorn's httptools protocol with bounds on what a client can make the server hold before a
request exists (issue 14).

httptools has no limit of its own: it joins each header (and uvicorn the URL) chunk by chunk,
so a 64 MB header cost seconds of the event loop, a 200 MB one two minutes and 270 MB. And
uvicorn arms no timer on a connection until its first response, nor while a request head is
arriving, so connections that send nothing, or half a head, were held for ever. This protocol:

* counts the bytes received while a request head (request line and headers) is incomplete and
  the header fields parsed; past ``MAX_HEAD_BYTES`` or ``MAX_HEADERS`` it answers 431 (414 when
  the URL is what is too long) with ``connection: close`` and parses nothing more;
* gives a client ``HEADER_TIMEOUT_SECONDS`` from the connection's start, or from the end of the
  previous response, to complete a request head, then closes the connection (after a 408 when
  part of a head had arrived);
* closes a new connection at once while ``MAX_CONNECTIONS`` are open, so that held sockets
  cannot take the file descriptors the store needs.

uvicorn's ``timeout_keep_alive`` still closes a connection idle after a response. A normal
request pays a few attribute updates per callback (measured in process: ~3 us on top of the
~26 us uvicorn's protocol spends on a request; nothing measurable through a real server).

``THOTH_HTTP_HEADER_TIMEOUT_SECONDS`` (hidden, for tests) overrides ``HEADER_TIMEOUT_SECONDS``;
it is read once, when the server imports this module. (Not a ``THOTH_SERVER_`` name: the test
fixtures keep those variables from the server they start.)
"""

from __future__ import annotations

import asyncio
import json
import logging
import math
import os
import resource
import time
from asyncio import TimerHandle
from collections.abc import Callable, Mapping
from http import HTTPStatus
from typing import Any, Final

import httptools
from uvicorn.config import Config
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol
from uvicorn.server import ServerState

log = logging.getLogger("thoth.server.http")

#: Request line plus headers. Well above what any client of this API sends (the SDK sends
#: under 1 KiB; nginx's default is 4 x 8 KiB, Node's 16 KiB), and small enough that parsing
#: it costs microseconds.
MAX_HEAD_BYTES: Final = 64 * 1024
#: Header fields in one request (Apache's default LimitRequestFields); clients send about ten.
MAX_HEADERS: Final = 100
#: After the bytes of a refused request, read and drop at most this much for at most this
#: long, so that a client still sending can read the answer (closing with unread data sends a
#: reset, which can destroy the answer in flight), then close.
LINGER_BYTES: Final = 1024 * 1024
LINGER_SECONDS: Final = 1.0
#: File descriptors kept for everything but client connections: the store's connections and
#: files, the log, webhooks.
RESERVED_FDS: Final = 256
#: Seconds between two lines about refused or timed-out connections; the next line counts
#: the ones left out (a flood must not become a flood of log lines).
LOG_INTERVAL_SECONDS: Final = 1.0


def _header_timeout(environ: Mapping[str, str]) -> float:
    """Seconds a client has to complete a request head: 10, generous for an API client (nginx
    allows 60 for slow links, which this server does not expect)."""
    text = environ.get("THOTH_HTTP_HEADER_TIMEOUT_SECONDS")
    if text is None:
        return 10.0
    try:
        seconds = float(text)
    except ValueError:
        seconds = math.nan
    if not (seconds > 0 and math.isfinite(seconds)):
        raise ValueError(f"THOTH_HTTP_HEADER_TIMEOUT_SECONDS={text!r}: not a positive number of seconds")
    return seconds


def _max_connections() -> int:
    """Client connections this process may hold: its file descriptors less RESERVED_FDS (at
    least half of them, for a low limit)."""
    soft, _hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft == resource.RLIM_INFINITY:
        return 100_000
    return max(soft - RESERVED_FDS, soft // 2)


HEADER_TIMEOUT_SECONDS: Final = _header_timeout(os.environ)
MAX_CONNECTIONS: Final = _max_connections()


class _TooManyHeaders(Exception):
    """Raised in a parser callback: httptools stops parsing and reports it as the cause."""


class _SampledLog:
    """At most one line per LOG_INTERVAL_SECONDS; the next line says how many were left out."""

    def __init__(self) -> None:
        self._next_at = 0.0
        self._left_out = 0

    def __call__(self, level: int, message: str, *args: object) -> None:
        now = time.monotonic()
        if now < self._next_at:
            self._left_out += 1
            return
        self._next_at = now + LOG_INTERVAL_SECONDS
        if self._left_out:
            message += " (and %d more since the last such line)"
            args = (*args, self._left_out)
            self._left_out = 0
        log.log(level, message, *args)


# one budget each, so that a flood of one kind does not hide the other kinds
_refusals, _timeouts, _turned_away = _SampledLog(), _SampledLog(), _SampledLog()


class BoundedHttpToolsProtocol(HttpToolsProtocol):
    """HttpToolsProtocol with the bounds of the module docstring; ``uvicorn.Config(http=...)``."""

    def __init__(
        self,
        config: Config,
        server_state: ServerState,
        app_state: dict[str, Any],
        _loop: asyncio.AbstractEventLoop | None = None,
    ) -> None:
        super().__init__(config, server_state, app_state, _loop)
        self._head_open = True  # a request head is expected or arriving
        self._head_bytes = 0  # bytes received while it was (see data_received)
        self._deadline = 0.0  # loop time by which the next head must be complete
        self._timer: TimerHandle | None = None  # checks the deadline, or ends a linger
        self._refused = False  # answered and closing: what still arrives is dropped
        self._linger_left = LINGER_BYTES

    # -- connection ----------------------------------------------------------------------------

    def connection_made(  # type: ignore[override]
        self, transport: asyncio.Transport
    ) -> None:
        super().connection_made(transport)
        if len(self.connections) > MAX_CONNECTIONS:
            self._refused = True
            _turned_away(
                logging.WARNING, "closed a new connection from %s: %d open", self._peer(), MAX_CONNECTIONS
            )
            transport.close()
            return
        self._deadline = self.loop.time() + HEADER_TIMEOUT_SECONDS
        self._arm(HEADER_TIMEOUT_SECONDS, self._check_deadline)

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        """Only the bytes that arrive while a head is open count: a chunk that also holds the
        body counts whole, unless that would cross the bound (then it is split exactly); the
        next request's head in the same chunk as the end of a body does not count (at most
        one read, 256 KiB, more than the bound)."""
        if self._refused:
            self._drop(data)
            return
        if self._head_open:
            self._head_bytes += len(data)
            if self._head_bytes > MAX_HEAD_BYTES:
                self._receive_past_bound(data)
                return
        self._parse(data)

    def _parse(self, data: bytes) -> None:
        """uvicorn's data_received (0.54), but too many headers is answered 431, not 400."""
        self._unset_keepalive_if_required()
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserCallbackError as exc:
            if not isinstance(exc.__context__, _TooManyHeaders):
                self._invalid_request()
                return
            self._refuse(431, "header_fields_too_large", f"more than {MAX_HEADERS} header fields")
        except httptools.HttpParserError:
            self._invalid_request()
        except httptools.HttpParserUpgrade:
            if self._should_upgrade():
                self.handle_websocket_upgrade()
            else:
                self._unsupported_upgrade_warning()

    def _invalid_request(self) -> None:
        message = "Invalid HTTP request received."
        self.logger.warning(message)
        self.send_400_response(message)

    def _receive_past_bound(self, data: bytes) -> None:
        """The chunk that takes an open head past MAX_HEAD_BYTES: parse only what the head may
        still take. If the head is still open after that, it is too large and the rest is never
        parsed; else the rest (a body, the next request) is received as usual."""
        room = MAX_HEAD_BYTES - (self._head_bytes - len(data))
        self._parse(data[:room])
        if self._refused or self.transport.is_closing():
            return
        if self._head_open and self._head_bytes > MAX_HEAD_BYTES:  # still that head
            if len(getattr(self, "url", b"")) > MAX_HEAD_BYTES // 2:
                self._refuse(414, "uri_too_long", f"request line exceeds {MAX_HEAD_BYTES} bytes")
            else:
                self._refuse(431, "header_fields_too_large", f"request head exceeds {MAX_HEAD_BYTES} bytes")
            return
        self.data_received(data[room:])

    # -- parser callbacks: they run per header or per request, so they call the base class by
    # name; super() costs ~0.1 us a call on Python 3.11, more than what they add --------------

    def on_header(self, name: bytes, value: bytes) -> None:
        if len(self.headers) >= MAX_HEADERS:
            raise _TooManyHeaders
        HttpToolsProtocol.on_header(self, name, value)

    def on_headers_complete(self) -> None:
        self._head_open = False
        HttpToolsProtocol.on_headers_complete(self)

    def on_message_complete(self) -> None:
        self._head_open = True
        self._head_bytes = 0
        HttpToolsProtocol.on_message_complete(self)

    def on_response_complete(self) -> None:
        HttpToolsProtocol.on_response_complete(self)
        self._deadline = self.loop.time() + HEADER_TIMEOUT_SECONDS  # the timer reads it

    # -- the head deadline -----------------------------------------------------------------------

    def _check_deadline(self) -> None:
        """One timer per connection, re-armed when it fires: a response only moves the deadline
        (a timer per request would cost ~1.3 us to create and cancel, 5% of uvicorn's own work)."""
        self._timer = None
        if self.transport.is_closing():
            return
        now = self.loop.time()
        if not self._responded():  # the deadline is the client's: it starts again at the end
            self._arm(HEADER_TIMEOUT_SECONDS, self._check_deadline)
        elif now < self._deadline:
            self._arm(self._deadline - now, self._check_deadline)
        else:
            self._head_timed_out()

    def _head_timed_out(self) -> None:
        if self._head_open and self._head_bytes:  # a head was arriving: say why it is closed
            self.transport.write(self._answer(408, "request_timeout", "request head not received in time"))
            _timeouts(
                logging.INFO, "closed a connection from %s: request head not received in time", self._peer()
            )
        self.transport.close()

    # -- refusing ------------------------------------------------------------------------------

    def _refuse(self, status: int, code: str, message: str) -> None:
        """Answer ``status``, half-close, and drop what still arrives until the linger ends."""
        self._refused = True
        self._disarm()
        _refusals(logging.WARNING, "refused a request from %s: %s (%d)", self._peer(), message, status)
        if not self._responded():  # a pipelined head: the answer would cut into a response
            self.transport.close()
            return
        self.transport.write(self._answer(status, code, message))
        if not self.transport.can_write_eof():
            self.transport.close()
            return
        self.transport.write_eof()
        self._arm(LINGER_SECONDS, self.transport.close)

    def _drop(self, data: bytes) -> None:
        self._linger_left -= len(data)
        if self._linger_left < 0:
            self.transport.close()

    def _responded(self) -> bool:
        """No response is being produced on this connection."""
        return self.cycle is None or self.cycle.response_complete

    def _answer(self, status: int, code: str, message: str) -> bytes:
        body = json.dumps({"code": code, "message": message}).encode()
        lines = [f"HTTP/1.1 {status} {HTTPStatus(status).phrase}".encode()]
        lines += [name + b": " + value for name, value in self.server_state.default_headers]
        lines += [
            b"content-type: application/json",
            b"content-length: " + str(len(body)).encode(),
            b"connection: close",
        ]
        return b"\r\n".join(lines) + b"\r\n\r\n" + body

    def _peer(self) -> str:
        return self.client[0] if self.client else "an unknown address"

    # -- the timer -----------------------------------------------------------------------------

    def _arm(self, delay: float, callback: Callable[[], object]) -> None:
        if self._timer is not None:
            self._timer.cancel()
        self._timer = self.loop.call_later(delay, callback)

    def _disarm(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
