"""Backpressure: with no worker draining the queue, intake turns to 429 + Retry-After once the
backlog passes ``CHRONORAG_MAX_BACKLOG``, and a refused request leaves nothing behind."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator

import httpx
import pytest
import redis

from app.ingest.webhooks import sign_chronorag
from tests.conftest import PROBLEM, WEBHOOK_SECRET, ServeProcess, serve_env

pytestmark = pytest.mark.e2e
MAX_BACKLOG = 2


@pytest.fixture(scope="module")
def idle_server(tmp_path_factory: pytest.TempPathFactory, redis_url: str) -> Iterator[ServeProcess]:
    env = serve_env(redis_url)
    # As `serve --no-worker`: nothing drains the queue.
    env.update(
        {
            "CHRONORAG_EMBEDDED_WORKER": "false",
            "CHRONORAG_MAX_BACKLOG": str(MAX_BACKLOG),
            "CHRONORAG_BACKPRESSURE_RETRY_AFTER_S": "7",
        }
    )
    proc = ServeProcess(tmp_path_factory.mktemp("backpressure") / "data", env)
    proc.start()
    yield proc
    proc.stop()
    redis.Redis.from_url(redis_url).delete(env["CHRONORAG_CELERY_QUEUE"])


def _overloaded(resp: httpx.Response) -> None:
    assert resp.status_code == 429, resp.text
    assert resp.headers["content-type"] == PROBLEM
    assert resp.headers["Retry-After"] == "7"
    body = resp.json()
    assert body["status"] == 429 and "CHRONORAG_MAX_BACKLOG" in body["detail"]


def _doc(n: int) -> dict[str, str]:
    return {"id": f"bp-{n}-{uuid.uuid4().hex[:6]}", "text": f"Backlog note number {n}."}


def test_intake_is_refused_over_the_backlog_and_resumes(
    idle_server: ServeProcess, redis_url: str
) -> None:
    queue = idle_server.env["CHRONORAG_CELERY_QUEUE"]
    broker = redis.Redis.from_url(redis_url)
    with httpx.Client(base_url=idle_server.url, timeout=60) as client:
        accepted = [_doc(n) for n in range(MAX_BACKLOG + 1)]
        for doc in accepted:
            assert client.post("/v1/documents", json=doc).status_code == 202
        assert broker.llen(queue) == MAX_BACKLOG + 1  # the list Celery's Redis transport keeps

        refused = _doc(99)
        _overloaded(client.post("/v1/documents", json=refused))
        _overloaded(client.put(f"/v1/documents/{accepted[0]['id']}", json={"text": "v2"}))
        key = str(uuid.uuid4())
        _overloaded(client.post("/v1/documents", json=refused, headers={"Idempotency-Key": key}))
        body = json.dumps(refused).encode()
        stamp = int(time.time())
        hook_headers = {
            "content-type": "application/json",
            "X-Chronorag-Timestamp": str(stamp),
            "X-Chronorag-Signature": sign_chronorag(WEBHOOK_SECRET, stamp, body),
            "X-Chronorag-Delivery": uuid.uuid4().hex,
        }
        _overloaded(client.post("/v1/webhooks/newswire", content=body, headers=hook_headers))

        # Nothing refused was recorded; reads are not limited.
        assert client.get(f"/v1/documents/{refused['id']}").status_code == 404
        assert client.get(f"/v1/documents/{accepted[0]['id']}").json()["version"] == 1
        assert client.post("/v1/query", json={"question": "backlog note"}).status_code == 200
        assert broker.llen(queue) == MAX_BACKLOG + 1

        # Once the queue drains, the same requests go through: the 429 used up neither the
        # delivery id nor the idempotency key.
        broker.delete(queue)
        resp = client.post("/v1/webhooks/newswire", content=body, headers=hook_headers)
        assert resp.status_code == 202, resp.text
        resp = client.post("/v1/documents", json=refused, headers={"Idempotency-Key": key})
        assert resp.status_code == 202 and "Idempotent-Replayed" not in resp.headers
