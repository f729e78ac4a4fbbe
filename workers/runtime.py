"""The per-process state tasks run against: services, pipeline and graph, built once.

A standalone ``celery worker`` builds its own from settings on the first task; the embedded
runner installs the one it already built, so API and worker share one embedded Qdrant. The
``embed`` queue needs far less (``get_embed_side``): an embed-only GPU worker loads the model
and never opens the stores or builds the graph.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any

from app.core.dispatch import Dispatcher
from app.core.services import Services, build_batcher, build_embedder, build_redis, build_services
from app.core.settings import Settings, get_settings
from app.graph_index import Graph, build_graph
from app.ingest.embedding import Embedder, SentenceTransformerTokenizer
from app.ingest.pipeline import IngestPipeline
from workers.offload import QueueEmbedder


@dataclass
class Runtime:
    services: Services
    pipeline: IngestPipeline
    graph: Graph


@dataclass(frozen=True)
class EmbedSide:
    """What ``chronorag.embed_texts`` needs: the process's batcher and a Redis client.

    ``embedder`` is None in a process that offloads its own embeddings: it must never answer
    the embed queue (it would send the work to itself), and loading a model to refuse is waste.
    """

    settings: Settings
    embedder: Embedder | None
    redis: Any


_lock = threading.Lock()
_runtime: Runtime | None = None
_embed_side: EmbedSide | None = None


def get_embed_side() -> EmbedSide:
    """The full runtime's batcher when there is one, else a batcher of its own (built once).

    A worker on ``--queues embed,ingest`` that gets an embed task first builds this, and its
    runtime later reuses the same batcher (``get_runtime``): one model in memory, and ingest
    and embed calls still share batches.
    """
    global _embed_side
    with _lock:
        if _runtime is not None:
            s = _runtime.services
            offloads = s.settings.embedding_offload
            return EmbedSide(s.settings, None if offloads else s.embedder, s.redis)
        if _embed_side is None:
            settings = get_settings()
            _embed_side = EmbedSide(
                settings,
                None
                if settings.embedding_offload
                else build_batcher(settings, build_embedder(settings)),
                build_redis(settings),
            )
        return _embed_side


def build_runtime(services: Services, dispatcher: Dispatcher) -> Runtime:
    services.dispatcher = dispatcher
    debounce = services.settings.summary_debounce_s

    def send(tenant: str, labels: list[str]) -> None:
        dispatcher.summarize(tenant, labels, debounce)

    graph = build_graph(services, send)
    indexers = [graph.indexer] if services.settings.fact_extraction else []
    return Runtime(services=services, pipeline=IngestPipeline(services, indexers), graph=graph)


def install(runtime: Runtime) -> None:
    global _runtime
    with _lock:
        _runtime = runtime


def current() -> Runtime | None:
    """The process's runtime if one was built or installed; never builds one."""
    with _lock:
        return _runtime


def get_runtime() -> Runtime:
    """The process's runtime; a standalone worker builds it from settings on first use."""
    global _runtime
    with _lock:
        if _runtime is None:
            from celery import current_app

            from workers.dispatch import CeleryDispatcher

            settings = get_settings()
            dispatcher = CeleryDispatcher(current_app, settings.celery_queue)
            embedder: Embedder | None = None
            if settings.embedding_offload:  # the model runs on the embed workers: no torch here
                embedder = QueueEmbedder(
                    current_app,
                    settings.redis_url or "",
                    settings.embed_queue,
                    SentenceTransformerTokenizer(settings.embedding_model),
                    settings.embed_timeout_s,
                )
            elif _embed_side is not None:  # an embed task came first: share its batcher
                embedder = _embed_side.embedder
            services = build_services(settings, embedder=embedder)
            _runtime = build_runtime(services, dispatcher)
        return _runtime
