"""Qdrant behind one small interface, with two engines.

``EdgeEngine`` runs the Qdrant engine in-process (qdrant-edge-py, one shard folder per
collection); ``ClientEngine`` talks to a Qdrant server through qdrant-client (or its local mode,
which tests use only to exercise the qdrant-client code path). Everything above this module
speaks the neutral types below, so no caller knows which engine it has.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, Protocol

from app.core.jsonvalue import check_json_value

IndexKind = Literal["keyword", "float", "integer", "bool", "text"]


@dataclass(frozen=True)
class SparseVec:
    indices: list[int]
    values: list[float]


VectorValue = list[float] | SparseVec


@dataclass
class PointRecord:
    id: str
    payload: dict[str, Any]
    vectors: dict[str, VectorValue] = field(default_factory=dict)


@dataclass(frozen=True)
class Hit:
    id: str
    score: float
    payload: dict[str, Any]


@dataclass(frozen=True)
class Match:
    key: str
    value: str | int | bool | None = None
    any: tuple[str, ...] | None = None


@dataclass(frozen=True)
class Range:
    key: str
    gte: float | None = None
    gt: float | None = None
    lte: float | None = None
    lt: float | None = None


@dataclass(frozen=True)
class IsNull:
    key: str


Condition = Match | Range | IsNull


@dataclass(frozen=True)
class Where:
    """A conjunction of conditions (``must``) minus a disjunction (``must_not``)."""

    must: tuple[Condition, ...] = ()
    must_not: tuple[Condition, ...] = ()
    should: tuple[Condition, ...] = ()


@dataclass(frozen=True)
class Search:
    """One nearest-neighbour request; a batch of them runs in one engine call."""

    using: str
    vector: VectorValue
    where: Where | None
    limit: int
    exact: bool = False


@dataclass(frozen=True)
class CollectionSpec:
    name: str
    dense: dict[str, int]
    sparse: tuple[str, ...] = ()
    indexes: dict[str, IndexKind] = field(default_factory=dict)


class Engine(Protocol):
    """The operations chronorag needs from Qdrant; every method is safe from many threads."""

    def ensure(self, spec: CollectionSpec) -> None: ...

    def upsert(self, collection: str, points: Sequence[PointRecord]) -> None: ...

    def set_payload(self, collection: str, ids: Sequence[str], payload: dict[str, Any]) -> None: ...

    def delete(self, collection: str, ids: Sequence[str]) -> None: ...

    def delete_where(self, collection: str, where: Where) -> None: ...

    def retrieve(
        self, collection: str, ids: Sequence[str], fields: Sequence[str] | None = None
    ) -> list[PointRecord]:
        """Points by id; ``fields`` limits the payload to those keys (None: all of it)."""
        ...

    def scroll(
        self, collection: str, where: Where | None, limit: int | None = None
    ) -> list[PointRecord]: ...

    def scroll_page(
        self,
        collection: str,
        where: Where | None,
        limit: int,
        offset: str | None = None,
        fields: Sequence[str] | None = None,
    ) -> tuple[list[PointRecord], str | None]:
        """One page of matching points in point-id order, and the id the next page starts at
        (None: this was the last). Stable under concurrent writes: a page never repeats a point
        of an earlier one, since the order is the ids'. ``fields`` limits the payload."""
        ...

    def count(self, collection: str, where: Where | None = None) -> int: ...

    def search(
        self,
        collection: str,
        using: str,
        vector: VectorValue,
        where: Where | None,
        limit: int,
        *,
        exact: bool = False,
    ) -> list[Hit]: ...

    def search_batch(self, collection: str, requests: Sequence[Search]) -> list[list[Hit]]:
        """Several searches in one engine call, results in order.

        Cheaper than one call each: the embedded engine scores every request in one pass over
        the vectors (exact scan), and a server answers them in one round trip.
        """
        ...

    def flush(self) -> None: ...

    def close(self) -> None: ...


log = logging.getLogger(__name__)

#: Deepest payload the stores write. qdrant-edge's WAL reader gives up on about 120 nested
#: levels (``RecursionLimitExceeded``), after which the folder would not open again; intake
#: keeps metadata far below this, so reaching it means a bug, refused before it is written.
MAX_PAYLOAD_DEPTH = 64


