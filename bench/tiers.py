"""The tiered embedded index at store level: exact scan vs sealed HNSW, and a merge under load.

Synthetic vectors (no model: clustered like real chunk embeddings, 384-d, as in
`bench.index100k`) go straight into `TieredEngine` with the chunk collection's spec and
payload indexes. Phases:

1. load N points (they land in the fresh tier) and query them: exact scan, the "before";
2. ``merge()``: the child builds the first sealed generation with HNSW (merge duration, the
   child's peak memory, disk);
3. query the sealed generation: p50/p99 at 1, 8 and 32 clients, recall@10 against exact;
4. stream inserts and deletes at a fixed rate while a second merge runs: query latencies at 1
   and 8 clients, the longest query during the merge, recall@10 against exact over the live
   set, hits on deleted points (must be 0);
5. write flat out for a while with one query client: the insert and delete rates the tiers
   sustain, and 5-recall@5 meanwhile.

Run: ``python -m bench.tiers --points 100000`` (``make bench-scale`` runs it at 1,000,000).
Results: ``bench/results/tiers.json`` (``tiers-<N>.json`` for other sizes).
"""

from __future__ import annotations

import argparse
import random
import resource
import shutil
import subprocess
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from bench.common import WORK, percentile, table, write_result

DIM = 384
CLUSTERS = 400
NOISE = 0.015
WINDOW = 0.1  # time-window queries cover a tenth of the publication span
SPAN_S = 20 * 365 * 86400.0


class Corpus:
    """Deterministic clustered vectors and chunk-like payloads, by point number."""

    def __init__(self, seed: int = 5) -> None:
        rng = np.random.default_rng(seed)
        centers = rng.normal(size=(CLUSTERS, DIM)).astype(np.float32)
        self.centers = centers / np.linalg.norm(centers, axis=1, keepdims=True)
        self.seed = seed

    def vectors(self, start: int, stop: int) -> np.ndarray:
        rng = np.random.default_rng(self.seed * 1_000_003 + start)
        n = stop - start
        which = (np.arange(start, stop) * 7919) % CLUSTERS
        v = self.centers[which] + rng.normal(0, NOISE, size=(n, DIM)).astype(np.float32)
        return v / np.linalg.norm(v, axis=1, keepdims=True)

    def points(self, start: int, stop: int) -> list[Any]:
        from app.stores.engines import PointRecord, SparseVec, point_uuid

        vecs = self.vectors(start, stop)
        out = []
        for i, n in enumerate(range(start, stop)):
            ts = (n * 2654435761 % 1_000_000) / 1_000_000 * SPAN_S
            payload = {
                "tenant": "default",
                "doc_id": f"syn-{n // 5:07d}",
                "version": 1,
                "chunk": n % 5,
                "published_ts": ts,
                "content_from_ts": ts,
                "content_to_ts": ts + 86400.0,
                "time_nodes": [],
                "text": f"synthetic chunk {n}",
            }
            sparse = SparseVec(sorted({n % 5000, (n * 31) % 5000, (n * 97) % 5000}), [1.0] * 3)
            sparse = SparseVec(sparse.indices, [1.0] * len(sparse.indices))
            out.append(
                PointRecord(
                    point_uuid("bench", n), payload, {"dense": vecs[i].tolist(), "bm25": sparse}
                )
            )
        return out

    def query(self, rng: random.Random) -> np.ndarray:
        c = self.centers[rng.randrange(CLUSTERS)]
        q = c + np.random.default_rng(rng.randrange(1 << 30)).normal(0, NOISE * 2, DIM)
        return (q / np.linalg.norm(q)).astype(np.float32)


def _where(rng: random.Random, windowed: bool) -> Any:
    from app.stores.engines import Match, Range, Where

    must: list[Any] = [Match("tenant", "default")]
    if windowed:
        start = rng.random() * SPAN_S * (1 - WINDOW)
        must.append(Range("published_ts", gte=start, lte=start + SPAN_S * WINDOW))
    return Where(tuple(must))


