"""Which time in a question is the period asked: ranges are one period, descriptions none."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from app.retrieval.scope import resolve_scope

NOW = datetime(2026, 6, 1, tzinfo=UTC)


def _scope(question: str) -> tuple[str, str, list[str]]:
    s = resolve_scope(question, now=NOW)
    assert s.start is not None and s.end is not None
    return s.start.date().isoformat(), s.end.date().isoformat(), s.period_labels()


@pytest.mark.parametrize(
    ("question", "window"),
    [
        ("Which team did Odile Varn play for from 2003 to 2005?", ("2003-01-01", "2006-01-01")),
        ("Who chaired the Tessby board between 2003 and 2005?", ("2003-01-01", "2006-01-01")),
        ("Which club did Ilse Marrow coach in 2003-2005?", ("2003-01-01", "2006-01-01")),
    ],
)
def test_a_continuous_range_is_one_period_not_its_two_ends(
    question: str, window: tuple[str, str]
) -> None:
    assert _scope(question) == (*window, [])


def test_periods_named_apart_each_get_their_own_evidence() -> None:
    assert _scope("Who chaired the Tessby board in 2019 and 2021?") == (
        "2019-01-01",
        "2022-01-01",
        ["2019", "2021"],
    )
    assert _scope("Who led Kellmart from 2003 to 2005 and in 2010?") == (
        "2003-01-01",
        "2011-01-01",
        ["2003/2005", "2010"],
    )


@pytest.mark.parametrize(
    ("question", "window", "kept"),
    [
        (
            "The sailor who was born on 2 March 1911 held what post from Apr 1939 to Jul 1941?",
            ("1939-04-01", "1941-08-01"),
            "born on 2 March 1911",
        ),
        (
            "Which team did the winger, who debuted in 1998, join in 2003?",
            ("2003-01-01", "2004-01-01"),
            "debuted in 1998",
        ),
        (
            "Who was the chair in 2019 of the rowing club that was founded in 1899?",
            ("2019-01-01", "2020-01-01"),
            "founded in 1899",
        ),
    ],
)
def test_a_time_describing_someone_is_not_the_period_asked(
    question: str, window: tuple[str, str], kept: str
) -> None:
    s = resolve_scope(question, now=NOW)
    assert s.start is not None and s.end is not None
    assert (s.start.date().isoformat(), s.end.date().isoformat()) == window
    assert kept in s.question  # still searched: it helps find whom the question is about


def test_a_description_alone_still_scopes_the_question() -> None:
    assert _scope("Who chaired the board that met in 2019?")[:2] == ("2019-01-01", "2020-01-01")
    assert _scope("Who were the two people who led the Orvell choir from 2012 to 2014?") == (
        "2012-01-01",
        "2015-01-01",
        [],
    )
    assert _scope("In which year did Varn win the cup in 2010?")[:2] == (
        "2010-01-01",
        "2011-01-01",
    )
