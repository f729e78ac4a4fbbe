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

    Abbreviations ("Mr.", "Dec.", "U.S.") and initials ("Orla K. Fenwick") do not end a
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
            # The last word before the boundary, read without copying the sentence so far
            # (a run of initials "A. B. C. ..." would otherwise copy it once per initial).
            word_start = max(flat.rfind(" ", start, end) + 1, start)
            word = flat[word_start:end].rstrip(".!?\"'”’)]").lower()
            if flat[end - 1] == "." and (word in _ABBREV or (len(word) == 1 and word.isalpha())):
                continue
            sentences.append(flat[start:end].strip())
            start = match.end()
        tail = flat[start:].strip()
        if tail:
            sentences.append(tail)
    return sentences


def split_long(sentence: str, max_chars: int) -> list[str]:
    """Cut a sentence longer than ``max_chars`` into pieces of at most that many characters.

    Each cut is at the last whitespace that keeps the piece within the limit (a hard cut only
    when a piece has no whitespace at all); the whitespace at a cut is dropped. A sentence
    within the limit is returned whole. Used to bound per-sentence work: extraction rules are
    written for sentences of a few hundred characters, and text with no sentence boundary
    (a list, a table dump, hostile input) must not make them quadratic in the document.
    """
    if max_chars < 1:
        raise ValueError(f"max_chars must be at least 1, got {max_chars}")
    pieces: list[str] = []
    start, n = 0, len(sentence)
    while n - start > max_chars:
        limit = start + max_chars
        cut = -1
        for index in range(limit, start, -1):
            if sentence[index].isspace():
                cut = index
                break
        if cut == -1:
            pieces.append(sentence[start:limit])
            start = limit
            continue
        piece = sentence[start:cut].strip()
        if piece:
            pieces.append(piece)
        start = cut + 1
        while start < n and sentence[start].isspace():
            start += 1
    tail = sentence[start:].strip()
    if tail:
        pieces.append(tail)
    return pieces


def wordset(text: str) -> frozenset[str]:
    """A lexicon written as whitespace-separated words (easier to read and diff than a list)."""
    return frozenset(text.split())
