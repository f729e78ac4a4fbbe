"""Recovery rules, in-process on real Redis and embedded Qdrant: versions apply in order (a late
task for an old version is a no-op), and the reconciler finishes what a lost queue left."""

from __future__ import annotations

import dataclasses
import json
import time
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import redis

from app.core.models import DocumentRecord
from app.core.settings import Settings
from app.ingest.chunking import Chunk
from app.ingest.intake import DocumentInput, IntakeService
from app.ingest.pipeline import IngestPipeline
from app.ingest.reconcile import Reconciler
from app.services import Services
from app.wiring import Runtime, build_pipeline, build_services
from tests.faults.conftest import USED_NAMES
from tests.queues import queued_tasks
from workers.celery_app import create_celery
from workers.dispatch import CeleryDispatcher
from workers.runtime import runtime_of

pytestmark = pytest.mark.faults

OLD = (
    "Orbital Freight Lines appointed Marta Kowalczyk as chief executive. She joined from a "
    "logistics start-up. The group runs forty ships."
)
NEW = (
    "Orbital Freight Lines named Dev Raman chief executive. Kowalczyk left after two years. "
    "The group now runs fifty ships. Revenue rose in the third quarter."
)


@dataclass
class Rig:
    settings: Settings
    services: Services
    dispatcher: CeleryDispatcher
    intake: IntakeService
    client: Any

    def pipeline(self, indexers: Sequence[Any] = ()) -> IngestPipeline:
        return build_pipeline(self.services, list(indexers))

    def submit(self, doc_id: str, text: str) -> int:
        return self.intake.submit("default", DocumentInput(text=text, doc_id=doc_id)).version

    def record(self, doc_id: str) -> DocumentRecord:
        record = self.services.stores.documents.get("default", doc_id)
        assert record is not None
        return record

    def chunks(self, doc_id: str, version: int | None = None) -> int:
        return self.services.stores.chunks.count("default", doc_id, version)

    def work_off_queue(self, pipeline: IngestPipeline) -> list[str]:
        """Do what a worker does with each queued message, oldest first."""
        outcomes = []
        while (raw := self.client.rpop(self.settings.celery_queue)) is not None:
            self.client.lpush(f"{self.settings.celery_queue}:done", raw)
            name, args = queued_tasks(self.client, f"{self.settings.celery_queue}:done")[0]
            self.client.delete(f"{self.settings.celery_queue}:done")
            if name == "chronorag.ingest_document":
                outcomes.append(pipeline.ingest(*args))
            elif name == "chronorag.delete_document":
                outcomes.append(pipeline.delete(*args))
        return outcomes


@pytest.fixture()
def rig(workdir: Path, faults_redis_url: str, embedder: Any) -> Iterator[Rig]:
    settings = Settings(
        data_dir=workdir / "data",
        redis_url=faults_redis_url,
        celery_queue=f"faults-recovery-{uuid.uuid4().hex[:8]}",
        query_encoder="torch",
        chunk_max_tokens=16,  # several chunks per document, so stray versions would show
    )
    USED_NAMES.add(settings.celery_queue)
    services = build_services(settings, embedder=embedder)
    dispatcher = CeleryDispatcher(create_celery(settings), settings.celery_queue)
    services.dispatcher = dispatcher
    intake = IntakeService(settings, services.stores.documents, services.locker, dispatcher)
    client = redis.Redis.from_url(faults_redis_url)
    yield Rig(settings, services, dispatcher, intake, client)
    client.delete(settings.celery_queue)
    client.close()
    services.close()


def test_late_task_for_an_old_version_is_a_noop(rig: Rig) -> None:
    doc_id = f"order-{uuid.uuid4().hex[:8]}"
    assert rig.submit(doc_id, OLD) == 1
    assert rig.submit(doc_id, NEW) == 2
    pipeline = rig.pipeline()
    assert pipeline.ingest("default", doc_id, 2) == "indexed"
    n_new = rig.chunks(doc_id, 2)
    assert n_new > 1

    # The v1 task arrives late (redelivered, or overtaken): it must change nothing.
    assert pipeline.ingest("default", doc_id, 1) == "stale"
    assert pipeline.ingest("default", doc_id, 2) == "skipped"  # a redelivered v2 too
    record = rig.record(doc_id)
    assert (record.version, record.indexed_version, record.status) == (2, 2, "indexed")
    assert record.chunks == n_new and record.text == NEW
    assert rig.chunks(doc_id, 1) == 0 and rig.chunks(doc_id) == n_new


