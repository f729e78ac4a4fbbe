"""How the API asks workers to do something, without importing the workers package."""

from __future__ import annotations

from typing import Protocol


class Dispatcher(Protocol):
    """Enqueues work. Implementations must raise ``Unavailable`` when the queue is down."""

    def ingest(self, tenant: str, doc_id: str, version: int) -> None: ...

    def delete(self, tenant: str, doc_id: str) -> None: ...

    def summarize(self, tenant: str, labels: list[str], countdown_s: float) -> None: ...

    def backlog(self) -> int: ...

    def queued_documents(self) -> set[tuple[str, str]] | None:
        """``(tenant, doc_id)`` with an ingest or delete task waiting; None if unknowable."""
        ...
