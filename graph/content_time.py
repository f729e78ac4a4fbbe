"""Content time: the periods a passage is about (valid time), as opposed to when it was published.

A chunk's content time comes, in order of trust, from the time expressions in its own text
(resolved against the document's ``published_at``), from the document's own reporting period
(read from its title or opening lines: "Q2 2024 Earnings Call", "Annual report 2023"), from
the span of times its document states elsewhere (a biography's untimed paragraph is about some
part of its subject's life), and at last from the publication day (news that states no time
reports what just happened). Readers filter a question's
valid-time window against this, never against publication time.

Every rule below is a named entry with an invented example that is also its test
(``tests/unit/test_content_time.py``).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from graph.timeparse import Granularity, TimeMention, TimeSpan, find_time_mentions

__all__ = [
    "CONTENT_RULES",
    "StatedPeriod",
    "stated_periods",
    "ContentTime",
    "chunk_content_time",
    "content_fit",
    "document_period",
    "inherit_untimed",
    "node_labels",
    "overlap_fit",
    "split_window",
]

Source = Literal["text", "document", "inherited", "published"]

#: A chunk keeps at most this many periods (a table of 200 dates is about its whole range).
MAX_SPANS = 24
#: At most this many time nodes are linked from one chunk.
MAX_NODES = 48
#: How far into a document its opening lines reach when looking for its reporting period.
OPENING_CHARS = 400


@dataclass(frozen=True)
class ContentRule:
    """One way of reading a passage's time, with an invented sentence that shows it."""

    name: str
    pattern: re.Pattern[str]
    example: str
    expect: tuple[str, ...]
    """Labels of the periods ``example`` is about (``TimeSpan.label``, ranges as "A/B")."""


def _rule(name: str, pattern: str, example: str, *expect: str) -> ContentRule:
    return ContentRule(name, re.compile(pattern, re.IGNORECASE), example, expect)


#: Words that mark a title or opening line as naming the period the document reports on.
REPORT_WORDS = _rule(
    "report-words",
    r"(?<!\w)(?:results?|reports?|reporting|earnings|calls?|conference|review|accounts|"
    r"statements?|outlook|update|recap|summary|briefing|filing|letter|presentation|"
    r"shareholders?|investors?|annual|quarterly|interim)(?!\w)",
    "Harlow Mills second quarter 2024 earnings call",
    "2024-Q2",
)

#: "from 2003 to 2005", "between March 2019 and June 2020", "2011-2014": one span over both.
RANGE_GAP = _rule(
    "range",
    r"\s*(?:-|–|—|to|until|till|through|thru|and)\s*$",
    "Ilse Varga coached the side from 2003 to 2005.",
    "2003/2005",
)
RANGE_OPENERS = re.compile(r"(?<!\w)(?:from|between)\s+$", re.IGNORECASE)
DASH_GAP = re.compile(r"\s*[-–—]\s*$")

#: "since 2019", "as of 2020 onwards": open to the publication day.
SINCE = _rule(
    "since",
    r"(?<!\w)(?:since|from)\s+$",
    "Tova Reyes has chaired the trust since 2019.",
    "2019/2024",
)

#: "Two years later she left": a span counted from the previous period in the text.
LATER = _rule(
    "later",
    r"(?<![\w$.,])(?P<n>\d{1,2}|an?|one|two|three|four|five|six|seven|eight|nine|ten)\s+"
    r"(?P<unit>year|month)s?\s+(?:later|after(?:wards?)?)(?!\w)",
    "Odo Lind joined Carrow Bank in 2011. Two years later he left for Pellam Trust.",
    "2011",
    "2013",
)

#: "the second quarter" with no year, inside a document that reports on fiscal 2024: that year.
YEARLESS_QUARTER = _rule(
    "yearless-quarter",
    r"^(?:the\s+)?(?:fiscal\s+)?(?:(?:first|second|third|fourth|1st|2nd|3rd|4th)"
    r"[\s-]+(?:fiscal[\s-]+)?quarter|q[1-4])$",
    "Ferro Tools Q3 2024 results. Sales in the second quarter had been weaker.",
    "2024-Q3",
    "2024-Q2",
)

