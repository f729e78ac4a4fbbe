"""The merge child: builds a sealed generation folder from a dump, with HNSW, and exits.

Run as ``python -m app.stores.merge DUMP TARGET PARENT_PID`` by `app.stores.tiered`. The dump
holds the specs and every live point (written by the serving process); this process is the only
one that ever opens ``TARGET`` until it writes ``TARGET/COMPLETE`` and exits, after which the
parent opens it. ``optimize()`` holds this process's GIL for minutes, not serve's.

The child dies with its parent (``PR_SET_PDEATHSIG``): after a ``kill -9`` of ``serve``, the
next start removes the unfinished folder, and no orphan may still be writing into it.
"""

from __future__ import annotations

import contextlib
import os
import pickle
import signal
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from app.stores.engines import CollectionSpec, EdgeEngine, PointRecord, SparseVec, VectorValue

#: Written last, into the generation folder, once the shard is optimized, flushed and closed.
COMPLETE = "COMPLETE"
#: The dump's last record; a dump without it was cut short and must not become a generation.
END = "end"
#: Points per record of the dump (and per upsert in the child).
DUMP_BATCH = 512


# --------------------------------------------------------------------------- dump format
# A pickle stream the serving process writes for its own child: ("specs", [CollectionSpec]),
# then ("points", collection, [(id, payload, vectors)]) records with dense vectors as float32
# arrays, then (END,). Pickle is safe here: one process hands its own data to its own child.


def pack_vectors(vectors: dict[str, VectorValue]) -> dict[str, Any]:
    """Dense vectors as float32 arrays (a third of the pickled size of float lists)."""
    out: dict[str, Any] = {}
    for name, value in vectors.items():
        if isinstance(value, SparseVec):
            out[name] = (
                np.asarray(value.indices, dtype=np.uint32),
                np.asarray(value.values, dtype=np.float32),
            )
        else:
            out[name] = np.asarray(value, dtype=np.float32)
    return out


def unpack_vectors(packed: dict[str, Any]) -> dict[str, VectorValue]:
    out: dict[str, VectorValue] = {}
    for name, value in packed.items():
        if isinstance(value, tuple):
            out[name] = SparseVec([int(i) for i in value[0]], [float(v) for v in value[1]])
        else:
            out[name] = [float(v) for v in value]
    return out


def read_dump(path: Path) -> Iterator[tuple[str, list[PointRecord]] | list[CollectionSpec]]:
    """The specs first, then (collection, points) batches; raises if the END record is missing."""
    with path.open("rb") as f:
        while True:
            try:
                record = pickle.load(f)
            except EOFError:
                raise RuntimeError(f"merge dump {path} ends before its end record") from None
            if record[0] == END:
                return
            if record[0] == "specs":
                yield list(record[1])
            else:
                _, collection, rows = record
                yield collection, [PointRecord(i, p, unpack_vectors(v)) for i, p, v in rows]


def build(dump: Path, target: Path) -> dict[str, int]:
    """Build ``target`` (an `EdgeEngine` root) from ``dump``, optimize it, mark it complete.

    Returns the points written per collection. ``target`` must not exist: a generation folder
    is built once, by one process.
    """
    if target.exists():
        raise RuntimeError(f"generation folder {target} exists already; refusing to reuse it")
    engine = EdgeEngine(target)
    counts: dict[str, int] = {}
    try:
        for item in read_dump(dump):
            if isinstance(item, list):
                for spec in item:
                    engine.ensure(spec)
                    counts[spec.name] = 0
                continue
            collection, points = item
            for start in range(0, len(points), 256):
                engine.upsert(collection, points[start : start + 256])
            counts[collection] = counts.get(collection, 0) + len(points)
        engine.optimize()
    finally:
        engine.close()
    marker = target / COMPLETE
    with marker.open("w") as f:
        f.write(" ".join(f"{k}={v}" for k, v in sorted(counts.items())) + "\n")
        f.flush()
        os.fsync(f.fileno())
    return counts


def create_empty(target: Path, specs: list[CollectionSpec]) -> None:
    """Create ``target`` as an empty `EdgeEngine` root with every collection and its indexes.

    Creating a shard holds the GIL for about a second (most of it in payload-index creation),
    so serve has its next fresh tier made here and then only loads it (tens of ms).
    """
    if target.exists():
        raise RuntimeError(f"tier folder {target} exists already; refusing to reuse it")
    engine = EdgeEngine(target)
    try:
        for spec in specs:
            engine.ensure(spec)
    finally:
        engine.close()


def _specs_from_json(text: str) -> list[CollectionSpec]:
    import json

    return [
        CollectionSpec(r["name"], dict(r["dense"]), tuple(r["sparse"]), dict(r["indexes"]))
        for r in json.loads(text)
    ]


def _die_with_parent(parent_pid: int) -> None:
    """Ask Linux to SIGKILL this process when its parent dies; exit if it already has."""
    if sys.platform.startswith("linux"):
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        pr_set_pdeathsig = 1
        libc.prctl(pr_set_pdeathsig, signal.SIGKILL, 0, 0, 0)
    if os.getppid() != parent_pid:
        raise SystemExit(3)


def main(argv: list[str]) -> int:
    """``DUMP TARGET PARENT_PID``: build a generation; ``--empty TARGET PARENT_PID SPECS``:
    create an empty fresh tier (``SPECS`` as ``specs.json`` holds them)."""
    if argv[0] == "--empty":
        _die_with_parent(int(argv[2]))
        create_empty(Path(argv[1]), _specs_from_json(argv[3]))
        return 0
    dump, target, parent = Path(argv[0]), Path(argv[1]), int(argv[2])
    _die_with_parent(parent)
    with contextlib.suppress(OSError):
        os.nice(10)  # serve's queries first when both want a core
    counts = build(dump, target)
    print(" ".join(f"{k}={v}" for k, v in sorted(counts.items())), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
