"""Redis stream intake: any producer XADDs documents; a consumer group records them.

Each entry goes through the one intake step (``IntakeService.submit``: durable record, then the
ingest task), and only then is it acknowledged. The consumer records a whole batch and then
XACKs it in one call, so a crash in between leaves the batch pending; another consumer (or this
one after a restart) takes it over with XAUTOCLAIM once it has been idle for
``stream_reclaim_idle_ms`` and records it again. That second pass creates nothing new: ids and
``published_at`` default to values derived from the entry itself, so the content hash is the
same and ``submit`` answers "unchanged" (sending the ingest task again if the record is still
pending, in case the crash came before the first was sent). Malformed entries never block the
stream: they are copied to ``<stream_name>:dead`` with the reason and acknowledged in one
transaction.

Runs as a thread of ``chronorag serve`` (the Node starts it when Redis is configured) or as the
standalone ``chronorag stream-consumer`` process of the distributed topology.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

from pydantic import ValidationError

from app.api.schemas import DocumentCreate
from app.core.dispatch import Dispatcher
from app.core.errors import (
    ChronoragError,
    ConfigurationError,
    MalformedBody,
    Overloaded,
    Unavailable,
)
from app.core.jsonvalue import decode_json
from app.core.settings import DEFAULT_TENANT, TENANT_RE, Settings
from app.ingest.intake import DocumentInput, IntakeService

log = logging.getLogger(__name__)

#: Fields a flat entry (or the ``document`` JSON object) may carry.
DOCUMENT_FIELDS = (
    "id",
    "text",
    "title",
    "url",
    "source",
    "published_at",
    "tenant",
    "metadata",
    "version",
)
#: Consumers with nothing pending and silent for this long are removed from the group.
FORGET_CONSUMER_AFTER_MS = 3_600_000

Entry = tuple[Any, Mapping[Any, Any] | None]


class MalformedEntry(Exception):
    """An entry that can never become a document; it goes to the dead-letter stream."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class StreamDocument:
    tenant: str
    doc: DocumentInput


@dataclass
class StreamStats:
    """Counters since the consumer started (logged on stop, read by tests)."""

    read: int = 0
    recorded: int = 0
    unchanged: int = 0
    dead: int = 0
    retried: int = 0
    reclaimed: int = 0
    paused: int = 0

    def line(self) -> str:
        return " ".join(f"{k}={v}" for k, v in self.__dict__.items())


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def entry_time(entry_id: str) -> datetime:
    """When the entry was added: the millisecond part of its id (``<ms>-<seq>``)."""
    return datetime.fromtimestamp(int(entry_id.split("-", 1)[0]) / 1000, UTC)


#: How a stream entry's field errors read (a pydantic error type → the reason's wording).
_REASONS = {
    "missing": "required",
    "string_type": "must be a string",
    "dict_type": "must be a JSON object",
    "int_type": "must be an integer >= 1",
    "greater_than_equal": "must be an integer >= 1",
}


def entry_errors(exc: ValidationError) -> str:
    """One line naming each bad field, as a dead-lettered entry's reason.

    Example: ``{"title": "no text"}`` reads "text: required"; ``{"text": "x", "version": 0}``
    reads "version: must be an integer >= 1"; a bad ``published_at`` keeps the time parser's
    own words ("... has no timezone; add 'Z' ..."), and "someday" reads "'someday' is not an
    ISO-8601 date-time".
    """
    parts = []
    for error in exc.errors():
        field = ".".join(str(p) for p in error["loc"]) or "entry"
        kind = error["type"]
        if kind.startswith(("datetime_", "date_")):
            message = f"{error['input']!r} is not an ISO-8601 date-time"
        else:
            message = _REASONS.get(kind) or str(error["msg"]).removeprefix("Value error, ")
        parts.append(f"{field}: {message}")
    return "; ".join(parts)


