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
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from app.core.models import DocumentRecord
from app.core.services import build_services
from app.core.settings import Settings
from app.core.timeutil import utcnow
from app.ingest.chunking import chunk_text
from app.ingest.embedding import SentenceTransformerEmbedder
from app.ingest.pipeline import IngestPipeline
from bench.common import fresh_dir, news_documents, table, write_result

BATCH_SIZES = (8, 16, 32, 64, 128)


def _record(doc_id: str, text: str) -> DocumentRecord:
    now = utcnow()
    return DocumentRecord(
        tenant="default", doc_id=doc_id, version=1, text=text, content_hash=doc_id,
        published_at=now, created_at=now, updated_at=now,
    )  # fmt: skip


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--docs", type=int, default=32)
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

    def bare(batch: int) -> float:
        t0 = time.perf_counter()
        st.encode(chunks, batch_size=batch, normalize_embeddings=True, show_progress_bar=False)
        return len(chunks) / (time.perf_counter() - t0)

    services = build_services(base, embedder=model)
    run = 0

    def pipeline(concurrency: int) -> tuple[float, dict[str, Any]]:
        nonlocal run
        run += 1
        pipe = IngestPipeline(services, [])
        ids = [f"emb-{run}-{i}" for i in range(len(docs))]
        for doc_id, d in zip(ids, docs, strict=True):
            services.stores.documents.put(_record(doc_id, d.text))
        before = services.metrics.snapshot()
        batches_before = services.embedder.stats.batches  # type: ignore[attr-defined]
        t0 = time.perf_counter()
        with ThreadPoolExecutor(concurrency) as pool:
            outcomes = list(pool.map(lambda i: pipe.ingest("default", i, 1), ids))
        wall = time.perf_counter() - t0
        assert outcomes == ["indexed"] * len(ids), outcomes
        after = services.metrics.snapshot()
        n = int(after["counts"]["chunks_indexed"]) - int(before["counts"].get("chunks_indexed", 0))
        assert n == len(chunks), (n, len(chunks))
        stages = {
            k: round(after["seconds"][k] - before["seconds"].get(k, 0.0), 3)
            for k in after["seconds"]
        }
        batches = services.embedder.stats.batches - batches_before  # type: ignore[attr-defined]
        return n / wall, {"wall_s": round(wall, 2), "stage_s": stages, "batches": batches}

    concurrency = base.embedded_worker_concurrency
    sweep = {b: bare(b) for b in BATCH_SIZES}
    best_batch = max(sweep, key=lambda b: sweep[b])
    pipe_rates: list[float] = []
    detail: dict[str, Any] = {}
    one_rates: list[float] = []
    bare_rates = [sweep[best_batch]]
    for _ in range(2):
        rate, detail = pipeline(concurrency)
        pipe_rates.append(rate)
        one, _ = pipeline(1)
        one_rates.append(one)
        bare_rates.append(bare(best_batch))

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

    pipeline_rate, bare_rate = max(pipe_rates), max(bare_rates)
    result = {
        "pipeline_rate": round(pipeline_rate, 2),
        "bare_rate": round(bare_rate, 2),
        "ratio": round(pipeline_rate / bare_rate, 3),
        "chunks": len(chunks),
        "documents": len(docs),
        "mean_chunk_tokens": round(sum(model.count_tokens(chunks)) / len(chunks), 1),
        "torch_threads": threads,
        "worker_threads": concurrency,
        "best_batch_size": best_batch,
        "bare_sweep": {str(b): round(r, 2) for b, r in sweep.items()},
        "pipeline_passes": [round(r, 2) for r in pipe_rates],
        "bare_passes": [round(r, 2) for r in bare_rates],
        "one_thread_per_document_rate": round(max(one_rates), 2),
        "one_thread_per_document_ratio": round(max(one_rates) / bare_rate, 3),
        "last_pass": detail,
        "tokenize_share_of_encode": round(tok_s / (len(chunks) / bare_rate), 4),
        "count_tokens_share_of_encode": round(count_s / (len(chunks) / bare_rate), 4),
        "batch_size": base.embedding_batch_size,
        "batch_wait_ms": base.embedding_batch_wait_ms,
        "note": "in-process IngestPipeline + EmbeddingBatcher + embedded Qdrant; no HTTP/broker",
    }
    table(
        "Embedding: ingest pipeline vs bare encode (chunks/s)",
        ["what", "chunks/s", "vs bare"],
        [
            [f"bare encode, batch {best_batch}", result["bare_rate"], 1.0],
            [f"pipeline, {concurrency} threads + batcher", result["pipeline_rate"], result["ratio"]],
            ["pipeline, 1 thread (one doc per encode)", result["one_thread_per_document_rate"],
             result["one_thread_per_document_ratio"]],
        ],
    )  # fmt: skip
    print("bare sweep (chunks/s by batch size):", result["bare_sweep"])
    write_result("embedding", result)
    return result


if __name__ == "__main__":
    main()