class NewVersionArrivesMidway:
    """Wraps the embedder of a pipeline working on v1: while v1 is being embedded (record read,
    chunks not yet written), v2 is recorded and fully indexed by another pipeline. v1 then
    writes its chunks after v2's commit: the interleaving two workers produce in production."""

    def __init__(self, rig: Rig, inner: Any) -> None:
        self.rig = rig
        self.inner = inner
        self.doc_id = ""
        self.outcome: str | None = None
        self.stale_chunks_seen = 0

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    def embed_documents(self, texts: Sequence[str]) -> Any:
        if self.outcome is None:
            assert self.rig.submit(self.doc_id, NEW) == 2
            self.outcome = self.rig.pipeline().ingest("default", self.doc_id, 2)
        return self.inner.embed_documents(texts)

    # The KnowledgeIndexer hooks: called after v1 wrote its chunks, before it commits.
    def index(self, record: DocumentRecord, chunks: Sequence[Chunk]) -> int:
        if record.version == 1:
            self.stale_chunks_seen = self.rig.chunks(record.doc_id, 1)
        return 0

    def forget(self, tenant: str, doc_id: str, keep_version: int | None) -> None:
        return None


def test_old_version_finishing_after_the_new_one_leaves_only_the_new(rig: Rig) -> None:
    doc_id = f"race-{uuid.uuid4().hex[:8]}"
    rig.submit(doc_id, OLD)
    hook = NewVersionArrivesMidway(rig, rig.services.embedder)
    hook.doc_id = doc_id
    slow_v1 = build_pipeline(dataclasses.replace(rig.services, embedder=hook), [hook])
    slow_v1.ingest("default", doc_id, 1)
    assert hook.outcome == "indexed"
    assert hook.stale_chunks_seen > 0  # v1's chunks did land after v2 was committed...
    record = rig.record(doc_id)
    assert (record.version, record.indexed_version, record.status) == (2, 2, "indexed")
    assert rig.chunks(doc_id, 1) == 0  # ...and v1's own late commit removed them again
    assert rig.chunks(doc_id) == rig.chunks(doc_id, 2) == record.chunks > 0


def test_reconciler_finishes_lost_ingest_and_half_finished_delete(rig: Rig) -> None:
    tag = uuid.uuid4().hex[:8]
    pipeline = rig.pipeline()
    gone = f"half-deleted-{tag}"
    rig.submit(gone, OLD)
    assert rig.work_off_queue(pipeline) == ["indexed"]
    rig.intake.request_delete("default", gone)
    lost = [f"lost-{tag}-{n}" for n in range(3)]
    for doc_id in lost:
        rig.submit(doc_id, f"{NEW} Copy {doc_id}.")
    reconciler = Reconciler(rig.services.stores.documents, rig.dispatcher, stale_after_s=0.5)
    assert reconciler.run_once() == 0  # still queued: not lost, only waiting

    rig.client.delete(rig.settings.celery_queue)  # Redis lost the queue
    assert reconciler.run_once() == 0  # not stale yet: a slow document is not a lost one
    time.sleep(0.6)
    assert reconciler.run_once() == 4
    assert sorted(rig.work_off_queue(pipeline)) == ["deleted", "indexed", "indexed", "indexed"]
    for doc_id in lost:
        assert rig.record(doc_id).status == "indexed" and rig.chunks(doc_id) > 0
    assert rig.record(gone).status == "deleted" and rig.chunks(gone) == 0
    assert reconciler.run_once() == 0  # nothing left to do


def test_reconciler_redispatches_a_lost_task_while_others_wait(rig: Rig) -> None:
    """Under constant load the queue never drains; a task lost with its worker must not wait."""
    tag = uuid.uuid4().hex[:8]
    docs = [f"busy-{tag}-{n}" for n in range(4)]
    for doc_id in docs:
        rig.submit(doc_id, f"{OLD} Copy {doc_id}.")
    taken = rig.client.rpop(rig.settings.celery_queue)  # a worker took the oldest and died
    assert taken is not None
    assert rig.dispatcher.queued_documents() == {("default", d) for d in docs[1:]}
    reconciler = Reconciler(rig.services.stores.documents, rig.dispatcher, stale_after_s=0.5)
    time.sleep(0.6)
    assert reconciler.run_once() == 1  # only the lost one: the others are waiting their turn
    assert rig.dispatcher.queued_documents() == {("default", d) for d in docs}
    assert rig.work_off_queue(rig.pipeline()) == ["indexed"] * 4
    for doc_id in docs:
        assert rig.record(doc_id).status == "indexed" and rig.chunks(doc_id) > 0


def test_reconcile_task_and_beat_schedule(rig: Rig) -> None:
    from workers.tasks import reconcile

    celery = create_celery(rig.settings)
    entry = celery.conf.beat_schedule["chronorag-reconcile"]
    assert entry["task"] == reconcile.name == "chronorag.reconcile"
    assert entry["schedule"] == rig.settings.reconcile_every_s

    doc_id = f"beat-{uuid.uuid4().hex[:8]}"
    rig.submit(doc_id, OLD)
    rig.client.delete(rig.settings.celery_queue)
    settings = rig.settings.model_copy(update={"reconcile_stale_after_s": 0.0})
    rig.services.settings = settings
    runtime_of(celery).install(Runtime(rig.services, rig.pipeline(), graph=None))  # type: ignore[arg-type]
    assert celery.tasks[reconcile.name].apply().get() >= 1
    assert any(args[1] == doc_id for _, args in queued_tasks(rig.client, settings.celery_queue))
    json.dumps(entry["options"])
