"""Settings: the one place that reads the environment (prefix ``CHRONORAG_``)."""

from __future__ import annotations

import logging
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

log = logging.getLogger(__name__)

DEFAULT_MODEL = "all-MiniLM-L6-v2"


class Settings(BaseSettings):
    """Typed configuration; every field is documented in the README's configuration table."""

    model_config = SettingsConfigDict(env_prefix="CHRONORAG_", env_file=".env", extra="ignore")

    environment: Literal["local", "test", "production"] = "local"

    # Where knowledge lives. ``qdrant_url`` set → the Qdrant server; otherwise the embedded engine.
    data_dir: Path = Path("./data")
    qdrant_url: str | None = None
    qdrant_api_key: str | None = None
    collection_prefix: str = "chronorag"

    # Everything in motion. ``None`` → Celery's in-memory transport (embedded topology only).
    redis_url: str | None = None
    celery_queue: str = "ingest"
    embed_queue: str = "embed"
    visibility_timeout_s: int = 3600
    task_max_retries: int = 5

    # Embeddings.
    embedding_model: str = DEFAULT_MODEL
    embedding_device: Literal["auto", "cpu", "cuda"] = "auto"
    embedding_batch_size: int = Field(default=64, ge=1, le=4096)
    embedding_threads: int | None = None
    chunk_max_tokens: int = Field(default=200, ge=16, le=8192)
    chunk_overlap_sentences: int = Field(default=1, ge=0, le=10)

    # Intake limits.
    max_document_bytes: int = Field(default=1_000_000, ge=1)
    max_question_chars: int = Field(default=2_000, ge=1)
    max_top_k: int = Field(default=50, ge=1)
    default_top_k: int = Field(default=5, ge=1)

    # Query behaviour.
    fiscal_year_start_month: int = Field(default=1, ge=1, le=12)

    # Embedded worker (one-process topology).
    embedded_worker: bool = True
    embedded_worker_concurrency: int = Field(default=1, ge=1, le=16)

    @field_validator("qdrant_url", "redis_url", mode="before")
    @classmethod
    def _empty_is_none(cls, value: object) -> object:
        return None if value in ("", "none", "None") else value

    @property
    def embedded(self) -> bool:
        """True when Qdrant runs in-process from ``data_dir``."""
        return self.qdrant_url is None

    @property
    def broker_url(self) -> str:
        return self.redis_url or "memory://"


@lru_cache
def get_settings() -> Settings:
    """Settings cached per process; tests override by building ``Settings(...)`` directly."""
    return Settings()
