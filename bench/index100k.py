"""A 100,000-chunk index built directly through ``QdrantChunkStore`` (for query and memory).

Embedding 100k real chunks takes over an hour on 2 CPU cores, so the vectors are synthetic but
shaped like real ones: a pool of generated news sentences is embedded with the real model, and
each chunk is six sentences about one company, with the normalised mean of their embeddings
plus small Gaussian noise as its vector (so chunks cluster by company, as real ones do). Chunk
texts are those six sentences, so the BM25 side is real too. Document records are written as
the pipeline writes them (status ``indexed``), so the visibility rule applies as in production.
The folder is cached under the benchmark work dir and reused; callers copy it before writing.
"""

from __future__ import annotations

import random
import shutil
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np

from bench.common import ORG_A, ORG_B, ROOT, WORK, news_sentence

VERSION = "v1"
CHUNKS_PER_DOC = 5
SENTENCES_PER_CHUNK = 6
POOL_PER_ORG = 24
NOISE = 0.015


def orgs() -> list[str]:
    return [f"{a} {b}" for a in ORG_A for b in ORG_B]


def build(n_chunks: int = 100_000, *, seed: int = 5) -> Path:
    """The cached index folder (a data dir for ``chronorag serve --data-dir``)."""
    target = WORK / f"index-{n_chunks}-{VERSION}"
    if (target / "READY").exists():
        return target
    if target.exists():
        shutil.rmtree(target)
    t0 = time.monotonic()
    from app.core.models import DocumentRecord
    from app.core.settings import Settings
    from app.embeddings.embedding import SentenceTransformerEmbedder
    from app.stores.chunks import ChunkWrite, QdrantChunkStore
    from app.stores.documents import QdrantDocumentStore
    from app.stores.engines import EdgeEngine
    from app.stores.lexical import Bm25Encoder

    settings = Settings()
    model = SentenceTransformerEmbedder(settings.embedding_model, device="cpu", batch_size=64)
    rng = random.Random(seed)
    companies = orgs()
    base = datetime(2004, 1, 1, tzinfo=UTC)
    pool: dict[str, list[str]] = {}
    for org in companies:
        when = base + timedelta(days=rng.randint(0, 7300))
        pool[org] = [news_sentence(rng, org, when) for _ in range(POOL_PER_ORG)]
    flat = [s for org in companies for s in pool[org]]
    vecs = model.embed_documents(flat)
    index = {
        org: vecs[i * POOL_PER_ORG : (i + 1) * POOL_PER_ORG] for i, org in enumerate(companies)
    }
    print(f"embedded {len(flat)} pool sentences in {time.monotonic() - t0:.0f}s", flush=True)

    engine = EdgeEngine(target / "qdrant")
    prefix = settings.collection_prefix
    chunks = QdrantChunkStore(engine, prefix, model.dimension)
    documents = QdrantDocumentStore(engine, prefix)
    lexical = Bm25Encoder()
    nrng = np.random.default_rng(seed)
    n_docs = n_chunks // CHUNKS_PER_DOC
    for d in range(n_docs):
        org = companies[d % len(companies)]
        published = base + timedelta(days=rng.randint(0, 7480), hours=rng.randint(0, 23))
        writes = []
        texts = []
        for c in range(CHUNKS_PER_DOC):
            picks = rng.sample(range(POOL_PER_ORG), SENTENCES_PER_CHUNK)
            text = " ".join(pool[org][i] for i in picks)
            v = index[org][picks].mean(axis=0) + nrng.normal(0, NOISE, model.dimension)
            v = (v / np.linalg.norm(v)).astype(np.float32)
            writes.append(ChunkWrite(c, text, v, lexical.document(text)))
            texts.append(text)
        doc_id = f"syn-{d:06d}"
        title = f"{org}: report {d}"
        chunks.upsert("default", doc_id, 1, published.timestamp(), writes, title=title)
        now = datetime.now(UTC)
        documents.put(
            DocumentRecord(
                tenant="default", doc_id=doc_id, version=1, text="\n\n".join(texts),
                content_hash=doc_id, published_at=published, created_at=now, updated_at=now,
                status="indexed", indexed_version=1, indexed_at=now, chunks=CHUNKS_PER_DOC,
                title=title,
            )
        )  # fmt: skip
        if d and d % 5000 == 0:
            print(f"  {d * CHUNKS_PER_DOC} chunks, {time.monotonic() - t0:.0f}s", flush=True)
    engine.close()
    (target / "READY").write_text(f"{n_chunks} chunks, built in {time.monotonic() - t0:.0f}s\n")
    print(f"built {n_chunks} chunks in {time.monotonic() - t0:.0f}s", flush=True)
    return target


def optimized(src: Path) -> tuple[Path, float]:
    """A cached copy of ``src`` after ``chronorag optimize`` (HNSW built); and its seconds."""
    target = src.with_name(src.name + "-hnsw")
    ready = target / "READY-HNSW"
    if ready.exists():
        return target, float(ready.read_text().split()[0])
    if target.exists():
        shutil.rmtree(target)
    shutil.copytree(src, target)
    print("building HNSW with `chronorag optimize` (minutes)...", flush=True)
    t0 = time.monotonic()
    cmd = [sys.executable, "-m", "workers.cli", "optimize", "--data-dir", str(target)]
    subprocess.run(cmd, cwd=ROOT, check=True)
    took = time.monotonic() - t0
    ready.write_text(f"{took:.1f} seconds of chronorag optimize\n")
    return target, took


def copy_of(src: Path, dst: Path) -> Path:
    """A private copy to serve from when the run writes (the cached folder stays pristine)."""
    shutil.copytree(src, dst)
    return dst


if __name__ == "__main__":
    print(build())
