"""The Redis stream consumer on real Redis and embedded Qdrant: recording, dead letters,
reclaim after a crash between record and XACK, backpressure, and a stream Redis lost."""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import redis

from app.core.settings import Settings
from app.core.timeutil import parse_instant
from app.ingest.intake import IntakeService, new_doc_id
from app.stores.documents import QdrantDocumentStore
from app.stores.engines import EdgeEngine
from app.stores.locks import RedisLocker
from tests.queues import queue_keys, queued_tasks
from workers.celery_app import create_celery
from workers.dispatch import CeleryDispatcher
from workers.stream import StreamConsumer, entry_time, parse_entry

pytestmark = pytest.mark.integration


class SimulatedCrash(BaseException):
    """Raised after a record is durable and before the entry is acknowledged (like kill -9)."""


class CrashAfterRecord:
    """A real Celery dispatcher whose ``ingest`` dies after enqueueing, as a killed process."""

    def __init__(self, inner: CeleryDispatcher) -> None:
        self.inner = inner

    def ingest(self, tenant: str, doc_id: str, version: int) -> None:
        self.inner.ingest(tenant, doc_id, version)
        raise SimulatedCrash

    def delete(self, tenant: str, doc_id: str) -> None:
        self.inner.delete(tenant, doc_id)

    def summarize(self, tenant: str, labels: list[str], countdown_s: float) -> None:
        self.inner.summarize(tenant, labels, countdown_s)

    def backlog(self) -> int:
        return self.inner.backlog()

    def queued_documents(self) -> set[tuple[str, str]] | None:
        return self.inner.queued_documents()


@dataclass
class Rig:
    settings: Settings
    client: Any
    documents: QdrantDocumentStore
    dispatcher: CeleryDispatcher
    intake: IntakeService

    def consumer(self, name: str, dispatcher: Any = None, **overrides: Any) -> StreamConsumer:
        settings = self.settings.model_copy(update=overrides) if overrides else self.settings
        intake = self.intake
        if dispatcher is not None:
            intake = IntakeService(settings, self.documents, RedisLocker(self.client), dispatcher)
        return StreamConsumer(settings, self.client, intake, dispatcher or self.dispatcher, name)

    def queued(self) -> list[tuple[str, list[Any]]]:
        return queued_tasks(self.client, self.settings.celery_queue)

    def pending(self) -> int:
        return int(
            self.client.xpending(self.settings.stream_name, self.settings.stream_group)["pending"]
        )


@pytest.fixture()
def rig(tmp_path: Path, redis_url: str) -> Iterator[Rig]:
    tag = uuid.uuid4().hex[:10]
    settings = Settings(
        data_dir=tmp_path / "data",
        redis_url=redis_url,
        celery_queue=f"test-stream-queue-{tag}",
        stream_name=f"test-stream-{tag}",
        stream_block_ms=50,
        stream_reclaim_idle_ms=100,
        max_document_bytes=2_000,
    )
    client = redis.Redis.from_url(redis_url)
    engine = EdgeEngine(settings.data_dir / "qdrant")
    documents = QdrantDocumentStore(engine, settings.collection_prefix)
    dispatcher = CeleryDispatcher(create_celery(settings), settings.celery_queue)
    intake = IntakeService(settings, documents, RedisLocker(client), dispatcher)
    yield Rig(settings, client, documents, dispatcher, intake)
    client.delete(
        settings.stream_name, f"{settings.stream_name}:dead", *queue_keys(settings.celery_queue)
    )
    client.close()
    engine.close()


def test_flat_and_json_entries_are_recorded_enqueued_and_acked(rig: Rig) -> None:
    stream = rig.settings.stream_name
    rig.client.xadd(
        stream,
        {
            "id": "s-flat",
            "text": "The Quillmere ferry resumed service.",
            "published_at": "2023-04-01T08:00:00+02:00",
            "title": "Ferry",
            "metadata": json.dumps({"desk": "transport"}),
        },
    )
    doc = {"text": "Harrowgate opened a new library.", "published_at": "2022-01-05T00:00:00Z"}
    rig.client.xadd(stream, {"document": json.dumps(doc)})
    undated = rig.client.xadd(stream, {"text": "A note with neither id nor date."}).decode()

    consumer = rig.consumer("c1")
    consumer.ensure_group()
    assert consumer.poll_once() == 3

    flat = rig.documents.get("default", "s-flat")
    assert flat is not None and flat.version == 1 and flat.title == "Ferry"
    assert flat.metadata == {"desk": "transport"}
    assert flat.published_at == parse_instant("2023-04-01T06:00:00Z", "t")
    generated = new_doc_id(doc["text"], parse_instant(doc["published_at"], "t"))
    assert rig.documents.get("default", generated) is not None
    # No date given: the entry's own time, so recording it again gives the same id.
    undated_id = new_doc_id("A note with neither id nor date.", entry_time(undated))
    assert rig.documents.get("default", undated_id) is not None
    assert sorted(args[1] for _, args in rig.queued()) == sorted(["s-flat", generated, undated_id])
    assert rig.pending() == 0
    assert consumer.stats.recorded == 3 and consumer.stats.dead == 0