def check_payload(payload: dict[str, Any]) -> None:
    """Refuse a payload the store could write but not read back (see ``MAX_PAYLOAD_DEPTH``)."""
    check_json_value(payload, "payload", max_depth=MAX_PAYLOAD_DEPTH, error=ValueError)


def point_uuid(*parts: object) -> str:
    """Deterministic point id: a retried write lands on the same point."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, "chronorag:" + "/".join(str(p) for p in parts)))


# --------------------------------------------------------------------------- edge engine


class UnreadableLog(RuntimeError):
    """A shard's write-ahead log holds an entry qdrant-edge cannot deserialize."""


class EdgeEngine:
    """Embedded Qdrant (qdrant-edge-py): one shard folder per collection under ``root``.

    A shard folder can be opened by one process only (its WAL is locked), so this engine belongs
    to the process that serves the API and runs the embedded worker.
    """

    def __init__(self, root: Path, hnsw_ef: int | None = None) -> None:
        import qdrant_edge as qe

        self._qe = qe
        self._hnsw_ef = hnsw_ef
        self._root = Path(root)
        self._root.mkdir(parents=True, exist_ok=True)
        self._shards: dict[str, Any] = {}
        self._specs: dict[str, CollectionSpec] = {}
        self._lock = threading.Lock()
        #: Folders moved aside at start because their log could not be replayed.
        self.quarantined: list[str] = []

    def ensure(self, spec: CollectionSpec) -> None:
        qe = self._qe
        with self._lock:
            if spec.name in self._shards:
                return
            path = self._root / spec.name
            config = qe.EdgeConfig(
                vectors={
                    name: qe.EdgeVectorParams(size=size, distance=qe.Distance.Cosine)
                    for name, size in spec.dense.items()
                },
                sparse_vectors={
                    name: qe.EdgeSparseVectorParams(modifier=qe.Modifier.Idf)
                    for name in spec.sparse
                }
                or None,
            )
            if self._is_shard(path):
                try:
                    shard = self._load(path, config)
                except UnreadableLog:
                    self._quarantine(path)
                    shard = qe.EdgeShard.create(str(path), config)
            else:
                shard = qe.EdgeShard.create(str(path), config)
            kinds = {
                "keyword": qe.PayloadSchemaType.Keyword,
                "float": qe.PayloadSchemaType.Float,
                "integer": qe.PayloadSchemaType.Integer,
                "bool": qe.PayloadSchemaType.Bool,
                "text": qe.PayloadSchemaType.Text,
            }
            existing = set(shard.info().payload_schema)
            for key, kind in spec.indexes.items():
                if key not in existing:
                    shard.update(qe.UpdateOperation.create_field_index(key, kinds[kind]))
            self._shards[spec.name] = shard
            self._specs[spec.name] = spec

    def _shard(self, collection: str) -> Any:
        try:
            return self._shards[collection]
        except KeyError:
            raise RuntimeError(f"collection {collection!r} was not ensured") from None

    def _vec(self, value: VectorValue) -> Any:
        if isinstance(value, SparseVec):
            return self._qe.SparseVector(indices=value.indices, values=value.values)
        return value

    def _cond(self, cond: Condition) -> Any:
        qe = self._qe
        if isinstance(cond, Match):
            if cond.any is not None:
                return qe.FieldCondition(key=cond.key, match=qe.MatchAny(list(cond.any)))
            return qe.FieldCondition(key=cond.key, match=qe.MatchValue(cond.value))
        if isinstance(cond, Range):
            rng = qe.RangeFloat(gte=cond.gte, gt=cond.gt, lte=cond.lte, lt=cond.lt)
            return qe.FieldCondition(key=cond.key, range=rng)
        return qe.IsNullCondition(cond.key)

    def _filter(self, where: Where | None) -> Any:
        if where is None or not (where.must or where.must_not or where.should):
            return None
        return self._qe.Filter(
            must=[self._cond(c) for c in where.must] or None,
            must_not=[self._cond(c) for c in where.must_not] or None,
            should=[self._cond(c) for c in where.should] or None,
        )

    def upsert(self, collection: str, points: Sequence[PointRecord]) -> None:
        if not points:
            return
        qe = self._qe
        for p in points:
            check_payload(p.payload)
        batch = [
            qe.Point(p.id, {k: self._vec(v) for k, v in p.vectors.items()}, p.payload)
            for p in points
        ]
        self._shard(collection).update(qe.UpdateOperation.upsert_points(batch))

    def set_payload(self, collection: str, ids: Sequence[str], payload: dict[str, Any]) -> None:
        if ids:
            check_payload(payload)
            op = self._qe.UpdateOperation.set_payload(list(ids), payload)
            self._shard(collection).update(op)

    def delete(self, collection: str, ids: Sequence[str]) -> None:
        if ids:
            self._shard(collection).update(self._qe.UpdateOperation.delete_points(list(ids)))

    def delete_where(self, collection: str, where: Where) -> None:
        op = self._qe.UpdateOperation.delete_points_by_filter(self._filter(where))
        self._shard(collection).update(op)

    def _record(self, rec: Any) -> PointRecord:
        return PointRecord(id=str(rec.id), payload=dict(rec.payload or {}))

    def retrieve(
        self, collection: str, ids: Sequence[str], fields: Sequence[str] | None = None
    ) -> list[PointRecord]:
        if not ids:
            return []
        payload: Any = list(fields) if fields is not None else True
        recs = self._shard(collection).retrieve(list(ids), with_payload=payload, with_vector=False)
        return [self._record(r) for r in recs]

    def scroll(
        self, collection: str, where: Where | None, limit: int | None = None
    ) -> list[PointRecord]:
        out: list[PointRecord] = []
        offset: Any = None
        flt = self._filter(where)
        while True:
            page = 1000 if limit is None else min(1000, limit - len(out))
            req = self._qe.ScrollRequest(offset=offset, limit=page, filter=flt, with_payload=True)
            recs, offset = self._shard(collection).scroll(req)
            out.extend(self._record(r) for r in recs)
            if offset is None or (limit is not None and len(out) >= limit):
                return out

    def scroll_page(
        self,
        collection: str,
        where: Where | None,
        limit: int,
        offset: str | None = None,
        fields: Sequence[str] | None = None,
    ) -> tuple[list[PointRecord], str | None]:
        payload: Any = list(fields) if fields is not None else True
        req = self._qe.ScrollRequest(
            offset=offset, limit=limit, filter=self._filter(where), with_payload=payload
        )
        recs, next_offset = self._shard(collection).scroll(req)
        return [self._record(r) for r in recs], (
            str(next_offset) if next_offset is not None else None
        )

    def count(self, collection: str, where: Where | None = None) -> int:
        req = self._qe.CountRequest(filter=self._filter(where), exact=True)
        return int(self._shard(collection).count(req))

    def search(
        self,
        collection: str,
        using: str,
        vector: VectorValue,
        where: Where | None,
        limit: int,
        *,
        exact: bool = False,
    ) -> list[Hit]:
        return self.search_batch(collection, [Search(using, vector, where, limit, exact)])[0]

    def search_batch(self, collection: str, requests: Sequence[Search]) -> list[list[Hit]]:
        if not requests:
            return []
        qe = self._qe
        batch = qe.QueryBatchRequest(
            [
                qe.QueryRequest(
                    limit=r.limit,
                    query=qe.Query.Nearest(self._vec(r.vector), using=r.using),
                    filter=self._filter(r.where),
                    with_payload=True,
                    params=self._params(r),
                )
                for r in requests
            ]
        )
        results = self._shard(collection).query_batch(batch)
        return [
            [Hit(str(h.id), float(h.score), dict(h.payload or {})) for h in hits]
            for hits in results
        ]

    def _params(self, request: Search) -> Any:
        if not request.exact and self._hnsw_ef is None:
            return None
        return self._qe.SearchParams(exact=request.exact, hnsw_ef=self._hnsw_ef)

    def flush(self) -> None:
        for shard in list(self._shards.values()):
            shard.flush()

    def load_all(self) -> list[str]:
        """Open every collection folder under the root as it is on disk (for maintenance:
        no spec needed); returns their names."""
        with self._lock:
            for path in sorted(self._root.iterdir()):
                if path.name not in self._shards and self._is_shard(path):
                    self._shards[path.name] = self._load(path, None)
            return sorted(self._shards)

    @staticmethod
    def _is_shard(path: Path) -> bool:
        return (path / "edge_config.json").exists() or any(path.glob("segments*"))

    def _load(self, path: Path, config: Any) -> Any:
        """Open an existing shard folder (``config`` None: as persisted)."""
        try:
            return self._qe.EdgeShard.load(str(path), config)
        except Exception as exc:
            if "failed to read wal" in str(exc).lower():
                # Not a second process: a record in the write-ahead log cannot be read back.
                raise UnreadableLog(f"{path}: {exc}") from exc
            raise RuntimeError(
                f"Cannot open the embedded Qdrant folder {path} ({exc}). An embedded folder "
                "belongs to one process: stop the `chronorag serve` using this --data-dir, or "
                "point CHRONORAG_QDRANT_URL at a Qdrant server. If the embedding model changed "
                "dimension, use a new data dir."
            ) from exc

    def _quarantine(self, path: Path) -> None:
        """Move a folder whose log cannot be replayed aside, intact, and start it anew.

        One unreadable record must not keep every tenant's service down; the folder is kept
        under ``quarantine/`` for inspection or recovery, and listed in ``quarantined``.
        Example: a shard whose WAL holds a payload nested 130 levels deep.
        """
        target = self._root / "quarantine" / f"{path.name}-{time.strftime('%Y%m%dT%H%M%S')}"
        target.parent.mkdir(parents=True, exist_ok=True)
        path.rename(target)
        self.quarantined.append(str(target))
        log.error(
            "embedded Qdrant folder %s has a write-ahead log that cannot be replayed; moved to "
            "%s (kept intact) and started empty. Re-ingest its documents, and report the error.",
            path,
            target,
        )

    def optimize(self) -> dict[str, float]:
        """Run qdrant-edge's optimizers (HNSW for every segment over the indexing threshold).

        Blocks and keeps the GIL for minutes at 100k chunks (157-179 s measured on 2 cores), so
        ``chronorag optimize`` runs it while no ``serve`` has the folder open; points written
        afterwards land in a small plain segment that is scanned exactly.
        """
        took: dict[str, float] = {}
        for name, shard in list(self._shards.items()):
            started = time.perf_counter()
            shard.optimize()
            shard.flush()
            took[name] = round(time.perf_counter() - started, 2)
        return took

    def close(self) -> None:
        with self._lock:
            for shard in self._shards.values():
                shard.flush()
                shard.close()
            self._shards.clear()

    # ------------------------------------------------------------ hooks for the tiered engine
    # (app.stores.tiered): whole points with their vectors, to move them between tiers.

    def collections(self) -> list[str]:
        """Names of the collections this engine has open."""
        with self._lock:
            return sorted(self._shards)

    def existing(self, collection: str, ids: Sequence[str]) -> list[str]:
        """Which of ``ids`` this shard holds (no payload, no vectors read)."""
        if not ids:
            return []
        recs = self._shard(collection).retrieve(list(ids), with_payload=False, with_vector=False)
        return [str(r.id) for r in recs]

    def retrieve_points(self, collection: str, ids: Sequence[str]) -> list[PointRecord]:
        """Points by id with payload and every vector (what a copy elsewhere needs)."""
        if not ids:
            return []
        recs = self._shard(collection).retrieve(list(ids), with_payload=True, with_vector=True)
        return [self._full_record(r) for r in recs]

    def scroll_points(
        self, collection: str, offset: str | None, limit: int
    ) -> tuple[list[PointRecord], str | None]:
        """One page of every point in id order with payload and vectors, and the next offset."""
        req = self._qe.ScrollRequest(
            offset=offset, limit=limit, with_payload=True, with_vector=True
        )
        recs, next_offset = self._shard(collection).scroll(req)
        page = [self._full_record(r) for r in recs]
        return page, (str(next_offset) if next_offset is not None else None)

    def _full_record(self, rec: Any) -> PointRecord:
        vectors: dict[str, VectorValue] = {}
        for name, value in dict(rec.vector or {}).items():
            if isinstance(value, self._qe.SparseVector):
                vectors[name] = SparseVec(list(value.indices), [float(v) for v in value.values])
            else:
                vectors[name] = list(value)
        return PointRecord(id=str(rec.id), payload=dict(rec.payload or {}), vectors=vectors)

    def persisted_spec(self, collection: str) -> CollectionSpec:
        """The spec of an open collection as its folder records it (vectors from
        ``edge_config.json``, indexes from the shard): for folders opened by ``load_all``."""
        import json

        if collection in self._specs:
            return self._specs[collection]
        config = json.loads((self._root / collection / "edge_config.json").read_text())
        kinds: dict[str, IndexKind] = {
            "Keyword": "keyword",
            "Float": "float",
            "Integer": "integer",
            "Bool": "bool",
            "Text": "text",
        }
        indexes: dict[str, IndexKind] = {}
        for key, info in self._shard(collection).info().payload_schema.items():
            kind = str(info.data_type).rsplit(".", 1)[-1]
            if kind in kinds:
                indexes[key] = kinds[kind]
        return CollectionSpec(
            collection,
            {name: int(v["size"]) for name, v in (config.get("vectors") or {}).items()},
            tuple(sorted(config.get("sparse_vectors") or {})),
            indexes,
        )


