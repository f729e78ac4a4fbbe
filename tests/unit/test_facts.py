"""The bi-temporal fact model: ids, provenance counting, payloads."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from graph.entities import entity_key
from graph.facts import (
    Fact,
    doc_id_of,
    fact_id,
    known_by,
    merge_support,
    remove_support,
    source_id,
    source_ids_for,
)
from graph.timeparse import parse_period


def at(year: int, month: int = 1, day: int = 1) -> datetime:
    return datetime(year, month, day, tzinfo=UTC)


def make_fact(
    subject: str = "Jane Doe",
    relation: str = "chief executive of",
    obj: str = "Acme",
    *,
    start: str | None = "2021-03",
    end: str | None = None,
    doc: str = "d1",
    version: int = 1,
    published: datetime | None = None,
    sentence: str = "",
    negated: bool = False,
) -> Fact:
    return Fact.from_source(
        tenant="t1",
        subject=subject,
        subject_key=entity_key(subject),
        relation=relation,
        object=obj,
        object_key=entity_key(obj),
        valid_from=parse_period(start) if start else None,
        valid_to=parse_period(end) if end else None,
        source=source_id(doc, version),
        published_at=published or at(2021, 4),
        sentence=sentence or f"{subject} {relation} {obj} ({doc}).",
        negated=negated,
    )


def test_fact_id_is_deterministic_and_depends_on_time() -> None:
    first = fact_id("t1", "jane doe", "chief executive of", "acme", "2021-03")
    assert first == fact_id("t1", "jane doe", "chief executive of", "acme", "2021-03")
    assert first != fact_id("t1", "jane doe", "chief executive of", "acme", "2022")
    assert first != fact_id("t1", "jane doe", "chief executive of", "acme", None)
    assert first != fact_id("t2", "jane doe", "chief executive of", "acme", "2021-03")


def test_negated_fact_gets_its_own_id() -> None:
    assert make_fact(negated=True).id != make_fact().id


def test_from_source_uses_period_start_and_end() -> None:
    fact = make_fact(start="2015", end="2019-Q2")
    assert fact.valid_from == at(2015)
    assert fact.valid_to == at(2019, 7)
    assert fact.granularity == "year"
    assert fact.known_from == at(2021, 4)


def test_same_fact_from_two_documents_is_one_fact_with_two_sources() -> None:
    first = make_fact(doc="d1", published=at(2021, 5))
    second = make_fact(doc="d2", published=at(2021, 4))
    assert first.id == second.id
    merged = merge_support(merge_support(None, first), second)
    assert merged.sources == {"d1@1": at(2021, 5), "d2@1": at(2021, 4)}
    assert merged.known_from == at(2021, 4)
    assert merged.sentence == second.sentence
    assert merged.doc_ids == ["d1", "d2"]


def test_same_fact_at_two_times_is_two_facts() -> None:
    assert make_fact(start="2015").id != make_fact(start="2021").id


def test_merge_is_idempotent() -> None:
    first = make_fact(doc="d1")
    merged = merge_support(first, first)
    assert merged == first
    assert merged is not first


def test_merge_does_not_mutate_its_arguments() -> None:
    first = make_fact(doc="d1")
    second = make_fact(doc="d2")
    merge_support(first, second)
    assert list(first.sources) == ["d1@1"]


def test_merge_keeps_a_stated_valid_to() -> None:
    open_ended = make_fact(doc="d1", published=at(2019))
    with_end = make_fact(doc="d2", end="2020", published=at(2021))
    merged = merge_support(open_ended, with_end)
    assert merged.valid_to == at(2021)
    assert merge_support(with_end, open_ended).valid_to == at(2021)


def test_latest_source_decides_a_disputed_valid_to() -> None:
    early = make_fact(doc="d1", end="2019", published=at(2019, 6))
    late = make_fact(doc="d2", end="2020", published=at(2021))
    assert merge_support(early, late).valid_to == at(2021)
    assert merge_support(late, early).valid_to == at(2021)


def test_merge_rejects_different_facts() -> None:
    with pytest.raises(ValueError, match="different fact"):
        merge_support(make_fact(start="2015"), make_fact(start="2016"))


def test_removing_one_source_keeps_the_fact_with_earliest_remaining_known_from() -> None:
    merged = merge_support(
        merge_support(
            make_fact(doc="d1", published=at(2020)), make_fact(doc="d2", published=at(2021))
        ),
        make_fact(doc="d3", published=at(2022)),
    )
    remaining = remove_support(merged, {"d1@1"})
    assert remaining is not None
    assert set(remaining.sources) == {"d2@1", "d3@1"}
    assert remaining.known_from == at(2021)
    assert remaining.sentence == make_fact(doc="d2").sentence
    assert merged.known_from == at(2020)


def test_removing_every_source_drops_the_fact() -> None:
    merged = merge_support(make_fact(doc="d1"), make_fact(doc="d2"))
    once = remove_support(merged, {"d1@1"})
    assert once is not None
    assert remove_support(once, {"d2@1"}) is None


def test_removing_a_source_drops_the_end_it_stated() -> None:
    merged = merge_support(make_fact(doc="d1"), make_fact(doc="d2", end="2023"))
    remaining = remove_support(merged, source_ids_for("d2"))
    assert remaining is not None
    assert remaining.valid_to is None


def test_source_ids_for_matches_every_version_of_one_document() -> None:
    merged = merge_support(
        merge_support(make_fact(doc="a", version=1), make_fact(doc="a", version=2)),
        make_fact(doc="ab", version=1),
    )
    remaining = remove_support(merged, source_ids_for("a"))
    assert remaining is not None
    assert list(remaining.sources) == ["ab@1"]
    assert doc_id_of("mail@example.com@3") == "mail@example.com"


def test_known_by_keeps_only_sources_published_by_then() -> None:
    merged = merge_support(
        make_fact(doc="d1", published=at(2020)), make_fact(doc="d2", end="2024", published=at(2022))
    )
    then = known_by(merged, at(2021))
    assert then is not None
    assert list(then.sources) == ["d1@1"]
    assert then.valid_to is None
    assert known_by(merged, at(2019)) is None


def test_payload_round_trips_through_json() -> None:
    fact = merge_support(make_fact(doc="d1", end="2023"), make_fact(doc="d2", published=at(2022)))
    payload = json.loads(json.dumps(fact.to_payload()))
    assert payload["valid_from"] == "2021-03-01T00:00:00+00:00"
    assert payload["valid_from_ts"] == at(2021, 3).timestamp()
    assert payload["valid_to_ts"] == at(2024).timestamp()
    assert payload["known_from_ts"] == at(2021, 4).timestamp()
    assert [item["source"] for item in payload["sources"]] == ["d1@1", "d2@1"]
    assert payload["sources"][1]["published_at"] == "2022-01-01T00:00:00+00:00"
    assert payload["doc_ids"] == ["d1", "d2"]
    assert Fact.from_payload(payload) == fact


def test_payload_of_undated_fact_has_null_times() -> None:
    payload = make_fact(start=None).to_payload()
    assert payload["valid_from"] is None
    assert payload["valid_from_ts"] is None
    assert payload["granularity"] is None


def test_naive_datetimes_are_refused() -> None:
    with pytest.raises(ValueError, match="naive"):
        make_fact(published=datetime(2021, 1, 1))


def test_known_from_must_be_the_earliest_source() -> None:
    fact = make_fact()
    with pytest.raises(ValueError, match="earliest source publication"):
        Fact(
            id=fact.id,
            tenant=fact.tenant,
            subject=fact.subject,
            subject_key=fact.subject_key,
            relation=fact.relation,
            object=fact.object,
            object_key=fact.object_key,
            valid_from=fact.valid_from,
            valid_to=None,
            granularity=fact.granularity,
            known_from=at(1999),
            sources=fact.sources,
            sentence=fact.sentence,
        )
