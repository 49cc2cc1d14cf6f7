"""The Analytics charts: their geometry (thoth.server.ui.charts) and the SVG the macros draw from it."""

from __future__ import annotations

import datetime as dt
import itertools
import re
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from jinja2 import Environment, FileSystemLoader, StrictUndefined

from thoth.server.ui import charts

TEMPLATES = Path(__file__).resolve().parents[2] / "thoth" / "server" / "ui" / "templates"
XSS = "<img src=x onerror=alert(1)>"
SVG = "{http://www.w3.org/2000/svg}"
HOUR = 3600.0
DAY = 86_400.0
START = dt.datetime(2026, 12, 6, 12, 0, tzinfo=dt.UTC).timestamp()


def hours(n: int) -> list[float]:
    return [START + i * HOUR for i in range(n)]


# -- nice ticks ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("top", "ticks"),
    [
        (0, (0, 1, 2)),
        (1, (0, 1, 2)),
        (7, (0, 2, 4, 6, 8)),
        (99, (0, 50, 100)),
        (1234, (0, 500, 1000, 1500)),
    ],
)
def test_ticks_are_3_to_5_nice_steps_from_zero_to_at_least_the_max(top: int, ticks: tuple[int, ...]) -> None:
    assert charts.nice_ticks(top) == ticks


@pytest.mark.parametrize("top", [*range(0, 120), 999, 1000, 1001, 12_345, 10**7 + 1])
def test_every_max_gets_3_to_5_evenly_spaced_ticks_of_1_2_or_5_times_a_power_of_ten(top: int) -> None:
    ticks = charts.nice_ticks(top)
    assert 3 <= len(ticks) <= 5
    assert ticks[0] == 0
    assert ticks[-1] >= top
    assert ticks[-2] < top or top <= 1  # the smallest such axis, not a taller one
    step = ticks[1]
    assert all(b - a == step for a, b in itertools.pairwise(ticks))
    mantissa = step
    while mantissa % 10 == 0:
        mantissa //= 10
    assert mantissa in (1, 2, 5)


def test_the_y_axis_of_a_chart_uses_the_nice_ticks_of_the_tallest_bar() -> None:
    chart = charts.time_series(hours(3), {"ALLOW": [3, 90, 1], "BLOCK": [0, 9, 0]})
    assert [t.value for t in chart.y_ticks] == [0, 50, 100]
    assert [t.label for t in chart.y_ticks] == ["0", "50", "100"]
    assert chart.y_ticks[0].y == chart.plot_bottom
    assert chart.y_ticks[-1].y == chart.plot_top
    assert charts.count_text(1500) == "1,500"
    assert charts.count_text(20_000) == "20k"
    assert charts.count_text(5_000_000) == "5M"


# -- stacked bars ---------------------------------------------------------------------------------------


def test_each_stack_is_as_tall_as_its_total_scaled_and_the_segments_touch() -> None:
    series = {"ALLOW": [5, 0, 7, 1], "BLOCK": [3, 0, 0, 1], "STEP_UP": [1, 0, 2, 1], "DEFER": [0, 0, 1, 1]}
    chart = charts.time_series(hours(4), series)
    top = chart.y_ticks[-1].value
    scale = (chart.plot_bottom - chart.plot_top) / top
    xs = sorted({s.x for s in chart.segments})
    assert len(xs) == 3  # the empty bucket draws nothing
    totals = [9, 10, 4]
    for x, total in zip(xs, totals, strict=True):
        stack = sorted((s for s in chart.segments if s.x == x), key=lambda s: -s.y)
        assert sum(s.height for s in stack) == pytest.approx(total * scale, abs=0.1)
        assert stack[0].y + stack[0].height == pytest.approx(chart.plot_bottom)
        for lower, upper in itertools.pairwise(stack):
            assert upper.y + upper.height == pytest.approx(lower.y)
        for s in stack:
            assert s.height == pytest.approx(s.count * scale, abs=0.1)
    assert sum(s.count for s in chart.segments) == chart.total == 23


