"""``Idempotency-Key`` on POST /v1/documents, through ``chronorag serve`` and real Redis."""

from __future__ import annotations

import uuid
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from tests.conftest import PROBLEM, ServeProcess

pytestmark = pytest.mark.e2e


def _body(text: str = "The Mirelow ferry added a night crossing.") -> dict[str, str]:
    return {
        "id": f"idem-{uuid.uuid4().hex[:8]}",
        "text": text,
        "published_at": "2024-02-01T00:00:00Z",
    }


def test_repeat_gets_the_first_response(client: httpx.Client) -> None:
    key, body = str(uuid.uuid4()), _body()
    first = client.post("/v1/documents", json=body, headers={"Idempotency-Key": key})
    assert first.status_code == 202 and "Idempotent-Replayed" not in first.headers
    # Same request, re-encoded (key order, time zone spelling): still the same request.
    same = {"published_at": "2024-02-01T01:00:00+01:00", "text": body["text"], "id": body["id"]}
    second = client.post("/v1/documents", json=same, headers={"Idempotency-Key": key})
    assert second.status_code == 202
    assert second.json() == first.json()
    assert second.headers["Idempotent-Replayed"] == "true"
    assert second.headers["Location"] == first.headers["Location"] == f"/v1/documents/{body['id']}"


def test_same_key_with_another_body_conflicts(client: httpx.Client) -> None:
    key, body = str(uuid.uuid4()), _body()
    assert (
        client.post("/v1/documents", json=body, headers={"Idempotency-Key": key}).status_code == 202
    )
    other = {**body, "text": "A different text under the same key."}
    resp = client.post("/v1/documents", json=other, headers={"Idempotency-Key": key})
    assert resp.status_code == 409
    assert resp.headers["content-type"] == PROBLEM
    assert "different request" in resp.json()["detail"]
    assert client.get(f"/v1/documents/{body['id']}").json()["version"] == 1


def test_invalid_request_does_not_use_up_the_key(client: httpx.Client) -> None:
    key = str(uuid.uuid4())
    bad = client.post("/v1/documents", json={"text": "  "}, headers={"Idempotency-Key": key})
    assert bad.status_code == 422
    good = client.post("/v1/documents", json=_body(), headers={"Idempotency-Key": key})
    assert good.status_code == 202 and "Idempotent-Replayed" not in good.headers


def test_stored_client_error_is_replayed(client: httpx.Client) -> None:
    body = _body()
    client.post("/v1/documents", json=body)
    client.put(f"/v1/documents/{body['id']}", json={"text": "Second version."})
    key = str(uuid.uuid4())
    stale = {**body, "text": "Stale third text.", "version": 1}
    first = client.post("/v1/documents", json=stale, headers={"Idempotency-Key": key})
    assert first.status_code == 409 and "stale" in first.json()["detail"]
    again = client.post("/v1/documents", json=stale, headers={"Idempotency-Key": key})
    assert again.status_code == 409 and again.json() == first.json()
    assert again.headers["content-type"] == PROBLEM
    assert again.headers["Idempotent-Replayed"] == "true"


def test_invalid_key_is_refused(client: httpx.Client) -> None:
    resp = client.post("/v1/documents", json=_body(), headers={"Idempotency-Key": "x" * 300})
    assert resp.status_code == 422 and "Idempotency-Key" in resp.json()["detail"]


def test_concurrent_duplicates_record_once(server: ServeProcess) -> None:
    key = str(uuid.uuid4())
    body = _body()

    def post(_: int) -> httpx.Response:
        with httpx.Client(base_url=server.url, timeout=60) as c:
            return c.post("/v1/documents", json=body, headers={"Idempotency-Key": key})

    with ThreadPoolExecutor(max_workers=12) as pool:
        responses = list(pool.map(post, range(12)))
    fresh = [
        r for r in responses if r.status_code == 202 and "Idempotent-Replayed" not in r.headers
    ]
    replayed = [r for r in responses if r.headers.get("Idempotent-Replayed") == "true"]
    in_progress = [r for r in responses if r.status_code == 409]
    assert len(fresh) == 1, [r.text for r in responses]
    assert len(fresh) + len(replayed) + len(in_progress) == 12
    assert all(r.json() == fresh[0].json() for r in replayed)
    assert all("in progress" in r.json()["detail"] for r in in_progress)
    with httpx.Client(base_url=server.url, timeout=60) as c:
        assert c.get(f"/v1/documents/{body['id']}").json()["version"] == 1


def test_resending_an_undated_document_without_id_is_a_noop(client: httpx.Client) -> None:
    """Without an Idempotency-Key, a retry of a bare upload must not make a second document:
    its id comes from its text, and its date from the first receipt."""
    body = {"text": f"The Orrin ferry resumed its winter timetable. Ref {uuid.uuid4().hex}."}
    first = client.post("/v1/documents", json=body)
    assert first.status_code == 202, first.text
    again = client.post("/v1/documents", json=body)
    assert again.status_code == 202, again.text
    assert again.json()["id"] == first.json()["id"]
    assert again.json()["version"] == first.json()["version"] == 1
    other = client.post("/v1/documents", json={"text": body["text"] + " Updated."})
    assert other.json()["id"] != first.json()["id"]
