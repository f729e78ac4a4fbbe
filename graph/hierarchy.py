"""The time hierarchy of the bi-level temporal graph: year > quarter > month > day.

Each time node (named by its calendar label: "2023", "2023-Q2", "2023-05", "2023-05-17")
carries a summary of what held during its period. An update re-summarises only the nodes
its facts touched and their ancestors, children before parents, so a parent's summary can
be built from fresh child summaries (TG-RAG's incremental update).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Protocol, cast

from graph.facts import GRANULARITIES, Fact
from graph.temporal import ResolvedFact, valid_in
from graph.text import split_sentences
from graph.timeparse import Granularity, TimeSpan, parse_period

__all__ = [
    "ExtractiveSummarizer",
    "Summarizer",
    "children_of",
    "leaf_label",
    "propagate_dirty",
    "touched_nodes",
]

_LEVEL = {"day": 0, "month": 1, "quarter": 2, "year": 3}


def leaf_label(fact: Fact) -> str:
    """The time node a fact hangs from.

    Its stated start at its stated granularity ("2021-03"), or, for an undated statement,
    the day it was first published.
    """
    if fact.valid_from is not None and fact.granularity in GRANULARITIES:
        return TimeSpan.of(fact.valid_from, cast(Granularity, fact.granularity)).label
    return TimeSpan.of(fact.known_from, "day").label


def touched_nodes(facts: Iterable[Fact]) -> set[str]:
    """Labels of every time node whose summary a change to `facts` can alter.

    Each fact's leaf node (`leaf_label`) and all its ancestors: a day fact touches its day,
    month, quarter and year.
    """
    return set(propagate_dirty(leaf_label(fact) for fact in facts))


def propagate_dirty(leaves: Iterable[str]) -> list[str]:
    """Dirty leaves plus their ancestors, deduplicated, children before parents.

    The order is by level (days, then months, quarters, years) and chronological within a
    level, so summarising in list order always finds a node's children already done.

    Raises:
        ValueError: If a label is not a calendar period label.
    """
    nodes: dict[str, int] = {}
    for label in leaves:
        span = parse_period(label)
        for node in (span, *span.ancestors()):
            nodes[node.label] = _LEVEL[node.granularity]
    return sorted(nodes, key=lambda label: (nodes[label], label))


def children_of(label: str, existing: Iterable[str]) -> list[str]:
    """The direct children of a time node among the nodes that exist, chronologically.

    A year's children are its quarters, a quarter's its months, a month's its days.

    Raises:
        ValueError: If `label` or one of `existing` is not a calendar period label.
    """
    parent = parse_period(label).label
    children = set()
    for candidate in existing:
        ancestors = parse_period(candidate).ancestors()
        if ancestors and ancestors[0].label == parent:
            children.add(candidate)
    return sorted(children)


class Summarizer(Protocol):
    """Writes the summary of one time node."""

    def summarize(
        self, label: str, facts: Sequence[ResolvedFact], child_summaries: Sequence[str]
    ) -> str:
        """Summarise a time node.

        Args:
            label: The node's period label.
            facts: Resolved facts that may be active in the period (more is fine: the
                summariser keeps those valid within it).
            child_summaries: Summaries of the node's children, most important first.

        Returns:
            The summary text; empty when there is nothing to say.
        """
        ...


def _relation_words(relation: str) -> str:
    return " ".join(relation.replace("_", " ").split())


def _day(moment: datetime) -> str:
    return TimeSpan.of(moment, "day").label


class ExtractiveSummarizer:
    """A deterministic summariser without a model.

    It keeps the facts active in the node's period, ranks them by support (number of
    sources), then recency (later start first), then id, renders the top ones as short
    sentences ("Jane Doe became chief executive of Acme (2021-03)."), and fills the rest
    with the first sentence of each child summary, up to `max_sentences` in all.
    """

    def __init__(self, max_sentences: int = 5) -> None:
        """Create a summariser.

        Raises:
            ValueError: If `max_sentences` is below 1.
        """
        if max_sentences < 1:
            raise ValueError(f"max_sentences must be at least 1, got {max_sentences}")
        self.max_sentences = max_sentences

    def summarize(
        self, label: str, facts: Sequence[ResolvedFact], child_summaries: Sequence[str]
    ) -> str:
        """Summarise a time node; see the class docstring for the rules."""
        span = parse_period(label)
        sentences: list[str] = []
        for item in self.ranked(facts, span):
            if len(sentences) == self.max_sentences:
                break
            sentence = self.render(item, span)
            if sentence not in sentences:
                sentences.append(sentence)
        for summary in child_summaries:
            if len(sentences) == self.max_sentences:
                break
            first = split_sentences(summary)[:1]
            if first and first[0] not in sentences:
                sentences.append(first[0])
        return " ".join(sentences)

    @staticmethod
    def ranked(facts: Sequence[ResolvedFact], span: TimeSpan) -> list[ResolvedFact]:
        """The facts active in ``span``, best supported first, then latest start, then latest
        known, then id (the order every summariser puts them in)."""
        active = [item for item in facts if valid_in(item, span.start, span.end)]
        return sorted(
            active,
            key=lambda item: (
                -len(item.fact.sources),
                -item.valid_from.timestamp(),
                -item.known_from.timestamp(),
                item.id,
            ),
        )

    @staticmethod
    def render(item: ResolvedFact, span: TimeSpan) -> str:
        """One sentence for a fact, worded for the period it appears in.

        "became" when it started in the period, "was ... (since ...)" when it started
        earlier; an end inside the period is added as "to <day>".
        """
        fact = item.fact
        start = leaf_label(fact)
        started_here = span.start <= item.valid_from < span.end
        when = start if started_here else f"since {start}"
        if item.valid_to is not None and span.start < item.valid_to <= span.end:
            when = f"{when} to {_day(item.valid_to)}"
        verb = "became" if started_here else "was"
        return f"{fact.subject} {verb} {_relation_words(fact.relation)} {fact.object} ({when})."
