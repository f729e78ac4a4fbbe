"""BM25 sparse vectors (Qdrant's own tokenizer and stemmer), for both engines."""

from __future__ import annotations

from typing import Any

from app.stores.engines import SparseVec


class Bm25Encoder:
    """Documents get term-frequency weights; Qdrant applies IDF at search time (Modifier.Idf)."""

    def __init__(self) -> None:
        import qdrant_edge as qe

        self._model: Any = qe.Bm25(qe.Bm25Config(language="english", avg_len=120.0))

    def document(self, text: str) -> SparseVec:
        vec = self._model.embed_document(text)
        return SparseVec(list(vec.indices), list(vec.values))

    def query(self, text: str) -> SparseVec:
        vec = self._model.embed_query(text)
        return SparseVec(list(vec.indices), list(vec.values))
