"""The Analytics page's charts, as geometry for inline SVG (pure).

Nothing here builds markup: the labels (tool names, agent ids, decision types) may have come from
an agent, so this module only computes where things go, and the macros of ``_charts.html`` draw
them with ``{{ }}``, which Jinja2 autoescapes. Every coordinate is a plain float rounded to 0.1;
no input (no buckets, all zeros, a single bucket, negative counts) divides by zero.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Final

import attrs

DECISION_ORDER: Final = ("ALLOW", "MODIFY", "STEP_UP", "DEFER", "BLOCK")
EMPTY_TIME_NOTE: Final = "no decisions in this window"
EMPTY_LIST_NOTE: Final = "nothing in this window"
LABEL_MAX_CHARS: Final = 40
LEGEND_MAX_CHARS: Final = 24
X_LABELS_MAX: Final = 6
SHORT_SPAN_SECONDS: Final = 2 * 86_400  # under this, x labels are HH:MM; else MM-DD
ELLIPSIS: Final = "\u2026"

_PAD: Final = 8.0
_AXIS_CHAR: Final = 6.5  # rough width of a digit at the axis font size (11px)
_LEGEND_CHAR: Final = 7.0  # rough width of a character at the legend font size (12px)
_LEGEND_ROW: Final = 16.0
_SWATCH: Final = 10.0
_X_LABEL_SPACE: Final = 22.0
_NON_ALNUM: Final = re.compile(r"[^a-z0-9]")


# -- what the macros draw ----------------------------------------------------------------------------


@attrs.frozen
class Segment:
    """One decision type's part of one bar: a ``<rect>`` with a hover ``<title>``."""

    x: float
    y: float
    width: float
    height: float
    css: str  # "d-allow", "d-step-up", ...
    name: str  # the decision type
    count: int
    title: str  # "BLOCK: 3 at 2026-12-06 14:00 UTC"


@attrs.frozen
class Tick:
    """A y-axis tick: a grid line at ``y`` and its label."""

    value: int
    y: float
    label: str
    label_y: float  # the label's baseline (text-anchor: end, at ``StackedBars.y_label_x``)


@attrs.frozen
class XLabel:
    x: float  # the label's centre (text-anchor: middle)
    label: str


@attrs.frozen
class LegendItem:
    """A swatch at (x, y) and ``text`` to its right (baseline ``text_y``)."""

    name: str  # the decision type, whole
    css: str
    total: int
    text: str  # "BLOCK 12" (a long name cut)
    title: str  # "BLOCK: 12 decisions"
    x: float
    y: float
    text_x: float
    text_y: float


@attrs.frozen
class StackedBars:
    width: float
    height: float
    plot_left: float
    plot_top: float
    plot_right: float
    plot_bottom: float
    segments: tuple[Segment, ...]
    y_ticks: tuple[Tick, ...]
    x_labels: tuple[XLabel, ...]
    x_label_y: float  # the baseline of the x labels
    y_label_x: float  # where the y labels end (text-anchor: end)
    legend: tuple[LegendItem, ...]
    total: int
    empty: bool  # no decisions at all: draw the axes and ``note``
    note: str  # "" unless empty
    note_x: float
    note_y: float
    aria_label: str


@attrs.frozen
class Bar:
    """One row: ``label`` above a bar from ``x`` of ``width``, ``count`` right of the bar."""

    label: str  # cut to LABEL_MAX_CHARS with an ellipsis
    full_label: str  # for the ``<title>``
    count: int
    x: float
    y: float
    width: float
    height: float
    label_y: float  # baseline of the label
    count_x: float
    count_y: float  # baseline of the count
    title: str  # "full label: 12"


@attrs.frozen
class HorizontalBars:
    width: float
    height: float
    bars: tuple[Bar, ...]
    max_count: int
    empty: bool
    note: str  # "" unless empty
    note_x: float
    note_y: float
    aria_label: str


# -- helpers ------------------------------------------------------------------------------------------


def _r(value: float) -> float:
    rounded = round(value, 1)
    return rounded + 0.0  # no -0.0


def css_class(name: str) -> str:
    """``d-`` and the lower-cased name, each character but a-z and 0-9 turned into ``-``."""
    return "d-" + _NON_ALNUM.sub("-", name.lower())


def cut(text: str, limit: int = LABEL_MAX_CHARS) -> str:
    """``text`` itself when it fits in ``limit`` characters, else its start and an ellipsis."""
    if len(text) <= limit:
        return text
    return text[: max(limit - 1, 0)] + ELLIPSIS


def nice_ticks(max_value: float) -> tuple[int, ...]:
    """3 to 5 ticks from 0, evenly spaced by 1, 2 or 5 x 10^k, the last one at or above ``max_value``."""
    top = max_value if math.isfinite(max_value) and max_value > 0 else 0.0
    magnitude = 1
    while True:
        for mantissa in (1, 2, 5):
            step = mantissa * magnitude
            intervals = math.ceil(top / step)
            if intervals <= 4:
                intervals = max(intervals, 2)
                return tuple(step * i for i in range(intervals + 1))
        magnitude *= 10


