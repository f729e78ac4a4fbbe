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

from app.api.context import ApiContext
from app.api.main import create_api
from app.core.services import Services, build_services
from app.core.settings import Settings
from app.ingest.backpressure import Backpressure
from app.ingest.idempotency import IdempotencyService
from app.ingest.intake import IntakeService
from app.ingest.reconcile import Reconciler
from app.ingest.webhooks import WebhookReceiver
from app.integrations.llm_answer import LLMAnswerComposer
from app.retrieval.service import QueryService
from app.stores.ttl import build_ttl_store, claims_path
from workers import runtime
from workers.celery_app import create_celery
from workers.dispatch import CeleryDispatcher
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
    # Before the model loads: a missing LLM setting fails in milliseconds, not after it.
    composer = LLMAnswerComposer.from_settings(settings) if settings.answer_mode == "llm" else None
    services = services or build_services(settings)
    celery = create_celery(settings)
    dispatcher = CeleryDispatcher(celery, settings.celery_queue)
    rt = runtime.build_runtime(services, dispatcher)
    runtime.install(rt)
    intake = IntakeService(settings, services.stores.documents, services.locker, dispatcher)
    backpressure = Backpressure(
        dispatcher, settings.max_backlog, settings.backpressure_retry_after_s
    )
    # Without Redis, webhook claims go to a file in the data folder: a delivery captured before
    # a restart must still be refused after it.
    durable = claims_path(settings.data_dir) if settings.webhook_secrets else None
    claims = build_ttl_store(services.redis, durable)
    context = ApiContext(
        services=services,
        intake=intake,
        queries=QueryService(services, rt.graph.answerer, composer),
        graph=rt.graph,
        backpressure=backpressure,
        idempotency=IdempotencyService(
            claims, ttl_s=settings.idempotency_ttl_s, prefix=settings.collection_prefix
        ),
        webhooks=WebhookReceiver(settings, claims, intake, backpressure),
    )
    reconciler = Reconciler(
        services.stores.documents, dispatcher, stale_after_s=settings.reconcile_stale_after_s
    )
    stream = None
    if services.redis is not None and settings.stream_enabled:
        stream = StreamConsumer(settings, services.redis, intake, dispatcher)
    return Node(settings, services, celery, create_api(context), reconciler, stream)