@pytest.mark.parametrize(
    ("fields", "reason"),
    [
        ({"document": "{not json"}, "document: invalid JSON"),
        ({"document": "[1, 2]"}, "document: must be a JSON object"),
        ({"title": "no text here"}, "text: required"),
        ({"text": "   "}, "text: must be a non-empty string"),
        ({"text": "x", "published_at": "2021-01-01T00:00:00"}, "has no timezone"),
        ({"text": "x", "published_at": "someday"}, "not an ISO-8601"),
        ({"text": "x", "published_at": "0001-01-01T00:00:00+01:00"}, "outside the years"),
        ({"text": "x" * 3_000}, "the limit is 2000"),
        ({"text": "x" * 80_000}, "entry is 80004 bytes; the limit is 69536"),
        ({"text": "x", "metadata": "{"}, "metadata: invalid JSON"),
        ({"text": "x", "metadata": "[1]"}, "metadata: must be a JSON object"),
        ({"text": "x", "publishedAt": "2021-01-01T00:00:00Z"}, "unknown field(s) publishedAt"),
        ({"text": "x", "tenant": "nobody"}, "not a configured tenant"),
        ({"text": "x", "version": "two"}, "version: 'two' is not an integer"),
        ({"text": b"\xff\xfe"}, "UTF-8"),
        ({"text": "x", "document": "{}"}, "not both"),
        ({"id": "a/b", "text": "x"}, "id: 1-256 characters"),
    ],
)
def test_malformed_entry_is_dead_lettered_and_never_blocks(
    rig: Rig, fields: dict[str, Any], reason: str
) -> None:
    stream = rig.settings.stream_name
    bad_id = rig.client.xadd(stream, fields).decode()
    rig.client.xadd(stream, {"id": "after-bad", "text": "The stream moves on."})
    consumer = rig.consumer("c1")
    consumer.ensure_group()
    consumer.poll_once()

    dead = rig.client.xrange(f"{stream}:dead")
    assert len(dead) == 1
    body = dead[0][1]
    assert reason in body[b"dead_reason"].decode(), body[b"dead_reason"]
    assert body[b"dead_entry_id"].decode() == bad_id
    for key, value in fields.items():
        original = value if isinstance(value, bytes) else value.encode()
        assert body[key.encode()] == original[: rig.settings.max_document_bytes]
    assert rig.documents.get("default", "after-bad") is not None
    assert rig.pending() == 0 and consumer.stats.dead == 1


def test_entry_recorded_but_not_acked_is_reclaimed_without_a_new_version(rig: Rig) -> None:
    stream = rig.settings.stream_name
    rig.client.xadd(stream, {"id": "crash-1", "text": "Recorded once, acknowledged never."})
    rig.client.xadd(stream, {"text": "No id, no date: the id comes from the entry."})
    crashing = rig.consumer("dies", dispatcher=CrashAfterRecord(rig.dispatcher))
    crashing.ensure_group()
    with pytest.raises(SimulatedCrash):
        crashing.poll_once()
    assert rig.pending() == 2  # the crash came before the XACK
    assert rig.documents.get("default", "crash-1") is not None

    time.sleep(0.2)  # past stream_reclaim_idle_ms
    survivor = rig.consumer("survivor")
    assert survivor.reclaim() == 2
    assert rig.pending() == 0
    record = rig.documents.get("default", "crash-1")
    assert record is not None and record.version == 1
    assert survivor.stats.unchanged == 1 and survivor.stats.recorded == 1
    assert rig.documents.count("default") == 2  # the id-less entry kept its id too
    versions = {(args[1], args[2]) for _, args in rig.queued()}
    assert all(v == 1 for _, v in versions) and len(versions) == 2


class CrashBeforeEnqueue(CrashAfterRecord):
    """Dies after the record is durable and before its task is sent (as kill -9 there)."""

    def ingest(self, tenant: str, doc_id: str, version: int) -> None:
        raise SimulatedCrash


def test_entry_recorded_but_never_enqueued_gets_its_task_when_reclaimed(rig: Rig) -> None:
    stream = rig.settings.stream_name
    rig.client.xadd(stream, {"id": "crash-2", "text": "Recorded, then the process died."})
    crashing = rig.consumer("dies", dispatcher=CrashBeforeEnqueue(rig.dispatcher))
    crashing.ensure_group()
    with pytest.raises(SimulatedCrash):
        crashing.poll_once()
    assert rig.documents.get("default", "crash-2") is not None and rig.queued() == []

    time.sleep(0.2)  # past stream_reclaim_idle_ms
    survivor = rig.consumer("survivor")
    assert survivor.reclaim() == 1
    assert rig.pending() == 0 and survivor.stats.unchanged == 1
    assert rig.queued() == [("chronorag.ingest_document", ["default", "crash-2", 1])]