def parse_entry(
    entry_id: str,
    raw: Mapping[Any, Any],
    *,
    max_document_bytes: int,
    tenants: frozenset[str] = frozenset({DEFAULT_TENANT}),
) -> StreamDocument:
    """Turn one stream entry into a document, or raise ``MalformedEntry`` saying why.

    Either flat fields (``text``, ``id``, ``title``, ``url``, ``source``, ``published_at``,
    ``tenant``, ``version``, ``metadata`` as a JSON object string) or a single ``document`` field
    holding the same keys as a JSON object. ``published_at`` defaults to the entry's own time, not
    to "now", so that recording the entry twice yields the same content hash (and, without an
    ``id``, the same generated id): a reclaimed entry never becomes a second version.
    """
    size = sum(len(k) + len(v) for k, v in raw.items())
    limit = max_document_bytes * 2 + 65_536
    if size > limit:
        raise MalformedEntry(f"entry is {size} bytes; the limit is {limit}")
    try:
        fields = {
            (k.decode() if isinstance(k, bytes) else k): (v.decode() if isinstance(v, bytes) else v)
            for k, v in raw.items()
        }
    except UnicodeDecodeError:
        raise MalformedEntry("fields must be UTF-8 text") from None
    data: dict[str, Any]
    if "document" in fields:
        if len(fields) > 1:
            raise MalformedEntry("send either one 'document' field (JSON) or flat fields, not both")
        try:
            loaded = decode_json(fields["document"], "document")
        except MalformedBody as exc:
            raise MalformedEntry(exc.detail) from None
        if not isinstance(loaded, dict):
            raise MalformedEntry("document: must be a JSON object")
        data = loaded
    else:
        data = dict(fields)
        if "metadata" in data:
            try:
                data["metadata"] = decode_json(data["metadata"], "metadata")
            except MalformedBody as exc:
                raise MalformedEntry(exc.detail) from None
        if "version" in data:
            try:
                data["version"] = int(data["version"])
            except ValueError:
                raise MalformedEntry(f"version: {data['version']!r} is not an integer") from None
    unknown = sorted(set(data) - set(DOCUMENT_FIELDS))
    if unknown:
        raise MalformedEntry(
            f"unknown field(s) {', '.join(unknown)}; expected {', '.join(DOCUMENT_FIELDS)}"
        )
    tenant = data.pop("tenant", None) or DEFAULT_TENANT
    if not isinstance(tenant, str) or not TENANT_RE.fullmatch(tenant) or tenant not in tenants:
        raise MalformedEntry(f"tenant: {tenant!r} is not a configured tenant")
    try:  # the same model, so the same rules, as a REST upload or a webhook body
        doc = DocumentCreate.model_validate(data).to_input()
    except ValidationError as exc:
        raise MalformedEntry(entry_errors(exc)) from None
    if doc.published_at is None:
        doc = replace(doc, published_at=entry_time(entry_id))
    return StreamDocument(tenant, doc)


def default_consumer_name() -> str:
    """Unique per process: a restarted process is a new consumer that reclaims the old one's."""
    return f"{socket.gethostname()}-{os.getpid()}"