def test_types_stack_allow_modify_step_up_defer_block_then_others_sorted() -> None:
    names = ["BLOCK", "zeta", "DEFER", "ALLOW", "STEP_UP", "MODIFY", "AUDIT"]
    chart = charts.time_series(hours(1), {name: [1] for name in names})
    bottom_up = [s.name for s in sorted(chart.segments, key=lambda s: -s.y)]
    assert bottom_up == ["ALLOW", "MODIFY", "STEP_UP", "DEFER", "BLOCK", "AUDIT", "zeta"]
    assert [item.name for item in chart.legend] == bottom_up
    assert [s.css for s in sorted(chart.segments, key=lambda s: -s.y)] == [
        "d-allow",
        "d-modify",
        "d-step-up",
        "d-defer",
        "d-block",
        "d-audit",
        "d-zeta",
    ]


def test_css_classes_are_lower_case_with_every_other_character_a_dash() -> None:
    assert charts.css_class("STEP_UP") == "d-step-up"
    assert charts.css_class('a"b <c>') == "d-a-b--c-"
    assert charts.css_class("\u00c9t\u00e9") == "d--t-"


def test_the_legend_shows_the_types_present_with_their_totals() -> None:
    chart = charts.time_series(hours(3), {"ALLOW": [2, 3, 4], "BLOCK": [0, 0, 0], "DEFER": [0, 1000, 0]})
    assert [(item.name, item.total, item.text) for item in chart.legend] == [
        ("ALLOW", 9, "ALLOW 9"),
        ("DEFER", 1000, "DEFER 1,000"),
    ]
    first, second = chart.legend
    assert second.x > first.text_x  # side by side
    assert "ALLOW 9" in chart.aria_label
    assert "1,009 decisions" in chart.aria_label


def test_a_legend_too_wide_for_the_chart_wraps_and_pushes_the_plot_down() -> None:
    one = charts.time_series(hours(2), {"ALLOW": [1, 1]}, width=300)
    many = charts.time_series(hours(2), {f"TYPE_{i}": [1, 1] for i in range(8)}, width=300)
    assert len({item.y for item in many.legend}) > 1
    assert all(item.text_x < 300 for item in many.legend)
    assert many.plot_top > one.plot_top
    assert many.plot_bottom == one.plot_bottom


def test_each_segment_says_what_and_when_for_hover() -> None:
    chart = charts.time_series(hours(3), {"BLOCK": [0, 0, 3]})
    (segment,) = chart.segments
    assert segment.title == "BLOCK: 3 at 2026-12-06 14:00 UTC"


def test_x_labels_are_hours_under_two_days_and_dates_from_two_days() -> None:
    short = charts.time_series(hours(24), {"ALLOW": [1] * 24})
    assert 2 <= len(short.x_labels) <= charts.X_LABELS_MAX
    assert short.x_labels[0].label == "12:00"
    assert all(len(x.label) == 5 and x.label[2] == ":" for x in short.x_labels)
    assert charts.x_label_format(hours(47)) == "%H:%M"

    days = [START + i * DAY for i in range(30)]
    long = charts.time_series(days, {"ALLOW": [1] * 30})
    assert 2 <= len(long.x_labels) <= charts.X_LABELS_MAX
    assert long.x_labels[0].label == "12-06"
    assert long.x_labels[1].label == "12-11"
    assert charts.x_label_format(hours(48)) == "%m-%d"


def test_x_labels_go_left_to_right_inside_the_chart_without_repeating() -> None:
    six_hourly = [START + i * 6 * HOUR for i in range(28)]  # 7 days of 6 h buckets
    chart = charts.time_series(six_hourly, {"ALLOW": [1] * 28})
    labels = [x.label for x in chart.x_labels]
    assert len(labels) == len(set(labels))
    xs = [x.x for x in chart.x_labels]
    assert xs == sorted(xs)
    assert all(0 < x < chart.width for x in xs)


def test_bars_stay_inside_the_plot_even_for_a_year_of_days() -> None:
    days = [START + i * DAY for i in range(366)]
    chart = charts.time_series(days, {"ALLOW": [i % 7 for i in range(366)], "BLOCK": [1] * 366})
    assert chart.segments
    for s in chart.segments:
        assert s.width > 0
        assert chart.plot_left <= s.x
        assert s.x + s.width <= chart.plot_right + 0.2
        assert chart.plot_top - 0.1 <= s.y
    assert len(chart.x_labels) <= charts.X_LABELS_MAX


