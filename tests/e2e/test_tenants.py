"""Two tenants on one server: every endpoint needs a key, and one tenant's ids, content, facts
and summaries never reach the other."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from app.core.security import hash_api_key
from app.ingest.webhooks import sign_chronorag
from tests.conftest import ServeProcess, assert_problem, serve_env, wait_status

pytestmark = pytest.mark.e2e

ACME_KEY = "acme-key-" + uuid.uuid4().hex
GLOBEX_KEY = "globex-key-" + uuid.uuid4().hex
ADMIN_KEY = "operator-key-" + uuid.uuid4().hex
ACME_FEED_SECRET = "acme-feed-secret-" + uuid.uuid4().hex
GLOBEX_FEED_SECRET = "globex-feed-secret-" + uuid.uuid4().hex
ACME_TEXT = (
    "Halvorsen Tidal Power appointed Ingrid Solbakken as chief executive on Monday. "
    "Solbakken takes over the running of the Bergen energy group."
)
ACME_QUESTION = "Who is the chief executive of Halvorsen Tidal Power?"


@pytest.fixture(scope="module")
def tenants_server(
    tmp_path_factory: pytest.TempPathFactory, redis_url: str
) -> Iterator[ServeProcess]:
    env = serve_env(redis_url)
    env["CHRONORAG_API_KEYS"] = json.dumps(
        {hash_api_key(ACME_KEY): "acme", hash_api_key(GLOBEX_KEY): "globex"}
    )
    env["CHRONORAG_ADMIN_KEYS"] = json.dumps([hash_api_key(ADMIN_KEY)])
    env["CHRONORAG_WEBHOOK_SECRETS"] = json.dumps(
        {
            "acme-feed": {"secret": ACME_FEED_SECRET, "tenant": "acme"},
            "globex-feed": {"secret": GLOBEX_FEED_SECRET, "tenant": "globex"},
        }
    )
    proc = ServeProcess(tmp_path_factory.mktemp("tenants") / "data", env)
    proc.start()
    yield proc
    proc.stop()


def _client(server: ServeProcess, key: str | None) -> httpx.Client:
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    return httpx.Client(base_url=server.url, timeout=60, headers=headers)


@pytest.fixture()
def acme(tenants_server: ServeProcess) -> Iterator[httpx.Client]:
    with _client(tenants_server, ACME_KEY) as c:
        yield c


@pytest.fixture()
def globex(tenants_server: ServeProcess) -> Iterator[httpx.Client]:
    with _client(tenants_server, GLOBEX_KEY) as c:
        yield c


@pytest.fixture(scope="module")
def acme_doc(tenants_server: ServeProcess) -> str:
    doc_id = f"acme-{uuid.uuid4().hex[:8]}"
    with _client(tenants_server, ACME_KEY) as c:
        resp = c.post(
            "/v1/documents",
            json={"id": doc_id, "text": ACME_TEXT, "published_at": "2019-03-04T09:00:00Z"},
        )
        assert resp.status_code == 202, resp.text
        wait_status(c, doc_id, "indexed")
    return doc_id


def _endpoints(doc_id: str) -> list[tuple[str, str, dict[str, Any] | None]]:
    return [
        ("GET", f"/v1/documents/{doc_id}", None),
        ("PUT", f"/v1/documents/{doc_id}", {"text": "Overwritten by someone else."}),
        ("DELETE", f"/v1/documents/{doc_id}", None),
        ("POST", "/v1/documents", {"text": "A note from nobody."}),
        ("POST", "/v1/query", {"question": ACME_QUESTION}),
        ("GET", "/v1/entities/Ingrid Solbakken/timeline", None),
        ("GET", "/v1/time/2019", None),
        ("POST", "/v1/admin/search", {"question": ACME_QUESTION}),
        ("GET", "/v1/admin/stats", None),
    ]


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": "Bearer not-a-key"},
        {"X-API-Key": "not-a-key"},
        {"Authorization": f"Basic {ACME_KEY}"},
        {"Authorization": hash_api_key(ACME_KEY)},
        {"X-API-Key": hash_api_key(ACME_KEY)},  # the stored hash is not a key
    ],
)
def test_every_route_needs_a_valid_key(
    tenants_server: ServeProcess, acme_doc: str, headers: dict[str, str]
) -> None:
    with httpx.Client(base_url=tenants_server.url, timeout=60, headers=headers) as anon:
        for method, path, body in _endpoints(acme_doc):
            resp = anon.request(method, path, json=body)
            assert_problem(resp, 401)
        assert anon.get("/healthz").status_code == 200
    with _client(tenants_server, ACME_KEY) as acme:
        assert acme.get(f"/v1/documents/{acme_doc}").json()["status"] == "indexed"


def test_bearer_and_x_api_key_both_work(tenants_server: ServeProcess, acme_doc: str) -> None:
    with httpx.Client(base_url=tenants_server.url, timeout=60) as c:
        for headers in (
            {"Authorization": f"Bearer {ACME_KEY}"},
            {"X-API-Key": ACME_KEY},
            {"authorization": f"bearer {ACME_KEY}"},
        ):
            assert c.get(f"/v1/documents/{acme_doc}", headers=headers).status_code == 200


def test_other_tenants_document_is_not_found(
    acme: httpx.Client, globex: httpx.Client, acme_doc: str
) -> None:
    for method, body in (
        ("GET", None),
        ("DELETE", None),
        ("PUT", {"text": "Globex overwrites Acme's note."}),
    ):
        problem = assert_problem(
            globex.request(method, f"/v1/documents/{acme_doc}", json=body), 404
        )
        assert "Solbakken" not in json.dumps(problem)
    status = acme.get(f"/v1/documents/{acme_doc}").json()
    assert status["status"] == "indexed" and status["version"] == 1


def test_same_id_in_two_tenants_are_two_documents(
    acme: httpx.Client, globex: httpx.Client, acme_doc: str
) -> None:
    resp = globex.post("/v1/documents", json={"id": acme_doc, "text": "Globex's own memo."})
    assert resp.status_code == 202 and resp.json()["version"] == 1
    wait_status(globex, acme_doc, "indexed")
    assert acme.get(f"/v1/documents/{acme_doc}").json()["version"] == 1
    cited = acme.post("/v1/query", json={"question": ACME_QUESTION}).json()["evidence"]
    assert cited and cited[0]["document_id"] == acme_doc and "Solbakken" in cited[0]["text"]
    globex.delete(f"/v1/documents/{acme_doc}")
    wait_status(globex, acme_doc, "deleted")
    assert acme.get(f"/v1/documents/{acme_doc}").json()["status"] == "indexed"


def test_queries_are_confined_to_the_tenant(
    acme: httpx.Client, globex: httpx.Client, acme_doc: str
) -> None:
    mine = acme.post("/v1/query", json={"question": ACME_QUESTION}).json()
    assert mine["evidence"][0]["document_id"] == acme_doc
    for question in (ACME_QUESTION, ACME_TEXT, "Ingrid Solbakken", "Halvorsen"):
        theirs = globex.post("/v1/query", json={"question": question, "top_k": 20})
        assert theirs.status_code == 200, theirs.text
        assert "Solbakken" not in theirs.text and acme_doc not in theirs.text


def test_graph_endpoints_are_confined_to_the_tenant(
    acme: httpx.Client, globex: httpx.Client, acme_doc: str
) -> None:
    path = "/v1/entities/Ingrid Solbakken/timeline"
    deadline = time.monotonic() + 30
    while (resp := acme.get(path)).status_code != 200 and time.monotonic() < deadline:
        time.sleep(0.2)
    assert resp.status_code == 200, resp.text
    assert resp.json()["facts"], resp.json()
    assert_problem(globex.get(path), 404)
    period = acme.get("/v1/time/2019")
    assert period.status_code == 200 and "Solbakken" in period.text
    theirs = globex.get("/v1/time/2019")
    assert theirs.status_code == 200, theirs.text
    assert theirs.json()["facts"] == [] and "Solbakken" not in theirs.text


def test_admin_search_is_confined_to_the_named_tenant(
    tenants_server: ServeProcess, acme: httpx.Client, acme_doc: str
) -> None:
    body = {"question": ACME_QUESTION, "top_k": 50}
    assert_problem(acme.post("/v1/admin/search", json=body), 403, "CHRONORAG_ADMIN_KEYS")
    with _client(tenants_server, ADMIN_KEY) as operator:
        mine = operator.post("/v1/admin/search", json={**body, "tenant": "acme"})
        assert mine.status_code == 200, mine.text
        assert acme_doc in {h["document_id"] for h in mine.json()["hits"]}
        theirs = operator.post("/v1/admin/search", json={**body, "tenant": "globex"})
        assert theirs.status_code == 200
        assert acme_doc not in {h["document_id"] for h in theirs.json()["hits"]}


def _signed(body: bytes, secret: str) -> dict[str, str]:
    stamp = int(time.time())
    return {
        "content-type": "application/json",
        "X-Chronorag-Timestamp": str(stamp),
        "X-Chronorag-Signature": sign_chronorag(secret, stamp, body),
        "X-Chronorag-Delivery": uuid.uuid4().hex,
    }


def test_webhook_writes_into_its_sources_tenant(
    tenants_server: ServeProcess, acme: httpx.Client, globex: httpx.Client
) -> None:
    doc_id = f"feed-{uuid.uuid4().hex[:8]}"
    body = json.dumps({"id": doc_id, "text": "The Halvorsen board met in Bergen."}).encode()
    with httpx.Client(base_url=tenants_server.url, timeout=60) as anon:
        # Globex's secret does not open Acme's feed; API keys do not replace a signature.
        assert_problem(
            anon.post(
                "/v1/webhooks/acme-feed", content=body, headers=_signed(body, GLOBEX_FEED_SECRET)
            ),
            401,
        )
        assert_problem(
            anon.post(
                "/v1/webhooks/acme-feed",
                content=body,
                headers={"content-type": "application/json", "Authorization": f"Bearer {ACME_KEY}"},
            ),
            401,
        )
        assert acme.get(f"/v1/documents/{doc_id}").status_code == 404
        resp = anon.post(
            "/v1/webhooks/acme-feed", content=body, headers=_signed(body, ACME_FEED_SECRET)
        )
        assert resp.status_code == 202, resp.text
    wait_status(acme, doc_id, "indexed")
    assert_problem(globex.get(f"/v1/documents/{doc_id}"), 404)


def test_idempotency_keys_are_scoped_per_tenant(acme: httpx.Client, globex: httpx.Client) -> None:
    key = str(uuid.uuid4())
    body = {"id": f"idem-{uuid.uuid4().hex[:8]}", "text": "A shared key, two tenants."}
    for client in (acme, globex):
        resp = client.post("/v1/documents", json=body, headers={"Idempotency-Key": key})
        assert resp.status_code == 202 and "Idempotent-Replayed" not in resp.headers
        again = client.post("/v1/documents", json=body, headers={"Idempotency-Key": key})
        assert again.headers["Idempotent-Replayed"] == "true"
        assert client.get(f"/v1/documents/{body['id']}").status_code == 200
