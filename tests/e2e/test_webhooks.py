"""Signed webhooks through ``chronorag serve``: accepted once, refused with a problem otherwise,
and nothing recorded from a refused request."""

from __future__ import annotations

import json
import time
import uuid
from typing import Any

import httpx
import pytest

from app.ingest.webhooks import sign_chronorag, sign_github
from tests.conftest import GITHUB_WEBHOOK_SECRET, WEBHOOK_SECRET, assert_problem, wait_status

pytestmark = pytest.mark.e2e


def _doc(text: str = "The Veltmoor lighthouse was relit after a decade dark.") -> dict[str, Any]:
    return {
        "id": f"wh-{uuid.uuid4().hex[:10]}",
        "text": text,
        "published_at": "2024-03-01T00:00:00Z",
    }


def _signed(
    body: bytes,
    *,
    secret: str = WEBHOOK_SECRET,
    timestamp: int | None = None,
    delivery: str | None = None,
) -> dict[str, str]:
    stamp = int(time.time()) if timestamp is None else timestamp
    return {
        "content-type": "application/json",
        "X-Chronorag-Timestamp": str(stamp),
        "X-Chronorag-Signature": sign_chronorag(secret, stamp, body),
        "X-Chronorag-Delivery": delivery or uuid.uuid4().hex,
    }


def _github(
    body: bytes,
    *,
    secret: str = GITHUB_WEBHOOK_SECRET,
    delivery: str | None = None,
    event: str = "push",
) -> dict[str, str]:
    return {
        "content-type": "application/json",
        "X-Hub-Signature-256": sign_github(secret, body),
        "X-GitHub-Delivery": delivery or str(uuid.uuid4()),
        "X-GitHub-Event": event,
    }


def _post(
    client: httpx.Client, payload: Any, source: str = "newswire", **sign: Any
) -> tuple[httpx.Response, bytes, dict[str, str]]:
    body = json.dumps(payload).encode()
    headers = _signed(body, **sign)
    return client.post(f"/v1/webhooks/{source}", content=body, headers=headers), body, headers


def _absent(client: httpx.Client, *doc_ids: str) -> None:
    for doc_id in doc_ids:
        assert client.get(f"/v1/documents/{doc_id}").status_code == 404, doc_id


def test_signed_document_is_accepted_and_searchable(client: httpx.Client) -> None:
    doc = _doc()
    resp, _, _ = _post(client, doc)
    assert resp.status_code == 202, resp.text
    assert resp.json() == [
        {
            "id": doc["id"],
            "version": 1,
            "status": "pending",
            "status_url": f"/v1/documents/{doc['id']}",
        }
    ]
    status = wait_status(client, doc["id"], "indexed")
    assert status["source"] == "newswire"  # provenance defaults to the webhook source
    ask = client.post("/v1/query", json={"question": "What happened to the Veltmoor lighthouse?"})
    assert ask.json()["evidence"][0]["document_id"] == doc["id"]


def test_batch_is_accepted_in_order(client: httpx.Client) -> None:
    docs = [_doc(f"Batch note {n} about the Orrin canal locks.") for n in range(3)]
    resp, _, _ = _post(client, {"documents": docs})
    assert resp.status_code == 202, resp.text
    assert [a["id"] for a in resp.json()] == [d["id"] for d in docs]
    for d in docs:
        wait_status(client, d["id"], "indexed")


def test_invalid_document_in_batch_records_nothing(client: httpx.Client) -> None:
    good, bad = _doc(), _doc()
    del bad["text"]
    resp, _, _ = _post(client, {"documents": [good, bad]})
    assert_problem(resp, 422, "documents.1.text")
    empty = _doc(text="   ")
    resp, _, _ = _post(client, {"documents": [good, empty]})
    assert_problem(resp, 422, "documents.1.text: must be a non-empty")
    _absent(client, good["id"], bad["id"], empty["id"])


def test_version_is_not_accepted(client: httpx.Client) -> None:
    doc = {**_doc(), "version": 4}
    resp, _, _ = _post(client, doc)
    assert_problem(resp, 422, "version")
    _absent(client, doc["id"])


