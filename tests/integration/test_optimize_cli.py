"""``chronorag optimize``: builds indexes in an embedded data dir, refuses one a serve holds."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.stores.engines import CollectionSpec, EdgeEngine, PointRecord, point_uuid
from workers.cli import main

pytestmark = pytest.mark.integration
SPEC = CollectionSpec("opt_chunks", {"dense": 3}, (), {"doc": "keyword"})


def _fill(root: Path) -> EdgeEngine:
    engine = EdgeEngine(root)
    engine.ensure(SPEC)
    engine.upsert(
        "opt_chunks",
        [
            PointRecord(point_uuid("o", n), {"doc": f"d{n}"}, {"dense": [1.0, n, 0.0]})
            for n in range(5)
        ],
    )
    return engine


def test_optimize_opens_every_collection_and_keeps_the_data(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _fill(tmp_path / "qdrant").close()
    assert main(["optimize", "--data-dir", str(tmp_path)]) == 0
    assert "opt_chunks" in capsys.readouterr().out
    reopened = EdgeEngine(tmp_path / "qdrant")
    reopened.ensure(SPEC)
    assert reopened.count("opt_chunks") == 5
    hits = reopened.search("opt_chunks", "dense", [1.0, 4.0, 0.0], None, 1)
    assert hits[0].payload["doc"] == "d4"
    reopened.close()


def test_optimize_refuses_a_folder_in_use(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    holder = _fill(tmp_path / "qdrant")  # what a running serve looks like to the folder
    try:
        assert main(["optimize", "--data-dir", str(tmp_path)]) == 2
        assert "stop the `chronorag serve`" in capsys.readouterr().err
    finally:
        holder.close()


def test_optimize_without_data_is_an_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["optimize", "--data-dir", str(tmp_path / "nothing")]) == 2
    assert "no embedded Qdrant data" in capsys.readouterr().err
