"""Supersede, retract and re-open: effective validity computed from the supported facts."""

from __future__ import annotations

import random
from datetime import UTC, datetime

import pytest

from graph.entities import entity_key
from graph.facts import Fact, merge_support, remove_support, source_id, source_ids_for
from graph.temporal import ResolvedFact, resolve_timeline, valid_at, valid_in
from graph.timeparse import parse_period

FUNCTIONAL = {
    "chief executive of": "both",
    "employed by": "subject",
    "head of state of": "object",
    "member of": "none",
}


def functional_of(relation: str) -> str:
    return FUNCTIONAL.get(relation, "none")


def at(year: int, month: int = 1, day: int = 1) -> datetime:
    return datetime(year, month, day, tzinfo=UTC)


def make_fact(
    subject: str,
    relation: str,
    obj: str,
    *,
    start: str | None = None,
    end: str | None = None,
    doc: str = "d1",
    published: datetime | None = None,
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
        source=source_id(doc, 1),
        published_at=published or at(2024),
        sentence=f"{subject} {relation} {obj}.",
        negated=negated,
    )


def resolve(facts: list[Fact], as_of: datetime | None = None) -> dict[str, ResolvedFact]:
    resolved = resolve_timeline(facts, as_of=as_of, functional_of=functional_of)
    return {item.id: item for item in resolved}


def test_subject_functional_relation_closes_previous_object() -> None:
    acme = make_fact("Jane Doe", "employed by", "Acme", start="2015", published=at(2015, 6))
    beta = make_fact("Jane Doe", "employed by", "Beta", start="2018-04", doc="d2")
    colleague = make_fact("John Roe", "employed by", "Acme", start="2016")
    out = resolve([acme, beta, colleague])
    assert out[acme.id].valid_to == at(2018, 4)
    assert out[acme.id].closed_by == beta.id
    assert out[acme.id].known_to == beta.known_from
    assert out[beta.id].valid_to is None
    assert out[colleague.id].valid_to is None


def test_object_functional_relation_closes_previous_subject() -> None:
    queen = make_fact("Elizabeth", "head of state of", "United Kingdom", start="1952-02-06")
    king = make_fact("Charles", "head of state of", "United Kingdom", start="2022-09-08")
    canada = make_fact("Charles", "head of state of", "Canada", start="2022-09-08")
    out = resolve([queen, king, canada])
    assert out[queen.id].valid_to == at(2022, 9, 8)
    assert out[queen.id].closed_by == king.id
    assert out[king.id].valid_to is None
    assert out[canada.id].valid_to is None


def test_both_functional_relation_closes_on_either_side() -> None:
    jane = make_fact("Jane Doe", "chief executive of", "Acme", start="2015")
    bob_acme = make_fact("Bob Ray", "chief executive of", "Acme", start="2019")
    bob_beta = make_fact("Bob Ray", "chief executive of", "Beta", start="2021-06")
    out = resolve([jane, bob_acme, bob_beta])
    assert (out[jane.id].valid_to, out[jane.id].closed_by) == (at(2019), bob_acme.id)
    assert (out[bob_acme.id].valid_to, out[bob_acme.id].closed_by) == (at(2021, 6), bob_beta.id)
    assert out[bob_beta.id].valid_to is None


def test_non_functional_relation_never_closes() -> None:
    first = make_fact("Jane Doe", "member of", "Rotary", start="2015")
    second = make_fact("Jane Doe", "member of", "Lions", start="2019")
    unknown = make_fact("Jane Doe", "likes", "Tea", start="2010")
    later = make_fact("Jane Doe", "likes", "Coffee", start="2020")
    out = resolve([first, second, unknown, later])
    assert all(item.valid_to is None and item.closed_by is None for item in out.values())


def test_deleting_the_newest_document_reopens_the_previous_holder() -> None:
    jane = make_fact("Jane Doe", "chief executive of", "Acme", start="2015", doc="d1")
    bob = make_fact("Bob Ray", "chief executive of", "Acme", start="2019", doc="d2")
    assert resolve([jane, bob])[jane.id].closed_by == bob.id

    remaining = [f for f in (remove_support(x, source_ids_for("d2")) for x in (jane, bob)) if f]
    out = resolve(remaining)
    assert list(out) == [jane.id]
    assert out[jane.id].valid_to is None
    assert out[jane.id].closed_by is None


