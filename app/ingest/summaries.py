"""Time-node summaries: what the graph says about a period, re-computed when its facts change.

A node is marked dirty at ingest (`app.ingest.graph_indexing`) and summarised by the
``chronorag.summarize_time_nodes`` task; the period routes and the graph answerer compute a
summary on demand from the facts as they are, so a stale stored one is never served.
"""

from __future__ import annotations

from collections.abc import Sequence

from app.core.timeutil import utcnow
from app.embeddings.embedding import Embedder
from app.stores.facts import GraphStores, TimeNode
from app.stores.locks import Locker
from graph.hierarchy import ExtractiveSummarizer, Summarizer, propagate_dirty
from graph.temporal import ResolvedFact, resolve_timeline
from graph.timeparse import TimeSpan, parse_period


class TimeNodeSummaries:
    """Re-summarises dirty time nodes, children before parents, one lock per node."""

    def __init__(
        self,
        embedder: Embedder,
        locker: Locker,
        stores: GraphStores,
        summarizer: Summarizer | None = None,
    ) -> None:
        self._embedder = embedder
        self._locker = locker
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
            with self._locker.hold(f"node:{tenant}:{label}", timeout_s=60):
                summary, resolved = self.compute(tenant, label)
                vector = self._embedder.embed_documents([summary])[0] if summary else None
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
