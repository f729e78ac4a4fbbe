"""The Celery-backed ``Dispatcher`` the API uses to enqueue work."""

from __future__ import annotations

import base64
import json
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

    def queued_documents(self) -> set[tuple[str, str]] | None:
        """``(tenant, doc_id)`` of every ingest or delete task waiting in the broker's queue.

        Lets the reconciler tell a document that is merely behind a long queue from one whose
        task was lost (taken by a worker that was then killed), without waiting for the queue to
        drain. Read with ``LRANGE`` from the Redis lists the transport keeps per priority step.
        None where that cannot be known: the in-memory transport (whose queue dies with the only
        process that could consume it), or a broker that does not answer.
        """
        if not str(self._celery.conf.broker_url).startswith(("redis://", "rediss://", "unix://")):
            return None
        from kombu.transport.redis import PRIORITY_STEPS, Channel

        names = [self._queue] + [f"{self._queue}{Channel.sep}{p}" for p in PRIORITY_STEPS if p]
        found: set[tuple[str, str]] = set()
        try:
            with self._celery.pool.acquire(block=True, timeout=5) as conn:
                client = conn.default_channel.client
                for name in names:
                    for raw in client.lrange(name, 0, -1):
                        key = _document_of(raw)
                        if key is not None:
                            found.add(key)
        except Exception as exc:  # kombu and redis raise many types for a down broker
            log.warning("cannot read the queue %r: %s", self._queue, exc)
            return None
        return found


_DOCUMENT_TASKS = ("chronorag.ingest_document", "chronorag.delete_document")


def _document_of(raw: bytes | str) -> tuple[str, str] | None:
    """The ``(tenant, doc_id)`` a queued Celery message (protocol 2) is about, if any."""
    try:
        message = json.loads(raw)
        if message.get("headers", {}).get("task") not in _DOCUMENT_TASKS:
            return None
        body: Any = message["body"]
        if message.get("properties", {}).get("body_encoding") == "base64":
            body = base64.b64decode(body)
        args = json.loads(body)[0]
        return str(args[0]), str(args[1])
    except (ValueError, KeyError, IndexError, TypeError):
        return None