@pytest.mark.parametrize(
    ("buckets", "series"),
    [
        ([], {}),
        ([], {"ALLOW": [1, 2]}),
        (hours(5), {}),
        (hours(5), {"ALLOW": [0] * 5, "BLOCK": [0] * 5}),
        (hours(1), {"BLOCK": []}),
    ],
)
def test_no_decisions_draws_an_empty_chart_with_a_note(
    buckets: list[float], series: dict[str, list[int]]
) -> None:
    chart = charts.time_series(buckets, series)
    assert chart.empty
    assert chart.total == 0
    assert chart.segments == ()
    assert chart.legend == ()
    assert chart.note == "no decisions in this window"
    assert "no decisions in this window" in chart.aria_label
    assert [t.value for t in chart.y_ticks] == [0, 1, 2]


def test_a_chart_with_decisions_has_no_note() -> None:
    chart = charts.time_series(hours(2), {"ALLOW": [0, 1]})
    assert not chart.empty
    assert chart.note == ""


def test_ragged_and_negative_counts_are_read_as_zero_and_extra_ones_dropped() -> None:
    chart = charts.time_series(hours(3), {"ALLOW": [2], "BLOCK": [-5, 1, 1, 99]})
    assert sorted((s.name, s.count) for s in chart.segments) == [("ALLOW", 2), ("BLOCK", 1), ("BLOCK", 1)]
    assert chart.total == 4


def test_geometry_is_rounded_to_a_tenth() -> None:
    chart = charts.time_series(hours(7), {"ALLOW": [1, 3, 7, 2, 9, 4, 3], "BLOCK": [1, 1, 2, 0, 1, 1, 1]})
    values = [chart.plot_left, chart.plot_top, chart.plot_right, chart.plot_bottom]
    for s in chart.segments:
        values += [s.x, s.y, s.width, s.height]
    values += [t.y for t in chart.y_ticks] + [x.x for x in chart.x_labels]
    for v in values:
        assert isinstance(v, float)
        assert v == round(v, 1)


# -- top N ----------------------------------------------------------------------------------------------


def test_bars_are_scaled_to_the_largest_count() -> None:
    chart = charts.bar_list([("fs.delete", 10), ("shell.exec", 5), ("http.post", 1)])
    widths = [bar.width for bar in chart.bars]
    assert chart.max_count == 10
    assert widths[0] > 0
    assert widths[1] == pytest.approx(widths[0] / 2, abs=0.1)
    assert widths[2] == pytest.approx(widths[0] / 10, abs=0.1)
    # the largest bar fills the row but for the room its count needs (a few digits, ~7 px each)
    assert chart.width - 8 - (chart.bars[0].x + widths[0]) <= 8 + 7 * len("10")
    assert all(bar.x + bar.width < bar.count_x < chart.width for bar in chart.bars)
    ys = [bar.y for bar in chart.bars]
    assert ys == sorted(ys)
    assert chart.bars[-1].y + chart.bars[-1].height <= chart.height


def test_the_largest_counts_come_first_and_only_limit_of_them() -> None:
    items = [(f"tool-{i}", i) for i in range(15)]
    chart = charts.bar_list(items)
    assert [bar.count for bar in chart.bars] == list(range(14, 4, -1))
    assert len(charts.bar_list(items, limit=3).bars) == 3
    assert charts.bar_list(items, limit=0).empty
    ties = charts.bar_list([("b", 2), ("a", 2), ("c", 3)])
    assert [bar.label for bar in ties.bars] == ["c", "b", "a"]


def test_long_labels_are_cut_with_an_ellipsis_and_kept_whole_for_the_title() -> None:
    long = "x" * 39 + "yz"
    fits = "f" * 40
    chart = charts.bar_list([(long, 2), (fits, 1)])
    cut, whole = chart.bars
    assert cut.label == "x" * 39 + "\u2026"
    assert len(cut.label) == 40
    assert cut.full_label == long
    assert cut.title == f"{long}: 2"
    assert whole.label == fits


def test_an_empty_list_draws_a_note_and_all_zero_counts_draw_no_bars() -> None:
    empty = charts.bar_list([])
    assert empty.empty
    assert empty.bars == ()
    assert empty.note == "nothing in this window"
    assert empty.height > 0
    zeros = charts.bar_list([("a", 0), ("b", 0)])
    assert [bar.width for bar in zeros.bars] == [0.0, 0.0]
    assert not zeros.empty


def test_the_list_summary_names_each_bar() -> None:
    chart = charts.bar_list([("fs.delete", 4), ("shell.exec", 2)], title="Most blocked tools")
    assert chart.aria_label == "Most blocked tools: fs.delete 4, shell.exec 2."


