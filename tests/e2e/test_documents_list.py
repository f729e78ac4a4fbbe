"""Browsing what is stored: ``GET /v1/documents``, entity search, and one answer for "nothing
known" on the timeline."""

from __future__ import annotations

import uuid

import httpx
import pytest

from tests.conftest import assert_problem, wait_status

pytestmark = pytest.mark.e2e

TOKEN = uuid.uuid4().hex[:8]
_ALPHA = TOKEN.translate(str.maketrans("0123456789", "ghijklmnop"))
TENANT_SOURCE = f"desk-{TOKEN}"
FERRY = f"Harrowgate{_ALPHA} Ferry Company"
DOCS = [
    (f"lst-{TOKEN}-1", "2020-03-04T10:00:00Z", "Quarry report one."),
    (f"lst-{TOKEN}-2", "2021-07-09T10:00:00Z", "Quarry report two."),
    (f"lst-{TOKEN}-3", "2022-11-30T10:00:00Z", "Quarry report three."),
    (f"lst-{TOKEN}-4", "2023-01-15T10:00:00Z", "Quarry report four."),
]


@pytest.fixture(scope="module")
def listed(server) -> list[str]:  # type: ignore[no-untyped-def]
    with httpx.Client(base_url=server.url, timeout=60) as client:
        for n, (doc_id, published_at, text) in enumerate(DOCS):
            body = {"id": doc_id, "text": text, "published_at": published_at,
                    "title": f"Report {n + 1}", "source": TENANT_SOURCE}  # fmt: skip
            assert client.post("/v1/documents", json=body).status_code == 202
        for doc_id, _, _ in DOCS:
            wait_status(client, doc_id, "indexed")
    return [d[0] for d in DOCS]


def _all_pages(client: httpx.Client, **params: object) -> list[dict]:
    out: list[dict] = []
    cursor = None
    while True:
        query = {**params, **({"cursor": cursor} if cursor else {})}
        resp = client.get("/v1/documents", params=query)  # type: ignore[arg-type]
        assert resp.status_code == 200, resp.text
        page = resp.json()
        assert len(page["documents"]) <= int(params.get("limit", 50))  # type: ignore[call-overload]
        out.extend(page["documents"])
        cursor = page["next_cursor"]
        if cursor is None:
            return out


def test_documents_are_listed_with_status_version_title_and_dates(
    client: httpx.Client, listed: list[str]
) -> None:
    docs = _all_pages(client, source=TENANT_SOURCE, limit=3)
    by_id = {d["id"]: d for d in docs}
    assert sorted(by_id) == sorted(listed)  # every one exactly once over two pages
    first = by_id[listed[0]]
    assert first["status"] == "indexed" and first["version"] == 1
    assert first["title"] == "Report 1" and first["source"] == TENANT_SOURCE
    assert first["published_at"] == "2020-03-04T10:00:00Z"
    assert first["indexed_at"] is not None and first["chunks"] >= 1
    assert "text" not in first


def test_documents_filter_by_published_range_and_status(
    client: httpx.Client, listed: list[str]
) -> None:
    window = _all_pages(
        client, source=TENANT_SOURCE, published_after="2021-07-09", published_before="2023-01-15"
    )
    assert sorted(d["id"] for d in window) == [listed[1], listed[2]]  # from inclusive, to not
    assert _all_pages(client, source=TENANT_SOURCE, status="failed") == []
    both = _all_pages(client, source=TENANT_SOURCE, status=["pending", "indexed"])
    assert len(both) == len(listed)


def test_deleted_documents_are_listed_only_when_asked_for(
    client: httpx.Client, listed: list[str]
) -> None:
    doc_id = f"lst-{TOKEN}-gone"
    body = {"id": doc_id, "text": "Brief note.", "source": TENANT_SOURCE}
    assert client.post("/v1/documents", json=body).status_code == 202
    wait_status(client, doc_id, "indexed")
    assert client.delete(f"/v1/documents/{doc_id}").status_code == 202
    wait_status(client, doc_id, "deleted")
    assert doc_id not in {d["id"] for d in _all_pages(client, source=TENANT_SOURCE)}
    gone = _all_pages(client, source=TENANT_SOURCE, status="deleted")
    assert [d["id"] for d in gone] == [doc_id]


