"""The langchain-core integration against a real ``chronorag serve``: retriever and embeddings."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime

import httpx
import numpy as np
import pytest
from langchain_core.documents import Document
from langchain_core.runnables import RunnableLambda

from app.core.errors import InvalidInput, Unavailable
from app.integrations.langchain import ChronoragEmbeddings, ChronoragRetriever
from tests.conftest import free_port, wait_status

pytestmark = pytest.mark.e2e

TOKEN = uuid.uuid4().hex[:6]
# Names unique to this run: the session's server (and its graph) is shared with other modules,
# and "chief executive of" is single-valued, so a shared name would close someone else's fact.
_ALPHA = TOKEN.translate(str.maketrans("0123456789", "ghijklmnop"))
HARBOUR = f"Harbourline{TOKEN}"
OLD_CEO = f"Tomas Okw{_ALPHA}"
NEW_CEO = f"Mirela Vant{_ALPHA}"
DOCS = [
    (
        f"lc-old-{TOKEN}",
        "2021-04-12T08:00:00+00:00",
        f"{HARBOUR} Energy appointed {OLD_CEO} as chief executive of the utility in April.",
    ),
    (
        f"lc-new-{TOKEN}",
        "2024-03-18T08:00:00+00:00",
        f"{HARBOUR} Energy named {NEW_CEO} chief executive after {OLD_CEO} stepped down.",
    ),
]
QUESTION = f"Who is the chief executive of {HARBOUR} Energy?"


@pytest.fixture(scope="module")
def indexed(server) -> str:  # type: ignore[no-untyped-def]
    with httpx.Client(base_url=server.url, timeout=60) as client:
        for doc_id, published_at, text in DOCS:
            resp = client.post(
                "/v1/documents",
                json={
                    "id": doc_id,
                    "text": text,
                    "published_at": published_at,
                    "url": f"https://news.example/{doc_id}",
                    "title": f"Report {doc_id}",
                },
            )
            assert resp.status_code == 202, resp.text
        for doc_id, _, _ in DOCS:
            wait_status(client, doc_id, "indexed")
    return str(server.url)


def test_retriever_returns_evidence_as_documents(indexed: str) -> None:
    docs = ChronoragRetriever(base_url=indexed, top_k=2).invoke(QUESTION)

    by_id = {d.metadata["document_id"]: d for d in docs}
    assert set(by_id) == {f"lc-new-{TOKEN}", f"lc-old-{TOKEN}"}
    assert [d.metadata["score"] for d in docs] == sorted(
        (d.metadata["score"] for d in docs), reverse=True
    )
    newest = by_id[f"lc-new-{TOKEN}"]
    assert isinstance(newest, Document)
    assert newest.page_content == DOCS[1][2]
    assert set(newest.metadata) == {
        "document_id", "version", "published_at", "score", "url", "title", "time_scope",
    }  # fmt: skip
    assert newest.metadata["version"] == 1
    assert datetime.fromisoformat(newest.metadata["published_at"]) == datetime(
        2024, 3, 18, 8, tzinfo=UTC
    )
    assert isinstance(newest.metadata["score"], float)
    assert newest.metadata["url"] == f"https://news.example/lc-new-{TOKEN}"
    assert newest.metadata["title"] == f"Report lc-new-{TOKEN}"


def test_retriever_as_of_sees_only_what_was_published_by_then(indexed: str) -> None:
    retriever = ChronoragRetriever(base_url=indexed, as_of=datetime(2022, 1, 1, tzinfo=UTC))
    ids = {d.metadata["document_id"] for d in retriever.invoke(QUESTION)}
    assert f"lc-old-{TOKEN}" in ids
    assert f"lc-new-{TOKEN}" not in ids


def test_retriever_async_path_matches_the_sync_path(indexed: str) -> None:
    retriever = ChronoragRetriever(base_url=indexed, top_k=2)
    sync_docs = retriever.invoke(QUESTION)
    async_docs = asyncio.run(retriever.ainvoke(QUESTION))
    assert [d.metadata["document_id"] for d in async_docs] == [
        d.metadata["document_id"] for d in sync_docs
    ]
    assert [d.page_content for d in async_docs] == [d.page_content for d in sync_docs]


def test_retriever_composes_in_a_chain(indexed: str) -> None:
    def cite(docs: list[Document]) -> str:
        return "\n".join(f"[{d.metadata['document_id']}] {d.page_content}" for d in docs)

    chain = ChronoragRetriever(base_url=indexed, top_k=1) | RunnableLambda(cite)
    assert chain.invoke(QUESTION) in {f"[{doc_id}] {text}" for doc_id, _, text in DOCS}


def test_retriever_reports_the_services_validation_error(indexed: str) -> None:
    with pytest.raises(InvalidInput, match=r"^chronorag answered 422: question: must be"):
        ChronoragRetriever(base_url=indexed).invoke("   ")
    with pytest.raises(InvalidInput, match="as_of: must be timezone-aware"):
        ChronoragRetriever(base_url=indexed, as_of=datetime(2022, 1, 1)).invoke(QUESTION)


def test_retriever_unreachable_service_is_unavailable() -> None:
    retriever = ChronoragRetriever(base_url=f"http://127.0.0.1:{free_port()}", timeout_s=2)
    with pytest.raises(Unavailable, match="cannot reach chronorag"):
        retriever.invoke(QUESTION)
    with pytest.raises(Unavailable, match="cannot reach chronorag"):
        asyncio.run(retriever.ainvoke(QUESTION))


def test_embeddings_wrap_the_service_embedder(embedder) -> None:  # type: ignore[no-untyped-def]
    embeddings = ChronoragEmbeddings(embedder)
    texts = [DOCS[0][2], DOCS[1][2]]
    vectors = embeddings.embed_documents(texts)
    assert len(vectors) == 2 and all(len(v) == embedder.dimension for v in vectors)
    assert all(isinstance(x, float) for x in vectors[0])
    np.testing.assert_allclose(vectors, embedder.embed_documents(texts), atol=1e-6)
    query = asyncio.run(embeddings.aembed_query(QUESTION))
    np.testing.assert_allclose(query, embedder.embed_query(QUESTION), atol=1e-6)
    assert embeddings.embed_documents([]) == []