class StreamConsumer:
    """Reads ``settings.stream_name`` in group ``settings.stream_group`` and records entries.

    Invariant: an entry is acknowledged only after ``IntakeService.submit`` returned (the record
    is durable and its ingest task enqueued, or left for the reconciler), or after it was copied
    to the dead-letter stream. Everything else stays pending and is reclaimed.
    """

    def __init__(
        self,
        settings: Settings,
        redis: Any,
        intake: IntakeService,
        dispatcher: Dispatcher,
        name: str | None = None,
    ) -> None:
        self.settings = settings
        self.redis = redis
        self.intake = intake
        self.dispatcher = dispatcher
        self.name = name or settings.stream_consumer or default_consumer_name()
        self.stats = StreamStats()
        self.stream = settings.stream_name
        self.group = settings.stream_group
        self.dead_stream = f"{settings.stream_name}:dead"
        self._tenants = frozenset(settings.api_keys.values()) or frozenset({DEFAULT_TENANT})
        self._reclaim_every_s = max(0.5, settings.stream_reclaim_idle_ms / 2000)

    # ------------------------------------------------------------------ group management

    def ensure_group(self) -> None:
        """Create the stream and the group if needed; the group starts at the stream's first
        entry, so documents added before any consumer existed are not skipped."""
        import redis

        try:
            self.redis.xgroup_create(self.stream, self.group, id="0", mkstream=True)
            log.info("created consumer group %s on stream %s", self.group, self.stream)
        except redis.ResponseError as exc:
            if "BUSYGROUP" not in str(exc):
                raise

    # ------------------------------------------------------------------ reading

    def poll_once(self) -> int:
        """Read and record at most one batch of new entries; returns how many were read."""
        resp = self.redis.xreadgroup(
            self.group,
            self.name,
            {self.stream: ">"},
            count=self.settings.stream_batch_size,
            block=self.settings.stream_block_ms,
        )
        n = 0
        for _stream, entries in resp or []:
            n += len(entries)
            self._process(entries, {})
        return n

    def reclaim(self, stop: threading.Event | None = None) -> int:
        """Take over entries pending longer than ``stream_reclaim_idle_ms`` (a consumer died
        between read and XACK, or an entry failed transiently) and record them again."""
        start: Any = "0-0"
        total = 0
        while stop is None or not stop.is_set():
            resp = self.redis.xautoclaim(
                self.stream,
                self.group,
                self.name,
                min_idle_time=self.settings.stream_reclaim_idle_ms,
                start_id=start,
                count=self.settings.stream_batch_size,
            )
            start, claimed = resp[0], resp[1]
            live = [e for e in claimed if e[1] is not None]
            gone = [e[0] for e in claimed if e[1] is None]
            if gone:  # trimmed before anyone recorded them (Redis < 7 reports them so)
                self.redis.xack(self.stream, self.group, *gone)
            if live:
                total += len(live)
                self.stats.reclaimed += len(live)
                log.info("stream %s: reclaimed %d pending entries", self.stream, len(live))
                self._process(live, self._deliveries(live))
            if _text(start) == "0-0":
                break
        self._forget_dead_consumers()
        return total

    def _deliveries(self, entries: Sequence[Entry]) -> dict[str, int]:
        """How often each entry has been delivered (XAUTOCLAIM counts as a delivery)."""
        pipe = self.redis.pipeline(transaction=False)
        for raw_id, _fields in entries:
            pipe.xpending_range(self.stream, self.group, min=raw_id, max=raw_id, count=1)
        out = {}
        for rows in pipe.execute():
            for row in rows:
                out[_text(row["message_id"])] = int(row["times_delivered"])
        return out

    def _forget_dead_consumers(self) -> None:
        for info in self.redis.xinfo_consumers(self.stream, self.group):
            name = _text(info["name"])
            if (
                name != self.name
                and not info["pending"]
                and info["idle"] > FORGET_CONSUMER_AFTER_MS
            ):
                self.redis.xgroup_delconsumer(self.stream, self.group, name)

    # ------------------------------------------------------------------ recording

    def _process(self, entries: Sequence[Entry], deliveries: Mapping[str, int]) -> None:
        """Record each entry, then acknowledge the recorded ones in one XACK.

        A crash anywhere in here leaves the batch pending: safe, because recording again is a
        no-op. A transient failure stops the batch (the rest stays pending for a later pass).
        """
        acks: list[str] = []
        try:
            for raw_id, fields in entries:
                entry_id = _text(raw_id)
                self.stats.read += 1
                if fields is None:
                    acks.append(entry_id)
                    continue
                outcome = self._record(entry_id, fields, deliveries.get(entry_id, 1))
                if outcome == "ack":
                    acks.append(entry_id)
                elif outcome == "stop":
                    break
        finally:
            if acks:
                self.redis.xack(self.stream, self.group, *acks)

    def _record(self, entry_id: str, fields: Mapping[Any, Any], delivered: int) -> str:
        """Returns "ack" (recorded), "dead" (dead-lettered and acked), "retry" or "stop"."""
        try:
            item = parse_entry(
                entry_id,
                fields,
                max_document_bytes=self.settings.max_document_bytes,
                tenants=self._tenants,
            )
        except MalformedEntry as exc:
            self.dead_letter(entry_id, fields, exc.reason, delivered)
            return "dead"
        try:
            accepted = self.intake.submit(item.tenant, item.doc)
        except (Unavailable, Overloaded) as exc:
            # The document is fine; a dependency is not. Leave it pending, reclaim it later.
            self.stats.retried += 1
            log.warning("stream entry %s left pending: %s", entry_id, exc.detail)
            return "stop"
        except ChronoragError as exc:
            self.dead_letter(entry_id, fields, f"{exc.status} {exc.title}: {exc.detail}", delivered)
            return "dead"
        except Exception as exc:
            if delivered >= self.settings.stream_max_deliveries:
                reason = f"gave up after {delivered} deliveries: {type(exc).__name__}: {exc}"
                log.exception("stream entry %s dead-lettered", entry_id)
                self.dead_letter(entry_id, fields, reason, delivered)
                return "dead"
            self.stats.retried += 1
            log.exception("stream entry %s failed (delivery %d); left pending", entry_id, delivered)
            return "retry"
        if accepted.unchanged:
            self.stats.unchanged += 1
        else:
            self.stats.recorded += 1
        return "ack"

    def dead_letter(
        self, entry_id: str, fields: Mapping[Any, Any], reason: str, delivered: int = 1
    ) -> None:
        """Copy the entry to ``<stream>:dead`` with the reason, and XACK it, atomically.

        The original fields are kept verbatim (values over ``max_document_bytes`` are cut and
        listed in ``dead_truncated``), so a fixed entry can be re-added as it was.
        """
        cap = self.settings.max_document_bytes
        copy: dict[Any, Any] = {}
        truncated = []
        for key, value in fields.items():
            if _text(key).startswith("dead_"):
                continue
            if len(value) > cap:
                value = value[:cap]
                truncated.append(_text(key))
            copy[key] = value
        copy.update(
            {
                "dead_reason": reason[:2000],
                "dead_entry_id": entry_id,
                "dead_consumer": self.name,
                "dead_deliveries": str(delivered),
            }
        )
        if truncated:
            copy["dead_truncated"] = ",".join(truncated)
        pipe = self.redis.pipeline(transaction=True)
        pipe.xadd(self.dead_stream, copy, maxlen=self.settings.stream_dead_maxlen, approximate=True)
        pipe.xack(self.stream, self.group, entry_id)
        pipe.execute()
        self.stats.dead += 1
        log.warning("stream entry %s dead-lettered: %s", entry_id, reason[:300])

    # ------------------------------------------------------------------ the loop

    def over_backlog(self) -> bool:
        return self.dispatcher.backlog() > self.settings.max_backlog

    def run(self, stop: threading.Event) -> None:
        """Consume until ``stop`` is set: reclaim now and then, pause while the ingest queue is
        over ``max_backlog``, survive Redis restarts (the group is re-created if it vanished)."""
        import redis

        s = self.settings
        failures = 0
        next_reclaim = 0.0
        pausing = False
        log.info("stream consumer %s reading %s (group %s)", self.name, self.stream, self.group)
        while not stop.is_set():
            try:
                if failures or next_reclaim == 0.0:
                    self.ensure_group()
                if self.over_backlog():
                    if not pausing:
                        log.info(
                            "stream %s paused: ingest backlog over %d", self.stream, s.max_backlog
                        )
                    pausing = True
                    self.stats.paused += 1
                    stop.wait(s.stream_backoff_s)
                    continue
                pausing = False
                if time.monotonic() >= next_reclaim:
                    self.reclaim(stop)
                    next_reclaim = time.monotonic() + self._reclaim_every_s
                self.poll_once()
                failures = 0
            except redis.ResponseError as exc:
                if "NOGROUP" in str(exc):  # Redis lost the stream (restart without persistence)
                    log.warning("stream %s: group vanished; re-creating it", self.stream)
                    failures = 1
                    continue
                failures += 1
                log.exception("stream consumer: Redis refused a command")
                stop.wait(min(30.0, s.stream_backoff_s * 2 ** min(failures, 5)))
            except (redis.RedisError, Unavailable, ConnectionError, TimeoutError) as exc:
                failures += 1
                log.warning("stream consumer: %s; retrying", exc)
                stop.wait(min(30.0, s.stream_backoff_s * 2 ** min(failures, 5)))
            except Exception:
                failures += 1
                log.exception("stream consumer pass failed")
                stop.wait(min(30.0, s.stream_backoff_s * 2 ** min(failures, 5)))
        log.info("stream consumer %s stopped: %s", self.name, self.stats.line())


