"""Hostile and careless bodies through ``chronorag serve``: each gets a 4xx problem naming what
is wrong, nothing is recorded from it, and the service still starts on the same data folder."""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest

from bench.common import ServeProcess
from tests.conftest import assert_problem, serve_env, wait_status
from tests.e2e.test_webhooks import _signed

pytestmark = pytest.mark.e2e

JSON = {"content-type": "application/json"}


def _nested(depth: int) -> str:
    return "[" * depth + "]" * depth


def _raw(client: httpx.Client, body: str | bytes, path: str = "/v1/documents") -> httpx.Response:
    data = body.encode() if isinstance(body, str) else body
    return client.post(path, content=data, headers=JSON)


def _doc_id() -> str:
    return f"hostile-{uuid.uuid4().hex[:10]}"


@pytest.mark.parametrize("depth", [9, 122, 126, 600, 1200])
def test_deep_metadata_is_refused(client: httpx.Client, depth: int) -> None:
    doc_id = _doc_id()
    body = f'{{"id": "{doc_id}", "text": "A deep memo.", "metadata": {{"x": {_nested(depth)}}}}}'
    resp = _raw(client, body)
    assert resp.status_code in (400, 422), resp.text
    assert "nested deeper" in resp.json()["detail"]
    assert client.get(f"/v1/documents/{doc_id}").status_code == 404


def test_metadata_at_the_depth_limit_is_kept(client: httpx.Client) -> None:
    doc_id = _doc_id()
    # Depth 8: the metadata object plus seven lists.
    meta = {"x": json.loads(_nested(7))}
    resp = client.post("/v1/documents", json={"id": doc_id, "text": "A memo.", "metadata": meta})
    assert resp.status_code == 202, resp.text
    wait_status(client, doc_id, "indexed")


@pytest.mark.parametrize(
    ("body", "needle"),
    [
        ('{"text": "x", "metadata": {"n": ' + "9" * 5000 + "}}", "digits"),
        ('{"text": "x", "metadata": {"n": 99999999999999999999}}', "integers must lie"),
        ('{"text": "x", "metadata": {"n": NaN}}', "NaN"),
        ('{"text": "x", "metadata": {"n": Infinity}}', "Infinity"),
        ('{"text": "x", "metadata": {"n": -Infinity}}', "Infinity"),
        ('{"text": "x\\ud800"}', "surrogate"),
        ('{"text": "x", "title": "\\udfff t"}', "surrogate"),
        ('{"id": "a\\ud800", "text": "x"}', "surrogate"),
        ('{"text": "x", "metadata": {"k\\ud800": 1}}', "surrogate"),
        ('{"text": "x", "metadata": {"k": ["\\ud800"]}}', "surrogate"),
    ],
)
def test_values_the_stores_cannot_keep_are_refused(
    client: httpx.Client, body: str, needle: str
) -> None:
    resp = _raw(client, body)
    problem = assert_problem(resp, 400)
    assert needle in problem["detail"], problem
    # The connection is still usable after the refusal.
    assert client.get("/healthz").status_code == 200


@pytest.mark.parametrize("version", [10**30, 2**63, 2**53])
def test_version_out_of_range_is_refused(client: httpx.Client, version: int) -> None:
    doc_id = _doc_id()
    resp = _raw(client, f'{{"id": "{doc_id}", "text": "x", "version": {version}}}')
    assert resp.status_code in (400, 422), resp.text
    assert "version" in resp.json()["detail"]
    assert client.get(f"/v1/documents/{doc_id}").status_code == 404


@pytest.mark.parametrize(
    ("doc_id", "needle"),
    [(".", "'.' or '..'"), ("..", "'.' or '..'"), (" memo-1", "whitespace"), ("m\t1", "control")],
)
def test_ids_that_cannot_round_trip_are_refused(
    client: httpx.Client, doc_id: str, needle: str
) -> None:
    assert_problem(client.post("/v1/documents", json={"id": doc_id, "text": "x"}), 422, needle)


