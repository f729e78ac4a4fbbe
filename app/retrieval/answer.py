"""Extractive answers: the evidence sentence that best covers the question."""

from __future__ import annotations

import re
from collections.abc import Sequence

from graph.text import split_sentences

_WORD = re.compile(r"[a-z0-9]+")
_STOP = frozenset(
    "a an the of in on at to for by with and or is are was were be been who what when where which "
    "whom whose how did does do as this that it its his her their from has have had will would "
    "not no yes".split()
)


def content_words(text: str) -> set[str]:
    return {w for w in _WORD.findall(text.lower()) if w not in _STOP}


def best_sentence(question: str, passages: Sequence[str]) -> str | None:
    """Pick the sentence sharing most content words with the question, earliest passage first."""
    wanted = content_words(question)
    best: tuple[float, int, str] | None = None
    for rank, passage in enumerate(passages):
        for sentence in split_sentences(passage):
            overlap = len(wanted & content_words(sentence))
            key = (overlap - 0.5 * rank, -rank, sentence)
            if best is None or key[:2] > best[:2]:
                best = key
    return best[2] if best else None
