"""The composition root: the only code that reads `Settings` whole and builds the object graph.

``chronorag serve`` (`workers.embedded`), ``chronorag worker`` (`workers.runtime`), the
stream consumer, the benchmarks and the tests all build through these functions, so there is
one way a process is put together. Components take their collaborators in their constructors;
what they need from settings is handed to them as values (`IngestLimits`, `QueryLimits`).
Nothing here imports `workers/`: a Celery dispatcher or a queue embedder is passed in.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from app.api.context import ApiContext
from app.core.dispatch import Dispatcher
from app.core.settings import Settings
from app.embeddings.batching import EmbeddingBatcher, QueryEncode
from app.embeddings.embedding import Embedder, SentenceTransformerEmbedder
from app.ingest.backpressure import Backpressure
from app.ingest.graph_indexing import GraphIndexer
from app.ingest.idempotency import IdempotencyService
from app.ingest.intake import IntakeService
from app.ingest.pipeline import IngestLimits, IngestPipeline, KnowledgeIndexer
from app.ingest.reconcile import Reconciler
from app.ingest.summaries import TimeNodeSummaries
from app.ingest.webhooks import WebhookReceiver
from app.integrations.llm_answer import LLMAnswerComposer
from app.integrations.llm_extractor import LLMFactExtractor
from app.integrations.llm_summarizer import LLMSummarizer
from app.retrieval.graph_answer import GraphAnswerer
from app.retrieval.search import ChunkRetriever
from app.retrieval.service import AnswerComposer, QueryLimits, QueryService
from app.services import Services, Stores
from app.stores.chunks import QdrantChunkStore
from app.stores.debounce import DebouncedScheduler
from app.stores.documents import QdrantDocumentStore
from app.stores.engines import ClientEngine, EdgeEngine, Engine
from app.stores.facts import GraphStores, QdrantFactStore, QdrantTimeNodeStore
from app.stores.lexical import Bm25Encoder
from app.stores.locks import LocalLocker, Locker, RedisLocker
from app.stores.tiered import TieredEngine
from app.stores.ttl import build_ttl_store, claims_path
from graph.extract import FactExtractor, RuleFactExtractor
from graph.hierarchy import ExtractiveSummarizer, Summarizer
from graph.nlp import SpacyAnnotator, TextAnnotator, check_installed

log = logging.getLogger(__name__)


# --------------------------------------------------------------------------- resources


def build_engine(settings: Settings) -> Engine:
    """The embedded engine unless a Qdrant URL is configured."""
    if settings.qdrant_url:
        return ClientEngine(settings.qdrant_url, settings.qdrant_api_key, settings.search_hnsw_ef)
    return (
        TieredEngine(
            settings.data_dir / "qdrant",
            settings.search_hnsw_ef,
            fresh_limit=settings.index_fresh_limit,
            merge_interval_s=settings.index_merge_interval_s,
        )
        if settings.index_tiers
        else EdgeEngine(settings.data_dir / "qdrant", settings.search_hnsw_ef)
    )


def build_embedder(settings: Settings) -> SentenceTransformerEmbedder:
    return SentenceTransformerEmbedder(
        settings.embedding_model,
        device=settings.embedding_device,
        batch_size=settings.embedding_batch_size,
        threads=settings.embedding_threads,
    )


class LazyQueryEncoder:
    """Builds the query encoder at its first use, once, under a lock.

    Worker processes never embed a question, so they never pay for the ONNX export or session;
    the API builds it at start-up (``create_api`` warms it), so a broken export still fails
    the process before it serves anything.
    """

    def __init__(self, build: Callable[[], QueryEncode]) -> None:
        self._build = build
        self._encoder: QueryEncode | None = None
        self._lock = threading.Lock()

    def ready(self) -> QueryEncode:
        encoder = self._encoder
        if encoder is None:
            with self._lock:
                if self._encoder is None:
                    self._encoder = self._build()
                encoder = self._encoder
        return encoder

    def __call__(self, text: str) -> np.ndarray:
        return self.ready()(text)


def build_query_encoder(
    settings: Settings, embedder: SentenceTransformerEmbedder
) -> LazyQueryEncoder | None:
    """The ONNX query encoder when configured (CPU only); None means the torch model."""
    if settings.query_encoder == "torch":
        return None
    if embedder.device.device != "cpu":
        log.warning(
            "query_encoder=%s applies on CPU; queries use torch on %s",
            settings.query_encoder,
            embedder.device.device,
        )
        return None

    def build() -> QueryEncode:
        from app.embeddings.onnx_query import OnnxQueryEncoder

        return OnnxQueryEncoder(
            embedder.sentence_transformer,
            settings.data_dir / "models",
            model_name=settings.embedding_model,
            precision="int8" if settings.query_encoder == "onnx-int8" else "fp32",
        )

    return LazyQueryEncoder(build)


def build_batcher(
    settings: Settings, embedder: Embedder, query_encoder: QueryEncode | None = None
) -> EmbeddingBatcher:
    """Every caller in the process shares one batcher, so concurrent ingest tasks share batches."""
    return EmbeddingBatcher(
        embedder,
        max_batch=settings.embedding_batch_size,
        max_wait_s=settings.embedding_batch_wait_ms / 1000.0,
        query_encoder=query_encoder,
        query_cache_size=settings.query_cache_size,
    )


def build_stores(settings: Settings, engine: Engine, dim: int) -> Stores:
    prefix = settings.collection_prefix
    return Stores(
        engine=engine,
        documents=QdrantDocumentStore(engine, prefix),
        chunks=QdrantChunkStore(engine, prefix, dim),
    )


def build_annotator(settings: Settings) -> TextAnnotator | None:
    """The NLP layer ``nlp`` asks for; its model loads at the first document, not here.

    Raises:
        RuntimeError: If ``nlp="spacy"`` and spaCy or the model package is not installed (the
            message says what to install, or to set ``CHRONORAG_NLP=off``).
    """
    if settings.nlp == "off":
        return None
    check_installed(settings.nlp_model)
    return SpacyAnnotator(settings.nlp_model)


def build_redis(settings: Settings) -> Any | None:
    if not settings.redis_url:
        return None
    import redis

    return redis.Redis.from_url(settings.redis_url, socket_timeout=10, socket_connect_timeout=5)


def build_services(
    settings: Settings, *, embedder: Embedder | None = None, engine: Engine | None = None
) -> Services:
    """Wire one process's shared resources.

    The embedder is always wrapped in an ``EmbeddingBatcher`` (micro-batching across concurrent
    ingest tasks). A passed-in embedder answers queries itself; one built here from settings
    answers them with the ONNX encoder when ``query_encoder`` says so.
    """
    own: EmbeddingBatcher | None = None
    if embedder is None:
        model = build_embedder(settings)
        embedder = own = build_batcher(settings, model, build_query_encoder(settings, model))
    elif not isinstance(embedder, EmbeddingBatcher):
        embedder = own = build_batcher(settings, embedder)
    engine = engine or build_engine(settings)
    stores = build_stores(settings, engine, embedder.dimension)
    redis_client = build_redis(settings)
    locker: Locker = RedisLocker(redis_client) if redis_client is not None else LocalLocker()
    services = Services(
        settings=settings,
        stores=stores,
        embedder=embedder,
        lexical=Bm25Encoder(),
        locker=locker,
        ttl=build_ttl_store(redis_client),
        redis=redis_client,
        own_batcher=own,
        annotator=build_annotator(settings),
    )
    if embedder.on_batch is None:  # a caller's shared batcher keeps the first one's metrics
        embedder.on_batch = services.metrics.batch
    return services


# --------------------------------------------------------------------------- the graph


@dataclass
class Graph:
    """The temporal graph's parts in one process (ingest side and answering side)."""

    stores: GraphStores
    indexer: GraphIndexer
    summaries: TimeNodeSummaries
    answerer: GraphAnswerer
    scheduler: DebouncedScheduler | None