def test_batch_over_limit_is_refused(client: httpx.Client) -> None:
    docs = [_doc(f"tiny {n}") for n in range(101)]
    resp, _, _ = _post(client, {"documents": docs})
    assert_problem(resp, 413, "CHRONORAG_WEBHOOK_MAX_BATCH")
    _absent(client, docs[0]["id"])


def test_bad_signature_is_unauthorized(client: httpx.Client) -> None:
    doc = _doc()
    body = json.dumps(doc).encode()
    headers = _signed(body, secret="not-the-secret")
    assert_problem(
        client.post("/v1/webhooks/newswire", content=body, headers=headers), 401, "does not match"
    )
    headers = _signed(body)
    tampered = body.replace(b"relit", b"razed")
    assert_problem(
        client.post("/v1/webhooks/newswire", content=tampered, headers=headers),
        401,
        "does not match",
    )
    del headers["X-Chronorag-Signature"]
    assert_problem(
        client.post("/v1/webhooks/newswire", content=body, headers=headers),
        401,
        "missing X-Chronorag-Signature",
    )
    _absent(client, doc["id"])


def test_stale_timestamp_is_unauthorized(client: httpx.Client) -> None:
    doc = _doc()
    resp, _, _ = _post(client, doc, timestamp=int(time.time()) - 301)
    assert_problem(resp, 401, "tolerance is 300 s")
    resp, _, _ = _post(client, doc, timestamp=int(time.time()) + 3600)
    assert_problem(resp, 401, "away from the server clock")
    _absent(client, doc["id"])


def test_replayed_delivery_conflicts(client: httpx.Client) -> None:
    doc = _doc()
    resp, body, headers = _post(client, doc)
    assert resp.status_code == 202
    # The same request again, byte for byte.
    assert_problem(
        client.post("/v1/webhooks/newswire", content=body, headers=headers), 409, "already received"
    )
    # The captured request under a fresh delivery id: the signature gives it away.
    replay = {**headers, "X-Chronorag-Delivery": uuid.uuid4().hex}
    assert_problem(
        client.post("/v1/webhooks/newswire", content=body, headers=replay), 409, "replay"
    )
    # A newly signed request that reuses the delivery id, with other content: nothing recorded.
    other = _doc()
    resp, _, _ = _post(client, other, delivery=headers["X-Chronorag-Delivery"])
    assert_problem(resp, 409, headers["X-Chronorag-Delivery"])
    _absent(client, other["id"])
    assert client.get(f"/v1/documents/{doc['id']}").json()["version"] == 1


def test_delivery_left_pending_by_a_killed_process_is_retried(
    client: httpx.Client, redis_url: str
) -> None:
    """A process killed between claiming a delivery and recording it must not lose the batch.

    The dead process's claim is planted as it would be left: pending, its lease running out
    (renewal stopped with the process). The sender's retry is told to come back (503), not
    that the batch was taken (409); once the lease runs out the retry records the documents.
    """
    import hashlib

    import redis

    bare = {k: v for k, v in _doc().items() if k not in ("id", "published_at")}
    docs = [_doc(), bare]
    delivery = uuid.uuid4().hex
    key = "chronorag:webhook:newswire:delivery:" + hashlib.sha256(delivery.encode()).hexdigest()
    with redis.Redis.from_url(redis_url) as r:
        r.set(key, "pending:dead-process", px=1500)
    resp, _, _ = _post(client, {"documents": docs}, delivery=delivery)
    assert_problem(resp, 503, "being recorded")
    assert int(resp.headers["Retry-After"]) >= 1
    _absent(client, docs[0]["id"])
    time.sleep(1.6)
    resp, _, _ = _post(client, {"documents": docs}, delivery=delivery)
    assert resp.status_code == 202, resp.text
    first = [a["id"] for a in resp.json()]
    assert first[0] == docs[0]["id"]
    # The sender retries once more (say its connection broke before the 202): a 409 now, and
    # re-sending the undated, id-less document on its own is a no-op, not a second document.
    resp, _, _ = _post(client, {"documents": docs}, delivery=delivery)
    assert_problem(resp, 409, "already received")
    resp, _, _ = _post(client, docs[1])
    assert resp.status_code == 202 and resp.json()[0]["id"] == first[1], resp.text
    assert resp.json()[0]["version"] == 1


