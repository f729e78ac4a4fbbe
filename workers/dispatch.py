"""The Celery-backed ``Dispatcher`` the API uses to enqueue work."""

from __future__ import annotations

from typing import Any

from celery import Celery

from app.core.errors import Unavailable


class CeleryDispatcher:
    def __init__(self, celery: Celery, queue: str) -> None:
        self._celery = celery
        self._queue = queue

    def _send(self, name: str, args: list[Any]) -> None:
        try:
            self._celery.send_task(name, args=args, queue=self._queue, retry=False)
        except Exception as exc:  # kombu raises many types for a down broker
            raise Unavailable(f"task queue unavailable: {exc}") from exc

    def ingest(self, tenant: str, doc_id: str, version: int) -> None:
        self._send("chronorag.ingest_document", [tenant, doc_id, version])

    def delete(self, tenant: str, doc_id: str) -> None:
        self._send("chronorag.delete_document", [tenant, doc_id])

    def backlog(self) -> int:
        """Messages waiting in the queue (Redis list length); 0 when it cannot be read."""
        try:
            with self._celery.connection_for_write() as conn:
                channel = conn.default_channel
                return int(channel.client.llen(self._queue)) if hasattr(channel, "client") else 0
        except Exception:
            return 0
