"""Yes/no answers read from evidence: a move's source is evidence against, not for."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from app.retrieval.answer import evidence_answer


@dataclass(frozen=True)
class _Passage:
    text: str
    published_at: datetime


def _ask(question: str, mentions: list[str], text: str) -> str:
    passage = _Passage(text, datetime(2023, 5, 1, tzinfo=UTC))
    decision = evidence_answer(question, mentions, [passage], yes_no=True)
    assert decision is not None
    return decision.answer.split(":")[0]


def test_named_together_is_yes() -> None:
    answer = _ask(
        "Is Marta Kowalczyk a member of Acme Rovers?",
        ["Marta Kowalczyk", "Acme Rovers"],
        "Acme Rovers have signed Marta Kowalczyk on a two-year deal.",
    )
    assert answer == "Yes"


def test_the_club_she_came_from_is_no() -> None:
    answer = _ask(
        "Is Marta Kowalczyk a member of Acme Rovers?",
        ["Marta Kowalczyk", "Acme Rovers"],
        "Tarrow United have signed Marta Kowalczyk from the Acme Rovers.",
    )
    assert answer == "No"


def test_club_suffix_punctuation_does_not_hide_the_club() -> None:
    answer = _ask(
        "Is Marta Kowalczyk a member of Tarrow F.C.?",
        ["Marta Kowalczyk", "Tarrow F.C"],
        "TARROW FC STAR MARTA KOWALCZYK SCORES TWICE",
    )
    assert answer == "Yes"


def test_wh_answer_is_the_sentence_that_names_something_else() -> None:
    passage = _Passage(
        "Marta Kowalczyk scored twice on Saturday night. Kowalczyk joined Acme Rovers last summer.",
        datetime(2023, 5, 1, tzinfo=UTC),
    )
    decision = evidence_answer(
        "What team does Marta Kowalczyk play for?", ["Marta Kowalczyk"], [passage], yes_no=False
    )
    assert decision is not None
    assert "Acme Rovers" in decision.answer