@pytest.mark.parametrize(
    ("params", "needle"),
    [
        ({"limit": 0}, "limit: Input should be greater than or equal to 1"),
        ({"limit": 501}, "limit: Input should be less than or equal to 500"),
        ({"status": "archived"}, "status.0: Input should be"),
        ({"cursor": "not-a-cursor"}, "cursor: not a cursor from a previous page"),
        ({"published_after": "2021-07-09T10:00:00"}, "has no timezone"),
        ({"published_before": "yesterday"}, "published_before:"),
    ],
)
def test_bad_listing_parameters_are_422(
    client: httpx.Client, params: dict[str, object], needle: str
) -> None:
    assert_problem(client.get("/v1/documents", params=params), 422, needle)  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def ferry(server) -> str:  # type: ignore[no-untyped-def]
    text = (
        f"Odile Brenner{_ALPHA} was appointed chief executive of {FERRY} (HFC) in March 2022, "
        f"the company said. Caspar Lund{_ALPHA} was appointed chief executive of HFC in June "
        f"2023.\n\nTessaly Ortmann{_ALPHA} is no longer chief executive of {FERRY}."
    )
    with httpx.Client(base_url=server.url, timeout=60) as client:
        doc = {"id": f"ferry-{TOKEN}", "text": text, "published_at": "2023-07-01T00:00:00Z"}
        assert client.post("/v1/documents", json=doc).status_code == 202
        assert wait_status(client, f"ferry-{TOKEN}", "indexed")["facts"] >= 2
    return FERRY


def test_entity_search_by_prefix_alias_and_typo(client: httpx.Client, ferry: str) -> None:
    key = ferry.lower()
    prefix = client.get("/v1/entities", params={"q": f"Harrowgate{_ALPHA}"}).json()
    assert prefix["entities"][0]["key"] == key
    assert prefix["entities"][0]["match"] == "prefix"
    assert prefix["entities"][0]["name"] == ferry
    assert "HFC" in prefix["entities"][0]["aliases"]

    typo = client.get("/v1/entities", params={"q": f"Harowgate{_ALPHA} Fery Company"}).json()
    assert [(e["key"], e["match"]) for e in typo["entities"]][:1] == [(key, "fuzzy")]

    exact = client.get("/v1/entities", params={"q": f"the {ferry}", "limit": 1}).json()
    assert [(e["key"], e["match"]) for e in exact["entities"]] == [(key, "exact")]
    assert exact["entities"][0]["facts"] >= 2

    person = client.get("/v1/entities", params={"q": f"Caspar Lund{_ALPHA}"}).json()
    assert person["entities"][0]["match"] == "exact"
    # Its timeline is reached with the key the search gave.
    timeline = client.get(f"/v1/entities/{person['entities'][0]['key']}/timeline")
    assert timeline.status_code == 200 and timeline.json()["facts"]


def test_entity_search_refuses_empty_queries(client: httpx.Client) -> None:
    assert_problem(client.get("/v1/entities", params={"q": ""}), 422, "q:")
    assert_problem(client.get("/v1/entities", params={"q": "!!!"}), 422, "q: no entity name")
    assert_problem(client.get("/v1/entities"), 422, "q: Field required")
    found = client.get("/v1/entities", params={"q": f"zz{TOKEN}qq"})
    assert found.status_code == 200 and found.json()["entities"] == []


def test_nothing_known_is_the_same_404_for_every_unknown_entity(
    client: httpx.Client, ferry: str
) -> None:
    never_seen = client.get(f"/v1/entities/Nobody{_ALPHA}/timeline")
    body = assert_problem(never_seen, 404, f"no facts about 'Nobody{_ALPHA}'")
    # Only in a negated statement: known to the graph, but no fact holds (was 200 with []).
    negated = client.get(f"/v1/entities/Tessaly Ortmann{_ALPHA}/timeline")
    assert_problem(negated, 404, f"no facts about 'Tessaly Ortmann{_ALPHA}'")
    # Known now, but not yet at the as_of.
    early = client.get(f"/v1/entities/{ferry}/timeline", params={"as_of": "2001-01-01T00:00:00Z"})
    assert_problem(early, 404, f"no facts about {ferry!r} as known at 2001-01-01")
    assert set(body) == set(negated.json()) == set(early.json())
    # A near miss names what is known.
    near = client.get(f"/v1/entities/Harrowgate{_ALPHA} Ferry/timeline")
    assert_problem(near, 404, f"did you mean {ferry!r}")
