"""A re-sent, unchanged document whose record is still pending gets its ingest task again:
through the real API (in process, no worker, so the Celery queue on real Redis can be read),
embedded Qdrant and the real model."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import redis
from fastapi.testclient import TestClient

from app.core.errors import Unavailable
from app.core.settings import Settings
from app.ingest.intake import DocumentInput, IntakeService
from app.wiring import build_services
from tests.dispatchers import IdleDispatcher
from tests.queues import queue_keys, queued_tasks
from workers.embedded import Node, build_node
from workers.runtime import runtime_of

pytestmark = pytest.mark.integration

INGEST = "chronorag.ingest_document"


@dataclass
class Rig:
    node: Node
    http: TestClient
    redis: Any

    def queued(self) -> list[tuple[str, list[Any]]]:
        return queued_tasks(self.redis, self.node.settings.celery_queue)

    def intake(self, dispatcher: Any) -> IntakeService:
        """An intake over the node's own stores and locks, enqueueing through ``dispatcher``."""
        services = self.node.services
        return IntakeService(
            services.settings, services.stores.documents, services.locker, dispatcher
        )


@pytest.fixture()
def rig(tmp_path: Path, redis_url: str, embedder: Any) -> Iterator[Rig]:
    settings = Settings(
        data_dir=tmp_path / "data",
        redis_url=redis_url,
        celery_queue=f"test-redispatch-{uuid.uuid4().hex[:10]}",
        stream_enabled=False,
    )
    node = build_node(settings, build_services(settings, embedder=embedder))
    client = redis.Redis.from_url(redis_url)
    try:
        yield Rig(node, TestClient(node.api), client)  # no worker: tasks stay queued
    finally:
        client.delete(*queue_keys(settings.celery_queue))
        client.close()
        node.stop()


def _body(doc_id: str) -> dict[str, str]:
    return {
        "id": doc_id,
        "text": "The Ashcombe tramway reopened its harbour line after the storm repairs.",
        "published_at": "2024-05-01T00:00:00Z",
    }


def test_rest_reupload_of_a_pending_document_queues_its_task_again(rig: Rig) -> None:
    body = _body("redispatch-rest")
    # The first attempt died between recording and enqueueing: durable record, no task.
    first = rig.intake(IdleDispatcher()).submit(
        "default", DocumentInput(text=body["text"], doc_id=body["id"])
    )
    assert first.status == "pending" and rig.queued() == []

    again = rig.http.post(
        "/v1/documents", json={k: v for k, v in body.items() if k != "published_at"}
    )
    assert again.status_code == 202, again.text
    assert again.json()["version"] == 1 and again.json()["status"] == "pending"
    assert rig.queued() == [(INGEST, ["default", body["id"], 1])]
    record = rig.node.services.stores.documents.get("default", body["id"])
    assert record is not None and record.version == 1 and record.status == "pending"


def test_rest_reupload_of_an_indexed_document_queues_nothing(rig: Rig) -> None:
    body = _body("redispatch-indexed")
    assert rig.http.post("/v1/documents", json=body).status_code == 202
    assert rig.queued() == [(INGEST, ["default", body["id"], 1])]
    assert runtime_of(rig.node.celery).get().pipeline.ingest("default", body["id"], 1) == "indexed"
    rig.redis.delete(rig.node.settings.celery_queue)  # as a worker would have taken it

    again = rig.http.post("/v1/documents", json=body)
    assert again.status_code == 202, again.text
    assert again.json()["version"] == 1 and again.json()["status"] == "indexed"
    assert rig.queued() == []
    # A duplicate task for the indexed version, had one been sent, changes nothing.
    assert runtime_of(rig.node.celery).get().pipeline.ingest("default", body["id"], 1) == "skipped"


class DownDispatcher(IdleDispatcher):
    def ingest(self, tenant: str, doc_id: str, version: int) -> None:
        raise Unavailable("task queue unavailable: connection refused")


def test_failed_redispatch_still_accepts_the_retry(
    rig: Rig, caplog: pytest.LogCaptureFixture
) -> None:
    body = _body("redispatch-down")
    doc = DocumentInput(text=body["text"], doc_id=body["id"])
    intake = rig.intake(DownDispatcher())
    assert intake.submit("default", doc).status == "pending"  # recorded, never enqueued
    with caplog.at_level(logging.WARNING, logger="app.ingest.intake"):
        retried = intake.submit("default", DocumentInput(text=body["text"], doc_id=body["id"]))
    assert retried.unchanged and retried.status == "pending" and retried.version == 1
    assert "re-dispatch of unchanged redispatch-down v1 failed" in caplog.text
    assert rig.queued() == []
