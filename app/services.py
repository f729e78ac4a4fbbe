"""The shared resources of one process: what request handlers and tasks reach.

Data only: `app.wiring` builds it. Components never take this bag; they take the
collaborators they use (a store, the embedder, the locker), which the composition root hands
them from here.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from app.core.dispatch import Dispatcher
from app.core.metrics import StageTimer
from app.core.settings import Settings
from app.embeddings.batching import EmbeddingBatcher
from app.embeddings.embedding import Embedder
from app.stores.chunks import QdrantChunkStore
from app.stores.documents import QdrantDocumentStore
from app.stores.engines import Engine
from app.stores.lexical import Bm25Encoder
from app.stores.locks import Locker
from app.stores.ttl import TtlStore
from graph.nlp import TextAnnotator


@dataclass
class Stores:
    engine: Engine
    documents: QdrantDocumentStore
    chunks: QdrantChunkStore


@dataclass
class Services:
    """Everything a request handler or a task needs, built once per process."""

    settings: Settings
    stores: Stores
    embedder: Embedder
    lexical: Bm25Encoder
    locker: Locker
    # Short-lived claims (summary debounce): Redis when configured, else in process.
    ttl: TtlStore
    redis: Any | None = None
    dispatcher: Dispatcher | None = None
    metrics: StageTimer = field(default_factory=StageTimer)
    # The batcher the composition root made (and so stops); a caller's own is left running.
    own_batcher: EmbeddingBatcher | None = None
    # Entities and sentences of each chunk at ingest (graph/nlp.py); None with CHRONORAG_NLP=off.
    annotator: TextAnnotator | None = None

    def close(self) -> None:
        if self.own_batcher is not None:
            self.own_batcher.close()
        self.stores.engine.close()
