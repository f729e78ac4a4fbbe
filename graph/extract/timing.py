"""Step 5: time attachment, from the time mentions of a fact's clause to its valid_from/valid_to.

All normalisation of dates happens in `graph.timeparse`; this step only decides which mention
of the clause belongs to which end of a fact. A mention marked "since"/"from" is a start, one
marked "until" an end; an unmarked one starts an event ("was appointed in 2019") or ends an
ended one ("stepped down in 2021"). Stative statements ("X is the CEO of Y") take only marked
times, since "X, CEO of Y, said on Monday" dates the speaking, not the role.

A scheduled change ("will step down as chair in March", published in January) is resolved
forward: `graph.timeparse` reads a bare "March" as the most recent one, which for an
announcement is the wrong way, so such a relative mention lying wholly before the reference
moves to its next occurrence.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta

from graph.extract.model import Draft
from graph.extract.sentence import Sentence
from graph.timeparse import TimeMention, TimeSpan

__all__ = ["assign_times"]

_FROM_MARK = re.compile(r"(?:since|from|effective|starting|beginning|as\sof|between)\s$")
_TO_MARK = re.compile(r"(?:until|till|through|to|and|ending)\s$")
_UNTIL_MARK = re.compile(r"(?:until|till|through)\s$")
# Relative mentions that say which way they point; only the others ("March", "on Monday",
# "5 June") are resolved backwards by default and may be moved forward.
_DIRECTED = re.compile(r"\b(?:last|past|previous|ago|yesterday|earlier|this|next|coming)\b", re.I)
_WEEKDAY = re.compile(r"\b(?:mon|tues|wednes|thurs|fri|satur|sun)day\b", re.I)


def _forward(mention: TimeMention, reference: datetime) -> TimeSpan:
    """The next occurrence of a bare relative mention that lies before ``reference``."""
    span = mention.span
    if not mention.relative or span.end > reference or _DIRECTED.search(mention.text):
        return span
    if span.granularity not in {"day", "month"}:
        return span
    if _WEEKDAY.search(mention.text):
        return TimeSpan.of(span.start + timedelta(days=7), span.granularity)
    try:
        return TimeSpan.of(span.start.replace(year=span.start.year + 1), span.granularity)
    except ValueError:  # 29 February: no next-year counterpart, keep what the text said
        return span


def assign_times(sentence: Sentence, draft: Draft, reference: datetime) -> None:
    """Set ``draft.valid_from``/``valid_to`` from the mentions inside its clause window."""
    marked_from: list[tuple[int, TimeMention]] = []
    marked_to: list[tuple[int, TimeMention]] = []
    plain: list[tuple[int, TimeMention]] = []
    for position, mention in sentence.times:
        if not draft.left <= position < draft.right:
            continue
        before = sentence.reduced[max(0, position - 20) : position]
        if _FROM_MARK.search(before):
            marked_from.append((position, mention))
        elif _TO_MARK.search(before) and (marked_from or _UNTIL_MARK.search(before)):
            marked_to.append((position, mention))
        else:
            plain.append((position, mention))

    def nearest(candidates: list[tuple[int, TimeMention]]) -> TimeSpan | None:
        if not candidates:
            return None
        mention = min(candidates, key=lambda c: (abs(c[0] - draft.anchor), c[0]))[1]
        return _forward(mention, reference) if draft.future else mention.span

    start, end, other = nearest(marked_from), nearest(marked_to), nearest(plain)
    if draft.mode == "state":
        draft.valid_from, draft.valid_to = start, end
    elif draft.negated:
        draft.valid_from, draft.valid_to = start, end or other
    else:
        draft.valid_from, draft.valid_to = start or other, end