def build_fact_extractor(settings: Settings) -> FactExtractor:
    """The configured extractor: the rules, or a chat model (``fact_extractor="llm"``).

    Raises:
        ConfigurationError: If "llm" is chosen without ``llm_base_url``/``llm_model``, so a
            process fails at start-up rather than at its first ingest.
        ValueError: If an ``extract_vocab_files`` entry is unreadable or malformed (same
            reason: at start-up, with the file and line).
    """
    if settings.fact_extractor == "llm":
        return LLMFactExtractor.from_settings(settings)
    return RuleFactExtractor(vocab_files=settings.extract_vocab_files)


def build_summarizer(settings: Settings) -> Summarizer:
    """The configured time-node summariser: extractive, or a chat model (``summarizer="llm"``).

    Raises:
        ConfigurationError: If "llm" is chosen without ``llm_base_url``/``llm_model``.
    """
    if settings.summarizer == "llm":
        return LLMSummarizer.from_settings(settings)
    return ExtractiveSummarizer()


def build_graph_stores(services: Services) -> GraphStores:
    engine, prefix, dim = (
        services.stores.engine,
        services.settings.collection_prefix,
        services.embedder.dimension,
    )
    return GraphStores(
        facts=QdrantFactStore(engine, prefix, dim), nodes=QdrantTimeNodeStore(engine, prefix, dim)
    )