def count_text(value: int) -> str:
    """A tick label: ``950``, ``1,500``, ``20k``, ``3M`` (the 1-2-5 steps keep these exact)."""
    if value >= 1_000_000 and value % 1_000_000 == 0:
        return f"{value // 1_000_000:,}M"
    if value >= 10_000 and value % 1_000 == 0:
        return f"{value // 1_000:,}k"
    return f"{value:,}"


def _utc(epoch: float, fmt: str) -> str:
    try:
        return dt.datetime.fromtimestamp(epoch, dt.UTC).strftime(fmt)
    except (OverflowError, OSError, ValueError):
        return "?"


def x_label_format(buckets: Sequence[float]) -> str:
    """``%H:%M`` when the buckets span under 2 days, else ``%m-%d`` (strftime formats)."""
    if len(buckets) < 2:
        return "%H:%M"
    step = max(buckets[1] - buckets[0], 0.0)
    span = buckets[-1] - buckets[0] + step
    return "%H:%M" if span < SHORT_SPAN_SECONDS else "%m-%d"


def decision_order(names: Iterable[str]) -> tuple[str, ...]:
    """ALLOW, MODIFY, STEP_UP, DEFER, BLOCK (those given), then any others sorted."""
    given = set(names)
    known = [name for name in DECISION_ORDER if name in given]
    others = sorted(given.difference(DECISION_ORDER))
    return (*known, *others)


def _counts(values: Sequence[int], n: int) -> list[int]:
    """One non-negative count per bucket: missing ones are 0, extra ones dropped."""
    out = [max(int(v), 0) for v in list(values)[:n]]
    return out + [0] * (n - len(out))


def _plural(n: int, word: str) -> str:
    return f"{n:,} {word}" if n == 1 else f"{n:,} {word}s"


# -- decisions over time ------------------------------------------------------------------------------


def time_series(
    buckets: Sequence[float],
    series: Mapping[str, Sequence[int]],
    *,
    width: float = 720,
    height: float = 240,
) -> StackedBars:
    """Stacked bars of decisions per bucket: ``buckets`` are the start epochs (UTC seconds) of
    equal-width buckets, ``series`` one count per bucket for each decision type."""
    width = max(float(width), 2 * _PAD + 40)
    height = max(float(height), 2 * _PAD + _X_LABEL_SPACE + 40)
    n = len(buckets)
    names = decision_order(series)
    counts = {name: _counts(series[name], n) for name in names}
    totals = {name: sum(counts[name]) for name in names}
    present = [name for name in names if totals[name] > 0]
    total = sum(totals.values())
    per_bucket = [sum(counts[name][i] for name in names) for i in range(n)]

    # the legend, in rows along the top
    legend: list[LegendItem] = []
    lx, row = _PAD, 0
    for name in present:
        text = f"{cut(name, LEGEND_MAX_CHARS)} {totals[name]:,}"
        item_width = _SWATCH + 4 + _LEGEND_CHAR * len(text) + 14
        if lx > _PAD and lx + item_width > width - _PAD:
            lx, row = _PAD, row + 1
        y = _PAD + row * _LEGEND_ROW
        legend.append(
            LegendItem(
                name=name,
                css=css_class(name),
                total=totals[name],
                text=text,
                title=f"{name}: {_plural(totals[name], 'decision')}",
                x=_r(lx),
                y=_r(y + 1),
                text_x=_r(lx + _SWATCH + 4),
                text_y=_r(y + _SWATCH),
            )
        )
        lx += item_width
    legend_height = (row + 1) * _LEGEND_ROW if legend else 0.0

    ticks = nice_ticks(max(per_bucket, default=0))
    labels = [count_text(value) for value in ticks]
    label_width = _AXIS_CHAR * max(len(label) for label in labels) + 6
    plot_left = _PAD + label_width
    plot_right = width - _PAD
    plot_top = _PAD + legend_height + 6
    plot_bottom = height - _X_LABEL_SPACE
    plot_width = max(plot_right - plot_left, 1.0)
    plot_height = max(plot_bottom - plot_top, 1.0)
    plot_bottom = plot_top + plot_height
    scale = plot_height / ticks[-1]  # ticks[-1] >= 2

    y_ticks = tuple(
        Tick(
            value=value,
            y=_r(plot_bottom - value * scale),
            label=label,
            label_y=_r(plot_bottom - value * scale + 4),
        )
        for value, label in zip(ticks, labels, strict=True)
    )

    segments: list[Segment] = []
    slot = plot_width / n if n else plot_width
    gap = min(slot * 0.2, 4.0)
    bar_width = _r(max(slot - gap, 0.1))
    for i, start in enumerate(buckets):
        x = _r(plot_left + i * slot + gap / 2)
        when = _utc(start, "%Y-%m-%d %H:%M UTC")
        running = 0
        for name in names:
            value = counts[name][i]
            if value == 0:
                continue
            bottom = _r(plot_bottom - running * scale)
            running += value
            top = _r(plot_bottom - running * scale)
            segments.append(
                Segment(
                    x=x,
                    y=top,
                    width=bar_width,
                    height=_r(bottom - top),
                    css=css_class(name),
                    name=name,
                    count=value,
                    title=f"{name}: {value:,} at {when}",
                )
            )

    x_labels: list[XLabel] = []
    if n:
        fmt = x_label_format(buckets)
        stride = math.ceil(n / X_LABELS_MAX)
        previous = ""
        for i in range(0, n, stride):
            label = _utc(buckets[i], fmt)
            if label == previous:
                continue
            previous = label
            half = _AXIS_CHAR * len(label) / 2
            centre = plot_left + (i + 0.5) * slot
            centre = min(max(centre, half + 2), width - half - 2)
            x_labels.append(XLabel(x=_r(centre), label=label))

    if total == 0:
        aria = f"Decisions over time: {EMPTY_TIME_NOTE}."
    else:
        step = max(buckets[1] - buckets[0], 0.0) if n >= 2 else 0.0
        first = _utc(buckets[0], "%Y-%m-%d %H:%M")
        last = _utc(buckets[-1] + step, "%Y-%m-%d %H:%M")
        parts = ", ".join(f"{name} {totals[name]:,}" for name in present)
        aria = (
            f"Decisions over time, {_plural(n, 'bar')} from {first} to {last} UTC: "
            f"{_plural(total, 'decision')} ({parts})."
        )

    return StackedBars(
        width=_r(width),
        height=_r(height),
        plot_left=_r(plot_left),
        plot_top=_r(plot_top),
        plot_right=_r(plot_right),
        plot_bottom=_r(plot_bottom),
        segments=tuple(segments),
        y_ticks=y_ticks,
        x_labels=tuple(x_labels),
        x_label_y=_r(plot_bottom + 15),
        y_label_x=_r(plot_left - 5),
        legend=tuple(legend),
        total=total,
        empty=total == 0,
        note=EMPTY_TIME_NOTE if total == 0 else "",
        note_x=_r(plot_left + plot_width / 2),
        note_y=_r(plot_top + plot_height / 2),
        aria_label=aria,
    )


