"""A FreshDiskANN-style embedded index: a sealed HNSW generation plus small fresh tiers.

qdrant-edge builds HNSW only in a blocking ``optimize()`` that holds the GIL for minutes, so a
plain `EdgeEngine` inside ``serve`` stays on exact scan. ``TieredEngine`` keeps the same
`Engine` interface over several `EdgeEngine` roots under one folder::

    root/tiers.json     the manifest: which folders are live (written temp-then-os.replace)
    root/tiers.lock     flock held by the one process that owns the folder
    root/specs.json     the collection specs ensured so far (so a merge can rebuild them)
    root/sealed-N/      the sealed generation: HNSW-optimized, takes only deletes
    root/fresh-M/ ...   fresh tiers, searched exactly; the newest takes every write

Invariants (the contract tests and tests/faults/test_tier_merge.py hold them):

* A live point id is in exactly one tier. An upsert writes the active fresh tier first and then
  deletes the id from the older tiers; reads ask the oldest tier first, so they may, for an
  instant, meet both copies (they keep the newest) but never neither. ``count`` may count a
  point that moves at that instant twice.
* Only the active fresh tier ever changes a payload. ``set_payload`` on a point of an older tier
  copies it into the active tier first (copy-on-write), so older tiers only ever lose points.
  That is what lets a merge read them without stopping writes: their state at the cut, minus
  the deletes journaled since, is exactly what the new generation must hold.
* A merge (``merge``): *cut* (a new active fresh tier; the manifest names it with the old
  ones), *dump* the older tiers to a file, a *child process* builds ``sealed-<N+1>`` from the
  dump and optimizes it (its GIL, not serve's), the parent opens it and *replays* the deletes
  journaled since the cut, then *switches* (writers wait for the journal's tail and the
  manifest, which names the new generation and the active tier only; readers wait only for
  the swap of the tier tuple) and removes the old folders. Frozen fresh tiers left by a failed
  or crashed merge are merged by the next one without a new cut. A crash at any step
  leaves a manifest naming folders that together hold every live point once; folders it does
  not name are incomplete or superseded and are removed at the next start.
* One process opens a folder: the parent never opens a generation until the child that built
  it has exited, and the child dies with the parent (see `app.stores.merge`).
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import logging
import os
import pickle
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import IO, Any

from app.stores.engines import (
    CollectionSpec,
    EdgeEngine,
    Hit,
    PointRecord,
    Search,
    VectorValue,
    Where,
)
from app.stores.merge import COMPLETE, DUMP_BATCH, END, pack_vectors

log = logging.getLogger(__name__)

MANIFEST = "tiers.json"
LOCK = "tiers.lock"
SPECS = "specs.json"
_FOLDER_RE = re.compile(r"(sealed|fresh|merge)-(\d+)(\.dump)?")
_MERGE_STEPS = ("cut", "dumped", "building", "built", "replayed", "switched", "cleaned")


class MergeFailed(RuntimeError):
    """The merge child did not produce a complete generation; the tiers stay as they were."""


@dataclass(frozen=True)
class Manifest:
    """The live folders: the sealed generation (None before the first) and the fresh tiers,
    oldest first; the last fresh tier is the one that takes writes."""

    sealed: str | None
    fresh: tuple[str, ...]

    def to_json(self) -> str:
        return json.dumps({"sealed": self.sealed, "fresh": list(self.fresh)})

    @classmethod
    def from_json(cls, text: str) -> Manifest:
        data = json.loads(text)
        return cls(data.get("sealed"), tuple(data["fresh"]))


@dataclass
class _Tier:
    name: str
    engine: EdgeEngine
    sealed: bool = False


@dataclass
class MergeReport:
    """What one merge did, for logs, ``chronorag optimize`` and the benchmarks."""

    generation: str
    points: dict[str, int]
    seconds: dict[str, float] = field(default_factory=dict)


class _SharedExclusiveLock:
    """Many holders of the shared side, or one of the exclusive side; a waiting exclusive
    holder stops new shared ones (a merge's switch must not starve under steady queries)."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._shared = 0
        self._exclusive = False
        self._waiting = 0

    @contextlib.contextmanager
    def shared(self) -> Iterator[None]:
        with self._cond:
            while self._exclusive or self._waiting:
                self._cond.wait()
            self._shared += 1
        try:
            yield
        finally:
            with self._cond:
                self._shared -= 1
                if not self._shared:
                    self._cond.notify_all()

    @contextlib.contextmanager
    def exclusive(self) -> Iterator[None]:
        with self._cond:
            self._waiting += 1
            while self._exclusive or self._shared:
                self._cond.wait()
            self._waiting -= 1
            self._exclusive = True
        try:
            yield
        finally:
            with self._cond:
                self._exclusive = False
                self._cond.notify_all()


def id_key(point_id: str) -> tuple[int, int]:
    """Qdrant's point order: integer ids before UUIDs, UUIDs as 128-bit numbers."""
    try:
        return (0, int(point_id))
    except ValueError:
        return (1, uuid.UUID(point_id).int)


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _write_atomic(path: Path, text: str) -> None:
    """Write-temp, fsync, os.replace, fsync the folder: a reader sees the old or the new file."""
    tmp = path.with_name(path.name + ".tmp")
    with tmp.open("w") as f:
        f.write(text)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)
    _fsync_dir(path.parent)