# -- rendering --------------------------------------------------------------------------------------------


@pytest.fixture
def env() -> Environment:
    return Environment(loader=FileSystemLoader(TEMPLATES), autoescape=True, undefined=StrictUndefined)


def render(env: Environment, macro: str, chart: object) -> str:
    module = env.get_template("_charts.html").module
    return str(getattr(module, macro)(chart))


def svg_of(html: str) -> ET.Element:
    start, end = html.index("<svg"), html.rindex("</svg>") + len("</svg>")
    return ET.fromstring(html[start:end])  # noqa: S314 (our own output, parsed to prove it well-formed)


def test_the_stacked_bars_macro_draws_every_segment_with_its_title(env: Environment) -> None:
    chart = charts.time_series(hours(3), {"ALLOW": [1, 2, 0], "BLOCK": [0, 3, 0]})
    svg = svg_of(render(env, "stacked_bars", chart))
    assert svg.get("role") == "img"
    assert svg.get("aria-label") == chart.aria_label
    rects = [r for r in svg.iter(f"{SVG}rect") if r.find(f"{SVG}title") is not None]
    assert [r.findtext(f"{SVG}title") for r in rects] == [s.title for s in chart.segments]
    assert [float(r.get("height", "nan")) for r in rects] == [s.height for s in chart.segments]
    assert [r.get("class") for r in rects] == [f"seg {s.css}" for s in chart.segments]
    texts = [t.text for t in svg.iter(f"{SVG}text")]
    assert "ALLOW 3" in texts
    assert "BLOCK 3" in texts
    assert "12:00" in texts
    assert "no decisions in this window" not in texts


def test_an_empty_time_series_renders_its_note(env: Environment) -> None:
    svg = svg_of(render(env, "stacked_bars", charts.time_series([], {})))
    assert "no decisions in this window" in [t.text for t in svg.iter(f"{SVG}text")]
    assert svg.find(f".//{SVG}g[@class='bars']/{SVG}rect") is None


def test_the_horizontal_bars_macro_draws_a_row_per_item(env: Environment) -> None:
    chart = charts.bar_list([("fs.delete", 4), ("shell.exec", 2)])
    svg = svg_of(render(env, "horizontal_bars", chart))
    rows = list(svg.iter(f"{SVG}g"))
    assert [row.findtext(f"{SVG}title") for row in rows] == ["fs.delete: 4", "shell.exec: 2"]
    assert [float(r.get("width", "nan")) for r in svg.iter(f"{SVG}rect")] == [b.width for b in chart.bars]
    empty = svg_of(render(env, "horizontal_bars", charts.bar_list([])))
    assert [t.text for t in empty.iter(f"{SVG}text")] == ["nothing in this window"]


@pytest.mark.parametrize("macro", ["stacked_bars", "horizontal_bars"])
def test_agent_supplied_labels_are_only_ever_printed_escaped(env: Environment, macro: str) -> None:
    hostile = XSS + '" onload="x'
    if macro == "stacked_bars":
        chart: object = charts.time_series(hours(2), {hostile: [1, 2], "ALLOW": [1, 0]})
    else:
        chart = charts.bar_list([(hostile, 3), ("</svg><script>alert(1)</script>", 1)])
    html = render(env, macro, chart)
    assert "<img" not in html
    assert "<script" not in html
    assert "&lt;img src=x onerror=alert(1)&gt;" in html
    assert 'onload="x' not in html
    svg = svg_of(html)  # well-formed XML: nothing broke out of an attribute or element
    assert svg.tag == f"{SVG}svg"
    drawn = {f"{SVG}{tag}" for tag in ("svg", "g", "rect", "text", "title", "line")}
    assert {el.tag for el in svg.iter()} <= drawn
    assert all(not name.startswith("on") for el in svg.iter() for name in el.attrib)
    assert any(XSS in (el.text or "") for el in svg.iter())  # shown as text, to be read
    assert XSS in (svg.get("aria-label") or "")


def test_the_templates_never_mark_anything_safe() -> None:
    source = re.sub(r"\{#.*?#\}", "", (TEMPLATES / "_charts.html").read_text(encoding="utf-8"), flags=re.S)
    assert "{{" in source
    assert "|safe" not in source.replace(" ", "")
    assert "autoescape false" not in source
    assert "style=" not in source  # the CSP forbids inline styles
