"""Time expressions: spans, labels, document mentions and question scopes.

Every test passes its reference instant explicitly; nothing here depends on the wall clock.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta, timezone

import pytest

from graph.timeparse import (
    Granularity,
    TimeSpan,
    find_time_mentions,
    parse_period,
    parse_question_scope,
)

# A Wednesday in the second quarter, so "last"/"this"/"next" differ at every granularity.
REF = datetime(2024, 5, 15, 12, 0, tzinfo=UTC)


def utc(year: int, month: int = 1, day: int = 1, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


def spans(text: str, reference: datetime = REF, fiscal: int = 1) -> list[tuple[str, str]]:
    """(matched text, label) for every mention, in order."""
    found = find_time_mentions(text, reference, fiscal_year_start_month=fiscal)
    return [(m.text, m.span.label) for m in found]


def only(text: str, reference: datetime = REF, fiscal: int = 1) -> TimeSpan:
    found = find_time_mentions(text, reference, fiscal_year_start_month=fiscal)
    assert len(found) == 1, found
    return found[0].span


# --- TimeSpan and labels -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("granularity", "start", "end", "label"),
    [
        ("year", utc(2023, 1, 1), utc(2024, 1, 1), "2023"),
        ("quarter", utc(2023, 4, 1), utc(2023, 7, 1), "2023-Q2"),
        ("month", utc(2023, 5, 1), utc(2023, 6, 1), "2023-05"),
        ("day", utc(2023, 5, 17), utc(2023, 5, 18), "2023-05-17"),
    ],
)
def test_of_builds_the_calendar_span_at_each_granularity(
    granularity: Granularity, start: datetime, end: datetime, label: str
) -> None:
    span = TimeSpan.of(utc(2023, 5, 17, 13, 45), granularity)
    assert (span.start, span.end, span.label) == (start, end, label)


def test_of_handles_december_rollover() -> None:
    assert TimeSpan.of(utc(2023, 12, 31, 23), "quarter").end == utc(2024, 1, 1)
    assert TimeSpan.of(utc(2023, 12, 31, 23), "month").end == utc(2024, 1, 1)


@pytest.mark.parametrize("label", ["2023", "2023-Q1", "2023-Q4", "2023-05", "2024-02-29"])
def test_label_round_trips_through_parse_period(label: str) -> None:
    assert parse_period(label).label == label


def test_parse_period_accepts_lowercase_quarter() -> None:
    assert parse_period("2023-q2") == parse_period("2023-Q2")


@pytest.mark.parametrize("label", ["", "23", "2023-Q5", "2023-13", "2023-02-30", " 2023", "May"])
def test_parse_period_rejects_malformed_labels(label: str) -> None:
    with pytest.raises(ValueError, match="invalid period label"):
        parse_period(label)


def test_ancestors_go_from_finest_to_year() -> None:
    day = parse_period("2023-05-17")
    assert [a.label for a in day.ancestors()] == ["2023-05", "2023-Q2", "2023"]
    assert [a.label for a in parse_period("2023-05").ancestors()] == ["2023-Q2", "2023"]
    assert [a.label for a in parse_period("2023-Q2").ancestors()] == ["2023"]
    assert parse_period("2023").ancestors() == []


def test_naive_datetimes_are_rejected_everywhere() -> None:
    naive = datetime(2024, 5, 15)
    with pytest.raises(ValueError, match="timezone-aware"):
        TimeSpan.of(naive, "day")
    with pytest.raises(ValueError, match="timezone-aware"):
        TimeSpan(naive, naive + timedelta(days=1), "day")
    with pytest.raises(ValueError, match="timezone-aware"):
        find_time_mentions("in 2020", naive)
    with pytest.raises(ValueError, match="timezone-aware"):
        parse_question_scope("Who led Acme in 2020?", naive)


def test_timespan_rejects_empty_or_reversed_spans() -> None:
    with pytest.raises(ValueError, match="must be before"):
        TimeSpan(utc(2024, 1, 1), utc(2024, 1, 1), "day")


def test_aware_non_utc_reference_is_converted_to_utc_days() -> None:
    # 01:00 on Jan 1 at +05:00 is still Dec 31 in UTC.
    reference = datetime(2024, 1, 1, 1, 0, tzinfo=timezone(timedelta(hours=5)))
    assert only("today", reference).label == "2023-12-31"


def test_invalid_fiscal_start_month_is_rejected() -> None:
    with pytest.raises(ValueError, match="fiscal_year_start_month"):
        find_time_mentions("FY2024", REF, fiscal_year_start_month=13)


# --- absolute mentions ---------------------------------------------------------------------


def test_years_in_running_text() -> None:
    text = "Founded in 2019, the year 2018 was quiet; 2019 people joined."
    assert spans(text) == [("2019", "2019"), ("the year 2018", "2018"), ("2019", "2019")]
    assert not find_time_mentions("in 2019", REF)[0].relative


@pytest.mark.parametrize(
    "text",
    ["3 people", "$2019", "3,2019", "version 2.0", "2019.5", "12345", "ID-X2019", "20%", "1,500"],
)
def test_numbers_that_are_not_times_are_ignored(text: str) -> None:
    assert find_time_mentions(text, REF) == []


@pytest.mark.parametrize(
    "text", ["March 2021", "Mar. 2021", "march 2021", "March of 2021", "March, 2021"]
)
def test_month_and_year(text: str) -> None:
    span = only(text)
    assert (span.label, span.granularity) == ("2021-03", "month")


def test_abbreviated_september() -> None:
    assert only("Sept 2021").label == "2021-09"
    assert only("Sep. 2021").label == "2021-09"


@pytest.mark.parametrize(
    "text",
    [
        "March 5, 2021",
        "March 5th, 2021",
        "5 March 2021",
        "the 5th of March 2021",
        "2021-03-05",
        "03/05/2021",
        "2021-03-05T10:00:00Z",
    ],
)
def test_full_dates(text: str) -> None:
    span = only(text)
    assert (span.label, span.granularity) == ("2021-03-05", "day")


def test_abbreviated_month_with_period() -> None:
    assert spans("Dec. 15, 2022 and 15th of December 2022") == [
        ("Dec. 15, 2022", "2022-12-15"),
        ("15th of December 2022", "2022-12-15"),
    ]


def test_longest_match_wins_and_mentions_do_not_overlap() -> None:
    found = find_time_mentions("On March 5, 2021 the firm, founded in 2019, grew.", REF)
    assert [(m.text, m.start_char, m.end_char) for m in found] == [
        ("March 5, 2021", 3, 16),
        ("2019", 38, 42),
    ]


def test_impossible_dates_yield_nothing_rather_than_fragments() -> None:
    assert find_time_mentions("February 30, 2021 and 2021-02-30", REF) == []


def test_iso_month() -> None:
    assert only("2021-03").label == "2021-03"


# --- quarters and fiscal periods -------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    ["Q2 2023", "2023 Q2", "2023-Q2", "Q2 of 2023", "the second quarter of 2023",
     "second-quarter 2023", "2nd quarter 2023"],
)  # fmt: skip
def test_calendar_quarters(text: str) -> None:
    span = only(text)
    assert (span.label, span.granularity) == ("2023-Q2", "quarter")
    assert (span.start, span.end) == (utc(2023, 4, 1), utc(2023, 7, 1))


def test_bare_quarter_is_the_most_recent_one() -> None:
    [q2, q3] = find_time_mentions("Q2 and Q3", REF)
    assert (q2.span.label, q2.relative) == ("2024-Q2", True)
    assert q3.span.label == "2023-Q3"


def test_last_quarter_of_a_year_is_q4() -> None:
    assert only("the last quarter of 2023").label == "2023-Q4"


def test_fiscal_periods_equal_calendar_periods_when_year_starts_in_january() -> None:
    assert only("FY2024").start == utc(2024, 1, 1)
    assert only("fiscal 2024").end == utc(2025, 1, 1)
    assert only("Q3 FY2024").label == "2024-Q3"


@pytest.mark.parametrize("text", ["FY2024", "FY24", "FY 2024", "fiscal 2024", "fiscal year 2024"])
def test_fiscal_year_with_october_start(text: str) -> None:
    span = only(text, fiscal=10)
    assert (span.start, span.end, span.granularity) == (utc(2023, 10, 1), utc(2024, 10, 1), "year")
    assert span.label == "2023"  # calendar label of the start, as documented


@pytest.mark.parametrize(
    "text",
    ["Q3 FY2024", "FY2024 Q3", "Q3 FY24", "fiscal third quarter 2024",
     "the third quarter of fiscal 2024", "the third fiscal quarter of 2024", "fiscal Q3 2024"],
)  # fmt: skip
def test_fiscal_quarter_with_october_start(text: str) -> None:
    span = only(text, fiscal=10)
    assert (span.start, span.end, span.granularity) == (utc(2024, 4, 1), utc(2024, 7, 1), "quarter")


def test_plain_quarter_stays_calendar_even_with_fiscal_calendar() -> None:
    assert only("Q3 2024", fiscal=10).label == "2024-Q3"


def test_relative_fiscal_periods() -> None:
    # REF (May 2024) is in FY2024 Q3 when the fiscal year starts in October.
    assert only("last fiscal year", fiscal=10).start == utc(2022, 10, 1)
    assert only("this fiscal quarter", fiscal=10).start == utc(2024, 4, 1)
    assert only("fiscal Q4", fiscal=10).start == utc(2023, 7, 1)


# --- relative mentions -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "label"),
    [
        ("today", "2024-05-15"),
        ("yesterday", "2024-05-14"),
        ("tomorrow", "2024-05-16"),
        ("this year", "2024"),
        ("last year", "2023"),
        ("next year", "2025"),
        ("the previous year", "2023"),
        ("earlier this year", "2024"),
        ("this month", "2024-05"),
        ("last month", "2024-04"),
        ("this quarter", "2024-Q2"),
        ("last quarter", "2024-Q1"),
        ("a year ago", "2023"),
        ("two years ago", "2022"),
        ("3 months ago", "2024-02"),
        ("10 days ago", "2024-05-05"),
        ("March last year", "2023-03"),
    ],
)
def test_relative_expressions_resolve_against_the_reference(text: str, label: str) -> None:
    [mention] = find_time_mentions(text, REF)
    assert (mention.text, mention.span.label, mention.relative) == (text, label, True)


def test_last_month_crosses_the_year_boundary() -> None:
    assert only("last month", utc(2024, 1, 10)).label == "2023-12"
    assert only("last quarter", utc(2024, 1, 10)).label == "2023-Q4"


def test_weeks_are_monday_based_seven_day_spans() -> None:
    this_week, last_week = only("this week"), only("last week")
    assert (this_week.start, this_week.end, this_week.granularity) == (
        utc(2024, 5, 13),
        utc(2024, 5, 20),
        "day",
    )
    assert last_week.start == utc(2024, 5, 6)


def test_last_month_name_is_strictly_before_the_reference_month() -> None:
    assert only("last March", utc(2024, 5, 15)).label == "2024-03"
    assert only("last March", utc(2024, 3, 20)).label == "2023-03"
    assert only("last March", utc(2024, 2, 1)).label == "2023-03"


def test_bare_month_is_the_nearest_at_or_before_the_reference_month() -> None:
    [march, june] = find_time_mentions("Sales fell in March and recovered in June.", REF)
    assert (march.span.label, march.relative) == ("2024-03", True)
    assert june.span.label == "2023-06"
    assert only("in May").label == "2024-05"


def test_date_without_year_is_the_most_recent_not_after_the_reference() -> None:
    assert only("March 5").label == "2024-03-05"
    assert only("December 15").label == "2023-12-15"
    assert only("May 15").label == "2024-05-15"
    assert only("Feb 29", utc(2025, 6, 1)).label == "2024-02-29"


@pytest.mark.parametrize(
    "text",
    ["we may see gains", "they march on", "Ottoline May said", "May I ask?", "recently",
     "the last year of his life", "an august body"],
)  # fmt: skip
def test_words_that_only_look_like_times_are_ignored(text: str) -> None:
    assert find_time_mentions(text, REF) == []


# --- question scope --------------------------------------------------------------------------


def test_as_of_sets_a_knowledge_cutoff_that_includes_the_whole_day() -> None:
    scope = parse_question_scope(
        "As of December 22, 2021, what government position does Corwin Ashdale hold?", REF
    )
    assert scope.kind == "as_of"
    assert (scope.start, scope.end) == (None, utc(2021, 12, 23))
    assert scope.as_of == utc(2021, 12, 23) - timedelta(microseconds=1)
    assert scope.expression == "As of December 22, 2021"
    assert scope.question == "what government position does Corwin Ashdale hold?"


def test_in_month_is_an_at_scope() -> None:
    scope = parse_question_scope("Who was CEO of Acme in March 2021?", REF)
    assert (scope.kind, scope.start, scope.end, scope.as_of) == (
        "at",
        utc(2021, 3, 1),
        utc(2021, 4, 1),
        None,
    )
    assert (scope.expression, scope.question) == ("in March 2021", "Who was CEO of Acme?")


def test_on_date_is_an_at_scope_for_that_day() -> None:
    scope = parse_question_scope("What did Acme announce on 5 March 2021?", REF)
    assert (scope.kind, scope.start, scope.end) == ("at", utc(2021, 3, 5), utc(2021, 3, 6))


def test_bare_expression_is_an_at_scope() -> None:
    scope = parse_question_scope("What was Acme's 2019 revenue?", REF)
    assert (scope.kind, scope.start, scope.question) == (
        "at",
        utc(2019, 1, 1),
        "What was Acme's revenue?",
    )


@pytest.mark.parametrize(
    ("question", "end"),
    [
        ("Who was CEO before 2020?", utc(2020, 1, 1)),
        ("Who was CEO prior to 2020?", utc(2020, 1, 1)),
        ("Who was CEO until 2020?", utc(2021, 1, 1)),
        ("Who was CEO through Q1 2020?", utc(2020, 4, 1)),
    ],
)
def test_before_scopes(question: str, end: datetime) -> None:
    scope = parse_question_scope(question, REF)
    assert (scope.kind, scope.start, scope.end, scope.question) == (
        "before",
        None,
        end,
        "Who was CEO?",
    )


@pytest.mark.parametrize(
    ("question", "start"),
    [("What changed after 2020?", utc(2021, 1, 1)), ("What changed since 2020?", utc(2020, 1, 1))],
)
def test_after_scopes(question: str, start: datetime) -> None:
    scope = parse_question_scope(question, REF)
    assert (scope.kind, scope.start, scope.end, scope.question) == (
        "after",
        start,
        None,
        "What changed?",
    )


@pytest.mark.parametrize(
    "question",
    [
        "Who led Acme between 2019 and 2021?",
        "Who led Acme from 2019 to 2021?",
        "Who led Acme 2019-2021?",
    ],
)
def test_range_scopes(question: str) -> None:
    scope = parse_question_scope(question, REF)
    assert (scope.kind, scope.start, scope.end) == ("range", utc(2019, 1, 1), utc(2022, 1, 1))
    assert scope.question == "Who led Acme?"


def test_relative_question_scope_uses_now() -> None:
    scope = parse_question_scope("Who chaired the board last year?", REF)
    assert (scope.kind, scope.start, scope.end) == ("at", utc(2023, 1, 1), utc(2024, 1, 1))
    assert scope.question == "Who chaired the board?"


def test_end_of_a_period_is_its_last_microsecond() -> None:
    scope = parse_question_scope("Who was CEO at the end of 2020?", REF)
    assert (scope.kind, scope.start, scope.end) == (
        "at",
        utc(2021, 1, 1) - timedelta(microseconds=1),
        utc(2021, 1, 1),
    )
    assert scope.question == "Who was CEO?"


def test_leading_expression_leaves_no_dangling_comma() -> None:
    scope = parse_question_scope("In early 2020, who led Acme?", REF)
    assert (scope.expression, scope.question) == ("In early 2020", "who led Acme?")


def test_prepositional_expression_beats_an_earlier_bare_one() -> None:
    scope = parse_question_scope("What did the 2019 report say about revenue in 2021?", REF)
    assert (scope.start, scope.question) == (
        utc(2021, 1, 1),
        "What did the 2019 report say about revenue?",
    )


@pytest.mark.parametrize(
    "question",
    ["Who is the CEO of Acme?", "How many people work at Acme?", "What changed in version 2.0?"],
)
def test_question_without_time_is_left_unchanged(question: str) -> None:
    scope = parse_question_scope(question, REF)
    assert scope.kind == "none"
    assert (scope.start, scope.end, scope.as_of, scope.expression) == (None, None, None, None)
    assert scope.question == question


def test_fiscal_question_scope() -> None:
    scope = parse_question_scope("What was revenue in Q3 FY2024?", REF, fiscal_year_start_month=10)
    assert (scope.kind, scope.start, scope.end) == ("at", utc(2024, 4, 1), utc(2024, 7, 1))


# --- performance ---------------------------------------------------------------------------


def test_a_paragraph_parses_in_well_under_ten_milliseconds() -> None:
    paragraph = (
        "Acme Corp said on Tuesday that its chief executive would step down at the end of the "
        "second quarter of 2023, after leading the company since March 2015. Revenue in fiscal "
        "2022 rose 12 percent to $2.3 billion, and the board expects growth to slow next year. "
        "Last March the company opened a plant employing 1,200 people; a second site is planned "
        "for 2025. Analysts, who had downgraded the stock two years ago, said results for Q3 "
        "were better than expected. The company reports on 5 November 2023 and meets in May."
    )
    runs = 50
    started = time.perf_counter()
    for _ in range(runs):
        find_time_mentions(paragraph, REF)
    assert (time.perf_counter() - started) / runs < 0.010
