"""The time hierarchy: dirty propagation and node summaries."""

from __future__ import annotations

import random
from datetime import UTC, datetime

import pytest

from graph.entities import entity_key
from graph.facts import Fact, merge_support, source_id
from graph.hierarchy import (
    ExtractiveSummarizer,
    Summarizer,
    children_of,
    leaf_label,
    propagate_dirty,
    touched_nodes,
)
from graph.temporal import ResolvedFact, resolve_timeline
from graph.timeparse import parse_period


def at(year: int, month: int = 1, day: int = 1) -> datetime:
    return datetime(year, month, day, tzinfo=UTC)


def make_fact(
    subject: str,
    relation: str,
    obj: str,
    *,
    start: str | None = None,
    doc: str = "d1",
    published: datetime | None = None,
) -> Fact:
    return Fact.from_source(
        tenant="t1",
        subject=subject,
        subject_key=entity_key(subject),
        relation=relation,
        object=obj,
        object_key=entity_key(obj),
        valid_from=parse_period(start) if start else None,
        valid_to=None,
        source=source_id(doc, 1),
        published_at=published or at(2024),
        sentence=f"{subject} {relation} {obj}.",
    )


def resolved(facts: list[Fact]) -> list[ResolvedFact]:
    functional = {"chief executive of": "both"}
    return resolve_timeline(facts, functional_of=lambda name: functional.get(name, "none"))


def test_day_fact_touches_day_month_quarter_and_year() -> None:
    fact = make_fact("Jane Doe", "chief executive of", "Acme", start="2023-05-17")
    assert touched_nodes([fact]) == {"2023-05-17", "2023-05", "2023-Q2", "2023"}


def test_month_fact_touches_month_and_its_ancestors_only() -> None:
    fact = make_fact("Jane Doe", "chief executive of", "Acme", start="2021-03")
    assert touched_nodes([fact]) == {"2021-03", "2021-Q1", "2021"}


def test_undated_fact_touches_its_publication_day() -> None:
    fact = make_fact("Jane Doe", "member of", "Rotary", published=at(2022, 8, 31))
    assert leaf_label(fact) == "2022-08-31"
    assert touched_nodes([fact]) == {"2022-08-31", "2022-08", "2022-Q3", "2022"}


def test_propagate_dirty_orders_leaves_first_and_deduplicates() -> None:
    order = propagate_dirty(["2023-05-17", "2023-05-02", "2022-11", "2023-05-17"])
    assert order == [
        "2023-05-02",
        "2023-05-17",
        "2022-11",
        "2023-05",
        "2022-Q4",
        "2023-Q2",
        "2022",
        "2023",
    ]
    for index, label in enumerate(order):
        for ancestor in parse_period(label).ancestors():
            assert order.index(ancestor.label) > index


def test_propagate_dirty_rejects_a_bad_label() -> None:
    with pytest.raises(ValueError, match="invalid period label"):
        propagate_dirty(["May 2023"])


def test_children_of_returns_direct_children_in_order() -> None:
    existing = ["2023-05-17", "2023-05", "2023-04", "2023-Q2", "2023-Q1", "2023", "2024-Q1"]
    assert children_of("2023", existing) == ["2023-Q1", "2023-Q2"]
    assert children_of("2023-Q2", existing) == ["2023-04", "2023-05"]
    assert children_of("2023-05", existing) == ["2023-05-17"]
    assert children_of("2023-05-17", existing) == []


def test_extractive_summary_renders_top_facts_deterministically() -> None:
    jane = merge_support(
        make_fact("Jane Doe", "chief executive of", "Acme", start="2021-03"),
        make_fact("Jane Doe", "chief executive of", "Acme", start="2021-03", doc="d2"),
    )
    facts = [
        jane,
        make_fact("Bob Ray", "member of", "Rotary", start="2021-06"),
        make_fact("Ann Lee", "member of", "Lions", start="2020-02"),
        make_fact("Old News", "member of", "Elks", start="2022-02"),
    ]
    summarizer = ExtractiveSummarizer()
    summary = summarizer.summarize("2021", resolved(facts), [])
    assert summary == (
        "Jane Doe became chief executive of Acme (2021-03). "
        "Bob Ray became member of Rotary (2021-06). "
        "Ann Lee was member of Lions (since 2020-02)."
    )
    shuffled = resolved(facts)
    random.Random(3).shuffle(shuffled)
    assert summarizer.summarize("2021", shuffled, []) == summary


def test_extractive_summary_mentions_an_end_inside_the_period() -> None:
    facts = [
        make_fact("Jane Doe", "chief executive of", "Acme", start="2015"),
        make_fact("Bob Ray", "chief executive of", "Acme", start="2019-04"),
    ]
    summary = ExtractiveSummarizer().summarize("2019", resolved(facts), [])
    assert "Jane Doe was chief executive of Acme (since 2015 to 2019-04-01)." in summary


def test_extractive_summary_is_bounded_and_adds_child_first_sentences() -> None:
    facts = [make_fact("Jane Doe", "member of", "Rotary", start="2021-03-04")]
    children = ["Acme hired a CEO. More detail.", "Beta moved to Leeds. Other.", "Third one."]
    summary = ExtractiveSummarizer(max_sentences=3).summarize("2021-03", resolved(facts), children)
    assert summary == (
        "Jane Doe became member of Rotary (2021-03-04). Acme hired a CEO. Beta moved to Leeds."
    )


def test_extractive_summary_of_an_empty_node_is_empty() -> None:
    assert ExtractiveSummarizer().summarize("1999", [], []) == ""


def test_extractive_summarizer_satisfies_the_protocol() -> None:
    summarizer: Summarizer = ExtractiveSummarizer(max_sentences=1)
    assert summarizer.summarize("2021", [], ["One. Two."]) == "One."
    with pytest.raises(ValueError, match="max_sentences"):
        ExtractiveSummarizer(max_sentences=0)
