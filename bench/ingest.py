"""Documents per second end to end: REST → Redis → the in-process worker → embedded Qdrant.

``chronorag serve`` is started as a user starts it; deterministic ~1,000-token synthetic news
stories are POSTed as fast as the API accepts them, and the run ends when the last one reports
``indexed``. Throughput is documents over (last ``indexed_at`` − first POST). It runs twice:
with fact extraction (the default) and with ``CHRONORAG_FACT_EXTRACTION=false``. The per-stage
seconds come from the server's ``GET /v1/admin/stats`` (the pipeline's stage timer), as a
difference over the measured window.

    python -m bench.ingest [--docs 40]
"""

from __future__ import annotations

import argparse
import time
from datetime import UTC, datetime
from typing import Any

import httpx

from bench.common import (
    Served,
    cpu_seconds,
    fresh_dir,
    news_documents,
    post_document,
    table,
    wait_indexed,
    write_result,
)

STAGES = ("parse", "intake", "load", "chunk", "embed", "extract", "store", "commit")


def _delta(after: dict[str, Any], before: dict[str, Any], key: str) -> dict[str, float]:
    a, b = after.get(key, {}), before.get(key, {})
    return {k: a[k] - b.get(k, 0) for k in a}


def measure(docs: int, env: dict[str, str], *, seed: int = 21, timeout_s: float = 600) -> dict:
    """One run on a fresh data dir; returns throughput and the stage split."""
    work = fresh_dir("ingest")
    with Served(work / "data", env) as server, httpx.Client(base_url=server.url, timeout=60) as c:
        warm = news_documents(2, seed=seed + 1000, prefix="warm")
        for d in warm:
            post_document(c, d.body())
        wait_indexed(c, [d.id for d in warm], timeout_s=120)
        stories = news_documents(docs, seed=seed)
        before = server.stats()
        cpu0 = cpu_seconds(server.pid)
        started = datetime.now(UTC)
        t0 = time.monotonic()
        for d in stories:
            post_document(c, d.body())
        upload_s = time.monotonic() - t0
        bodies = wait_indexed(c, [d.id for d in stories], timeout_s=timeout_s)
        after = server.stats()
        cpu = cpu_seconds(server.pid) - cpu0
    last = max(
        datetime.fromisoformat(b["indexed_at"].replace("Z", "+00:00")) for b in bodies.values()
    )
    elapsed = (last - started).total_seconds()
    seconds = _delta(after, before, "seconds")
    counts = _delta(after, before, "counts")
    batcher_a, batcher_b = after.get("embedding_batcher", {}), before.get("embedding_batcher", {})
    encode_s = batcher_a.get("encode_s", 0.0) - batcher_b.get("encode_s", 0.0)
    batches = batcher_a.get("batches", 0) - batcher_b.get("batches", 0)
    texts = batcher_a.get("texts", 0) - batcher_b.get("texts", 0)
    staged = {k: seconds.get(k, 0.0) for k in STAGES}
    total = sum(staged.values()) or 1.0
    chunks = sum(int(b["chunks"]) for b in bodies.values())
    return {
        "docs": docs,
        "docs_per_s": round(docs / elapsed, 3),
        "chunks_per_s": round(chunks / elapsed, 2),
        "elapsed_s": round(elapsed, 2),
        "server_cpu_s_per_doc": round(cpu / docs, 3),
        # What the server could do with both cores to itself: CPU-bound, so cores / CPU per doc.
        "docs_per_s_ceiling_2_cores": round(2 * docs / cpu, 3) if cpu else None,
        "upload_s": round(upload_s, 2),
        "chunks_per_doc": round(chunks / docs, 2),
        "facts_per_doc": round(sum(int(b["facts"]) for b in bodies.values()) / docs, 2),
        "stage_s": {k: round(v, 3) for k, v in staged.items()},
        "stage_share": {k: round(v / total, 3) for k, v in staged.items()},
        "encoder_busy_share": round(encode_s / elapsed, 3),
        "embedding_batches": batches,
        "embedding_texts": texts,
        "mean_batch": round(texts / batches, 1) if batches else 0.0,
        "counts": counts,
        "serve_start_s": round(server.started_s, 1),
    }


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--docs", type=int, default=40)
    args = parser.parse_args(argv)

    with_x = measure(args.docs, {})
    print("with extraction:", with_x, flush=True)
    without = measure(args.docs, {"CHRONORAG_FACT_EXTRACTION": "false"})
    print("without extraction:", without, flush=True)
    result = {
        "docs_per_s": with_x["docs_per_s"],
        "docs_per_s_no_extraction": without["docs_per_s"],
        "stage_share": with_x["stage_share"],
        "stage_share_no_extraction": without["stage_share"],
        "with_extraction": with_x,
        "no_extraction": without,
        "note": (
            "stage seconds are summed per task (the worker runs tasks on "
            "embedded_worker_concurrency threads), so time a task waits for a shared embedding "
            "batch counts as embed; encoder_busy_share is the batcher's encode time over wall "
            "time. parse and intake are the API's share (JSON body → record durable → queued)."
        ),
    }
    rows = []
    for name, run in (("with extraction", with_x), ("no extraction", without)):
        share = run["stage_share"]
        rows.append([name, run["docs_per_s"], run["chunks_per_s"], run["facts_per_doc"],
                     run["encoder_busy_share"]] + [share[s] for s in STAGES])  # fmt: skip
    table(
        f"Ingest through REST + in-process worker ({args.docs} docs of ~1,000 tokens)",
        ["run", "docs/s", "chunks/s", "facts/doc", "encoder busy", *STAGES],
        rows,
    )
    write_result("ingest", result)
    return result


if __name__ == "__main__":
    main()
