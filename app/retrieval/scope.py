"""The time scope of a question: explicit parameters win, otherwise the question's own words."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

from app.core.errors import InvalidInput
from graph.content_time import span_label, split_window, stated_periods
from graph.timeparse import (
    QuestionScope,
    TimeMention,
    TimeSpan,
    find_time_mentions,
    parse_question_scope,
)


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
        parsed = _parse(question, as_of or now, fiscal_year_start_month)
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
    parsed = _parse(question, now, fiscal_year_start_month)
    if parsed.kind == "none":
        return TimeScope(None, None, None, "none", None, question)
    start, end, expression, rest = parsed.start, parsed.end, parsed.expression, parsed.question
    if parsed.kind == "as_of":
        # Both clocks: "as of 2022-08-31, who was chair in 2019?" keeps 2019 as valid time.
        inner = _parse(rest, now, fiscal_year_start_month)
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
    mentions = _asked(question, find_time_mentions(question, now, fiscal_year_start_month=fiscal))
    named = dict.fromkeys(p.span for p in stated_periods(question, mentions))
    return tuple(named) if len(named) > 1 else ()


def _cover(
    start: datetime | None, end: datetime | None, periods: tuple[TimeSpan, ...]
) -> tuple[datetime | None, datetime | None]:
    """A closed window widened to every period the question names ("in 2019 and 2021")."""
    if start is None or end is None or not periods:
        return start, end
    return min(start, *(p.start for p in periods)), max(end, *(p.end for p in periods))


# --------------------------------------------------------------------------- question reading

#: A relative clause opening before a time expression: "the man who was born on 2 March 1911",
#: "the club, which was founded in 1899". Its time describes whom or what the question is
#: about; it is not the period asked. "Which"/"who" opening the question, or after a
#: preposition ("in which year"), asks rather than describes, so they do not count.
_RELATIVE = re.compile(r"(?<=\w)[\s,]+(?:who|whom|whose|which|that)\s+(?P<clause>[^,;?]*)$", re.I)
_NOT_BEFORE_RELATIVE = frozenset(
    {"in", "on", "at", "of", "for", "from", "to", "by", "with", "during", "since", "until"}
)
_PLACEHOLDER = "\u2063"  # INVISIBLE SEPARATOR: no time rule matches it


def _describes(question: str, mention: TimeMention, mentions: list[TimeMention]) -> bool:
    """True when ``mention`` sits in a relative clause describing a noun.

    Examples: "The man who was born on 2 March 1911 held what post from 1939 to 1941?" (the
    birth date describes the man); "Which team did the player, who debuted in 1998, join in
    2003?" (1998 describes the player). Not: "Which team did she join in 2003?", nor the
    "1939" of "The man who was born in 1911 held what post in 1939?": a clause ends with its
    first time expression.
    """
    head = question[: mention.start_char]
    found = _RELATIVE.search(head)
    if found is None or any(found.start() < m.start_char < mention.start_char for m in mentions):
        return False
    before = head[: found.start()].split()
    return bool(before) and before[-1].casefold() not in _NOT_BEFORE_RELATIVE


def _asked(question: str, mentions: list[TimeMention]) -> list[TimeMention]:
    """The mentions that ask for a period: all of them, less those describing someone,
    unless that would leave none."""
    # A range is one time expression: its second end takes the verdict of its first ("the
    # people who coached the team from 2020 to 2021" describes with both years or neither).
    first_of = list(range(len(mentions)))
    for p in stated_periods(question, mentions):
        inside = [i for i, m in enumerate(mentions) if p.start_char <= m.start_char < p.end_char]
        for i in inside:
            first_of[i] = inside[0]
    asked = [
        m
        for i, m in enumerate(mentions)
        if not _describes(question, mentions[first_of[i]], mentions)
    ]
    return asked or mentions


def _parse(question: str, now: datetime, fiscal: int) -> QuestionScope:
    """`parse_question_scope` over the mentions that ask (see `_describes`).

    A describing time is hidden from the parser, so the window is the period asked, and put
    back in the question's remaining text, since it still helps find whom the question is
    about ("born on 2 March 1911").
    """
    mentions = find_time_mentions(question, now, fiscal_year_start_month=fiscal)
    hidden = [m for m in mentions if m not in _asked(question, mentions)]
    if not hidden:
        return parse_question_scope(question, now, fiscal_year_start_month=fiscal)
    masked = question
    for m in hidden:
        masked = masked[: m.start_char] + _PLACEHOLDER * len(m.text) + masked[m.end_char :]
    parsed = parse_question_scope(masked, now, fiscal_year_start_month=fiscal)
    rest = parsed.question
    for m in hidden:  # in order: each placeholder run is the next hidden mention
        run = _PLACEHOLDER * len(m.text)
        rest = rest.replace(run, m.text, 1)
    return QuestionScope(
        parsed.kind, parsed.start, parsed.end, parsed.as_of, parsed.expression, rest
    )
