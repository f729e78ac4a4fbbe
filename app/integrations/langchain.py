"""The langchain-core integration: a retriever and an answerer over a running service, and its
embeddings.

This is the only module that imports ``langchain_core``, so the service itself never depends on
it at run time. It needs only httpx and langchain-core (``pip install 'chronorag[client]'``):
numpy and the service's settings are imported by `ChronoragEmbeddings` alone, when used.

- `ChronoragRetriever` is a `BaseRetriever` that calls ``POST /v1/query`` on a running
  ``chronorag serve`` and returns the evidence as `Document`s.
- `ChronoragAnswerer` is a runnable over the same call that returns the whole answer: its
  text, the time scope the service understood, the facts and the evidence as `Document`s.
- `ChronoragEmbeddings` is an `Embeddings` over the service's `Embedder` protocol, for chains
  that run in the same process as the model (the vectors are the ones the service indexes with).

**Time scope per call.** ``as_of`` (known time), ``start``/``end`` (valid time), ``top_k`` and
``use_time`` can be set on the instance, per call as keyword arguments
(``retriever.invoke(q, as_of="2022-12-31")``) or through the run config
(``chain.invoke(q, config={"configurable": {"as_of": "2022-12-31"}})``, which reaches a
retriever or answerer anywhere inside a chain); the answerer also takes a dict input
``{"question": ..., "as_of": ...}``. The most specific wins: input, then keyword arguments,
then ``configurable``, then the instance. Values are timezone-aware datetimes or ISO-8601
strings; a plain date is a whole UTC day, as in the API. Time words in the question itself
("as of 2022", "in Q3 2024") work as in the API when no explicit scope is given.

Errors keep the service's meaning: a problem+json answer becomes the matching domain error
(`InvalidInput` for 400/422, `Unauthorized` for 401, `Unavailable` for 429/5xx and transport
failures), with the service's ``detail`` as the message.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any

import httpx
from langchain_core.callbacks import (
    AsyncCallbackManagerForRetrieverRun,
    CallbackManagerForRetrieverRun,
)
from langchain_core.documents import Document
from langchain_core.embeddings import Embeddings
from langchain_core.retrievers import BaseRetriever
from langchain_core.runnables import RunnableConfig, RunnableSerializable
from pydantic import BaseModel, Field, SecretStr

from app.core.errors import (
    ChronoragError,
    InvalidInput,
    NotFound,
    Unauthorized,
    Unavailable,
)

if TYPE_CHECKING:
    from app.core.settings import Settings
    from app.embeddings.embedding import Embedder

__all__ = ["CALL_OPTIONS", "ChronoragAnswerer", "ChronoragEmbeddings", "ChronoragRetriever"]

#: What a call may set for itself (keyword arguments, ``configurable``, an answerer's dict).
CALL_OPTIONS = ("as_of", "start", "end", "top_k", "use_time")
_TIMES = ("as_of", "start", "end")


class _ServiceQuery(BaseModel):
    """The connection and default scope shared by the retriever and the answerer."""

    base_url: str = "http://127.0.0.1:8000"
    """Root URL of the service (without ``/v1``)."""
    api_key: SecretStr | None = None
    """Sent as ``Authorization: Bearer``; needed when the service has API keys configured."""
    as_of: datetime | str | None = None
    """Known-time cutoff: only documents published by then count. Timezone-aware or ISO."""
    start: datetime | str | None = None
    """Valid-time window start (inclusive). Timezone-aware or ISO."""
    end: datetime | str | None = None
    """Valid-time window end (exclusive). Timezone-aware or ISO."""
    top_k: int | None = Field(default=None, ge=1)
    """Passages to return; None uses the service's ``default_top_k``."""
    use_time: bool = True
    """False ignores every time cue, the time-agnostic baseline."""
    timeout_s: float = Field(default=30.0, gt=0)
    """Per-request timeout; past it the call raises `Unavailable`."""

    def _request(
        self, query: str, options: Mapping[str, Any]
    ) -> tuple[str, dict[str, Any], dict[str, str]]:
        """URL, body and headers of ``POST /v1/query``: the instance's settings under the
        call's ``options`` (keys of `CALL_OPTIONS`; a None value keeps the instance's)."""
        unknown = set(options) - set(CALL_OPTIONS)
        if unknown:
            raise InvalidInput(
                f"{', '.join(sorted(unknown))}: not a query option; use {', '.join(CALL_OPTIONS)}"
            )
        merged = {name: getattr(self, name) for name in CALL_OPTIONS}
        merged.update({k: v for k, v in options.items() if v is not None})
        body: dict[str, Any] = {"question": query, "use_time": bool(merged["use_time"])}
        for name in _TIMES:
            value = merged[name]
            if isinstance(value, datetime):
                if value.tzinfo is None or value.utcoffset() is None:
                    raise InvalidInput(f"{name}: must be timezone-aware, got {value.isoformat()}")
                body[name] = value.isoformat()
            elif isinstance(value, str):
                body[name] = value  # the service parses it (plain dates are whole UTC days)
            elif value is not None:
                raise InvalidInput(f"{name}: a datetime or an ISO-8601 string, not {value!r}")
        if merged["top_k"] is not None:
            body["top_k"] = merged["top_k"]
        headers = {"Accept": "application/json"}
        if self.api_key is not None:
            headers["Authorization"] = f"Bearer {self.api_key.get_secret_value()}"
        return f"{self.base_url.rstrip('/')}/v1/query", body, headers

    def _query(self, query: str, options: Mapping[str, Any]) -> dict[str, Any]:
        url, body, headers = self._request(query, options)
        try:
            with httpx.Client(timeout=self.timeout_s) as client:
                response = client.post(url, json=body, headers=headers)
        except httpx.HTTPError as exc:
            raise _transport_error(url, exc) from exc
        return _answer_body(response)

    async def _aquery(self, query: str, options: Mapping[str, Any]) -> dict[str, Any]:
        url, body, headers = self._request(query, options)
        try:
            async with httpx.AsyncClient(timeout=self.timeout_s) as client:
                response = await client.post(url, json=body, headers=headers)
        except httpx.HTTPError as exc:
            raise _transport_error(url, exc) from exc
        return _answer_body(response)


