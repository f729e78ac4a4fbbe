"""An OpenAI-compatible chat client: the one place that talks to a language model.

vLLM, Ollama, llama.cpp's server and the hosted APIs all accept ``POST {base}/chat/completions``
with the same body, so one small client over httpx serves every deployment: the settings say
where the server is (``llm_base_url``), which model to ask (``llm_model``) and with what key
(``llm_api_key``); the code never cares which server answers.

Failures are split by what a retry can fix. Transport errors, timeouts, 408/409/425/429 and
5xx raise `Unavailable`, which the Celery tasks retry with backoff and the API turns into 503.
Any other 4xx means the request itself is wrong (bad key, unknown model, a server without
structured output); retrying it would fail the same way, so it raises `ChatRequestRejected`
with the server's reason and a hint. A 200 whose body is not a chat completion (a proxy's HTML
page, say) is treated as the server being unavailable.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator, Mapping, Sequence
from typing import Any, Literal, Protocol, TypedDict

import httpx
from pydantic import SecretStr

from app.core.errors import ChronoragError, ConfigurationError, Unavailable
from app.core.settings import Settings

__all__ = [
    "ChatMessage",
    "ChatModel",
    "ChatRequestRejected",
    "OpenAIChatClient",
    "chat_client_from_settings",
    "parse_json_reply",
]

log = logging.getLogger(__name__)

# Statuses a retry can fix: the server is busy, rate-limiting or broken for now.
_RETRYABLE = frozenset({408, 409, 425, 429})
_DETAIL_CHARS = 300
# What reading a JSON body of an unexpected shape raises (no such key, not a list, ...).
_MALFORMED = (ValueError, KeyError, IndexError, TypeError, AttributeError)


class ChatMessage(TypedDict):
    """One message of a chat request, as the OpenAI API spells it."""

    role: Literal["system", "user", "assistant"]
    content: str


class ChatModel(Protocol):
    """What the extractor, the summariser and the answer composer need from a chat model.

    Implementations must raise `Unavailable` for failures a retry can fix, so that tasks
    retry and the API answers 503, and must never return a made-up answer instead.
    """

    def complete(
        self, messages: Sequence[ChatMessage], *, response_format: Mapping[str, Any] | None = None
    ) -> str:
        """The assistant's reply to ``messages`` (its text content).

        Args:
            messages: The conversation, system message first.
            response_format: An OpenAI ``response_format`` object (e.g. a JSON schema the
                reply must follow), or None for free text.
        """
        ...

    def stream(self, messages: Sequence[ChatMessage]) -> Iterator[str]:
        """The free-text reply to ``messages`` in pieces, as the model writes them.

        Lazy: the request is sent when the iterator is first advanced, and every failure
        (including one halfway through the reply) is raised from ``next`` as `Unavailable` or
        `ChatRequestRejected`, like ``complete``'s.
        """
        ...


class ChatRequestRejected(ChronoragError):
    """The chat server refused the request itself (a 4xx that a retry cannot fix).

    It is a `ChronoragError` with status 502 so that a query failing on it gets a
    problem+json body naming the upstream reason, while ingest tasks mark the document failed
    with that reason instead of retrying a request that will never succeed.
    """

    status = 502
    title = "Bad gateway"


class OpenAIChatClient:
    """A `ChatModel` over any OpenAI-compatible ``/chat/completions`` endpoint.

    Requests are sent with ``temperature`` 0 and a fixed ``seed``: extraction and summaries
    should be as repeatable as the server allows, since re-ingesting a document is meant to
    give the same facts. One pooled httpx client is kept per instance; it is thread-safe, so
    the worker's threads share it.
    """

    def __init__(
        self,
        base_url: str,
        model: str,
        *,
        api_key: SecretStr | None = None,
        timeout_s: float = 60.0,
        temperature: float = 0.0,
        seed: int | None = 0,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        """Create a client.

        Args:
            base_url: The API root, up to and including the version path
                (``http://127.0.0.1:8001/v1`` for vLLM, ``http://127.0.0.1:11434/v1`` for
                Ollama); ``/chat/completions`` is appended.
            model: The model name the server knows.
            api_key: Sent as ``Authorization: Bearer``; None for servers without auth.
            timeout_s: Limit on connecting and on each read; past it the call raises
                `Unavailable`.
            temperature: Sampling temperature; 0 for repeatable output.
            seed: Sampling seed sent with every request; None leaves it out.
            transport: An httpx transport, for tests or custom networking.

        Raises:
            ConfigurationError: If the URL or model is empty, or the URL is not http(s).
        """
        base = base_url.strip().rstrip("/")
        if not base.startswith(("http://", "https://")):
            raise ConfigurationError(
                f"LLM base URL {base_url!r} must start with http:// or https://, e.g. "
                "http://127.0.0.1:8001/v1 (vLLM) or http://127.0.0.1:11434/v1 (Ollama)"
            )
        if not model.strip():
            raise ConfigurationError("the LLM model name is empty; set CHRONORAG_LLM_MODEL")
        self.base_url = base
        self.model = model.strip()
        self.temperature = temperature
        self.seed = seed
        headers = {"Accept": "application/json"}
        if api_key is not None and api_key.get_secret_value():
            headers["Authorization"] = f"Bearer {api_key.get_secret_value()}"
        self._http = httpx.Client(
            base_url=base, headers=headers, timeout=httpx.Timeout(timeout_s), transport=transport
        )

    @property
    def endpoint(self) -> str:
        """The URL requests go to."""
        return f"{self.base_url}/chat/completions"

    def request_body(
        self, messages: Sequence[ChatMessage], response_format: Mapping[str, Any] | None = None
    ) -> dict[str, Any]:
        """The JSON body of a completion request (public so callers can log or inspect it)."""
        body: dict[str, Any] = {
            "model": self.model,
            "messages": [dict(m) for m in messages],
            "temperature": self.temperature,
            "stream": False,
        }
        if self.seed is not None:
            body["seed"] = self.seed
        if response_format is not None:
            body["response_format"] = dict(response_format)
        return body

    def complete(
        self, messages: Sequence[ChatMessage], *, response_format: Mapping[str, Any] | None = None
    ) -> str:
        """Send one completion request and return the reply's text.

        Raises:
            Unavailable: On a transport error, a timeout, a retryable status (408, 409, 425,
                429, 5xx) or a 200 body that is not a chat completion.
            ChatRequestRejected: On any other 4xx, with the server's reason.
        """
        body = self.request_body(messages, response_format)
        try:
            response = self._http.post("/chat/completions", json=body)
        except httpx.TransportError as exc:  # timeouts included
            raise self._unreachable(exc) from exc
        self._check_status(response)
        return _reply_text(response, self.endpoint)

    def stream(self, messages: Sequence[ChatMessage]) -> Iterator[str]:
        """Send one streamed completion request (``"stream": true``) and yield its text pieces.

        Read as server-sent events, one ``chat.completion.chunk`` per event, until ``[DONE]``
        or a chunk with a ``finish_reason``. A server that ignores ``stream`` and answers one
        ``application/json`` completion is read whole and yielded as one piece. The request is
        sent when the generator is first advanced.

        Raises:
            Unavailable: As ``complete`` does, and when the stream breaks off, carries an
                error event or a chunk that is not a completion chunk.
            ChatRequestRejected: On a 4xx a retry cannot fix, with the server's reason.
        """
        body = {**self.request_body(messages), "stream": True}
        try:
            with self._http.stream(
                "POST", "/chat/completions", json=body, headers={"Accept": "text/event-stream"}
            ) as response:
                if response.status_code >= 400:
                    response.read()
                    self._check_status(response)
                if response.headers.get("content-type", "").startswith("application/json"):
                    response.read()
                    yield _reply_text(response, self.endpoint)
                    return
                yield from _stream_pieces(response.iter_lines(), self.endpoint)
        except httpx.TransportError as exc:  # timeouts included, mid-stream too
            raise self._unreachable(exc) from exc

    def _unreachable(self, exc: httpx.TransportError) -> Unavailable:
        if isinstance(exc, httpx.TimeoutException):
            return Unavailable(
                f"the chat model at {self.endpoint} did not answer in time "
                f"({type(exc).__name__}); raise CHRONORAG_LLM_TIMEOUT_S if it is just slow"
            )
        return Unavailable(
            f"cannot reach the chat model at {self.endpoint}: {type(exc).__name__}: {exc}"
        )

    def _check_status(self, response: httpx.Response) -> None:
        """Raise for a non-success status: `Unavailable` when a retry can fix it."""
        status = response.status_code
        if status >= 500 or status in _RETRYABLE:
            raise Unavailable(
                f"the chat model at {self.endpoint} answered {status}: {_reason(response)}"
            )
        if status >= 400:
            hint = {
                401: "check CHRONORAG_LLM_API_KEY",
                403: "check CHRONORAG_LLM_API_KEY and the key's permissions",
                404: "check CHRONORAG_LLM_BASE_URL (it should end in the API version, e.g. /v1) "
                "and CHRONORAG_LLM_MODEL",
            }.get(status, "does the server support response_format json_schema for this model?")
            raise ChatRequestRejected(
                f"the chat model at {self.endpoint} refused the request ({status}: "
                f"{_reason(response)}); {hint}"
            )

    def close(self) -> None:
        """Close the pooled connections."""
        self._http.close()


def _reason(response: httpx.Response) -> str:
    """The server's error message, short: OpenAI-style ``{"error": {"message"}}`` or the text."""
    try:
        data = response.json()
    except ValueError:
        return response.text[:_DETAIL_CHARS] or response.reason_phrase
    if isinstance(data, dict):
        error = data.get("error", data.get("detail", data))
        if isinstance(error, dict):
            error = error.get("message", error)
        return str(error)[:_DETAIL_CHARS]
    return str(data)[:_DETAIL_CHARS]


