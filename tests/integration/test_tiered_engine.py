"""The tiered embedded engine (`app.stores.tiered`): reads across tiers, writes during a merge,
a failed merge child, the background merger, folder ownership and adopting a plain folder."""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pytest

from app.stores.chunks import ChunkWrite, QdrantChunkStore
from app.stores.engines import (
    CollectionSpec,
    EdgeEngine,
    Match,
    PointRecord,
    SparseVec,
    Where,
    point_uuid,
)
from app.stores.tiered import MergeFailed, TieredEngine, id_key

pytestmark = pytest.mark.integration
SPEC = CollectionSpec("tiers", {"dense": 4}, ("bm25",), {"doc": "keyword", "n": "integer"})
C = "tiers"


def _vec(n: int) -> list[float]:
    rng = random.Random(n)
    v = [rng.gauss(0, 1) for _ in range(4)]
    norm = sum(x * x for x in v) ** 0.5
    return [x / norm for x in v]


def _point(n: int, doc: str | None = None, **extra: object) -> PointRecord:
    payload = {"doc": doc or f"d{n % 7}", "n": n, **extra}
    return PointRecord(point_uuid("t", n), payload, {"dense": _vec(n), "bm25": SparseVec([n], [1])})


@pytest.fixture()
def make(tmp_path: Path) -> Iterator[Callable[..., TieredEngine]]:
    opened: list[TieredEngine] = []

    def make_(**kwargs: object) -> TieredEngine:
        kwargs.setdefault("auto_merge", False)
        engine = TieredEngine(tmp_path / "qdrant", **kwargs)  # type: ignore[arg-type]
        engine.ensure(SPEC)
        opened.append(engine)
        return engine

    yield make_
    for engine in opened:
        engine.close()


def _ids(engine: TieredEngine) -> list[str]:
    return [r.id for r in engine.scroll(C, None)]


def test_pages_cross_tiers_in_id_order_without_repeats(make: Callable[..., TieredEngine]) -> None:
    engine = make()
    engine.upsert(C, [_point(n) for n in range(0, 600, 2)])
    assert engine.merge() is not None
    engine.upsert(C, [_point(n) for n in range(1, 600, 2)])
    assert [t["points"][C] for t in engine.tiers()] == [300, 300]
    seen: list[str] = []
    offset: str | None = None
    while True:
        page, offset = engine.scroll_page(C, None, 37, offset)
        assert len(page) <= 37
        seen.extend(r.id for r in page)
        if offset is None:
            break
    assert len(seen) == len(set(seen)) == 600
    assert seen == sorted(seen, key=id_key)
    assert engine.count(C) == 600
    assert engine.count(C, Where((Match("doc", "d3"),))) == len(
        [n for n in range(600) if n % 7 == 3]
    )


def test_an_upsert_hides_the_sealed_copy(make: Callable[..., TieredEngine]) -> None:
    engine = make()
    engine.upsert(C, [_point(n) for n in range(20)])
    engine.merge()
    engine.upsert(C, [_point(5, doc="new")])
    assert engine.count(C) == 20
    hits = engine.search(C, "dense", _vec(5), None, 3)
    assert [h.payload["doc"] for h in hits if h.id == point_uuid("t", 5)] == ["new"]
    assert len({h.id for h in hits}) == len(hits)
    (rec,) = engine.retrieve(C, [point_uuid("t", 5)])
    assert rec.payload["doc"] == "new"


def test_set_payload_on_a_sealed_point_copies_it_to_fresh(
    make: Callable[..., TieredEngine],
) -> None:
    engine = make()
    engine.upsert(C, [_point(n) for n in range(10)])
    engine.merge()
    engine.set_payload(C, [point_uuid("t", 3), point_uuid("t", 4)], {"status": "x"})
    assert [t["points"][C] for t in engine.tiers()] == [2, 8]
    assert engine.count(C) == 10
    recs = engine.retrieve(C, [point_uuid("t", 3)])
    assert recs[0].payload == {"doc": "d3", "n": 3, "status": "x"}
    hits = engine.search(C, "dense", _vec(3), None, 1)
    assert hits[0].payload["status"] == "x"
    with pytest.raises(Exception, match="No point"):
        engine.set_payload(C, [point_uuid("missing")], {"status": "y"})


