"""Every kind of bad input gets a 4xx problem+json body that says what is wrong."""

from __future__ import annotations

import httpx
import pytest

from tests.conftest import assert_problem

pytestmark = pytest.mark.e2e


def test_malformed_json(client: httpx.Client) -> None:
    resp = client.post(
        "/v1/documents", content=b'{"text": "x"', headers={"content-type": "application/json"}
    )
    assert_problem(resp, 400, "invalid JSON")


def test_missing_text(client: httpx.Client) -> None:
    assert_problem(
        client.post("/v1/documents", json={"title": "no text"}), 422, "text: Field required"
    )


def test_empty_text(client: httpx.Client) -> None:
    assert_problem(
        client.post("/v1/documents", json={"text": "   "}), 422, "text: must be a non-empty"
    )


def test_wrongly_typed_text(client: httpx.Client) -> None:
    assert_problem(client.post("/v1/documents", json={"text": 42}), 422, "text:")


def test_body_not_an_object(client: httpx.Client) -> None:
    assert_problem(client.post("/v1/documents", json=["text"]), 422, "JSON object")


def test_text_over_size_limit(client: httpx.Client) -> None:
    assert_problem(client.post("/v1/documents", json={"text": "word " * 300_000}), 413, "limit")


def test_unsupported_file_type(client: httpx.Client) -> None:
    resp = client.post("/v1/documents", files={"file": ("x.pdf", b"%PDF-1.4", "application/pdf")})
    assert_problem(resp, 415, "application/pdf")


def test_unsupported_content_type(client: httpx.Client) -> None:
    resp = client.post("/v1/documents", content=b"text", headers={"content-type": "text/csv"})
    assert_problem(resp, 415, "text/csv")


def test_naive_date_rejected(client: httpx.Client) -> None:
    resp = client.post("/v1/documents", json={"text": "x", "published_at": "2021-01-01T00:00:00"})
    assert_problem(resp, 422, "timezone")


def test_invalid_date_rejected(client: httpx.Client) -> None:
    resp = client.post("/v1/documents", json={"text": "x", "published_at": "yesterday-ish"})
    assert_problem(resp, 422, "published_at")


def test_unknown_id(client: httpx.Client) -> None:
    assert_problem(client.get("/v1/documents/nope-404"), 404, "nope-404")
    assert_problem(client.delete("/v1/documents/nope-404"), 404, "nope-404")
    assert_problem(client.put("/v1/documents/nope-404", json={"text": "x"}), 404, "nope-404")


def test_query_bad_inputs(client: httpx.Client) -> None:
    assert_problem(client.post("/v1/query", json={}), 422, "question")
    assert_problem(
        client.post("/v1/query", json={"question": "x", "as_of": "2021-01-01T10:00"}),
        422,
        "add 'Z'",
    )
    assert_problem(client.post("/v1/query", json={"question": "x", "top_k": 0}), 422, "top_k")
    assert_problem(client.post("/v1/query", json={"question": "x", "top_k": 999}), 422, "top_k")
    assert_problem(client.post("/v1/query", json={"question": "x", "top_k": "5"}), 422, "top_k")
    assert_problem(client.post("/v1/query", json={"question": "x" * 5000}), 422, "question")
    assert_problem(
        client.post(
            "/v1/query",
            json={"question": "x", "start": "2022-01-01T00:00:00Z", "end": "2021-01-01T00:00:00Z"},
        ),
        422,
        "start",
    )
    assert_problem(
        client.post("/v1/query", content=b"{", headers={"content-type": "application/json"}),
        400,
        "JSON",
    )


def test_unknown_route_and_method(client: httpx.Client) -> None:
    assert_problem(client.get("/v1/nothing-here"), 404, "Not Found")
    assert_problem(client.patch("/v1/query", json={}), 405, "Method Not Allowed")


def test_hostile_ids_and_control_characters(client: httpx.Client) -> None:
    assert_problem(client.post("/v1/documents", json={"id": "a/b", "text": "x"}), 422, "id:")
    resp = client.post("/v1/documents", json={"id": "ok-\u202e", "text": "\x00\x01 odd text"})
    assert resp.status_code == 202


def test_plain_dates_are_whole_utc_days(client: httpx.Client) -> None:
    doc_id = "plain-date-memo"
    resp = client.post(
        "/v1/documents",
        json={"id": doc_id, "text": "The Orrin ferry resumed.", "published_at": "2021-06-14"},
    )
    assert resp.status_code == 202, resp.text
    assert (
        client.get(f"/v1/documents/{doc_id}")
        .json()["published_at"]
        .startswith("2021-06-14T00:00:00")
    )
    # As a closing bound, the date is its last instant: the whole day is known.
    body = client.post(
        "/v1/query", json={"question": "Did the ferry resume?", "as_of": "2021-06-14"}
    ).json()
    assert body["time_scope"]["as_of"].startswith("2021-06-14T23:59:59")


def test_stream_plain_date_is_a_utc_day() -> None:
    from app.core.timeutil import parse_instant

    assert parse_instant("2021-06-14", "published_at").isoformat() == "2021-06-14T00:00:00+00:00"
