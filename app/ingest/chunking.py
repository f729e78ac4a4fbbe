"""Sentence-aware chunking bounded by the embedding model's token limit."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from graph.text import split_sentences

TokenCounter = Callable[[Sequence[str]], list[int]]


@dataclass(frozen=True)
class Chunk:
    index: int
    text: str
    tokens: int


def _split_long(sentence: str, tokens: int, max_tokens: int) -> list[str]:
    """A sentence longer than the model accepts is cut at word boundaries, proportionally.

    A "word" longer than ``max_tokens`` characters (a pasted hash, base64, a 1 MB run of
    letters) is first cut into pieces of that many characters: every word piece covers at
    least one character, so no piece can exceed the limit, and no chunk is one giant word.
    Example: ``"see " + "x" * 5000`` splits into chunks of at most ``max_tokens`` characters.
    """
    words = [
        word[i : i + max_tokens]
        for word in sentence.split()
        for i in range(0, len(word), max_tokens)
    ]
    parts = max(2, -(-tokens // max_tokens))
    per = max(1, -(-len(words) // parts))
    return [" ".join(words[i : i + per]) for i in range(0, len(words), per)]


def chunk_text(
    text: str,
    count_tokens: TokenCounter,
    *,
    max_tokens: int,
    overlap_sentences: int = 1,
) -> list[Chunk]:
    """Pack whole sentences into chunks of at most ``max_tokens`` word pieces.

    Chunks never cut a sentence unless the sentence alone exceeds the limit; consecutive chunks
    share ``overlap_sentences`` sentences so a fact that spans a boundary is still retrievable.
    Deterministic: the same text always gives the same chunks (point ids depend on it).
    """
    sentences = split_sentences(text)
    if not sentences:
        return []
    counts = count_tokens(sentences)
    units: list[tuple[str, int]] = []
    for sentence, n in zip(sentences, counts, strict=True):
        if n <= max_tokens:
            units.append((sentence, n))
            continue
        pieces = _split_long(sentence, n, max_tokens)
        units.extend(zip(pieces, count_tokens(pieces), strict=True))

    chunks: list[Chunk] = []
    current: list[tuple[str, int]] = []
    for unit in units:
        size = sum(n for _, n in current) + unit[1] + len(current)
        if current and size > max_tokens:
            chunks.append(_make(len(chunks), current))
            keep = current[-overlap_sentences:] if overlap_sentences else []
            while keep and sum(n for _, n in keep) + unit[1] + len(keep) > max_tokens:
                keep = keep[1:]
            current = list(keep)
        current.append(unit)
    if current:
        chunks.append(_make(len(chunks), current))
    return chunks


def _make(index: int, units: list[tuple[str, int]]) -> Chunk:
    return Chunk(index, " ".join(s for s, _ in units), sum(n for _, n in units) + len(units) - 1)
