"""Embeddings computed by GPU workers: CPU workers send their texts to the ``embed`` queue.

With ``CHRONORAG_EMBEDDING_OFFLOAD=true`` a worker still loads, chunks, extracts and writes each
document, but every embedding call becomes a ``chronorag.embed_texts`` task on
``CHRONORAG_EMBED_QUEUE`` whose result (the vectors) it waits for. GPU workers consume that
queue (``celery -A workers.celery_app worker -Q embed --pool threads -c 8``); their
``EmbeddingBatcher`` merges the calls of all CPU workers that arrive together into GPU-sized
batches. So parsing and rule extraction scale with cheap CPU workers while the one expensive
device only runs the model.

The vectors come back on a Redis list named in the task (``RPUSH`` by the embed worker,
``BLPOP`` with a timeout by the caller), not through Celery's result backend: a blocking pop
is safe from any number of worker threads at once and leaves nothing behind when the caller
has given up (the list expires). They travel as base64 float32 (the JSON serializer cannot
carry bytes); ~1.5 KB per 384-dimensional vector.
"""

from __future__ import annotations

import base64
import json
import math
import uuid
from collections.abc import Sequence
from typing import Any

import numpy as np
import redis
from celery import Celery

from app.core.errors import Unavailable
from app.embeddings.embedding import ModelTokenizer

EMBED_TASK = "chronorag.embed_texts"
REPLY_PREFIX = "chronorag:embed-reply:"


def send_reply(client: Any, reply_to: str, message: dict[str, str], ttl_s: float) -> None:
    """Hand the caller its answer; the list expires if the caller has already given up."""
    with client.pipeline(transaction=True) as pipe:
        pipe.rpush(reply_to, json.dumps(message))
        pipe.expire(reply_to, max(1, math.ceil(ttl_s)))
        pipe.execute()


def encode_vectors(vectors: np.ndarray) -> str:
    return base64.b64encode(np.ascontiguousarray(vectors, dtype=np.float32).tobytes()).decode()


def decode_vectors(payload: str, rows: int, dimension: int) -> np.ndarray:
    """The inverse of ``encode_vectors``; a wrong size (another model on the GPU side) raises."""
    flat = np.frombuffer(base64.b64decode(payload), dtype=np.float32)
    if flat.size != rows * dimension:
        raise Unavailable(
            f"the embed worker returned {flat.size} floats for {rows}×{dimension}: is it "
            "running another CHRONORAG_EMBEDDING_MODEL?"
        )
    return flat.reshape(rows, dimension).copy()


class QueueEmbedder:
    """An ``Embedder`` whose forward passes run on whichever worker consumes ``queue``.

    Token counting (for chunk packing) and the model's metadata stay local: they need only the
    tokenizer (``SentenceTransformerTokenizer``, no weights), and a round trip per sentence would
    cost more than the count.
    """

    def __init__(
        self, celery: Celery, redis_url: str, queue: str, local: ModelTokenizer, timeout_s: float
    ) -> None:
        self._celery = celery
        self._redis = redis.Redis.from_url(redis_url)
        self._queue = queue
        self.local = local
        self._timeout_s = timeout_s

    @property
    def dimension(self) -> int:
        return self.local.dimension

    @property
    def max_tokens(self) -> int:
        return self.local.max_tokens

    @property
    def model_name(self) -> str:
        return self.local.model_name

    def count_tokens(self, texts: Sequence[str]) -> list[int]:
        return self.local.count_tokens(texts)

    def embed_documents(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        reply_to = REPLY_PREFIX + uuid.uuid4().hex
        try:
            self._celery.send_task(
                EMBED_TASK,
                args=[list(texts), reply_to],
                queue=self._queue,
                expires=self._timeout_s,  # an answer nobody waits for is not computed
            )
            popped = self._redis.blpop([reply_to], timeout=max(1, math.ceil(self._timeout_s)))
        except Exception as exc:  # kombu and redis raise many types for a down broker
            raise Unavailable(f"embed queue {self._queue!r} unreachable: {exc}") from exc
        if popped is None:
            raise Unavailable(
                f"no embed worker answered within {self._timeout_s:g} s on queue "
                f"{self._queue!r} (CHRONORAG_EMBED_TIMEOUT_S); is a GPU worker running?"
            )
        message = json.loads(popped[1])
        if "error" in message:
            raise Unavailable(f"the embed worker failed: {message['error']}")
        return decode_vectors(message["vectors"], len(texts), self.dimension)

    def embed_query(self, text: str) -> np.ndarray:
        return self.embed_documents([text])[0]

    def close(self) -> None:
        self._redis.close()
