from __future__ import annotations

from app.ingest.chunking import chunk_text
from graph.text import split_sentences


def words(texts: list[str]) -> list[int]:
    return [len(t.split()) for t in texts]


def test_sentences_keep_abbreviations_and_initials() -> None:
    text = "Mr. Odile K. Varn quit on Dec. 15, 2022. He was 57. The U.S. carrier grew!"
    assert split_sentences(text) == [
        "Mr. Odile K. Varn quit on Dec. 15, 2022.",
        "He was 57.",
        "The U.S. carrier grew!",
    ]


def test_blank_lines_end_sentences() -> None:
    assert split_sentences("Heading\n\nBody text here") == ["Heading", "Body text here"]


def test_chunks_respect_sentence_boundaries_and_limit() -> None:
    text = " ".join(f"Sentence number {i} has exactly seven words." for i in range(20))
    chunks = chunk_text(text, words, max_tokens=30, overlap_sentences=1)
    assert all(c.tokens <= 30 for c in chunks)
    for c in chunks:
        assert c.text.endswith(".") and c.text.startswith("Sentence")
    assert [c.index for c in chunks] == list(range(len(chunks)))


def test_overlap_repeats_last_sentence() -> None:
    text = "One two three. Four five six. Seven eight nine. Ten eleven twelve."
    chunks = chunk_text(text, words, max_tokens=7, overlap_sentences=1)
    assert chunks[0].text.split(". ")[-1].rstrip(".") in chunks[1].text


def test_overlong_sentence_is_split_by_words() -> None:
    text = " ".join(["word"] * 100) + "."
    chunks = chunk_text(text, words, max_tokens=30, overlap_sentences=0)
    assert len(chunks) >= 4 and all(c.tokens <= 30 for c in chunks)


def test_chunking_is_deterministic_and_empty_safe() -> None:
    text = "Alpha beta. Gamma delta. " * 10
    assert chunk_text(text, words, max_tokens=9) == chunk_text(text, words, max_tokens=9)
    assert chunk_text("   ", words, max_tokens=9) == []