@dataclass
class StandaloneConsumer:
    """What ``chronorag stream-consumer`` runs: no API, no embedding model, no worker."""

    consumer: StreamConsumer
    close: Callable[[], None]


def build_standalone_consumer(settings: Settings) -> StandaloneConsumer:
    """Wire only what recording needs: the document store, Redis locks and a Celery dispatcher.

    The embedding model is not loaded, so the process starts in about a second. With embedded
    Qdrant the data folder must not be held by a ``chronorag serve``; in the distributed
    topology point ``CHRONORAG_QDRANT_URL`` at the Qdrant server.
    """
    from app.stores.documents import QdrantDocumentStore
    from app.stores.locks import RedisLocker
    from app.wiring import build_engine, build_redis
    from workers.celery_app import create_celery
    from workers.dispatch import CeleryDispatcher

    redis_client = build_redis(settings)
    if redis_client is None:
        raise ConfigurationError(
            "chronorag stream-consumer reads a Redis stream: set CHRONORAG_REDIS_URL "
            "(e.g. redis://localhost:6379/0)"
        )
    engine = build_engine(settings)
    documents = QdrantDocumentStore(engine, settings.collection_prefix)
    dispatcher = CeleryDispatcher(create_celery(settings), settings.celery_queue)
    intake = IntakeService(settings, documents, RedisLocker(redis_client), dispatcher)
    consumer = StreamConsumer(settings, redis_client, intake, dispatcher)

    def close() -> None:
        engine.close()
        redis_client.close()

    return StandaloneConsumer(consumer, close)