def _configured(config: RunnableConfig | None, kwargs: dict[str, Any]) -> dict[str, Any]:
    """The call's options: keyword arguments over the config's ``configurable`` entries."""
    configurable = (config or {}).get("configurable") or {}
    picked = {k: configurable[k] for k in CALL_OPTIONS if k in configurable}
    return {**picked, **kwargs}


class ChronoragRetriever(_ServiceQuery, BaseRetriever):
    """Retrieves time-scoped evidence from a running chronorag service.

    Example:
        ```python
        retriever = ChronoragRetriever(base_url="http://127.0.0.1:8000", top_k=4)
        docs = retriever.invoke("Who chaired the board?", as_of="2022-12-31")
        docs[0].metadata["document_id"], docs[0].metadata["time_scope"]
        ```

    Each `Document` holds one evidence passage: ``page_content`` is its text and
    ``metadata`` has ``document_id``, ``version``, ``published_at`` (ISO-8601 string, as the
    service sends it), ``score``, ``url``, ``title`` and ``time_scope`` (the scope the service
    answered in: ``as_of``, ``start``, ``end``, ``source``, ``expression``). The order is the
    service's ranking. For the answer text and the facts, use `ChronoragAnswerer`.
    """

    def invoke(
        self, input: str, config: RunnableConfig | None = None, **kwargs: Any
    ) -> list[Document]:
        """Retrieve for ``input``; ``kwargs`` and ``config["configurable"]`` may carry
        `CALL_OPTIONS` for this call only."""
        return super().invoke(input, config, **_configured(config, kwargs))

    async def ainvoke(
        self, input: str, config: RunnableConfig | None = None, **kwargs: Any
    ) -> list[Document]:
        """As `invoke`, without blocking the event loop."""
        return await super().ainvoke(input, config, **_configured(config, kwargs))

    def _get_relevant_documents(
        self, query: str, *, run_manager: CallbackManagerForRetrieverRun, **options: Any
    ) -> list[Document]:
        # ``options``: this call's `CALL_OPTIONS`; ``_request`` refuses any other name.
        return _documents(self._query(query, options))

    async def _aget_relevant_documents(
        self, query: str, *, run_manager: AsyncCallbackManagerForRetrieverRun, **options: Any
    ) -> list[Document]:
        return _documents(await self._aquery(query, options))


