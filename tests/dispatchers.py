"""A dispatcher that sends nothing, for tests that drive the pipeline or backpressure directly."""

from __future__ import annotations


class IdleDispatcher:
    """Enqueues nothing; ``size`` is what ``backlog()`` reports. Subclass to act on a call."""

    def __init__(self, size: int = 0) -> None:
        self.size = size

    def ingest(self, tenant: str, doc_id: str, version: int) -> None: ...

    def delete(self, tenant: str, doc_id: str) -> None: ...

    def summarize(self, tenant: str, labels: list[str], countdown_s: float) -> None: ...

    def backlog(self) -> int:
        return self.size

    def queued_documents(self) -> set[tuple[str, str]] | None:
        return None