def test_closing_fact_supported_by_another_document_survives_a_delete() -> None:
    jane = make_fact("Jane Doe", "chief executive of", "Acme", start="2015", doc="d1")
    bob = merge_support(
        make_fact("Bob Ray", "chief executive of", "Acme", start="2019", doc="d2"),
        make_fact("Bob Ray", "chief executive of", "Acme", start="2019", doc="d3"),
    )
    kept = remove_support(bob, source_ids_for("d2"))
    assert kept is not None
    assert resolve([jane, kept])[jane.id].closed_by == bob.id


def test_as_of_hides_facts_and_closures_not_yet_known() -> None:
    jane = make_fact("Jane Doe", "chief executive of", "Acme", start="2015", published=at(2015, 2))
    bob = make_fact(
        "Bob Ray", "chief executive of", "Acme", start="2019", doc="d2", published=at(2019, 6)
    )
    before = resolve([jane, bob], as_of=at(2019, 3))
    assert list(before) == [jane.id]
    assert before[jane.id].valid_to is None

    after = resolve([jane, bob], as_of=at(2019, 7))
    assert after[jane.id].valid_to == at(2019)
    assert after[jane.id].known_to == at(2019, 6)
    assert resolve([jane, bob], as_of=at(2014)) == {}


def test_as_of_counts_only_sources_published_by_then() -> None:
    fact = merge_support(
        make_fact("Jane Doe", "employed by", "Acme", start="2015", published=at(2016)),
        make_fact(
            "Jane Doe",
            "employed by",
            "Acme",
            start="2015",
            doc="d2",
            end="2020",
            published=at(2021),
        ),
    )
    then = resolve([fact], as_of=at(2018))[fact.id]
    assert list(then.fact.sources) == ["d1@1"]
    assert then.valid_to is None
    now = resolve([fact])[fact.id]
    assert (now.valid_to, now.closed_by, now.known_to) == (at(2021), None, at(2021))


def test_negation_closes_the_matching_open_fact() -> None:
    jane = make_fact("Jane Doe", "member of", "Rotary", start="2015")
    other = make_fact("John Roe", "member of", "Rotary", start="2015")
    left = make_fact(
        "Jane Doe", "member of", "Rotary", doc="d2", published=at(2020, 5, 1), negated=True
    )
    out = resolve([jane, other, left])
    assert left.id not in out
    assert out[jane.id].valid_to == at(2020, 5, 1)
    assert out[jane.id].closed_by == left.id
    assert out[jane.id].known_to == at(2020, 5, 1)
    assert out[other.id].valid_to is None


def test_dated_negation_closes_at_the_end_of_its_period() -> None:
    jane = make_fact("Jane Doe", "chief executive of", "Acme", start="2015")
    left = make_fact("Jane Doe", "chief executive of", "Acme", start="2019", negated=True)
    out = resolve([jane, left])
    assert out[jane.id].valid_to == at(2020)
    assert valid_in(out[jane.id], at(2019), at(2020))
    assert not valid_in(out[jane.id], at(2020), at(2021))


def test_negation_does_not_close_a_later_restatement() -> None:
    left = make_fact("Jane Doe", "member of", "Rotary", start="2018", negated=True)
    rejoined = make_fact("Jane Doe", "member of", "Rotary", start="2021")
    assert resolve([left, rejoined])[rejoined.id].valid_to is None


def test_same_value_repeat_does_not_close() -> None:
    first = make_fact("Jane Doe", "chief executive of", "Acme", start="2015")
    again = make_fact("Jane Doe", "chief executive of", "Acme", start="2018")
    out = resolve([first, again])
    assert out[first.id].valid_to is None
    assert out[again.id].valid_to is None


def test_returning_holder_is_closed_then_reopened_as_a_new_edge() -> None:
    jane = make_fact("Jane Doe", "chief executive of", "Acme", start="2015")
    bob = make_fact("Bob Ray", "chief executive of", "Acme", start="2017")
    jane_again = make_fact("Jane Doe", "chief executive of", "Acme", start="2019")
    out = resolve([jane, bob, jane_again])
    assert out[jane.id].closed_by == bob.id
    assert out[bob.id].closed_by == jane_again.id
    assert out[jane_again.id].valid_to is None


