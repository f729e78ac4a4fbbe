"""Coalescing summary requests on a `TtlStore`: a node already scheduled is not scheduled again."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from app.stores.ttl import TtlStore

_MARK = "1"


class DebouncedScheduler:
    """Sends a time node's summary request once per burst of updates.

    The claim is a short-lived key in the process's `TtlStore` (Redis when configured, so
    every worker sees it); it is released when the summary task starts, so an update arriving
    while a node is being summarised schedules one more run and is never missed.
    """

    def __init__(
        self, claims: TtlStore, send: Callable[[str, list[str]], None], debounce_s: float
    ) -> None:
        self._claims = claims
        self._send = send
        self._ttl_s = float(max(30, int(debounce_s * 10)))

    @staticmethod
    def _key(tenant: str, label: str) -> str:
        return f"chronorag:summary-scheduled:{tenant}:{label}"

    def schedule(self, tenant: str, labels: Sequence[str]) -> None:
        fresh = [
            label
            for label in labels
            if self._claims.claim(self._key(tenant, label), _MARK, self._ttl_s)
        ]
        if fresh:
            self._send(tenant, fresh)

    def release(self, tenant: str, labels: Sequence[str]) -> None:
        for label in labels:
            self._claims.delete_if(self._key(tenant, label), _MARK)
