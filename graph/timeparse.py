"""Deterministic English time expressions: calendar spans, document mentions, question scopes.

Two callers rely on this module. Ingestion normalises the times a document mentions against the
document's ``published_at`` (:func:`find_time_mentions`); retrieval turns the words of a question
into a valid-time window or a knowledge cutoff (:func:`parse_question_scope`).

Invariants shared by everything here:

* Every datetime is timezone-aware UTC. A naive reference is refused with ``ValueError`` instead
  of being guessed; an aware non-UTC one is converted to UTC first, so calendar boundaries
  ("yesterday", "March 5") are UTC days.
* Nothing reads the wall clock: the reference instant is always an argument, so the same text
  and reference always give the same answer (ingestion is replayable, tests are exact).
* Spans are half-open ``[start, end)`` so adjacent periods never overlap.
* Only general English conventions are encoded; nothing is tuned to a particular corpus.

Conventions worth knowing:

* A date without a year ("March 5"), a month alone ("March") or a quarter alone ("Q3") means
  the most recent one that is not after the reference (news style), and is marked relative.
* A month name without a day or year must be capitalised ("in May", not "may"), because
  "may", "march" and "august" are ordinary English words; bare "May"/"March" additionally need
  a time word before them ("in May", "since March").
* Quarters are calendar quarters unless the text says "fiscal" or "FY". Fiscal year N starts on
  ``fiscal_year_start_month`` of year N-1 (FY2024 with start month 10 is 2023-10-01 to
  2024-10-01); with start month 1 it is the calendar year. A fiscal period keeps the
  granularity "year"/"quarter" even when it does not align with the calendar, and its
  :attr:`TimeSpan.label` is then the calendar label of its start (FY2024 above is "2023").
* Weeks ("last week", "3 weeks ago") are Monday-based, seven-day spans with granularity "day":
  the label and ancestors are those of the Monday.
"""

from __future__ import annotations

import re
import string
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from functools import lru_cache
from typing import Literal, get_args

__all__ = [
    "Granularity",
    "QuestionScope",
    "TimeMention",
    "TimeSpan",
    "find_time_mentions",
    "parse_period",
    "parse_question_scope",
]

Granularity = Literal["year", "quarter", "month", "day"]
ScopeKind = Literal["none", "at", "range", "before", "after", "as_of"]

_GRANULARITIES: tuple[str, ...] = get_args(Granularity)
_COARSER: dict[str, tuple[Granularity, ...]] = {
    "day": ("month", "quarter", "year"),
    "month": ("quarter", "year"),
    "quarter": ("year",),
    "year": (),
}
_MICROSECOND = timedelta(microseconds=1)


def _require_utc(moment: datetime, name: str) -> datetime:
    """Return ``moment`` in UTC, refusing naive values rather than assuming a zone."""
    if moment.tzinfo is UTC:
        return moment
    if moment.tzinfo is None or moment.tzinfo.utcoffset(moment) is None:
        raise ValueError(
            f"{name} must be timezone-aware, got naive {moment.isoformat()}; "
            "pass e.g. datetime(2024, 1, 1, tzinfo=UTC)"
        )
    return moment.astimezone(UTC)


def _shift_month(year: int, month: int, months: int) -> tuple[int, int]:
    """Add ``months`` to a (year, month) pair, carrying into the year."""
    years, month0 = divmod(month - 1 + months, 12)
    return year + years, month0 + 1


def _month_start(year: int, month: int) -> datetime:
    return datetime(year, month, 1, tzinfo=UTC)


