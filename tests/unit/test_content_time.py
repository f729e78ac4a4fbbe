"""Content time of chunks (valid time), from invented sentences: each rule's own example, then
the cases the two clocks depend on."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from app.retrieval.scope import resolve_scope
from graph.content_time import (
    CONTENT_RULES,
    ContentRule,
    chunk_content_time,
    document_period,
    inherit_untimed,
    node_labels,
    overlap_fit,
    split_window,
)
from graph.timeparse import parse_period

PUBLISHED = datetime(2024, 8, 20, tzinfo=UTC)


def _labels(text: str, title: str | None = None, published: datetime = PUBLISHED) -> list[str]:
    frame = document_period(title, text, published)
    return chunk_content_time(text, published, frame).labels()


@pytest.mark.parametrize("rule", CONTENT_RULES, ids=lambda r: r.name)
def test_rule_example(rule: ContentRule) -> None:
    title, _, body = rule.example.partition(". ")
    # The frame rule's example is a title, then the chunk's sentence.
    got = _labels(body, title) if rule.name == "yearless-quarter" else _labels(rule.example)
    assert sorted(got) == sorted(rule.expect)


def test_explicit_dates_are_the_chunk_periods() -> None:
    text = "Pavel Orsk opened the Dunmere plant on 14 March 2017 and sold it in June 2019."
    assert _labels(text) == ["2017-03-14", "2019-06"]


def test_relative_expressions_resolve_against_publication_not_the_clock() -> None:
    text = "Revenue at Quellbrook fell last year and recovered this quarter."
    assert _labels(text, published=datetime(2021, 5, 2, tzinfo=UTC)) == ["2020", "2021-Q2"]


def test_a_chunk_without_dates_is_about_its_publication_day() -> None:
    content = chunk_content_time("The board met again.", PUBLISHED)
    assert content.labels() == ["2024-08-20"] and content.source == "published"


def test_an_untimed_passage_of_a_life_story_is_about_the_span_its_document_states() -> None:
    published = datetime(2021, 6, 1, tzinfo=UTC)
    chunks = [
        "Ines Carrow (1931–1988) was a baker from Wexmoor. In 1956 she married Tom Carrow.",
        "She later moved to the coast and opened a second bakery.",
    ]
    contents = inherit_untimed([chunk_content_time(c, published) for c in chunks])
    assert contents[0].source == "text"
    assert contents[1].source == "inherited" and contents[1].labels() == ["1931/1988"]


def test_news_that_states_no_time_keeps_its_publication_day() -> None:
    contents = inherit_untimed([chunk_content_time("The board met again.", PUBLISHED)])
    assert contents[0].source == "published" and contents[0].labels() == ["2024-08-20"]


def test_document_period_from_the_title_is_inherited_by_chunks_without_their_own() -> None:
    frame = document_period("Tamsin Foods Q2 2024 Earnings Call", "Operator: welcome.", PUBLISHED)
    assert frame is not None and frame.label == "2024-Q2"
    content = chunk_content_time("Margins widened on lower freight costs.", PUBLISHED, frame)
    assert content.labels() == ["2024-Q2"] and content.source == "document"


def test_document_period_from_the_opening_line() -> None:
    text = "Good morning and welcome to the Brisk Outdoor third quarter fiscal 2024 results call."
    frame = document_period(None, text, PUBLISHED)
    assert frame is not None and frame.label == "2024-Q3"


def test_a_dated_headline_is_not_a_reporting_period() -> None:
    assert (
        document_period("Kell Sato signs until 2027", "Kell Sato joined today.", PUBLISHED) is None
    )


def test_fiscal_labels_are_read_as_the_periods_they_name() -> None:
    for text in ("Guidance for Q1 FY2025 was raised.", "For the fiscal 2025 first quarter, we"):
        assert _labels(text) == ["2025-Q1"]


def test_fiscal_calendar_maps_a_label_onto_calendar_months() -> None:
    # A fiscal year starting in February: fiscal 2025's first quarter is Feb-Apr 2024.
    content = chunk_content_time("In Q1 FY2025 sales rose.", PUBLISHED, None, fiscal_start=2)
    (span,) = content.spans
    assert span.start == datetime(2024, 2, 1, tzinfo=UTC)
    assert span.end == datetime(2024, 5, 1, tzinfo=UTC)


def test_a_range_is_one_span_linked_to_every_year_it_covers() -> None:
    content = chunk_content_time("Nell Ambrose played for Ostry Vale from 2003 to 2005.", PUBLISHED)
    assert content.labels() == ["2003/2005"]
    assert node_labels(content.spans) == ["2003", "2004", "2005"]


def test_time_nodes_of_a_day_are_its_ancestors_too() -> None:
    assert node_labels([parse_period("2023-05-17")]) == ["2023-05-17", "2023-05", "2023-Q2", "2023"]


def test_overlap_fit_prefers_the_period_asked() -> None:
    q2 = parse_period("2024-Q2")
    window = (q2.start.timestamp(), q2.end.timestamp())
    year = parse_period("2024")
    exact = overlap_fit([window], *window)
    wide = overlap_fit([(year.start.timestamp(), year.end.timestamp())], *window)
    assert exact == 1.0 and 0 < wide < exact
    assert overlap_fit([(0.0, 1.0)], *window) == 0.0


def test_each_quarter_splits_an_open_window() -> None:
    now = datetime(2025, 2, 1, tzinfo=UTC)
    periods = split_window(
        "Sales in each quarter after Q1 2024?", parse_period("2024-Q2").start, None, now
    )
    assert [p.label for p in periods] == ["2024-Q2", "2024-Q3", "2024-Q4", "2025-Q1"]


def test_both_clocks_in_one_question() -> None:
    now = datetime(2026, 1, 1, tzinfo=UTC)
    scope = resolve_scope("As of 2022-08-31, who chaired the Velm Trust in 2019?", now=now)
    assert scope.as_of == datetime(2022, 8, 31, 23, 59, 59, 999999, tzinfo=UTC)
    assert (scope.start, scope.end) == (parse_period("2019").start, parse_period("2019").end)
    assert scope.knowledge_cutoff == scope.as_of


def test_a_period_is_not_a_publication_cutoff() -> None:
    scope = resolve_scope("Who led Marrow Labs in 2019?", now=datetime(2026, 1, 1, tzinfo=UTC))
    assert scope.start is not None and scope.knowledge_cutoff is None


def test_several_named_periods_each_get_evidence() -> None:
    scope = resolve_scope(
        "How did Corbel's margin in 2023-Q2 compare with 2024-Q2?",
        now=datetime(2026, 1, 1, tzinfo=UTC),
    )
    assert scope.period_labels() == ["2023-Q2", "2024-Q2"]
