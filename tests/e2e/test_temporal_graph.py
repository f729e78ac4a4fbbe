"""The temporal graph end to end: HTTP in, a real worker, facts and time nodes out."""

from __future__ import annotations

import time
import uuid

import httpx
import pytest

from tests.conftest import ask, wait_status

pytestmark = pytest.mark.e2e

HOLDERS = [
    (
        "2018-03-02T08:00:00Z",
        "Helena Varga",
        "Helena Varga was appointed chief executive of "
        "Tarrow Mining Group in March 2018, the company said.",
    ),
    (
        "2020-07-15T08:00:00Z",
        "Oskar Lindqvist",
        "Tarrow Mining Group named Oskar Lindqvist as its new chief executive in July 2020.",
    ),
    (
        "2022-11-09T08:00:00Z",
        "Priya Natarajan",
        "Priya Natarajan became chief executive of Tarrow Mining Group in November 2022.",
    ),
]
QUESTION = "Who is the chief executive of Tarrow Mining Group?"


@pytest.fixture(scope="module")
def holders(server) -> list[str]:  # type: ignore[no-untyped-def]
    ids = []
    with httpx.Client(base_url=server.url, timeout=60) as client:
        for published_at, _, text in HOLDERS:
            doc_id = f"tarrow-{uuid.uuid4().hex[:8]}"
            r = client.post(
                "/v1/documents", json={"id": doc_id, "text": text, "published_at": published_at}
            )
            assert r.status_code == 202
            ids.append(doc_id)
        for doc_id in ids:
            body = wait_status(client, doc_id, "indexed")
            assert body["facts"] >= 1, body
    return ids


@pytest.mark.parametrize(
    ("as_of", "holder"),
    [("2019-06-01T00:00:00Z", 0), ("2021-06-01T00:00:00Z", 1), ("2023-06-01T00:00:00Z", 2)],
)
def test_holder_as_of_date(
    client: httpx.Client, holders: list[str], as_of: str, holder: int
) -> None:
    body = ask(client, question=QUESTION, as_of=as_of)
    assert body["answer"] == HOLDERS[holder][1]
    top = body["facts"][0]
    assert top["relation"] == "chief executive of"
    assert top["subject"] == HOLDERS[holder][1]
    assert any(s.startswith(holders[holder] + "@") for s in top["sources"])


def test_valid_time_question_uses_the_graph(client: httpx.Client, holders: list[str]) -> None:
    body = ask(client, question="Who was the chief executive of Tarrow Mining Group in 2019?")
    assert body["time_scope"]["start"] == "2019-01-01T00:00:00Z"
    assert body["answer"] == "Helena Varga"


def test_yes_no_from_facts(client: httpx.Client, holders: list[str]) -> None:
    yes = ask(
        client,
        question="Is Oskar Lindqvist the chief executive of Tarrow Mining Group?",
        as_of="2021-06-01T00:00:00Z",
    )
    assert yes["answer"].startswith("Yes")
    no = ask(
        client,
        question="Is Oskar Lindqvist the chief executive of Tarrow Mining Group?",
        as_of="2023-06-01T00:00:00Z",
    )
    assert no["answer"].startswith("No")


def test_entity_timeline_closes_superseded_facts(client: httpx.Client, holders: list[str]) -> None:
    resp = client.get("/v1/entities/Tarrow Mining Group/timeline")
    assert resp.status_code == 200, resp.text
    facts = [f for f in resp.json()["facts"] if f["relation"] == "chief executive of"]
    assert [f["subject"] for f in facts] == [h[1] for h in HOLDERS]
    assert facts[0]["valid_to"] == "2020-07-01T00:00:00Z"
    assert facts[1]["valid_to"] == "2022-11-01T00:00:00Z"
    assert facts[2]["valid_to"] is None
    assert facts[0]["known_to"] is not None and facts[2]["known_to"] is None
    missing = client.get("/v1/entities/Nobody Atall/timeline")
    assert missing.status_code == 404
    assert missing.headers["content-type"] == "application/problem+json"


def test_delete_newest_reopens_previous_holder(client: httpx.Client, holders: list[str]) -> None:
    # Runs last in this module: it removes the newest holder's document.
    assert client.delete(f"/v1/documents/{holders[2]}").status_code == 202
    wait_status(client, holders[2], "deleted")
    body = ask(client, question=QUESTION, as_of="2024-06-01T00:00:00Z")
    assert body["answer"] == HOLDERS[1][1]
    assert all(not s.startswith(holders[2]) for f in body["facts"] for s in f["sources"])
    timeline = client.get("/v1/entities/Tarrow Mining Group/timeline").json()
    ceo = [f for f in timeline["facts"] if f["relation"] == "chief executive of"]
    assert [f["subject"] for f in ceo] == [HOLDERS[0][1], HOLDERS[1][1]]
    assert ceo[1]["valid_to"] is None


def test_time_period_reflects_upload_within_seconds(client: httpx.Client) -> None:
    doc_id = f"period-{uuid.uuid4().hex[:8]}"
    text = "Larkspur Biotics appointed Mateo Quiroga as chief executive in May 2017."
    assert (
        client.post(
            "/v1/documents",
            json={"id": doc_id, "text": text, "published_at": "2017-05-20T00:00:00Z"},
        ).status_code
        == 202
    )
    started = time.monotonic()
    wait_status(client, doc_id, "indexed", timeout_s=30)
    for label in ("2017-05", "2017-Q2", "2017"):
        body = client.get(f"/v1/time/{label}").json()
        assert any(f["subject"] == "Mateo Quiroga" for f in body["facts"]), body
        assert "Mateo Quiroga" in body["summary"]
    assert time.monotonic() - started < 30
    summary = ask(client, question="What happened in May 2017?")
    assert "Mateo Quiroga" in summary["answer"]


def test_time_period_rejects_bad_labels(client: httpx.Client) -> None:
    resp = client.get("/v1/time/2023-Q7")
    assert resp.status_code == 422
    assert resp.headers["content-type"] == "application/problem+json"
