"""The README's table of how modes combine with rule decisions is the enforcer's behaviour."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from thoth._wire import EnforcementMode
from thoth.policy import Decision, PolicyResult, apply_mode

README = Path(__file__).resolve().parents[2] / "README.md"
_HEADER = "| mode ↓ · rule decides → |"


def _table() -> dict[tuple[str, bool], dict[str, str]]:
    """(mode, escalated) -> {rule decision: the bold answer in its cell}."""
    lines = README.read_text(encoding="utf-8").splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(_HEADER))
    columns = [c.strip() for c in lines[start].strip("|").split("|")][1:]
    rows: dict[tuple[str, bool], dict[str, str]] = {}
    for line in lines[start + 2 :]:
        if not line.startswith("|"):
            break
        label, *cells = (c.strip() for c in line.strip("|").split("|"))
        mode = re.fullmatch(r"`(\w+)`(,.*)?", label)
        assert mode, f"row label {label!r} does not start with a `mode`"
        answers = [re.match(r"\*\*(\w+)\*\*", cell) for cell in cells]
        assert all(answers), f"every cell of {label!r} starts with a **DECISION**"
        rows[(mode.group(1), mode.group(2) is not None)] = {
            column: answer.group(1) for column, answer in zip(columns, answers, strict=True) if answer
        }
    return rows


TABLE = _table()


def test_the_table_covers_every_mode_and_decision() -> None:
    assert {mode for mode, _ in TABLE} == {m.value for m in EnforcementMode}
    assert all(set(row) == {d.value for d in Decision} for row in TABLE.values())
    assert ("progressive", True) in TABLE


@pytest.mark.parametrize(("mode", "escalated"), list(TABLE))
@pytest.mark.parametrize("decision", list(Decision))
def test_each_cell_is_what_the_enforcer_answers(mode: str, escalated: bool, decision: Decision) -> None:
    result = PolicyResult(decision, "a rule said so", "RULE", "rule-1", ("rule-1",))
    outcome = apply_mode(result, EnforcementMode(mode), escalate=escalated)
    assert outcome.decision.value == TABLE[(mode, escalated)][decision.value]
