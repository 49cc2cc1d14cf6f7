"""``thoth events export``: stored events as JSON Lines or CSV for a SIEM (pure formatting).

The CLI pages through ``GET /v1/events`` (1000 events a page) and writes each page before it
asks for the next, so memory stays flat whatever the window holds; what is kept across pages
is only the sessions whose chain broke, to name them at the end.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import re
from collections.abc import Iterable, Mapping
from typing import Any, Final

__all__ = ["CSV_COLUMNS", "ChainSummary", "csv_header", "csv_row", "jsonl_line", "parse_moment"]

#: one row per event: where it belongs, what it was, how its chain checked out on arrival
CSV_COLUMNS: Final = (
    "received_at",
    "occurred_at",
    "tenant_id",
    "session_id",
    "agent_id",
    "user_id",
    "event_type",
    "tool_name",
    "decision_id",
    "violation_id",
    "enforcement_mode",
    "chain_index",
    "chain_status",
    "redacted",
    "event_id",
    "metadata",
    "content",
)
#: chain statuses that say the session's record was not kept whole
BROKEN: Final = frozenset({"gap", "mismatch", "fork"})
_RELATIVE: Final = re.compile(r"(\d{1,6})([smhd])")
#: seconds of an age's unit: 90m, 24h, 7d (also GET /v1/sessions' window, thoth.server.sessions)
UNIT_SECONDS: Final = {"s": 1, "m": 60, "h": 3600, "d": 86400}
#: a spreadsheet runs a cell starting with one of these as a formula (CSV injection)
_FORMULA_START: Final = ("=", "+", "-", "@", "\t", "\r")


def parse_moment(text: str, now: dt.datetime) -> str:
    """``--since``/``--until`` as the API takes it: an RFC 3339 time (a date alone is its UTC
    midnight) or an age such as ``90m``, ``24h``, ``7d`` before ``now``. Raises ValueError."""
    text = text.strip()
    if relative := _RELATIVE.fullmatch(text):
        amount, unit = int(relative.group(1)), relative.group(2)
        moment = now - dt.timedelta(seconds=amount * UNIT_SECONDS[unit])
    else:
        try:
            moment = dt.datetime.fromisoformat(text)
        except ValueError:
            raise ValueError(
                f"{text[:64]!r} is neither a time (2026-11-25T10:00:00Z, 2026-11-25) "
                "nor an age (90m, 24h, 7d)"
            ) from None
        if moment.tzinfo is None:
            if "T" in text or " " in text:
                raise ValueError(f"{text[:64]!r} has no offset: add Z for UTC or +HH:MM")
            moment = moment.replace(tzinfo=dt.UTC)
    return moment.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")


def jsonl_line(event: Mapping[str, Any]) -> str:
    """The stored event as the API served it, one JSON object a line (control characters and
    line breaks inside values are escaped by JSON itself)."""
    return json.dumps(event, ensure_ascii=False, separators=(",", ":"), sort_keys=True) + "\n"


def csv_header() -> str:
    return _csv_line(CSV_COLUMNS)


def csv_row(event: Mapping[str, Any]) -> str:
    """One event's row: nested values as compact JSON, and every text that a spreadsheet would
    run as a formula prefixed with ``'`` (an agent chose these texts)."""
    return _csv_line([_cell(event.get(column)) for column in CSV_COLUMNS])


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, sort_keys=True)
    return "'" + text if text.startswith(_FORMULA_START) else text


def _csv_line(cells: Iterable[str]) -> str:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerow(cells)
    return buffer.getvalue()


class ChainSummary:
    """Counts as the export goes, and the sessions whose chain broke (the only thing that grows)."""

    def __init__(self) -> None:
        self.events = 0
        self.broken: dict[tuple[str, str], str] = {}  # (tenant, session) -> first break seen

    def add(self, event: Mapping[str, Any]) -> None:
        self.events += 1
        status = event.get("chain_status")
        if status in BROKEN:
            key = (str(event.get("tenant_id")), str(event.get("session_id")))
            self.broken.setdefault(key, f"{status} at index {event.get('chain_index')}")

    def lines(self, limit: int = 20) -> list[str]:
        """What the export says at the end (on stderr), naming at most ``limit`` broken sessions."""
        lines = [f"exported {self.events} events; {len(self.broken)} sessions with a broken chain"]
        for (tenant, session), first in list(self.broken.items())[:limit]:
            lines.append(f"  chain broken: tenant {tenant} session {session}: {first}")
        if len(self.broken) > limit:
            lines.append(f"  ... and {len(self.broken) - limit} more")
        return lines
