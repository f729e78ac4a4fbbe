"""The working graph of one query: time-valid facts as a networkx graph, ranked by PageRank.

Built per query from facts already filtered to the question's time scope, used, and thrown
away; nothing here is stored.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import networkx as nx

from graph.entities import entity_key
from graph.hierarchy import leaf_label
from graph.temporal import ResolvedFact

__all__ = ["build_subgraph", "fact_weight", "rank_facts"]


def fact_weight(resolved: ResolvedFact) -> float:
    """Edge weight of a fact: 1 + log(1 + number of sources), so support counts, sublinearly."""
    return 1.0 + math.log1p(len(resolved.fact.sources))


def build_subgraph(resolved: Sequence[ResolvedFact]) -> nx.MultiDiGraph:
    """Build the query's working graph.

    Nodes are entity keys (attributes `kind="entity"`, `name`: a display name) and time-node
    labels (`kind="time"`). Each fact gives an edge subject -> object keyed by the fact id
    (attributes `relation`, `fact`: the ResolvedFact, `weight`: `fact_weight`), and edges
    from its subject and its object to its time node (`leaf_label`), keyed
    "<fact id>:subject-time" / "<fact id>:object-time", with `kind="time"` and weight 1.
    Facts are added in id order so that the graph (and PageRank on it) does not depend on
    the order of `resolved`.

    An entity whose key looks like a time label ("2023") shares that node; in practice
    entity keys are names and this does not arise.
    """
    graph = nx.MultiDiGraph()
    for item in sorted(resolved, key=lambda r: r.id):
        fact = item.fact
        time_node = leaf_label(fact)
        for key, name in ((fact.subject_key, fact.subject), (fact.object_key, fact.object)):
            if key not in graph:
                graph.add_node(key, kind="entity", name=name)
        if time_node not in graph:
            graph.add_node(time_node, kind="time")
        graph.add_edge(
            fact.subject_key,
            fact.object_key,
            key=fact.id,
            kind="fact",
            relation=fact.relation,
            fact=item,
            weight=fact_weight(item),
        )
        for role, node in (("subject", fact.subject_key), ("object", fact.object_key)):
            graph.add_edge(node, time_node, key=f"{fact.id}:{role}-time", kind="time", weight=1.0)
    return graph


def _undirected_weighted(graph: nx.MultiDiGraph) -> nx.Graph:
    """Collapse parallel and opposite edges into one undirected edge with summed weight."""
    view = nx.Graph()
    view.add_nodes_from(graph.nodes)
    for source, target, weight in graph.edges(data="weight", default=1.0):
        if view.has_edge(source, target):
            view[source][target]["weight"] += weight
        else:
            view.add_edge(source, target, weight=weight)
    return view


def rank_facts(
    graph: nx.MultiDiGraph, seeds: Sequence[str], *, alpha: float = 0.85
) -> list[tuple[ResolvedFact, float]]:
    """Rank the graph's facts by personalized PageRank around the question's entities.

    PageRank runs on the undirected weighted view of the graph (a question about Acme is as
    much about who runs Acme as about what Acme runs), restarting at the seed entities
    present in the graph, or uniformly when none is. A fact scores
    (pr[subject] + pr[object]) * its edge weight.

    Args:
        graph: A graph from `build_subgraph`.
        seeds: Entity keys of the question's entities; a seed not found as given is tried
            again as `entity_key(seed)`, so display names work too.
        alpha: PageRank damping factor (probability of following an edge).

    Returns:
        (fact, score) pairs, highest score first, ties broken by fact id. Scores are rounded
        to 12 decimal places.
    """
    if graph.number_of_nodes() == 0:
        return []
    present = set()
    for seed in seeds:
        for candidate in (seed, entity_key(seed)):
            if candidate in graph and graph.nodes[candidate].get("kind") == "entity":
                present.add(candidate)
                break
    personalization = dict.fromkeys(sorted(present), 1.0) if present else None
    scores = nx.pagerank(
        _undirected_weighted(graph), alpha=alpha, personalization=personalization, weight="weight"
    )
    # Rounded so that symmetric facts tie exactly and fall back to the id order, whatever
    # order floating-point sums happened to run in.
    ranked = [
        (data["fact"], round((scores[source] + scores[target]) * data["weight"], 12))
        for source, target, data in graph.edges(data=True)
        if data.get("kind") == "fact"
    ]
    ranked.sort(key=lambda pair: (-pair[1], pair[0].id))
    return ranked
