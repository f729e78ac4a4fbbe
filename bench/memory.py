"""Peak resident memory of the serving process at 100,000 chunks, and of a standalone worker.

In the default topology the API and the worker are one process (``chronorag serve``: uvicorn,
the in-process Celery worker, embedded Qdrant and the model), so ``api_rss_mb`` and the
worker's share are the same number: its peak RSS (VmHWM) after serving queries from 8 clients
and ingesting documents over the 100k-chunk index of ``bench/index100k.py``.
``worker_rss_mb`` is a standalone ``chronorag worker`` (as run in the distributed topology)
after it built its runtime (model, Celery, an empty embedded store, since without a Qdrant
server it has no shared store to open) and ran one task: what each extra worker process costs.
Its memory does not grow with the number of chunks, which live in the Qdrant server.

    python -m bench.memory
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from typing import Any

import httpx

from bench import index100k
from bench.common import (
    REDIS_URL,
    ROOT,
    Served,
    drop_queue,
    fresh_dir,
    news_documents,
    post_document,
    rss_mb,
    table,
    wait_indexed,
    write_result,
)
from bench.query import load, question_stream


def serve_peak(chunks: int) -> dict[str, Any]:
    source = index100k.build(chunks)
    work = fresh_dir("memory")
    data = index100k.copy_of(source, work / "data")
    with Served(data) as server:
        after_start = rss_mb(server.pid)
        load(server.url, 8, question_stream(9), seconds=15, max_n=100_000)
        with httpx.Client(base_url=server.url, timeout=60) as c:
            docs = news_documents(12, seed=51, prefix="mem")
            for d in docs:
                post_document(c, d.body())
            wait_indexed(c, [d.id for d in docs], timeout_s=300)
        load(server.url, 8, question_stream(10), seconds=5, max_n=100_000)
        stats = server.stats()
        final = rss_mb(server.pid)
    return {
        "peak_rss_mb": round(final["peak_rss_mb"], 1),
        "rss_after_start_mb": round(after_start["rss_mb"], 1),
        "rss_end_mb": round(final["rss_mb"], 1),
        "chunks": int(stats["chunks"]),
    }


def worker_rss(timeout_s: float = 240) -> dict[str, Any]:
    from celery import Celery

    work = fresh_dir("memory-worker")
    queue = f"bench-{uuid.uuid4().hex[:10]}"
    env = {
        **os.environ,
        "CHRONORAG_REDIS_URL": REDIS_URL,
        "CHRONORAG_CELERY_QUEUE": queue,
        "CHRONORAG_DATA_DIR": str(work / "data"),
        "CHRONORAG_STREAM_ENABLED": "false",
    }
    log = work / "worker.log"
    cmd = [sys.executable, "-m", "workers.cli", "worker", "--concurrency", "4",
           "--pool", "threads", "--queues", queue, "--loglevel", "INFO"]  # fmt: skip
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=log.open("ab"), stderr=subprocess.STDOUT)
    try:
        app = Celery("bench", broker=REDIS_URL)
        app.send_task("chronorag.ingest_document", args=["default", "no-such-doc", 1], queue=queue)
        deadline = time.monotonic() + timeout_s
        while "succeeded" not in log.read_text(errors="replace"):
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"worker did not run its task:\n{log.read_text()[-3000:]}")
            time.sleep(0.5)
        time.sleep(1.0)
        mem = rss_mb(proc.pid)
    finally:
        proc.terminate()
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
        drop_queue(queue)
    return {"rss_mb": round(mem["rss_mb"], 1), "peak_rss_mb": round(mem["peak_rss_mb"], 1)}


def main(argv: list[str] | None = None) -> dict[str, Any]:
    served = serve_peak(100_000)
    worker = worker_rss()
    result = {
        "api_rss_mb": served["peak_rss_mb"],
        "worker_rss_mb": worker["peak_rss_mb"],
        "chunks": served["chunks"],
        "serve": served,
        "standalone_worker": worker,
        "note": (
            "api_rss_mb: peak RSS of `chronorag serve` (API + in-process worker + embedded "
            "Qdrant + model: one process in the default topology) at ~100k chunks after 8-client "
            "queries and 12 ingests. worker_rss_mb: peak RSS of a standalone `chronorag worker` "
            "(threads pool, 4) after loading the model and running one task, with an empty "
            "embedded store (with a Qdrant server it holds no chunks at all)."
        ),
    }
    table(
        "Memory (MiB)",
        ["process", "peak RSS", "chunks"],
        [
            ["chronorag serve (API + in-process worker)", served["peak_rss_mb"], served["chunks"]],
            ["standalone chronorag worker", worker["peak_rss_mb"], "-"],
        ],
    )
    write_result("memory", result)
    return result


if __name__ == "__main__":
    main()
