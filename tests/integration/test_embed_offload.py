"""Embedding offload over real Redis and a real Celery worker: CPU workers send their texts to
the ``embed`` queue, a worker consuming it (a GPU worker in production) returns the vectors."""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import redis
from celery import Celery

from app.core.errors import ConfigurationError, Unavailable
from app.core.settings import Settings
from app.embeddings.embedding import SentenceTransformerTokenizer, resolve_model_path
from app.ingest.intake import DocumentInput, IntakeService
from app.services import Services
from app.wiring import build_batcher, build_pipeline, build_runtime, build_services
from tests.conftest import ROOT
from tests.dispatchers import IdleDispatcher
from workers.celery_app import create_celery
from workers.dispatch import CeleryDispatcher
from workers.offload import QueueEmbedder, decode_vectors, encode_vectors
from workers.runtime import runtime_of

TEXTS = [
    "The harbour authority appointed a new pilot for the winter season.",
    "Rainfall in the northern valleys was twice the ten-year average.",
    "A short one.",
]


@dataclass
class Rig:
    settings: Settings
    services: Services
    celery: Celery
    queue_embedder: QueueEmbedder


@pytest.fixture()
def rig(tmp_path: Path, redis_url: str, embedder: Any) -> Iterator[Rig]:
    import workers.tasks  # noqa: F401  (registers the shared tasks)

    tag = uuid.uuid4().hex[:8]
    settings = Settings(
        data_dir=tmp_path / "data",
        redis_url=redis_url,
        celery_queue=f"offload-ingest-{tag}",
        embed_queue=f"offload-embed-{tag}",
        embed_timeout_s=30,
        query_encoder="torch",
        stream_enabled=False,
    )
    services = build_services(settings, embedder=embedder)
    celery = create_celery(settings)
    runtime_of(celery).install(
        build_runtime(services, CeleryDispatcher(celery, settings.celery_queue))
    )
    # The embed worker: what `celery worker -Q embed --pool threads` runs on a GPU machine.
    celery.set_default()  # as `chronorag worker` does: pool threads find this app
    worker = celery.WorkController(
        pool_cls="threads",
        concurrency=4,
        without_heartbeat=True,
        without_mingle=True,
        without_gossip=True,
        queues=[settings.embed_queue],
        loglevel="WARNING",
    )
    thread = threading.Thread(target=worker.start, daemon=True)
    thread.start()
    offloading = QueueEmbedder(
        celery, redis_url, settings.embed_queue, embedder, settings.embed_timeout_s
    )
    try:
        yield Rig(settings, services, celery, offloading)
    finally:
        worker.stop(in_sighandler=False)
        thread.join(10)
        # A started worker marks the whole process as "inside a worker" (result.get() then
        # refuses to block); later tests in this process are not.
        from celery._state import _set_task_join_will_block

        _set_task_join_will_block(False)
        offloading.close()
        services.close()
        with redis.Redis.from_url(redis_url) as r:
            r.delete(settings.embed_queue, settings.celery_queue)


def test_offloaded_vectors_equal_local_ones(rig: Rig, embedder: Any) -> None:
    remote = rig.queue_embedder.embed_documents(TEXTS)
    local = embedder.embed_documents(TEXTS)
    assert remote.shape == local.shape == (3, embedder.dimension)
    np.testing.assert_allclose(remote, local, atol=1e-5)
    assert rig.queue_embedder.embed_documents([]).shape == (0, embedder.dimension)


