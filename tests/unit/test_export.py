"""thoth events export's formatting (pure): times, JSON Lines, CSV and its formula guard."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json

import pytest

from thoth import _export

NOW = dt.datetime(2026, 12, 6, 12, 0, tzinfo=dt.UTC)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-11-25T10:00:00Z", "2026-11-25T10:00:00Z"),
        ("2026-11-25T12:00:00+02:00", "2026-11-25T10:00:00Z"),
        ("2026-11-25", "2026-11-25T00:00:00Z"),
        ("90m", "2026-12-06T10:30:00Z"),
        ("24h", "2026-12-05T12:00:00Z"),
        ("7d", "2026-11-29T12:00:00Z"),
        ("30s", "2026-12-06T11:59:30Z"),
    ],
)
def test_since_and_until_take_a_time_a_date_or_an_age(text: str, expected: str) -> None:
    assert _export.parse_moment(text, NOW) == expected


@pytest.mark.parametrize(
    ("text", "problem"),
    [("yesterday", "neither a time"), ("2026-11-25T10:00:00", "has no offset"), ("5w", "neither a time")],
)
def test_a_time_that_cannot_be_read_says_why(text: str, problem: str) -> None:
    with pytest.raises(ValueError, match=problem):
        _export.parse_moment(text, NOW)


EVENT = {
    "event_id": "0b6f7c1e-3f0a-4c55-9d0e-2b7e6c1f9a10",
    "tenant_id": "acme",
    "session_id": "s,1\n",
    "agent_id": '=HYPERLINK("http://evil")',
    "event_type": "TOOL_CALL_PRE",
    "tool_name": "@sum",
    "metadata": {"call_id": "c-1", "n": 1},
    "content": '{"path": "/tmp/x"}',
    "chain_index": 3,
    "chain_status": "verified",
    "redacted": 0,
    "received_at": "2026-11-25T10:00:01Z",
    "occurred_at": "2026-11-25T10:00:00Z",
}


def test_a_csv_row_reads_back_as_the_event_with_formulas_made_inert() -> None:
    text = _export.csv_header() + _export.csv_row(EVENT)
    header, row = list(csv.reader(io.StringIO(text)))
    assert header == list(_export.CSV_COLUMNS)
    cells = dict(zip(header, row, strict=True))
    assert cells["session_id"] == "s,1\n"
    assert cells["agent_id"] == '\'=HYPERLINK("http://evil")'
    assert cells["tool_name"] == "'@sum"
    assert json.loads(cells["metadata"]) == {"call_id": "c-1", "n": 1}
    assert (cells["chain_index"], cells["chain_status"], cells["user_id"]) == ("3", "verified", "")


def test_a_jsonl_line_is_the_event_on_one_line() -> None:
    line = _export.jsonl_line(EVENT)
    assert line.endswith("\n") and line.count("\n") == 1
    assert json.loads(line) == EVENT


def test_the_summary_names_each_session_whose_chain_broke_once() -> None:
    summary = _export.ChainSummary()
    for status, session, index in [
        ("verified", "a", 0),
        ("gap", "b", 2),
        ("mismatch", "b", 3),
        ("fork", "c", 1),
    ]:
        summary.add({"tenant_id": "t", "session_id": session, "chain_status": status, "chain_index": index})
    assert summary.lines(limit=1) == [
        "exported 4 events; 2 sessions with a broken chain",
        "  chain broken: tenant t session b: gap at index 2",
        "  ... and 1 more",
    ]
