"""Chunk-embedding rate of the ingest pipeline vs a bare ``SentenceTransformer.encode``.

A component benchmark: the real ``IngestPipeline`` (chunk → embed through the
``EmbeddingBatcher`` → store in embedded Qdrant → commit), run by a thread pool the size of the
in-process worker's (``embedded_worker_concurrency``), as Celery's threads pool runs it —
without HTTP or the broker, which ``bench/ingest.py`` covers. The bare rate is ``encode`` on the
very same chunk texts at its best batch size (swept), with the same torch threads. Passes are
interleaved and the best of each kept, because this machine is shared and noisy.

    python -m bench.embedding [--docs 32]
"""

from __future__ import annotations

import argparse
import statistics
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from app.core.models import DocumentRecord
from app.core.settings import Settings
from app.core.timeutil import utcnow
from app.embeddings.embedding import SentenceTransformerEmbedder
from app.ingest.chunking import chunk_text
from app.wiring import build_pipeline, build_services
from bench.common import fresh_dir, news_documents, table, write_result

BATCH_SIZES = (16, 32, 64, 128)


def pending_record(doc_id: str, text: str) -> DocumentRecord:
    """A version-1 document record as intake writes it, for driving the pipeline directly."""
    now = utcnow()
    return DocumentRecord(
        tenant="default", doc_id=doc_id, version=1, text=text, content_hash=doc_id,
        published_at=now, created_at=now, updated_at=now,
    )  # fmt: skip


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--docs", type=int, default=24)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args(argv)

    base = Settings(data_dir=fresh_dir("embedding"), redis_url=None, query_encoder="torch")
    model = SentenceTransformerEmbedder(
        base.embedding_model, device=base.embedding_device,
        batch_size=base.embedding_batch_size, threads=base.embedding_threads,
    )  # fmt: skip
    import torch

    threads = torch.get_num_threads()
    st = model.sentence_transformer
    docs = news_documents(args.docs, seed=11)
    max_tokens = min(base.chunk_max_tokens, model.max_tokens - 2)
    chunks = [
        c.text
        for d in docs
        for c in chunk_text(d.text, model.count_tokens, max_tokens=max_tokens,
                            overlap_sentences=base.chunk_overlap_sentences)
    ]  # fmt: skip
    st.encode(chunks[:16], batch_size=16)  # warm up

    def bare(batch: int, texts: list[str] = chunks) -> tuple[float, float]:
        """(chunks per wall second, chunks per CPU second of this process)."""
        t0, c0 = time.perf_counter(), time.process_time()
        st.encode(texts, batch_size=batch, normalize_embeddings=True, show_progress_bar=False)
        return len(texts) / (time.perf_counter() - t0), len(texts) / (time.process_time() - c0)

    services = build_services(base, embedder=model)
    run = 0

    def pipeline(concurrency: int) -> tuple[float, float, dict[str, Any]]:
        nonlocal run
        run += 1
        pipe = build_pipeline(services)
        ids = [f"emb-{run}-{i}" for i in range(len(docs))]
        for doc_id, d in zip(ids, docs, strict=True):
            services.stores.documents.put(pending_record(doc_id, d.text))
        before = services.metrics.snapshot()
        batches_before = services.embedder.stats.batches  # type: ignore[attr-defined]
        t0, c0 = time.perf_counter(), time.process_time()
        with ThreadPoolExecutor(concurrency) as pool:
            outcomes = list(pool.map(lambda i: pipe.ingest("default", i, 1), ids))
        wall, cpu = time.perf_counter() - t0, time.process_time() - c0
        assert outcomes == ["indexed"] * len(ids), outcomes
        after = services.metrics.snapshot()
        n = int(after["counts"]["chunks_indexed"]) - int(before["counts"].get("chunks_indexed", 0))
        assert n == len(chunks), (n, len(chunks))
        stages = {
            k: round(after["seconds"][k] - before["seconds"].get(k, 0.0), 3)
            for k in after["seconds"]
        }
        batches = services.embedder.stats.batches - batches_before  # type: ignore[attr-defined]
        info = {"wall_s": round(wall, 2), "cpu_s": round(cpu, 2), "stage_s": stages,
                "batches": batches}  # fmt: skip
        return n / wall, n / cpu, info

    concurrency = base.embedded_worker_concurrency
    # Bare encode is swept over every batch size in every round, on all the chunks, and each
    # round compares the pipeline with that round's best size: the machine is shared and noisy,
    # so only numbers taken minutes apart are compared.
    rounds: list[dict[str, float]] = []
    sweep: dict[int, list[float]] = {b: [] for b in BATCH_SIZES}
    detail: dict[str, Any] = {}
    for i in range(args.rounds):
        sizes = {b: bare(b) for b in BATCH_SIZES}
        for b, (wall, _) in sizes.items():
            sweep[b].append(wall)
        best = max(sizes, key=lambda b: sizes[b][0])
        b_wall, b_cpu = sizes[best]
        p_wall, p_cpu, detail = pipeline(concurrency)
        row = {"bare": b_wall, "bare_batch": float(best), "pipeline": p_wall,
               "ratio": p_wall / b_wall, "cpu_ratio": p_cpu / b_cpu}  # fmt: skip
        if i < 2:
            o_wall, o_cpu, _ = pipeline(1)
            row |= {"one_thread": o_wall, "one_thread_ratio": o_wall / b_wall}
        rounds.append(row)
        print("round", i + 1, {k: round(v, 3) for k, v in row.items()}, flush=True)
    best_batch = max(sweep, key=lambda b: statistics.median(sweep[b]))

    # Tokenisation: what counting (chunker) and encoding's own tokenizer call cost per chunk.
    sentences = [s for d in docs for s in d.text.split(". ")]
    t0 = time.perf_counter()
    model.count_tokens(sentences)
    count_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    for i in range(0, len(chunks), best_batch):
        st.tokenizer(chunks[i : i + best_batch], padding=True, truncation=True, max_length=256)
    tok_s = time.perf_counter() - t0
    services.close()

    def med(key: str) -> float:
        return float(statistics.median(r[key] for r in rounds if key in r))

    result = {
        "pipeline_rate": round(med("pipeline"), 2),
        "bare_rate": round(med("bare"), 2),
        "ratio": round(med("ratio"), 3),
        "ratio_cpu_time": round(med("cpu_ratio"), 3),
        "chunks": len(chunks),
        "documents": len(docs),
        "mean_chunk_tokens": round(sum(model.count_tokens(chunks)) / len(chunks), 1),
        "torch_threads": threads,
        "worker_threads": concurrency,
        "best_batch_size": best_batch,
        "bare_sweep_median": {str(b): round(statistics.median(r), 2) for b, r in sweep.items()},
        "rounds": [{k: round(v, 3) for k, v in r.items()} for r in rounds],
        "one_thread_per_document_rate": round(med("one_thread"), 2),
        "one_thread_per_document_ratio": round(med("one_thread_ratio"), 3),
        "last_pass": detail,
        "tokenize_share_of_encode": round(tok_s / (len(chunks) / med("bare")), 4),
        "count_tokens_share_of_encode": round(count_s / (len(chunks) / med("bare")), 4),
        "batch_size": base.embedding_batch_size,
        "batch_wait_ms": base.embedding_batch_wait_ms,
        "note": (
            "in-process IngestPipeline + EmbeddingBatcher + embedded Qdrant, no HTTP/broker; "
            "rates and ratios are medians over rounds; each round sweeps bare encode over "
            "the batch sizes and compares the pipeline with that round's best"
        ),
    }
    table(
        "Embedding: ingest pipeline vs bare encode (chunks/s)",
        ["what", "chunks/s", "vs bare"],
        [
            ["bare encode, best batch size per round", result["bare_rate"], 1.0],
            [f"pipeline, {concurrency} threads + batcher", result["pipeline_rate"],
             result["ratio"]],
            ["pipeline, 1 thread (one doc per encode)", result["one_thread_per_document_rate"],
             result["one_thread_per_document_ratio"]],
        ],
    )  # fmt: skip
    print("bare sweep (median chunks/s by batch size):", result["bare_sweep_median"])
    write_result("embedding", result)
    return result


if __name__ == "__main__":
    main()
