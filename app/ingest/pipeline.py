"""The ingest and delete work that Celery tasks run, in the embedded worker or a worker process.

Every step is idempotent: chunk point ids are deterministic, the final status write re-reads
the record under the document's lock, and a task for a version that is no longer the newest is
a no-op. So a redelivered or duplicated task is harmless.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from app.core.metrics import StageTimer
from app.core.models import DocumentRecord
from app.core.timeutil import to_ts, utcnow
from app.embeddings.embedding import Embedder
from app.ingest.chunking import Chunk, chunk_text
from app.stores.chunks import ChunkWrite, QdrantChunkStore
from app.stores.documents import QdrantDocumentStore
from app.stores.lexical import Bm25Encoder
from app.stores.locks import Locker
from graph.content_time import chunk_content_time, document_period, inherit_untimed
from graph.nlp import Annotation, TextAnnotator

log = logging.getLogger(__name__)


class TaskClock:
    """One ingest task's stage seconds: added to the process-wide timer as they pass, and kept
    for the task's own log line (`logged`), the one INFO line per task."""

    def __init__(self, timer: StageTimer) -> None:
        self._timer = timer
        self._started = time.perf_counter()
        self.seconds: dict[str, float] = {}

    def add(self, stage: str, started: float) -> float:
        """As `StageTimer.add`: ``now - started`` to ``stage``; returns now."""
        now = self._timer.add(stage, started)
        self.seconds[stage] = self.seconds.get(stage, 0.0) + now - started
        return now

    def logged(self, doc_id: str, version: int, outcome: str) -> str:
        """Log ``ingest <doc> v<n>: <outcome> in <s> s (stage=s ...)``; returns the outcome's
        first word, what `IngestPipeline.ingest` returns."""
        stages = " ".join(f"{k}={v:.3f}" for k, v in self.seconds.items())
        total = time.perf_counter() - self._started
        log.info("ingest %s v%d: %s in %.3f s (%s)", doc_id, version, outcome, total, stages)
        return outcome.split(" ", 1)[0]


class IngestBudgetExceeded(Exception):
    """A document took longer than ``ingest_budget_s``; it is marked failed, never retried."""


class KnowledgeIndexer(Protocol):
    """A further index fed from each document version (the temporal graph is one)."""

    def index(self, record: DocumentRecord, chunks: Sequence[Chunk]) -> int: ...

    def forget(self, tenant: str, doc_id: str, keep_version: int | None) -> None: ...


@dataclass(frozen=True)
class IngestLimits:
    """The settings ingest obeys, as values (the composition root reads them from settings)."""

    chunk_max_tokens: int
    chunk_overlap_sentences: int
    ingest_budget_s: float
    fiscal_year_start_month: int


