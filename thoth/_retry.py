"""The one retry policy: how long to wait before the next attempt, or whether to stop. Pure.

The enforcer client (one decision, within a deadline, a few retries) and the
event sender (a batch, retried until delivered) differ only in their numbers,
so both ask a :class:`Backoff` and drive it with their own thin loop: the
enforcer's with ``time.sleep`` / ``asyncio.sleep`` (:func:`retrying`,
:func:`aretrying`), the sender's by waiting on an event that ``flush()`` can set.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Final, TypeVar

from thoth._failures import Failure

__all__ = ["Backoff", "aretrying", "retrying"]

R = TypeVar("R")

_MAX_EXPONENT: Final = 16  # a long outage must not overflow the float
_DEADLINE_MARGIN: Final = 0.01  # an attempt needs at least this much time left to be worth making


@dataclass(frozen=True, slots=True)
class Backoff:
    """Exponential backoff with full jitter, honouring a server's Retry-After.

    Attributes:
        base: the first delay's upper bound, in seconds; it doubles with each attempt.
        cap: the largest delay drawn.
        max_retries: how many retries at most (None: no limit).
        retry_after_cap: the longest Retry-After obeyed (None: obeyed as it is, deadline permitting).
    """

    base: float
    cap: float
    max_retries: int | None = None
    retry_after_cap: float | None = None

    def delay(
        self,
        attempt: int,
        *,
        retry_after: float | None = None,
        remaining: float | None = None,
        jitter: Callable[[], float] = random.random,
    ) -> float | None:
        """Seconds to wait after failed attempt number ``attempt`` (0-based), or None to give up.

        ``remaining`` is the time left before a deadline: a retry that would not start in time
        is not made.
        """
        if self.max_retries is not None and attempt >= self.max_retries:
            return None
        if retry_after is not None:
            wait = retry_after if self.retry_after_cap is None else min(retry_after, self.retry_after_cap)
        else:
            wait = jitter() * min(self.cap, self.base * 2 ** min(attempt, _MAX_EXPONENT))
        if remaining is not None and wait + _DEADLINE_MARGIN >= remaining:
            return None
        return wait


def retrying(attempt: Callable[[], R | Failure], backoff: Backoff, deadline: float) -> R | Failure:
    """Call ``attempt`` until it succeeds, fails for good, or the backoff gives up (sync driver)."""
    number = 0
    while True:
        outcome = attempt()
        wait = _next_wait(outcome, backoff, number, deadline)
        if wait is None:
            return outcome
        time.sleep(wait)
        number += 1


async def aretrying(
    attempt: Callable[[], Awaitable[R | Failure]], backoff: Backoff, deadline: float
) -> R | Failure:
    """Async :func:`retrying`: sleeps with ``asyncio.sleep``, so cancelling stops it."""
    number = 0
    while True:
        outcome = await attempt()
        wait = _next_wait(outcome, backoff, number, deadline)
        if wait is None:
            return outcome
        await asyncio.sleep(wait)
        number += 1


def _next_wait(outcome: object, backoff: Backoff, number: int, deadline: float) -> float | None:
    if not isinstance(outcome, Failure) or not outcome.retryable:
        return None
    return backoff.delay(number, retry_after=outcome.retry_after, remaining=deadline - time.monotonic())
