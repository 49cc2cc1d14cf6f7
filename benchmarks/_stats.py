"""Pure helpers: summaries of latency samples (nanoseconds in, microseconds out)."""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from typing import Any


def percentile(sorted_values: Sequence[float], q: float) -> float:
    """Nearest-rank percentile of already sorted values (q in 0..100)."""
    if not sorted_values:
        return float("nan")
    rank = max(1, min(len(sorted_values), round(q / 100 * len(sorted_values) + 0.5)))
    return float(sorted_values[rank - 1])


def summary_us(samples_ns: Sequence[float], offset_ns: float = 0.0) -> dict[str, Any]:
    """median, p99, mean and count in microseconds, after subtracting ``offset_ns`` from each sample."""
    values = sorted(s - offset_ns for s in samples_ns)
    return {
        "n": len(values),
        "median_us": round(statistics.median(values) / 1000, 3) if values else float("nan"),
        "p99_us": round(percentile(values, 99) / 1000, 3),
        "mean_us": round(statistics.fmean(values) / 1000, 3) if values else float("nan"),
    }


def ratio(a: float, b: float) -> float | None:
    return round(a / b, 3) if b else None


def rotate(items: Sequence[Any], k: int) -> list[Any]:
    """``items`` rotated by ``k``: the contender order changes every round."""
    if not items:
        return []
    k %= len(items)
    return [*items[k:], *items[:k]]
