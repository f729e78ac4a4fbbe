"""Both clocks through HTTP and the real worker: a question's period selects what chunks are
*about* (content time); ``as_of`` cuts what was *published*. All documents are invented."""

from __future__ import annotations

import uuid

import httpx
import pytest

from tests.conftest import ask, wait_status

pytestmark = pytest.mark.e2e

TAG = uuid.uuid4().hex[:6]
COMPANIES = ("Fenwick Outdoor", "Tallis Brewing", "Corra Home")
DOCS: list[tuple[str, str, str | None, str]] = [
    # (key, published_at, title, text)
    (
        "retro",
        "2023-05-10T00:00:00Z",
        "Harwick Glass: a history",
        "Looking back on the works, in 2004 the Harwick Glass furnaces were run by Ottilie Brandt, "
        "who managed the plant from 2002 to 2006 before retiring to the coast.",
    ),
    (
        "now",
        "2024-03-02T00:00:00Z",
        None,
        "The Harwick Glass furnaces are managed today by Piet Moll, the third manager in a decade.",
    ),
    (
        "then",
        "2004-06-15T00:00:00Z",
        None,
        "The Harwick Glass furnaces hired forty workers this summer to meet export orders.",
    ),
]
for i, company in enumerate(COMPANIES):
    for quarter, published, margin in (("Q1", "2024-05-08", 9 + i), ("Q2", "2024-08-07", 12 + i)):
        DOCS.append(
            (
                f"{company}-{quarter}",
                f"{published}T00:00:00Z",
                f"{company} {quarter} 2024 results call",
                f"{company} reported an operating margin of {margin}.5 percent for the period, "
                "helped by lower freight costs and steady demand in its stores.",
            )
        )


@pytest.fixture(scope="module")
def docs(server) -> dict[str, str]:  # type: ignore[no-untyped-def]
    ids: dict[str, str] = {}
    with httpx.Client(base_url=server.url, timeout=60) as client:
        for key, published_at, title, text in DOCS:
            doc_id = f"clock-{TAG}-{key.replace(' ', '').lower()}"
            body = {"id": doc_id, "text": text, "published_at": published_at}
            if title:
                body["title"] = title
            assert client.post("/v1/documents", json=body).status_code == 202
            ids[key] = doc_id
        for doc_id in ids.values():
            wait_status(client, doc_id, "indexed")
    return ids


def test_a_retrospective_document_answers_for_the_period_it_describes(
    client: httpx.Client, docs: dict[str, str]
) -> None:
    body = ask(client, "Who ran the Harwick Glass furnaces in 2004?")
    cited = [e["document_id"] for e in body["evidence"]]
    assert body["time_scope"]["as_of"] is None  # the period is not a publication cutoff
    assert cited[0] == docs["retro"]
    assert docs["now"] not in cited[:3]  # about 2024, not about 2004
    retro = next(e for e in body["evidence"] if e["document_id"] == docs["retro"])
    assert "2004" in retro["about"] and "2002/2006" in retro["about"]


def test_as_of_still_hides_what_was_published_later(
    client: httpx.Client, docs: dict[str, str]
) -> None:
    body = ask(client, "Who ran the Harwick Glass furnaces in 2004?", as_of="2010-01-01T00:00:00Z")
    cited = [e["document_id"] for e in body["evidence"]]
    assert docs["retro"] not in cited and docs["now"] not in cited
    assert cited[0] == docs["then"]


def test_a_quarter_report_published_after_the_quarter_is_cited_for_it(
    client: httpx.Client, docs: dict[str, str]
) -> None:
    body = ask(client, "What operating margin did Tallis Brewing report in 2024-Q2?")
    cited = [e["document_id"] for e in body["evidence"]]
    assert cited[0] == docs["Tallis Brewing-Q2"]
    assert docs["Tallis Brewing-Q1"] not in cited[:3]


def test_a_three_company_comparison_cites_all_three(
    client: httpx.Client, docs: dict[str, str]
) -> None:
    question = (
        "Which company had the highest operating margin among Fenwick Outdoor, Tallis Brewing "
        "and Corra Home in 2024-Q2?"
    )
    body = ask(client, question, top_k=5)
    cited = [e["document_id"] for e in body["evidence"]]
    for company in COMPANIES:
        assert docs[f"{company}-Q2"] in cited, company
    assert not {docs[f"{c}-Q1"] for c in COMPANIES} & set(cited[:3])


def test_each_period_asked_gets_evidence(client: httpx.Client, docs: dict[str, str]) -> None:
    body = ask(client, "What operating margin did Corra Home report in 2024-Q1 and 2024-Q2?")
    assert body["time_scope"]["periods"] == ["2024-Q1", "2024-Q2"]
    cited = [e["document_id"] for e in body["evidence"]]
    assert {docs["Corra Home-Q1"], docs["Corra Home-Q2"]} <= set(cited)


def test_a_period_lists_the_documents_about_it(client: httpx.Client, docs: dict[str, str]) -> None:
    view = client.get("/v1/time/2004")
    assert view.status_code == 200, view.text
    listed = {d["document_id"] for d in view.json()["documents"]}
    assert {docs["retro"], docs["then"]} <= listed and docs["now"] not in listed
