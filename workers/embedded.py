"""The one-process topology: API + a Celery worker + embedded Qdrant in one process.

An embedded Qdrant folder belongs to one process, so the worker lives inside the API process
here. It consumes the real Redis broker when one is configured (so queued work survives a
restart), or Celery's in-memory transport otherwise. The task code is the same that separate
``celery worker`` processes run against a Qdrant server.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field
from typing import Any

from celery import Celery
from fastapi import FastAPI

from app.api.main import create_api
from app.core.settings import Settings
from app.ingest.reconcile import Reconciler
from app.services import Services
from app.wiring import (
    build_api_context,
    build_composer,
    build_reconciler,
    build_runtime,
    build_services,
)
from workers.celery_app import create_celery
from workers.dispatch import CeleryDispatcher
from workers.runtime import runtime_of
from workers.stream import StreamConsumer

log = logging.getLogger(__name__)


@dataclass
class Node:
    """Everything one serve process runs; ``stop()`` shuts it down cleanly."""

    settings: Settings
    services: Services
    celery: Celery
    api: FastAPI
    reconciler: Reconciler
    stream: StreamConsumer | None = None
    _threads: list[threading.Thread] = field(default_factory=list)
    _worker: Any = None
    _stop: threading.Event = field(default_factory=threading.Event)

    def start_worker(self) -> None:
        import workers.tasks  # noqa: F401  (registers the shared tasks)

        s = self.settings
        # Pool threads find their app as Celery's default (`workers.runtime` module doc).
        self.celery.set_default()
        self._worker = self.celery.WorkController(
            pool_cls="threads",
            concurrency=s.embedded_worker_concurrency,
            without_heartbeat=True,
            without_mingle=True,
            without_gossip=True,
            queues=[s.celery_queue],
            loglevel="INFO",
        )
        thread = threading.Thread(target=self._worker.start, name="celery-worker", daemon=True)
        thread.start()
        self._threads.append(thread)

    def start_reconciler(self, every_s: float | None = None) -> None:
        """Re-dispatch unfinished documents now (an in-memory queue starts empty after a
        restart) and then every ``reconcile_every_s``."""
        every_s = every_s or self.settings.reconcile_every_s

        def loop() -> None:
            try:
                self.reconciler.run_once(stale_after_s=0)
            except Exception:
                log.exception("start-up reconcile failed")
            while not self._stop.wait(every_s):
                try:
                    self.reconciler.run_once()
                except Exception:
                    log.exception("reconciler pass failed")

        thread = threading.Thread(target=loop, name="reconciler", daemon=True)
        thread.start()
        self._threads.append(thread)

    def start_stream_consumer(self) -> None:
        """Read the Redis intake stream in a thread (no-op without Redis or when disabled)."""
        if self.stream is None:
            return
        stream = self.stream
        thread = threading.Thread(
            target=lambda: stream.run(self._stop), name="stream-consumer", daemon=True
        )
        thread.start()
        self._threads.append(thread)

    def stop(self) -> None:
        self._stop.set()
        for thread in self._threads:
            if thread.name == "stream-consumer":  # let it finish its batch before stores close
                thread.join(self.settings.stream_block_ms / 1000 + 10)
        if self._worker is not None:
            self._worker.stop(in_sighandler=False)
        self.services.close()


def build_node(settings: Settings, services: Services | None = None) -> Node:
    """One serve process: the composition root's runtime and API context, a Celery app whose
    tasks run against that runtime, the reconciler and the stream consumer."""
    composer = build_composer(settings)  # before the model loads: a bad LLM setting fails fast
    services = services or build_services(settings)
    celery = create_celery(settings)
    dispatcher = CeleryDispatcher(celery, settings.celery_queue)
    rt = build_runtime(services, dispatcher)
    runtime_of(celery).install(rt)
    context = build_api_context(rt, dispatcher, composer)
    stream = None
    if services.redis is not None and settings.stream_enabled:
        stream = StreamConsumer(settings, services.redis, context.intake, dispatcher)
    return Node(
        settings,
        services,
        celery,
        create_api(context),
        build_reconciler(services, dispatcher),
        stream,
    )
