"""The query encoder in onnxruntime, exported from the loaded sentence-transformers model.

Why: a single query through PyTorch costs ~14-20 ms on a 2-core CPU, and in the one-process
topology it queues behind document batches on the torch lock. The same network in onnxruntime
(one intra-op thread per call, so concurrent queries use the cores without oversubscribing)
takes ~7 ms and needs no lock. The graph is exported once with ``torch.onnx.export`` into
``data_dir/models`` and reused; no hub, no extra model download. ``fp32`` gives the same vectors
as torch (cosine > 0.9999); ``int8`` (dynamic quantization) is faster but drifts further
(measured min cosine ~0.95), which is why it is opt-in.
"""

from __future__ import annotations

import hashlib
import logging
import os
import warnings
from pathlib import Path
from typing import Any, Literal

import numpy as np

from app.core.errors import ConfigurationError

log = logging.getLogger(__name__)

Precision = Literal["fp32", "int8"]
_INPUTS = ("input_ids", "attention_mask", "token_type_ids")
_PROBES = (
    "Who chaired the BBC board as of 2022?",
    "What changed at Harlow Basin Insurance in the third quarter of 2024?",
    "Orbital Freight Lines named a new chief executive.",
)
# Vectors must agree with the document embeddings they are compared against.
_MIN_COSINE: dict[Precision, float] = {"fp32": 0.999, "int8": 0.9}


def _pooling_is_mean_normalized(model: Any) -> bool:
    modules = list(model)
    if len(modules) < 2:
        return False
    pooling = modules[1]
    mode = getattr(pooling, "pooling_mode", None)
    if mode is None:  # sentence-transformers < 6
        mode = getattr(pooling, "get_pooling_mode_str", lambda: "")()
    return mode == "mean" and all(type(m).__name__ == "Normalize" for m in modules[2:])


