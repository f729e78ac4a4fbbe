"""The per-process state tasks run against: services, pipeline and graph, built once.

A standalone ``celery worker`` builds its own from settings on the first task; the embedded
runner installs the one it already built, so API and worker share one embedded Qdrant.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

from app.core.dispatch import Dispatcher
from app.core.services import Services, build_services
from app.core.settings import get_settings
from app.graph_index import Graph, build_graph
from app.ingest.embedding import Embedder, SentenceTransformerTokenizer
from app.ingest.pipeline import IngestPipeline
from workers.offload import QueueEmbedder


@dataclass
class Runtime:
    services: Services
    pipeline: IngestPipeline
    graph: Graph


_lock = threading.Lock()
_runtime: Runtime | None = None


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
            services = build_services(settings, embedder=embedder)
            _runtime = build_runtime(services, dispatcher)
        return _runtime
