"""Answers read from the evidence: used when the temporal graph has no fact to answer with."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from app.retrieval.lexicon import (
    ARTICLES,
    AUXILIARIES,
    CONJUNCTIONS,
    COPULAS,
    DEMONSTRATIVES,
    POSSESSIVES,
    PREPOSITIONS,
    QUESTION_WORDS,
)
from app.retrieval.mentions import WORD, mentions_in, name_tokens, question_mentions
from graph.text import split_sentences, wordset

_WORD = re.compile(r"[a-z0-9]+")
_STOP = (
    ARTICLES
    | PREPOSITIONS
    | CONJUNCTIONS
    | COPULAS
    | AUXILIARIES
    | QUESTION_WORDS
    | POSSESSIVES
    | DEMONSTRATIVES
    | wordset("as it not no yes")
)


# Words that report a relation ending ("left the party", "stepped down as chair"): a report
# naming both entities with one of these is evidence against, not for.
_DEPARTURE = re.compile(
    r"\b(?:leav(?:e|es|ing)|left|depart(?:s|ed|ing)?|former(?:ly)?|resign(?:s|ed|ing)?|"
    r"quit(?:s|ting)?|step(?:s|ped|ping)\s+down|no\s+longer|sacked|fired|dismissed|ousted|"
    r"retir(?:e|es|ed|ing)|exit(?:s|ed|ing)?|released)\b",
    re.IGNORECASE,
)


def _came_from(sentence: str, mention: str) -> bool:
    """Whether the sentence names ``mention`` as where someone came from ("signed X from Y").

    A move's source is the relation that ended: "Y" after "from" is evidence against.
    """
    toks = name_tokens(mention)
    words = [w for w in WORD.findall(mention) if w.casefold() in toks]
    if not words:
        return False
    pattern = rf"\bfrom\s+(?:the\s+)?(?:[\w'’-]+\s+){{0,3}}?{re.escape(words[0])}\b"
    return re.search(pattern, sentence, flags=re.IGNORECASE) is not None


class Passage(Protocol):
    @property
    def text(self) -> str: ...

    @property
    def published_at(self) -> datetime: ...


@dataclass(frozen=True)
class Decision:
    answer: str
    decided_at: datetime | None


def content_words(text: str) -> set[str]:
    return {w for w in _WORD.findall(text.lower()) if w not in _STOP}


def best_sentence(question: str, passages: Sequence[str]) -> str | None:
    """The sentence sharing most content words with the question, earliest passage first."""
    wanted = content_words(question)
    best: tuple[float, int, str] | None = None
    for rank, passage in enumerate(passages):
        for sentence in split_sentences(passage):
            overlap = len(wanted & content_words(sentence))
            key = (overlap - 0.5 * rank, -rank, sentence)
            if best is None or key[:2] > best[:2]:
                best = key
    return best[2] if best else None


def _newest_about(
    question: str, subject: str, evidence: Sequence[Passage], *, yes_no: bool
) -> tuple[Passage, str] | None:
    """The newest passage that mentions ``subject``, and its sentence closest to the question."""
    about = [e for e in evidence if mentions_in(e.text, subject)]
    if not about:
        return None
    newest = max(about, key=lambda e: e.published_at)
    sentences = [s for s in split_sentences(newest.text) if mentions_in(s, subject)]
    if not yes_no:
        # A wh answer is a name: a sentence naming nothing but the subject cannot hold it.
        naming = [s for s in sentences if _names_other(s, subject)]
        sentences = naming or sentences
    sentence = best_sentence(question, sentences or [newest.text]) or newest.text
    return newest, sentence


def _names_other(sentence: str, subject: str) -> bool:
    """Whether a sentence names anything besides ``subject`` (a capitalised span)."""
    own = name_tokens(subject)
    return any(
        (toks := name_tokens(span)) and not toks & own for span in question_mentions(sentence)
    )


def evidence_answer(
    question: str, mentions: Sequence[str], evidence: Sequence[Passage], *, yes_no: bool
) -> Decision | None:
    """Answer from the newest evidence about the question's first named entity.

    The newest report about an entity is the likeliest to describe its current state, and
    evidence is already cut to what was known at the question's time. A yes/no question is
    "yes" when that report also names the question's other entities; a wh question is
    answered with the report's sentence about the entity (an extractive answer: picking a
    name out of it without a reader model guesses wrong more often than not).
    """
    if not evidence:
        return None
    found = _newest_about(question, mentions[0], evidence, yes_no=yes_no) if mentions else None
    if found is None:
        if yes_no and mentions:
            return Decision(f"No: nothing was known about {mentions[0]} at that time.", None)
        sentence = best_sentence(question, [e.text for e in evidence])
        return Decision(sentence, None) if sentence else None
    passage, sentence = found
    if yes_no:
        others = mentions[1:]
        named = [o for o in others if mentions_in(passage.text, o, threshold=0.5)]
        if (
            others
            and len(named) == len(others)
            and not _DEPARTURE.search(sentence)
            and not any(_came_from(sentence, o) for o in others)
        ):
            return Decision(f"Yes: {sentence}", passage.published_at)
        return Decision(f"No: {sentence}", passage.published_at)
    return Decision(sentence, passage.published_at)