class ChronoragAnswerer(_ServiceQuery, RunnableSerializable[str | dict[str, Any], dict[str, Any]]):
    """The whole answer of a running chronorag service, as one runnable.

    Example:
        ```python
        answerer = ChronoragAnswerer(base_url="http://127.0.0.1:8000")
        out = answerer.invoke({"question": "Who chaired the board?", "as_of": "2022-12-31"})
        out["answer"], out["time_scope"]["as_of"], out["facts"], out["documents"]
        ```

    Input: the question, or a dict with ``question`` and any of `CALL_OPTIONS`. Output:
    ``answer`` (str; empty when nothing was found), ``time_scope`` and ``facts`` exactly as
    the API sends them (``facts``: ``subject``, ``relation``, ``object``, ``valid_from``,
    ``valid_to``, ``known_from``, ``known_to``, ``sources``), and ``documents``: the evidence
    as the retriever returns it.
    """

    def invoke(
        self, input: str | dict[str, Any], config: RunnableConfig | None = None, **kwargs: Any
    ) -> dict[str, Any]:
        options = _configured(config, kwargs)

        def run(value: str | dict[str, Any]) -> dict[str, Any]:
            return _whole(self._query(*_question(value, options)))

        return self._call_with_config(run, input, config, run_type="chain")

    async def ainvoke(
        self, input: str | dict[str, Any], config: RunnableConfig | None = None, **kwargs: Any
    ) -> dict[str, Any]:
        options = _configured(config, kwargs)

        async def run(value: str | dict[str, Any]) -> dict[str, Any]:
            return _whole(await self._aquery(*_question(value, options)))

        return await self._acall_with_config(run, input, config, run_type="chain")


def _question(value: str | dict[str, Any], options: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """Split an answerer's input into the question and this call's options (input first)."""
    if isinstance(value, str):
        return value, options
    if not isinstance(value, Mapping) or not isinstance(value.get("question"), str):
        raise InvalidInput("input: a question string, or a dict with a 'question' string")
    return value["question"], {**options, **{k: v for k, v in value.items() if k != "question"}}


def _whole(body: dict[str, Any]) -> dict[str, Any]:
    return {
        "answer": body.get("answer", ""),
        "time_scope": body.get("time_scope"),
        "facts": body.get("facts", []),
        "documents": _documents(body),
    }


def _transport_error(url: str, exc: httpx.HTTPError) -> Unavailable:
    return Unavailable(f"cannot reach chronorag at {url}: {type(exc).__name__}: {exc}")


_ERRORS: dict[int, type[ChronoragError]] = {
    400: InvalidInput,
    401: Unauthorized,
    404: NotFound,
    422: InvalidInput,
}


def _answer_body(response: httpx.Response) -> dict[str, Any]:
    """The body of a query response, or the matching domain error."""
    if response.status_code != 200:
        try:
            detail = str(response.json().get("detail", response.text))
        except (ValueError, AttributeError):
            detail = response.text[:300] or response.reason_phrase
        message = f"chronorag answered {response.status_code}: {detail}"
        if response.status_code in _ERRORS:
            raise _ERRORS[response.status_code](message)
        if response.status_code == 429 or response.status_code >= 500:
            raise Unavailable(message)
        raise ChronoragError(message)
    try:
        body = response.json()
        if not isinstance(body, dict) or not isinstance(body["evidence"], list):
            raise TypeError
    except (ValueError, KeyError, TypeError):
        raise Unavailable(
            f"chronorag answered 200 without an evidence list: {response.text[:300]!r}"
        ) from None
    return body


def _documents(body: dict[str, Any]) -> list[Document]:
    """The evidence of a query response as Documents, each carrying the answer's time scope."""
    scope = body.get("time_scope")
    return [
        Document(
            page_content=item["text"],
            metadata={
                "document_id": item["document_id"],
                "version": item["version"],
                "published_at": item["published_at"],
                "score": item["score"],
                "url": item.get("url"),
                "title": item.get("title"),
                "time_scope": dict(scope) if isinstance(scope, dict) else None,
            },
        )
        for item in body["evidence"]
    ]


class ChronoragEmbeddings(Embeddings):
    """LangChain `Embeddings` over the service's `Embedder`, for in-process use.

    Vectors are plain float lists from the same model (and, for `SentenceTransformerEmbedder`,
    the same L2 normalisation) the service indexes with, so they compare with its stored
    chunk vectors by dot product.
    """

    def __init__(self, embedder: Embedder) -> None:
        """Wrap an embedder (e.g. `SentenceTransformerEmbedder`, or ``services.embedder``)."""
        self.embedder = embedder

    @classmethod
    def from_settings(cls, settings: Settings) -> ChronoragEmbeddings:
        """Load the model the settings name (``embedding_model``, ``embedding_device``...)."""
        from app.wiring import build_embedder

        return cls(build_embedder(settings))

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        """Embed passages; an empty list gives an empty list."""
        import numpy as np  # here, not at import: the retriever's install has no numpy

        if not texts:
            return []
        vectors = np.asarray(self.embedder.embed_documents(texts), dtype=np.float64)
        return [[float(x) for x in row] for row in vectors.tolist()]

    def embed_query(self, text: str) -> list[float]:
        """Embed a question (the service's query path: same model, query encoder if any)."""
        import numpy as np

        vector = np.asarray(self.embedder.embed_query(text), dtype=np.float64)
        return [float(x) for x in vector.tolist()]
