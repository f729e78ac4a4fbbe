"""One contract suite over every Qdrant engine available here (as qdrant-client's congruence
tests run the same calls locally and remotely)."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path

import pytest

from app.stores.engines import (
    ClientEngine,
    CollectionSpec,
    EdgeEngine,
    Engine,
    Match,
    PointRecord,
    Range,
    Search,
    SparseVec,
    Where,
    point_uuid,
)
from app.stores.tiered import TieredEngine

pytestmark = pytest.mark.integration
SPEC = CollectionSpec(
    "contract", {"dense": 3}, ("bm25",), {"doc": "keyword", "ts": "float", "version": "integer"}
)


class SealingTieredEngine(TieredEngine):
    """The tiered engine with a merge after every upsert, so each call of a test meets points
    in the sealed generation as well as in the fresh tier (a merge per write is a test's
    pace, not a deployment's)."""

    def upsert(self, collection: str, points: Sequence[PointRecord]) -> None:
        super().upsert(collection, points)
        self.merge()


def _engine(kind: str, root: Path) -> Engine:
    if kind == "edge":
        return EdgeEngine(root)
    if kind == "tiered":
        return TieredEngine(root, auto_merge=False)
    if kind == "tiered-sealed":
        return SealingTieredEngine(root, auto_merge=False)
    return ClientEngine(":memory:")


@pytest.fixture(params=["edge", "tiered", "tiered-sealed", "client-local"])
def engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    eng = _engine(request.param, tmp_path)
    eng.ensure(SPEC)
    yield eng
    eng.close()


def _points() -> list[PointRecord]:
    return [
        PointRecord(
            point_uuid("a", 1),
            {"doc": "a", "ts": 1.0, "version": 1},
            {"dense": [1.0, 0.0, 0.0], "bm25": SparseVec([1, 5], [1.0, 2.0])},
        ),
        PointRecord(
            point_uuid("a", 2),
            {"doc": "a", "ts": 3.0, "version": 2},
            {"dense": [0.9, 0.1, 0.0], "bm25": SparseVec([1], [1.0])},
        ),
        PointRecord(
            point_uuid("b", 1),
            {"doc": "b", "ts": 5.0, "version": 1},
            {"dense": [0.0, 1.0, 0.0], "bm25": SparseVec([5], [1.0])},
        ),
    ]


def test_upsert_is_idempotent_by_id(engine: Engine) -> None:
    engine.upsert("contract", _points())
    engine.upsert("contract", _points())
    assert engine.count("contract") == 3


def test_dense_search_with_range_filter(engine: Engine) -> None:
    engine.upsert("contract", _points())
    hits = engine.search("contract", "dense", [1.0, 0.0, 0.0], Where((Range("ts", lte=3.0),)), 5)
    assert [h.payload["ts"] for h in hits] == [1.0, 3.0]
    assert hits[0].score == pytest.approx(1.0, abs=1e-4)


def test_sparse_search_ranks_by_bm25(engine: Engine) -> None:
    engine.upsert("contract", _points())
    hits = engine.search("contract", "bm25", SparseVec([5], [1.0]), None, 5)
    assert {h.payload["doc"] for h in hits} == {"a", "b"}


def test_search_batch_equals_one_search_each(engine: Engine) -> None:
    engine.upsert("contract", _points())
    requests = [
        Search("dense", [1.0, 0.0, 0.0], Where((Range("ts", lte=3.0),)), 5),
        Search("bm25", SparseVec([5], [1.0]), None, 5),
        Search("dense", [0.0, 1.0, 0.0], Where((Match("doc", "b"),)), 1, exact=True),
    ]
    batched = engine.search_batch("contract", requests)
    single = [
        engine.search("contract", r.using, r.vector, r.where, r.limit, exact=r.exact)
        for r in requests
    ]
    assert [[h.id for h in hits] for hits in batched] == [[h.id for h in hits] for hits in single]
    assert [len(hits) for hits in batched] == [2, 2, 1]
    assert engine.search_batch("contract", []) == []


def test_delete_where_with_must_not(engine: Engine) -> None:
    engine.upsert("contract", _points())
    engine.delete_where("contract", Where((Match("doc", "a"),), (Match("version", 2),)))
    left = sorted((r.payload["doc"], r.payload["version"]) for r in engine.scroll("contract", None))
    assert left == [("a", 2), ("b", 1)]


def test_retrieve_set_payload_and_count(engine: Engine) -> None:
    engine.upsert("contract", _points())
    pid = point_uuid("b", 1)
    engine.set_payload("contract", [pid], {"status": "x"})
    (rec,) = engine.retrieve("contract", [pid])
    assert rec.payload["status"] == "x" and rec.payload["doc"] == "b"
    assert engine.retrieve("contract", [point_uuid("missing")]) == []
    assert engine.count("contract", Where((Match("doc", any=("a",)),))) == 2
    engine.delete("contract", [pid])
    assert engine.count("contract") == 2


def test_scroll_pages_through_everything(engine: Engine) -> None:
    points = [
        PointRecord(
            point_uuid("p", i),
            {"doc": "p", "ts": float(i), "version": 1},
            {"dense": [1.0, float(i), 0.0], "bm25": SparseVec([i + 1], [1.0])},
        )
        for i in range(2500)
    ]
    engine.upsert("contract", points)
    assert len(engine.scroll("contract", Where((Match("doc", "p"),)))) == 2500
    assert len(engine.scroll("contract", None, limit=10)) == 10


def test_edge_folder_reopens_with_data(tmp_path: Path) -> None:
    first = EdgeEngine(tmp_path)
    first.ensure(SPEC)
    first.upsert("contract", _points())
    first.close()
    again = EdgeEngine(tmp_path)
    again.ensure(SPEC)
    assert again.count("contract") == 3
    again.close()


def test_tiered_folder_reopens_with_data(tmp_path: Path) -> None:
    first = SealingTieredEngine(tmp_path, auto_merge=False)
    first.ensure(SPEC)
    first.upsert("contract", _points()[:2])  # merged into the sealed generation
    TieredEngine.upsert(first, "contract", _points()[2:])  # left in the fresh tier
    first.close()
    again = TieredEngine(tmp_path, auto_merge=False)
    again.ensure(SPEC)
    assert again.count("contract") == 3
    assert [t["kind"] for t in again.tiers()] == ["fresh", "sealed"]
    again.close()
