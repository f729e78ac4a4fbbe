"""kill -9 of the process that owns a tiered index at each step of a merge (and of the merge
child): the next start opens the folder with every acknowledged write, none twice."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from app.stores.engines import CollectionSpec, PointRecord, point_uuid
from app.stores.tiered import TieredEngine

pytestmark = pytest.mark.faults
ROOT = Path(__file__).resolve().parents[2]
SPEC = CollectionSpec("kill", {"dense": 3}, (), {"doc": "keyword"})
STEPS = ["cut", "dumped", "building", "built", "replayed", "switched", "cleaned"]

#: The owner: a first generation, fresh writes, then a merge during which (at STEP) it writes
#: more, prints what it acknowledged, and kills itself. Its writes are deterministic, so the
#: test knows the live set without trusting the process that died.
OWNER = """
import os, signal, sys
from pathlib import Path
from app.stores.engines import CollectionSpec, PointRecord, point_uuid
from app.stores.tiered import TieredEngine

root, step, pidfile = Path(sys.argv[1]), sys.argv[2], Path(sys.argv[3])
spec = CollectionSpec("kill", {"dense": 3}, (), {"doc": "keyword"})

def point(n, doc=None):
    return PointRecord(point_uuid("k", n), {"doc": doc or f"d{n}"}, {"dense": [1.0, n, 0.5]})

armed = []

def hook(name):
    if name != step or not armed:
        return
    engine.upsert("kill", [point(n) for n in range(300, 310)])
    engine.delete("kill", [point_uuid("k", n) for n in [*range(20, 30), *range(200, 205)]])
    engine.set_payload("kill", [point_uuid("k", n) for n in range(30, 35)], {"tag": "during"})
    engine.upsert("kill", [point(n, doc="v2") for n in range(40, 45)])
    if engine._child is not None:
        pidfile.write_text(str(engine._child.pid))
    print("WROTE", flush=True)
    os.kill(os.getpid(), signal.SIGKILL)

engine = TieredEngine(root, auto_merge=False, step_hook=hook)
engine.ensure(spec)
engine.upsert("kill", [point(n) for n in range(200)])
engine.merge()
engine.upsert("kill", [point(n) for n in range(200, 300)])
engine.delete("kill", [point_uuid("k", n) for n in range(10)])
engine.set_payload("kill", [point_uuid("k", n) for n in range(10, 20)], {"tag": "before"})
armed.append(True)
engine.merge()
print("MERGED", flush=True)
"""


def _expected() -> dict[str, dict[str, str]]:
    """What OWNER acknowledged before it died: its writes before and during the merge."""
    live = {n: {"doc": f"d{n}"} for n in range(300)}
    for n in range(10):
        del live[n]
    for n in range(10, 20):
        live[n]["tag"] = "before"
    live.update({n: {"doc": f"d{n}"} for n in range(300, 310)})
    for n in [*range(20, 30), *range(200, 205)]:
        del live[n]
    for n in range(30, 35):
        live[n]["tag"] = "during"
    for n in range(40, 45):
        live[n] = {"doc": "v2"}
    return {point_uuid("k", n): payload for n, payload in live.items()}


def _gone(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0]
    except (FileNotFoundError, ProcessLookupError):
        return True
    return state in ("Z", "X")


def _live_set(engine: TieredEngine) -> dict[str, dict[str, str]]:
    recs = engine.scroll("kill", None)
    ids = [r.id for r in recs]
    assert len(ids) == len(set(ids)) == engine.count("kill"), "a point is duplicated"
    return {r.id: r.payload for r in recs}


@pytest.mark.parametrize("step", STEPS)
def test_kill_9_at_each_merge_step_loses_and_duplicates_nothing(tmp_path: Path, step: str) -> None:
    root, pidfile = tmp_path / "qdrant", tmp_path / "child.pid"
    owner = subprocess.run(
        [sys.executable, "-c", OWNER, str(root), step, str(pidfile)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert owner.returncode == -9, owner.stdout + owner.stderr
    assert "WROTE" in owner.stdout
    if pidfile.exists():  # killed while its merge child ran: the child must die with it
        child = int(pidfile.read_text())
        deadline = time.monotonic() + 30  # a bound on the wait, not a timing assertion
        while not _gone(child) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert _gone(child), "the merge child outlived its parent"
    engine = TieredEngine(root, auto_merge=False)
    try:
        engine.ensure(SPEC)
        assert _live_set(engine) == _expected()
        leftovers = sorted(p.name for p in root.iterdir())
        live = {t["folder"] for t in engine.tiers()}
        assert [p for p in leftovers if p.startswith(("sealed", "fresh", "merge"))] == sorted(live)
        hits = engine.search("kill", "dense", [1.0, 25.0, 0.5], None, 3)
        assert point_uuid("k", 25) not in {h.id for h in hits}  # deleted during the merge
        engine.merge()  # what the crash left merges, and still holds the same set
        assert _live_set(engine) == _expected()
        engine.upsert(
            "kill", [PointRecord(point_uuid("k", 999), {"doc": "after"}, {"dense": [1, 0, 0]})]
        )
        assert engine.count("kill") == len(_expected()) + 1
    finally:
        engine.close()
    assert os.path.exists(root / "tiers.json")
