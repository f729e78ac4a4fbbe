"""Process-wide counters and per-stage timings, read by ``GET /v1/admin/stats`` and benchmarks."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field


@dataclass
class StageTimer:
    """Seconds spent per stage and event counts, summed over the process's lifetime.

    Many threads add to it at once (the worker's thread pool, the API's thread pool), so every
    update holds a lock; a plain ``dict`` read-modify-write would lose increments.
    Stage seconds are per caller: time a task spends waiting for a shared batch counts towards
    that task's stage, so with N concurrent tasks the sum can exceed wall time.
    """

    seconds: dict[str, float] = field(default_factory=dict)
    counts: dict[str, int] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    def add(self, stage: str, started: float) -> float:
        """Add ``now - started`` to ``stage``; returns now, the start of the next stage."""
        now = time.perf_counter()
        with self._lock:
            self.seconds[stage] = self.seconds.get(stage, 0.0) + now - started
        return now

    def count(self, event: str, n: int = 1) -> None:
        with self._lock:
            self.counts[event] = self.counts.get(event, 0) + n

    def snapshot(self) -> dict[str, dict[str, float] | dict[str, int]]:
        with self._lock:
            return {"seconds": dict(self.seconds), "counts": dict(self.counts)}
