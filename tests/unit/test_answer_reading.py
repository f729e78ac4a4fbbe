"""Reading a span's time and the reader's doubt: the rule tables' examples and invented cases."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from app.retrieval.answer import (
    Decision,
    _periods,
    evidence_answer,
)
from app.retrieval.question import IN_SITU_RULES, read_question
from app.retrieval.search import Evidence

PUBLISHED = datetime(2021, 6, 1, tzinfo=UTC)


def _evidence(doc: str, text: str, spans: list[tuple[str, str]]) -> Evidence:
    """Evidence with entity spans found by their text and one sentence per ". "."""
    entities = []
    for name, label in spans:
        start = text.index(name)
        entities.append((start, start + len(name), label))
    bounds, start = [], 0
    for part in text.split(". "):
        end = start + len(part) + (0 if part.endswith(".") else 1)
        bounds.append((start, min(end, len(text))))
        start = end + 1
    return Evidence(
        doc, 1, text, PUBLISHED, 1.0, entities=tuple(sorted(entities)), sentences=tuple(bounds)
    )


def _ask(question: str, evidence: list[Evidence], start: int, end: int) -> Decision:
    asked = read_question(question)
    window = (datetime(start, 1, 1, tzinfo=UTC), datetime(end + 1, 1, 1, tzinfo=UTC))
    decision = evidence_answer(
        question, list(asked.mentions), evidence, yes_no=False, asked=asked, window=window
    )
    assert decision is not None
    return decision


@pytest.mark.parametrize(
    "sentence",
    [
        "Orla Fenn chaired the Pellan Trust (2004–2011).",
        "Ilse Varn coached Dunmore Athletic from 1998 to 2003.",
        "The Porto plant was built between 1957 and 1961.",
    ],
)
def test_a_stated_range_is_one_period(sentence: str) -> None:
    periods = _periods(sentence, PUBLISHED)
    assert len(periods) == 1 and periods[0].closed, periods
    assert periods[0].end.year - periods[0].start.year >= 2


def test_a_season_runs_from_july_to_july() -> None:
    (period,) = _periods("Tomas Erlind spent the 2008–09 season at Carrow Athletic.", PUBLISHED)
    assert (period.start, period.end) == (
        datetime(2008, 7, 1, tzinfo=UTC),
        datetime(2009, 7, 1, tzinfo=UTC),
    )


def test_since_runs_to_the_report_s_date() -> None:
    (period,) = _periods("Piet Vanterpool has led the bank since 2015.", PUBLISHED)
    assert period.start.year == 2015 and period.end == PUBLISHED


@pytest.mark.parametrize(
    "sentence",
    [
        "Orla Fenn (3 May 1901 – 9 June 1976) was a charity director.",
        "Tomas Erlind (born 4 April 1990) is a striker.",
    ],
)
def test_a_life_s_dates_are_no_period_of_the_relation(sentence: str) -> None:
    assert _periods(sentence, PUBLISHED) == []


def test_a_term_in_brackets_after_a_name_is_kept() -> None:
    assert len(_periods("Director Orla Fenn (2004–2011).", PUBLISHED)) == 1


@pytest.mark.parametrize(
    ("rule", "question"),
    [(r, q) for r in IN_SITU_RULES for q in r.examples],
    ids=lambda v: getattr(v, "name", v),
)
def test_in_situ_question_words_are_read(rule, question) -> None:  # type: ignore[no-untyped-def]
    asked = read_question(question)
    assert asked.kind == "wh" and asked.rule == rule.name, asked
    if rule.labels:
        assert asked.labels == rule.labels


@pytest.mark.parametrize(
    ("question", "labels"),
    [
        # The role puts its label first; the other stays (small models tag names loosely).
        ("Who is the chair of the Pellan Trust?", ("PERSON", "ORG")),
        ("Who was the employer of Mara Quint?", ("ORG", "PERSON")),
        ("Who bought Halvard Robotics?", ("PERSON", "ORG")),
    ],
)
def test_who_is_the_noun_reads_the_noun(question: str, labels: tuple[str, ...]) -> None:
    assert read_question(question).labels == labels


def test_a_role_before_of_is_not_part_of_the_name_asked_about() -> None:
    asked = read_question("Who was President of the Lanternway Trust in 2019?")
    assert "Lanternway Trust" in asked.mentions, asked.mentions
    assert "president" in asked.words


def test_each_name_in_a_list_has_its_own_years() -> None:
    ev = _evidence(
        "pellan-9",
        "Directors of the Pellan Trust: Orla Fenn (1998–2004), Oskar Brisk (2004–2011), "
        "Ilse Varn (2011–2019).",
        [("Pellan Trust", "ORG"), ("Orla Fenn", "PERSON"), ("Oskar Brisk", "PERSON"),
         ("Ilse Varn", "PERSON")],
    )  # fmt: skip
    assert _ask("Who directed the Pellan Trust from 2006 to 2009?", [ev], 2006, 2009).answer == (
        "Oskar Brisk"
    )


def test_a_pronoun_sentence_in_a_passage_about_the_entity_is_about_it() -> None:
    ev = _evidence(
        "fenn-1",
        "Orla Fenn joined the Pellan Trust in 1990 as a volunteer. "
        "From 2004 to 2011 she worked for Corvel Bank in Ardmoor.",
        [("Orla Fenn", "PERSON"), ("Pellan Trust", "ORG"), ("Corvel Bank", "ORG"),
         ("Ardmoor", "GPE")],
    )  # fmt: skip
    assert _ask(
        "Which bank did Orla Fenn work for from 2005 to 2008?", [ev], 2005, 2008
    ).answer == ("Corvel Bank")


def test_two_names_the_reader_cannot_tell_apart_give_the_sentence() -> None:
    ev = _evidence(
        "varn-2",
        "Ilse Varn has coached both Dunmore Athletic and Fenmore Rovers.",
        [("Ilse Varn", "PERSON"), ("Dunmore Athletic", "ORG"), ("Fenmore Rovers", "ORG")],
    )  # fmt: skip
    decision = _ask("Which club did Ilse Varn coach from 2014 to 2016?", [ev], 2014, 2016)
    assert decision.answer == ev.text and decision.label is None


def test_an_untyped_question_is_answered_with_the_sentence_of_its_period() -> None:
    ev = _evidence(
        "quint-3",
        "Mara Quint was a chemist at Halvard Robotics in 2001. "
        "From 2012 to 2016 Quint served as finance director of Corvel Bank.",
        [("Mara Quint", "PERSON"), ("Halvard Robotics", "ORG"), ("Quint", "PERSON"),
         ("Corvel Bank", "ORG")],
    )  # fmt: skip
    decision = _ask("What position did Mara Quint hold from 2013 to 2015?", [ev], 2013, 2015)
    assert decision.answer.startswith("From 2012 to 2016 Quint served as finance director")


def test_a_surname_answer_is_the_full_name_written_before_it() -> None:
    ev = _evidence(
        "pellan-12",
        "Oskar Brisk joined the Pellan Trust in 1996 as a trustee. "
        "In 2009 Brisk became chair of the Pellan Trust.",
        [("Oskar Brisk", "PERSON"), ("Pellan Trust", "ORG"), ("Brisk", "PERSON")],
    )  # fmt: skip
    assert _ask("Who chaired the Pellan Trust from 2010 to 2012?", [ev], 2010, 2012).answer == (
        "Oskar Brisk"
    )


def test_a_surname_two_earlier_names_share_is_the_nearer_one() -> None:
    ev = _evidence(
        "varn-14",
        "Ilse Varn founded Dunmore Athletic in 1980 and Petra Varn took over its youth side. "
        "In 2011 Varn was named head coach of Dunmore Athletic.",
        [("Ilse Varn", "PERSON"), ("Dunmore Athletic", "ORG"), ("Petra Varn", "PERSON"),
         ("Varn", "PERSON")],
    )  # fmt: skip
    answer = _ask("Who coached Dunmore Athletic from 2012 to 2014?", [ev], 2012, 2014).answer
    assert answer == "Petra Varn"
