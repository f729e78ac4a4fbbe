"""Folding a document version into the temporal graph: its facts, their support, dirty nodes.

``graph/`` holds the rules (extraction, support, hierarchy); this module applies them to the
fact store under per-fact locks and tells the summary scheduler which time nodes changed.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from typing import Protocol

from app.core.models import DocumentRecord
from app.core.timeutil import utcnow
from app.embeddings.embedding import Embedder
from app.ingest.chunking import Chunk
from app.stores.facts import GraphStores, fact_text
from app.stores.locks import Locker
from graph.entities import EntityResolver
from graph.extract import FactExtractor
from graph.facts import Fact, doc_id_of, merge_support, remove_support, source_id
from graph.hierarchy import propagate_dirty, touched_nodes

log = logging.getLogger(__name__)


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
        embedder: Embedder,
        locker: Locker,
        stores: GraphStores,
        extractor: FactExtractor,
        scheduler: SummaryScheduler | None = None,
    ) -> None:
        self._embedder = embedder
        self._locker = locker
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
        vectors = dict(zip(texts, self._embedder.embed_documents(texts), strict=True))
        for fact in new:
            with self._locker.hold(f"fact:{record.tenant}:{fact.id}"):
                existing = self._stores.facts.get([fact.id]).get(fact.id)
                combined = merge_support(existing, fact)
                text = fact_text(combined)
                vector = (
                    vectors[text][None, :]
                    if text in vectors
                    else self._embedder.embed_documents([text])
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
            with self._locker.hold(f"fact:{tenant}:{fact.id}"):
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
                    vector = self._embedder.embed_documents([fact_text(remaining)])
                    self._stores.facts.put([remaining], vector)
        self._touch(tenant, touched)

    def _touch(self, tenant: str, labels: Iterable[str]) -> None:
        labels = propagate_dirty(labels)
        if not labels:
            return
        self._stores.nodes.mark_dirty(tenant, labels, utcnow())
        if self._scheduler is not None:
            self._scheduler.schedule(tenant, labels)