def _reply_text(response: httpx.Response, endpoint: str) -> str:
    try:
        data = response.json()
        message = data["choices"][0]["message"]
        content = message.get("content")
    except _MALFORMED:
        raise Unavailable(
            f"the chat model at {endpoint} answered {response.status_code} with a body that is "
            f"not a chat completion: {response.text[:_DETAIL_CHARS]!r}"
        ) from None
    if isinstance(content, list):  # some servers return content parts
        content = "".join(p.get("text", "") for p in content if isinstance(p, dict))
    if content is None:
        refusal = message.get("refusal")
        if refusal:
            log.warning("the chat model refused: %s", str(refusal)[:_DETAIL_CHARS])
        return ""
    finish = data["choices"][0].get("finish_reason")
    if finish == "length":
        log.warning("the chat model's reply was cut at its token limit; it may be incomplete")
    return str(content)


def _stream_pieces(lines: Iterator[str], endpoint: str) -> Iterator[str]:
    """The content deltas of an OpenAI-style event stream, in order.

    Stops at ``data: [DONE]`` or at the chunk whose ``finish_reason`` is set (some servers
    send no ``[DONE]``); a stream that ends before either was cut off and raises
    `Unavailable`, so a truncated answer is never passed off as a whole one.
    """
    for line in lines:
        if not line.startswith("data:"):
            continue  # event names, comments (": keep-alive") and blank separators
        data = line[len("data:") :].strip()
        if data == "[DONE]":
            return
        try:
            chunk = json.loads(data)
            if "error" in chunk:
                raise Unavailable(
                    f"the chat model at {endpoint} failed mid-answer: "
                    f"{str(chunk['error'])[:_DETAIL_CHARS]}"
                )
            choice = chunk["choices"][0] if chunk["choices"] else {}
            content = (choice.get("delta") or {}).get("content")
            finish = choice.get("finish_reason")
        except _MALFORMED:
            raise Unavailable(
                f"the chat model at {endpoint} sent a stream event that is not a completion "
                f"chunk: {data[:_DETAIL_CHARS]!r}"
            ) from None
        if isinstance(content, str) and content:
            yield content
        if finish is not None:
            if finish == "length":
                log.warning("the chat model's reply was cut at its token limit")
            return
    raise Unavailable(f"the chat model at {endpoint} ended its stream before the answer did")


