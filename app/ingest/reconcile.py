"""Drive documents that were recorded but never finished (lost queue, killed worker) to the end."""

from __future__ import annotations

import logging
import time

from app.core.dispatch import Dispatcher
from app.core.errors import Unavailable
from app.stores.documents import QdrantDocumentStore

log = logging.getLogger(__name__)


class Reconciler:
    """Re-dispatches pending and half-deleted documents older than ``stale_after_s``.

    Safe to run anywhere and often: tasks are idempotent, so a document that was merely slow
    gets a duplicate task that turns into a no-op. ``chronorag serve`` runs it in a thread every
    ``reconcile_every_s`` with ``stale_after_s=reconcile_stale_after_s``; in the distributed
    topology Celery beat sends the ``chronorag.reconcile`` task on the same schedule.
    """

    def __init__(
        self, documents: QdrantDocumentStore, dispatcher: Dispatcher, stale_after_s: float
    ) -> None:
        self._documents = documents
        self._dispatcher = dispatcher
        self._stale_after_s = stale_after_s

    def run_once(self, stale_after_s: float | None = None) -> int:
        """One pass; returns how many documents were re-dispatched.

        While work is queued, a stale record may just be waiting its turn; re-dispatching every
        such record would double a long queue. So then only records with no task in the queue
        are re-dispatched (their task was lost), and where the queue cannot be read (the
        in-memory broker) the pass waits for it to drain. The queue is read only when there
        are stale records to check against it.

        Args:
            stale_after_s: Overrides the configured staleness for this pass (0 at start-up,
                when an in-memory queue is known to be empty).
        """
        age = self._stale_after_s if stale_after_s is None else stale_after_s
        redone = 0
        try:
            stale = self._documents.with_status(["pending", "deleting"], time.time() - age)
            queued: set[tuple[str, str]] = set()
            if stale and self._dispatcher.backlog() > 0:
                readable = self._dispatcher.queued_documents()
                if readable is None:
                    return 0
                queued = readable
            for record in stale:
                if (record.tenant, record.doc_id) in queued:
                    continue
                if record.status == "pending":
                    self._dispatcher.ingest(record.tenant, record.doc_id, record.version)
                else:
                    self._dispatcher.delete(record.tenant, record.doc_id)
                redone += 1
        except Unavailable as exc:
            log.warning("reconciler: queue unavailable (%s); will try again", exc)
        if redone:
            log.info("reconciler re-dispatched %d documents", redone)
        return redone
