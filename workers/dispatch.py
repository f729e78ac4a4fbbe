"""The Celery-backed ``Dispatcher`` the API uses to enqueue work."""

from __future__ import annotations

import logging
from typing import Any

from celery import Celery
from kombu.exceptions import ChannelError

from app.core.errors import Unavailable

log = logging.getLogger(__name__)


class CeleryDispatcher:
    def __init__(self, celery: Celery, queue: str) -> None:
        self._celery = celery
        self._queue = queue

    def _send(self, name: str, args: list[Any], countdown: float | None = None) -> None:
        try:
            self._celery.send_task(
                name, args=args, queue=self._queue, retry=False, countdown=countdown
            )
        except Exception as exc:  # kombu raises many types for a down broker
            raise Unavailable(f"task queue unavailable: {exc}") from exc

    def ingest(self, tenant: str, doc_id: str, version: int) -> None:
        self._send("chronorag.ingest_document", [tenant, doc_id, version])

    def delete(self, tenant: str, doc_id: str) -> None:
        self._send("chronorag.delete_document", [tenant, doc_id])

    def summarize(self, tenant: str, labels: list[str], countdown_s: float) -> None:
        self._send("chronorag.summarize_time_nodes", [tenant, labels], countdown=countdown_s)

    def backlog(self) -> int:
        """Messages waiting in the queue, for backpressure and the reconciler.

        Celery's Redis transport keeps a queue as Redis lists named after it, one per priority
        step (``ingest``, ``ingest\\x06\\x163``, ...); a passive declare sums their lengths
        (``LLEN``), and counts the in-memory transport's queue the same way. Messages a worker
        already holds (prefetched, or waiting out a countdown) are not counted. A queue Redis
        has no list for (never used, or drained) is 0. An unreadable broker also reads as 0:
        then dispatch itself fails and intake leaves documents pending for the reconciler.
        """
        try:
            with self._celery.pool.acquire(block=True, timeout=5) as conn:
                declared = conn.default_channel.queue_declare(self._queue, passive=True)
                return int(declared.message_count)
        except ChannelError:  # no such queue: nothing waiting
            return 0
        except Exception as exc:  # kombu raises many types for a down broker
            log.warning("cannot read the backlog of %r: %s", self._queue, exc)
            return 0
