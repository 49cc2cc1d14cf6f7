"""thoth._terminal: nothing unprintable but newline and tab reaches a terminal, and nothing is lost."""

from __future__ import annotations

import ast
import io

import hypothesis
import hypothesis.strategies as st

from thoth._terminal import SafeStream, terminal_safe


@hypothesis.given(st.text())
def test_only_printable_characters_newlines_and_tabs_come_out(text: str) -> None:
    shown = terminal_safe(text)
    assert all(c.isprintable() or c in "\n\t" for c in shown)


@hypothesis.given(st.text(alphabet=st.characters(blacklist_characters="\\\n\t'")))
def test_each_escape_names_the_character_it_replaced(text: str) -> None:
    assert ast.literal_eval(f"'{terminal_safe(text)}'") == text  # no backslash in: every one is ours


def test_a_stream_writes_escapes_and_keeps_the_lines() -> None:
    out = io.StringIO()
    print("\x1b[2Jred\x07\r", "ok\tdone", sep="\n", file=SafeStream(out))
    assert out.getvalue() == "\\x1b[2Jred\\x07\\r\nok\tdone\n"


def test_one_line_escapes_newlines_and_tabs_too() -> None:
    assert terminal_safe("a\nb\tc\x1b", one_line=True) == "a\\nb\\tc\\x1b"