def test_concurrent_calls_from_cpu_workers_share_batches(rig: Rig) -> None:
    """The embed worker's batcher merges calls that arrive together."""
    stats = rig.services.embedder.stats  # type: ignore[attr-defined]
    before = dataclasses.replace(stats)
    calls = [[f"{t} (call {n})" for t in TEXTS] for n in range(12)]
    results: list[np.ndarray] = []
    threads = [
        threading.Thread(target=lambda c=c: results.append(rig.queue_embedder.embed_documents(c)))
        for c in calls
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert len(results) == 12 and all(r.shape == (3, rig.queue_embedder.dimension) for r in results)
    assert stats.texts - before.texts == 36
    assert stats.batches - before.batches < 12  # at least two calls shared one forward pass


def test_document_ingested_with_offloaded_embeddings_is_found(rig: Rig) -> None:
    """A CPU worker's pipeline: chunks and writes locally, embeds through the queue."""
    cpu = dataclasses.replace(
        rig.services, embedder=build_batcher(rig.settings, rig.queue_embedder)
    )
    try:
        intake = IntakeService(rig.settings, cpu.stores.documents, cpu.locker, IdleDispatcher())
        doc_id = f"offload-{uuid.uuid4().hex[:8]}"
        text = " ".join(TEXTS[:2] * 20)
        intake.submit("default", DocumentInput(text=text, doc_id=doc_id))
        assert build_pipeline(cpu).ingest("default", doc_id, 1) == "indexed"
        record = cpu.stores.documents.get("default", doc_id)
        assert record is not None and record.status == "indexed" and record.chunks >= 1
        assert cpu.stores.chunks.count("default", doc_id) == record.chunks
    finally:
        cpu.embedder.close()  # type: ignore[attr-defined]


def test_a_mixed_batch_is_one_embed_task(rig: Rig) -> None:
    """Length grouping happens on the embed worker, not in the offloading worker's batcher."""
    stats = rig.services.embedder.stats  # type: ignore[attr-defined]
    before = dataclasses.replace(stats)
    mixed = [TEXTS[2], " ".join(TEXTS * 4), TEXTS[0], " ".join(TEXTS * 3)]
    cpu = build_batcher(rig.settings, rig.queue_embedder)
    try:
        got = cpu.embed_documents(mixed)
    finally:
        cpu.close()
    assert got.shape == (4, rig.queue_embedder.dimension)
    assert (stats.batches - before.batches, stats.texts - before.texts) == (1, 4)


VARIED = [
    *TEXTS,
    "",
    " \t\n ",
    "HELLO World, MiXeD CaSe and ALL CAPS.",
    "Ça coûte 12 € à Zürich — naïve café, Straße, Øresund, İstanbul.",
    "東京都の人口は約1400万人です。北京和上海是中国最大的城市。",
    "서울특별시는 대한민국의 수도이다. Москва — столица России. Αθήνα.",
    "مرحبا بالعالم. שלום עולם. नमस्ते दुनिया.",
    "Launch 🚀🔥 family 👩‍👩‍👧 flags 🇫🇷🇯🇵, e\u0301 vs é, a\u200bb, soft\u00adhyphen.",
    "https://example.org/a/b?c=d&e=f#g — foo_bar(x=3.14159e-10, y=[1, 2, 3]) // TODO",
    "x" * 5000,  # one word longer than word-piece's per-word limit
    " ".join(TEXTS * 300),  # ~60k characters: counts are never truncated
    " ".join(["Ça coûte 12 € à Zürich, 東京都の人口は約1400万人です。 🚀"] * 400),
]


def test_an_offloading_worker_counts_tokens_as_the_model_does(embedder: Any) -> None:
    """Chunk boundaries must not depend on whether a worker loaded the model or the tokenizer."""
    tokenizer = SentenceTransformerTokenizer("all-MiniLM-L6-v2")
    assert tokenizer.count_tokens(VARIED) == embedder.count_tokens(VARIED)
    assert max(tokenizer.count_tokens(VARIED)) > 20 * embedder.max_tokens
    assert tokenizer.count_tokens([]) == []
    assert (tokenizer.dimension, tokenizer.max_tokens, tokenizer.model_name) == (
        embedder.dimension,
        embedder.max_tokens,
        embedder.model_name,
    )


def _worker_stdout(
    tmp_path: Path, redis_url: str, script: str, args: list[str], **env: str
) -> list[str]:
    """Output lines of ``script`` run in a fresh interpreter set up as a standalone worker
    (its own queues, no stream), as ``celery -A workers.celery_app worker`` would be."""
    tag = uuid.uuid4().hex[:8]
    done = subprocess.run(
        [sys.executable, "-c", "import workers.celery_app\n" + script, *args],
        cwd=ROOT,
        env={
            **os.environ,
            "CHRONORAG_REDIS_URL": redis_url,
            "CHRONORAG_DATA_DIR": str(tmp_path / "data"),
            "CHRONORAG_CELERY_QUEUE": f"worker-ingest-{tag}",
            "CHRONORAG_EMBED_QUEUE": f"worker-embed-{tag}",
            "CHRONORAG_STREAM_ENABLED": "false",
            **env,
        },
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.splitlines()


def test_an_offloading_worker_loads_no_model(tmp_path: Path, redis_url: str, embedder: Any) -> None:
    """What ``celery -A workers.celery_app worker`` builds with offload on: no torch at all."""
    script = (
        "import sys\n"
        "from workers.celery_app import app\n"
        "from workers.runtime import runtime_of\n"
        "rt = runtime_of(app).get()\n"
        "print(rt.services.embedder.count_tokens(sys.argv[1:]), 'torch' in sys.modules)\n"
        "rt.services.close()\n"
    )
    lines = _worker_stdout(
        tmp_path, redis_url, script, VARIED[3:12], CHRONORAG_EMBEDDING_OFFLOAD="true"
    )
    assert lines[-1] == f"{embedder.count_tokens(VARIED[3:12])} False"


def test_an_embed_only_worker_opens_no_store(tmp_path: Path, redis_url: str) -> None:
    """An embed task on a fresh GPU worker loads the model only; the runtime built later (an
    ingest task on ``--queues embed,ingest``) reuses the same batcher, not a second model."""
    script = (
        "import pathlib, sys\n"
        "from workers.celery_app import app\n"
        "from workers.runtime import runtime_of\n"
        "side = runtime_of(app).embed_side()\n"
        "rows = side.embedder.embed_documents(['one text', 'and another one']).shape[0]\n"
        "qdrant = pathlib.Path(sys.argv[1]) / 'qdrant'\n"
        "print(rows, qdrant.exists())\n"
        "rt = runtime_of(app).get()\n"
        "print(rt.services.embedder is side.embedder,"
        " runtime_of(app).embed_side().embedder is side.embedder,"
        " qdrant.exists())\n"
        "rt.services.close()\n"
    )
    first, second = _worker_stdout(tmp_path, redis_url, script, [str(tmp_path / "data")])[-2:]
    assert first == "2 False"  # embedded, and no Qdrant folder opened
    assert second == "True True True"


def _model_copy(tmp_path: Path, modules: list[dict[str, str]], configs: dict[str, Any]) -> str:
    """The packaged model's tokenizer files with other modules and configs (no weights)."""
    source = Path(resolve_model_path("all-MiniLM-L6-v2"))
    folder = tmp_path / "model"
    folder.mkdir()
    for name in ("tokenizer.json", "tokenizer_config.json", "config.json"):
        shutil.copy(source / name, folder / name)
    (folder / "modules.json").write_text(json.dumps(modules))
    for name, config in configs.items():
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_text(json.dumps(config))
    return str(folder)


TRANSFORMER = {"path": "", "type": "sentence_transformers.models.Transformer"}
POOLING = {"path": "1_Pooling", "type": "sentence_transformers.models.Pooling"}


@pytest.mark.parametrize(
    ("modules", "configs", "shape"),
    [
        (  # a Dense projection after pooling sets the size; the configured limit wins
            [
                TRANSFORMER,
                POOLING,
                {"path": "2_Dense", "type": "sentence_transformers.models.Dense"},
            ],
            {
                "sentence_bert_config.json": {"max_seq_length": 128},
                "1_Pooling/config.json": {"word_embedding_dimension": 384, "pooling_mode": "mean"},
                "2_Dense/config.json": {"in_features": 384, "out_features": 96},
            },
            (96, 128),
        ),
        (  # two legacy pooling modes concatenate; no limit configured: the tokenizer's, capped
            [TRANSFORMER, POOLING, {"path": "2_Normalize", "type": "a.b.Normalize"}],
            {
                "1_Pooling/config.json": {
                    "word_embedding_dimension": 384,
                    "pooling_mode_cls_token": True,
                    "pooling_mode_mean_tokens": True,
                    "pooling_mode_max_tokens": False,
                }
            },
            (768, 512),
        ),
        ([TRANSFORMER], {}, (384, 512)),  # the transformer's own hidden size
    ],
)
def test_the_tokenizer_reads_the_model_shape_from_its_files(
    tmp_path: Path, modules: list[dict[str, str]], configs: dict[str, Any], shape: tuple[int, int]
) -> None:
    tokenizer = SentenceTransformerTokenizer(_model_copy(tmp_path, modules, configs))
    assert (tokenizer.dimension, tokenizer.max_tokens) == shape
    assert tokenizer.count_tokens(VARIED[:8]) == SentenceTransformerTokenizer(
        "all-MiniLM-L6-v2"
    ).count_tokens(VARIED[:8])


def test_a_model_the_tokenizer_cannot_describe_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="not a local model folder"):
        SentenceTransformerTokenizer("someone/some-hub-model")
    (tmp_path / "empty").mkdir()
    with pytest.raises(ConfigurationError, match="no Transformer module with a tokenizer.json"):
        SentenceTransformerTokenizer(str(tmp_path / "empty"))
    odd = [TRANSFORMER, {"path": "1_X", "type": "custom.Projection"}]
    with pytest.raises(ConfigurationError, match="output size of a Projection module"):
        SentenceTransformerTokenizer(_model_copy(tmp_path, odd, {}))


def test_no_embed_worker_is_unavailable(rig: Rig, embedder: Any) -> None:
    lonely = QueueEmbedder(
        rig.celery, rig.settings.redis_url or "", f"nobody-{uuid.uuid4().hex[:8]}", embedder, 1
    )
    started = time.monotonic()
    with pytest.raises(Unavailable, match="no embed worker answered"):
        lonely.embed_documents(TEXTS)
    assert time.monotonic() - started < 10


def test_vector_codec_refuses_a_wrong_shape() -> None:
    vectors = np.arange(6, dtype=np.float32).reshape(2, 3)
    np.testing.assert_array_equal(decode_vectors(encode_vectors(vectors), 2, 3), vectors)
    with pytest.raises(Unavailable, match="another CHRONORAG_EMBEDDING_MODEL"):
        decode_vectors(encode_vectors(vectors), 2, 4)


@pytest.mark.parametrize(
    ("changes", "needle"),
    [
        ({"redis_url": None}, "needs CHRONORAG_REDIS_URL"),
        ({"embed_queue": "ingest", "celery_queue": "ingest"}, "must differ"),
    ],
)
def test_offload_settings_are_checked(changes: dict[str, Any], needle: str) -> None:
    base: dict[str, Any] = {"redis_url": "redis://127.0.0.1:6379/0", "embedding_offload": True}
    with pytest.raises(ValueError, match=needle):
        Settings(**{**base, **changes})
