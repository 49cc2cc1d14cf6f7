"""Helpers for test suites that use Thoth.

The SDK keeps process-wide state on purpose (one connection pool and one event
sender per endpoint, shared by every governed agent). A test suite that wants
each test to start clean calls :func:`reset`, e.g. in a fixture::

    @pytest.fixture(autouse=True)
    def _thoth_clean():
        yield
        thoth.testing.reset()
"""

from __future__ import annotations

__all__ = ["reset"]


def reset(timeout: float = 1.0) -> None:
    """Close the SDK's runtime and start a fresh one.

    Queued events get up to ``timeout`` seconds to be delivered (what is left is
    counted as dropped), pending observe-mode shadow checks are finished or
    dropped, sender threads stop and connection pools close. Afterwards no
    sender, pool or counter of the earlier tests remains: ``thoth.delivery_stats()``
    starts from zero. A tracer built before keeps working (its pool and sender start
    again when used), but is not counted in the new runtime's stats: build new ones.
    """
    from thoth._runtime import replace_runtime

    replace_runtime(timeout)
