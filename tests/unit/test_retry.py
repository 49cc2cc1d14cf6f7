"""The one retry policy (thoth._retry): pure, so tested without sockets or sleeps."""

from __future__ import annotations

import asyncio
import time

import pytest

from thoth._failures import Failure
from thoth._retry import Backoff, aretrying, retrying


def test_full_jitter_doubles_the_bound_up_to_the_cap() -> None:
    backoff = Backoff(base=0.5, cap=5.0)
    assert [backoff.delay(n, jitter=lambda: 1.0) for n in range(6)] == [0.5, 1.0, 2.0, 4.0, 5.0, 5.0]
    assert backoff.delay(3, jitter=lambda: 0.25) == 1.0


def test_a_long_outage_does_not_overflow() -> None:
    assert Backoff(base=0.5, cap=5.0).delay(10**9, jitter=lambda: 1.0) == 5.0


def test_max_retries_ends_the_attempts() -> None:
    backoff = Backoff(base=0.05, cap=1.0, max_retries=2)
    assert backoff.delay(1) is not None
    assert backoff.delay(2) is None


def test_retry_after_is_obeyed_or_capped() -> None:
    assert Backoff(base=0.05, cap=1.0).delay(0, retry_after=3.0) == 3.0
    assert Backoff(base=0.5, cap=5.0, retry_after_cap=5.0).delay(0, retry_after=60.0) == 5.0


def test_no_retry_that_cannot_start_before_the_deadline() -> None:
    backoff = Backoff(base=0.05, cap=1.0)
    assert backoff.delay(0, retry_after=0.5, remaining=0.4) is None
    assert backoff.delay(0, retry_after=0.5, remaining=0.6) == 0.5


def test_the_sync_driver_retries_only_retryable_failures() -> None:
    transient = Failure("reset", "enforcer_unreachable", retryable=True, retry_after=0.0)
    final = Failure("bad key", "auth_rejected")
    for outcomes, expected_calls, expected in (
        ([transient, transient, "ok"], 3, "ok"),
        ([final, "ok"], 1, final),
        ([transient] * 5, 3, transient),  # max_retries=2: three attempts in all
    ):
        calls = iter(outcomes)
        made = []

        def attempt(calls=calls, made=made):  # type: ignore[no-untyped-def]
            made.append(1)
            return next(calls)

        assert retrying(attempt, Backoff(0.0, 0.0, max_retries=2), time.monotonic() + 5) == expected
        assert len(made) == expected_calls


def test_the_async_driver_is_the_same_policy() -> None:
    transient = Failure("reset", "enforcer_unreachable", retryable=True, retry_after=0.0)
    outcomes = iter([transient, "ok"])

    async def attempt() -> str | Failure:
        return next(outcomes)

    assert asyncio.run(aretrying(attempt, Backoff(0.0, 0.0, max_retries=2), time.monotonic() + 5)) == "ok"


def test_the_deadline_stops_the_driver() -> None:
    slow = Failure("reset", "enforcer_unreachable", retryable=True, retry_after=10.0)
    started = time.monotonic()
    assert retrying(lambda: slow, Backoff(0.05, 1.0, max_retries=5), time.monotonic() + 1.0) is slow
    assert time.monotonic() - started < 0.5


@pytest.mark.parametrize("attempt", [0, 1, 7])
def test_jitter_stays_within_the_bound(attempt: int) -> None:
    backoff = Backoff(base=0.05, cap=1.0)
    bound = min(1.0, 0.05 * 2**attempt)
    assert all(0 <= (backoff.delay(attempt) or 0) <= bound for _ in range(200))
