"""Micro-batching of embedding calls across documents (and a cached query path).

The ingest worker runs several tasks at once in a thread pool; each asks for the embeddings of
one document's chunks, a handful of texts. Encoding them one document at a time leaves the
model idle while a task parses, stores and commits, and pays the per-call overhead for every
document. ``EmbeddingBatcher`` gives every caller the ``Embedder`` interface it already uses,
and behind it one thread gathers the texts of all waiting callers into one bounded ``encode``
call, so the model is fed back to back while the callers' other stages overlap with it.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import OrderedDict, deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

from app.core.errors import Unavailable
from app.embeddings.embedding import Embedder

log = logging.getLogger(__name__)

QueryEncode = Callable[[str], np.ndarray]


@dataclass
class _Part:
    """Up to ``max_batch`` texts of one caller; the batch thread fills ``result`` or ``error``."""

    texts: list[str]
    enqueued: float
    done: threading.Event = field(default_factory=threading.Event)
    result: np.ndarray | None = None
    error: BaseException | None = None


@dataclass
class BatcherStats:
    """What the batch thread did: how full its batches were and how long it encoded."""

    batches: int = 0
    texts: int = 0
    encode_s: float = 0.0
    largest: int = 0
    query_calls: int = 0
    query_cache_hits: int = 0

    def as_dict(self) -> dict[str, float]:
        mean = self.texts / self.batches if self.batches else 0.0
        return {
            "batches": self.batches,
            "texts": self.texts,
            "mean_batch": round(mean, 2),
            "largest_batch": self.largest,
            "encode_s": round(self.encode_s, 3),
            "query_calls": self.query_calls,
            "query_cache_hits": self.query_cache_hits,
        }


class EmbeddingBatcher:
    """An ``Embedder`` that coalesces concurrent ``embed_documents`` calls into shared batches.

    Invariants:
        * A caller gets back exactly its own rows, in its own order, whatever it was batched
          with; a request larger than ``max_batch`` is split into parts that may land in
          different batches and is reassembled.
        * A batch is one ``embed_documents`` call on the wrapped embedder, of at most
          ``max_batch`` texts: one task per batch when that embedder is the embed queue
          (``workers.offload``). The model embedder splits it into length groups itself
          (``length_groups``), so short texts are not padded to long ones.
        * A batch waits for more callers at most ``max_wait_s`` after its first text arrived;
          while the model is busy, new requests queue and form the next batch, so under load
          nothing waits on the timer.
        * If encoding a batch fails, exactly the callers whose texts were in that batch get the
          exception; the thread goes on with the next batch.

    Queries do not join document batches (a query must not wait behind a 64-chunk batch): they
    go to ``query_encoder`` when one is given (the ONNX encoder, which needs no torch lock),
    otherwise to the wrapped embedder, through an LRU cache keyed by the exact text.

    Callers MUST NOT call ``embed_documents`` from the batch thread itself (it would wait for
    itself); nothing in chronorag does.
    """

    def __init__(
        self,
        inner: Embedder,
        *,
        max_batch: int = 64,
        max_wait_s: float = 0.01,
        query_encoder: QueryEncode | None = None,
        query_cache_size: int = 1024,
    ) -> None:
        if max_batch < 1:
            raise ValueError("max_batch must be at least 1")
        self._inner = inner
        self._max_batch = max_batch
        self._max_wait_s = max(0.0, max_wait_s)
        self._query_encoder = query_encoder or inner.embed_query
        self._cache_size = query_cache_size
        self._cache: OrderedDict[str, np.ndarray] = OrderedDict()
        self._cache_lock = threading.Lock()
        self._cv = threading.Condition()
        self._queue: deque[_Part] = deque()
        self._closed = False
        self.stats = BatcherStats()
        # Told the size of every model call (``build_services`` points it at the metrics).
        self.on_batch: Callable[[int], None] | None = None
        self._thread = threading.Thread(target=self._run, name="embedding-batcher", daemon=True)
        self._thread.start()

    # ----------------------------------------------------------------- Embedder protocol

    @property
    def inner(self) -> Embedder:
        return self._inner

    @property
    def dimension(self) -> int:
        return self._inner.dimension

    @property
    def max_tokens(self) -> int:
        return self._inner.max_tokens

    @property
    def model_name(self) -> str:
        return self._inner.model_name

    def count_tokens(self, texts: Sequence[str]) -> list[int]:
        return self._inner.count_tokens(texts)

    def embed_documents(self, texts: Sequence[str]) -> np.ndarray:
        """Embeddings of ``texts`` (rows in order), encoded together with other callers'."""
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        now = time.monotonic()
        items = list(texts)
        parts = [
            _Part(items[i : i + self._max_batch], now)
            for i in range(0, len(items), self._max_batch)
        ]
        with self._cv:
            if self._closed:
                raise Unavailable("the embedding batcher is closed")
            self._queue.extend(parts)
            self._cv.notify_all()
        for part in parts:
            part.done.wait()
        for part in parts:
            if part.error is not None:
                raise part.error
        results = [p.result for p in parts if p.result is not None]
        return results[0] if len(results) == 1 else np.concatenate(results)

    def embed_query(self, text: str) -> np.ndarray:
        """The query's embedding, from the LRU cache when the same text was asked recently."""
        with self._cache_lock:
            self.stats.query_calls += 1
            hit = self._cache.get(text)
            if hit is not None:
                self._cache.move_to_end(text)
                self.stats.query_cache_hits += 1
                return hit
        vector = np.asarray(self._query_encoder(text), dtype=np.float32)
        vector.setflags(write=False)  # shared by every caller that hits the cache
        if self._cache_size:
            with self._cache_lock:
                self._cache[text] = vector
                while len(self._cache) > self._cache_size:
                    self._cache.popitem(last=False)
        return vector

    def warm_up(self) -> None:
        """Build a lazily built query encoder now (the API calls this at start-up)."""
        ready = getattr(self._query_encoder, "ready", None)
        if callable(ready):
            ready()

    # ----------------------------------------------------------------- the batch thread

    def _next_batch(self) -> list[_Part] | None:
        with self._cv:
            while not self._queue and not self._closed:
                self._cv.wait()
            if not self._queue:
                return None  # closed and drained
            batch = [self._queue.popleft()]
            size = len(batch[0].texts)
            deadline = batch[0].enqueued + self._max_wait_s
            while size < self._max_batch:
                if self._queue:
                    if size + len(self._queue[0].texts) > self._max_batch:
                        break  # it starts the next batch, whole
                    part = self._queue.popleft()
                    batch.append(part)
                    size += len(part.texts)
                    continue
                remaining = deadline - time.monotonic()
                if remaining <= 0 or self._closed:
                    break
                self._cv.wait(remaining)
            return batch

    def _run(self) -> None:
        while True:
            batch = self._next_batch()
            if batch is None:
                return
            self._encode(batch)

    def _encode(self, batch: list[_Part]) -> None:
        texts = [t for part in batch for t in part.texts]
        started = time.perf_counter()
        try:
            vectors = np.asarray(self._inner.embed_documents(texts), dtype=np.float32)
            if vectors.shape[0] != len(texts):
                raise RuntimeError(
                    f"embedder returned {vectors.shape[0]} vectors for {len(texts)} texts"
                )
            offset = 0
            for part in batch:
                part.result = vectors[offset : offset + len(part.texts)]
                offset += len(part.texts)
        except BaseException as exc:  # handed to this batch's callers, never raised here
            log.warning("embedding batch of %d texts failed: %s", len(texts), exc)
            for part in batch:
                part.error = exc
        finally:
            self.stats.batches += 1
            self.stats.texts += len(texts)
            self.stats.largest = max(self.stats.largest, len(texts))
            self.stats.encode_s += time.perf_counter() - started
            if self.on_batch is not None:
                self.on_batch(len(texts))
            for part in batch:
                part.done.set()

    def close(self, timeout_s: float = 30.0) -> None:
        """Finish the queued batches, then stop the thread; later calls raise ``Unavailable``."""
        with self._cv:
            self._closed = True
            self._cv.notify_all()
        self._thread.join(timeout_s)
