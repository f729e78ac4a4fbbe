"""Celery tasks: thin, like web views. Take ids, set the retry/ack policy, call the pipeline."""

from __future__ import annotations

import logging
from typing import Any

from celery import shared_task

from app.core.errors import ConfigurationError, Unavailable
from app.ingest.reconcile import Reconciler
from workers.dispatch import CeleryDispatcher
from workers.offload import EMBED_TASK, encode_vectors, send_reply
from workers.runtime import runtime_of

log = logging.getLogger(__name__)

try:  # transient failures worth a retry; never invalid input
    import httpx
    import redis

    TRANSIENT: tuple[type[BaseException], ...] = (
        Unavailable,
        ConnectionError,
        TimeoutError,
        redis.ConnectionError,
        redis.TimeoutError,
        httpx.TransportError,
    )
except ImportError:  # pragma: no cover
    TRANSIENT = (Unavailable, ConnectionError, TimeoutError)

TASK_OPTIONS: dict[str, Any] = {
    "bind": True,
    "acks_late": True,
    "reject_on_worker_lost": True,
    "max_retries": 5,
}


@shared_task(name="chronorag.ingest_document", **TASK_OPTIONS)
def ingest_document(self: Any, tenant: str, doc_id: str, version: int) -> str:
    """Index one document version; idempotent, so redelivery after a crash is harmless."""
    pipeline = runtime_of(self.app).get().pipeline
    try:
        return pipeline.ingest(tenant, doc_id, version)
    except TRANSIENT as exc:
        if self.request.retries >= self.max_retries:
            pipeline.mark_failed(tenant, doc_id, version, f"gave up after retries: {exc}")
            return "failed"
        raise self.retry(exc=exc, countdown=min(60, 2 ** (self.request.retries + 1))) from exc
    except Exception as exc:
        log.exception("ingest of %s v%d failed", doc_id, version)
        pipeline.mark_failed(tenant, doc_id, version, f"{type(exc).__name__}: {exc}")
        return "failed"


@shared_task(name="chronorag.delete_document", **TASK_OPTIONS)
def delete_document(self: Any, tenant: str, doc_id: str) -> str:
    """Remove everything derived from a document; idempotent."""
    pipeline = runtime_of(self.app).get().pipeline
    try:
        return pipeline.delete(tenant, doc_id)
    except TRANSIENT as exc:
        raise self.retry(exc=exc, countdown=min(60, 2 ** (self.request.retries + 1))) from exc


@shared_task(name="chronorag.summarize_time_nodes", **TASK_OPTIONS)
def summarize_time_nodes(self: Any, tenant: str, labels: list[str]) -> int:
    """Re-summarise dirty time nodes (debounced by the scheduler, one lock per node)."""
    rt = runtime_of(self.app).get()
    if rt.graph.scheduler is not None:
        rt.graph.scheduler.release(tenant, labels)
    try:
        return rt.graph.summaries.run(tenant, labels)
    except TRANSIENT as exc:
        raise self.retry(exc=exc, countdown=min(60, 2 ** (self.request.retries + 1))) from exc


@shared_task(name=EMBED_TASK, bind=True, acks_late=False, ignore_result=True)
def embed_texts(self: Any, texts: list[str], reply_to: str) -> None:
    """Vectors for an offloading worker (see ``workers.offload``), pushed to ``reply_to``.

    Not acks_late: the caller waits with a timeout and its own task retries, so a message lost
    with this worker only costs that retry. Runs through the process's batcher, so concurrent
    calls from many CPU workers share one batch on the device.
    """
    side = runtime_of(self.app).embed_side()
    settings = side.settings
    try:
        if side.embedder is None:  # its embedder is this very queue: never loop to self
            raise ConfigurationError(
                "this worker offloads embeddings (CHRONORAG_EMBEDDING_OFFLOAD=true) and so "
                "cannot serve the embed queue; start embed workers without it"
            )
        message = {"vectors": encode_vectors(side.embedder.embed_documents(texts))}
    except Exception as exc:
        log.exception("embedding %d texts for %s failed", len(texts), reply_to)
        message = {"error": f"{type(exc).__name__}: {exc}"}
    send_reply(side.redis, reply_to, message, settings.embed_timeout_s)


@shared_task(name="chronorag.reconcile", bind=True, acks_late=False, ignore_result=True)
def reconcile(self: Any) -> int:
    """Re-dispatch documents left pending or half-deleted (beat sends this periodically).

    Not acks_late: a pass lost with its worker is simply the next pass. Safe to run from many
    workers at once, since every task it dispatches is idempotent.
    """
    rt = runtime_of(self.app).get()
    settings = rt.services.settings
    dispatcher = rt.services.dispatcher
    if dispatcher is None:
        dispatcher = CeleryDispatcher(self.app, settings.celery_queue)
    reconciler = Reconciler(
        rt.services.stores.documents, dispatcher, stale_after_s=settings.reconcile_stale_after_s
    )
    return reconciler.run_once()
