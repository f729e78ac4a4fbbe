"""Process-wide counters and per-stage timings, read by ``GET /v1/admin/stats``, benchmarks and
``GET /metrics`` (Prometheus).

One ``StageTimer`` per process (``Services.metrics``) is the only place code reports to: it
keeps the in-process sums the stats route shows and feeds the same events to a
``ServiceMetrics``, the Prometheus series. Each ``ServiceMetrics`` has its own
``CollectorRegistry`` (no process-global registry that tests would have to reset). With
``PROMETHEUS_MULTIPROC_DIR`` set before the process starts, prometheus-client writes every
value to files in that folder instead, and a scrape merges the files of all processes that
share it (prefork worker children, several API processes).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest, values
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.process_collector import ProcessCollector
from prometheus_client.registry import Collector

#: Seconds: an HTTP request (most are milliseconds; an upload of a large file, seconds).
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
#: Seconds: one ingest stage of one document (embedding a long text takes seconds on a CPU).
STAGE_BUCKETS = (0.001, 0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 15.0, 60.0, 300.0)
#: Seconds from the 202 to ``indexed``: queueing included, so up to minutes under a backlog.
FRESHNESS_BUCKETS = (0.25, 0.5, 1.0, 2.0, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 900.0, 3600.0)
#: Texts per encode call; the batcher's ceiling is ``embedding_batch_size`` (64 CPU, 256+ GPU).
BATCH_BUCKETS = (1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 4096)
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


class ServiceMetrics:
    """The Prometheus series of one process (names and labels are listed in the README).

    Label values are bounded sets: route templates (never raw paths), status codes, stage and
    error-kind names from code; nothing a client sends becomes a label.
    """

    def __init__(self) -> None:
        # prometheus-client chose its value storage when it was imported, from the process
        # environment (PROMETHEUS_MULTIPROC_DIR); the scrape must read the same storage.
        self.multiprocess = multiprocess_mode()
        self.registry = CollectorRegistry(auto_describe=True)
        reg = self.registry
        self.requests = Counter(
            "chronorag_http_requests",
            "HTTP requests by method, route template and status code.",
            ["method", "route", "status"],
            registry=reg,
        )
        self.request_seconds = Histogram(
            "chronorag_http_request_duration_seconds",
            "HTTP request latency by method, route template and status code.",
            ["method", "route", "status"],
            buckets=LATENCY_BUCKETS,
            registry=reg,
        )
        self.stage_seconds = Histogram(
            "chronorag_ingest_stage_duration_seconds",
            "Seconds per ingest stage (parse and intake in the API; load, chunk, embed, store, "
            "extract, commit in the worker).",
            ["stage"],
            buckets=STAGE_BUCKETS,
            registry=reg,
        )
        self.events = Counter(
            "chronorag_ingest_events",
            "Ingest outcomes and counts (ingest_indexed, ingest_stale, chunks_indexed, ...).",
            ["event"],
            registry=reg,
        )
        self.freshness = Histogram(
            "chronorag_freshness_seconds",
            "Seconds from a version's acceptance (202) to its being indexed and searchable.",
            buckets=FRESHNESS_BUCKETS,
            registry=reg,
        )
        self.embedding_batch = Histogram(
            "chronorag_embedding_batch_size",
            "Texts per embedding model call (concurrent ingest tasks share batches).",
            buckets=BATCH_BUCKETS,
            registry=reg,
        )
        self.errors = Counter(
            "chronorag_errors",
            "Errors by kind: API problems (invalid_input, too_large, ...) and failed ingests.",
            ["kind"],
            registry=reg,
        )
        if not self.multiprocess:
            ProcessCollector(registry=reg)  # memory and CPU of this one process

    def render(self, live: Collector | None = None) -> bytes:
        """The text exposition: this process's series, or every process's in multiprocess
        mode, plus ``live``, gauges read at scrape time (never stored, so never summed)."""
        return render(None if self.multiprocess else self.registry, live)


def multiprocess_mode() -> bool:
    """Whether prometheus-client stores values in PROMETHEUS_MULTIPROC_DIR (chosen at import,
    from the process environment, so it cannot change while the process runs)."""
    return values.ValueClass is not values.MutexValue


def render(own: CollectorRegistry | None, live: Collector | None = None) -> bytes:
    """Exposition of ``own`` or, when None, of every process writing to
    PROMETHEUS_MULTIPROC_DIR (counters and histograms of exited processes included), plus
    ``live``. Dead processes need no clean-up: no series here is a per-process live gauge."""
    registry = CollectorRegistry(auto_describe=False)
    if own is None:
        # Reads PROMETHEUS_MULTIPROC_DIR itself; a missing folder is a ValueError naming it.
        MultiProcessCollector(registry)  # type: ignore[no-untyped-call, unused-ignore]
    else:
        registry.register(_Delegate(own))
    if live is not None:
        registry.register(live)
    return generate_latest(registry)


class _Delegate(Collector):
    """Another registry's metrics, so a scrape registry can add live gauges beside them."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self._registry = registry

    def collect(self) -> Iterable[Metric]:
        return self._registry.collect()


class LiveGauges(Collector):
    """Gauges computed when scraped: ``name -> (help, labels, read)``.

    ``read`` returns ``{label values: value}``; one that fails (a store down) leaves its gauge
    out of this scrape rather than failing the whole scrape.
    """

    def __init__(
        self,
        gauges: dict[str, tuple[str, tuple[str, ...], Callable[[], dict[tuple[str, ...], float]]]],
    ) -> None:
        self._gauges = gauges

    def collect(self) -> Iterator[Metric]:
        for name, (doc, labels, read) in self._gauges.items():
            try:
                values = read()
            except Exception:  # a scrape must still answer; the gauge is simply absent
                continue
            family = GaugeMetricFamily(name, doc, labels=list(labels))
            for key, value in values.items():
                family.add_metric(list(key), value)
            yield family


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
    series: ServiceMetrics = field(default_factory=ServiceMetrics, repr=False, compare=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    def add(self, stage: str, started: float) -> float:
        """Add ``now - started`` to ``stage``; returns now, the start of the next stage."""
        now = time.perf_counter()
        with self._lock:
            self.seconds[stage] = self.seconds.get(stage, 0.0) + now - started
        self.series.stage_seconds.labels(stage).observe(now - started)
        return now

    def count(self, event: str, n: int = 1) -> None:
        with self._lock:
            self.counts[event] = self.counts.get(event, 0) + n
        self.series.events.labels(event).inc(n)

    def error(self, kind: str) -> None:
        """One error of ``kind`` (a fixed name from code, e.g. ``too_large``, ``ingest_failed``)."""
        self.series.errors.labels(kind).inc()

    def fresh(self, seconds: float) -> None:
        """A version became searchable ``seconds`` after it was accepted."""
        self.series.freshness.observe(max(0.0, seconds))

    def batch(self, size: int) -> None:
        """One embedding model call over ``size`` texts."""
        self.series.embedding_batch.observe(size)

    def request(self, method: str, route: str, status: int, seconds: float) -> None:
        """One finished HTTP request; ``route`` is its template (``/v1/documents/{doc_id}``)."""
        code = str(status)
        self.series.requests.labels(method, route, code).inc()
        self.series.request_seconds.labels(method, route, code).observe(seconds)

    def snapshot(self) -> dict[str, dict[str, float] | dict[str, int]]:
        with self._lock:
            return {"seconds": dict(self.seconds), "counts": dict(self.counts)}