def test_versions_are_replaced_across_tiers(make: Callable[..., TieredEngine]) -> None:
    engine = make()
    chunks = QdrantChunkStore(engine, "tv", 4)
    writes = [
        ChunkWrite(i, f"text {i}", np.asarray(_vec(i), dtype=np.float32), SparseVec([i], [1.0]))
        for i in range(3)
    ]
    chunks.upsert("default", "doc", 1, 1000.0, writes)
    engine.merge()
    chunks.upsert("default", "doc", 2, 2000.0, writes[:2])
    chunks.delete_versions("default", "doc", keep=2)
    assert chunks.count("default", "doc") == 2
    assert chunks.count("default", "doc", version=1) == 0
    hits = chunks.search_dense(
        np.asarray(_vec(0)),
        chunks.where("default", published_before_ts=None, published_after_ts=None),
        5,
    )
    assert {h.payload["version"] for h in hits} == {2}


@pytest.mark.parametrize("step", ["cut", "dumped", "building", "built", "replayed"])
def test_writes_during_a_merge_are_kept_and_deletes_stay_deleted(
    make: Callable[..., TieredEngine], step: str
) -> None:
    checks: list[str] = []
    armed: list[bool] = []

    def during(name: str) -> None:
        if name != step or not armed:
            return
        engine.upsert(C, [_point(1000, doc="late")])  # inserted during the merge
        engine.delete(C, [point_uuid("t", 1), point_uuid("t", 25)])  # sealed, fresh
        engine.delete_where(C, Where((Match("doc", "d2"),)))
        engine.set_payload(C, [point_uuid("t", 4)], {"status": "during"})
        engine.upsert(C, [_point(6, doc="rewritten")])
        hits = engine.search(C, "dense", _vec(1000), None, 1)
        assert hits[0].id == point_uuid("t", 1000)  # searchable during the merge
        assert engine.retrieve(C, [point_uuid("t", 1)]) == []
        checks.append(name)

    engine = make(step_hook=during)
    engine.upsert(C, [_point(n) for n in range(20)])
    engine.merge()  # the first generation, hook not armed yet
    armed.append(True)
    engine.upsert(C, [_point(n) for n in range(20, 40)])
    before = set(_ids(engine))
    report = engine.merge()
    assert report is not None and checks == [step]
    expected = (before | {point_uuid("t", 1000)}) - {point_uuid("t", 1), point_uuid("t", 25)}
    expected -= {point_uuid("t", n) for n in range(40) if n % 7 == 2}
    for label in ("after the merge", "after a reopen"):
        ids = _ids(engine)
        assert len(ids) == len(set(ids)) == engine.count(C), label
        assert set(ids) == expected, label
        assert engine.search(C, "dense", _vec(1000), None, 1)[0].id == point_uuid("t", 1000)
        deleted = engine.search(C, "dense", _vec(1), None, 40)
        assert point_uuid("t", 1) not in {h.id for h in deleted}
        (four,) = engine.retrieve(C, [point_uuid("t", 4)])
        assert four.payload["status"] == "during"
        (six,) = engine.retrieve(C, [point_uuid("t", 6)])
        assert six.payload["doc"] == "rewritten"
        engine.close()
        engine = make()
    assert engine.merge() is not None  # what the merge left merges again, same set
    assert set(_ids(engine)) == expected


def test_a_failed_merge_child_loses_nothing(make: Callable[..., TieredEngine]) -> None:
    def kill_child(name: str) -> None:
        if name == "building" and engine._child is not None:
            engine._child.kill()

    engine = make(step_hook=kill_child)
    engine.upsert(C, [_point(n) for n in range(30)])
    with pytest.raises(MergeFailed):
        engine.merge()
    assert engine.count(C) == 30
    assert [t["kind"] for t in engine.tiers()] == ["fresh", "fresh"]
    folders = sorted(p.name for p in (engine._root).iterdir() if p.name.startswith("sealed"))
    assert folders == []  # the unfinished generation is removed
    active = engine.tiers()[0]["folder"]
    engine.upsert(C, [_point(100)])  # written after the failed merge's cut
    engine._step_hook = None
    assert engine.merge() is not None  # the frozen tier is merged, without another cut
    assert [(t["folder"] == active, t["kind"]) for t in engine.tiers()] == [
        (True, "fresh"),
        (False, "sealed"),
    ]
    assert engine.count(C) == 31
    engine.delete(C, [point_uuid("t", 100)])
    assert engine.count(C) == 30


def test_the_background_merger_seals_the_fresh_tier_past_its_limit(
    make: Callable[..., TieredEngine],
) -> None:
    engine = make(auto_merge=True, fresh_limit=50, poll_s=0.05)
    engine.upsert(C, [_point(n) for n in range(60)])
    deadline = time.monotonic() + 120  # a bound on the wait, not a timing assertion
    while engine.last_merge is None and time.monotonic() < deadline:
        time.sleep(0.1)
    assert engine.last_merge is not None
    assert engine.tiers()[-1] == {"folder": engine.last_merge.generation, "kind": "sealed",
                                  "points": {C: 60}}  # fmt: skip
    assert engine.count(C) == 60


