"""Answers typed to the question, end to end: the invented corpus through HTTP and a worker.

The articles and questions are in ``tests/fixtures/reading_corpus.py``. The server is this
module's own (a fresh data dir), so no other test's documents are in its evidence.
"""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from tests.conftest import ServeProcess, ask, serve_env, wait_status
from tests.fixtures.reading_corpus import ARTICLES, QUESTIONS, states

pytestmark = pytest.mark.e2e

#: The share of questions whose answer must state the expected span (issue 16's target).
TARGET = 0.9


@pytest.fixture(scope="module")
def reading(tmp_path_factory: pytest.TempPathFactory, redis_url: str) -> Iterator[httpx.Client]:
    proc = ServeProcess(tmp_path_factory.mktemp("reading") / "data", serve_env(redis_url))
    proc.start()
    try:
        with httpx.Client(base_url=proc.url, timeout=120) as client:
            for article in ARTICLES:
                resp = client.post(
                    "/v1/documents",
                    json={
                        "id": article.id,
                        "text": article.text,
                        "published_at": article.published_at,
                    },
                )
                assert resp.status_code == 202, resp.text
            for article in ARTICLES:
                wait_status(client, article.id, "indexed", timeout_s=180)
            yield client
    finally:
        proc.stop()


def test_answers_state_the_expected_spans(reading: httpx.Client) -> None:
    failures = []
    for q in QUESTIONS:
        body = ask(reading, q.question, **q.params)
        if not states(body["answer"], q.expected):
            supporting = (body.get("supporting") or {}).get("sentence")
            failures.append(
                f"{q.question} {q.params or ''}\n  want {q.expected!r}, got {body['answer']!r}"
                f" ({body['answer_source']}, {body['answer_type']}); from: {supporting!r}"
            )
    right = len(QUESTIONS) - len(failures)
    print(f"\nreading corpus: {right}/{len(QUESTIONS)} answers state the expected span")
    for failure in failures:
        print(failure)
    assert right >= TARGET * len(QUESTIONS), "\n".join(failures)


def test_response_carries_type_source_and_supporting_sentence(reading: httpx.Client) -> None:
    body = ask(reading, "How much was Merrow Savings Bank fined?")
    assert body["answer"] == "£3.8 million"
    assert body["answer_type"] == "MONEY"
    assert body["expected_types"][0] == "MONEY"
    assert body["answer_source"] == "passage"
    supporting = body["supporting"]
    assert supporting["document_id"] == "merrow-2"
    assert "£3.8 million" in supporting["sentence"]
    assert supporting["published_at"] == "2020-11-03T09:00:00Z"
    assert body["statement"] == "£3.8 million (reported 3 November 2020) [merrow-2]"


def test_a_who_answer_is_never_a_place_or_the_question_s_own_entity(
    reading: httpx.Client,
) -> None:
    body = ask(reading, "Who directed the Lanternway Trust in 2019?")
    assert body["answer_type"] in ("PERSON", "ORG"), body
    assert "Lanternway" not in body["answer"] and "Brackwater" not in body["answer"]


def test_nothing_of_the_type_asked_is_i_dont_know_with_the_nearest_evidence(
    reading: httpx.Client,
) -> None:
    body = ask(reading, "What percentage of its shares did Fenmore Rovers sell?")
    assert body["answer"] == "I don't know"
    assert body["answer_source"] == "none"
    assert body["supporting"]["document_id"].startswith("fenmore-")