class TieredEngine:
    """`Engine` over a sealed HNSW generation and fresh tiers, merged by a child process.

    Args:
        root: the folder (``data_dir/qdrant``). A folder in the plain `EdgeEngine` layout
            (collection folders directly under it) is adopted as the first sealed generation.
        hnsw_ef: candidates an HNSW search explores (as for `EdgeEngine`).
        fresh_limit: points in the active fresh tier (of its largest collection) that start a
            background merge; 0 never merges on size.
        merge_interval_s: seconds after which a non-empty fresh tier is merged anyway; 0: never.
        auto_merge: run the background merger thread (tests and tools call ``merge()``).
        step_hook: called with each merge step's name as it completes (tests: faults and
            writes "during" a merge).
    """

    def __init__(
        self,
        root: Path,
        hnsw_ef: int | None = None,
        *,
        fresh_limit: int = 20_000,
        merge_interval_s: float = 3_600.0,
        auto_merge: bool = True,
        step_hook: Callable[[str], None] | None = None,
        poll_s: float = 1.0,
    ) -> None:
        self._root = Path(root)
        self._root.mkdir(parents=True, exist_ok=True)
        self._hnsw_ef = hnsw_ef
        self._fresh_limit = fresh_limit
        self._merge_interval_s = merge_interval_s
        self._step_hook = step_hook
        self._poll_s = poll_s
        self._lock_file = self._take_lock()
        self._rw = _SharedExclusiveLock()
        self._writes = threading.Lock()  # one writer at a time: copy-on-write must not race
        self._merging = threading.Lock()  # one merge at a time
        self._specs: dict[str, CollectionSpec] = {}
        self._journal: list[tuple[str, str, Any]] | None = None
        self._child: subprocess.Popen[bytes] | None = None
        self._closed = threading.Event()
        self._last_merge = time.monotonic()
        self.last_merge: MergeReport | None = None
        try:
            self._manifest = self._recover()
            self._load_specs()
            self._tiers = self._open(self._manifest)
            for spec in self._specs.values():  # every tier has every collection open
                for tier in self._tiers:
                    tier.engine.ensure(spec)
            self._register_on_disk()
        except BaseException:
            self._release_lock()
            raise
        self._counter = self._highest_number() + 1
        self._merger: threading.Thread | None = None
        if auto_merge and (fresh_limit > 0 or merge_interval_s > 0):
            self._merger = threading.Thread(target=self._merge_loop, name="tier-merger")
            self._merger.daemon = True
            self._merger.start()

    @property
    def quarantined(self) -> list[str]:
        """Folders any tier moved aside at start (see `EdgeEngine._quarantine`)."""
        return [q for tier in self._tiers for q in tier.engine.quarantined]

    # ------------------------------------------------------------------ folder ownership

    def _take_lock(self) -> IO[str]:
        f = (self._root / LOCK).open("a")
        try:
            fcntl.flock(f.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            f.close()
            raise RuntimeError(
                f"Cannot open the embedded Qdrant folder {self._root}: another process holds "
                "it. An embedded folder belongs to one process: stop the `chronorag serve` "
                "using this --data-dir, or point CHRONORAG_QDRANT_URL at a Qdrant server."
            ) from None
        return f

    def _release_lock(self) -> None:
        with contextlib.suppress(OSError):
            fcntl.flock(self._lock_file.fileno(), fcntl.LOCK_UN)
        self._lock_file.close()

    def _recover(self) -> Manifest:
        """The manifest, after adopting a plain layout and removing unnamed folders."""
        path = self._root / MANIFEST
        if path.exists():
            manifest = Manifest.from_json(path.read_text())
        else:
            manifest = self._adopt_plain_layout()
        live = {manifest.sealed, *manifest.fresh}
        for entry in sorted(self._root.iterdir()):
            m = _FOLDER_RE.fullmatch(entry.name)
            if m is None or entry.name in live:
                continue
            # An unfinished generation, a fresh tier made for a cut that never happened, a
            # merged-away tier, or a dump: none of them holds a point the live ones lack.
            log.warning("tiered index: removing %s (not in the manifest)", entry)
            if entry.is_dir():
                self._remove_tier_folder(entry)
            else:
                entry.unlink()
        (self._root / (MANIFEST + ".tmp")).unlink(missing_ok=True)
        if manifest.sealed is not None and not (self._root / manifest.sealed).is_dir():
            raise RuntimeError(
                f"{self._root / MANIFEST} names the sealed generation {manifest.sealed}, which "
                "is missing; restore the folder from a backup or use a new data dir"
            )
        for name in manifest.fresh:
            (self._root / name).mkdir(exist_ok=True)  # named at a cut before it was created
        return manifest

    def _adopt_plain_layout(self) -> Manifest:
        """Move collection folders of the plain `EdgeEngine` layout into ``sealed-0``.

        Each is opened first, which fails while another process holds it, so a running
        ``serve`` of the plain layout is never moved under its feet. A crash half-way leaves
        no manifest, and the next start moves the rest.
        """
        sealed = self._root / "sealed-0"
        plain = [
            p
            for p in sorted(self._root.iterdir())
            if p.is_dir() and _FOLDER_RE.fullmatch(p.name) is None and p.name != "quarantine"
            if (p / "edge_config.json").exists() or any(p.glob("segments*"))
        ]
        if plain:
            probe = EdgeEngine(self._root)
            try:
                probe.load_all()
                for name in probe.collections():
                    with contextlib.suppress(Exception):
                        self._specs[name] = probe.persisted_spec(name)
            finally:
                probe.close()
            sealed.mkdir(exist_ok=True)
            for p in plain:
                p.rename(sealed / p.name)
            _fsync_dir(self._root)
            if self._specs:
                self._save_specs()
        manifest = Manifest(
            "sealed-0" if sealed.exists() else None, (f"fresh-{self._highest_number() + 1}",)
        )
        _write_atomic(self._root / MANIFEST, manifest.to_json())
        return manifest

    def _remove_tier_folder(self, path: Path) -> None:
        """Remove a merged-away or unfinished tier, keeping what `EdgeEngine` quarantined in it
        (moved to ``root/quarantine/<tier>-<name>``: kept for inspection, as the plain engine
        keeps it)."""
        quarantine = path / "quarantine"
        if quarantine.is_dir():
            keep = self._root / "quarantine"
            keep.mkdir(exist_ok=True)
            for entry in quarantine.iterdir():
                entry.rename(keep / f"{path.name}-{entry.name}")
        shutil.rmtree(path, ignore_errors=True)

    def _highest_number(self) -> int:
        numbers = [
            int(m.group(2))
            for p in self._root.iterdir()
            if (m := _FOLDER_RE.fullmatch(p.name)) is not None
        ]
        return max(numbers, default=0)

    def _next_number(self) -> int:
        """Folder numbers are never reused, so no name ever meets a leftover of a crash."""
        number = self._counter
        self._counter += 1
        return number

    def _open(self, manifest: Manifest) -> tuple[_Tier, ...]:
        """Tiers newest first (the order reads resolve a duplicate in)."""
        tiers = [
            _Tier(name, EdgeEngine(self._root / name, self._hnsw_ef))
            for name in reversed(manifest.fresh)
        ]
        if manifest.sealed is not None:
            sealed = EdgeEngine(self._root / manifest.sealed, self._hnsw_ef)
            tiers.append(_Tier(manifest.sealed, sealed, sealed=True))
        return tuple(tiers)

    def _register_on_disk(self) -> None:
        """Know every collection some tier holds, ensured this run or not: a merge rebuilds
        only the collections it knows, and must never drop one with the old folders."""
        added = False
        for tier in self._tiers:
            tier.engine.load_all()
            for name in tier.engine.collections():
                if name not in self._specs:
                    self._specs[name] = tier.engine.persisted_spec(name)
                    added = True
        if added:
            self._save_specs()
            for spec in self._specs.values():
                for tier in self._tiers:
                    tier.engine.ensure(spec)

    def _load_specs(self) -> None:
        path = self._root / SPECS
        if not path.exists():
            return
        for raw in json.loads(path.read_text()):
            spec = CollectionSpec(
                raw["name"], dict(raw["dense"]), tuple(raw["sparse"]), dict(raw["indexes"])
            )
            self._specs.setdefault(spec.name, spec)

    def _save_specs(self) -> None:
        specs = [asdict(s) for s in sorted(self._specs.values(), key=lambda s: s.name)]
        _write_atomic(self._root / SPECS, json.dumps(specs))

    # ------------------------------------------------------------------ Engine: schema

    def ensure(self, spec: CollectionSpec) -> None:
        with self._writes, self._rw.shared():
            for tier in self._tiers:
                tier.engine.ensure(spec)
            if self._specs.get(spec.name) != spec:
                self._specs[spec.name] = spec
                self._save_specs()

    def load_all(self) -> list[str]:
        """Open every collection any tier or ``specs.json`` knows (for maintenance)."""
        with self._writes, self._rw.shared():
            for tier in self._tiers:
                tier.engine.load_all()
                for name in tier.engine.collections():
                    if name not in self._specs:
                        self._specs[name] = tier.engine.persisted_spec(name)
                        self._save_specs()
            for spec in self._specs.values():
                for tier in self._tiers:
                    tier.engine.ensure(spec)
            return sorted(self._specs)

    # ------------------------------------------------------------------ Engine: writes

    def _older(self) -> tuple[_Tier, ...]:
        return self._tiers[1:]

    def _journal_ids(self, collection: str, ids: Sequence[str]) -> None:
        if self._journal is not None and ids:
            self._journal.append(("ids", collection, list(ids)))

    def upsert(self, collection: str, points: Sequence[PointRecord]) -> None:
        if not points:
            return
        ids = [p.id for p in points]
        with self._writes, self._rw.shared():
            self._tiers[0].engine.upsert(collection, points)
            for tier in self._older():
                tier.engine.delete(collection, tier.engine.existing(collection, ids))
            self._journal_ids(collection, ids)

    def set_payload(self, collection: str, ids: Sequence[str], payload: dict[str, Any]) -> None:
        if not ids:
            return
        with self._writes, self._rw.shared():
            active = self._tiers[0].engine
            here = set(active.existing(collection, ids))
            moves: list[tuple[_Tier, list[PointRecord]]] = []
            left = [i for i in ids if i not in here]
            for tier in self._older():
                if not left:
                    break
                found = tier.engine.retrieve_points(collection, left)
                if found:
                    moves.append((tier, found))
                    got = {r.id for r in found}
                    left = [i for i in left if i not in got]
            if left:  # as the plain engine does: refused, nothing changed
                active.set_payload(collection, left, payload)
            if here:
                active.set_payload(collection, [i for i in ids if i in here], payload)
            for tier, found in moves:
                copies = [PointRecord(r.id, {**r.payload, **payload}, r.vectors) for r in found]
                active.upsert(collection, copies)
                tier.engine.delete(collection, [r.id for r in found])
            self._journal_ids(collection, ids)

    def delete(self, collection: str, ids: Sequence[str]) -> None:
        if not ids:
            return
        with self._writes, self._rw.shared():
            for tier in self._tiers:
                tier.engine.delete(collection, ids)
            self._journal_ids(collection, ids)

    def delete_where(self, collection: str, where: Where) -> None:
        with self._writes, self._rw.shared():
            for tier in self._tiers:
                tier.engine.delete_where(collection, where)
            if self._journal is not None:
                self._journal.append(("where", collection, where))

    # ------------------------------------------------------------------ Engine: reads
    # _oldest_first: reads ask the tiers oldest first (sealed, then fresh) and let a newer
    # tier's copy replace an older one's. A write moves a point by writing the newer tier
    # first and deleting the older copy after, so a read that met the older tier before the
    # delete has that copy, and one that met it after meets the newer tier later still: a
    # moving point is seen once or twice (deduplicated), never not at all.

    def retrieve(
        self, collection: str, ids: Sequence[str], fields: Sequence[str] | None = None
    ) -> list[PointRecord]:
        if not ids:
            return []
        found: dict[str, PointRecord] = {}
        wanted = list(dict.fromkeys(ids))
        with self._rw.shared():
            for tier in reversed(self._tiers):  # oldest first: see `_oldest_first`
                for rec in tier.engine.retrieve(collection, wanted, fields):
                    found[rec.id] = rec
        return [found[i] for i in wanted if i in found]

    def scroll(
        self, collection: str, where: Where | None, limit: int | None = None
    ) -> list[PointRecord]:
        out: list[PointRecord] = []
        offset: str | None = None
        while True:
            page = 1000 if limit is None else min(1000, limit - len(out))
            recs, offset = self.scroll_page(collection, where, page, offset)
            out.extend(recs)
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
        """Each tier's page from ``offset``, merged in id order; the next offset is the first
        id not returned, from whichever tier holds it (so no page skips or repeats a point)."""
        merged: dict[str, PointRecord] = {}
        nexts: list[str] = []
        with self._rw.shared():
            for tier in reversed(self._tiers):  # oldest first: see `_oldest_first`
                recs, nxt = tier.engine.scroll_page(collection, where, limit, offset, fields)
                for rec in recs:
                    merged[rec.id] = rec
                if nxt is not None:
                    nexts.append(nxt)
        ordered = sorted(merged.values(), key=lambda r: id_key(r.id))
        if len(ordered) > limit:
            nexts.append(ordered[limit].id)
        nxt = min(nexts, key=id_key) if nexts else None
        if nxt is not None:
            cut = id_key(nxt)
            ordered = [r for r in ordered if id_key(r.id) < cut]
        return ordered[:limit], nxt

    def count(self, collection: str, where: Where | None = None) -> int:
        with self._rw.shared():
            # Oldest first: a point moving to the fresh tier meanwhile is counted twice at
            # worst, never missed.
            return sum(tier.engine.count(collection, where) for tier in reversed(self._tiers))

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
        """One engine call per tier for the whole batch; each request's hits merged by score.

        Dense (cosine) scores compare across tiers as they are. BM25 scores carry each tier's
        own IDF (qdrant-edge computes it per shard), so a term's weight differs a little
        between the fresh tier and the sealed one until they are merged.
        """
        if not requests:
            return []
        with self._rw.shared():
            per_tier = [
                tier.engine.search_batch(collection, requests)
                for tier in reversed(self._tiers)  # oldest first: see `_oldest_first`
            ]
        out: list[list[Hit]] = []
        for n, request in enumerate(requests):
            best: dict[str, Hit] = {}
            for results in per_tier:  # a newer tier's copy of a duplicate replaces an older
                for hit in results[n]:
                    best[hit.id] = hit
            hits = sorted(best.values(), key=lambda h: -h.score)
            out.append(hits[: request.limit])
        return out

    def flush(self) -> None:
        with self._rw.shared():
            for tier in self._tiers:
                tier.engine.flush()

    # ------------------------------------------------------------------ tiers and merges

    def tiers(self) -> list[dict[str, Any]]:
        """Each live tier, newest first: folder, kind and points per collection."""
        with self._rw.shared():
            return [
                {
                    "folder": tier.name,
                    "kind": "sealed" if tier.sealed else "fresh",
                    "points": {c: tier.engine.count(c) for c in sorted(self._specs)},
                }
                for tier in self._tiers
            ]

    def optimize(self) -> dict[str, float]:
        """Fold every tier into a new HNSW generation now (``chronorag optimize``), even an
        adopted plain folder with nothing fresh; the seconds each step took."""
        report = self.merge(force=True)
        return report.seconds if report is not None else {}

    def _step(self, name: str) -> None:
        if self._step_hook is not None:
            self._step_hook(name)

    def merge(self, *, force: bool = False) -> MergeReport | None:
        """Build a new sealed generation from every current tier, off the serving path.

        Reads and writes go on throughout; they wait only for the cut and the switch (each a
        manifest write plus, for the switch, the deletes journaled in the last moments).
        Returns None when there was nothing to merge (``force``: merge anyway, to index an
        adopted folder). Raises `MergeFailed` if the child failed; the tiers are then as they
        were (with one more fresh tier), nothing lost.
        """
        with self._merging:
            if self._closed.is_set():
                return None
            return self._merge(force)

    def _merge(self, force: bool) -> MergeReport | None:
        started = time.monotonic()
        seconds: dict[str, float] = {}
        inputs = self._tiers
        fresh_points = sum(
            t.engine.count(c) for t in inputs if not t.sealed for c in sorted(self._specs)
        )
        if not force and not fresh_points and len(inputs) <= 2:
            return None  # nothing fresh to fold
        # Frozen fresh tiers left by a failed or crashed merge are merged without a new cut
        # (so failures do not pile up tiers that every search asks).
        frozen = len([t for t in inputs if not t.sealed]) > 1
        fresh_name = self._tiers[0].name if frozen else f"fresh-{self._next_number()}"
        fresh = self._tiers[0].engine if frozen else self._prepare_fresh(fresh_name)
        sealed_name = f"sealed-{self._next_number()}"
        target = self._root / sealed_name
        dump = self._root / f"merge-{self._next_number()}.dump"
        new_sealed: EdgeEngine | None = None
        try:
            # ---- cut: writes go to a new fresh tier; the inputs only lose points from now on.
            # Writers wait for the manifest (fsync); readers only for the swap of the tuple.
            with self._writes:
                if frozen:
                    inputs = self._tiers[1:]
                    self._journal = []
                else:
                    for spec in self._specs.values():
                        fresh.ensure(spec)
                    cut = Manifest(self._manifest.sealed, (*self._manifest.fresh, fresh_name))
                    _write_atomic(self._root / MANIFEST, cut.to_json())
                    self._manifest = cut
                    with self._rw.exclusive():
                        inputs = self._tiers
                        self._tiers = (_Tier(fresh_name, fresh), *inputs)
                        self._journal = []
                specs = list(self._specs.values())
            self._step("cut")
            points = self._dump(dump, inputs, specs)
            seconds["dump"] = round(time.monotonic() - started, 2)
            self._step("dumped")
            t0 = time.monotonic()
            self._build(dump, target)
            seconds["build"] = round(time.monotonic() - t0, 2)
            self._step("built")
            # ---- replay what happened to the inputs since the cut, most of it unlocked
            new_sealed = EdgeEngine(target, self._hnsw_ef)
            for spec in specs:
                new_sealed.ensure(spec)
            with self._writes:
                assert self._journal is not None
                done = len(self._journal)
                head = list(self._journal)
            self._replay(new_sealed, head)
            self._step("replayed")
            t0 = time.monotonic()
            # ---- switch: writers wait for the journal's tail and the manifest, readers only
            # for the swap (the new generation is invisible to them until then).
            with self._writes:
                assert self._journal is not None
                self._replay(new_sealed, self._journal[done:])
                for spec in self._specs.values():
                    new_sealed.ensure(spec)
                switched = Manifest(sealed_name, (fresh_name,))
                _write_atomic(self._root / MANIFEST, switched.to_json())
                self._manifest = switched
                with self._rw.exclusive():
                    self._tiers = (self._tiers[0], _Tier(sealed_name, new_sealed, sealed=True))
                    self._journal = None
            new_sealed = None
            seconds["switch"] = round(time.monotonic() - t0, 3)
        except BaseException:
            self._journal = None
            if new_sealed is not None:
                new_sealed.close()
            if not self._tiers or self._tiers[0].engine is not fresh:
                fresh.close()  # the cut never happened
                shutil.rmtree(self._root / fresh_name, ignore_errors=True)
            shutil.rmtree(target, ignore_errors=True)
            dump.unlink(missing_ok=True)
            raise
        self._step("switched")
        for tier in inputs:
            tier.engine.close()
            self._remove_tier_folder(self._root / tier.name)
        dump.unlink(missing_ok=True)
        _fsync_dir(self._root)
        self._step("cleaned")
        seconds["total"] = round(time.monotonic() - started, 2)
        self._last_merge = time.monotonic()
        report = MergeReport(sealed_name, points, seconds)
        self.last_merge = report
        log.info("tiered index: merged into %s: %s points, %s", sealed_name, points, seconds)
        return report

    def _dump(
        self, dump: Path, inputs: Sequence[_Tier], specs: Sequence[CollectionSpec]
    ) -> dict[str, int]:
        """Every point of the inputs, once (newest tier's copy), into the dump file."""
        points: dict[str, int] = {}
        with dump.open("wb") as f:
            pickle.dump(("specs", list(specs)), f, protocol=pickle.HIGHEST_PROTOCOL)
            for spec in specs:
                seen: set[str] = set()
                for tier in inputs:
                    offset: str | None = None
                    while True:
                        page, offset = tier.engine.scroll_points(spec.name, offset, DUMP_BATCH)
                        rows = [
                            (r.id, r.payload, pack_vectors(r.vectors))
                            for r in page
                            if r.id not in seen
                        ]
                        seen.update(r.id for r in page)
                        if rows:
                            record = ("points", spec.name, rows)
                            pickle.dump(record, f, protocol=pickle.HIGHEST_PROTOCOL)
                        if offset is None:
                            break
                points[spec.name] = len(seen)
            pickle.dump((END,), f)
            f.flush()
            os.fsync(f.fileno())
        return points

    def _prepare_fresh(self, name: str) -> EdgeEngine:
        """The next fresh tier, created empty by a child (see `app.stores.merge.create_empty`)
        and only loaded here; the caller ensures any spec added meanwhile."""
        specs = json.dumps([asdict(s) for s in self._specs.values()])
        code, out = self._run_child(["--empty", str(self._root / name), str(os.getpid()), specs])
        if code != 0:
            shutil.rmtree(self._root / name, ignore_errors=True)
            raise MergeFailed(f"creating the fresh tier {name} failed ({code}): {out[-2000:]}")
        engine = EdgeEngine(self._root / name, self._hnsw_ef)
        for spec in list(self._specs.values()):
            engine.ensure(spec)
        return engine

    def _build(self, dump: Path, target: Path) -> None:
        """Run the merge child and wait for it; raises `MergeFailed` unless it completed."""
        code, out = self._run_child([str(dump), str(target), str(os.getpid())], "building")
        if code != 0 or not (target / COMPLETE).exists():
            raise MergeFailed(
                f"the merge child exited with {code} without completing {target}: {out[-2000:]}"
            )

    def _run_child(self, args: list[str], step: str | None = None) -> tuple[int, str]:
        """``python -m app.stores.merge ARGS``, waited for (killed if the engine closes);
        its exit status and output."""
        cmd = [sys.executable, "-m", "app.stores.merge", *args]
        root_dir = Path(__file__).resolve().parents[2]
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(root_dir), env.get("PYTHONPATH")]))
        with tempfile.TemporaryFile() as log_file:  # a pipe could fill up and stall it
            child = subprocess.Popen(
                cmd, stdout=log_file, stderr=subprocess.STDOUT, env=env, cwd=root_dir
            )
            self._child = child
            try:
                if step is not None:
                    self._step(step)
                while child.poll() is None:
                    if self._closed.wait(0.2):
                        child.kill()
            finally:
                self._child = None
                if child.poll() is None:
                    child.kill()
                    child.wait()
            log_file.seek(0)
            out = log_file.read().decode(errors="replace")
        return int(child.returncode), out.strip()

    @staticmethod
    def _replay(engine: EdgeEngine, ops: Sequence[tuple[str, str, Any]]) -> None:
        """Apply journaled changes to a new generation: every one is a delete (ids written
        since the cut live in the new fresh tier; see the module's invariants)."""
        for kind, collection, arg in ops:
            if kind == "ids":
                engine.delete(collection, engine.existing(collection, arg))
            else:
                engine.delete_where(collection, arg)

    def _due(self) -> bool:
        """A merge is due: the active fresh tier is past its size, the interval passed with
        something fresh, or a crash left frozen fresh tiers behind."""
        active = self._tiers[0].engine
        sizes = [active.count(c) for c in self._specs]
        biggest = max(sizes, default=0)
        if self._fresh_limit and biggest >= self._fresh_limit:
            return True
        if len([t for t in self._tiers if not t.sealed]) > 1:
            return True
        waited = time.monotonic() - self._last_merge
        return bool(self._merge_interval_s and biggest and waited >= self._merge_interval_s)

    def _merge_loop(self) -> None:
        backoff = self._poll_s
        while not self._closed.wait(backoff):
            try:
                with self._rw.shared():
                    due = self._due()
                if due:
                    self.merge()
                backoff = self._poll_s
            except Exception:
                if self._closed.is_set():
                    return
                log.exception("tiered index: merge failed; the tiers stay as they are")
                backoff = min(300.0, max(backoff * 2, 30.0))

    def close(self) -> None:
        """Stop the merger (killing a merge child: its folder is removed at the next start)
        and close every tier."""
        if self._closed.is_set():
            return
        self._closed.set()
        if self._merger is not None:
            self._merger.join()
        with self._merging, self._rw.exclusive():
            for tier in self._tiers:
                tier.engine.close()
            self._tiers = ()
        self._release_lock()
