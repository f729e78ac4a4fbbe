"""The time scope of a question: explicit parameters win, otherwise the question's own words."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

from app.core.errors import InvalidInput
from graph.content_time import span_label, split_window
from graph.timeparse import TimeSpan, find_time_mentions, parse_question_scope


@dataclass(frozen=True)
class TimeScope:
    """What the service understood; returned to the user as ``time_scope``.

    ``as_of`` is known time (only what was published by then counts); ``start``/``end`` are the
    valid-time window [start, end) the question is about.
    """

    as_of: datetime | None
    start: datetime | None
    end: datetime | None
    source: Literal["explicit", "question", "none"]
    expression: str | None
    question: str
    periods: tuple[TimeSpan, ...] = field(default=())
    """The periods asked about one by one ("each quarter after 2024 Q1", "in 2019 and 2021"):
    each gets its own evidence. Empty when the window is asked about as a whole."""
    widened: bool = False
    """True when the window held too little evidence and retrieval looked outside it."""

    @property
    def knowledge_cutoff(self) -> datetime | None:
        """Latest publication time that may inform the answer: ``as_of`` only.

        A question's period is valid time and filters what chunks are *about*; an earnings
        call on a quarter is held after it ends and a biography written years later answers
        for the years it describes, so the window is never a publication cutoff.
        """
        return self.as_of

    @property
    def window(self) -> bool:
        return self.start is not None or self.end is not None

    def period_labels(self) -> list[str]:
        return [span_label(p) for p in self.periods]

    @property
    def reference(self) -> datetime | None:
        """The instant the question is "about" (for picking the fact valid then)."""
        if self.end is not None:
            return self.end
        return self.as_of


def resolve_scope(
    question: str,
    *,
    now: datetime,
    as_of: datetime | None = None,
    start: datetime | None = None,
    end: datetime | None = None,
    fiscal_year_start_month: int = 1,
) -> TimeScope:
    if start is not None and end is not None and start >= end:
        raise InvalidInput("start must be before end")
    if as_of is not None or start is not None or end is not None:
        parsed = parse_question_scope(
            question, as_of or now, fiscal_year_start_month=fiscal_year_start_month
        )
        # Explicit parameters win; the parsed window still narrows valid time if none was given.
        reference = as_of or now
        if start is None and end is None and parsed.kind not in ("none", "as_of"):
            start, end = parsed.start, parsed.end
            periods = asked_periods(question, start, end, reference, fiscal_year_start_month)
            start, end = _cover(start, end, periods)
            return TimeScope(
                as_of, start, end, "explicit", parsed.expression, parsed.question, periods
            )
        plain = parsed.question if parsed.kind == "as_of" else question
        periods = asked_periods(plain, start, end, reference, fiscal_year_start_month)
        return TimeScope(as_of, start, end, "explicit", None, question, periods)
    parsed = parse_question_scope(question, now, fiscal_year_start_month=fiscal_year_start_month)
    if parsed.kind == "none":
        return TimeScope(None, None, None, "none", None, question)
    start, end, expression, rest = parsed.start, parsed.end, parsed.expression, parsed.question
    if parsed.kind == "as_of":
        # Both clocks: "as of 2022-08-31, who was chair in 2019?" keeps 2019 as valid time.
        inner = parse_question_scope(rest, now, fiscal_year_start_month=fiscal_year_start_month)
        if inner.kind not in ("none", "as_of"):
            start, end, rest = inner.start, inner.end, inner.question
            expression = f"{expression}; {inner.expression}"
        else:
            start = end = None  # "as of X" alone is known time only
    # Periods are read from the question without its as-of phrase (that one is known time).
    periods = asked_periods(
        question if parsed.kind != "as_of" else parsed.question,
        start,
        end,
        now,
        fiscal_year_start_month,
    )
    start, end = _cover(start, end, periods)
    return TimeScope(parsed.as_of, start, end, "question", expression, rest, periods)


def asked_periods(
    question: str, start: datetime | None, end: datetime | None, now: datetime, fiscal: int
) -> tuple[TimeSpan, ...]:
    """Periods to retrieve for one by one: each unit of the window when the question says
    "each"/"every", else every period the question names when it names more than one."""
    each = split_window(question, start, end, now)
    if each:
        return tuple(each)
    named = {
        m.span: None for m in find_time_mentions(question, now, fiscal_year_start_month=fiscal)
    }
    return tuple(named) if len(named) > 1 else ()


def _cover(
    start: datetime | None, end: datetime | None, periods: tuple[TimeSpan, ...]
) -> tuple[datetime | None, datetime | None]:
    """A closed window widened to every period the question names ("in 2019 and 2021")."""
    if start is None or end is None or not periods:
        return start, end
    return min(start, *(p.start for p in periods)), max(end, *(p.end for p in periods))
