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
        self.dispatcher = dispatcher
        self._stale_after_s = stale_after_s

    def run_once(self) -> int:
        """One pass; returns how many documents were re-dispatched.

        While work is queued, a stale record may just be waiting its turn; re-dispatching every
        such record would double a long queue. So then only records with no task in the queue
        are re-dispatched (their task was lost), and where the queue cannot be read (the
        in-memory broker) the pass waits for it to drain.
        """
        cutoff = time.time() - self._stale_after_s
        redone = 0
        queued: set[tuple[str, str]] = set()
        if self.dispatcher.backlog() > 0:
            readable = self.dispatcher.queued_documents()
            if readable is None:
                return 0
            queued = readable
        try:
            for record in self._documents.with_status(["pending", "deleting"], cutoff):
                if (record.tenant, record.doc_id) in queued:
                    continue
                if record.status == "pending":
                    self.dispatcher.ingest(record.tenant, record.doc_id, record.version)
                else:
                    self.dispatcher.delete(record.tenant, record.doc_id)
                redone += 1
        except Unavailable as exc:
            log.warning("reconciler: queue unavailable (%s); will try again", exc)
        if redone:
            log.info("reconciler re-dispatched %d documents", redone)
        return redone
