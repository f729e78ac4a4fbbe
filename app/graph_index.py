"""The temporal knowledge graph inside the service: indexing facts, summaries, graph answers.

``graph/`` holds the rules (facts, supersede, hierarchy, PageRank); this module connects them
to the stores, the embedder and the queue. Facts and time nodes live in Qdrant; networkx only
ever holds the working graph of one query.
"""

from __future__ import annotations

import logging
import re
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol

import numpy as np

from app.core.errors import InvalidInput, NotFound
from app.core.models import DocumentRecord
from app.core.services import Services
from app.core.settings import Settings
from app.core.timeutil import utcnow
from app.ingest.chunking import Chunk
from app.integrations.llm_extractor import LLMFactExtractor
from app.integrations.llm_summarizer import LLMSummarizer
from app.retrieval.answer import Decision
from app.retrieval.mentions import is_yes_no
from app.retrieval.scope import TimeScope
from app.stores.facts import QdrantFactStore, QdrantTimeNodeStore, TimeNode, fact_text
from graph.entities import EntityResolver, entity_key
from graph.entity_search import EntityMatch, search_entities
from graph.extract import FactExtractor, RuleFactExtractor
from graph.facts import Fact, doc_id_of, merge_support, remove_support, source_id
from graph.hierarchy import ExtractiveSummarizer, Summarizer, propagate_dirty, touched_nodes
from graph.subgraph import build_subgraph, rank_facts
from graph.temporal import ResolvedFact, resolve_timeline, valid_at, valid_in
from graph.timeparse import Granularity, TimeSpan, parse_period

log = logging.getLogger(__name__)
_EPS = timedelta(microseconds=1)


def _just_before(moment: datetime) -> datetime:
    """The instant before ``moment``; the earliest representable instant stays itself
    (``end: 0001-01-01T00:00:00Z`` once gave a 500 through OverflowError)."""
    return moment - _EPS if moment > datetime.min.replace(tzinfo=moment.tzinfo) else moment


@dataclass
class GraphStores:
    facts: QdrantFactStore
    nodes: QdrantTimeNodeStore


def graph_stores(services: Services) -> GraphStores:
    s = services.settings
    dim = services.embedder.dimension
    return GraphStores(
        facts=QdrantFactStore(services.stores.engine, s.collection_prefix, dim),
        nodes=QdrantTimeNodeStore(services.stores.engine, s.collection_prefix, dim),
    )


class SummaryScheduler(Protocol):
    def schedule(self, tenant: str, labels: Sequence[str]) -> None: ...