class BrokenLocker:
    """A lock implementation with a bug: fails before anything is recorded, every time."""

    def hold(self, key: str, timeout_s: float = 30.0) -> Any:
        raise RuntimeError("lock driver bug")


class BrokenDispatcher(CrashAfterRecord):
    """Fails after the record is written, with an error nobody planned for."""

    def ingest(self, tenant: str, doc_id: str, version: int) -> None:
        raise RuntimeError("broker driver bug")


def test_entry_failing_unexpectedly_is_retried_then_dead_lettered(rig: Rig) -> None:
    stream = rig.settings.stream_name
    entry_id = rig.client.xadd(stream, {"id": "poison", "text": "Fails every time."}).decode()
    settings = rig.settings.model_copy(update={"stream_max_deliveries": 2})
    intake = IntakeService(settings, rig.documents, BrokenLocker(), rig.dispatcher)
    consumer = StreamConsumer(settings, rig.client, intake, rig.dispatcher, "c1")
    consumer.ensure_group()
    consumer.poll_once()
    assert rig.pending() == 1 and consumer.stats.retried == 1  # kept for another try
    time.sleep(0.2)
    assert consumer.reclaim() == 1  # second delivery: gives up
    assert rig.pending() == 0
    dead = rig.client.xrange(f"{stream}:dead")
    assert len(dead) == 1 and dead[0][1][b"dead_entry_id"].decode() == entry_id
    assert dead[0][1][b"dead_reason"].startswith(b"gave up after 2 deliveries: RuntimeError")
    assert dead[0][1][b"dead_deliveries"] == b"2"


def test_recorded_entry_whose_enqueue_failed_is_left_to_the_reconciler(rig: Rig) -> None:
    stream = rig.settings.stream_name
    rig.client.xadd(stream, {"id": "unsent", "text": "Recorded, never enqueued."})
    consumer = rig.consumer("c1", dispatcher=BrokenDispatcher(rig.dispatcher))
    consumer.ensure_group()
    consumer.poll_once()  # recorded; the enqueue blew up: kept pending
    assert rig.pending() == 1
    time.sleep(0.2)
    consumer.reclaim()  # unchanged; the re-dispatch fails too, but the record is durable
    assert rig.pending() == 0 and not rig.client.exists(f"{stream}:dead")
    record = rig.documents.get("default", "unsent")
    assert record is not None and record.status == "pending" and record.version == 1


def test_backlog_over_limit_pauses_reading(rig: Rig) -> None:
    for n in range(3):  # three ingest tasks nobody consumes
        rig.dispatcher.ingest("default", f"queued-{n}", 1)
    rig.client.xadd(rig.settings.stream_name, {"id": "waits", "text": "Held back."})
    consumer = rig.consumer("c1", max_backlog=2, stream_backoff_s=0.05)
    stop = threading.Event()
    thread = threading.Thread(target=consumer.run, args=(stop,))
    thread.start()
    try:
        time.sleep(0.5)
        assert consumer.stats.paused > 0 and consumer.stats.read == 0
        rig.client.delete(rig.settings.celery_queue)  # the workers caught up
        deadline = time.monotonic() + 10
        while rig.documents.get("default", "waits") is None and time.monotonic() < deadline:
            time.sleep(0.05)
        assert rig.documents.get("default", "waits") is not None
    finally:
        stop.set()
        thread.join(10)


def test_stream_lost_by_redis_is_recreated(rig: Rig) -> None:
    stream = rig.settings.stream_name
    consumer = rig.consumer("c1", stream_backoff_s=0.05)
    stop = threading.Event()
    thread = threading.Thread(target=consumer.run, args=(stop,))
    thread.start()
    try:
        rig.client.xadd(stream, {"id": "before", "text": "Before Redis lost the stream."})
        deadline = time.monotonic() + 10
        while rig.documents.get("default", "before") is None and time.monotonic() < deadline:
            time.sleep(0.05)
        rig.client.delete(stream)  # as a Redis restart without persistence would
        time.sleep(0.2)
        rig.client.xadd(stream, {"id": "after", "text": "After the stream came back."})
        while rig.documents.get("default", "after") is None and time.monotonic() < deadline:
            time.sleep(0.05)
        assert rig.documents.get("default", "after") is not None
    finally:
        stop.set()
        thread.join(10)


def test_parse_entry_accepts_both_shapes_identically() -> None:
    flat = parse_entry(
        "1700000000000-0", {b"id": b"x", b"text": b"t", b"version": b"2"}, max_document_bytes=100
    )
    doc = parse_entry(
        "1700000000000-0",
        {"document": json.dumps({"id": "x", "text": "t", "version": 2})},
        max_document_bytes=100,
    )
    assert flat == doc
    assert flat.doc.published_at == entry_time("1700000000000-0")
    assert flat.tenant == "default" and flat.doc.version == 2
