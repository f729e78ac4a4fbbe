"""Named mentions in a question, and whether a passage speaks of them.

Names are the most selective part of a question ("What team does Jane Doe play for?"), so
retrieval searches them on their own, and answers are taken from passages that mention them.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from functools import lru_cache

from app.retrieval.lexicon import (
    ARTICLES,
    AUXILIARIES,
    CONJUNCTIONS,
    COPULAS,
    DEMONSTRATIVES,
    HONORIFICS,
    LEGAL_FORMS,
    MONTHS,
    NAME_PARTICLES,
    PERSONAL_PRONOUNS,
    POSSESSIVES,
    PREPOSITIONS,
    QUESTION_WORDS,
    REQUEST_VERBS,
    WEEKDAYS,
)
from graph.extract.vocabulary import load_vocabulary
from graph.text import wordset
from graph.timeparse import find_time_mentions

_LEADING = (
    AUXILIARIES
    | QUESTION_WORDS
    | ARTICLES
    | POSSESSIVES
    | DEMONSTRATIVES
    | PERSONAL_PRONOUNS
    | PREPOSITIONS
    | CONJUNCTIONS
    | wordset(
        """as after before but however when while following last former new then also there
        here under over during since until according meanwhile"""
    )
    # Imperatives that open a request ("Compare Orvane Labs and ...", "List the ...").
    | REQUEST_VERBS
    | wordset("compare show describe summarise summarize explain rank please")
)
_NOT_NAMES = WEEKDAYS | MONTHS | HONORIFICS | wordset("i we you")
_JOINERS = "|".join(sorted(NAME_PARTICLES | wordset("of the for and"))) + "|&"
_CAP_SPAN = re.compile(
    rf"(?:[A-Z][\w.'’&-]*|\d+[\w.]*)(?:\s+(?:(?:{_JOINERS})\s+)*"
    r"(?:[A-Z][\w.'’&-]*|\d+[\w.]*))*"
)
WORD = re.compile(r"[^\W_]+")
_WORD_BEFORE = re.compile(r"([^\W\d_][\w'’-]*)\s+$")  # the word just before a position
_WORD_AFTER = re.compile(r"\s+([^\W\d_][\w'’-]*)")
_DOTTED = re.compile(r"\b(?:[^\W\d_]\.)+[^\W\d_]\b\.?")
# Club suffixes ("Marsh Vale United F.C.") and legal forms ("Orvane Labs, Inc.") say nothing about
# which club or company a name is.
_STOP = (
    ARTICLES
    | PREPOSITIONS
    | CONJUNCTIONS
    | COPULAS
    | NAME_PARTICLES
    | LEGAL_FORMS
    | wordset("fc afc")
)


_NOT_OTHER_NAME = _LEADING | _NOT_NAMES | _STOP


def is_yes_no(question: str) -> bool:
    words = question.strip().split(maxsplit=1)
    return bool(words) and words[0].lower() in AUXILIARIES


#: What comes just before the last item of a list: "A, B and C", "between A and B".
_LIST_BEFORE = re.compile(r"(?:,\s*|(?<!\w)between\s+)$", re.IGNORECASE)


# Only the positions of time expressions are used, so any reference instant will do.
_ANY_REFERENCE = datetime(2000, 1, 1, tzinfo=UTC)
_LETTER = re.compile(r"[^\W\d_]")


def without_times(text: str) -> str:
    """``text`` with every time expression blanked (same length, so offsets stay).

    A date is not a name: "What did Orvane Labs report in Q3 2024?" names Orvane Labs only,
    and "in 2024-q2" must not become the names "2024" and "2".
    """
    out = list(text)
    for found in find_time_mentions(text, _ANY_REFERENCE):
        out[found.start_char : found.end_char] = " " * (found.end_char - found.start_char)
    return "".join(out)


def question_mentions(question: str) -> list[str]:
    """Capitalised spans of a question, minus question words and dates: candidates for
    entity linking.

    Lists are read as lists: "among Orvane Labs, Inc., Tesk Holdings and Brindle Co" gives
    three names (a legal form after a comma belongs to the name before it; "X and Y" is split
    where it ends a comma list or follows "between", and kept whole otherwise, as in
    "Dunmore and Pike"). Time expressions are not names ("Q3 2024", "3 May 2021"), nor is a
    span without a letter ("2 goals" names nothing).
    """
    return list(_question_mentions(question))


@lru_cache(maxsize=1)
def _demonym() -> re.Pattern[str]:
    """The nationality words of the extraction vocabulary (``graph/extract/vocab``)."""
    return re.compile(load_vocabulary().regex("demonym"))


#: A word that qualifies the noun after it ("the Norwegian sculptor known as Veyla").
_QUALIFIES = re.compile(r"\s+[a-z]")


def _qualifiers(found: list[tuple[str, bool]]) -> set[str]:
    """Nationality words used as adjectives, when the question names something else too.

    "Which gallery held the Norwegian sculptor Veyla Strand's work in 1990?" is about Veyla
    Strand; "Norwegian" only describes her, and given a retrieval list of its own it would
    bring every page about some Norwegian. Alone ("Who led the Norwegian delegation?") it is
    kept: it is all the question names.
    """
    demonym = _demonym()
    out = {
        span
        for span, before_noun in found
        if before_noun and " " not in span and demonym.fullmatch(span)
    }
    return out if len(out) < len(found) else set()


@lru_cache(maxsize=8192)  # answering asks it of the same evidence sentences many times
def _question_mentions(question: str) -> tuple[str, ...]:
    blanked = without_times(question)
    spans: list[str] = []
    adjectival: list[tuple[str, bool]] = []
    for m in _CAP_SPAN.finditer(blanked):
        words = m.group(0).split()
        while words and words[0].lower() in _LEADING:
            words = words[1:]
        while words and words[-1].casefold().strip(".,") in _NOT_NAMES:
            words = words[:-1]
        span = " ".join(words).rstrip("?.,;:")
        if not span or span.casefold() in _NOT_NAMES or not _LETTER.search(span):
            continue
        parts = [span]
        if " and " in span and _LIST_BEFORE.search(blanked, 0, m.start()):
            parts = [part for part in span.split(" and ") if part]
        for part in parts:  # "Orlin Foods, Inc. and Vastra": "Inc." joins the name before it
            if spans and part.casefold().strip(".") in LEGAL_FORMS:
                spans[-1] = f"{spans[-1]}, {part.rstrip('.')}"
            else:
                spans.append(part)
                before_noun = part == span and bool(_QUALIFIES.match(blanked, m.end()))
                adjectival.append((part, before_noun))
    drop = _qualifiers(adjectival)
    return tuple(span for span in spans if span not in drop)


@lru_cache(maxsize=8192)
def name_tokens(text: str) -> frozenset[str]:
    """Content words of a name or passage, casefolded (accents kept).

    Dotted abbreviations count as one word ("F.C." is "fc", "U.S." is "us"), so a club
    suffix or an initialism matches however it is punctuated. Cached: answering one question
    tokenises the same evidence passages once per name in it.
    """
    text = _DOTTED.sub(lambda m: m.group(0).replace(".", ""), text)
    return frozenset(w.casefold() for w in WORD.findall(text)) - _STOP


@lru_cache(maxsize=4096)  # asked of the same few names for every passage of a query
def acronym(name: str) -> str | None:
    """The initialism of a name of three or more capitalised words ("Bank of England" has
    none; "National Institute of Standards and Technology" gives "NIST")."""
    words = [w for w in re.findall(r"[^\W\d_][\w'’-]*", name) if w.casefold() not in _STOP]
    if len(words) < 3 or not all(w[:1].isupper() for w in words):
        return None
    return "".join(w[0] for w in words).upper()


#: What qualifies an organisation's name without naming it: a web domain ("Kellmart.com" is
#: Kellmart) and a dotted initialism after the name's first word, a country or region
#: ("Brindle Shoes U.K., Ltd." is Brindle Shoes). Legal forms are left out by `name_tokens`.
_DOMAIN = re.compile(r"(?<=\w)\.(?:com|net|org|io)\b", re.IGNORECASE)
_QUALIFIER = re.compile(r"(?<=\s)(?:[A-Z]\.){2,}")


@lru_cache(maxsize=4096)
def core_tokens(mention: str) -> frozenset[str]:
    """The words a passage must share with a name to speak of it (see `_DOMAIN`, `_QUALIFIER`).

    Example: "Kellmart.com" → {"kellmart"}; "Brindle Shoes U.K., Ltd." → {"brindle",
    "shoes"}; "Odile R. Vantreck" keeps every word (one initial qualifies nothing).
    """
    core = name_tokens(_QUALIFIER.sub(" ", _DOMAIN.sub("", mention)))
    return core or name_tokens(mention)


def mentions_in(passage: str, mention: str, *, threshold: float = 0.6) -> bool:
    """Whether a passage speaks of a name: most of its content words appear.

    A long organisation name is also found by its initialism ("MIT"), written in capitals.
    A person is also found by surname alone ("Kowalczyk said…"): for names of two or three
    words the last one suffices when the passage writes it capitalised as a name, so "group"
    in "the shipping group" does not stand for "Tarrow Mining Group", and not as part of
    another person's name ("Simon Kowalczyk", "Kowalczyk Dietze" are someone else).
    """
    toks = core_tokens(mention)
    if not toks:
        return False
    passage_tokens = name_tokens(passage)
    if len(toks & passage_tokens) / len(toks) >= threshold:
        return True
    short = acronym(mention)
    if short is not None and re.search(rf"\b{short}\b", passage):
        return True
    words = mention.split()
    if not 2 <= len(words) <= 3:
        return False
    last = words[-1]
    if not last[:1].isupper() or last.casefold().strip(".,") in LEGAL_FORMS:
        return False  # "Inc" is nobody's surname
    own = {w.casefold() for w in words}
    for m in re.finditer(rf"\b{re.escape(last)}\b", passage, flags=re.IGNORECASE):
        if m.group(0).islower():
            continue
        before = _WORD_BEFORE.search(passage, 0, m.start())
        after = _WORD_AFTER.match(passage, m.end())
        if before and _is_other_name(before.group(1), own):
            continue
        if after and _is_other_name(after.group(1), own):
            continue
        return True
    return False


def _is_other_name(word: str, own: set[str]) -> bool:
    """A capitalised neighbour that is not part of the mention: a different person's name."""
    folded = word.casefold()
    return (
        word[:1].isupper()
        and not word.isupper()
        and folded not in own
        and folded not in _NOT_OTHER_NAME
    )