def _latencies(
    search: Callable[[random.Random], Any], clients: int, per_client: int, seed: int
) -> dict[str, float]:
    """``clients`` threads each running ``per_client`` searches; p50/p99 ms and queries/s."""
    times: list[float] = []
    lock = threading.Lock()

    def run(c: int) -> None:
        rng = random.Random(seed * 100 + c)
        mine = []
        for _ in range(per_client):
            t0 = time.perf_counter()
            search(rng)
            mine.append((time.perf_counter() - t0) * 1000)
        with lock:
            times.extend(mine)

    t0 = time.perf_counter()
    threads = [threading.Thread(target=run, args=(c,)) for c in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.perf_counter() - t0
    return {
        "clients": clients,
        "queries": len(times),
        "p50_ms": round(percentile(times, 50), 2),
        "p99_ms": round(percentile(times, 99), 2),
        "qps": round(len(times) / wall, 1),
    }


def _recall(engine: Any, corpus: Corpus, k: int, n: int, seed: int, windowed: bool) -> float:
    rng = random.Random(seed)
    found = total = 0
    for _ in range(n):
        q = corpus.query(rng).tolist()
        where = _where(rng, windowed)
        exact = {h.id for h in engine.search(C, "dense", q, where, k, exact=True)}
        ann = {h.id for h in engine.search(C, "dense", q, where, k)}
        found += len(exact & ann)
        total += len(exact)
    return round(found / max(total, 1), 4)


C = "bench_chunks"


def _slowest(
    stamps: list[tuple[float, float, int]], span: list[float], steps: list[tuple[str, float]]
) -> list[dict[str, Any]]:
    """The five slowest queries of the merge, each with the merge step it ran into."""
    during = sorted((s for s in stamps if span[0] <= s[0] <= span[1]), key=lambda s: -s[1])
    out = []
    for start, ms, _ in during[:5]:
        end = start + ms / 1000
        step = next((name for name, at in steps if at >= start), "cleaned")
        out.append({"ms": round(ms, 1), "at_s": round(start - span[0], 2), "step_ended": step,
                    "step_end_inside": any(start <= at <= end for _, at in steps)})  # fmt: skip
    return out


def _du_mb(path: Path) -> float:
    out = subprocess.run(["du", "-sm", str(path)], capture_output=True, text=True, check=True)
    return float(out.stdout.split()[0])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--points", type=int, default=100_000)
    parser.add_argument("--queries", type=int, default=200, help="per client per phase")
    parser.add_argument("--rate", type=float, default=100.0, help="inserts/s while streaming")
    parser.add_argument("--flat-out-s", type=float, default=20.0)
    args = parser.parse_args(argv)

    from app.core.settings import Settings
    from app.stores.collections import chunks_spec
    from app.stores.engines import point_uuid
    from app.stores.tiered import TieredEngine

    hnsw_ef = Settings().search_hnsw_ef
    root = WORK / f"tiers-{args.points}"
    shutil.rmtree(root, ignore_errors=True)
    steps: list[tuple[str, float]] = []
    engine = TieredEngine(
        root, hnsw_ef, auto_merge=False, step_hook=lambda n: steps.append((n, time.perf_counter()))
    )
    engine.ensure(chunks_spec("bench", DIM))
    corpus = Corpus()
    result: dict[str, Any] = {"points": args.points, "dim": DIM, "hnsw_ef": hnsw_ef}
    result["data"] = (
        f"synthetic: {CLUSTERS} clusters, 384-d, noise {NOISE}/dim; store level, no model, no HTTP"
    )

    t0 = time.monotonic()
    for start in range(0, args.points, 2000):
        engine.upsert(C, corpus.points(start, min(args.points, start + 2000)))
    result["load_s"] = round(time.monotonic() - t0, 1)
    print(f"loaded {args.points} points in {result['load_s']} s", flush=True)

    def searcher(
        windowed: bool, exact: bool = False, k: int = 10
    ) -> Callable[[random.Random], Any]:
        def search(rng: random.Random) -> Any:
            q = corpus.query(rng).tolist()
            return engine.search(C, "dense", q, _where(rng, windowed), k, exact=exact)

        return search

    q = args.queries
    before = {
        "unfiltered_1": _latencies(searcher(False), 1, q, 1),
        "window_1": _latencies(searcher(True), 1, q, 2),
        "unfiltered_8": _latencies(searcher(False), 8, q // 4, 3),
    }
    result["exact_scan"] = before
    print("exact scan (all fresh):", before, flush=True)

    report = engine.merge()
    assert report is not None
    child_peak_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    result["first_merge"] = {
        "seconds": report.seconds,
        "child_peak_rss_mb": round(child_peak_mb, 0),
        "disk_mb": _du_mb(root),
    }
    print("first merge:", result["first_merge"], flush=True)

    sealed: dict[str, Any] = {
        f"unfiltered_{c}": _latencies(searcher(False), c, max(20, q // c), 10 + c)
        for c in (1, 8, 32)
    }
    sealed["window_1"] = _latencies(searcher(True), 1, q, 20)
    sealed["recall_at_10_unfiltered"] = _recall(engine, corpus, 10, 100, 30, False)
    sealed["recall_at_10_window"] = _recall(engine, corpus, 10, 100, 31, True)
    result["sealed"] = sealed
    print("sealed HNSW:", sealed, flush=True)

    # ---- streaming inserts and deletes at a fixed rate while a merge runs
    deleted: set[str] = set()
    next_point = [args.points]
    stop = threading.Event()
    wrote = {"inserts": 0, "deletes": 0}
    drng = random.Random(77)

    def writer(rate: float | None) -> None:
        batch = 20
        while not stop.is_set():
            t0 = time.perf_counter()
            n = next_point[0]
            engine.upsert(C, corpus.points(n, n + batch))
            next_point[0] += batch
            victims = {
                point_uuid("bench", drng.randrange(next_point[0])) for _ in range(batch // 4)
            }
            engine.delete(C, list(victims))
            deleted.update(victims)
            wrote["inserts"] += batch
            wrote["deletes"] += len(victims)
            if rate is not None:
                stop.wait(max(0.0, batch / rate - (time.perf_counter() - t0)))

    stamps: list[tuple[float, float, int]] = []  # (start, ms, deleted hits)
    slock = threading.Lock()

    def querier(c: int) -> None:
        rng = random.Random(500 + c)
        while not stop.is_set():
            gone = set(deleted)
            t0 = time.perf_counter()
            hits = searcher(rng.random() < 0.5)(rng)
            ms = (time.perf_counter() - t0) * 1000
            with slock:
                stamps.append((t0, ms, sum(h.id in gone for h in hits)))

    merge_span: list[float] = []

    def merger() -> None:
        time.sleep(3)
        steps.clear()
        merge_span.append(time.perf_counter())
        engine.merge()
        merge_span.append(time.perf_counter())

    threads = [threading.Thread(target=writer, args=(args.rate,))]
    threads += [threading.Thread(target=querier, args=(c,)) for c in range(8)]
    m = threading.Thread(target=merger)
    for t in threads:
        t.start()
    m.start()
    m.join()
    time.sleep(2)
    recall_live = _recall(engine, corpus, 10, 60, 40, False)
    stop.set()
    for t in threads:
        t.join()
    during = [ms for s, ms, _ in stamps if merge_span[0] <= s <= merge_span[1]]
    all_ms = [ms for _, ms, _ in stamps]
    result["streaming"] = {
        "insert_rate": args.rate,
        "delete_rate": args.rate / 4,
        "inserts": wrote["inserts"],
        "deletes": wrote["deletes"],
        "query_clients": 8,
        "queries": len(stamps),
        "p50_ms": round(percentile(all_ms, 50), 2),
        "p99_ms": round(percentile(all_ms, 99), 2),
        "qps": round(len(stamps) / (stamps[-1][0] - stamps[0][0]), 1),
        "merge_s": round(merge_span[1] - merge_span[0], 1),
        "queries_during_merge": len(during),
        "max_query_ms_during_merge": round(max(during, default=0.0), 1),
        "slowest_queries_during_merge": _slowest(stamps, merge_span, steps),
        "p99_ms_during_merge": round(percentile(during, 99), 2) if during else None,
        "deleted_hits": sum(d for _, _, d in stamps),
        "recall_at_10_after": recall_live,
        "merge_seconds": engine.last_merge.seconds if engine.last_merge else None,
        "freshness": "an upsert is searchable when it returns (store level)",
        "live_points": engine.count(C),
    }
    print("streaming + merge:", result["streaming"], flush=True)

    # ---- flat out: the write rates the tiers sustain, and 5-recall@5 meanwhile
    stop.clear()
    wrote.update(inserts=0, deletes=0)
    stamps.clear()
    threads = [
        threading.Thread(target=writer, args=(None,)),
        threading.Thread(target=querier, args=(0,)),
    ]
    for t in threads:
        t.start()
    time.sleep(args.flat_out_s / 2)
    recall5 = _recall(engine, corpus, 5, 40, 50, False)
    stop.wait(args.flat_out_s / 2)
    stop.set()
    for t in threads:
        t.join()
    result["flat_out"] = {
        "seconds": args.flat_out_s,
        "inserts_per_s": round(wrote["inserts"] / args.flat_out_s, 0),
        "deletes_per_s": round(wrote["deletes"] / args.flat_out_s, 0),
        "recall_5_at_5": recall5,
        "query_p50_ms": round(percentile([ms for _, ms, _ in stamps], 50), 2),
        "deleted_hits": sum(d for _, _, d in stamps),
        "fresh_points_at_end": engine.tiers()[0]["points"][C],
    }
    print("flat out:", result["flat_out"], flush=True)
    result["tiers_at_end"] = engine.tiers()
    engine.close()
    shutil.rmtree(root, ignore_errors=True)

    def row(label: str, fig: dict[str, Any]) -> tuple[str, float, float, float]:
        return (label, fig["p50_ms"], fig["p99_ms"], fig["qps"])

    rows = [
        row("exact scan, 1 client", before["unfiltered_1"]),
        row("exact scan, window, 1 client", before["window_1"]),
        row("exact scan, 8 clients", before["unfiltered_8"]),
        *[row(f"sealed HNSW, {c} clients", sealed[f"unfiltered_{c}"]) for c in (1, 8, 32)],
        row("sealed HNSW, window, 1 client", sealed["window_1"]),
        row("streaming + merge, 8 clients", result["streaming"]),
    ]
    table(
        f"tiered index, {args.points} points (store level)",
        ["phase", "p50 ms", "p99 ms", "q/s"],
        rows,
    )
    name = "tiers" if args.points == 100_000 else f"tiers-{args.points}"
    print(write_result(name, result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
