"""Chunk points: dense + BM25 vectors, with the payload every filter needs."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import numpy as np

from app.core.coalesce import Coalescer
from app.core.timeutil import to_ts
from app.stores.collections import DENSE, LEXICAL, chunks_spec
from app.stores.engines import (
    Condition,
    Engine,
    Hit,
    Match,
    PointRecord,
    Range,
    Search,
    SparseVec,
    Where,
    point_uuid,
)
from graph.content_time import ContentTime, node_labels
from graph.nlp import Annotation


@dataclass(frozen=True)
class ChunkWrite:
    index: int
    text: str
    dense: np.ndarray
    lexical: SparseVec
    content: ContentTime | None = None
    """The periods the chunk is about (valid time); None falls back to the publication day."""
    annotation: Annotation | None = None
    """Entity spans and sentence bounds (``graph.nlp``); None when the NLP layer is off."""


def content_payload(content: ContentTime | None, published_ts: float) -> dict[str, Any]:
    """Valid time as payload: the hull as two float-indexed bounds (what a window filters on),
    each period as [start, end] (what ranking measures fit with) and the time nodes it links to
    (keyword-indexed, so a period's chunks are one match away)."""
    if content is None:
        return {
            "content_from_ts": published_ts,
            "content_to_ts": published_ts + 86400.0,
            "content_spans": [[published_ts, published_ts + 86400.0]],
            "content_source": "published",
            "time_nodes": [],
        }
    return {
        "content_from_ts": to_ts(content.start),
        "content_to_ts": to_ts(content.end),
        "content_spans": [[to_ts(s.start), to_ts(s.end)] for s in content.spans],
        "content_labels": content.labels(),
        "content_frame": (
            [to_ts(content.frame.start), to_ts(content.frame.end)] if content.frame else None
        ),
        "content_source": content.source,
        "time_nodes": node_labels(content.spans) if content.source != "inherited" else [],
    }


class QdrantChunkStore:
    def __init__(self, engine: Engine, prefix: str, dim: int) -> None:
        self._engine = engine
        self._spec = chunks_spec(prefix, dim)
        engine.ensure(self._spec)
        self._searches: Coalescer[Search, list[Hit]] = Coalescer(
            lambda requests: engine.search_batch(self.collection, requests)
        )

    @property
    def collection(self) -> str:
        return self._spec.name

    @staticmethod
    def point_id(tenant: str, doc_id: str, version: int, index: int) -> str:
        """uuid5 of (tenant, document, version, chunk): a redelivered task rewrites them."""
        return point_uuid("chunk", tenant, doc_id, version, index)

    def upsert(
        self,
        tenant: str,
        doc_id: str,
        version: int,
        published_ts: float,
        chunks: Sequence[ChunkWrite],
        *,
        title: str | None = None,
        url: str | None = None,
    ) -> None:
        points = [
            PointRecord(
                self.point_id(tenant, doc_id, version, c.index),
                {
                    "tenant": tenant,
                    "doc_id": doc_id,
                    "version": version,
                    "chunk": c.index,
                    "text": c.text,
                    "published_ts": published_ts,
                    "title": title,
                    "url": url,
                    **content_payload(c.content, published_ts),
                    **(c.annotation.payload() if c.annotation is not None else {}),
                },
                {DENSE: c.dense.tolist(), LEXICAL: c.lexical},
            )
            for c in chunks
        ]
        for start in range(0, len(points), 256):
            self._engine.upsert(self.collection, points[start : start + 256])

    def delete_versions(self, tenant: str, doc_id: str, keep: int | None = None) -> None:
        """Remove every chunk of the document except those of version ``keep``."""
        must: tuple[Condition, ...] = (Match("tenant", tenant), Match("doc_id", doc_id))
        must_not: tuple[Condition, ...] = (Match("version", keep),) if keep is not None else ()
        self._engine.delete_where(self.collection, Where(must, must_not))

    def count(self, tenant: str, doc_id: str | None = None, version: int | None = None) -> int:
        must: list[Condition] = [Match("tenant", tenant)]
        if doc_id is not None:
            must.append(Match("doc_id", doc_id))
        if version is not None:
            must.append(Match("version", version))
        return self._engine.count(self.collection, Where(tuple(must)))

    def where(
        self,
        tenant: str,
        *,
        published_before_ts: float | None,
        published_after_ts: float | None,
        about_from: datetime | None = None,
        about_to: datetime | None = None,
    ) -> Where:
        """Known time cuts by publication; valid time [about_from, about_to) by content time.

        A chunk is in a window when its content hull overlaps it; ranking then measures how
        well its own periods fit (``graph.content_time.overlap_fit``).
        """
        must: list[Condition] = [Match("tenant", tenant)]
        if published_before_ts is not None or published_after_ts is not None:
            must.append(Range("published_ts", gte=published_after_ts, lte=published_before_ts))
        if about_to is not None:
            must.append(Range("content_from_ts", lt=to_ts(about_to)))
        if about_from is not None:
            must.append(Range("content_to_ts", gt=to_ts(about_from)))
        return Where(tuple(must))

    def about(self, tenant: str, node: str, limit: int) -> list[PointRecord]:
        """Chunks linked to a time node (of every version: callers keep the visible ones)."""
        where = Where((Match("tenant", tenant), Match("time_nodes", node)))
        return self._engine.scroll(self.collection, where, limit)

    @staticmethod
    def dense(vector: np.ndarray, where: Where, limit: int) -> Search:
        return Search(DENSE, vector.tolist(), where, limit)

    @staticmethod
    def lexical(vector: SparseVec, where: Where, limit: int) -> Search | None:
        """None for a text with no indexable term (nothing to search)."""
        return Search(LEXICAL, vector, where, limit) if vector.indices else None

    def search(self, requests: Sequence[Search | None]) -> list[list[Hit]]:
        """Results per request (empty for None), in one engine call shared with whatever
        other threads are searching at the same moment (see ``app.core.coalesce``)."""
        real = [r for r in requests if r is not None]
        found = iter(self._searches.submit(real))
        return [next(found) if r is not None else [] for r in requests]

    def search_stats(self) -> dict[str, float]:
        """How many searches shared an engine call (calls vs batches), for /v1/admin/stats."""
        return self._searches.stats.as_dict()

    def search_dense(self, vector: np.ndarray, where: Where, limit: int) -> list[Hit]:
        return self.search([self.dense(vector, where, limit)])[0]

    def search_lexical(self, vector: SparseVec, where: Where, limit: int) -> list[Hit]:
        return self.search([self.lexical(vector, where, limit)])[0]