CONTENT_RULES: tuple[ContentRule, ...] = (REPORT_WORDS, RANGE_GAP, SINCE, LATER, YEARLESS_QUARTER)

_NUMBER_WORDS = {
    "a": 1,
    "an": 1,
    "one": 1,
    "two": 2,
    "three": 3,
    "four": 4,
    "five": 5,
    "six": 6,
    "seven": 7,
    "eight": 8,
    "nine": 9,
    "ten": 10,
}
_EPSILON = timedelta(seconds=1)
_LEVEL: dict[Granularity, int] = {"day": 0, "month": 1, "quarter": 2, "year": 3}


@dataclass(frozen=True)
class ContentTime:
    """The periods a chunk is about, and where they came from."""

    spans: tuple[TimeSpan, ...]
    source: Source
    frame: TimeSpan | None = None
    """The document's own reporting period, when it names one (also among ``spans``)."""

    @property
    def start(self) -> datetime:
        return min(s.start for s in self.spans)

    @property
    def end(self) -> datetime:
        return max(s.end for s in self.spans)

    def labels(self) -> list[str]:
        return [span_label(s) for s in self.spans]


def span_label(span: TimeSpan) -> str:
    """The calendar label of a whole period, "A/B" for a span over several."""
    whole = TimeSpan.of(span.start, span.granularity)
    if whole.end == span.end:
        return whole.label
    last = TimeSpan.of(span.end.replace(microsecond=0) - _EPSILON, span.granularity)
    return f"{whole.label}/{last.label}"


def _mentions(text: str, reference: datetime, fiscal_start: int) -> list[TimeMention]:
    return find_time_mentions(text, reference, fiscal_year_start_month=fiscal_start)


def document_period(
    title: str | None, text: str, published_at: datetime, *, fiscal_start: int = 1
) -> TimeSpan | None:
    """The period a document reports on, if its title or opening lines name one.

    A year, quarter or fiscal period in the title next to a report word ("Q2 2024 Earnings
    Call", "Annual report 2023"), else the first such period in the opening lines ("Welcome
    to our third quarter fiscal 2024 results call"). A dated headline without a report word
    ("Brenn signs until 2027") is not a reporting period.
    """
    for part in (title or "", text[:OPENING_CHARS]):
        if not part or not REPORT_WORDS.pattern.search(part):
            continue
        for m in _mentions(part, published_at, fiscal_start):
            if m.span.granularity in ("quarter", "year") and not m.relative:
                return m.span
    return None


@dataclass(frozen=True)
class StatedPeriod:
    """A period a text states: one time mention, or two the text joins into a range."""

    span: TimeSpan
    start_char: int
    end_char: int
    joined: bool


def stated_periods(text: str, mentions: Sequence[TimeMention]) -> list[StatedPeriod]:
    """The mentions of ``text``, two joined into one period where the text says so.

    The one reading of ranges for chunks, questions and answers (`RANGE_GAP`): "from 2003 to
    2005", "between March 2019 and June 2020" and "2011-2014" are one period each; "in 2019
    and 2021" stays two.
    """
    out: list[StatedPeriod] = []
    i = 0
    while i < len(mentions):
        m = mentions[i]
        if i + 1 < len(mentions):
            nxt = mentions[i + 1]
            gap = text[m.end_char : nxt.start_char]
            before = text[max(0, m.start_char - 12) : m.start_char]
            joined = RANGE_GAP.pattern.fullmatch(gap) and (
                RANGE_OPENERS.search(before) or DASH_GAP.fullmatch(gap)
            )
            if joined and nxt.span.end > m.span.start:
                out.append(StatedPeriod(_join(m.span, nxt.span), m.start_char, nxt.end_char, True))
                i += 2
                continue
        out.append(StatedPeriod(m.span, m.start_char, m.end_char, False))
        i += 1
    return out


