"""Redis loses everything (queue, stream, locks) while documents wait in the queue; the
reconciler must still drive every recorded document to the end."""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from tests.conftest import ServeProcess
from tests.faults.conftest import PrivateRedis, fault_env, wait_until

pytestmark = pytest.mark.faults

N_REST = 20
N_STREAM = 10
N_DELETE = 3
N_AFTER = 5


def test_reconciler_completes_documents_after_redis_lost_the_queue(
    workdir: Path, private_redis: PrivateRedis, fault_summary: Callable[[str], None]
) -> None:
    started = time.monotonic()
    tag = uuid.uuid4().hex[:6]
    # Phase 1: API and stream consumer only, no worker: the queue fills up and stays full.
    env = fault_env(private_redis.url, embedded_worker="false")
    stream, queue = env["CHRONORAG_STREAM_NAME"], env["CHRONORAG_CELERY_QUEUE"]
    api_only = ServeProcess(workdir / "data", env)
    api_only.start()
    r = private_redis.client()
    client = httpx.Client(base_url=api_only.url, timeout=30)
    docs: list[str] = []
    deleted: list[str] = []
    try:
        for n in range(N_REST + N_DELETE):
            doc_id = f"lost-{tag}-{n}"
            resp = client.post(
                "/v1/documents",
                json={
                    "id": doc_id,
                    "published_at": "2024-03-01T00:00:00Z",
                    "text": f"Lowmoor Textiles opened mill number {n} near the river.",
                },
            )
            assert resp.status_code == 202, resp.text
            (docs if n < N_REST else deleted).append(doc_id)
        for doc_id in deleted:  # half-deleted: the delete task is queued, then lost
            assert client.delete(f"/v1/documents/{doc_id}").status_code == 202
        for n in range(N_STREAM):
            doc_id = f"lost-stream-{tag}-{n}"
            r.xadd(stream, {"id": doc_id, "text": f"Cinder Valley Power lit turbine {n}."})
            docs.append(doc_id)
        expected_tasks = N_REST + N_DELETE * 2 + N_STREAM
        wait_until(lambda: r.llen(queue) == expected_tasks, 60, f"{expected_tasks} queued tasks")
        queued_before = r.llen(queue)

        private_redis.kill()  # the queue, the stream and every lock are gone
        resp = client.post("/v1/documents", json={"text": "Sent while Redis is down."})
        assert resp.status_code == 503, resp.text  # refused cleanly: never 500, never lost
        assert resp.headers["content-type"] == "application/problem+json"
        assert client.get(f"/v1/documents/{docs[0]}").json()["status"] == "pending"
        private_redis.start()
        assert r.llen(queue) == 0 and not r.exists(stream)

        # The consumer re-creates its group on the empty stream and goes on recording.
        for n in range(N_AFTER):
            doc_id = f"lost-after-{tag}-{n}"
            r.xadd(stream, {"id": doc_id, "text": f"Harrowgate Ferries added route {n}."})
            docs.append(doc_id)
        wait_until(
            lambda: all(
                client.get(f"/v1/documents/{d}").status_code == 200 for d in docs[-N_AFTER:]
            ),
            60,
            "the stream consumer to resume",
        )
    finally:
        client.close()
        api_only.stop()

    # Phase 2: a serve with its worker. Nothing of phase 1 is queued any more: only the
    # reconciler (start-up pass, then every second for records older than 3 s) can finish it.
    worker = ServeProcess(workdir / "data", {**env, "CHRONORAG_EMBEDDED_WORKER": "true"})
    worker.start()
    client = httpx.Client(base_url=worker.url, timeout=30)
    try:

        def finished() -> bool:
            states = [client.get(f"/v1/documents/{d}").json()["status"] for d in docs]
            gone = [client.get(f"/v1/documents/{d}").json()["status"] for d in deleted]
            assert "failed" not in states, states
            return set(states) == {"indexed"} and set(gone) == {"deleted"}

        wait_until(finished, 120, "the reconciler to finish every document", 0.5)
    finally:
        client.close()
        worker.stop()
        r.close()
    log = worker.log.read_text(errors="replace")
    redispatched = sum(int(n) for n in re.findall(r"reconciler re-dispatched (\d+)", log))
    assert redispatched >= N_REST + N_STREAM + N_DELETE
    fault_summary(
        f"redis_restarts={private_redis.starts - 1} queued_tasks_lost={queued_before} "
        f"reconciler_redispatched={redispatched} docs_indexed={len(docs)} "
        f"docs_deleted={len(deleted)} seconds={time.monotonic() - started:.0f}"
    )