def build_graph(
    services: Services, send_summaries: Callable[[str, list[str]], None] | None = None
) -> Graph:
    """The graph's parts; ``send_summaries`` None (no task queue) leaves nodes dirty until a
    period is read, which computes its summary on demand."""
    settings = services.settings
    extractor = build_fact_extractor(settings)  # first: a bad LLM setting fails before I/O
    summarizer = build_summarizer(settings)
    stores = build_graph_stores(services)
    scheduler = (
        DebouncedScheduler(services.ttl, send_summaries, settings.summary_debounce_s)
        if send_summaries
        else None
    )
    summaries = TimeNodeSummaries(services.embedder, services.locker, stores, summarizer)
    indexer = GraphIndexer(services.embedder, services.locker, stores, extractor, scheduler)
    return Graph(
        stores=stores,
        indexer=indexer,
        summaries=summaries,
        answerer=GraphAnswerer(services.embedder, stores, summaries),
        scheduler=scheduler,
    )


# --------------------------------------------------------------------------- ingest and query


def build_pipeline(
    services: Services, indexers: list[KnowledgeIndexer] | None = None
) -> IngestPipeline:
    s = services.settings
    return IngestPipeline(
        documents=services.stores.documents,
        chunks=services.stores.chunks,
        embedder=services.embedder,
        lexical=services.lexical,
        locker=services.locker,
        limits=IngestLimits(
            chunk_max_tokens=s.chunk_max_tokens,
            chunk_overlap_sentences=s.chunk_overlap_sentences,
            ingest_budget_s=s.ingest_budget_s,
            fiscal_year_start_month=s.fiscal_year_start_month,
        ),
        timer=services.metrics,
        annotator=services.annotator,
        indexers=indexers or (),
    )


def build_retriever(services: Services) -> ChunkRetriever:
    return ChunkRetriever(services.stores.chunks, services.stores.documents, services.lexical)


def build_query_service(
    services: Services,
    graph: GraphAnswerer | None = None,
    composer: AnswerComposer | None = None,
) -> QueryService:
    s = services.settings
    limits = QueryLimits(
        default_top_k=s.default_top_k,
        max_top_k=s.max_top_k,
        max_question_chars=s.max_question_chars,
        fiscal_year_start_month=s.fiscal_year_start_month,
    )
    return QueryService(build_retriever(services), services.embedder, limits, graph, composer)


@dataclass
class Runtime:
    """What tasks run against in one process: its resources, the pipeline and the graph."""

    services: Services
    pipeline: IngestPipeline
    graph: Graph


def build_runtime(services: Services, dispatcher: Dispatcher) -> Runtime:
    """The ingest side; summary requests go to ``dispatcher`` (debounced)."""
    services.dispatcher = dispatcher
    debounce = services.settings.summary_debounce_s

    def send(tenant: str, labels: list[str]) -> None:
        dispatcher.summarize(tenant, labels, debounce)

    graph = build_graph(services, send)
    indexers: list[KnowledgeIndexer] = [graph.indexer] if services.settings.fact_extraction else []
    return Runtime(services=services, pipeline=build_pipeline(services, indexers), graph=graph)


def build_composer(settings: Settings) -> LLMAnswerComposer | None:
    """The answer writer ``answer_mode="llm"`` asks for; built before the model loads, so a
    missing LLM setting fails in milliseconds."""
    return LLMAnswerComposer.from_settings(settings) if settings.answer_mode == "llm" else None


def build_intake(services: Services, dispatcher: Dispatcher) -> IntakeService:
    return IntakeService(services.settings, services.stores.documents, services.locker, dispatcher)


def build_api_context(
    runtime: Runtime, dispatcher: Dispatcher, composer: AnswerComposer | None = None
) -> ApiContext:
    """Everything the routes reach: intake and its guards, queries, the graph's reads."""
    services = runtime.services
    settings = services.settings
    intake = build_intake(services, dispatcher)
    backpressure = Backpressure(
        dispatcher, settings.max_backlog, settings.backpressure_retry_after_s
    )
    # Without Redis, webhook claims go to a file in the data folder: a delivery captured before
    # a restart must still be refused after it.
    durable = claims_path(settings.data_dir) if settings.webhook_secrets else None
    claims = build_ttl_store(services.redis, durable)
    return ApiContext(
        services=services,
        intake=intake,
        queries=build_query_service(services, runtime.graph.answerer, composer),
        graph=runtime.graph.answerer,
        backpressure=backpressure,
        idempotency=IdempotencyService(
            claims, ttl_s=settings.idempotency_ttl_s, prefix=settings.collection_prefix
        ),
        webhooks=WebhookReceiver(settings, claims, intake, backpressure),
    )


def build_reconciler(services: Services, dispatcher: Dispatcher) -> Reconciler:
    return Reconciler(
        services.stores.documents,
        dispatcher,
        stale_after_s=services.settings.reconcile_stale_after_s,
    )
