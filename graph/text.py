"""Sentence splitting shared by chunking and fact extraction (one rule for both)."""

from __future__ import annotations

import re

_ABBREV = {
    "mr",
    "mrs",
    "ms",
    "dr",
    "prof",
    "sr",
    "jr",
    "st",
    "mt",
    "gen",
    "col",
    "lt",
    "sgt",
    "capt",
    "gov",
    "sen",
    "rep",
    "rev",
    "hon",
    "inc",
    "ltd",
    "co",
    "corp",
    "plc",
    "no",
    "vs",
    "etc",
    "jan",
    "feb",
    "mar",
    "apr",
    "jun",
    "jul",
    "aug",
    "sep",
    "sept",
    "oct",
    "nov",
    "dec",
    "u.s",
    "u.k",
    "e.g",
    "i.e",
    "a.m",
    "p.m",
    "fc",
    "ft",
}
_BOUNDARY = re.compile(r"([.!?][\"'”’)\]]*)\s+(?=[\"'“‘(\[]?[A-Z0-9])")
_PARAGRAPH = re.compile(r"\n\s*\n+")


def split_sentences(text: str) -> list[str]:
    """Split prose into sentences without a model.

    Abbreviations ("Mr.", "Dec.", "U.S.") and initials ("James F. Parker") do not end a
    sentence; blank lines always do. Whitespace inside a sentence is collapsed.
    """
    sentences: list[str] = []
    for paragraph in _PARAGRAPH.split(text):
        flat = " ".join(paragraph.split())
        if not flat:
            continue
        start = 0
        for match in _BOUNDARY.finditer(flat):
            end = match.end(1)
            head = flat[start:end]
            word = head.rsplit(" ", 1)[-1].rstrip(".!?\"'”’)]").lower()
            if head.endswith(".") and (word in _ABBREV or (len(word) == 1 and word.isalpha())):
                continue
            sentences.append(head.strip())
            start = match.end()
        tail = flat[start:].strip()
        if tail:
            sentences.append(tail)
    return sentences


def wordset(text: str) -> frozenset[str]:
    """A lexicon written as whitespace-separated words (easier to read and diff than a list)."""
    return frozenset(text.split())