class IngestPipeline:
    def __init__(
        self,
        *,
        documents: QdrantDocumentStore,
        chunks: QdrantChunkStore,
        embedder: Embedder,
        lexical: Bm25Encoder,
        locker: Locker,
        limits: IngestLimits,
        timer: StageTimer,
        annotator: TextAnnotator | None = None,
        indexers: Sequence[KnowledgeIndexer] = (),
    ) -> None:
        """``timer`` is the process-wide one, so the API's stats route sees what the worker
        threads did; ``annotator`` None is ``CHRONORAG_NLP=off``."""
        self._documents = documents
        self._chunks = chunks
        self._embedder = embedder
        self._lexical = lexical
        self._locker = locker
        self._limits = limits
        self._annotator = annotator
        self._indexers = list(indexers)
        self.timer = timer

    def _chunk(self, text: str) -> list[Chunk]:
        emb = self._embedder
        max_tokens = min(self._limits.chunk_max_tokens, emb.max_tokens - 2)
        return chunk_text(
            text,
            emb.count_tokens,
            max_tokens=max_tokens,
            overlap_sentences=self._limits.chunk_overlap_sentences,
        )

    def ingest(self, tenant: str, doc_id: str, version: int) -> str:
        """Index one version; returns what happened ("indexed", "stale", "skipped")."""
        docs = self._documents
        clock = TaskClock(self.timer)
        t = time.perf_counter()
        record = docs.get(tenant, doc_id)
        t = clock.add("load", t)
        if record is None or record.version != version:
            return clock.logged(doc_id, version, "stale (a newer version exists)")
        if record.status in ("deleting", "deleted"):
            return clock.logged(doc_id, version, "skipped (being deleted)")
        if record.status == "indexed" and record.indexed_version == version:
            return clock.logged(doc_id, version, "skipped (already indexed)")

        started = t
        chunks = self._chunk(record.text)
        t = clock.add("chunk", t)
        self._within_budget(started, "chunking")
        vectors = self._embedder.embed_documents([c.text for c in chunks])
        t = clock.add("embed", t)
        self._within_budget(started, "embedding")
        notes = self._annotate(chunks)
        t = clock.add("nlp", t)
        self._within_budget(started, "entity recognition")
        self._write_chunks(record, chunks, vectors, notes)
        t = clock.add("store", t)
        facts = 0
        for indexer in self._indexers:
            facts += indexer.index(record, chunks)
            self._within_budget(started, "extraction")
        t = clock.add("extract", t)
        outcome = self._commit(record, len(chunks), facts)
        clock.add("commit", t)
        self.timer.count(f"ingest_{outcome}")
        if outcome == "indexed":
            self.timer.count("chunks_indexed", len(chunks))
        return clock.logged(doc_id, version, f"{outcome} ({len(chunks)} chunks, {facts} facts)")

    def _within_budget(self, started: float, stage: str) -> None:
        """Checked between stages (a stage is not interrupted; each is linear in the text).

        The chunks already written stay invisible: readers see only committed versions.
        """
        budget = self._limits.ingest_budget_s
        elapsed = time.perf_counter() - started
        if elapsed > budget:
            self.timer.count("ingest_over_budget")
            raise IngestBudgetExceeded(
                f"indexing took {elapsed:.1f} s by the end of {stage}, over the budget of "
                f"{budget:g} s (CHRONORAG_INGEST_BUDGET_S); split the document or raise the budget"
            )

    def _annotate(self, chunks: Sequence[Chunk]) -> list[Annotation] | None:
        """Entities and sentences of every chunk in one batched pass; None with the layer off."""
        annotator = self._annotator
        if annotator is None:
            return None
        return annotator.annotate([c.text for c in chunks])

    def _write_chunks(
        self,
        record: DocumentRecord,
        chunks: Sequence[Chunk],
        vectors: np.ndarray,
        notes: Sequence[Annotation] | None = None,
    ) -> None:
        fiscal = self._limits.fiscal_year_start_month
        published = record.published_at
        frame = document_period(record.title, record.text, published, fiscal_start=fiscal)
        contents = inherit_untimed(
            [chunk_content_time(c.text, published, frame, fiscal_start=fiscal) for c in chunks]
        )
        writes = [
            ChunkWrite(
                c.index,
                c.text,
                vectors[i],
                self._lexical.document(c.text),
                contents[i],
                notes[i] if notes is not None else None,
            )
            for i, c in enumerate(chunks)
        ]
        self._chunks.upsert(
            record.tenant,
            record.doc_id,
            record.version,
            to_ts(record.published_at),
            writes,
            title=record.title,
            url=record.url,
        )

    def _commit(self, indexed: DocumentRecord, n_chunks: int, n_facts: int) -> str:
        """Make the new version the one readers see, then drop the old version's chunks."""
        docs = self._documents
        tenant, doc_id, version = indexed.tenant, indexed.doc_id, indexed.version
        with self._locker.hold(f"doc:{tenant}:{doc_id}"):
            record = docs.get(tenant, doc_id)
            if record is None or record.status in ("deleting", "deleted"):
                # A delete overtook us: its task removes everything, including what we wrote.
                return "skipped"
            record.indexed_version = max(record.indexed_version, version)
            if record.version == version:
                # Until now ``updated_at`` is when intake accepted this version (the 202).
                self.timer.fresh((utcnow() - record.updated_at).total_seconds())
                record.status = "indexed"
                record.chunks = n_chunks
                record.facts = n_facts
                record.error = None
            record.indexed_at = utcnow()
            record.updated_at = record.indexed_at
            docs.put(record)
        self._chunks.delete_versions(tenant, doc_id, keep=record.indexed_version)
        for indexer in self._indexers:
            indexer.forget(tenant, doc_id, keep_version=record.indexed_version)
        return "indexed"

    def mark_failed(self, tenant: str, doc_id: str, version: int, error: str) -> None:
        docs = self._documents
        with self._locker.hold(f"doc:{tenant}:{doc_id}"):
            record = docs.get(tenant, doc_id)
            if record is None or record.version != version or record.status != "pending":
                return
            self.timer.error("ingest_failed")
            record.status = "failed"
            record.error = error[:2000]
            record.updated_at = utcnow()
            docs.put(record)

    def delete(self, tenant: str, doc_id: str) -> str:
        """Remove everything derived from the document, then mark it deleted.

        The status turns ``deleted`` only after chunks and graph support are gone, so a client
        that sees ``deleted`` can rely on no query returning anything from it.
        """
        docs = self._documents
        record = docs.get(tenant, doc_id)
        if record is None or record.status == "deleted":
            return "skipped"
        if record.status != "deleting":
            # Re-uploaded after the delete was asked: keep only what the new version will bring.
            self._chunks.delete_versions(tenant, doc_id, keep=record.indexed_version)
            return "superseded"
        self._chunks.delete_versions(tenant, doc_id, keep=None)
        for indexer in self._indexers:
            indexer.forget(tenant, doc_id, keep_version=None)
        with self._locker.hold(f"doc:{tenant}:{doc_id}"):
            record = docs.get(tenant, doc_id)
            if record is None or record.status != "deleting":
                return "superseded"
            record.status = "deleted"
            record.chunks = 0
            record.facts = 0
            record.indexed_version = 0
            record.updated_at = utcnow()
            record.text = ""
            docs.put(record)
        return "deleted"
