"""Failed authentication, per client: after too many different refused keys, the client waits.

Pure (the clock is injected); app.py and the console's sign-in wire it in front of every key
lookup. The rules, and why:

* A client is its IP address (an IPv6 address by its /64, which one host usually holds whole:
  ``client_key``). Each client's state depends on its own failures only, so a client that fails
  can never lock out another address.
* What counts is the number of *different* credentials a client had refused within ``window``
  seconds (``attempt`` is a keyed digest of what it sent, never the key). Guessing needs a new
  key each time; an agent retrying one stale key learns nothing new, so it keeps getting its 401
  (which says what is wrong) instead of being locked out.
* Past ``threshold`` different refusals the client is locked out: ``base_delay`` seconds, doubled
  at each further lockout up to ``max_delay``. From then on each new wrong key locks it again, for
  twice as long: a guesser gets one guess per lockout, about one a minute. Only once a whole window
  passes after its lockout ended without a refusal does the client start afresh (counting from the
  last refusal alone would free a guesser that waits out a lockout as long as the window).
* While locked out, *every* request from the client that carries a key is answered 429 before the
  key is looked at, a correct key included. Answering a correct key would tell a guesser the
  moment it hit the right one, and the lockout would not slow the guessing at all. The price:
  clients behind one address (one host, one NAT) share the lockout one of them earned, for at
  most ``max_delay`` seconds. A success does not clear the failures either: otherwise one valid
  key (an agent's) would let its holder reset the count between guesses at another (an admin's).
* Memory is bounded: at most ``max_clients`` clients (the one whose last refusal is oldest is
  forgotten first) and at most ``threshold`` + 1 refusals each. Forgetting only ever frees a
  client; an attacker needs as many addresses as ``max_clients`` to free its own early, and with
  that many addresses it could spread its guesses anyway.

The limiter is per process: each replica of a server counts on its own, so a client spreading its
guesses over N replicas gets N times the allowance (still a few per minute each, not thousands).
"""

from __future__ import annotations

import ipaddress
import math
import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Final

import attrs

THRESHOLD: Final = 10  # different refused credentials per client ...
WINDOW_SECONDS: Final = 60.0  # ... within this many seconds, before it is locked out
BASE_DELAY_SECONDS: Final = 2.0  # the first lockout; each further one doubles ...
MAX_DELAY_SECONDS: Final = 60.0  # ... up to this
MAX_CLIENTS: Final = 10_000  # clients remembered (about 2 KB each at most)


def client_key(host: str | None) -> str:
    """The client a request counts against: its IP address, an IPv6 address by its /64."""
    if not host:
        return "-"
    if ":" not in host:
        return host
    try:
        address = ipaddress.IPv6Address(host.partition("%")[0])
    except ValueError:
        return host
    if address.ipv4_mapped is not None:
        return str(address.ipv4_mapped)
    return str(ipaddress.IPv6Network((address, 64), strict=False))


@attrs.define
class _Client:
    refused: dict[str, float] = attrs.Factory(dict)  # attempt -> when last refused (oldest first)
    strikes: int = 0  # lockouts since the client last went a window without a refusal
    locked_until: float = 0.0
    last_refused: float = -math.inf


class FailureLimiter:
    """Counts refused credentials per client and says how long a client must wait (see above)."""

    def __init__(
        self,
        *,
        threshold: int = THRESHOLD,
        window: float = WINDOW_SECONDS,
        base_delay: float = BASE_DELAY_SECONDS,
        max_delay: float = MAX_DELAY_SECONDS,
        max_clients: int = MAX_CLIENTS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if threshold < 0 or max_clients < 1 or window <= 0 or not 0 < base_delay <= max_delay:
            raise ValueError(
                "a limiter needs threshold >= 0 (0: off), max_clients >= 1 and 0 < base_delay <= max_delay"
            )
        self.threshold = threshold
        self.window = window
        self.base_delay = base_delay
        self.max_delay = max_delay
        self.max_clients = max_clients
        self._clock = clock
        self._clients: OrderedDict[str, _Client] = OrderedDict()  # least recently refused first

    def __len__(self) -> int:
        return len(self._clients)

    def retry_after(self, client: str) -> int | None:
        """Whole seconds (at least 1) before ``client`` may send a key again, or None: go ahead.
        Cheap (one dict lookup), for every request that carries a key."""
        entry = self._clients.get(client)
        if entry is None:
            return None
        return _seconds(entry.locked_until - self._clock())

    def failed(self, client: str, attempt: str) -> int | None:
        """Count a refused credential (``attempt`` names it, e.g. a keyed digest); the wait, in
        whole seconds, when this refusal locks the client out, else None."""
        if self.threshold == 0:  # off (--auth-failure-limit 0): nothing is remembered
            return None
        now = self._clock()
        entry = self._remember(client)
        if entry.locked_until > now:  # a request that was let in before the lockout began
            return _seconds(entry.locked_until - now)
        refused = entry.refused
        if now - max(entry.last_refused, entry.locked_until) > self.window:
            refused.clear()  # a whole window, after any lockout ended, without a refusal
            entry.strikes = 0
        elif entry.strikes == 0:
            cutoff = now - self.window
            while refused and next(iter(refused.values())) <= cutoff:
                del refused[next(iter(refused))]
        entry.last_refused = now
        if attempt in refused:  # the same key again: nothing new learnt, keep its 401
            del refused[attempt]
            refused[attempt] = now
            return None
        refused[attempt] = now
        if entry.strikes == 0 and len(refused) <= self.threshold:
            return None
        while len(refused) > self.threshold:  # bounded; a locked-out client's every new key counts
            del refused[next(iter(refused))]
        delay = min(self.max_delay, self.base_delay * 2.0 ** min(entry.strikes, 64))
        entry.strikes += 1
        entry.locked_until = now + delay
        return _seconds(delay)

    def _remember(self, client: str) -> _Client:
        """The client's entry, now the most recently refused (the last to be forgotten)."""
        entry = self._clients.pop(client, None)
        if entry is None:
            entry = _Client()
            while len(self._clients) >= self.max_clients:
                self._clients.popitem(last=False)
        self._clients[client] = entry
        return entry


def _seconds(remaining: float) -> int | None:
    return max(1, math.ceil(remaining)) if remaining > 0 else None