def _range_spans(
    text: str, mentions: Sequence[TimeMention], published_at: datetime
) -> list[TimeSpan]:
    """`stated_periods`, with "since X" opened to publication."""
    spans: list[TimeSpan] = []
    for p in stated_periods(text, mentions):
        before = text[max(0, p.start_char - 12) : p.start_char]
        if not p.joined and SINCE.pattern.search(before) and p.span.start < published_at:
            spans.append(_join(p.span, TimeSpan.of(published_at, "day")))
        else:
            spans.append(p.span)
    return spans


def _join(first: TimeSpan, last: TimeSpan) -> TimeSpan:
    coarser = first if _LEVEL[first.granularity] >= _LEVEL[last.granularity] else last
    return TimeSpan(first.start, max(first.end, last.end), coarser.granularity)


def _later_spans(text: str, anchors: Sequence[TimeMention]) -> list[TimeSpan]:
    """ "N years later": the previous mention's start moved on by N units."""
    out: list[TimeSpan] = []
    for match in LATER.pattern.finditer(text):
        previous = [a for a in anchors if a.end_char <= match.start()]
        if not previous:
            continue
        base = previous[-1].span
        raw = match.group("n").lower()
        n = int(raw) if raw.isdigit() else _NUMBER_WORDS[raw]
        months = n * (12 if match.group("unit").lower() == "year" else 1)
        total = base.start.year * 12 + base.start.month - 1 + months
        try:
            moved = base.start.replace(year=total // 12, month=total % 12 + 1, day=1)
        except ValueError:
            continue
        unit: Granularity = "year" if match.group("unit").lower() == "year" else "month"
        out.append(TimeSpan.of(moved, unit))
    return out


def _in_frame(mention: TimeMention, frame: TimeSpan | None) -> TimeSpan:
    """A year-less quarter ("the second quarter") takes the year of the document's period."""
    if frame is None or not mention.relative:
        return mention.span
    if not YEARLESS_QUARTER.pattern.fullmatch(mention.text.strip()):
        return mention.span
    span = mention.span
    # The quarter's position in its year is kept; only the year is the document's.
    shift = frame.start.year - span.start.year
    try:
        return TimeSpan(
            span.start.replace(year=span.start.year + shift),
            span.end.replace(year=span.end.year + shift),
            span.granularity,
        )
    except ValueError:
        return span


def chunk_content_time(
    text: str,
    published_at: datetime,
    frame: TimeSpan | None = None,
    *,
    fiscal_start: int = 1,
) -> ContentTime:
    """The periods ``text`` is about.

    Its own time expressions (ranges joined, "N years later" counted on), plus the document's
    reporting period ``frame`` when it has one; with neither, the publication day.
    """
    mentions = _mentions(text, published_at, fiscal_start)
    framed = [
        TimeMention(_in_frame(m, frame), m.text, m.start_char, m.end_char, m.relative)
        for m in mentions
    ]
    spans = _range_spans(text, framed, published_at) + _later_spans(text, framed)
    source: Source = "text"
    if frame is not None:
        spans.append(frame)
        if not mentions:
            source = "document"
    if not spans:
        return ContentTime((TimeSpan.of(published_at, "day"),), "published")
    unique = sorted(set(spans), key=lambda s: (s.start, s.end))
    if len(unique) > MAX_SPANS:
        # Too many to list: the whole range they cover, at year granularity.
        unique = [TimeSpan(unique[0].start, max(s.end for s in unique), "year")]
    return ContentTime(tuple(unique), source, frame)


def inherit_untimed(contents: Sequence[ContentTime]) -> list[ContentTime]:
    """Chunks that state no time are about the span of times their document states.

    "She later moved to the coast and opened a bakery." in a life story that runs from 1931 to
    1988 is about some part of 1931–1988, not about the day the page was saved; with the
    publication day as its time, a question about 1960 could never see it. The inherited span
    is wide, so a window admits the chunk while it ranks under passages that name the period
    asked (``content_fit``), and it links to no time node (the period view lists what is
    known to be about a period). A document that states no time at all keeps the publication
    day: news reports what just happened.
    """
    stated = [s for c in contents if c.source != "published" for s in c.spans]
    if not stated:
        return list(contents)
    hull = TimeSpan(min(s.start for s in stated), max(s.end for s in stated), "year")
    return [ContentTime((hull,), "inherited") if c.source == "published" else c for c in contents]


def node_labels(spans: Sequence[TimeSpan]) -> list[str]:
    """Time-hierarchy nodes the spans are about: each whole period with its ancestors, and for
    a span over several periods the years it covers (TG-RAG's chunk-to-time-node links)."""
    nodes: dict[str, None] = {}
    for span in spans:
        whole = TimeSpan.of(span.start, span.granularity)
        if whole.end == span.end:
            for node in (whole, *whole.ancestors()):
                nodes[node.label] = None
            continue
        year = span.start.year
        while year < span.end.year or (year == span.end.year and span.end.month > 1):
            nodes[f"{year:04d}"] = None
            year += 1
            if len(nodes) >= MAX_NODES:
                break
    return list(nodes)[:MAX_NODES]


#: A document that names its own period (a quarterly report) is about it first; the other
#: periods it mentions (comparisons, guidance) count for this much of a match.
MENTION_DISCOUNT = 0.5


def content_fit(
    spans: Sequence[tuple[float, float]],
    frame: tuple[float, float] | None,
    start: float,
    end: float,
) -> float:
    """How well a chunk's content time matches a window, its document's own period first.

    In "Q1 2024 results ... we expect the second quarter to be softer", the chunk is about the
    first quarter and only mentions the second, so for a window on the second it fits at
    ``MENTION_DISCOUNT`` of a chunk from the second quarter's own report.
    """
    if frame is None:
        return overlap_fit(spans, start, end)
    others = [s for s in spans if s != frame]
    return max(overlap_fit([frame], start, end), MENTION_DISCOUNT * overlap_fit(others, start, end))


def overlap_fit(spans: Sequence[tuple[float, float]], start: float, end: float) -> float:
    """How well the best of ``spans`` matches the window [start, end): intersection over union.

    1.0 for the very period asked, small for a decade-long span that merely touches it, 0 for
    no overlap. Timestamps in seconds.
    """
    best = 0.0
    for s, e in spans:
        inter = min(e, end) - max(s, start)
        if inter <= 0:
            continue
        union = max(e, end) - min(s, start)
        best = max(best, inter / union if union > 0 else 1.0)
    return best


#: Units a question can ask "each"/"every"/"per" of, finest last.
EACH_UNIT = re.compile(
    r"(?<!\w)(?:each|every|per|by)\s+(?:single\s+)?(?P<unit>year|quarter|month)(?!\w)",
    re.IGNORECASE,
)
MAX_PERIODS = 8


def split_window(
    question: str, start: datetime | None, end: datetime | None, now: datetime
) -> list[TimeSpan]:
    """The periods a question asks about one by one ("in each quarter after 2024 Q1").

    Empty unless the question says each/every/per unit; at most ``MAX_PERIODS``, the earliest
    first, an open end closed at ``now``.
    """
    match = EACH_UNIT.search(question)
    if match is None or start is None:
        return []
    unit: Granularity = match.group("unit").lower()  # type: ignore[assignment]
    stop = end or now
    out: list[TimeSpan] = []
    cursor = TimeSpan.of(start, unit)
    while cursor.start < stop and len(out) < MAX_PERIODS:
        out.append(cursor)
        cursor = TimeSpan.of(cursor.end, unit)
    return out