def test_refused_request_does_not_use_up_its_delivery_id(client: httpx.Client) -> None:
    delivery = uuid.uuid4().hex
    bad = {"id": f"wh-{uuid.uuid4().hex[:8]}", "text": ""}
    resp, _, _ = _post(client, bad, delivery=delivery)
    assert resp.status_code == 422
    good = _doc()
    resp, _, _ = _post(client, good, delivery=delivery)
    assert resp.status_code == 202, resp.text


def test_missing_delivery_id_is_bad_request(client: httpx.Client) -> None:
    doc = _doc()
    body = json.dumps(doc).encode()
    headers = _signed(body)
    del headers["X-Chronorag-Delivery"]
    assert_problem(
        client.post("/v1/webhooks/newswire", content=body, headers=headers),
        400,
        "X-Chronorag-Delivery",
    )
    _absent(client, doc["id"])


def test_unknown_source_is_not_found(client: httpx.Client) -> None:
    resp, _, _ = _post(client, _doc(), source="nobody")
    assert_problem(resp, 404, "webhook source 'nobody' is not configured")


def test_wrong_content_type_and_malformed_json(client: httpx.Client) -> None:
    body = b"text=hello"
    headers = {**_signed(body), "content-type": "application/x-www-form-urlencoded"}
    assert_problem(
        client.post("/v1/webhooks/newswire", content=body, headers=headers), 415, "application/json"
    )
    body = b'{"text": "x"'
    assert_problem(
        client.post("/v1/webhooks/newswire", content=body, headers=_signed(body)),
        400,
        "invalid JSON",
    )


def test_github_mode(client: httpx.Client) -> None:
    doc = _doc("The Quarry Lane bridge reopened to cyclists after repairs.")
    body = json.dumps(doc).encode()
    headers = _github(body)
    resp = client.post("/v1/webhooks/gh", content=body, headers=headers)
    assert resp.status_code == 202, resp.text
    assert resp.json()[0]["id"] == doc["id"]
    assert_problem(
        client.post("/v1/webhooks/gh", content=body, headers=headers), 409, "already received"
    )
    # GitHub signs no timestamp: the chronorag scheme, or another secret, does not pass.
    other = _doc()
    other_body = json.dumps(other).encode()
    assert_problem(
        client.post("/v1/webhooks/gh", content=other_body, headers=_signed(other_body)),
        401,
        "X-Hub-Signature-256",
    )
    assert_problem(
        client.post(
            "/v1/webhooks/gh", content=other_body, headers=_github(other_body, secret="wrong")
        ),
        401,
        "does not match",
    )
    _absent(client, other["id"])
    wait_status(client, doc["id"], "indexed")


def test_github_ping_is_acknowledged(client: httpx.Client) -> None:
    body = json.dumps({"zen": "Keep it logically awesome.", "hook_id": uuid.uuid4().int}).encode()
    resp = client.post("/v1/webhooks/gh", content=body, headers=_github(body, event="ping"))
    assert resp.status_code == 202 and resp.json() == []


def test_openapi_documents_the_route(client: httpx.Client) -> None:
    spec = client.get("/openapi.json").json()
    route = spec["paths"]["/v1/webhooks/{source}"]["post"]
    assert {"202", "401", "404", "409", "429"} <= set(route["responses"])
    # Bodies are read raw (signatures cover the bytes), so they are declared by hand: every
    # route that takes a body must still show it, or clients and fuzzers cannot see it.
    for path, method in [
        ("/v1/webhooks/{source}", "post"),
        ("/v1/query", "post"),
        ("/v1/documents", "post"),
        ("/v1/documents/{doc_id}", "put"),
    ]:
        body = spec["paths"][path][method].get("requestBody")
        assert body and "application/json" in body["content"], (path, method)
    query = spec["paths"]["/v1/query"]["post"]["requestBody"]["content"]["application/json"]
    assert query["schema"]["required"] == ["question"]
