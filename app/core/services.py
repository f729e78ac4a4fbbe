"""``build_services(settings)``: the one factory that wires stores, models and services."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from app.core.dispatch import Dispatcher
from app.core.metrics import StageTimer
from app.core.settings import Settings
from app.ingest.batching import EmbeddingBatcher, QueryEncode
from app.ingest.embedding import Embedder, SentenceTransformerEmbedder
from app.stores.chunks import QdrantChunkStore
from app.stores.documents import QdrantDocumentStore
from app.stores.engines import ClientEngine, EdgeEngine, Engine
from app.stores.lexical import Bm25Encoder
from app.stores.locks import LocalLocker, Locker, RedisLocker
from graph.nlp import SpacyAnnotator, TextAnnotator, check_installed

log = logging.getLogger(__name__)


@dataclass
class Stores:
    engine: Engine
    documents: QdrantDocumentStore
    chunks: QdrantChunkStore


def build_engine(settings: Settings) -> Engine:
    """The embedded engine unless a Qdrant URL is configured."""
    if settings.qdrant_url:
        return ClientEngine(settings.qdrant_url, settings.qdrant_api_key, settings.search_hnsw_ef)
    return EdgeEngine(settings.data_dir / "qdrant", settings.search_hnsw_ef)


def build_embedder(settings: Settings) -> SentenceTransformerEmbedder:
    return SentenceTransformerEmbedder(
        settings.embedding_model,
        device=settings.embedding_device,
        batch_size=settings.embedding_batch_size,
        threads=settings.embedding_threads,
    )


class LazyQueryEncoder:
    """Builds the query encoder at its first use, once, under a lock.

    Worker processes never embed a question, so they never pay for the ONNX export or session;
    the API builds it at start-up (``create_api`` warms it), so a broken export still fails
    the process before it serves anything.
    """

    def __init__(self, build: Callable[[], QueryEncode]) -> None:
        self._build = build
        self._encoder: QueryEncode | None = None
        self._lock = threading.Lock()

    def ready(self) -> QueryEncode:
        encoder = self._encoder
        if encoder is None:
            with self._lock:
                if self._encoder is None:
                    self._encoder = self._build()
                encoder = self._encoder
        return encoder

    def __call__(self, text: str) -> np.ndarray:
        return self.ready()(text)


def build_query_encoder(
    settings: Settings, embedder: SentenceTransformerEmbedder
) -> LazyQueryEncoder | None:
    """The ONNX query encoder when configured (CPU only); None means the torch model."""
    if settings.query_encoder == "torch":
        return None
    if embedder.device.device != "cpu":
        log.warning(
            "query_encoder=%s applies on CPU; queries use torch on %s",
            settings.query_encoder,
            embedder.device.device,
        )
        return None

    def build() -> QueryEncode:
        from app.ingest.onnx_query import OnnxQueryEncoder

        return OnnxQueryEncoder(
            embedder.sentence_transformer,
            settings.data_dir / "models",
            model_name=settings.embedding_model,
            precision="int8" if settings.query_encoder == "onnx-int8" else "fp32",
        )

    return LazyQueryEncoder(build)


def build_batcher(
    settings: Settings, embedder: Embedder, query_encoder: QueryEncode | None = None
) -> EmbeddingBatcher:
    """Every caller in the process shares one batcher, so concurrent ingest tasks share batches."""
    return EmbeddingBatcher(
        embedder,
        max_batch=settings.embedding_batch_size,
        max_wait_s=settings.embedding_batch_wait_ms / 1000.0,
        query_encoder=query_encoder,
        query_cache_size=settings.query_cache_size,
    )


def build_stores(settings: Settings, engine: Engine, dim: int) -> Stores:
    prefix = settings.collection_prefix
    return Stores(
        engine=engine,
        documents=QdrantDocumentStore(engine, prefix),
        chunks=QdrantChunkStore(engine, prefix, dim),
    )


@dataclass
class Services:
    """Everything a request handler or a task needs, built once per process."""

    settings: Settings
    stores: Stores
    embedder: Embedder
    lexical: Bm25Encoder
    locker: Locker
    redis: Any | None = None
    dispatcher: Dispatcher | None = None
    metrics: StageTimer = field(default_factory=StageTimer)
    # The batcher build_services made (and so stops); a caller's own batcher is left running.
    own_batcher: EmbeddingBatcher | None = None
    # Entities and sentences of each chunk at ingest (graph/nlp.py); None with CHRONORAG_NLP=off.
    annotator: TextAnnotator | None = None

    def close(self) -> None:
        if self.own_batcher is not None:
            self.own_batcher.close()
        self.stores.engine.close()


def build_services(
    settings: Settings, *, embedder: Embedder | None = None, engine: Engine | None = None
) -> Services:
    """Wire one process's services.

    The embedder is always wrapped in an ``EmbeddingBatcher`` (micro-batching across concurrent
    ingest tasks). A passed-in embedder answers queries itself; one built here from settings
    answers them with the ONNX encoder when ``query_encoder`` says so.
    """
    own: EmbeddingBatcher | None = None
    if embedder is None:
        model = build_embedder(settings)
        embedder = own = build_batcher(settings, model, build_query_encoder(settings, model))
    elif not isinstance(embedder, EmbeddingBatcher):
        embedder = own = build_batcher(settings, embedder)
    engine = engine or build_engine(settings)
    stores = build_stores(settings, engine, embedder.dimension)
    redis_client = build_redis(settings)
    locker: Locker = RedisLocker(redis_client) if redis_client is not None else LocalLocker()
    services = Services(
        settings=settings,
        stores=stores,
        embedder=embedder,
        lexical=Bm25Encoder(),
        locker=locker,
        redis=redis_client,
        own_batcher=own,
        annotator=build_annotator(settings),
    )
    if embedder.on_batch is None:  # a caller's shared batcher keeps the first one's metrics
        embedder.on_batch = services.metrics.batch
    return services


def build_annotator(settings: Settings) -> TextAnnotator | None:
    """The NLP layer ``nlp`` asks for; its model loads at the first document, not here.

    Raises:
        RuntimeError: If ``nlp="spacy"`` and spaCy or the model package is not installed (the
            message says what to install, or to set ``CHRONORAG_NLP=off``).
    """
    if settings.nlp == "off":
        return None
    check_installed(settings.nlp_model)
    return SpacyAnnotator(settings.nlp_model)


def build_redis(settings: Settings) -> Any | None:
    if not settings.redis_url:
        return None
    import redis

    return redis.Redis.from_url(settings.redis_url, socket_timeout=10, socket_connect_timeout=5)
