"""The per-process state tasks run against: services and pipeline, built once.

A standalone ``celery worker`` builds its own from settings on the first task; the embedded
runner installs the one it already built, so API and worker share one embedded Qdrant.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

from app.core.services import Services, build_services
from app.core.settings import get_settings
from app.ingest.pipeline import IngestPipeline, KnowledgeIndexer


@dataclass
class Runtime:
    services: Services
    pipeline: IngestPipeline


_lock = threading.Lock()
_runtime: Runtime | None = None


def build_runtime(services: Services, indexers: list[KnowledgeIndexer] | None = None) -> Runtime:
    from app.graph_index import build_graph_indexers

    indexers = indexers if indexers is not None else build_graph_indexers(services)
    return Runtime(services=services, pipeline=IngestPipeline(services, indexers))


def install(runtime: Runtime) -> None:
    global _runtime
    with _lock:
        _runtime = runtime


def get_runtime() -> Runtime:
    global _runtime
    with _lock:
        if _runtime is None:
            _runtime = build_runtime(build_services(get_settings()))
        return _runtime
