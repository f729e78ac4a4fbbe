"""``build_services(settings)``: the one factory that wires stores, models and services."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from app.core.dispatch import Dispatcher
from app.core.settings import Settings
from app.ingest.embedding import Embedder, SentenceTransformerEmbedder
from app.stores.chunks import QdrantChunkStore
from app.stores.documents import QdrantDocumentStore
from app.stores.engines import ClientEngine, EdgeEngine, Engine
from app.stores.lexical import Bm25Encoder
from app.stores.locks import LocalLocker, Locker, RedisLocker

log = logging.getLogger(__name__)


@dataclass
class Stores:
    engine: Engine
    documents: QdrantDocumentStore
    chunks: QdrantChunkStore


def build_engine(settings: Settings) -> Engine:
    """The embedded engine unless a Qdrant URL is configured."""
    if settings.qdrant_url:
        return ClientEngine(settings.qdrant_url, settings.qdrant_api_key)
    return EdgeEngine(settings.data_dir / "qdrant")


def build_embedder(settings: Settings) -> Embedder:
    return SentenceTransformerEmbedder(
        settings.embedding_model,
        device=settings.embedding_device,
        batch_size=settings.embedding_batch_size,
        threads=settings.embedding_threads,
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

    def close(self) -> None:
        self.stores.engine.close()


def build_services(
    settings: Settings, *, embedder: Embedder | None = None, engine: Engine | None = None
) -> Services:
    embedder = embedder or build_embedder(settings)
    engine = engine or build_engine(settings)
    stores = build_stores(settings, engine, embedder.dimension)
    redis_client = build_redis(settings)
    locker: Locker = RedisLocker(redis_client) if redis_client is not None else LocalLocker()
    return Services(
        settings=settings,
        stores=stores,
        embedder=embedder,
        lexical=Bm25Encoder(),
        locker=locker,
        redis=redis_client,
    )


def build_redis(settings: Settings) -> Any | None:
    if not settings.redis_url:
        return None
    import redis

    return redis.Redis.from_url(settings.redis_url, socket_timeout=10, socket_connect_timeout=5)