def test_a_second_opener_is_refused(make: Callable[..., TieredEngine], tmp_path: Path) -> None:
    make()
    with pytest.raises(RuntimeError, match="stop the `chronorag serve`"):
        TieredEngine(tmp_path / "qdrant", auto_merge=False)


def test_a_plain_folder_is_adopted_as_the_first_generation(tmp_path: Path) -> None:
    plain = EdgeEngine(tmp_path / "qdrant")
    plain.ensure(SPEC)
    plain.upsert(C, [_point(n) for n in range(12)])
    plain.close()
    engine = TieredEngine(tmp_path / "qdrant", auto_merge=False)
    try:
        engine.load_all()
        assert [(t["folder"], t["points"][C]) for t in engine.tiers()][-1] == ("sealed-0", 12)
        assert engine.optimize()["total"] >= 0
        assert engine.count(C) == 12
        assert engine.search(C, "dense", _vec(7), None, 1)[0].payload["n"] == 7
        assert not (tmp_path / "qdrant" / C).exists()
    finally:
        engine.close()


def test_optimize_folds_a_tiered_folder_and_reports_the_tiers(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from workers.cli import main

    engine = TieredEngine(tmp_path / "qdrant", auto_merge=False)
    engine.ensure(SPEC)
    engine.upsert(C, [_point(n) for n in range(5)])
    engine.close()
    assert main(["optimize", "--data-dir", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "tiers before:" in out and "(fresh): tiers 5" in out
    assert "tiers after:" in out and "(sealed): tiers 5" in out
    again = TieredEngine(tmp_path / "qdrant", auto_merge=False)
    try:
        assert [(t["kind"], t["points"]) for t in again.tiers()] == [
            ("fresh", {C: 0}),
            ("sealed", {C: 5}),
        ]
        assert main(["optimize", "--data-dir", str(tmp_path)]) == 2  # a serve holds it
        assert "stop the `chronorag serve`" in capsys.readouterr().err
    finally:
        again.close()


def test_readers_never_miss_a_point_while_writes_and_a_merge_go_on(
    make: Callable[..., TieredEngine],
) -> None:
    engine = make()
    stable = [point_uuid("t", n) for n in range(200)]
    engine.upsert(C, [_point(n) for n in range(200)])
    engine.merge()
    engine.upsert(C, [_point(n) for n in range(0, 200, 3)])  # a third rewritten into fresh
    stop = threading.Event()
    problems: list[str] = []

    def write() -> None:
        n = 1000
        while not stop.is_set():
            engine.upsert(C, [_point(m) for m in range(n, n + 10)])
            engine.delete(C, [point_uuid("t", m) for m in range(n, n + 5)])
            engine.upsert(C, [_point(m % 200) for m in range(n, n + 3)])  # rewrite stable ones
            n += 10

    def read() -> None:
        while not stop.is_set():
            try:
                got = {r.id for r in engine.retrieve(C, stable)}
                if len(got) != 200:
                    problems.append(f"retrieve saw {len(got)} of 200")
                hit = engine.search(C, "dense", _vec(7), None, 1)
                if not hit or hit[0].id != point_uuid("t", 7):
                    problems.append("search lost point 7")
            except Exception as exc:  # a closed tier read mid-switch would land here
                problems.append(repr(exc))

    threads = [threading.Thread(target=write), threading.Thread(target=read)]
    for t in threads:
        t.start()
    try:
        assert engine.merge() is not None
        assert engine.merge() is not None
    finally:
        stop.set()
        for t in threads:
            t.join()
    assert problems == []
    ids = _ids(engine)
    assert len(ids) == len(set(ids)) == engine.count(C)
    assert set(stable) <= set(ids)


def test_a_collection_nobody_ensured_this_run_survives_a_merge(tmp_path: Path) -> None:
    root = tmp_path / "qdrant"
    first = TieredEngine(root, auto_merge=False)
    first.ensure(SPEC)
    first.upsert(C, [_point(n) for n in range(8)])
    first.merge()
    first.upsert(C, [_point(n) for n in range(8, 10)])
    first.close()
    (root / "specs.json").unlink()  # as after a crash in adopting a plain folder
    second = TieredEngine(root, auto_merge=False)  # no ensure: known from the folders only
    assert second.merge(force=True) is not None
    second.close()
    third = TieredEngine(root, auto_merge=False)
    try:
        third.ensure(SPEC)
        assert third.count(C) == 10
    finally:
        third.close()
