"""What the NLP layer (``graph.nlp``: entities and sentence bounds per chunk) costs at ingest.

The real ``IngestPipeline`` (chunk → embed → NLP → store → commit, no fact extraction, so the
difference is the NLP stage alone), run by a thread pool the size of the in-process worker's,
once with the spaCy annotator and once with ``CHRONORAG_NLP=off``, interleaved, best of each
kept (the machine is shared and noisy). Also the annotator alone, per document.

    python -m bench.nlp [--docs 24] [--rounds 3]
"""

from __future__ import annotations

import argparse
import dataclasses
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from app.core.settings import Settings
from app.embeddings.embedding import SentenceTransformerEmbedder
from app.ingest.chunking import chunk_text
from app.services import Services
from app.wiring import build_pipeline, build_services
from bench.common import fresh_dir, news_documents, table, write_result
from bench.embedding import pending_record
from graph.nlp import SpacyAnnotator


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--docs", type=int, default=24)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args(argv)

    base = Settings(data_dir=fresh_dir("nlp"), redis_url=None, query_encoder="torch")
    model = SentenceTransformerEmbedder(
        base.embedding_model, device=base.embedding_device,
        batch_size=base.embedding_batch_size, threads=base.embedding_threads,
    )  # fmt: skip
    docs = news_documents(args.docs, seed=13)
    words = sum(len(d.text.split()) for d in docs) / len(docs)
    max_tokens = min(base.chunk_max_tokens, model.max_tokens - 2)
    chunked = [
        [c.text for c in chunk_text(d.text, model.count_tokens, max_tokens=max_tokens,
                                    overlap_sentences=base.chunk_overlap_sentences)]
        for d in docs
    ]  # fmt: skip
    with_nlp = build_services(base, embedder=model)
    annotator = with_nlp.annotator
    assert isinstance(annotator, SpacyAnnotator), "CHRONORAG_NLP must be spacy for this bench"
    annotator.annotate(chunked[0])  # loads the model (about a second, once per process)
    without = dataclasses.replace(with_nlp, annotator=None)

    def alone() -> float:
        """Seconds per document of the annotator by itself."""
        t0 = time.perf_counter()
        for chunks in chunked:
            annotator.annotate(chunks)
        return (time.perf_counter() - t0) / len(chunked)

    run = 0

    def ingest(services: Services) -> tuple[float, float]:
        """(documents per second, NLP stage seconds per document)."""
        nonlocal run
        run += 1
        pipe = build_pipeline(services)
        ids = [f"nlp-{run}-{i}" for i in range(len(docs))]
        for doc_id, d in zip(ids, docs, strict=True):
            services.stores.documents.put(pending_record(doc_id, d.text))
        before = services.metrics.snapshot()["seconds"].get("nlp", 0.0)
        t0 = time.perf_counter()
        with ThreadPoolExecutor(base.embedded_worker_concurrency) as pool:
            outcomes = list(pool.map(lambda i: pipe.ingest("default", i, 1), ids))
        wall = time.perf_counter() - t0
        assert outcomes == ["indexed"] * len(ids), outcomes
        nlp_s = services.metrics.snapshot()["seconds"].get("nlp", 0.0) - before
        return len(ids) / wall, nlp_s / len(ids)

    ingest(without)  # warm up the embedder and the store
    rounds = []
    for _ in range(args.rounds):
        off, _ = ingest(without)
        on, stage = ingest(with_nlp)
        rounds.append({"off": off, "on": on, "stage_s": stage, "alone_s": alone()})
    off = max(r["off"] for r in rounds)
    on = max(r["on"] for r in rounds)
    alone_s = min(r["alone_s"] for r in rounds)
    result = {
        "docs": len(docs),
        "words_per_doc": round(words),
        "chunks_per_doc": round(sum(map(len, chunked)) / len(chunked), 2),
        "docs_per_s_nlp_off": round(off, 2),
        "docs_per_s_nlp_on": round(on, 2),
        "ratio": round(on / off, 3),
        "nlp_ms_per_doc_alone": round(alone_s * 1000, 1),
        "nlp_stage_ms_per_doc": round(min(r["stage_s"] for r in rounds) * 1000, 1),
        "rounds": rounds,
    }
    table(  # prints itself
        f"NLP layer cost ({len(docs)} docs of ~{round(words)} words, best of {args.rounds})",
        ["ingest docs/s, NLP off", "ingest docs/s, NLP on", "ratio", "NLP ms/doc alone"],
        [[off, on, on / off, alone_s * 1000]],
    )
    write_result("nlp", result)
    return result


if __name__ == "__main__":
    main()
