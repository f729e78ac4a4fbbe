"""Embedding offload over real Redis and a real Celery worker: CPU workers send their texts to
the ``embed`` queue, a worker consuming it (a GPU worker in production) returns the vectors."""

from __future__ import annotations

import dataclasses
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import redis
from celery import Celery

from app.core.errors import Unavailable
from app.core.services import Services, build_batcher, build_services
from app.core.settings import Settings
from app.ingest.intake import DocumentInput, IntakeService
from app.ingest.pipeline import IngestPipeline
from tests.dispatchers import IdleDispatcher
from workers import runtime
from workers.celery_app import create_celery
from workers.dispatch import CeleryDispatcher
from workers.offload import QueueEmbedder, decode_vectors, encode_vectors

TEXTS = [
    "The harbour authority appointed a new pilot for the winter season.",
    "Rainfall in the northern valleys was twice the ten-year average.",
    "A short one.",
]


@dataclass
class Rig:
    settings: Settings
    services: Services
    celery: Celery
    queue_embedder: QueueEmbedder


@pytest.fixture()
def rig(tmp_path: Path, redis_url: str, embedder: Any) -> Iterator[Rig]:
    import workers.tasks  # noqa: F401  (registers the shared tasks)

    tag = uuid.uuid4().hex[:8]
    settings = Settings(
        data_dir=tmp_path / "data",
        redis_url=redis_url,
        celery_queue=f"offload-ingest-{tag}",
        embed_queue=f"offload-embed-{tag}",
        embed_timeout_s=30,
        query_encoder="torch",
        stream_enabled=False,
    )
    services = build_services(settings, embedder=embedder)
    celery = create_celery(settings)
    previous = runtime._runtime
    runtime.install(
        runtime.build_runtime(services, CeleryDispatcher(celery, settings.celery_queue))
    )
    # The embed worker: what `celery worker -Q embed --pool threads` runs on a GPU machine.
    worker = celery.WorkController(
        pool_cls="threads",
        concurrency=4,
        without_heartbeat=True,
        without_mingle=True,
        without_gossip=True,
        queues=[settings.embed_queue],
        loglevel="WARNING",
    )
    thread = threading.Thread(target=worker.start, daemon=True)
    thread.start()
    offloading = QueueEmbedder(
        celery, redis_url, settings.embed_queue, embedder, settings.embed_timeout_s
    )
    try:
        yield Rig(settings, services, celery, offloading)
    finally:
        worker.stop(in_sighandler=False)
        thread.join(10)
        # A started worker marks the whole process as "inside a worker" (result.get() then
        # refuses to block); later tests in this process are not.
        from celery._state import _set_task_join_will_block

        _set_task_join_will_block(False)
        runtime.install(previous)  # type: ignore[arg-type]
        offloading.close()
        services.close()
        with redis.Redis.from_url(redis_url) as r:
            r.delete(settings.embed_queue, settings.celery_queue)


def test_offloaded_vectors_equal_local_ones(rig: Rig, embedder: Any) -> None:
    remote = rig.queue_embedder.embed_documents(TEXTS)
    local = embedder.embed_documents(TEXTS)
    assert remote.shape == local.shape == (3, embedder.dimension)
    np.testing.assert_allclose(remote, local, atol=1e-5)
    assert rig.queue_embedder.embed_documents([]).shape == (0, embedder.dimension)


def test_concurrent_calls_from_cpu_workers_share_batches(rig: Rig) -> None:
    """The embed worker's batcher merges calls that arrive together."""
    stats = rig.services.embedder.stats  # type: ignore[attr-defined]
    before = dataclasses.replace(stats)
    calls = [[f"{t} (call {n})" for t in TEXTS] for n in range(12)]
    results: list[np.ndarray] = []
    threads = [
        threading.Thread(target=lambda c=c: results.append(rig.queue_embedder.embed_documents(c)))
        for c in calls
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert len(results) == 12 and all(r.shape == (3, rig.queue_embedder.dimension) for r in results)
    assert stats.texts - before.texts == 36
    assert stats.batches - before.batches < 12  # at least two calls shared one forward pass


def test_document_ingested_with_offloaded_embeddings_is_found(rig: Rig) -> None:
    """A CPU worker's pipeline: chunks and writes locally, embeds through the queue."""
    cpu = dataclasses.replace(
        rig.services, embedder=build_batcher(rig.settings, rig.queue_embedder)
    )
    try:
        intake = IntakeService(rig.settings, cpu.stores.documents, cpu.locker, IdleDispatcher())
        doc_id = f"offload-{uuid.uuid4().hex[:8]}"
        text = " ".join(TEXTS[:2] * 20)
        intake.submit("default", DocumentInput(text=text, doc_id=doc_id))
        assert IngestPipeline(cpu).ingest("default", doc_id, 1) == "indexed"
        record = cpu.stores.documents.get("default", doc_id)
        assert record is not None and record.status == "indexed" and record.chunks >= 1
        assert cpu.stores.chunks.count("default", doc_id) == record.chunks
    finally:
        cpu.embedder.close()  # type: ignore[attr-defined]


def test_no_embed_worker_is_unavailable(rig: Rig, embedder: Any) -> None:
    lonely = QueueEmbedder(
        rig.celery, rig.settings.redis_url or "", f"nobody-{uuid.uuid4().hex[:8]}", embedder, 1
    )
    started = time.monotonic()
    with pytest.raises(Unavailable, match="no embed worker answered"):
        lonely.embed_documents(TEXTS)
    assert time.monotonic() - started < 10


def test_vector_codec_refuses_a_wrong_shape() -> None:
    vectors = np.arange(6, dtype=np.float32).reshape(2, 3)
    np.testing.assert_array_equal(decode_vectors(encode_vectors(vectors), 2, 3), vectors)
    with pytest.raises(Unavailable, match="another CHRONORAG_EMBEDDING_MODEL"):
        decode_vectors(encode_vectors(vectors), 2, 4)


@pytest.mark.parametrize(
    ("changes", "needle"),
    [
        ({"redis_url": None}, "needs CHRONORAG_REDIS_URL"),
        ({"embed_queue": "ingest", "celery_queue": "ingest"}, "must differ"),
    ],
)
def test_offload_settings_are_checked(changes: dict[str, Any], needle: str) -> None:
    base: dict[str, Any] = {"redis_url": "redis://127.0.0.1:6379/0", "embedding_offload": True}
    with pytest.raises(ValueError, match=needle):
        Settings(**{**base, **changes})