# --------------------------------------------------------------------------- server engine


class ClientEngine:
    """Qdrant through qdrant-client: a server (``url``) or, for tests only, ``:memory:``."""

    def __init__(self, url: str, api_key: str | None = None, hnsw_ef: int | None = None) -> None:
        from qdrant_client import QdrantClient, models

        self._m = models
        self._hnsw_ef = hnsw_ef
        if url == ":memory:":
            self._client = QdrantClient(location=":memory:")
        else:
            self._client = QdrantClient(url=url, api_key=api_key, timeout=30)

    def ensure(self, spec: CollectionSpec) -> None:
        m = self._m
        if not self._client.collection_exists(spec.name):
            self._client.create_collection(
                spec.name,
                vectors_config={
                    n: m.VectorParams(size=s, distance=m.Distance.COSINE)
                    for n, s in spec.dense.items()
                },
                sparse_vectors_config={
                    n: m.SparseVectorParams(modifier=m.Modifier.IDF) for n in spec.sparse
                }
                or None,
            )
        else:
            info = self._client.get_collection(spec.name)
            params = info.config.params.vectors
            for n, size in spec.dense.items():
                have = params.get(n) if isinstance(params, dict) else None
                if have is not None and have.size != size:
                    raise RuntimeError(
                        f"Qdrant collection {spec.name!r} has {n!r} vectors of {have.size} "
                        f"dimensions but the embedding model gives {size}. Use another "
                        "CHRONORAG_COLLECTION_PREFIX or drop the collection."
                    )
        kinds = {
            "keyword": m.PayloadSchemaType.KEYWORD,
            "float": m.PayloadSchemaType.FLOAT,
            "integer": m.PayloadSchemaType.INTEGER,
            "bool": m.PayloadSchemaType.BOOL,
            "text": m.PayloadSchemaType.TEXT,
        }
        for key, kind in spec.indexes.items():
            self._client.create_payload_index(spec.name, key, kinds[kind], wait=True)

    def _vec(self, value: VectorValue) -> Any:
        if isinstance(value, SparseVec):
            return self._m.SparseVector(indices=value.indices, values=value.values)
        return value

    def _cond(self, cond: Condition) -> Any:
        m = self._m
        if isinstance(cond, Match):
            if cond.any is not None:
                return m.FieldCondition(key=cond.key, match=m.MatchAny(any=list(cond.any)))
            return m.FieldCondition(key=cond.key, match=m.MatchValue(value=cond.value))
        if isinstance(cond, Range):
            rng = m.Range(gte=cond.gte, gt=cond.gt, lte=cond.lte, lt=cond.lt)
            return m.FieldCondition(key=cond.key, range=rng)
        return m.IsNullCondition(is_null=m.PayloadField(key=cond.key))

    def _filter(self, where: Where | None) -> Any:
        if where is None or not (where.must or where.must_not or where.should):
            return None
        return self._m.Filter(
            must=[self._cond(c) for c in where.must] or None,
            must_not=[self._cond(c) for c in where.must_not] or None,
            should=[self._cond(c) for c in where.should] or None,
        )

    def upsert(self, collection: str, points: Sequence[PointRecord]) -> None:
        if points:
            structs = [
                self._m.PointStruct(
                    id=p.id,
                    vector={k: self._vec(v) for k, v in p.vectors.items()},
                    payload=p.payload,
                )
                for p in points
            ]
            self._client.upsert(collection, structs, wait=True)

    def set_payload(self, collection: str, ids: Sequence[str], payload: dict[str, Any]) -> None:
        if ids:
            self._client.set_payload(collection, payload, points=list(ids), wait=True)

    def delete(self, collection: str, ids: Sequence[str]) -> None:
        if ids:
            selector = self._m.PointIdsList(points=list(ids))
            self._client.delete(collection, points_selector=selector, wait=True)

    def delete_where(self, collection: str, where: Where) -> None:
        selector = self._m.FilterSelector(filter=self._filter(where))
        self._client.delete(collection, points_selector=selector, wait=True)

    def retrieve(
        self, collection: str, ids: Sequence[str], fields: Sequence[str] | None = None
    ) -> list[PointRecord]:
        if not ids:
            return []
        payload: Any = list(fields) if fields is not None else True
        recs = self._client.retrieve(collection, list(ids), with_payload=payload)
        return [PointRecord(id=str(r.id), payload=dict(r.payload or {})) for r in recs]

    def scroll(
        self, collection: str, where: Where | None, limit: int | None = None
    ) -> list[PointRecord]:
        out: list[PointRecord] = []
        offset: Any = None
        while True:
            page = 1000 if limit is None else min(1000, limit - len(out))
            recs, offset = self._client.scroll(
                collection, scroll_filter=self._filter(where), limit=page, offset=offset
            )
            out.extend(PointRecord(id=str(r.id), payload=dict(r.payload or {})) for r in recs)
            if offset is None or (limit is not None and len(out) >= limit):
                return out

    def scroll_page(
        self,
        collection: str,
        where: Where | None,
        limit: int,
        offset: str | None = None,
        fields: Sequence[str] | None = None,
    ) -> tuple[list[PointRecord], str | None]:
        payload: Any = list(fields) if fields is not None else True
        recs, next_offset = self._client.scroll(
            collection,
            scroll_filter=self._filter(where),
            limit=limit,
            offset=offset,
            with_payload=payload,
        )
        page = [PointRecord(id=str(r.id), payload=dict(r.payload or {})) for r in recs]
        return page, (str(next_offset) if next_offset is not None else None)

    def count(self, collection: str, where: Where | None = None) -> int:
        return int(self._client.count(collection, count_filter=self._filter(where)).count)

    def search(
        self,
        collection: str,
        using: str,
        vector: VectorValue,
        where: Where | None,
        limit: int,
        *,
        exact: bool = False,
    ) -> list[Hit]:
        return self.search_batch(collection, [Search(using, vector, where, limit, exact)])[0]

    def search_batch(self, collection: str, requests: Sequence[Search]) -> list[list[Hit]]:
        if not requests:
            return []
        m = self._m
        responses = self._client.query_batch_points(
            collection,
            [
                m.QueryRequest(
                    query=self._vec(r.vector),
                    using=r.using,
                    filter=self._filter(r.where),
                    limit=r.limit,
                    with_payload=True,
                    params=self._params(r),
                )
                for r in requests
            ],
        )
        return [
            [Hit(str(p.id), float(p.score), dict(p.payload or {})) for p in res.points]
            for res in responses
        ]

    def flush(self) -> None:
        """Server writes are acknowledged after the WAL (``wait=True``): nothing to do."""

    def _params(self, request: Search) -> Any:
        if not request.exact and self._hnsw_ef is None:
            return None
        return self._m.SearchParams(exact=request.exact, hnsw_ef=self._hnsw_ef)

    def close(self) -> None:
        self._client.close()


def ids_of(records: Iterable[PointRecord]) -> list[str]:
    return [r.id for r in records]