@dataclass(frozen=True)
class TimeSpan:
    """A half-open period ``[start, end)`` at a calendar granularity.

    Spans are usually whole calendar periods (see :meth:`of`); fiscal years/quarters and weeks
    are the documented exceptions, which is why only awareness and ordering are enforced.

    Attributes:
        start: Inclusive start, timezone-aware UTC.
        end: Exclusive end, timezone-aware UTC.
        granularity: The calendar unit the span represents.
    """

    start: datetime
    end: datetime
    granularity: Granularity

    def __post_init__(self) -> None:
        if self.granularity not in _GRANULARITIES:
            raise ValueError(
                f"granularity must be one of {', '.join(_GRANULARITIES)}, got {self.granularity!r}"
            )
        # Frozen, so normalisation to UTC has to bypass __setattr__.
        object.__setattr__(self, "start", _require_utc(self.start, "TimeSpan.start"))
        object.__setattr__(self, "end", _require_utc(self.end, "TimeSpan.end"))
        if self.start >= self.end:
            raise ValueError(
                f"TimeSpan.start ({self.start.isoformat()}) must be before "
                f"TimeSpan.end ({self.end.isoformat()})"
            )

    @property
    def label(self) -> str:
        """Calendar label of :attr:`start` at :attr:`granularity`, e.g. ``"2023-Q2"``.

        It round-trips through :func:`parse_period` for calendar-aligned spans; for fiscal
        periods and weeks it names the calendar period containing the start.
        """
        s = self.start
        if self.granularity == "year":
            return f"{s.year:04d}"
        if self.granularity == "quarter":
            return f"{s.year:04d}-Q{(s.month - 1) // 3 + 1}"
        if self.granularity == "month":
            return f"{s.year:04d}-{s.month:02d}"
        return f"{s.year:04d}-{s.month:02d}-{s.day:02d}"

    def ancestors(self) -> list[TimeSpan]:
        """Coarser calendar spans containing :attr:`start`, finest first.

        Returns:
            day -> [month, quarter, year]; month -> [quarter, year]; quarter -> [year];
            year -> []. These are the parents in the graph's time hierarchy.
        """
        return [TimeSpan.of(self.start, g) for g in _COARSER[self.granularity]]

    @classmethod
    def of(cls, moment: datetime, granularity: Granularity) -> TimeSpan:
        """The calendar span of ``granularity`` that contains ``moment``.

        Raises:
            ValueError: If ``moment`` is naive, the granularity is unknown, or the span would
                leave the range ``datetime`` supports.
        """
        m = _require_utc(moment, "moment")
        try:
            if granularity == "year":
                start = _month_start(m.year, 1)
                end = _month_start(m.year + 1, 1)
            elif granularity == "quarter":
                first = 3 * ((m.month - 1) // 3) + 1
                start = _month_start(m.year, first)
                end = _month_start(*_shift_month(m.year, first, 3))
            elif granularity == "month":
                start = _month_start(m.year, m.month)
                end = _month_start(*_shift_month(m.year, m.month, 1))
            elif granularity == "day":
                start = datetime(m.year, m.month, m.day, tzinfo=UTC)
                end = start + timedelta(days=1)
            else:
                raise ValueError(
                    f"granularity must be one of {', '.join(_GRANULARITIES)}, got {granularity!r}"
                )
        except OverflowError:
            raise ValueError(
                f"the {granularity} containing {m.isoformat()} is outside the supported range"
            ) from None
        return cls(start, end, granularity)


_PERIOD_RE = re.compile(r"(\d{4})(?:-(?:[Qq]([1-4])|(\d{2})(?:-(\d{2}))?))?")


def parse_period(label: str) -> TimeSpan:
    """Parse a calendar label as produced by :attr:`TimeSpan.label`.

    Args:
        label: ``"2023"``, ``"2023-Q2"`` (or ``"2023-q2"``), ``"2023-05"`` or ``"2023-05-17"``.
            Surrounding whitespace is not accepted: labels are identifiers, not prose.

    Returns:
        The calendar span the label names.

    Raises:
        ValueError: If the label has another shape or names an impossible date.
    """
    match = _PERIOD_RE.fullmatch(label)
    if match is None:
        raise ValueError(
            f"invalid period label {label!r}: expected 'YYYY', 'YYYY-Qn', 'YYYY-MM' or "
            "'YYYY-MM-DD', e.g. '2023', '2023-Q2', '2023-05', '2023-05-17'"
        )
    year_s, quarter_s, month_s, day_s = match.groups()
    year = int(year_s)
    try:
        if quarter_s is not None:
            return TimeSpan.of(_month_start(year, 3 * int(quarter_s) - 2), "quarter")
        if month_s is None:
            return TimeSpan.of(_month_start(year, 1), "year")
        if day_s is None:
            return TimeSpan.of(_month_start(year, int(month_s)), "month")
        return TimeSpan.of(datetime(year, int(month_s), int(day_s), tzinfo=UTC), "day")
    except ValueError as exc:
        raise ValueError(f"invalid period label {label!r}: {exc}") from None


@dataclass(frozen=True)
class TimeMention:
    """One time expression found in text.

    Attributes:
        span: The period the expression denotes.
        text: The matched text, exactly as it appears (``text[start_char:end_char]``).
        start_char: Offset of the first matched character.
        end_char: Offset just past the last matched character.
        relative: True when the period depended on the reference instant ("last year",
            "yesterday", "March 5" without a year), so re-parsing later with another
            reference would give another answer.
    """

    span: TimeSpan
    text: str
    start_char: int
    end_char: int
    relative: bool


# --- fiscal calendar -----------------------------------------------------------------------


def _check_fiscal_start(month: int) -> None:
    if not 1 <= month <= 12:
        raise ValueError(f"fiscal_year_start_month must be between 1 and 12, got {month}")


def _fiscal_year_start(fiscal_year: int, start_month: int) -> datetime:
    """Start of fiscal year N: ``start_month`` of N-1, or January of N for calendar years."""
    return _month_start(fiscal_year - 1 if start_month != 1 else fiscal_year, start_month)


def _fiscal_year_of(moment: datetime, start_month: int) -> int:
    """The fiscal year (named by the calendar year it ends in) that contains ``moment``."""
    if start_month != 1 and moment.month >= start_month:
        return moment.year + 1
    return moment.year


def _fiscal_quarter_span(fiscal_year: int, quarter: int, start_month: int) -> TimeSpan:
    first = _fiscal_year_start(fiscal_year, start_month)
    year, month = _shift_month(first.year, first.month, 3 * (quarter - 1))
    return TimeSpan(
        _month_start(year, month), _month_start(*_shift_month(year, month, 3)), "quarter"
    )


def _fiscal_year_span(fiscal_year: int, start_month: int) -> TimeSpan:
    first = _fiscal_year_start(fiscal_year, start_month)
    return TimeSpan(first, _month_start(first.year + 1, first.month), "year")


def _fiscal_quarter_of(moment: datetime, start_month: int) -> tuple[int, int]:
    """(fiscal year, fiscal quarter 1-4) containing ``moment``."""
    fiscal_year = _fiscal_year_of(moment, start_month)
    first = _fiscal_year_start(fiscal_year, start_month)
    months_in = (moment.year - first.year) * 12 + moment.month - first.month
    return fiscal_year, months_in // 3 + 1


# --- regex building blocks -------------------------------------------------------------------

_MONTH_NUMBERS = {
    "jan": 1, "feb": 2, "mar": 3, "apr": 4, "may": 5, "jun": 6,
    "jul": 7, "aug": 8, "sep": 9, "oct": 10, "nov": 11, "dec": 12,
}  # fmt: skip
_FULL_MONTHS = (
    "january|february|march|april|may|june|july|august|september|october|november|december"
)
# Abbreviations may carry a period ("Dec."); full names may not, so "in June." stays "June".
_MONTH = (
    r"(?P<month>jan(?:uary|\.)?|feb(?:ruary|\.)?|mar(?:ch|\.)?|apr(?:il|\.)?|may"
    r"|jun(?:e|\.)?|jul(?:y|\.)?|aug(?:ust|\.)?|sep(?:t(?:ember|\.)?|\.)?"
    r"|oct(?:ober|\.)?|nov(?:ember|\.)?|dec(?:ember|\.)?)(?![^\W\d_])"
)
_DAY = r"(?P<day>3[01]|[12]\d|0?[1-9])(?:st|nd|rd|th)?(?!\w)(?![.:]\d)"
# A year is four digits 1000-2999 that are not part of a bigger number, an amount of money,
# an identifier, a decimal ("2019.5"), a list of numbers ("3,2019") or a percentage.
_YEAR = r"(?<![\w$€£¥#])(?<!\d[.,/])(?P<year>[12]\d{3})(?![\w%])(?![.,/]\d)"
# "fiscal 2024", "fiscal year 2024", "FY2024", "FY 2024", "FY24", "FY'24", "FY-24".
_FISCAL_YEAR = (
    r"(?:fiscal\s+(?:year\s+)?(?P<fylong>[12]\d{3})|fy[\s-]?'?(?P<fy>\d{4}|\d{2}))"
    r"(?![\w%])(?![.,]\d)"
)
_ORDINALS = {
    "first": 1, "1st": 1, "second": 2, "2nd": 2, "third": 3, "3rd": 3,
    "fourth": 4, "4th": 4, "last": 4, "final": 4,
}  # fmt: skip
_NUMBER_WORDS = {
    "a": 1, "an": 1, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6,
    "seven": 7, "eight": 8, "nine": 9, "ten": 10, "eleven": 11, "twelve": 12,
}  # fmt: skip
_DIRECTIONS = {
    "last": -1, "previous": -1, "prior": -1, "this": 0, "current": 0, "next": 1,
}  # fmt: skip
_AMBIGUOUS_MONTH_WORDS = frozenset({"may", "march"})
# Words after which a bare "May"/"March" is a month rather than a verb or a name.
# "and"/"to" count only after another month ("between March and May"): "Tom and May" is a name.
_MONTH_CONTEXT_RE = re.compile(
    r"(?:(?<!\w)(?:in|of|since|before|after|until|till|by|during|from|through|early|mid|late"
    rf"|between|on|as\s+of)|(?:{_FULL_MONTHS})\s+(?:and|or|to))[\s-]+$",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class _Context:
    text: str
    reference: datetime
    fiscal_start: int


# (span, relative); a None span claims the text without yielding a mention (an impossible
# date such as "February 30, 2021" must not fall back to "February" and "2021"); None rejects
# the match so shorter readings can win (a lowercase "march 5" is a verb, not a date).
_Resolved = tuple[TimeSpan | None, bool] | None
_Handler = Callable[[re.Match[str], _Context], _Resolved]


def _month_number(token: str) -> int:
    return _MONTH_NUMBERS[token[:3].lower()]


def _original(match: re.Match[str], ctx: _Context, group: str) -> str:
    """A group as written: rules run on case-folded text, but capitalisation carries meaning."""
    return ctx.text[match.start(group) : match.end(group)]


def _month_word_ok(match: re.Match[str], ctx: _Context) -> bool:
    """A month name used without a year must look like one (capitalised) to avoid verbs."""
    token = _original(match, ctx, "month")
    return token[0].isupper() or token.lower().rstrip(".") not in _AMBIGUOUS_MONTH_WORDS


@lru_cache(maxsize=4096)
def _calendar_span(year: int, month: int, granularity: Granularity) -> TimeSpan:
    """The calendar span containing the first of ``month``; cached, as text repeats periods."""
    return TimeSpan.of(_month_start(year, month), granularity)


def _day_span(year: int, month: int, day: int) -> TimeSpan | None:
    try:
        return TimeSpan.of(datetime(year, month, day, tzinfo=UTC), "day")
    except ValueError:
        return None


def _year_span(year: int) -> TimeSpan | None:
    if not 1 <= year <= 9998:
        return None
    return _calendar_span(year, 1, "year")


def _most_recent_day(month: int, day: int, reference: datetime) -> TimeSpan | None:
    """The latest ``month``/``day`` not after the reference's date (checks leap years)."""
    ref_day = reference.date()
    for year in range(ref_day.year, ref_day.year - 9, -1):
        try:
            candidate = date(year, month, day)
        except ValueError:
            continue
        if candidate <= ref_day:
            return _day_span(year, month, day)
    return None


def _most_recent_month(month: int, reference: datetime) -> TimeSpan:
    year = reference.year if month <= reference.month else reference.year - 1
    return _calendar_span(year, month, "month")


def _expand_fiscal_year(match: re.Match[str], reference: datetime) -> int | None:
    """Fiscal year from a ``_FISCAL_YEAR`` match; two digits take the century nearest now."""
    long_form = match.group("fylong")
    if long_form is not None:
        return int(long_form)
    digits = match.group("fy")
    if digits is None:
        return None
    value = int(digits)
    if len(digits) == 4:
        return value if 1000 <= value <= 2999 else None
    century = reference.year // 100 * 100
    return min(
        (century - 100 + value, century + value, century + 100 + value),
        key=lambda y: abs(y - reference.year),
    )


# --- handlers: each turns one regex match into (span, relative) or rejects it ----------------


def _h_numeric_date(match: re.Match[str], ctx: _Context) -> _Resolved:
    year, month, day = (int(match.group(name)) for name in ("year", "mon", "day"))
    return _day_span(year, month, day), False


def _h_iso_month(match: re.Match[str], ctx: _Context) -> _Resolved:
    start = _month_start(int(match.group("year")), int(match.group("mon")))
    return TimeSpan.of(start, "month"), False


def _h_month_day_year(match: re.Match[str], ctx: _Context) -> _Resolved:
    year, day = int(match.group("year")), int(match.group("day"))
    return _day_span(year, _month_number(match.group("month")), day), False


def _h_month_day(match: re.Match[str], ctx: _Context) -> _Resolved:
    if not _month_word_ok(match, ctx):
        return None
    month, day = _month_number(match.group("month")), int(match.group("day"))
    return _most_recent_day(month, day, ctx.reference), True


def _h_month_year(match: re.Match[str], ctx: _Context) -> _Resolved:
    start = _month_start(int(match.group("year")), _month_number(match.group("month")))
    return TimeSpan.of(start, "month"), False


def _h_month_relative_year(match: re.Match[str], ctx: _Context) -> _Resolved:
    if not _month_word_ok(match, ctx):
        return None
    year = ctx.reference.year + _DIRECTIONS[match.group("dir").lower()]
    return _calendar_span(year, _month_number(match.group("month")), "month"), True


def _resolve_quarter(match: re.Match[str], ctx: _Context, quarter: int, fiscal: bool) -> _Resolved:
    """Quarter ``quarter`` of the year the match names, or the most recent one if none."""
    fiscal_year = _expand_fiscal_year(match, ctx.reference)
    year = match.group("year")
    if fiscal_year is None and fiscal and year is not None:
        fiscal_year = int(year)  # "fiscal third quarter 2024": the year is a fiscal year
    if fiscal_year is not None:
        return _fiscal_quarter_span(fiscal_year, quarter, ctx.fiscal_start), False
    if year is not None:
        return _calendar_span(int(year), 3 * quarter - 2, "quarter"), False
    if fiscal:
        fiscal_year, current = _fiscal_quarter_of(ctx.reference, ctx.fiscal_start)
        if quarter > current:
            fiscal_year -= 1
        return _fiscal_quarter_span(fiscal_year, quarter, ctx.fiscal_start), True
    current = (ctx.reference.month - 1) // 3 + 1
    year_i = ctx.reference.year if quarter <= current else ctx.reference.year - 1
    return _calendar_span(year_i, 3 * quarter - 2, "quarter"), True


def _h_quarter_code(match: re.Match[str], ctx: _Context) -> _Resolved:
    fiscal = bool(match.groupdict().get("fiscal"))
    return _resolve_quarter(match, ctx, int(match.group("q")), fiscal)


def _h_ordinal_quarter(match: re.Match[str], ctx: _Context) -> _Resolved:
    ordinal = match.group("ord").lower()
    has_year = match.group("year") is not None or match.group("fy") or match.group("fylong")
    if ordinal in ("last", "final") and not has_year:
        return None  # "the last quarter" alone means the most recent one, not Q4.
    fiscal = bool(match.group("fiscal1") or match.group("fiscal2"))
    return _resolve_quarter(match, ctx, _ORDINALS[ordinal], fiscal)


def _h_year_ordinal_quarter(match: re.Match[str], ctx: _Context) -> _Resolved:
    fiscal = bool(match.group("fy") or match.group("fylong"))
    return _resolve_quarter(match, ctx, _ORDINALS[match.group("ord")], fiscal)


def _h_fiscal_year(match: re.Match[str], ctx: _Context) -> _Resolved:
    fiscal_year = _expand_fiscal_year(match, ctx.reference)
    if fiscal_year is None:
        return None
    return _fiscal_year_span(fiscal_year, ctx.fiscal_start), False


def _h_year(match: re.Match[str], ctx: _Context) -> _Resolved:
    span = _year_span(int(match.group("year")))
    return None if span is None else (span, False)


def _h_day_word(match: re.Match[str], ctx: _Context) -> _Resolved:
    offset = {"today": 0, "yesterday": -1, "tomorrow": 1}[match.group("word").lower()]
    return TimeSpan.of(ctx.reference + timedelta(days=offset), "day"), True


def _week_span(moment: datetime) -> TimeSpan:
    monday = datetime(moment.year, moment.month, moment.day, tzinfo=UTC) - timedelta(
        days=moment.weekday()
    )
    return TimeSpan(monday, monday + timedelta(days=7), "day")


def _shifted_span(ctx: _Context, unit: str, offset: int, fiscal: bool) -> TimeSpan | None:
    """The ``unit`` containing the reference, moved by ``offset`` whole units."""
    ref = ctx.reference
    if unit == "year":
        if fiscal:
            return _fiscal_year_span(
                _fiscal_year_of(ref, ctx.fiscal_start) + offset, ctx.fiscal_start
            )
        return _year_span(ref.year + offset)
    if unit == "quarter":
        if fiscal:
            fiscal_year, quarter = _fiscal_quarter_of(ref, ctx.fiscal_start)
            fiscal_year, index = divmod(fiscal_year * 4 + quarter - 1 + offset, 4)
            return _fiscal_quarter_span(fiscal_year, index + 1, ctx.fiscal_start)
        first = 3 * ((ref.month - 1) // 3) + 1
        return _calendar_span(*_shift_month(ref.year, first, 3 * offset), "quarter")
    if fiscal:
        return None  # "fiscal month"/"fiscal week" have no agreed meaning.
    if unit == "month":
        return _calendar_span(*_shift_month(ref.year, ref.month, offset), "month")
    if unit == "week":
        return _week_span(ref + timedelta(days=7 * offset))
    return TimeSpan.of(ref + timedelta(days=offset), "day")


def _h_relative_unit(match: re.Match[str], ctx: _Context) -> _Resolved:
    offset = _DIRECTIONS[(match.group("dir") or match.group("dir2")).lower()]
    unit = match.group("unit").lower()
    try:
        span = _shifted_span(ctx, unit, offset, bool(match.group("fiscal")))
    except ValueError:
        return None
    return None if span is None else (span, True)


def _h_ago(match: re.Match[str], ctx: _Context) -> _Resolved:
    count_s = match.group("n").lower()
    count = _NUMBER_WORDS[count_s] if count_s in _NUMBER_WORDS else int(count_s)
    try:
        span = _shifted_span(ctx, match.group("unit").lower(), -count, fiscal=False)
    except (ValueError, OverflowError):
        return None
    return None if span is None else (span, True)


def _h_month_relative(match: re.Match[str], ctx: _Context) -> _Resolved:
    if not _original(match, ctx, "month")[0].isupper():
        return None
    month = _month_number(match.group("month"))
    ref = ctx.reference
    direction = match.group("dir").lower()
    if direction == "last":  # strictly before the reference month
        year = ref.year if month < ref.month else ref.year - 1
    elif direction == "next":  # strictly after the reference month
        year = ref.year if month > ref.month else ref.year + 1
    else:
        year = ref.year
    return _calendar_span(year, month, "month"), True


def _h_bare_month(match: re.Match[str], ctx: _Context) -> _Resolved:
    token = _original(match, ctx, "month")
    if not token[0].isupper():
        return None
    if token.lower() in _AMBIGUOUS_MONTH_WORDS:
        before = ctx.text[max(0, match.start() - 20) : match.start()]
        if not _MONTH_CONTEXT_RE.search(before):
            return None
    return _most_recent_month(_month_number(token), ctx.reference), True


_NUM = r"(?P<n>\d{1,3}|an?|one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve)"


@dataclass(frozen=True)
class _Rule:
    """One shape of time expression.

    Attributes:
        pattern: Matched with ``pattern.match(text, pos)`` at trigger positions only.
        handler: Turns a match into a span, a non-time claim, or a rejection.
        triggers: The ``_TRIGGER_RE`` groups a match of this rule can start with. Trying rules
            only where their first word occurs is what keeps a paragraph well under a
            millisecond; a rule whose triggers are incomplete silently misses matches.
    """

    pattern: re.Pattern[str]
    handler: _Handler
    triggers: frozenset[str]


def _rule(pattern: str, handler: _Handler, *triggers: str) -> _Rule:
    return _Rule(re.compile(pattern), handler, frozenset(triggers))


# Order matters only to break ties between equally long matches at the same offset.
_RULES: tuple[_Rule, ...] = (
    # 2021-03-05, 2021/3/5 (a trailing "T10:00" of an ISO instant is left alone)
    _rule(
        r"(?<![\w./-])(?P<year>[12]\d{3})(?P<sep>[-/])(?P<mon>1[0-2]|0?[1-9])(?P=sep)"
        r"(?P<day>3[01]|[12]\d|0?[1-9])(?!\d)(?![-/.]\d)",
        _h_numeric_date,
        "digit",
    ),
    # 03/05/2021 is US month/day/year
    _rule(
        r"(?<![\w./-])(?P<mon>1[0-2]|0?[1-9])/(?P<day>3[01]|[12]\d|0?[1-9])/"
        r"(?P<year>[12]\d{3})(?![\w/])(?![.,]\d)",
        _h_numeric_date,
        "digit",
    ),
    # 2021-03
    _rule(
        r"(?<![\w./-])(?P<year>[12]\d{3})-(?P<mon>0[1-9]|1[0-2])(?!\w)(?![-/.,]\d)",
        _h_iso_month,
        "digit",
    ),
    # March 5, 2021 / Dec. 15 2022 / March 5th, 2021
    _rule(rf"(?<!\w){_MONTH}\s+{_DAY}\s*,?\s*{_YEAR}", _h_month_day_year, "month"),
    # 5 March 2021 / the 15th of December, 2022
    _rule(
        rf"(?<![\w$.,])(?:the\s+)?{_DAY}\s+(?:of\s+)?{_MONTH}\s*,?\s*{_YEAR}",
        _h_month_day_year,
        "digit",
        "the",
    ),
    # March 5 / 5 March / the 15th of December (no year: most recent, relative)
    _rule(rf"(?<!\w){_MONTH}\s+{_DAY}", _h_month_day, "month"),
    _rule(rf"(?<![\w$.,])(?:the\s+)?{_DAY}\s+(?:of\s+)?{_MONTH}", _h_month_day, "digit", "the"),
    # March 2021 / Mar. 2021 / March of 2021 / March, 2021
    _rule(rf"(?<!\w){_MONTH}\s*,?\s*(?:of\s+)?{_YEAR}", _h_month_year, "month"),
    # March last year / March of next year
    _rule(
        rf"(?<!\w){_MONTH}\s*,?\s+(?:of\s+)?(?P<dir>last|this|next)\s+year(?!\w)",
        _h_month_relative_year,
        "month",
    ),
    # Q2 2023 / Q2 of 2023 / Q3 FY2024 / Q3 fiscal 2024 / fiscal Q3 2024 / Q3
    _rule(
        rf"(?<![\w$])(?P<fiscal>fiscal\s+)?q(?P<q>[1-4])(?!\w)"
        rf"(?:\s*[-,]?\s*(?:of\s+)?(?:{_FISCAL_YEAR}|{_YEAR})(?![-\s]*q[1-4]\b))?",
        _h_quarter_code,
        "q",
        "fiscal",
    ),
    # 2023 Q2 / 2023-Q2 / FY2024 Q3 / fiscal 2024 Q3
    _rule(
        rf"(?:(?<![\w$]){_FISCAL_YEAR}|{_YEAR})\s*[-,]?\s*q(?P<q>[1-4])(?!\w)",
        _h_quarter_code,
        "digit",
        "fiscal",
    ),
    # fiscal 2025 first quarter / 2024 second quarter / FY2024 third-quarter (the year first)
    _rule(
        rf"(?:(?<![\w$]){_FISCAL_YEAR}|{_YEAR})[\s-]+"
        r"(?P<ord>first|second|third|fourth|1st|2nd|3rd|4th)[\s-]+quarter(?!\w)",
        _h_year_ordinal_quarter,
        "digit",
        "fiscal",
    ),
    # the second quarter of 2023 / second-quarter 2023 / fiscal third quarter 2024 /
    # the third quarter of fiscal 2024 / the third fiscal quarter / the last quarter of 2023
    _rule(
        r"(?<!\w)(?:the\s+)?(?P<fiscal1>fiscal\s+)?"
        r"(?P<ord>first|second|third|fourth|1st|2nd|3rd|4th|last|final)[\s-]+"
        r"(?P<fiscal2>fiscal[\s-]+)?quarter(?!\w)"
        rf"(?:\s*,?\s*(?:of\s+)?(?:the\s+)?(?:(?<![\w$]){_FISCAL_YEAR}|{_YEAR}))?",
        _h_ordinal_quarter,
        "the",
        "fiscal",
        "ordinal",
        "direction",
        "digit",
    ),
    # fiscal 2024 / fiscal year 2024 / FY2024 / FY24
    _rule(rf"(?<![\w$]){_FISCAL_YEAR}", _h_fiscal_year, "fiscal"),
    # 2019 / the year 2019
    _rule(rf"(?<!\w)(?:(?:the\s+)?year\s+)?{_YEAR}", _h_year, "digit", "the", "year"),
    # today / yesterday / tomorrow
    _rule(r"(?<!\w)(?P<word>today|yesterday|tomorrow)(?!\w)", _h_day_word, "dayword"),
    # last year / this quarter / next month / last week / the previous year /
    # earlier this year / last fiscal year. "the last year" is excluded: it usually means
    # "the past twelve months" or "the final year", not the previous calendar year.
    _rule(
        r"(?<!\w)(?:(?:earlier|later)\s+(?=this\s))?"
        r"(?:(?<!the\s)(?P<dir>last|next|this)|(?:the\s+)?(?P<dir2>current|previous|prior))"
        r"\s+(?P<fiscal>fiscal\s+)?(?P<unit>year|quarter|month|week)(?!\w)",
        _h_relative_unit,
        "direction",
        "relative",
        "the",
    ),
    # two years ago / a month ago / 3 weeks ago / 10 days ago
    _rule(
        rf"(?<![\w$.,]){_NUM}\s+(?P<unit>day|week|month|quarter|year)s?\s+ago(?!\w)",
        _h_ago,
        "digit",
        "number",
    ),
    # last March / this June / next December
    _rule(
        rf"(?<!\w)(?P<dir>last|this|next)\s+(?P<month>{_FULL_MONTHS})(?!\w)",
        _h_month_relative,
        "direction",
    ),
    # March (no day, no year: most recent at or before the reference month)
    _rule(rf"(?<!\w)(?P<month>{_FULL_MONTHS})(?!\w)", _h_bare_month, "month"),
)

# Rules run on ASCII-lowercased text (same length, so offsets are shared with the original):
# case-sensitive patterns are several times faster than re.IGNORECASE, and capitalisation is
# read from the original where it matters.
_ASCII_FOLD = str.maketrans(string.ascii_uppercase, string.ascii_lowercase)
# The first word of every rule, by trigger name: (words, whether the word must end there).
# Month abbreviations and "fy" are prefixes ("march", "fy2024"); the rest are whole words.
_TRIGGER_WORDS: dict[str, tuple[tuple[str, ...], bool]] = {
    "month": (tuple(_MONTH_NUMBERS), False),
    "fiscal": (("fiscal", "fy"), False),
    "the": (("the",), True),
    "year": (("year",), True),
    "q": (("q1", "q2", "q3", "q4"), True),
    "ordinal": (("first", "second", "third", "fourth", "final"), True),
    "direction": (("last", "next", "this"), True),
    "relative": (("current", "previous", "prior", "earlier", "later"), True),
    "dayword": (("today", "yesterday", "tomorrow"), True),
    "number": (tuple(_NUMBER_WORDS), True),
}
_WORD_END = r"(?!\w)"
_TRIGGER_RE = re.compile(
    r"(?<!\w)(?:(?P<digit>\d)|"
    + "|".join(
        f"(?P<{name}>{'|'.join(words)}){_WORD_END if whole else ''}"
        for name, (words, whole) in _TRIGGER_WORDS.items()
    )
    + ")"
)
# Cheap first pass: word starts whose first character can begin a trigger. Starting with a
# character class lets the regex engine skip ahead in C instead of trying every offset.
_TRIGGER_INITIALS = "".join(sorted({w[0] for words, _ in _TRIGGER_WORDS.values() for w in words}))
_WORD_START_RE = re.compile(rf"[\d{_TRIGGER_INITIALS}](?<!\w\w)")
_RULES_BY_TRIGGER: dict[str, tuple[tuple[int, _Rule], ...]] = {
    trigger: tuple((rank, rule) for rank, rule in enumerate(_RULES) if trigger in rule.triggers)
    for trigger in _TRIGGER_RE.groupindex
}


def find_time_mentions(
    text: str, reference: datetime, *, fiscal_year_start_month: int = 1
) -> list[TimeMention]:
    """Find every time expression in ``text``, resolved against ``reference``.

    Overlapping candidates are settled longest-first ("March 5, 2021" beats "March 5" and
    "2021"), so the result is non-overlapping and ordered by position. Prepositions ("in 2019")
    are not part of a mention; :func:`parse_question_scope` interprets them.

    Args:
        text: Any English text, e.g. a document chunk.
        reference: The instant relative expressions are resolved against, normally the
            document's ``published_at``. Must be timezone-aware.
        fiscal_year_start_month: First month (1-12) of the fiscal year, for "FY2024",
            "Q3 FY2024", "fiscal third quarter 2024", "last fiscal year".

    Returns:
        The mentions in order of appearance.

    Raises:
        ValueError: If ``reference`` is naive or ``fiscal_year_start_month`` is not 1-12.
    """
    _check_fiscal_start(fiscal_year_start_month)
    ctx = _Context(text, _require_utc(reference, "reference"), fiscal_year_start_month)
    candidates: list[tuple[int, int, int, TimeSpan | None, bool]] = []
    folded = text.translate(_ASCII_FOLD)
    for word in _WORD_START_RE.finditer(folded):
        position = word.start()
        trigger = _TRIGGER_RE.match(folded, position)
        if trigger is None:
            continue
        for rank, rule in _RULES_BY_TRIGGER[trigger.lastgroup or ""]:
            match = rule.pattern.match(folded, position)
            if match is None:
                continue
            resolved = rule.handler(match, ctx)
            if resolved is not None:
                candidates.append((position, match.end(), rank, *resolved))
    candidates.sort(key=lambda c: (c[0] - c[1], c[0], c[2]))
    chosen: list[tuple[int, int, int, TimeSpan | None, bool]] = []
    # Characters already claimed by a longer mention: one lookup per candidate, over its own
    # length, instead of a comparison with every mention kept so far (quadratic in mentions).
    claimed = bytearray(len(text))
    for cand in candidates:
        start, end = cand[0], cand[1]
        if claimed.find(1, start, end) == -1:
            chosen.append(cand)
            claimed[start:end] = b"\x01" * (end - start)
    chosen.sort(key=lambda c: c[0])
    return [
        TimeMention(span=span, text=text[start:end], start_char=start, end_char=end, relative=rel)
        for start, end, _rank, span, rel in chosen
        if span is not None
    ]


# --- question scope -------------------------------------------------------------------------


@dataclass(frozen=True)
class QuestionScope:
    """The time scope a question asks about.

    Attributes:
        kind: "none" (no time expression), "at" (within a period), "range" (between two
            periods), "before", "after", or "as_of" (what was known by a moment).
        start: Valid-time window start (inclusive), or None when unbounded.
        end: Valid-time window end (exclusive), or None when unbounded.
        as_of: Known-time cutoff, set only for "as of"/"as at" phrasing. It is the last
            microsecond of the period, so "as of December 22, 2021" admits documents
            published during that day.
        expression: The text that was understood, including its preposition
            ("in March 2021"), or None.
        question: The question with that expression removed and the punctuation it leaves
            behind tidied; the original question when kind is "none".
    """

    kind: ScopeKind
    start: datetime | None
    end: datetime | None
    as_of: datetime | None
    expression: str | None
    question: str


_PREFIX_RE = re.compile(
    r"(?:(?<!\w)(?P<prep>as\s+of|as\s+at|prior\s+to|up\s+(?:to|until)|until|till|throughout"
    r"|through|thru|before|after|since|during|within|between|from|in|on|at|by|for)\s+)?"
    r"(?P<mod>(?<!\w)(?:the\s+)?(?:very\s+)?(?P<edge>start|beginning|end|close|middle)\s+of\s+"
    r"|(?<!\w)(?:early|mid|late)(?:\s+|-)|)$",
    re.IGNORECASE,
)
_RANGE_GAP_RE = re.compile(
    r"\s*,?\s*(?P<conj>and|or|to|through|thru|until|till|-|–|—)\s*"
    r"(?P<mod>(?:the\s+)?(?:very\s+)?(?P<edge>start|beginning|end|close)\s+of\s+)?",
    re.IGNORECASE,
)
_AT_PREPS = frozenset({"in", "on", "at", "during", "within", "throughout", "for"})
_UNTIL_PREPS = frozenset({"until", "till", "through", "thru", "up to", "up until", "by"})
_TO_CONJS = frozenset({"to", "through", "thru", "until", "till", "-", "–", "—"})


def _edge_span(span: TimeSpan, edge: str | None) -> tuple[datetime, datetime]:
    """Narrow a span to its first/last microsecond for "the start/end of X"."""
    if edge is None:
        return span.start, span.end
    edge = edge.lower()
    if edge in ("start", "beginning"):
        return span.start, span.start + _MICROSECOND
    if edge in ("end", "close"):
        return span.end - _MICROSECOND, span.end
    return span.start, span.end


def _normalise_prep(prep: str | None) -> str | None:
    return None if prep is None else " ".join(prep.lower().split())


def _range_partner(
    question: str, first: TimeMention, second: TimeMention | None, prep: str | None
) -> tuple[re.Match[str], TimeMention] | None:
    """The second end of "between X and Y" / "from X to Y" / "X-Y", if the words form one."""
    if second is None:
        return None
    gap = _RANGE_GAP_RE.fullmatch(question, first.end_char, second.start_char)
    if gap is None:
        return None
    conj = gap.group("conj").lower()
    if prep == "between":
        ok = conj in ("and", "-", "–", "—")
    elif prep == "from" or prep is None:
        ok = conj in _TO_CONJS
    elif prep in _AT_PREPS:
        ok = conj in _TO_CONJS or conj in ("and", "or")
    else:
        ok = False
    return (gap, second) if ok else None


@dataclass(frozen=True)
class _Reading:
    """How the words around one mention frame it."""

    mention: TimeMention
    prep: str | None  # normalised preposition before it ("as of", "in", ...), if any
    edge: str | None  # "start"/"end"/... from "the end of X", if any
    expr_start: int  # where the understood expression begins (preposition included)
    partner: tuple[re.Match[str], TimeMention] | None  # the other end of a range

    @property
    def introduced(self) -> bool:
        """Whether a preposition or a range marks this mention as the question's scope."""
        return self.prep is not None or self.partner is not None


def _read(question: str, mentions: list[TimeMention], index: int) -> _Reading:
    mention = mentions[index]
    # Prepositions and modifiers are short; a bounded window keeps the search cheap.
    prefix = _PREFIX_RE.search(question, max(0, mention.start_char - 40), mention.start_char)
    prep = edge = None
    expr_start = mention.start_char
    if prefix is not None and prefix.group(0):
        prep = _normalise_prep(prefix.group("prep"))
        edge = prefix.group("edge")
        expr_start = prefix.start()
    following = mentions[index + 1] if index + 1 < len(mentions) else None
    partner = _range_partner(question, mention, following, prep)
    return _Reading(mention, prep, edge, expr_start, partner)


def _tidy(question: str, start: int, end: int) -> str:
    """Remove ``question[start:end]`` and the commas/spaces/brackets it would strand."""
    text = f"{question[:start]} {question[end:]}"
    text = re.sub(r"\(\s*\)", " ", text)
    text = re.sub(r"\s+", " ", text)
    text = re.sub(r"\s+([?.!,;:])", r"\1", text)
    text = re.sub(r",(?:\s*,)+", ",", text)
    text = re.sub(r",([?.!;:])", r"\1", text)
    return text.strip(" ,;:")


def parse_question_scope(
    question: str, now: datetime, *, fiscal_year_start_month: int = 1
) -> QuestionScope:
    """Work out which period a question is about, and remove it from the question.

    The first time expression introduced by a preposition (or forming a range) is used; if
    none has one, the first expression is. The preposition decides the kind:

    * "as of X" / "as at X": kind "as_of", ``as_of`` = last microsecond of X, ``end`` = X.end.
    * "in/during/on/at/for/within X" or a bare "X": kind "at", window X.
    * "before/prior to X": kind "before", ``end`` = X.start; "until/till/through/by X":
      ``end`` = X.end.
    * "after X": kind "after", ``start`` = X.end; "since/from X": ``start`` = X.start.
    * "between X and Y", "from X to Y", "X-Y", "in X and Y": kind "range" covering both.
    * "the start/beginning of X" and "the end/close of X" narrow X to its first/last
      microsecond before the preposition applies; "early/mid/late X" keep all of X.

    Args:
        question: The user's question.
        now: The instant relative phrases ("last year") are resolved against. Must be aware.
        fiscal_year_start_month: First month (1-12) of the fiscal year.

    Returns:
        The scope; kind "none" with the question unchanged when there is no time expression.

    Raises:
        ValueError: If ``now`` is naive or ``fiscal_year_start_month`` is not 1-12.
    """
    mentions = find_time_mentions(question, now, fiscal_year_start_month=fiscal_year_start_month)
    if not mentions:
        return QuestionScope("none", None, None, None, None, question)
    readings = (_read(question, mentions, index) for index in range(len(mentions)))
    reading = next((r for r in readings if r.introduced), None) or _read(question, mentions, 0)

    start, end = _edge_span(reading.mention.span, reading.edge)
    prep = reading.prep
    kind: ScopeKind
    window: tuple[datetime | None, datetime | None, datetime | None]  # start, end, as_of
    if reading.partner is not None:
        gap, second = reading.partner
        start2, end2 = _edge_span(second.span, gap.group("edge"))
        expr_end = second.end_char
        kind, window = "range", (min(start, start2), max(end, end2), None)
    else:
        expr_end = reading.mention.end_char
        if prep in ("as of", "as at"):
            kind, window = "as_of", (None, end, end - _MICROSECOND)
        elif prep in ("before", "prior to"):
            kind, window = "before", (None, start, None)
        elif prep in _UNTIL_PREPS:
            kind, window = "before", (None, end, None)
        elif prep == "after":
            kind, window = "after", (end, None, None)
        elif prep in ("since", "from"):
            kind, window = "after", (start, None, None)
        else:
            kind, window = "at", (start, end, None)
    return QuestionScope(
        kind=kind,
        start=window[0],
        end=window[1],
        as_of=window[2],
        expression=question[reading.expr_start : expr_end],
        question=_tidy(question, reading.expr_start, expr_end),
    )