class GraphIndexer:
    """Turns a document version into facts and folds them into the graph (KnowledgeIndexer).

    Idempotent: fact ids are deterministic and support is a set keyed by "doc@version", so
    indexing the same version twice changes nothing. Each fact is read-modified-written
    under its own lock, because two documents may support the same fact concurrently.
    """

    def __init__(
        self,
        services: Services,
        stores: GraphStores,
        extractor: FactExtractor,
        scheduler: SummaryScheduler | None = None,
    ) -> None:
        self._s = services
        self._stores = stores
        self._extractor = extractor
        self._scheduler = scheduler

    def extract(self, record: DocumentRecord) -> list[Fact]:
        resolver = EntityResolver()
        resolver.begin_document()
        resolver.scan(record.text)
        source = source_id(record.doc_id, record.version)
        facts: dict[str, Fact] = {}
        for ex in self._extractor.extract(record.text, record.published_at):
            try:
                fact = Fact.from_source(
                    tenant=record.tenant,
                    subject=ex.subject,
                    subject_key=resolver.resolve(ex.subject),
                    relation=ex.relation,
                    object=ex.object,
                    object_key=resolver.resolve(ex.object),
                    valid_from=ex.valid_from,
                    valid_to=ex.valid_to,
                    source=source,
                    published_at=record.published_at,
                    sentence=ex.sentence,
                    negated=ex.negated,
                )
            except ValueError as exc:
                log.debug("dropping fact from %s: %s", record.doc_id, exc)
                continue
            if not fact.subject_key or not fact.object_key:
                continue
            facts[fact.id] = merge_support(facts.get(fact.id), fact)
        return list(facts.values())

    def index(self, record: DocumentRecord, chunks: Sequence[Chunk]) -> int:
        new = self.extract(record)
        if not new:
            return 0
        merged: list[Fact] = []
        # One embedding call for the whole document, outside the locks: per-fact calls were
        # three quarters of the encoder's calls (bench/ingest.py). The text is the statement
        # only, so merging support does not change it; a merge that does is embedded alone.
        texts = list(dict.fromkeys(fact_text(f) for f in new))
        vectors = dict(zip(texts, self._s.embedder.embed_documents(texts), strict=True))
        for fact in new:
            with self._s.locker.hold(f"fact:{record.tenant}:{fact.id}"):
                existing = self._stores.facts.get([fact.id]).get(fact.id)
                combined = merge_support(existing, fact)
                text = fact_text(combined)
                vector = (
                    vectors[text][None, :]
                    if text in vectors
                    else self._s.embedder.embed_documents([text])
                )
                self._stores.facts.put([combined], vector)
                merged.append(combined)
        self._touch(record.tenant, touched_nodes(merged))
        return len(new)

    def forget(self, tenant: str, doc_id: str, keep_version: int | None) -> None:
        """Withdraw the document's support (all versions but ``keep_version``)."""
        keep = source_id(doc_id, keep_version) if keep_version is not None else None
        touched: set[str] = set()
        for fact in self._stores.facts.of_document(tenant, doc_id):
            with self._s.locker.hold(f"fact:{tenant}:{fact.id}"):
                current = self._stores.facts.get([fact.id]).get(fact.id)
                if current is None:
                    continue
                drop = {s for s in current.sources if doc_id_of(s) == doc_id and s != keep}
                if not drop:
                    continue
                touched |= touched_nodes([current])
                remaining = remove_support(current, drop)
                if remaining is None:
                    self._stores.facts.delete([current.id])
                else:
                    vector = self._s.embedder.embed_documents([fact_text(remaining)])
                    self._stores.facts.put([remaining], vector)
        self._touch(tenant, touched)

    def _touch(self, tenant: str, labels: Iterable[str]) -> None:
        labels = propagate_dirty(labels)
        if not labels:
            return
        self._stores.nodes.mark_dirty(tenant, labels, utcnow())
        if self._scheduler is not None:
            self._scheduler.schedule(tenant, labels)


class TimeNodeSummaries:
    """Re-summarises dirty time nodes, children before parents, one lock per node."""

    def __init__(
        self, services: Services, stores: GraphStores, summarizer: Summarizer | None = None
    ) -> None:
        self._s = services
        self._stores = stores
        self._summarizer = summarizer or ExtractiveSummarizer()

    def compute(self, tenant: str, label: str) -> tuple[str, list[ResolvedFact]]:
        """The summary of a node from the facts as they are now (not persisted)."""
        facts = self._stores.facts.of_period(tenant, label)
        resolved = resolve_timeline(facts)
        children = self._child_summaries(tenant, label)
        return self._summarizer.summarize(label, resolved, children), resolved

    def _child_summaries(self, tenant: str, label: str) -> list[str]:
        span = parse_period(label)
        child_gran = {"year": "quarter", "quarter": "month", "month": "day"}.get(span.granularity)
        if child_gran is None:
            return []
        labels = []
        cursor = span.start
        while cursor < span.end:
            child = TimeSpan.of(cursor, child_gran)  # type: ignore[arg-type]
            labels.append(child.label)
            cursor = child.end
        nodes = self._stores.nodes.get_many(tenant, labels)
        ordered = sorted(nodes.values(), key=lambda n: (-n.fact_count, n.label))
        return [n.summary for n in ordered if n.summary]

    def run(self, tenant: str, labels: Sequence[str]) -> int:
        done = 0
        for label in propagate_dirty(labels):
            with self._s.locker.hold(f"node:{tenant}:{label}", timeout_s=60):
                summary, resolved = self.compute(tenant, label)
                vector = self._s.embedder.embed_documents([summary])[0] if summary else None
                node = TimeNode(
                    tenant,
                    label,
                    parse_period(label).granularity,
                    summary,
                    False,
                    utcnow(),
                    len(resolved),
                )
                self._stores.nodes.put(node, vector)
                done += 1
        return done


