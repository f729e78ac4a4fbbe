"""Facts and time-hierarchy nodes in Qdrant: the durable half of the temporal graph."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import numpy as np

from app.core.timeutil import from_ts, to_ts
from app.stores.collections import DENSE, facts_spec, timenodes_spec
from app.stores.engines import Condition, Engine, Match, PointRecord, Range, Where, point_uuid
from graph.facts import Fact
from graph.hierarchy import leaf_label
from graph.timeparse import parse_period


def fact_text(fact: Fact) -> str:
    """What a fact's vector encodes: the statement as a short sentence."""
    return f"{fact.subject} {fact.relation} {fact.object}"


def fact_time_nodes(fact: Fact) -> list[str]:
    """The leaf time node of a fact and its ancestors, for filtering facts by period."""
    leaf = parse_period(leaf_label(fact))
    return [leaf.label, *(a.label for a in leaf.ancestors())]


class QdrantFactStore:
    def __init__(self, engine: Engine, prefix: str, dim: int) -> None:
        self._engine = engine
        self._spec = facts_spec(prefix, dim)
        engine.ensure(self._spec)

    @property
    def collection(self) -> str:
        return self._spec.name

    def get(self, ids: Sequence[str]) -> dict[str, Fact]:
        return {
            r.id: Fact.from_payload(r.payload) for r in self._engine.retrieve(self.collection, ids)
        }

    def put(self, facts: Sequence[Fact], vectors: np.ndarray) -> None:
        points = []
        for fact, vec in zip(facts, vectors, strict=True):
            payload = fact.to_payload()
            payload["time_nodes"] = fact_time_nodes(fact)
            points.append(PointRecord(fact.id, payload, {DENSE: vec.tolist()}))
        self._engine.upsert(self.collection, points)

    def delete(self, ids: Sequence[str]) -> None:
        self._engine.delete(self.collection, ids)

    def of_document(self, tenant: str, doc_id: str) -> list[Fact]:
        where = Where((Match("tenant", tenant), Match("doc_ids", doc_id)))
        return [Fact.from_payload(r.payload) for r in self._engine.scroll(self.collection, where)]

    def of_entities(
        self, tenant: str, keys: Iterable[str], known_by: datetime | None = None, limit: int = 2000
    ) -> list[Fact]:
        """Facts whose subject or object is one of ``keys`` (as known by ``known_by``)."""
        keys = tuple(dict.fromkeys(keys))
        if not keys:
            return []
        must: list[Condition] = [Match("tenant", tenant)]
        if known_by is not None:
            must.append(Range("known_from_ts", lte=to_ts(known_by)))
        out: dict[str, Fact] = {}
        for field in ("subject_key", "object_key"):
            where = Where((*must, Match(field, any=keys)))
            for r in self._engine.scroll(self.collection, where, limit=limit):
                out[r.id] = Fact.from_payload(r.payload)
        return list(out.values())

    def of_period(self, tenant: str, label: str, limit: int = 5000) -> list[Fact]:
        where = Where((Match("tenant", tenant), Match("time_nodes", label)))
        return [
            Fact.from_payload(r.payload)
            for r in self._engine.scroll(self.collection, where, limit=limit)
        ]

    def of_relation_groups(
        self, tenant: str, pairs: Iterable[tuple[str, str, str]], limit: int = 2000
    ) -> list[Fact]:
        """Facts sharing (relation, side key): the rivals that can close a fact."""
        out: dict[str, Fact] = {}
        for relation, field, key in set(pairs):
            where = Where((Match("tenant", tenant), Match("relation", relation), Match(field, key)))
            for r in self._engine.scroll(self.collection, where, limit=limit):
                out[r.id] = Fact.from_payload(r.payload)
        return list(out.values())

    def search(
        self, tenant: str, vector: np.ndarray, known_by: datetime | None, limit: int
    ) -> list[tuple[Fact, float]]:
        must: list[Condition] = [Match("tenant", tenant)]
        if known_by is not None:
            must.append(Range("known_from_ts", lte=to_ts(known_by)))
        hits = self._engine.search(
            self.collection, DENSE, vector.tolist(), Where(tuple(must)), limit
        )
        return [(Fact.from_payload(h.payload), h.score) for h in hits]

    def entity_spellings(
        self, tenant: str, max_facts: int = 200_000
    ) -> tuple[dict[str, dict[str, int]], dict[str, int]]:
        """Every entity key the tenant's facts mention: its spellings (with how often each is
        used) and its number of facts, for entity search.

        Reads four short payload fields per fact, a page at a time; ``max_facts`` bounds the
        scan (the first that many in store order) so one call stays well under a second per
        hundred thousand facts.
        """
        spellings: dict[str, dict[str, int]] = {}
        counts: dict[str, int] = {}
        fields = ("subject", "subject_key", "object", "object_key")
        where = Where((Match("tenant", tenant),))
        cursor: str | None = None
        seen = 0
        while seen < max_facts:
            page, cursor = self._engine.scroll_page(
                self.collection, where, min(1000, max_facts - seen), cursor, fields
            )
            seen += len(page)
            for rec in page:
                p = rec.payload
                for side in ("subject", "object"):
                    key, name = p.get(f"{side}_key"), p.get(side)
                    if not key or not name:
                        continue
                    names = spellings.setdefault(str(key), {})
                    names[str(name)] = names.get(str(name), 0) + 1
                    counts[str(key)] = counts.get(str(key), 0) + 1
            if cursor is None:
                break
        return spellings, counts

    def count(self, tenant: str | None = None) -> int:
        where = Where((Match("tenant", tenant),)) if tenant else None
        return self._engine.count(self.collection, where)


