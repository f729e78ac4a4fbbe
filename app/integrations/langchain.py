"""The langchain-core integration: a retriever over a running service, and its embeddings.

This is the only module that imports ``langchain_core``, so the service itself never depends on
it at run time.

- `ChronoragRetriever` is a `BaseRetriever` that calls ``POST /v1/query`` on a running
  ``chronorag serve`` and returns the evidence as `Document`s. The time scope works as in the
  API: ``as_of`` (known time) and ``start``/``end`` (valid time) on the retriever, or time
  words in the question itself ("as of 2022", "in Q3 2024").
- `ChronoragEmbeddings` is an `Embeddings` over the service's `Embedder` protocol, for chains
  that run in the same process as the model (the vectors are the ones the service indexes with).

Errors keep the service's meaning: a problem+json answer becomes the matching domain error
(`InvalidInput` for 400/422, `Unauthorized` for 401, `Unavailable` for 429/5xx and transport
failures), with the service's ``detail`` as the message.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import httpx
import numpy as np
from langchain_core.callbacks import (
    AsyncCallbackManagerForRetrieverRun,
    CallbackManagerForRetrieverRun,
)
from langchain_core.documents import Document
from langchain_core.embeddings import Embeddings
from langchain_core.retrievers import BaseRetriever
from pydantic import Field, SecretStr

from app.core.errors import (
    ChronoragError,
    InvalidInput,
    NotFound,
    Unauthorized,
    Unavailable,
)
from app.core.settings import Settings
from app.ingest.embedding import Embedder

__all__ = ["ChronoragEmbeddings", "ChronoragRetriever"]


class ChronoragRetriever(BaseRetriever):
    """Retrieves time-scoped evidence from a running chronorag service.

    Example:
        ```python
        retriever = ChronoragRetriever(base_url="http://127.0.0.1:8000", top_k=4)
        docs = retriever.invoke("Who chaired the BBC board as of 2022?")
        docs[0].metadata["document_id"], docs[0].metadata["published_at"]
        ```

    Each `Document` holds one evidence passage: ``page_content`` is its text and
    ``metadata`` has ``document_id``, ``version``, ``published_at`` (ISO-8601 string, as the
    service sends it), ``score``, ``url`` and ``title``. The order is the service's ranking.
    """

    base_url: str = "http://127.0.0.1:8000"
    """Root URL of the service (without ``/v1``)."""
    api_key: SecretStr | None = None
    """Sent as ``Authorization: Bearer``; needed when the service has API keys configured."""
    as_of: datetime | None = None
    """Known-time cutoff: only documents published by then count. Timezone-aware."""
    start: datetime | None = None
    """Valid-time window start (inclusive). Timezone-aware."""
    end: datetime | None = None
    """Valid-time window end (exclusive). Timezone-aware."""
    top_k: int | None = Field(default=None, ge=1)
    """Passages to return; None uses the service's ``default_top_k``."""
    use_time: bool = True
    """False ignores every time cue, the time-agnostic baseline."""
    timeout_s: float = Field(default=30.0, gt=0)
    """Per-request timeout; past it the call raises `Unavailable`."""

    def _request(self, query: str) -> tuple[str, dict[str, Any], dict[str, str]]:
        body: dict[str, Any] = {"question": query, "use_time": self.use_time}
        for name in ("as_of", "start", "end"):
            value: datetime | None = getattr(self, name)
            if value is not None:
                if value.tzinfo is None or value.utcoffset() is None:
                    raise InvalidInput(f"{name}: must be timezone-aware, got {value.isoformat()}")
                body[name] = value.isoformat()
        if self.top_k is not None:
            body["top_k"] = self.top_k
        headers = {"Accept": "application/json"}
        if self.api_key is not None:
            headers["Authorization"] = f"Bearer {self.api_key.get_secret_value()}"
        return f"{self.base_url.rstrip('/')}/v1/query", body, headers

    def _get_relevant_documents(
        self, query: str, *, run_manager: CallbackManagerForRetrieverRun
    ) -> list[Document]:
        url, body, headers = self._request(query)
        try:
            with httpx.Client(timeout=self.timeout_s) as client:
                response = client.post(url, json=body, headers=headers)
        except httpx.HTTPError as exc:
            raise _transport_error(url, exc) from exc
        return _documents(response)

    async def _aget_relevant_documents(
        self, query: str, *, run_manager: AsyncCallbackManagerForRetrieverRun
    ) -> list[Document]:
        url, body, headers = self._request(query)
        try:
            async with httpx.AsyncClient(timeout=self.timeout_s) as client:
                response = await client.post(url, json=body, headers=headers)
        except httpx.HTTPError as exc:
            raise _transport_error(url, exc) from exc
        return _documents(response)


def _transport_error(url: str, exc: httpx.HTTPError) -> Unavailable:
    return Unavailable(f"cannot reach chronorag at {url}: {type(exc).__name__}: {exc}")


_ERRORS: dict[int, type[ChronoragError]] = {
    400: InvalidInput,
    401: Unauthorized,
    404: NotFound,
    422: InvalidInput,
}


def _documents(response: httpx.Response) -> list[Document]:
    """The evidence of a query response as Documents, or the matching domain error."""
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
        evidence = response.json()["evidence"]
    except (ValueError, KeyError, TypeError):
        raise Unavailable(
            f"chronorag answered 200 without an evidence list: {response.text[:300]!r}"
        ) from None
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
            },
        )
        for item in evidence
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
        from app.core.services import build_embedder

        return cls(build_embedder(settings))

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        """Embed passages; an empty list gives an empty list."""
        if not texts:
            return []
        vectors = np.asarray(self.embedder.embed_documents(texts), dtype=np.float64)
        return [[float(x) for x in row] for row in vectors.tolist()]

    def embed_query(self, text: str) -> list[float]:
        """Embed a question (the service's query path: same model, query encoder if any)."""
        vector = np.asarray(self.embedder.embed_query(text), dtype=np.float64)
        return [float(x) for x in vector.tolist()]