class DebouncedScheduler:
    """Coalesces summary requests: a node already scheduled is not scheduled again.

    The marker is cleared when the summary task starts, so an update arriving while a node is
    being summarised schedules one more run and is never missed.
    """

    def __init__(
        self, services: Services, send: Callable[[str, list[str]], None], debounce_s: float
    ) -> None:
        self._s = services
        self._send = send
        self._debounce_s = debounce_s
        self._local: dict[str, float] = {}
        self._lock = threading.Lock()

    def _key(self, tenant: str, label: str) -> str:
        return f"chronorag:summary-scheduled:{tenant}:{label}"

    def schedule(self, tenant: str, labels: Sequence[str]) -> None:
        fresh = [label for label in labels if self._claim(self._key(tenant, label))]
        if fresh:
            self._send(tenant, fresh)

    def _claim(self, key: str) -> bool:
        ttl = max(30, int(self._debounce_s * 10))
        if self._s.redis is not None:
            return bool(self._s.redis.set(key, "1", nx=True, ex=ttl))
        with self._lock:
            now = time.monotonic()
            if self._local.get(key, 0.0) > now:
                return False
            self._local[key] = now + ttl
            return True

    def release(self, tenant: str, labels: Sequence[str]) -> None:
        keys = [self._key(tenant, label) for label in labels]
        if self._s.redis is not None:
            self._s.redis.delete(*keys)
        else:
            with self._lock:
                for key in keys:
                    self._local.pop(key, None)


# --------------------------------------------------------------------------- answering

_WORD = re.compile(r"[a-z0-9]+")
SUMMARY_CUES = re.compile(r"\bwhat\s+(?:happened|changed|was\s+new|were\s+the\s+changes)\b", re.I)


def _tokens(key: str) -> set[str]:
    return set(_WORD.findall(key))


def link_score(mention_keys: Sequence[str], key: str) -> float:
    """How well an entity key matches one of the question's mentions.

    1 for the same key, 0.8 when one name's words contain the other's ("Orrin Vale" in "Orrin
    City AFC"), otherwise the Jaccard overlap of their words. A lone word inside a longer
    name ("Brown" in "Charles Q. Brown Jr.") stays below 0.5: surnames are shared by many.
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
        self, services: Services, stores: GraphStores, summaries: TimeNodeSummaries
    ) -> None:
        self._s = services
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
            vecs = self._s.embedder.embed_documents([fact_text(f) for f in missing])
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


@dataclass
class Graph:
    stores: GraphStores
    indexer: GraphIndexer
    summaries: TimeNodeSummaries
    answerer: GraphAnswerer
    scheduler: DebouncedScheduler | None


def build_fact_extractor(settings: Settings) -> FactExtractor:
    """The configured extractor: the rules, or a chat model (``fact_extractor="llm"``).

    Raises:
        ConfigurationError: If "llm" is chosen without ``llm_base_url``/``llm_model``, so a
            process fails at start-up rather than at its first ingest.
        ValueError: If an ``extract_vocab_files`` entry is unreadable or malformed (same
            reason: at start-up, with the file and line).
    """
    if settings.fact_extractor == "llm":
        return LLMFactExtractor.from_settings(settings)
    return RuleFactExtractor(vocab_files=settings.extract_vocab_files)


def build_summarizer(settings: Settings) -> Summarizer:
    """The configured time-node summariser: extractive, or a chat model (``summarizer="llm"``).

    Raises:
        ConfigurationError: If "llm" is chosen without ``llm_base_url``/``llm_model``.
    """
    if settings.summarizer == "llm":
        return LLMSummarizer.from_settings(settings)
    return ExtractiveSummarizer()


def build_graph(
    services: Services, send_summaries: Callable[[str, list[str]], None] | None = None
) -> Graph:
    extractor = build_fact_extractor(services.settings)
    summarizer = build_summarizer(services.settings)
    stores = graph_stores(services)
    scheduler = (
        DebouncedScheduler(services, send_summaries, services.settings.summary_debounce_s)
        if send_summaries
        else None
    )
    summaries = TimeNodeSummaries(services, stores, summarizer)
    return Graph(
        stores=stores,
        indexer=GraphIndexer(services, stores, extractor, scheduler),
        summaries=summaries,
        answerer=GraphAnswerer(services, stores, summaries),
        scheduler=scheduler,
    )
