"""What the CLI prints of an answer cannot act on the terminal it is printed to."""

from __future__ import annotations

import json

import pytest

from thoth import cli


def test_json_is_printed_in_ascii_so_no_control_or_bidi_character_reaches_the_terminal(
    capsys: pytest.CaptureFixture[str],
) -> None:
    # C1 CSI (a terminal control on its own), a right-to-left override, an escape, a bell
    document = {"session_id": "s\u009b2J\u202e", "agent_id": "a\x1b]0;x\x07", "score": 0.5}
    cli._print_json(document)
    printed = capsys.readouterr().out
    assert printed.isascii()
    assert "\\u009b" in printed and "\\u202e" in printed and "\\u001b" in printed
    assert json.loads(printed) == document  # escaped, not lost
