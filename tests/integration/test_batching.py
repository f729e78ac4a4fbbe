"""The embedding batcher with the real model: per-caller results, bounded batches, errors."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest

from app.embeddings.batching import EmbeddingBatcher

pytestmark = pytest.mark.integration

TEXTS = [
    f"Report {i}: the board of Company {i % 7} named a new chair in {2000 + i % 24}."
    for i in range(40)
]


class Recording:
    """Wraps the real embedder; records every batch and can fail or hold one on request."""

    def __init__(self, inner, fail_on: str | None = None) -> None:  # type: ignore[no-untyped-def]
        self.inner = inner
        self.fail_on = fail_on
        self.batches: list[list[str]] = []
        self.hold = threading.Event()
        self.hold.set()
        self.entered = threading.Event()

    def __getattr__(self, name: str):  # type: ignore[no-untyped-def]
        return getattr(self.inner, name)

    @property
    def dimension(self) -> int:
        return int(self.inner.dimension)

    def embed_documents(self, texts: Sequence[str]) -> np.ndarray:
        self.entered.set()
        self.hold.wait(30)
        self.batches.append(list(texts))
        if self.fail_on is not None and any(self.fail_on in t for t in texts):
            raise RuntimeError("model failed on this batch")
        return self.inner.embed_documents(texts)


def test_each_caller_gets_its_own_rows_in_order(embedder) -> None:  # type: ignore[no-untyped-def]
    rec = Recording(embedder)
    batcher = EmbeddingBatcher(rec, max_batch=16, max_wait_s=0.05)
    requests = [TEXTS[i : i + 1 + i % 5] for i in range(0, 30, 3)]
    try:
        with ThreadPoolExecutor(len(requests)) as pool:
            results = list(pool.map(batcher.embed_documents, requests))
    finally:
        batcher.close()
    for texts, got in zip(requests, results, strict=True):
        alone = embedder.embed_documents(texts)
        assert got.shape == alone.shape
        np.testing.assert_allclose(got, alone, atol=2e-5)
    # Concurrent callers shared encode calls, none of them over the bound.
    assert len(rec.batches) < len(requests)
    assert max(len(b) for b in rec.batches) <= 16
    assert batcher.stats.texts == sum(len(r) for r in requests)


def test_a_request_larger_than_the_bound_is_split_and_reassembled(embedder) -> None:  # type: ignore[no-untyped-def]
    rec = Recording(embedder)
    batcher = EmbeddingBatcher(rec, max_batch=8, max_wait_s=0.0)
    try:
        got = batcher.embed_documents(TEXTS[:27])
    finally:
        batcher.close()
    assert [len(b) for b in rec.batches] == [8, 8, 8, 3]
    np.testing.assert_allclose(got, embedder.embed_documents(TEXTS[:27]), atol=2e-5)


def _queued(batcher: EmbeddingBatcher, pool: ThreadPoolExecutor, texts: list[str], n: int):  # type: ignore[no-untyped-def]
    """Submit a request and wait until it is the ``n``-th one queued (fixes the order)."""
    future = pool.submit(batcher.embed_documents, texts)
    for _ in range(1000):
        if len(batcher._queue) >= n:
            return future
        threading.Event().wait(0.01)
    raise AssertionError("request never queued")


def test_an_error_reaches_only_the_callers_of_its_batch(embedder) -> None:  # type: ignore[no-untyped-def]
    rec = Recording(embedder, fail_on="BOOM")
    batcher = EmbeddingBatcher(rec, max_batch=4, max_wait_s=0.0)
    try:
        # Hold the first batch so the next requests queue up and batch deterministically.
        rec.hold.clear()
        with ThreadPoolExecutor(4) as pool:
            first = pool.submit(batcher.embed_documents, TEXTS[:4])
            assert rec.entered.wait(10)
            bad = _queued(batcher, pool, ["BOOM: this text breaks the model", TEXTS[4]], 1)
            mate = _queued(batcher, pool, TEXTS[5:7], 2)  # fits in bad's batch
            later = _queued(batcher, pool, TEXTS[7:10], 3)  # would overflow it: the next batch
            rec.hold.set()
            assert first.result(30).shape == (4, embedder.dimension)
            with pytest.raises(RuntimeError, match="model failed"):
                bad.result(30)
            with pytest.raises(RuntimeError, match="model failed"):
                mate.result(30)
            np.testing.assert_allclose(
                later.result(30), embedder.embed_documents(TEXTS[7:10]), atol=2e-5
            )
        assert [len(b) for b in rec.batches] == [4, 4, 3]
        # The batch thread survived the failure.
        assert batcher.embed_documents(TEXTS[10:12]).shape == (2, embedder.dimension)
    finally:
        batcher.close()


def _record_encodes(embedder, monkeypatch: pytest.MonkeyPatch) -> list[list[str]]:  # type: ignore[no-untyped-def]
    """Record the texts of every ``encode`` call of the real model from now on."""
    calls: list[list[str]] = []
    model = embedder.sentence_transformer
    encode = model.encode

    def recording(texts, **kwargs):  # type: ignore[no-untyped-def]
        calls.append(list(texts))
        return encode(texts, **kwargs)

    monkeypatch.setattr(model, "encode", recording)
    return calls


def test_a_mixed_batch_is_one_call_that_the_model_encodes_in_length_groups(  # type: ignore[no-untyped-def]
    embedder, monkeypatch: pytest.MonkeyPatch
) -> None:
    long_texts = [" ".join(TEXTS[i : i + 4]) for i in range(0, 12, 4)]  # ~260 characters
    facts = [f"Person {i} chair Company {i}" for i in range(6)]
    mixed = [facts[0], long_texts[0], facts[1], facts[2], long_texts[1], *facts[3:], long_texts[2]]
    alone = np.stack([embedder.embed_documents([t])[0] for t in mixed])
    encodes = _record_encodes(embedder, monkeypatch)
    rec = Recording(embedder)
    batcher = EmbeddingBatcher(rec, max_batch=16, max_wait_s=0.0)
    try:
        got = batcher.embed_documents(mixed)
    finally:
        batcher.close()
    # The batcher hands the whole batch over in one call (one task when the embedder is the
    # embed queue), lengths mixed and in order ...
    assert rec.batches == [mixed]
    assert batcher.stats.batches == 1
    # ... and the model encodes it as two length groups: facts are not padded to chunk length.
    assert sorted(map(sorted, encodes)) == sorted([sorted(facts), sorted(long_texts)])
    # Each row is its own text's embedding, whatever group it was encoded in.
    np.testing.assert_allclose(got, alone, atol=2e-5)

    # Bounded: a smaller max_batch cuts the request in order, never by length.
    rec = Recording(embedder)
    batcher = EmbeddingBatcher(rec, max_batch=4, max_wait_s=0.0)
    try:
        np.testing.assert_allclose(batcher.embed_documents(mixed), alone, atol=2e-5)
    finally:
        batcher.close()
    assert rec.batches == [mixed[0:4], mixed[4:8], mixed[8:]]


def test_query_embeddings_are_cached_and_read_only(embedder) -> None:  # type: ignore[no-untyped-def]
    batcher = EmbeddingBatcher(embedder, max_batch=8, query_cache_size=2)
    try:
        first = batcher.embed_query("Who chaired the BBC board in 2022?")
        again = batcher.embed_query("Who chaired the BBC board in 2022?")
        assert again is first and not first.flags.writeable
        assert batcher.stats.query_cache_hits == 1
        np.testing.assert_allclose(
            first, embedder.embed_query("Who chaired the BBC board in 2022?"), atol=2e-5
        )
        batcher.embed_query("a")
        batcher.embed_query("b")  # evicts the first question (size 2)
        batcher.embed_query("Who chaired the BBC board in 2022?")
        assert batcher.stats.query_cache_hits == 1
    finally:
        batcher.close()


def test_token_counting_is_safe_while_the_model_encodes(embedder) -> None:  # type: ignore[no-untyped-def]
    batcher = EmbeddingBatcher(embedder, max_batch=8, max_wait_s=0.0)
    expected = embedder.count_tokens(TEXTS)
    try:
        with ThreadPoolExecutor(4) as pool:
            encodes = [
                pool.submit(batcher.embed_documents, TEXTS[i : i + 8]) for i in range(0, 40, 8)
            ]
            counts = [pool.submit(batcher.count_tokens, TEXTS) for _ in range(20)]
            assert all(f.result(60) == expected for f in counts)
            assert all(f.result(60).shape[0] == 8 for f in encodes)
    finally:
        batcher.close()


def test_onnx_query_encoder_agrees_with_torch(embedder, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from app.embeddings.onnx_query import OnnxQueryEncoder

    encoder = OnnxQueryEncoder(
        embedder.sentence_transformer, tmp_path, model_name="all-MiniLM-L6-v2"
    )
    questions = [
        f"Who was the chief executive of Company {i % 7} in {2000 + i}?" for i in range(20)
    ]
    mine = np.stack([encoder(q) for q in questions])
    torch_vectors = embedder.embed_documents(questions)
    assert float((mine * torch_vectors).sum(axis=1).min()) > 0.9999
    corpus = embedder.embed_documents(TEXTS)
    for a, b in zip(mine, torch_vectors, strict=True):
        assert set(np.argsort(-corpus @ a)[:10]) == set(np.argsort(-corpus @ b)[:10])
    # A second process start reuses the exported graph.
    assert len(list(tmp_path.glob("*.onnx"))) == 1