def _export(model: Any, path: Path) -> None:
    import torch

    transformer = model[0].auto_model

    class MeanPooled(torch.nn.Module):
        """The transformer plus mean pooling and L2 normalisation, as the ST pipeline does."""

        def __init__(self) -> None:
            super().__init__()
            self.transformer = transformer

        def forward(self, input_ids: Any, attention_mask: Any, token_type_ids: Any) -> Any:
            out = self.transformer(
                input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids
            ).last_hidden_state
            mask = attention_mask.unsqueeze(-1).to(out.dtype)
            pooled = (out * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
            return torch.nn.functional.normalize(pooled, dim=-1)

    sample = model.tokenizer(["a probe sentence"], return_tensors="pt")
    args = tuple(sample[k] for k in _INPUTS)
    axes = {k: {0: "batch", 1: "tokens"} for k in _INPUTS} | {"embedding": {0: "batch"}}
    tmp = path.with_suffix(f".{os.getpid()}.tmp")
    # The tracer warns that mask-padding branches become constants: true, and harmless here,
    # because the encoder only ever runs one unpadded query per call.
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(
            MeanPooled().eval(),
            args,
            str(tmp),
            input_names=list(_INPUTS),
            output_names=["embedding"],
            dynamic_axes=axes,
            opset_version=17,
            dynamo=False,
        )
    tmp.replace(path)  # atomic: a concurrent process sees the old file or the whole new one


def _quantize(src: Path, dst: Path) -> None:
    from onnxruntime.quantization import QuantType, quantize_dynamic

    tmp = dst.with_suffix(f".{os.getpid()}.tmp")
    quantize_dynamic(str(src), str(tmp), weight_type=QuantType.QInt8, per_channel=True)
    tmp.replace(dst)


class OnnxQueryEncoder:
    """Embeds one query at a time in onnxruntime; thread-safe, no lock held while running.

    One text per call, never a padded batch: the traced graph hard-codes the no-padding mask
    path, which is exact for a single sequence (checked against torch at start-up).

    Args:
        model: the loaded ``SentenceTransformer`` (transformer + mean pooling + normalize).
        cache_dir: where the exported graph is kept (``data_dir/models``).
        precision: ``fp32`` (same vectors as torch) or ``int8`` (faster, less faithful).
        threads: onnxruntime intra-op threads per call; 1 lets concurrent queries use the cores.
    """

    def __init__(
        self,
        model: Any,
        cache_dir: Path,
        *,
        model_name: str,
        precision: Precision = "fp32",
        threads: int = 1,
    ) -> None:
        try:
            import onnxruntime as ort
        except ImportError as exc:  # pragma: no cover - a declared dependency
            raise ConfigurationError(
                "CHRONORAG_QUERY_ENCODER=onnx needs onnxruntime and onnx (pip install "
                "onnxruntime onnx), or set CHRONORAG_QUERY_ENCODER=torch."
            ) from exc
        if not _pooling_is_mean_normalized(model):
            raise ConfigurationError(
                f"Model {model_name!r} is not transformer + mean pooling + normalize, which is "
                "what the ONNX query encoder exports. Set CHRONORAG_QUERY_ENCODER=torch."
            )
        self._max_len = int(model.max_seq_length)
        from tokenizers import Tokenizer

        self._tokenizer = Tokenizer.from_str(model.tokenizer.backend_tokenizer.to_str())
        self._tokenizer.no_padding()
        self._tokenizer.enable_truncation(self._max_len)
        path = self._graph_path(model, cache_dir, model_name, precision)
        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        options.log_severity_level = 3
        self._session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
        self._check(model, precision)
        log.info("ONNX query encoder %s (%s) from %s", model_name, precision, path)

    @staticmethod
    def _graph_path(model: Any, cache_dir: Path, model_name: str, precision: Precision) -> Path:
        import torch

        cache_dir.mkdir(parents=True, exist_ok=True)
        # Keyed by the weights themselves, so a changed model never reuses a stale graph.
        digest = hashlib.sha256(torch.__version__.encode())
        for name, tensor in sorted(model[0].auto_model.state_dict().items()):
            digest.update(name.encode())
            digest.update(tensor.detach().cpu().float().flatten()[:64].numpy().tobytes())
        stem = "".join(c if c.isalnum() else "-" for c in model_name)[-40:]
        fp32 = cache_dir / f"{stem}-{digest.hexdigest()[:12]}-fp32.onnx"
        if not fp32.exists():
            log.info("exporting the query encoder to %s (once)", fp32)
            _export(model, fp32)
        if precision == "fp32":
            return fp32
        int8 = fp32.with_name(fp32.name.replace("-fp32", "-int8"))
        if not int8.exists():
            _quantize(fp32, int8)
        return int8

    def _check(self, model: Any, precision: Precision) -> None:
        """Refuse to serve queries whose vectors disagree with the document embeddings."""
        reference = model.encode(list(_PROBES), normalize_embeddings=True, convert_to_numpy=True)
        mine = np.stack([self(p) for p in _PROBES])
        worst = float((mine * reference).sum(axis=1).min())
        if worst < _MIN_COSINE[precision]:
            raise ConfigurationError(
                f"The ONNX query encoder ({precision}) disagrees with the torch model (cosine "
                f"{worst:.4f} < {_MIN_COSINE[precision]}). Delete the exported graph in the "
                "data dir's models folder, or set CHRONORAG_QUERY_ENCODER=torch."
            )
        self.fidelity = worst

    def __call__(self, text: str) -> np.ndarray:
        enc = self._tokenizer.encode(text)
        feeds = {
            "input_ids": np.asarray([enc.ids], dtype=np.int64),
            "attention_mask": np.asarray([enc.attention_mask], dtype=np.int64),
            "token_type_ids": np.asarray([enc.type_ids], dtype=np.int64),
        }
        out = self._session.run(None, feeds)[0]
        return np.asarray(out[0], dtype=np.float32)