@dataclass
class TimeNode:
    tenant: str
    label: str
    granularity: str
    summary: str
    dirty: bool
    updated_at: datetime
    fact_count: int = 0

    def to_payload(self) -> dict[str, Any]:
        return {
            "tenant": self.tenant,
            "label": self.label,
            "granularity": self.granularity,
            "summary": self.summary,
            "dirty": self.dirty,
            "updated_ts": to_ts(self.updated_at),
            "fact_count": self.fact_count,
        }

    @classmethod
    def from_payload(cls, p: dict[str, Any]) -> TimeNode:
        return cls(
            tenant=p["tenant"],
            label=p["label"],
            granularity=p["granularity"],
            summary=p.get("summary", ""),
            dirty=bool(p.get("dirty", False)),
            updated_at=from_ts(float(p["updated_ts"])),
            fact_count=int(p.get("fact_count", 0)),
        )


class QdrantTimeNodeStore:
    def __init__(self, engine: Engine, prefix: str, dim: int) -> None:
        self._engine = engine
        self._dim = dim
        self._spec = timenodes_spec(prefix, dim)
        engine.ensure(self._spec)

    @property
    def collection(self) -> str:
        return self._spec.name

    @staticmethod
    def point_id(tenant: str, label: str) -> str:
        return point_uuid("timenode", tenant, label)

    def get(self, tenant: str, label: str) -> TimeNode | None:
        recs = self._engine.retrieve(self.collection, [self.point_id(tenant, label)])
        return TimeNode.from_payload(recs[0].payload) if recs else None

    def get_many(self, tenant: str, labels: Iterable[str]) -> dict[str, TimeNode]:
        ids = [self.point_id(tenant, label) for label in labels]
        return {
            n.label: n
            for n in (
                TimeNode.from_payload(r.payload)
                for r in self._engine.retrieve(self.collection, ids)
            )
        }

    def put(self, node: TimeNode, vector: np.ndarray | None) -> None:
        vec = vector.tolist() if vector is not None else [0.0] * (self._dim - 1) + [1.0]
        point = PointRecord(self.point_id(node.tenant, node.label), node.to_payload(), {DENSE: vec})
        self._engine.upsert(self.collection, [point])

    def mark_dirty(self, tenant: str, labels: Iterable[str], now: datetime) -> None:
        """Create missing nodes and flag every given node for re-summarising."""
        labels = list(dict.fromkeys(labels))
        existing = self.get_many(tenant, labels)
        for label in labels:
            node = existing.get(label)
            if node is None:
                node = TimeNode(tenant, label, parse_period(label).granularity, "", True, now)
                self.put(node, None)
            elif not node.dirty:
                self._engine.set_payload(
                    self.collection, [self.point_id(tenant, label)], {"dirty": True}
                )

    def dirty(self, tenant: str | None = None) -> list[TimeNode]:
        must: list[Condition] = [Match("dirty", True)]
        if tenant:
            must.append(Match("tenant", tenant))
        return [
            TimeNode.from_payload(r.payload)
            for r in self._engine.scroll(self.collection, Where(tuple(must)))
        ]

    def labels(self, tenant: str, prefix_of: str) -> list[str]:
        """Existing labels under a period (children lookup uses the time_nodes filter instead)."""
        return [n.label for n in self.all(tenant) if n.label.startswith(prefix_of)]

    def all(self, tenant: str) -> list[TimeNode]:
        where = Where((Match("tenant", tenant),))
        return [
            TimeNode.from_payload(r.payload) for r in self._engine.scroll(self.collection, where)
        ]

    def delete(self, tenant: str, label: str) -> None:
        self._engine.delete(self.collection, [self.point_id(tenant, label)])


@dataclass
class GraphStores:
    """The temporal graph's two collections: facts and time nodes."""

    facts: QdrantFactStore
    nodes: QdrantTimeNodeStore
