"""The embedded store refuses payloads it could not read back, and a folder whose write-ahead
log cannot be replayed (written before that refusal existed) is quarantined at start instead of
stopping the service for every tenant."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from app.stores.engines import CollectionSpec, EdgeEngine, PointRecord, point_uuid

SPEC = CollectionSpec(name="memos", dense={"d": 4})
VECTOR = {"d": [0.1, 0.2, 0.3, 0.4]}


def _nested(depth: int) -> list[object]:
    root: list[object] = []
    cur = root
    for _ in range(depth - 1):
        nxt: list[object] = []
        cur.append(nxt)
        cur = nxt
    return root


def test_a_payload_too_deep_to_read_back_is_refused(tmp_path: Path) -> None:
    engine = EdgeEngine(tmp_path)
    engine.ensure(SPEC)
    with pytest.raises(ValueError, match="nested deeper"):
        engine.upsert("memos", [PointRecord(point_uuid("a"), {"x": _nested(130)}, VECTOR)])
    engine.upsert("memos", [PointRecord(point_uuid("b"), {"x": _nested(20)}, VECTOR)])
    engine.close()


def test_an_unreadable_log_is_quarantined_and_the_store_opens(tmp_path: Path) -> None:
    # Write the bad entry with qdrant-edge itself (the engine would refuse it), then die
    # without flushing, as kill -9 would: the entry is only in the write-ahead log.
    script = textwrap.dedent(
        f"""
        import os, sys
        sys.path.insert(0, {str(Path(__file__).resolve().parents[2])!r})
        from pathlib import Path
        import qdrant_edge as qe
        from app.stores.engines import CollectionSpec, EdgeEngine, point_uuid
        engine = EdgeEngine(Path({str(tmp_path)!r}))
        engine.ensure(CollectionSpec(name="memos", dense={{"d": 4}}))
        nested = []
        cur = nested
        for _ in range(130):
            cur.append([])
            cur = cur[0]
        point = qe.Point(point_uuid("bad"), {{"d": [0.1, 0.2, 0.3, 0.4]}}, {{"x": nested}})
        engine._shard("memos").update(qe.UpdateOperation.upsert_points([point]))
        os._exit(0)
        """
    )
    subprocess.run([sys.executable, "-c", script], check=True, timeout=120)
    engine = EdgeEngine(tmp_path)
    engine.ensure(SPEC)  # would raise "failed to read WAL entry" without the quarantine
    try:
        assert len(engine.quarantined) == 1
        moved = Path(engine.quarantined[0])
        assert moved.parent == tmp_path / "quarantine" and moved.name.startswith("memos-")
        assert (moved / "wal").exists() or any(moved.iterdir())  # kept intact
        engine.upsert("memos", [PointRecord(point_uuid("ok"), {"x": 1}, VECTOR)])
        assert engine.count("memos") == 1
    finally:
        engine.close()