def test_numeric_timestamps_are_refused(client: httpx.Client) -> None:
    resp = client.post("/v1/documents", json={"text": "x", "published_at": 1700000000})
    assert_problem(resp, 422, "published_at")
    resp = client.post("/v1/query", json={"question": "who?", "as_of": 1700000000000})
    assert_problem(resp, 422, "as_of")


@pytest.mark.parametrize(
    "window",
    [
        {"end": "0001-01-01T00:00:00Z"},
        {"start": "0001-01-01T00:00:00Z"},
        {"start": "9999-12-31T23:59:59Z"},
        {"as_of": "0001-01-01T00:00:00Z"},
        {"as_of": "9999-12-31T23:59:59Z", "end": "9999-12-31T23:59:59Z"},
    ],
)
def test_edge_dates_in_a_query_are_answered(client: httpx.Client, window: dict[str, str]) -> None:
    resp = client.post("/v1/query", json={"question": "Who chaired the board?", **window})
    assert resp.status_code in (200, 422), resp.text


def test_query_body_checks_like_documents(client: httpx.Client) -> None:
    assert_problem(_raw(client, '{"question": "x\\ud800"}', "/v1/query"), 400, "surrogate")
    assert_problem(_raw(client, _nested(5000), "/v1/query"), 400, "nested deeper")


def test_webhook_body_checks_like_documents(client: httpx.Client) -> None:
    body = b'{"text": "x", "metadata": {"n": NaN}}'
    resp = client.post("/v1/webhooks/newswire", content=body, headers=_signed(body))
    assert_problem(resp, 400, "NaN")


def _start(data: Path, redis_url: str) -> ServeProcess:
    proc = ServeProcess(data, serve_env(redis_url))
    proc.start()
    return proc


@pytest.mark.parametrize("stop", ["normal", "kill -9"])
def test_service_restarts_after_hostile_uploads(tmp_path: Path, redis_url: str, stop: str) -> None:
    data = tmp_path / "data"
    proc = _start(data, redis_url)
    kept = _doc_id()
    try:
        with httpx.Client(base_url=proc.url, timeout=60) as c:
            for depth in (122, 126, 900):
                body = f'{{"text": "deep", "metadata": {{"x": {_nested(depth)}}}}}'
                assert _raw(c, body).status_code in (400, 422)
            assert _raw(c, '{"text": "x", "version": ' + str(10**30) + "}").status_code in (
                400,
                422,
            )
            resp = c.post("/v1/documents", json={"id": kept, "text": "The kept memo."})
            assert resp.status_code == 202
            wait_status(c, kept, "indexed")
    finally:
        if stop == "normal":
            proc.stop()
        else:
            proc.kill()
    again = _start(data, redis_url)
    try:
        with httpx.Client(base_url=again.url, timeout=60) as c:
            record: dict[str, Any] = c.get(f"/v1/documents/{kept}").json()
            assert record["status"] == "indexed"
            assert c.get("/healthz").status_code == 200
    finally:
        again.stop()


def test_a_document_over_the_ingest_budget_fails_with_the_reason(
    tmp_path: Path, redis_url: str
) -> None:
    env = {**serve_env(redis_url), "CHRONORAG_INGEST_BUDGET_S": "0.000001"}
    proc = ServeProcess(tmp_path / "data", env)
    proc.start()
    try:
        with httpx.Client(base_url=proc.url, timeout=60) as c:
            doc_id = _doc_id()
            resp = c.post("/v1/documents", json={"id": doc_id, "text": "A slow memo. " * 50})
            assert resp.status_code == 202
            record = wait_status(c, doc_id, "failed")
            assert "CHRONORAG_INGEST_BUDGET_S" in record["error"], record
            # The service goes on: the next request is served.
            assert c.get("/healthz").status_code == 200
    finally:
        proc.stop()