def chat_client_from_settings(settings: Settings, purpose: str) -> OpenAIChatClient:
    """The configured chat client, or a fix-it error naming what is missing.

    Args:
        settings: The process settings.
        purpose: The setting that asked for a model, e.g. ``"CHRONORAG_FACT_EXTRACTOR=llm"``;
            it opens the error message so the operator knows why a model is needed.

    Raises:
        ConfigurationError: If ``llm_base_url`` or ``llm_model`` is unset.
    """
    missing = [
        name
        for name, value in (
            ("CHRONORAG_LLM_BASE_URL", settings.llm_base_url),
            ("CHRONORAG_LLM_MODEL", settings.llm_model),
        )
        if not value
    ]
    if missing:
        raise ConfigurationError(
            f"{purpose} needs an OpenAI-compatible chat server, but {' and '.join(missing)} "
            f"{'is' if len(missing) == 1 else 'are'} unset. Set CHRONORAG_LLM_BASE_URL (e.g. "
            "http://127.0.0.1:8001/v1 for vLLM, http://127.0.0.1:11434/v1 for Ollama) and "
            "CHRONORAG_LLM_MODEL (plus CHRONORAG_LLM_API_KEY for hosted APIs), or switch "
            f"{purpose.split('=')[0]} back to its default."
        )
    assert settings.llm_base_url is not None and settings.llm_model is not None
    return OpenAIChatClient(
        str(settings.llm_base_url),
        settings.llm_model,
        api_key=settings.llm_api_key,
        timeout_s=settings.llm_timeout_s,
    )


def parse_json_reply(text: str) -> Any:
    """Parse a reply that should be JSON, tolerating a Markdown code fence around it.

    Raises:
        ValueError: If no JSON value can be read.
    """
    stripped = text.strip()
    if stripped.startswith("```"):
        stripped = stripped.split("\n", 1)[1] if "\n" in stripped else ""
        stripped = stripped.rsplit("```", 1)[0]
    return json.loads(stripped)
