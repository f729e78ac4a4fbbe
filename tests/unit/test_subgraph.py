"""The query working graph and personalized PageRank over it."""

from __future__ import annotations

from datetime import UTC, datetime

from graph.entities import entity_key
from graph.facts import Fact, merge_support, source_id
from graph.subgraph import build_subgraph, fact_weight, rank_facts
from graph.temporal import ResolvedFact, resolve_timeline
from graph.timeparse import parse_period


def at(year: int, month: int = 1, day: int = 1) -> datetime:
    return datetime(year, month, day, tzinfo=UTC)


def make_fact(subject: str, relation: str, obj: str, start: str, doc: str = "d1") -> Fact:
    return Fact.from_source(
        tenant="t1",
        subject=subject,
        subject_key=entity_key(subject),
        relation=relation,
        object=obj,
        object_key=entity_key(obj),
        valid_from=parse_period(start),
        valid_to=None,
        source=source_id(doc, 1),
        published_at=at(2024),
        sentence=f"{subject} {relation} {obj}.",
    )


def resolved(facts: list[Fact]) -> list[ResolvedFact]:
    return resolve_timeline(facts, functional_of=lambda name: "none")


def two_clusters() -> list[ResolvedFact]:
    return resolved(
        [
            make_fact("Jane Doe", "chief executive of", "Acme", "2021-03"),
            make_fact("Acme", "headquartered in", "Leeds", "2019"),
            make_fact("Bob Ray", "chief executive of", "Beta", "2020"),
            make_fact("Beta", "headquartered in", "York", "2018"),
            make_fact("Cy Twombly", "employed by", "Beta", "2022-Q1"),
        ]
    )


def test_build_subgraph_has_entity_and_time_nodes_and_fact_edges() -> None:
    facts = two_clusters()
    graph = build_subgraph(facts)
    assert graph.nodes["jane doe"] == {"kind": "entity", "name": "Jane Doe"}
    assert graph.nodes["2021-03"] == {"kind": "time"}
    jane = next(item for item in facts if item.fact.subject_key == "jane doe")
    edge = graph.edges["jane doe", "acme", jane.id]
    assert edge["relation"] == "chief executive of"
    assert edge["fact"] is jane
    assert edge["weight"] == fact_weight(jane)
    assert graph.has_edge("jane doe", "2021-03", f"{jane.id}:subject-time")
    assert graph.has_edge("acme", "2021-03", f"{jane.id}:object-time")


def test_edge_weight_grows_with_sources() -> None:
    single = make_fact("Jane Doe", "chief executive of", "Acme", "2021")
    double = merge_support(
        single, make_fact("Jane Doe", "chief executive of", "Acme", "2021", "d2")
    )
    assert fact_weight(resolved([double])[0]) > fact_weight(resolved([single])[0])


def touches(item: ResolvedFact, key: str) -> bool:
    return key in (item.fact.subject_key, item.fact.object_key)


def test_personalized_pagerank_ranks_facts_touching_the_seed_first() -> None:
    graph = build_subgraph(two_clusters())
    ranked = rank_facts(graph, ["beta"])
    assert [touches(item, "beta") for item, _ in ranked] == [True, True, True, False, False]
    assert [score for _, score in ranked] == sorted((score for _, score in ranked), reverse=True)

    by_name = rank_facts(graph, ["Acme"])
    assert [touches(item, "acme") for item, _ in by_name] == [True, True, False, False, False]


def test_ranking_without_known_seeds_is_uniform_and_deterministic() -> None:
    facts = two_clusters()
    first = rank_facts(build_subgraph(facts), ["nobody"])
    second = rank_facts(build_subgraph(list(reversed(facts))), [])
    assert [(item.id, score) for item, score in first] == [
        (item.id, score) for item, score in second
    ]
    assert len(first) == len(facts)


def test_equal_scores_are_ordered_by_fact_id() -> None:
    facts = resolved(
        [
            make_fact("A Person", "member of", "Club One", "2020"),
            make_fact("B Person", "member of", "Club Two", "2020"),
        ]
    )
    ranked = rank_facts(build_subgraph(facts), [])
    assert ranked[0][1] == ranked[1][1]
    assert [item.id for item, _ in ranked] == sorted(item.id for item in facts)


def test_ranking_an_empty_graph_gives_nothing() -> None:
    assert rank_facts(build_subgraph([]), ["acme"]) == []