# -- top N --------------------------------------------------------------------------------------------


def bar_list(
    items: Sequence[tuple[str, int]],
    *,
    width: float = 480,
    bar_height: float = 18,
    limit: int = 10,
    title: str = "Most blocked",
    empty_note: str = EMPTY_LIST_NOTE,
) -> HorizontalBars:
    """Horizontal bars for the ``limit`` largest counts (ties keep their order), scaled to the
    largest; each label sits above its bar, cut to LABEL_MAX_CHARS (whole in the ``<title>``)."""
    width = max(float(width), 2 * _PAD + 40)
    bar_height = max(float(bar_height), 1.0)
    rows = [(str(label), max(int(count), 0)) for label, count in items]
    rows = sorted(rows, key=lambda row: -row[1])[: max(limit, 0)]
    max_count = max((count for _, count in rows), default=0)
    count_width = _AXIS_CHAR * len(f"{max_count:,}") + 8
    track = max(width - 2 * _PAD - count_width, 1.0)
    label_space = 16.0
    row_height = label_space + bar_height + 8

    bars: list[Bar] = []
    for i, (label, count) in enumerate(rows):
        top = _PAD + i * row_height
        bar_y = top + label_space
        bar_width = track * count / max_count if max_count else 0.0
        bars.append(
            Bar(
                label=cut(label),
                full_label=label,
                count=count,
                x=_r(_PAD),
                y=_r(bar_y),
                width=_r(bar_width),
                height=_r(bar_height),
                label_y=_r(top + 12),
                count_x=_r(_PAD + bar_width + 5),
                count_y=_r(bar_y + bar_height / 2 + 4),
                title=f"{label}: {count:,}",
            )
        )

    if rows:
        height = 2 * _PAD + len(rows) * row_height - 8
        shown = ", ".join(f"{cut(label)} {count:,}" for label, count in rows)
        aria = f"{title}: {shown}."
    else:
        height = 2 * _PAD + 24
        aria = f"{title}: {empty_note}."
    return HorizontalBars(
        width=_r(width),
        height=_r(height),
        bars=tuple(bars),
        max_count=max_count,
        empty=not rows,
        note="" if rows else empty_note,
        note_x=_r(width / 2),
        note_y=_r(height / 2 + 4),
        aria_label=aria,
    )
