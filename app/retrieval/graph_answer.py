"""Answering from the temporal graph: the facts valid in the question's scope, as known then.

The TG-RAG temporal subgraph: candidate facts by entity and by similarity, their rivals (so a
superseded value is closed), the timeline resolved at ``as_of``, personalised PageRank over
what holds at the question's time. Also the entity, timeline and period reads of the graph
routes.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

import numpy as np

from app.core.errors import InvalidInput, NotFound
from app.core.timeutil import utcnow
from app.embeddings.embedding import Embedder
from app.ingest.summaries import TimeNodeSummaries
from app.retrieval.answer import Decision
from app.retrieval.mentions import is_yes_no
from app.retrieval.scope import TimeScope
from app.stores.facts import GraphStores, fact_text
from graph.entities import entity_key
from graph.entity_search import EntityMatch, search_entities
from graph.facts import Fact
from graph.subgraph import build_subgraph, rank_facts
from graph.temporal import ResolvedFact, resolve_timeline, valid_at, valid_in
from graph.timeparse import Granularity, TimeSpan, parse_period

_EPS = timedelta(microseconds=1)


def _just_before(moment: datetime) -> datetime:
    """The instant before ``moment``; the earliest representable instant stays itself
    (``end: 0001-01-01T00:00:00Z`` once gave a 500 through OverflowError)."""
    return moment - _EPS if moment > datetime.min.replace(tzinfo=moment.tzinfo) else moment


_WORD = re.compile(r"[a-z0-9]+")
SUMMARY_CUES = re.compile(r"\bwhat\s+(?:happened|changed|was\s+new|were\s+the\s+changes)\b", re.I)


def _tokens(key: str) -> set[str]:
    return set(_WORD.findall(key))


def link_score(mention_keys: Sequence[str], key: str) -> float:
    """How well an entity key matches one of the question's mentions.

    1 for the same key, 0.8 when one name's words contain the other's ("Orrin Vale" in "Orrin
    City AFC"), otherwise the Jaccard overlap of their words. A lone word inside a longer
    name ("Vantreck" in "Odile R. Vantreck Jr.") stays below 0.5: surnames are shared by many.
    """
    toks = _tokens(key)
    best = 0.0
    for mk in mention_keys:
        if mk == key:
            return 1.0
        mt = _tokens(mk)
        inter = len(toks & mt)
        if not inter:
            continue
        smaller = min(len(toks), len(mt))
        if inter == smaller:
            best = max(best, 0.8 if smaller >= 2 or len(toks) == len(mt) else 0.45)
        else:
            best = max(best, inter / len(toks | mt))
    return best


def fact_public(r: ResolvedFact) -> dict[str, Any]:
    return {
        "subject": r.fact.subject,
        "relation": r.fact.relation,
        "object": r.fact.object,
        "valid_from": r.valid_from,
        "valid_to": r.valid_to,
        "known_from": r.known_from,
        "known_to": r.known_to,
        "sources": sorted(r.fact.sources),
    }


class GraphAnswerer:
    """Answers from the facts valid in the question's scope (TG-RAG's temporal subgraph)."""

    def __init__(
        self, embedder: Embedder, stores: GraphStores, summaries: TimeNodeSummaries
    ) -> None:
        self._embedder = embedder
        self._stores = stores
        self._summaries = summaries

    def _candidates(
        self, tenant: str, qvec: np.ndarray, mentions: Sequence[str], cutoff: datetime | None
    ) -> tuple[list[Fact], list[str], dict[str, float]]:
        keys = [k for k in (entity_key(m) for m in mentions) if k]
        by_id: dict[str, Fact] = {}
        sims: dict[str, float] = {}
        for fact in self._stores.facts.of_entities(tenant, keys, cutoff):
            by_id[fact.id] = fact
        for fact, score in self._stores.facts.search(tenant, qvec, cutoff, 60):
            by_id.setdefault(fact.id, fact)
            sims[fact.id] = score
        missing = [f for f in by_id.values() if f.id not in sims]
        if missing:
            vecs = self._embedder.embed_documents([fact_text(f) for f in missing])
            for f, v in zip(missing, vecs, strict=True):
                sims[f.id] = float(np.dot(qvec, v))
        # Rivals: facts that can close a candidate must be present, or it stays open.
        pairs = set()
        for f in by_id.values():
            pairs.add((f.relation, "subject_key", f.subject_key))
            pairs.add((f.relation, "object_key", f.object_key))
        for fact in self._stores.facts.of_relation_groups(tenant, pairs):
            if cutoff is None or fact.known_from <= cutoff:
                by_id.setdefault(fact.id, fact)
        return list(by_id.values()), keys, sims

    def answer(
        self,
        tenant: str,
        question: str,
        scope: TimeScope,
        query_vector: np.ndarray,
        mentions: list[str],
    ) -> tuple[Decision | None, list[dict[str, Any]]]:
        """Answer from the facts valid at the question's time, as known at its ``as_of``.

        wh questions get the other side of the best fact touching the question's entity;
        yes/no questions get "yes" when a valid fact links the question's entities and "no"
        when such a fact exists but had been closed by then (superseded or ended).
        """
        if scope.start is not None and scope.end is not None and SUMMARY_CUES.search(question):
            return self._period_answer(tenant, scope)
        cutoff = scope.as_of
        facts, keys, sims = self._candidates(tenant, query_vector, mentions, cutoff)
        if not facts:
            return None, []
        resolved = resolve_timeline(facts, as_of=cutoff)
        moment = scope.reference or cutoff or utcnow()
        if scope.start is not None and scope.end is not None and scope.as_of is None:
            current = [r for r in resolved if valid_in(r, scope.start, scope.end)]
            # Prefer what still held at the end of the window.
            at_end = [r for r in current if valid_at(r, _just_before(scope.end))]
            current = at_end or current
        else:
            current = [r for r in resolved if valid_at(r, _just_before(moment))]
        if is_yes_no(question):
            return self._yes_no(resolved, current, keys), [fact_public(r) for r in current[:5]]
        if not current:
            return None, []
        graph = build_subgraph(current)
        ppr = {r.id: s for r, s in rank_facts(graph, keys)}
        top_ppr = max(ppr.values(), default=0.0) or 1.0

        def links(r: ResolvedFact) -> tuple[float, float]:
            return link_score(keys, r.fact.subject_key), link_score(keys, r.fact.object_key)

        def score(r: ResolvedFact) -> float:
            return sims.get(r.id, 0.0) + 0.6 * max(links(r)) + 0.2 * ppr.get(r.id, 0.0) / top_ppr

        ranked = sorted(current, key=lambda r: (-score(r), -r.valid_from.timestamp(), r.id))
        public = [fact_public(r) for r in ranked[:5]]
        best = ranked[0]
        subj, obj = links(best)
        if max(subj, obj) < 0.5:
            return None, public
        answer = best.fact.subject if obj > subj else best.fact.object
        return Decision(answer, _newest_source(best), fact=best), public

    @staticmethod
    def _yes_no(
        resolved: Sequence[ResolvedFact], current: Sequence[ResolvedFact], keys: Sequence[str]
    ) -> Decision | None:
        """Decide from facts linking the question's entities to each other.

        Valid at the question's time → yes. Known but closed by then (superseded by another
        value, or ended) → no, decided when the closure became known. No such fact → undecided:
        the evidence reading answers instead.
        """

        def both(r: ResolvedFact) -> bool:
            return (
                link_score(keys, r.fact.subject_key) >= 0.5
                and link_score(keys, r.fact.object_key) >= 0.5
            )

        valid_ids = {r.id for r in current}
        linking = [r for r in resolved if both(r)]
        now_valid = [r for r in linking if r.id in valid_ids]
        if now_valid:
            r = max(now_valid, key=_newest_source)
            return Decision(f"Yes: {_render(r)}", _newest_source(r))
        if linking:  # known, but not valid then: ended before, or starts after
            r = max(linking, key=lambda c: c.known_to or _newest_source(c))
            ended = f" (until {r.valid_to.date().isoformat()})" if r.valid_to else ""
            return Decision(f"No: {_render(r).rstrip('.')}{ended}.", r.known_to)
        return None

    def _period_answer(
        self, tenant: str, scope: TimeScope
    ) -> tuple[Decision | None, list[dict[str, Any]]]:
        assert scope.start is not None and scope.end is not None
        label = _period_label(scope.start, scope.end)
        if label is None:
            return None, []
        summary, resolved = self._summaries.compute(tenant, label)
        inside = [r for r in resolved if valid_in(r, scope.start, scope.end)]
        inside.sort(key=lambda r: (-len(r.fact.sources), r.valid_from, r.id))
        decision = Decision(summary, max((_newest_source(r) for r in inside), default=None))
        return (decision if summary else None), [fact_public(r) for r in inside[:10]]

    def search_entities(
        self, tenant: str, query: str, limit: int, max_facts: int = 200_000
    ) -> list[EntityMatch]:
        """Entities whose name matches what a person typed (`graph.entity_search` rules).

        Args:
            tenant: Whose facts are searched.
            query: The typed name.
            limit: Most matches returned.
            max_facts: Facts read at most (see `QdrantFactStore.entity_spellings`).

        Raises:
            InvalidInput: If the query holds no letters or digits.
        """
        if not entity_key(query):
            raise InvalidInput("q: no entity name left after normalisation")
        spellings, counts = self._stores.facts.entity_spellings(tenant, max_facts)
        return search_entities(query, spellings, counts, limit)

    def _unknown(self, tenant: str, name: str, as_of: datetime | None) -> NotFound:
        """The one answer for an entity with no facts: 404, with the closest names known."""
        when = f" as known at {as_of.isoformat()}" if as_of is not None else ""
        # Best effort on a bounded scan: a 404 must stay cheap even for a large graph.
        near = [m.name for m in self.search_entities(tenant, name, 3, max_facts=20_000)]
        hint = f"; did you mean {', '.join(repr(n) for n in near)}?" if near else ""
        return NotFound(f"no facts about {name!r}{when}{hint} (search: GET /v1/entities?q=)")

    def timeline(self, tenant: str, name: str, as_of: datetime | None) -> dict[str, Any]:
        """Every fact about an entity, oldest first, as known at ``as_of``.

        Raises:
            InvalidInput: If the name holds no letters or digits.
            NotFound: If no fact (still supported, known by ``as_of``) mentions the entity:
                the same 404 whether the name was never seen or all its facts are gone.
        """
        key = entity_key(name)
        if not key:
            raise InvalidInput("name: no entity name left after normalisation")
        facts = self._stores.facts.of_entities(tenant, [key], as_of)
        if not facts:
            raise self._unknown(tenant, name, as_of)
        pairs = {(f.relation, "subject_key", f.subject_key) for f in facts} | {
            (f.relation, "object_key", f.object_key) for f in facts
        }
        rivals = self._stores.facts.of_relation_groups(tenant, pairs)
        resolved = resolve_timeline([*facts, *rivals], as_of=as_of)
        mine = [r for r in resolved if key in (r.fact.subject_key, r.fact.object_key)]
        if not mine:
            raise self._unknown(tenant, name, as_of)
        display = next(
            (r.fact.subject if r.fact.subject_key == key else r.fact.object for r in mine), name
        )
        return {
            "entity": display,
            "key": key,
            "as_of": as_of,
            "facts": [fact_public(r) for r in mine],
        }

    def period(self, tenant: str, period: str) -> dict[str, Any]:
        try:
            span = parse_period(period)
        except ValueError as exc:
            raise InvalidInput(f"period: {exc}") from None
        node = self._stores.nodes.get(tenant, span.label)
        summary, resolved = self._summaries.compute(tenant, span.label)
        inside = [r for r in resolved if valid_in(r, span.start, span.end)]
        inside.sort(key=lambda r: (r.valid_from, r.id))
        return {
            "period": span.label,
            "granularity": span.granularity,
            "start": span.start,
            "end": span.end,
            "summary": summary,
            "stored_summary_fresh": bool(node and not node.dirty),
            "facts": [fact_public(r) for r in inside],
        }


def _render(r: ResolvedFact) -> str:
    return f"{r.fact.subject} {r.fact.relation} {r.fact.object}."


def _newest_source(r: ResolvedFact) -> datetime:
    return max(r.fact.sources.values())


def _period_label(start: datetime, end: datetime) -> str | None:
    grans: tuple[Granularity, ...] = ("day", "month", "quarter", "year")
    for gran in grans:
        span = TimeSpan.of(start, gran)
        if span.start == start and span.end == end:
            return span.label
    return None
