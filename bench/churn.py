"""Recall and deleted results under churn: delete 10% of documents and add as many, 10 rounds.

Everything goes through the API and the real in-process worker. After each round (deletes
``deleted``, new documents ``indexed``):

* recall@10: for fixed query vectors, the service's dense retrieval (``POST
  /v1/admin/search``: Qdrant plus the readers' visibility rule, without lexical fusion, which
  an exact search cannot reproduce) against exact cosine search with numpy over the vectors
  of the live chunks (computed here with the same model and chunker);
* deleted hits: results from deleted documents in that search, in ``/v1/query`` evidence for a
  question naming each deleted story's unique word, and in the facts' sources. Must be 0.

    python -m bench.churn [--docs 100] [--rounds 10]
"""

from __future__ import annotations

import argparse
import random
import time
from typing import Any

import httpx
import numpy as np

from bench.common import (
    Served,
    fresh_dir,
    news_documents,
    post_document,
    table,
    wait_indexed,
    write_result,
)


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--docs", type=int, default=100)
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--words", type=int, default=300)
    parser.add_argument("--queries", type=int, default=40)
    args = parser.parse_args(argv)

    from app.core.settings import Settings
    from app.embeddings.embedding import SentenceTransformerEmbedder
    from app.ingest.chunking import chunk_text

    settings = Settings()
    per_round = max(1, args.docs // 10)
    initial = news_documents(args.docs, seed=41, words=args.words, prefix="churn", nonce=True)
    incoming = news_documents(
        per_round * args.rounds, seed=42, words=args.words, prefix="churn-new", nonce=True
    )
    by_id = {d.id: d for d in initial + incoming}
    nonce = {
        d.id: d.text.split("known internally as ", 1)[1].split(".", 1)[0] for d in by_id.values()
    }

    # Reference vectors, computed before the server starts (same model, chunker and limits).
    t0 = time.monotonic()
    model = SentenceTransformerEmbedder(settings.embedding_model, device="cpu")
    max_tokens = min(settings.chunk_max_tokens, model.max_tokens - 2)
    keys: list[tuple[str, int]] = []
    texts: list[str] = []
    for d in by_id.values():
        for c in chunk_text(d.text, model.count_tokens, max_tokens=max_tokens,
                            overlap_sentences=settings.chunk_overlap_sentences):  # fmt: skip
            keys.append((d.id, c.index))
            texts.append(c.text)
    matrix = model.embed_documents(texts)
    rng = random.Random(43)
    probes = [
        d.text.split(". ")[rng.randrange(3, 12)]
        for d in rng.sample(list(by_id.values()), args.queries)
    ]
    qvecs = model.embed_documents(probes)  # document-side vectors for probe sentences
    print(f"reference: {len(texts)} chunks embedded in {time.monotonic() - t0:.0f}s", flush=True)
    del model

    live = {d.id for d in initial}
    deleted: set[str] = set()
    recalls: list[float] = []
    deleted_hits = 0
    rounds: list[dict[str, Any]] = []
    work = fresh_dir("churn")
    with Served(work / "data") as server, httpx.Client(base_url=server.url, timeout=60) as c:
        for d in initial:
            post_document(c, d.body())
        wait_indexed(c, [d.id for d in initial], timeout_s=900)
        for r in range(1, args.rounds + 1):
            t = time.monotonic()
            gone = rng.sample(sorted(live), per_round)
            new = incoming[(r - 1) * per_round : r * per_round]
            for doc_id in gone:
                resp = c.delete(f"/v1/documents/{doc_id}")
                assert resp.status_code == 202, resp.text
            for d in new:
                post_document(c, d.body())
            wait_indexed(c, gone, timeout_s=300, want="deleted")
            wait_indexed(c, [d.id for d in new], timeout_s=600)
            live = (live - set(gone)) | {d.id for d in new}
            deleted |= set(gone)
            settle_s = time.monotonic() - t

            mask = np.array([k[0] in live for k in keys])
            live_keys = [k for k, m in zip(keys, mask, strict=True) if m]
            live_matrix = matrix[mask]
            hits_round = 0
            recall_sum = 0.0
            for v in qvecs:
                exact = {live_keys[i] for i in np.argsort(-(live_matrix @ v))[:10]}
                body = c.post("/v1/admin/search", json={"vector": v.tolist(), "top_k": 10}).json()
                got = {(h["document_id"], h["chunk"]) for h in body["hits"]}
                hits_round += sum(1 for h in body["hits"] if h["document_id"] in deleted)
                recall_sum += len(got & exact) / 10
            for doc_id in gone:
                q = {"question": f"What is the project known internally as {nonce[doc_id]}?",
                     "top_k": 10, "use_time": False}  # fmt: skip
                ans = c.post("/v1/query", json=q).json()
                hits_round += sum(1 for e in ans["evidence"] if e["document_id"] in deleted)
                for fact in ans.get("facts", []):
                    sources = {s.rsplit("@", 1)[0] for s in fact.get("sources", [])}
                    hits_round += len(sources & deleted)
            recall = recall_sum / len(qvecs)
            recalls.append(round(recall, 4))
            deleted_hits += hits_round
            rounds.append({"round": r, "live_docs": len(live), "live_chunks": int(mask.sum()),
                           "recall_at_10": round(recall, 4), "deleted_hits": hits_round,
                           "settle_s": round(settle_s, 2)})  # fmt: skip
            print(rounds[-1], flush=True)

    result = {
        "recall_at_10": recalls,
        "deleted_hits": deleted_hits,
        "rounds": rounds,
        "documents": args.docs,
        "per_round": per_round,
        "queries": args.queries,
        "note": (
            "recall is dense retrieval through POST /v1/admin/search (Qdrant + visibility rule) "
            "vs numpy exact search over the live chunks' vectors; deleted hits are counted in "
            "that search, in /v1/query evidence for each deleted story's unique word, and in "
            "facts' sources"
        ),
    }
    table(
        f"Churn: {args.rounds} rounds of deleting and adding {per_round} of {args.docs} documents",
        ["round", "live chunks", "recall@10", "deleted hits", "settle s"],
        [[x["round"], x["live_chunks"], x["recall_at_10"], x["deleted_hits"], x["settle_s"]]
         for x in rounds],
    )  # fmt: skip
    write_result("churn", result)
    return result


if __name__ == "__main__":
    main()
