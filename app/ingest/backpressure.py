"""Backpressure: refuse new intake while the ingest queue is longer than the workers can drain."""

from __future__ import annotations

from app.core.dispatch import Dispatcher
from app.core.errors import Overloaded


class Backpressure:
    """Answers 429 with Retry-After once the backlog exceeds ``max_backlog``.

    Refusing at the door keeps the queue, Redis memory and time-to-searchable bounded; clients
    (``chronorag ingest`` included) wait ``Retry-After`` seconds and send again. Reads are not
    limited. The check is advisory, not a reservation: concurrent requests may each pass it
    and overshoot the limit by at most their number.
    """

    def __init__(self, dispatcher: Dispatcher, max_backlog: int, retry_after_s: int) -> None:
        self._dispatcher = dispatcher
        self._max_backlog = max_backlog
        self._retry_after_s = retry_after_s

    def check(self) -> None:
        """Raise ``Overloaded`` when more than ``max_backlog`` tasks wait in the ingest queue."""
        backlog = self._dispatcher.backlog()
        if backlog > self._max_backlog:
            raise Overloaded(
                f"the ingest backlog is {backlog} tasks, above the limit of {self._max_backlog} "
                f"(CHRONORAG_MAX_BACKLOG); retry after {self._retry_after_s} s",
                retry_after_s=self._retry_after_s,
            )
