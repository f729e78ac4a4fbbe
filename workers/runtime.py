"""The runtime a Celery app's tasks run against, held by that app (no process globals).

`create_celery` gives every app a `ProcessRuntime`. A standalone ``celery worker`` builds its
runtime from the app's settings on the first task; the embedded runner installs the one it
already built, so API and worker share one embedded Qdrant. The ``embed`` queue needs far less
(`ProcessRuntime.embed_side`): an embed-only GPU worker loads the model and never opens the
stores or builds the graph. Tasks find it through their own app (``runtime_of(self.app)``).
Celery's thread pool runs a task under the process's *default* app, so whatever starts a
worker makes its app the default first (``serve``, ``chronorag worker``, the ``celery``
program); apps without a worker (a test's eager calls) need no such step.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any, cast

from app.core.settings import Settings
from app.embeddings.embedding import Embedder, SentenceTransformerTokenizer
from app.wiring import (
    Runtime,
    build_batcher,
    build_embedder,
    build_redis,
    build_runtime,
    build_services,
)
from workers.offload import QueueEmbedder

_SLOT = "chronorag_runtime"


@dataclass(frozen=True)
class EmbedSide:
    """What ``chronorag.embed_texts`` needs: the process's batcher and a Redis client.

    ``embedder`` is None in a process that offloads its own embeddings: it must never answer
    the embed queue (it would send the work to itself), and loading a model to refuse is waste.
    """

    settings: Settings
    embedder: Embedder | None
    redis: Any


class ProcessRuntime:
    """One Celery app's runtime: installed by the embedded runner, or built on first use."""

    def __init__(self, celery: Any, settings: Settings) -> None:
        self._celery = celery
        self.settings = settings
        self._lock = threading.Lock()
        self._runtime: Runtime | None = None
        self._embed_side: EmbedSide | None = None

    def install(self, runtime: Runtime | None) -> None:
        """Use ``runtime`` for this app's tasks (None: build from settings at the next task)."""
        with self._lock:
            self._runtime = runtime

    def current(self) -> Runtime | None:
        """The runtime if one was built or installed; never builds one."""
        with self._lock:
            return self._runtime

    def get(self) -> Runtime:
        """The runtime; a standalone worker builds it from settings on first use."""
        with self._lock:
            if self._runtime is None:
                from workers.dispatch import CeleryDispatcher

                settings = self.settings
                dispatcher = CeleryDispatcher(self._celery, settings.celery_queue)
                embedder: Embedder | None = None
                if settings.embedding_offload:  # the model runs on the embed workers: no torch
                    embedder = QueueEmbedder(
                        self._celery,
                        settings.redis_url or "",
                        settings.embed_queue,
                        SentenceTransformerTokenizer(settings.embedding_model),
                        settings.embed_timeout_s,
                    )
                elif self._embed_side is not None:  # an embed task came first: share its batcher
                    embedder = self._embed_side.embedder
                services = build_services(settings, embedder=embedder)
                self._runtime = build_runtime(services, dispatcher)
            return self._runtime

    def embed_side(self) -> EmbedSide:
        """The full runtime's batcher when there is one, else a batcher of its own (built once).

        A worker on ``--queues embed,ingest`` that gets an embed task first builds this, and its
        runtime later reuses the same batcher (`get`): one model in memory, and ingest and
        embed calls still share batches.
        """
        with self._lock:
            if self._runtime is not None:
                s = self._runtime.services
                offloads = s.settings.embedding_offload
                return EmbedSide(s.settings, None if offloads else s.embedder, s.redis)
            if self._embed_side is None:
                settings = self.settings
                self._embed_side = EmbedSide(
                    settings,
                    None
                    if settings.embedding_offload
                    else build_batcher(settings, build_embedder(settings)),
                    build_redis(settings),
                )
            return self._embed_side


def attach(celery: Any, settings: Settings) -> ProcessRuntime:
    """Give ``celery`` its runtime holder (`create_celery` calls this once per app)."""
    holder = ProcessRuntime(celery, settings)
    setattr(celery.conf, _SLOT, holder)
    return holder


def runtime_of(celery: Any) -> ProcessRuntime:
    """The runtime holder of the app a task runs in."""
    return cast(ProcessRuntime, getattr(celery.conf, _SLOT))
