"""Dense-only retrieval and process statistics, for operators and benchmarks.

``/v1/query`` fuses dense and lexical ranks and caps chunks per document, so its results cannot
be compared with an exact nearest-neighbour search. ``dense_search`` is the vector index alone,
behind the same visibility rule readers get, which is what a recall check needs.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

import numpy as np

from app.core.errors import InvalidInput
from app.embeddings.batching import EmbeddingBatcher
from app.retrieval.search import visible
from app.services import Services
from app.stores.collections import DENSE


@dataclass(frozen=True)
class DenseHit:
    id: str
    document_id: str
    version: int
    chunk: int
    score: float


def dense_search(
    services: Services,
    tenant: str,
    *,
    question: str | None = None,
    vector: list[float] | None = None,
    top_k: int = 10,
    exact: bool = False,
) -> list[DenseHit]:
    """Top ``top_k`` visible chunks by cosine similarity alone.

    Visible means what ``/v1/query`` would show: the document's indexed version, and nothing of
    a document being deleted. Over-fetches so that hidden chunks do not shorten the list.
    """
    if (question is None) == (vector is None):
        raise InvalidInput("send exactly one of question or vector")
    if vector is not None and len(vector) != services.embedder.dimension:
        raise InvalidInput(f"vector: expected {services.embedder.dimension} numbers")
    qvec = (
        np.asarray(vector, dtype=np.float32)
        if vector is not None
        else services.embedder.embed_query(question or "")
    )
    chunks = services.stores.chunks
    where = chunks.where(tenant, published_before_ts=None, published_after_ts=None)
    hits = services.stores.engine.search(
        chunks.collection, DENSE, qvec.tolist(), where, top_k * 3 + 10, exact=exact
    )
    versions = services.stores.documents.visible_versions(
        tenant, [h.payload["doc_id"] for h in hits]
    )
    out: list[DenseHit] = []
    for h in hits:
        if not visible(h, versions):
            continue
        out.append(
            DenseHit(
                h.id,
                h.payload["doc_id"],
                int(h.payload["version"]),
                int(h.payload["chunk"]),
                float(h.score),
            )
        )
        if len(out) >= top_k:
            break
    return out


def _proc_status() -> dict[str, float]:
    """Current and peak resident memory of this process, in MiB (Linux /proc)."""
    out: dict[str, float] = {}
    try:
        with open(f"/proc/{os.getpid()}/status", encoding="ascii") as fh:
            for line in fh:
                key, _, rest = line.partition(":")
                if key in ("VmRSS", "VmHWM"):
                    out[key] = round(int(rest.split()[0]) / 1024, 1)
    except OSError:
        pass
    return {"rss_mb": out.get("VmRSS", 0.0), "peak_rss_mb": out.get("VmHWM", 0.0)}


def process_stats(services: Services) -> dict[str, Any]:
    """Per-stage seconds and counts, batcher figures, chunk count and memory of this process."""
    stats: dict[str, Any] = services.metrics.snapshot()
    if isinstance(services.embedder, EmbeddingBatcher):
        stats["embedding_batcher"] = services.embedder.stats.as_dict()
    stats["chunk_searches"] = services.stores.chunks.search_stats()
    stats["chunks"] = services.stores.engine.count(services.stores.chunks.collection)
    stats["memory"] = _proc_status()
    # Folders the embedded engine moved aside at start (unreadable write-ahead log).
    stats["quarantined"] = list(getattr(services.stores.engine, "quarantined", []))
    return stats
