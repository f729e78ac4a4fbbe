"""Findings of a security probe, through ``chronorag serve`` without Redis: a captured webhook
delivery stays refused after a restart, admin routes need an operator key, and the admin
search body is bounded."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator

import httpx
import pytest

from app.core.security import hash_api_key
from app.ingest.webhooks import sign_chronorag
from tests.conftest import ServeProcess, assert_problem, wait_status

pytestmark = pytest.mark.e2e

TENANT_KEY = "acme-key-" + uuid.uuid4().hex
ADMIN_KEY = "operator-key-" + uuid.uuid4().hex
FEED_SECRET = "acme-feed-secret-" + uuid.uuid4().hex


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServeProcess]:
    env = {
        "CHRONORAG_REDIS_URL": "",  # the one-process topology: no Redis to remember claims
        "CHRONORAG_LOG_LEVEL": "INFO",
        "CHRONORAG_API_KEYS": json.dumps({hash_api_key(TENANT_KEY): "acme"}),
        "CHRONORAG_ADMIN_KEYS": json.dumps([hash_api_key(ADMIN_KEY)]),
        "CHRONORAG_WEBHOOK_SECRETS": json.dumps(
            {"acme-feed": {"secret": FEED_SECRET, "tenant": "acme"}}
        ),
    }
    proc = ServeProcess(tmp_path_factory.mktemp("hostile") / "data", env)
    proc.start()
    yield proc
    proc.stop()


def _client(server: ServeProcess, key: str | None) -> httpx.Client:
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    return httpx.Client(base_url=server.url, timeout=60, headers=headers)


def test_a_captured_delivery_is_refused_after_a_restart(server: ServeProcess) -> None:
    doc_id = f"wh-{uuid.uuid4().hex[:10]}"
    body = json.dumps(
        {
            "id": doc_id,
            "text": "The Veltmoor lighthouse was relit.",
            "published_at": "2024-03-01T00:00:00Z",
        }
    ).encode()
    stamp = int(time.time())
    headers = {
        "content-type": "application/json",
        "X-Chronorag-Timestamp": str(stamp),
        "X-Chronorag-Signature": sign_chronorag(FEED_SECRET, stamp, body),
        "X-Chronorag-Delivery": uuid.uuid4().hex,
    }
    with _client(server, TENANT_KEY) as acme:
        assert acme.post("/v1/webhooks/acme-feed", content=body, headers=headers).status_code == 202
        wait_status(acme, doc_id, "indexed")
        assert acme.delete(f"/v1/documents/{doc_id}").status_code == 202
        wait_status(acme, doc_id, "deleted")
    server.stop()
    server.start()  # same data folder, fresh process memory
    with _client(server, TENANT_KEY) as acme:
        replay = acme.post("/v1/webhooks/acme-feed", content=body, headers=headers)
        assert_problem(replay, 409, "already received")
        renamed = {**headers, "X-Chronorag-Delivery": uuid.uuid4().hex}
        replay = acme.post("/v1/webhooks/acme-feed", content=body, headers=renamed)
        assert_problem(replay, 409, "a replay")
        assert acme.get(f"/v1/documents/{doc_id}").json()["status"] == "deleted"
    assert (server.data_dir / "claims.sqlite3").is_file()


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [("GET", "/v1/admin/stats", None), ("POST", "/v1/admin/search", {"question": "lighthouse"})],
)
def test_admin_routes_need_an_operator_key(
    server: ServeProcess, method: str, path: str, body: dict[str, str] | None
) -> None:
    with _client(server, None) as anon:
        assert_problem(anon.request(method, path, json=body), 401, "admin key is required")
    with _client(server, "not-a-key") as stranger:
        assert_problem(stranger.request(method, path, json=body), 401, "not recognised")
    with _client(server, TENANT_KEY) as tenant:
        assert_problem(tenant.request(method, path, json=body), 403, "CHRONORAG_ADMIN_KEYS")
        assert tenant.get("/v1/documents/absent").status_code == 404  # the key still works
    with _client(server, ADMIN_KEY) as operator:
        resp = operator.request(method, path, json=body)
        assert resp.status_code == 200, resp.text
        # An operator key is no tenant key: tenant routes do not take it.
        assert_problem(operator.get("/v1/documents/absent"), 401)


def test_admin_search_searches_the_named_tenant(server: ServeProcess) -> None:
    doc_id = f"acme-{uuid.uuid4().hex[:8]}"
    with _client(server, TENANT_KEY) as acme:
        resp = acme.post(
            "/v1/documents",
            json={"id": doc_id, "text": "The Orrin canal locks reopened in spring."},
        )
        assert resp.status_code == 202, resp.text
        wait_status(acme, doc_id, "indexed")
    question = {"question": "When did the Orrin canal locks reopen?", "top_k": 50}
    with _client(server, ADMIN_KEY) as operator:
        mine = operator.post("/v1/admin/search", json={**question, "tenant": "acme"})
        assert mine.status_code == 200, mine.text
        assert doc_id in {h["document_id"] for h in mine.json()["hits"]}
        other = operator.post("/v1/admin/search", json=question)  # tenant "default"
        assert other.status_code == 200
        assert doc_id not in {h["document_id"] for h in other.json()["hits"]}
        bad = operator.post("/v1/admin/search", json={**question, "tenant": "../x"})
        assert_problem(bad, 422, "tenant")


def test_admin_search_body_is_bounded(server: ServeProcess) -> None:
    huge = json.dumps({"vector": [0.1] * 400_000}).encode()  # ~2 MB
    with _client(server, ADMIN_KEY) as operator:
        resp = operator.post(
            "/v1/admin/search", content=huge, headers={"content-type": "application/json"}
        )
        assert_problem(resp, 413, "limit")

        def chunks() -> Iterator[bytes]:  # no Content-Length: refused while streaming
            for _ in range(100):
                yield b" " * 10_000

        resp = operator.post(
            "/v1/admin/search", content=chunks(), headers={"content-type": "application/json"}
        )
        assert_problem(resp, 413, "limit")
        assert_problem(operator.post("/v1/admin/search", content=b"{not json"), 400)
        # The service is still there.
        assert operator.get("/v1/admin/stats").status_code == 200
