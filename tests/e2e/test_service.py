"""End to end: HTTP in, answers out, through ``chronorag serve`` and its in-process worker."""

from __future__ import annotations

import time
import uuid

import httpx
import pytest

from tests.conftest import ask, wait_status

pytestmark = pytest.mark.e2e

ROLE_DOCS = [
    (
        "2019-03-04T09:00:00Z",
        "Orbital Freight Lines appointed Marta Kowalczyk as chief executive on Monday. Kowalczyk "
        "joins from a logistics start-up and takes over the running of the shipping group.",
    ),
    (
        "2021-06-14T09:00:00Z",
        "Orbital Freight Lines said Dev Raman has become its chief executive, replacing Marta "
        "Kowalczyk, who is leaving the shipping group after two years.",
    ),
    (
        "2023-09-20T09:00:00Z",
        "Shipping group Orbital Freight Lines named Lucia Ferrante chief executive, succeeding "
        "Dev Raman at the top of the company.",
    ),
]
QUESTION = "Who is the chief executive of Orbital Freight Lines?"


@pytest.fixture(scope="module")
def role_docs(server) -> list[str]:  # type: ignore[no-untyped-def]
    ids = []
    with httpx.Client(base_url=server.url, timeout=60) as client:
        for published_at, text in ROLE_DOCS:
            doc_id = f"role-{uuid.uuid4().hex[:8]}"
            resp = client.post(
                "/v1/documents", json={"id": doc_id, "text": text, "published_at": published_at}
            )
            assert resp.status_code == 202, resp.text
            body = resp.json()
            assert body == {
                "id": doc_id,
                "version": 1,
                "status": "pending",
                "status_url": f"/v1/documents/{doc_id}",
            }
            ids.append(doc_id)
        for doc_id in ids:
            wait_status(client, doc_id, "indexed")
    return ids


def test_upload_becomes_searchable_within_seconds(client: httpx.Client) -> None:
    doc_id = f"fresh-{uuid.uuid4().hex[:8]}"
    started = time.monotonic()
    resp = client.post(
        "/v1/documents",
        json={
            "id": doc_id,
            "text": "The Quillmere observatory opened a new radio telescope wing.",
            "published_at": "2024-01-05T00:00:00+00:00",
        },
    )
    assert resp.status_code == 202
    wait_status(client, doc_id, "indexed", timeout_s=30)
    body = ask(client, "What did the Quillmere observatory open?")
    assert body["evidence"][0]["document_id"] == doc_id
    assert time.monotonic() - started < 60
    status = client.get(f"/v1/documents/{doc_id}").json()
    assert status["chunks"] == 1 and status["indexed_at"] is not None
    assert status["published_at"] == "2024-01-05T00:00:00Z"


@pytest.mark.parametrize(
    ("as_of", "holder_index"),
    [("2020-01-01T00:00:00Z", 0), ("2022-01-01T00:00:00Z", 1), ("2024-01-01T00:00:00Z", 2)],
)
def test_role_holder_as_of_date_cites_right_document(
    client: httpx.Client, role_docs: list[str], as_of: str, holder_index: int
) -> None:
    body = ask(client, QUESTION, as_of=as_of)
    assert body["time_scope"]["as_of"] == as_of
    assert body["time_scope"]["source"] == "explicit"
    cited = [e["document_id"] for e in body["evidence"]]
    assert cited[0] == role_docs[holder_index]
    # Known time: nothing published after as_of may be cited.
    assert not set(cited) & set(role_docs[holder_index + 1 :])


def test_time_scope_parsed_from_question(client: httpx.Client, role_docs: list[str]) -> None:
    body = ask(client, "Who was the chief executive of Orbital Freight Lines in 2020?")
    scope = body["time_scope"]
    assert scope["source"] == "question"
    assert scope["start"] == "2020-01-01T00:00:00Z" and scope["end"] == "2021-01-01T00:00:00Z"
    assert body["evidence"][0]["document_id"] == role_docs[0]


def test_delete_then_update_lifecycle(client: httpx.Client, role_docs: list[str]) -> None:
    doc_id = f"life-{uuid.uuid4().hex[:8]}"
    text = "Brackenfield Rovers appointed Ines Duarte as head coach of the football club."
    resp = client.post(
        "/v1/documents", json={"id": doc_id, "text": text, "published_at": "2022-02-01T00:00:00Z"}
    )
    assert resp.status_code == 202
    wait_status(client, doc_id, "indexed")
    question = "Who is head coach of Brackenfield Rovers?"
    assert ask(client, question)["evidence"][0]["document_id"] == doc_id

    # Update: only the new version is ever returned once indexed.
    new_text = "Brackenfield Rovers head coach is now Tomasz Wrobel after Duarte left the club."
    resp = client.put(
        f"/v1/documents/{doc_id}", json={"text": new_text, "published_at": "2022-08-01T00:00:00Z"}
    )
    assert resp.status_code == 202 and resp.json()["version"] == 2
    wait_status(client, doc_id, "indexed", version=2)
    for _ in range(3):
        hits = [e for e in ask(client, question)["evidence"] if e["document_id"] == doc_id]
        assert hits and all(e["version"] == 2 and "Wrobel" in e["text"] for e in hits)

    # Delete: once the status is deleted, nothing from it comes back, for any question.
    resp = client.delete(f"/v1/documents/{doc_id}")
    assert resp.status_code == 202 and resp.json()["status"] in ("deleting", "deleted")
    wait_status(client, doc_id, "deleted")
    for q in (question, new_text, "Tomasz Wrobel", "Brackenfield"):
        cited = {e["document_id"] for e in ask(client, q, top_k=20)["evidence"]}
        assert doc_id not in cited


def test_put_of_stale_version_conflicts(client: httpx.Client) -> None:
    doc_id = f"ver-{uuid.uuid4().hex[:8]}"
    client.post("/v1/documents", json={"id": doc_id, "text": "First text of the note."})
    resp = client.put(f"/v1/documents/{doc_id}", json={"text": "Second text.", "version": 2})
    assert resp.status_code == 202
    resp = client.put(f"/v1/documents/{doc_id}", json={"text": "Third text.", "version": 1})
    assert resp.status_code == 409
    assert resp.headers["content-type"] == "application/problem+json"
    assert "stale" in resp.json()["detail"]


def test_same_content_twice_is_a_noop(client: httpx.Client) -> None:
    doc_id = f"same-{uuid.uuid4().hex[:8]}"
    body = {"id": doc_id, "text": "An unchanged note.", "published_at": "2023-01-01T00:00:00Z"}
    first = client.post("/v1/documents", json=body).json()
    second = client.post("/v1/documents", json=body).json()
    assert first["version"] == second["version"] == 1


def test_multipart_html_upload_is_reduced_to_text(client: httpx.Client) -> None:
    html = (
        b"<html><head><title>t</title><script>var x=1;</script></head><body>"
        b"<p>The Harrowgate ferry service resumed its winter timetable.</p></body></html>"
    )
    resp = client.post(
        "/v1/documents",
        files={"file": ("ferry.html", html, "text/html")},
        data={"published_at": "2023-11-01T00:00:00Z"},
    )
    assert resp.status_code == 202, resp.text
    doc_id = resp.json()["id"]
    wait_status(client, doc_id, "indexed")
    ev = ask(client, "Harrowgate ferry winter timetable")["evidence"][0]
    assert ev["document_id"] == doc_id and "var x" not in ev["text"]
