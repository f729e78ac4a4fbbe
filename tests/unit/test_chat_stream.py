"""Streaming a model's answer through the chat API: whitespace held back, nothing lost."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from app.api.chat import deltas, stripped


def test_leading_and_trailing_whitespace_is_held_back() -> None:
    assert list(stripped(["", "  ", " Renna", " Kolst ", " ", "leads.", "\n\n"])) == [
        "Renna",
        " Kolst",
        "  leads.",
    ]


def test_a_blank_answer_streams_nothing() -> None:
    assert list(stripped([" ", "\n", ""])) == []


@given(st.lists(st.text(alphabet=" \nab.", max_size=6), max_size=12))
def test_pieces_join_to_the_stripped_whole(pieces: list[str]) -> None:
    out = list(stripped(pieces))
    assert "".join(out) == "".join(pieces).strip()
    assert all(p and p == p.rstrip() for p in out)


@given(st.text(alphabet=" \nab.", max_size=40))
def test_word_deltas_join_back_exactly(text: str) -> None:
    assert "".join(deltas(text)) == text