def test_undated_fact_holds_from_its_first_publication() -> None:
    jane = make_fact("Jane Doe", "chief executive of", "Acme", start="2015")
    bob = make_fact("Bob Ray", "chief executive of", "Acme", published=at(2020, 2, 3))
    out = resolve([jane, bob])
    assert out[bob.id].valid_from == at(2020, 2, 3)
    assert out[jane.id].valid_to == at(2020, 2, 3)


def test_later_report_in_the_same_period_supersedes_at_the_period_end() -> None:
    jane = make_fact("Jane Doe", "chief executive of", "Acme", start="2019", published=at(2019, 3))
    bob = make_fact(
        "Bob Ray", "chief executive of", "Acme", start="2019", doc="d2", published=at(2019, 11)
    )
    out = resolve([jane, bob])
    assert (out[jane.id].valid_to, out[jane.id].closed_by) == (at(2020), bob.id)
    assert out[bob.id].valid_to is None


def test_stated_end_is_kept_when_earlier_than_the_successor() -> None:
    jane = make_fact(
        "Jane Doe", "chief executive of", "Acme", start="2015", end="2017", published=at(2018)
    )
    bob = make_fact("Bob Ray", "chief executive of", "Acme", start="2019")
    out = resolve([jane, bob])
    assert (out[jane.id].valid_to, out[jane.id].closed_by) == (at(2018), None)
    assert out[jane.id].known_to == at(2018)


def test_result_does_not_depend_on_input_order() -> None:
    facts = [
        make_fact("Jane Doe", "chief executive of", "Acme", start="2015"),
        make_fact("Bob Ray", "chief executive of", "Acme", start="2019"),
        make_fact("Bob Ray", "chief executive of", "Beta", start="2021"),
        make_fact("Jane Doe", "member of", "Rotary", start="2016"),
        make_fact("Jane Doe", "member of", "Rotary", start="2018", negated=True),
    ]
    expected = resolve_timeline(facts, functional_of=functional_of)
    shuffled = list(facts)
    random.Random(7).shuffle(shuffled)
    assert resolve_timeline(shuffled, functional_of=functional_of) == expected
    assert [item.valid_from for item in expected] == sorted(item.valid_from for item in expected)


def test_default_functionality_comes_from_the_relation_registry() -> None:
    jane = make_fact("Jane Doe", "chief executive of", "Acme", start="2015")
    bob = make_fact("Bob Ray", "chief executive of", "Acme", start="2019")
    out = {item.id: item for item in resolve_timeline([jane, bob])}
    assert out[jane.id].closed_by == bob.id


def test_valid_in_and_valid_at_use_half_open_intervals() -> None:
    jane = make_fact("Jane Doe", "chief executive of", "Acme", start="2015")
    bob = make_fact("Bob Ray", "chief executive of", "Acme", start="2019")
    closed = resolve([jane, bob])[jane.id]
    assert valid_in(closed, at(2018), at(2019))
    assert not valid_in(closed, at(2019), at(2020))
    assert not valid_in(closed, None, at(2015))
    assert valid_in(closed, None, None)
    assert valid_at(closed, at(2015))
    assert valid_at(closed, at(2018, 12, 31))
    assert not valid_at(closed, at(2019))


def test_naive_as_of_is_refused() -> None:
    with pytest.raises(ValueError, match="naive"):
        resolve_timeline([], as_of=datetime(2020, 1, 1), functional_of=functional_of)


def test_finer_later_start_wins_over_a_same_period_update() -> None:
    jane = make_fact("Jane Doe", "chief executive of", "Acme", start="2019", published=at(2019, 3))
    bob = make_fact(
        "Bob Ray", "chief executive of", "Acme", start="2019", doc="d2", published=at(2019, 11)
    )
    carl = make_fact(
        "Carl Fox", "chief executive of", "Acme", start="2019-06", doc="d3", published=at(2019, 7)
    )
    out = resolve([jane, bob, carl])
    assert (out[jane.id].valid_to, out[jane.id].closed_by) == (at(2019, 6), carl.id)
    assert out[bob.id].valid_to == at(2019, 6)
