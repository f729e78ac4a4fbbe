"""Run the calls that pile up behind a busy resource as one batch (leader/follower).

The embedded Qdrant engine keeps the GIL while it searches, so concurrent queries in one
process run one after another however many threads ask; but one ``query_batch`` of eight
searches costs about what three single ones do (one pass over the vectors scores them all).
So the first caller runs its own requests at once (no added latency when alone), and callers
arriving meanwhile queue up; when it finishes, the first of them takes everything queued
(up to ``max_items``) in one call, and so on. Under load batches grow by themselves; nobody
waits on a timer.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Generic, TypeVar

T = TypeVar("T")
R = TypeVar("R")


@dataclass
class _Slot(Generic[T, R]):
    items: Sequence[T]
    wake: threading.Event = field(default_factory=threading.Event)
    results: list[R] | None = None
    error: BaseException | None = None


@dataclass
class CoalescerStats:
    calls: int = 0
    batches: int = 0
    items: int = 0
    largest: int = 0

    def as_dict(self) -> dict[str, float]:
        return {
            "calls": self.calls,
            "batches": self.batches,
            "items": self.items,
            "mean_batch": round(self.items / self.batches, 2) if self.batches else 0.0,
            "largest_batch": self.largest,
        }


class Coalescer(Generic[T, R]):
    """Funnels concurrent ``submit`` calls into ``run(items) -> results`` (same order).

    Args:
        run: Does the work for a batch; returns one result per item, in order. An exception
            fails every caller whose items were in that batch.
        max_items: The most items one batch takes; a caller's items are never split.
    """

    def __init__(self, run: Callable[[list[T]], list[R]], max_items: int = 64) -> None:
        self._run = run
        self._max_items = max_items
        self._lock = threading.Lock()
        self._queue: deque[_Slot[T, R]] = deque()
        self._busy = False
        self.stats = CoalescerStats()

    def submit(self, items: Sequence[T]) -> list[R]:
        """Results for ``items``, computed alone or together with other callers' items."""
        if not items:
            return []
        slot: _Slot[T, R] = _Slot(items)
        with self._lock:
            self.stats.calls += 1
            self._queue.append(slot)
            lead = not self._busy
            self._busy = True
        if not lead:
            slot.wake.wait()
            if slot.results is not None or slot.error is not None:
                return self._outcome(slot)
            # Woken without results: the previous leader handed this thread the next batch.
        self._lead()
        return self._outcome(slot)

    def _lead(self) -> None:
        """Run one batch (this thread's slot is first in the queue), then pass the baton on."""
        with self._lock:
            batch = [self._queue.popleft()]
            size = len(batch[0].items)
            while self._queue and size + len(self._queue[0].items) <= self._max_items:
                size += len(self._queue[0].items)
                batch.append(self._queue.popleft())
            self.stats.batches += 1
            self.stats.items += size
            self.stats.largest = max(self.stats.largest, size)
        flat = [item for slot in batch for item in slot.items]
        try:
            results = self._run(flat)
            if len(results) != len(flat):
                raise RuntimeError(f"batch returned {len(results)} results for {len(flat)}")
        except BaseException as exc:  # every caller in the batch sees the failure
            for slot in batch:
                slot.error = exc
        else:
            start = 0
            for slot in batch:
                slot.results = results[start : start + len(slot.items)]
                start += len(slot.items)
        with self._lock:
            if self._queue:
                self._queue[0].wake.set()  # it leads the next batch
            else:
                self._busy = False
        for slot in batch[1:]:
            slot.wake.set()

    @staticmethod
    def _outcome(slot: _Slot[T, R]) -> list[R]:
        if slot.error is not None:
            raise slot.error
        assert slot.results is not None
        return slot.results
