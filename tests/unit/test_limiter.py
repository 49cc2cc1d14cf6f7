"""The per-client limiter of refused keys (issue 14, item 7), as pure logic with a fake clock."""

from __future__ import annotations

import pytest

from thoth.server._limiter import (
    BASE_DELAY_SECONDS,
    MAX_DELAY_SECONDS,
    THRESHOLD,
    WINDOW_SECONDS,
    FailureLimiter,
    client_key,
)


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def limiter(clock: Clock, **options: float) -> FailureLimiter:
    return FailureLimiter(clock=clock, **options)  # type: ignore[arg-type]


def guess(lim: FailureLimiter, client: str, count: int, start: int = 0) -> list[int | None]:
    return [lim.failed(client, f"guess-{n}") for n in range(start, start + count)]


def test_the_defaults_are_ten_different_keys_a_minute_then_a_few_seconds_growing() -> None:
    assert (THRESHOLD, WINDOW_SECONDS, BASE_DELAY_SECONDS, MAX_DELAY_SECONDS) == (10, 60.0, 2.0, 60.0)


def test_more_than_threshold_different_wrong_keys_lock_the_client_out() -> None:
    clock = Clock()
    lim = limiter(clock)
    assert guess(lim, "10.0.0.1", THRESHOLD) == [None] * THRESHOLD
    assert lim.retry_after("10.0.0.1") is None
    assert lim.failed("10.0.0.1", "one more") == 2
    assert lim.retry_after("10.0.0.1") == 2
    clock.now += 1.5
    assert lim.retry_after("10.0.0.1") == 1  # whole seconds, rounded up, never 0 while locked
    clock.now += 0.5
    assert lim.retry_after("10.0.0.1") is None


def test_one_client_locked_out_leaves_every_other_client_alone() -> None:
    clock = Clock()
    lim = limiter(clock)
    guess(lim, "10.0.0.1", 2000)
    assert lim.retry_after("10.0.0.1") is not None
    assert lim.retry_after("10.0.0.2") is None
    assert guess(lim, "10.0.0.2", THRESHOLD) == [None] * THRESHOLD  # its own allowance, whole


def test_each_new_key_after_a_lockout_locks_again_for_twice_as_long_up_to_the_cap() -> None:
    clock = Clock()
    lim = limiter(clock, window=3600.0)  # no refusal ages out during this test
    guess(lim, "c", THRESHOLD + 1)
    waits = []
    for n in range(8):
        clock.now += lim.retry_after("c") or 0
        assert lim.retry_after("c") is None
        waits.append(lim.failed("c", f"after-{n}"))
    assert waits == [4, 8, 16, 32, 60, 60, 60, 60]


def test_two_thousand_guesses_take_most_of_an_hour_not_seconds() -> None:
    """A guesser that waits out every lockout, as the outside test did without one."""
    clock = Clock()
    lim = limiter(clock)
    start = clock.now
    for n in range(2000):
        clock.now += lim.retry_after("attacker") or 0.001
        lim.failed("attacker", f"key-{n}")
    assert clock.now - start > 1900 * 30  # about one guess a minute, once past the first lockouts


def test_retrying_one_stale_key_is_never_locked_out() -> None:
    """It learns nothing new, so it keeps its 401 (which says what is wrong)."""
    lim = limiter(Clock())
    assert all(lim.failed("agent", "the-old-key") is None for _ in range(1000))
    assert lim.retry_after("agent") is None


def test_refusals_age_out_after_the_window_and_then_the_lockouts_start_afresh() -> None:
    clock = Clock()
    lim = limiter(clock)
    guess(lim, "c", THRESHOLD + 1)
    clock.now += 2
    assert lim.failed("c", "again") == 4
    clock.now += 4 + WINDOW_SECONDS + 1  # a whole window after the lockout ended, without a refusal
    assert guess(lim, "c", THRESHOLD, start=100) == [None] * THRESHOLD
    assert lim.failed("c", "eleventh") == 2  # the first lockout's length again


def test_memory_is_bounded_by_max_clients_forgetting_the_least_recently_refused() -> None:
    clock = Clock()
    lim = limiter(clock, max_clients=100)
    guess(lim, "locked", THRESHOLD + 1)
    for n in range(5000):
        lim.failed(f"10.1.{n // 256}.{n % 256}", "x")
    assert len(lim) == 100
    assert lim.retry_after("locked") is None  # forgetting only ever frees a client


def test_waiting_out_a_lockout_as_long_as_the_window_does_not_start_afresh() -> None:
    clock = Clock()
    lim = limiter(clock, base_delay=WINDOW_SECONDS, max_delay=WINDOW_SECONDS)
    guess(lim, "c", THRESHOLD + 1)
    clock.now += WINDOW_SECONDS + 0.001  # every refusal is older than the window, the lockout is not
    assert lim.failed("c", "next guess") == WINDOW_SECONDS


def test_a_request_let_in_before_the_lockout_is_told_the_remaining_wait() -> None:
    clock = Clock()
    lim = limiter(clock)
    guess(lim, "c", THRESHOLD + 1)
    clock.now += 0.5
    assert lim.failed("c", "in flight") == 2  # ceil(1.5)
    clock.now += 1.5
    assert lim.retry_after("c") is None  # the lockout did not grow


@pytest.mark.parametrize(
    ("host", "key"),
    [
        ("203.0.113.7", "203.0.113.7"),
        ("2001:db8:1:2:3:4:5:6", "2001:db8:1:2::/64"),
        ("2001:db8:1:2:ffff::1", "2001:db8:1:2::/64"),  # one host's /64 is one client
        ("::ffff:203.0.113.7", "203.0.113.7"),
        ("fe80::1%eth0", "fe80::/64"),
        (None, "-"),
        ("testclient", "testclient"),
    ],
)
def test_a_client_is_its_address_and_an_ipv6_client_its_64(host: str | None, key: str) -> None:
    assert client_key(host) == key


def test_nonsense_limits_are_refused() -> None:
    with pytest.raises(ValueError, match="threshold"):
        FailureLimiter(threshold=-1)
    with pytest.raises(ValueError, match="base_delay"):
        FailureLimiter(base_delay=10.0, max_delay=5.0)


def test_a_threshold_of_zero_is_no_limit_and_remembers_nothing() -> None:
    lim = limiter(Clock(), threshold=0)
    assert guess(lim, "c", 5000) == [None] * 5000
    assert len(lim) == 0 and lim.retry_after("c") is None
