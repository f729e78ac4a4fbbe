"""The time scope of a question: explicit parameters win, otherwise the question's own words."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from app.core.errors import InvalidInput
from graph.timeparse import parse_question_scope


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

    @property
    def knowledge_cutoff(self) -> datetime | None:
        """Latest publication time that may inform the answer.

        A question about a window that ended is answered from what was published by its end,
        unless an explicit ``as_of`` says otherwise.
        """
        if self.as_of is not None:
            return self.as_of
        return self.end

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
        if start is None and end is None and parsed.kind not in ("none", "as_of"):
            start, end = parsed.start, parsed.end
            return TimeScope(as_of, start, end, "explicit", parsed.expression, parsed.question)
        return TimeScope(as_of, start, end, "explicit", None, question)
    parsed = parse_question_scope(question, now, fiscal_year_start_month=fiscal_year_start_month)
    if parsed.kind == "none":
        return TimeScope(None, None, None, "none", None, question)
    return TimeScope(
        parsed.as_of, parsed.start, parsed.end, "question", parsed.expression, parsed.question
    )
