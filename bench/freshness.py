"""Time from an upload's 202 to the first query that returns the document.

Uploads arrive at a steady rate of half the measured ingest capacity (``ingest.json``'s
``docs_per_s``, or a short measurement when it is absent). Each story carries a unique made-up
word; every ``--poll`` seconds the oldest pending stories are checked (status read, then, once
indexed, a ``/v1/query`` for the word) until the story appears in the evidence. The latency
includes the poll interval (at most one period) and the query itself.

    python -m bench.freshness [--seconds 60] [--poll 0.1]
"""

from __future__ import annotations

import argparse
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx

from bench.common import (
    Served,
    fresh_dir,
    news_documents,
    percentile,
    post_document,
    read_result,
    table,
    wait_indexed,
    write_result,
)


def _capacity() -> tuple[float, str]:
    measured = read_result("ingest")
    if measured and measured.get("docs_per_s"):
        return float(measured["docs_per_s"]), "bench/results/ingest.json"
    from bench.ingest import measure

    return float(measure(16, {})["docs_per_s"]), "measured now (16 docs)"


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--poll", type=float, default=0.1)
    args = parser.parse_args(argv)

    capacity, source = _capacity()
    rate = capacity / 2
    n = max(10, min(150, int(rate * args.seconds)))
    docs = news_documents(n, seed=31, prefix="fresh", nonce=True)
    nonces = {d.id: d.text.split("known internally as ", 1)[1].split(".", 1)[0] for d in docs}

    accepted: dict[str, float] = {}
    visible: dict[str, float] = {}
    lock = threading.Lock()
    uploads_done = threading.Event()
    query_ms: list[float] = []

    work = fresh_dir("freshness")
    with Served(work / "data") as server:
        with httpx.Client(base_url=server.url, timeout=60) as c:
            warm = news_documents(2, seed=1031, prefix="warm")
            for d in warm:
                post_document(c, d.body())
            wait_indexed(c, [d.id for d in warm], timeout_s=120)

        def upload() -> None:
            with httpx.Client(base_url=server.url, timeout=60) as client:
                t0 = time.monotonic()
                for i, d in enumerate(docs):
                    delay = t0 + i / rate - time.monotonic()
                    if delay > 0:
                        time.sleep(delay)
                    post_document(client, d.body())
                    with lock:
                        accepted[d.id] = time.monotonic()
            uploads_done.set()

        def probe(client: httpx.Client, doc_id: str) -> None:
            # A cheap status read gates the query: a story is query-visible exactly when its
            # record says indexed (one write sets both), and querying every pending story
            # every tick would spend the very CPU the worker needs (an observer effect that
            # grows with the backlog). The latency is still taken from the query's answer.
            if client.get(f"/v1/documents/{doc_id}").json().get("status") != "indexed":
                return
            q = {"question": f"What is the project known internally as {nonces[doc_id]}?",
                 "top_k": 10, "use_time": False}  # fmt: skip
            t = time.monotonic()
            body = client.post("/v1/query", json=q).json()
            done = time.monotonic()
            with lock:
                query_ms.append((done - t) * 1000)
                if any(e["document_id"] == doc_id for e in body.get("evidence", [])):
                    visible.setdefault(doc_id, done)

        uploader = threading.Thread(target=upload, daemon=True)
        uploader.start()
        deadline = time.monotonic() + args.seconds * 3 + 120
        clients = [httpx.Client(base_url=server.url, timeout=60) for _ in range(2)]
        with ThreadPoolExecutor(2) as pool:
            while time.monotonic() < deadline:
                tick = time.monotonic()
                with lock:
                    # Oldest first, a few at a time: the worker finishes roughly in order.
                    waiting = [d for d in accepted if d not in visible][:6]
                    finished = uploads_done.is_set() and len(visible) == len(docs)
                if finished:
                    break
                futures = [
                    pool.submit(probe, clients[i % 2], doc_id) for i, doc_id in enumerate(waiting)
                ]
                for f in futures:
                    f.result()
                time.sleep(max(0.0, args.poll - (time.monotonic() - tick)))
        for client in clients:
            client.close()
        uploader.join(10)
        stats = server.stats()

    latencies = [visible[d] - accepted[d] for d in visible]
    missing = len(docs) - len(visible)
    result = {
        "p50_s": round(percentile(latencies, 50), 3),
        "p99_s": round(percentile(latencies, 99), 3),
        "upload_rate": round(rate, 3),
        "max_s": round(max(latencies), 3) if latencies else None,
        "documents": len(docs),
        "never_visible": missing,
        "capacity_docs_per_s": capacity,
        "capacity_from": source,
        "poll_interval_s": args.poll,
        "probe_query_p50_ms": round(percentile(query_ms, 50), 1),
        "probe_queries": len(query_ms),
        "server_counts": stats.get("counts", {}),
        "note": "latency = first probe answer containing the document − its 202; includes the "
        "poll interval and the probe query itself",
    }
    table(
        "Freshness: 202 → first query that returns the document",
        ["upload rate (docs/s)", "docs", "p50 s", "p99 s", "max s", "never visible"],
        [[result["upload_rate"], len(docs), result["p50_s"], result["p99_s"], result["max_s"],
          missing]],
    )  # fmt: skip
    write_result("freshness", result)
    return result


if __name__ == "__main__":
    main()
