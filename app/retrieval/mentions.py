"""Named mentions in a question, and whether a passage speaks of them.

Names are the most selective part of a question ("What team does Jane Doe play for?"), so
retrieval searches them on their own, and answers are taken from passages that mention them.
"""

from __future__ import annotations

import re

_AUX = frozenset(
    [
        "is",
        "are",
        "was",
        "were",
        "does",
        "do",
        "did",
        "has",
        "have",
        "had",
        "can",
        "could",
        "will",
        "would",
        "should",
    ]
)
_QWORDS = frozenset(["who", "what", "which", "when", "where", "whom", "whose", "how", "why"])
_LEADING = (
    _AUX
    | _QWORDS
    | frozenset(
        [
            "the",
            "as",
            "in",
            "on",
            "a",
            "an",
            "at",
            "after",
            "before",
            "he",
            "she",
            "they",
            "it",
            "its",
            "his",
            "her",
            "their",
            "this",
            "that",
            "these",
            "those",
            "but",
            "and",
            "however",
            "when",
            "while",
            "following",
            "last",
            "former",
            "new",
            "then",
            "also",
            "there",
            "here",
            "by",
            "for",
            "from",
            "with",
            "under",
            "over",
            "during",
            "since",
            "until",
            "according",
            "meanwhile",
        ]
    )
)
_NOT_NAMES = frozenset(
    [
        "monday",
        "tuesday",
        "wednesday",
        "thursday",
        "friday",
        "saturday",
        "sunday",
        "january",
        "february",
        "march",
        "april",
        "may",
        "june",
        "july",
        "august",
        "september",
        "october",
        "november",
        "december",
        "i",
        "we",
        "you",
        "mr",
        "mrs",
        "ms",
        "dr",
    ]
)
_CAP_SPAN = re.compile(
    r"(?:[A-Z][\w.'’&-]*|\d+[\w.]*)(?:\s+(?:(?:of|the|for|and|de|du|von|van|da|di|&)\s+)*"
    r"(?:[A-Z][\w.'’&-]*|\d+[\w.]*))*"
)
_WORD = re.compile(r"[^\W_]+")
_STOP = frozenset(
    [
        "a",
        "an",
        "the",
        "of",
        "in",
        "on",
        "at",
        "to",
        "for",
        "by",
        "with",
        "and",
        "or",
        "is",
        "are",
        "was",
        "were",
        "be",
        "been",
        "de",
        "du",
        "von",
        "van",
        "da",
        "di",
        "f.c",
        "fc",
    ]
)


def is_yes_no(question: str) -> bool:
    words = question.strip().split(maxsplit=1)
    return bool(words) and words[0].lower() in _AUX


def question_mentions(question: str) -> list[str]:
    """Capitalised spans of a question, minus question words: candidates for entity linking."""
    spans = []
    for m in _CAP_SPAN.finditer(question):
        words = m.group(0).split()
        while words and words[0].lower() in _LEADING:
            words = words[1:]
        while words and words[-1].casefold().strip(".,") in _NOT_NAMES:
            words = words[:-1]
        span = " ".join(words).rstrip("?.,;:")
        if span and span.casefold() not in _NOT_NAMES:
            spans.append(span)
    return spans


def name_tokens(text: str) -> set[str]:
    """Content words of a name or passage, casefolded (accents kept)."""
    return {w.casefold() for w in _WORD.findall(text)} - _STOP


def mentions_in(passage: str, mention: str, *, threshold: float = 0.6) -> bool:
    """Whether a passage speaks of a name: most of its content words appear.

    A person is also found by surname alone ("Kowalczyk said…"): for names of two or three
    words the last one suffices when the passage writes it capitalised as a name, so "group"
    in "the shipping group" does not stand for "Tarrow Mining Group".
    """
    toks = name_tokens(mention)
    if not toks:
        return False
    passage_tokens = name_tokens(passage)
    if len(toks & passage_tokens) / len(toks) >= threshold:
        return True
    words = mention.split()
    if not 2 <= len(words) <= 3:
        return False
    last = words[-1]
    if not last[:1].isupper():
        return False
    return any(
        not m.group(0).islower()
        for m in re.finditer(rf"\b{re.escape(last)}\b", passage, flags=re.IGNORECASE)
    )
