"""The LangChain integration with a time scope per call, and the whole answer as a runnable."""

from __future__ import annotations

import asyncio
import uuid

import httpx
import pytest
from langchain_core.documents import Document
from langchain_core.runnables import RunnableLambda

from app.core.errors import InvalidInput
from app.integrations.langchain import ChronoragAnswerer, ChronoragRetriever
from tests.conftest import wait_status

pytestmark = pytest.mark.e2e

TOKEN = uuid.uuid4().hex[:6]
_ALPHA = TOKEN.translate(str.maketrans("0123456789", "ghijklmnop"))
MILL = f"Ashcombe{_ALPHA} Mills"
EARLY = f"Rhona Vesk{_ALPHA}"
LATE = f"Piet Calloway{_ALPHA}"
DOCS = [
    (f"lcs-old-{TOKEN}", "2020-09-01T08:00:00Z",
     f"{EARLY} was appointed chief executive of {MILL} in September 2020, the company said."),
    (f"lcs-new-{TOKEN}", "2023-10-02T08:00:00Z",
     f"{LATE} was appointed chief executive of {MILL} in October 2023, the company said."),
]  # fmt: skip
QUESTION = f"Who is the chief executive of {MILL}?"


@pytest.fixture(scope="module")
def url(server) -> str:  # type: ignore[no-untyped-def]
    with httpx.Client(base_url=server.url, timeout=60) as client:
        for doc_id, published_at, text in DOCS:
            body = {"id": doc_id, "text": text, "published_at": published_at}
            assert client.post("/v1/documents", json=body).status_code == 202
        for doc_id, _, _ in DOCS:
            assert wait_status(client, doc_id, "indexed")["facts"] >= 1
    return str(server.url)


def _ids(docs: list[Document]) -> set[str]:
    return {d.metadata["document_id"] for d in docs}


def test_as_of_per_call_as_a_keyword_argument(url: str) -> None:
    retriever = ChronoragRetriever(base_url=url, top_k=4)
    docs = retriever.invoke(QUESTION, as_of="2021-12-31")
    assert f"lcs-old-{TOKEN}" in _ids(docs) and f"lcs-new-{TOKEN}" not in _ids(docs)
    scope = docs[0].metadata["time_scope"]
    assert scope["source"] == "explicit" and scope["as_of"].startswith("2021-12-31T23:59:59")
    # The instance's own settings are untouched by the call.
    assert f"lcs-new-{TOKEN}" in _ids(retriever.invoke(QUESTION))


def test_scope_through_the_config_reaches_a_retriever_inside_a_chain(url: str) -> None:
    chain = ChronoragRetriever(base_url=url, top_k=4) | RunnableLambda(_ids)
    early = chain.invoke(QUESTION, config={"configurable": {"as_of": "2021-12-31"}})
    assert f"lcs-new-{TOKEN}" not in early
    window = {"start": "2020-01-01", "end": "2020-12-31", "as_of": None}
    ids = asyncio.run(chain.ainvoke(QUESTION, config={"configurable": window}))
    assert f"lcs-old-{TOKEN}" in ids
    # A keyword argument beats the config.
    retriever = ChronoragRetriever(base_url=url, top_k=4)
    docs = retriever.invoke(
        QUESTION, config={"configurable": {"as_of": "2030-01-01"}}, as_of="2021-12-31"
    )
    assert f"lcs-new-{TOKEN}" not in _ids(docs)


def test_answerer_returns_answer_scope_facts_and_documents(url: str) -> None:
    answerer = ChronoragAnswerer(base_url=url, top_k=3)
    out = answerer.invoke({"question": QUESTION, "as_of": "2022-06-30"})
    assert EARLY in out["answer"] and LATE not in out["answer"]
    assert out["time_scope"]["as_of"].startswith("2022-06-30T23:59:59")
    assert any(f["subject"] == EARLY or f["object"] == EARLY for f in out["facts"])
    assert {"subject", "relation", "object", "valid_from", "sources"} <= set(out["facts"][0])
    assert all(isinstance(d, Document) for d in out["documents"])
    assert f"lcs-old-{TOKEN}" in _ids(out["documents"])
    now = asyncio.run(answerer.ainvoke(QUESTION))
    assert LATE in now["answer"]
    configured = answerer.invoke(QUESTION, config={"configurable": {"as_of": "2022-06-30"}})
    assert configured["answer"] == out["answer"]


def test_bad_call_options_are_refused_before_any_request(url: str) -> None:
    answerer = ChronoragAnswerer(base_url=url)
    with pytest.raises(InvalidInput, match="asof: not a query option"):
        answerer.invoke({"question": QUESTION, "asof": "2022-01-01"})
    with pytest.raises(InvalidInput, match="a question string"):
        answerer.invoke({"q": QUESTION})
    with pytest.raises(InvalidInput, match="as_of: a datetime or an ISO-8601 string"):
        ChronoragRetriever(base_url=url).invoke(QUESTION, as_of=20220101)
    with pytest.raises(InvalidInput, match="chronorag answered 422: as_of:"):
        ChronoragRetriever(base_url=url).invoke(QUESTION, as_of="2022-01-01T00:00:00")
