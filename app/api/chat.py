"""An OpenAI-compatible chat API, so chat frontends (Open WebUI and the like) can ask chronorag.

``GET /v1/models`` lists the service as one model; ``POST /v1/chat/completions`` answers the
last user message with the same query service as ``/v1/query``, as a ``chat.completion`` or as
``text/event-stream`` ``chat.completion.chunk`` events ending with ``data: [DONE]`` (with a
chat model configured, ``answer_mode="llm"``, the model's words are relayed as it writes
them; otherwise the finished extractive answer is sent word by word). Time comes
from the extension field ``chronorag: {"as_of", "start", "end"}`` and from cues in the message;
the sources the answer rests on close the answer text and are repeated, structured, in the
``chronorag`` field of the response (and of the last stream chunk).

Errors on these routes use OpenAI's shape, ``{"error": {"message", "type", "param", "code"}}``,
not problem+json, because that is what OpenAI clients parse.
"""

from __future__ import annotations

import itertools
import json
import re
import time
import uuid
from collections.abc import Iterable, Iterator
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse, Response, StreamingResponse
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from app.api.context import ApiContext
from app.api.deps import get_context, get_tenant, read_body
from app.api.schemas import ClosingInstant, Instant
from app.core.errors import ChronoragError, InvalidInput, UnsupportedMediaType
from app.core.jsonvalue import decode_json
from app.retrieval.mentions import question_mentions
from app.retrieval.search import Evidence
from app.retrieval.service import QueryResult, QueryService

#: The model id the service lists and answers as.
MODEL_ID = "chronorag"
#: When the "model" was created, for ``/v1/models`` (a fixed instant: 2024-01-01T00:00:00Z).
MODEL_CREATED = 1_704_067_200
NO_ANSWER = "I found nothing in the indexed documents that answers this."

router = APIRouter(prefix="/v1", tags=["openai"])
Ctx = Annotated[ApiContext, Depends(get_context)]


class ChatTime(BaseModel):
    """The ``chronorag`` extension of a chat request: the same time fields as ``/v1/query``."""

    model_config = ConfigDict(extra="forbid")

    as_of: ClosingInstant | None = None
    start: Instant | None = None
    end: ClosingInstant | None = None


class ChatMessage(BaseModel):
    model_config = ConfigDict(extra="ignore")

    role: str
    # A string, or OpenAI content parts ([{"type": "text", "text": ...}, ...]).
    content: str | list[dict[str, Any]] | None = None

    def text(self) -> str:
        if isinstance(self.content, str):
            return self.content
        if not self.content:
            return ""
        parts = [p.get("text") for p in self.content if p.get("type") == "text"]
        return " ".join(p for p in parts if isinstance(p, str))


class ChatRequest(BaseModel):
    """OpenAI's request; fields chronorag has no use for (``temperature``...) are ignored."""

    model_config = ConfigDict(extra="ignore")

    model: str | None = None
    messages: list[ChatMessage] = Field(min_length=1)
    stream: bool = False
    temperature: float | None = None
    max_tokens: int | None = None
    user: str | None = None
    chronorag: ChatTime | None = None


class OpenAIError(Exception):
    def __init__(
        self, status: int, message: str, param: str | None = None, code: str | None = None
    ) -> None:
        super().__init__(message)
        self.status, self.message, self.param, self.code = status, message, param, code


def _error_type(status: int) -> str:
    if status == 401:
        return "authentication_error"
    if status == 403:
        return "permission_error"
    if status == 404:
        return "not_found_error"
    if status == 429:
        return "rate_limit_error"
    if status >= 500:
        return "server_error"
    return "invalid_request_error"


def openai_error(exc: OpenAIError | ChronoragError) -> JSONResponse:
    if isinstance(exc, ChronoragError):
        status, message, param, code = exc.status, exc.detail, None, None
        if status == 401:
            code = "invalid_api_key"
    else:
        status, message, param, code = exc.status, exc.message, exc.param, exc.code
    headers = None
    retry = getattr(exc, "retry_after_s", None)
    if retry is not None:
        headers = {"Retry-After": str(retry)}
    body = {
        "error": {"message": message, "type": _error_type(status), "param": param, "code": code}
    }
    return JSONResponse(body, status_code=status, headers=headers)


def _validation_error(exc: ValidationError) -> OpenAIError:
    first = exc.errors()[0]
    loc = ".".join(str(p) for p in first.get("loc", ())) or None
    messages = "; ".join(
        f"{'.'.join(str(p) for p in e.get('loc', ())) or 'body'}: {e.get('msg')}"
        for e in exc.errors()[:5]
    )
    return OpenAIError(400, messages, param=loc, code="invalid_value")


@router.get("/models")
async def list_models(request: Request) -> Response:
    """The service as the one model a chat frontend can pick."""
    try:
        get_tenant(request)
    except ChronoragError as exc:
        return openai_error(exc)
    return JSONResponse(
        {
            "object": "list",
            "data": [
                {
                    "id": MODEL_ID,
                    "object": "model",
                    "created": MODEL_CREATED,
                    "owned_by": "chronorag",
                }
            ],
        }
    )


async def _parse(request: Request, ctx: ApiContext) -> ChatRequest:
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type not in ("application/json", ""):
        raise UnsupportedMediaType("send the chat request as application/json")
    # A conversation carries history: allow a generous multiple of one question.
    limit = ctx.services.settings.max_question_chars * 64 + 65_536
    data = decode_json(await read_body(request, limit))
    if not isinstance(data, dict):
        raise OpenAIError(400, "the request body must be a JSON object")
    if not data.get("messages"):
        raise OpenAIError(
            400, "messages: a non-empty list of messages is required", "messages", "missing"
        )
    try:
        return ChatRequest.model_validate(data)
    except ValidationError as exc:
        raise _validation_error(exc) from None


def user_turns(req: ChatRequest) -> list[str]:
    """The user messages' text, oldest first; raises when there is none or the last is empty."""
    users = [m.text().strip() for m in req.messages if m.role == "user"]
    if not users:
        raise OpenAIError(400, "messages: no message has role 'user'", "messages", "no_user")
    if not users[-1]:
        raise OpenAIError(400, "messages: the last user message has no text", "messages")
    return users


def _names(queries: QueryService, text: str) -> list[str]:
    """The entity mentions of ``text`` once its time cue is taken out ("in 2021" is no name)."""
    return question_mentions(queries.scope(text).question)


def follow_up(queries: QueryService, turns: list[str], max_chars: int) -> str:
    """The question to ask for the last user turn.

    A follow-up that names no entity ("And in 2021?", "Who was it before that?") is asked
    together with the nearest earlier user turn that does, that turn's own time cue removed:
    "Who is the chief executive of Acme? And in 2021?" then asks about 2021. Deterministic: no
    model rewrites the question. A turn that names an entity is asked as it is, and so is
    one whose carried form would be longer than ``max_chars``.
    """
    question = turns[-1]
    # Too long to ask anyway (the query refuses it), or naming an entity: asked as it is.
    if len(question) > max_chars or _names(queries, question):
        return question
    for earlier in reversed(turns[:-1]):
        if len(earlier) > max_chars:
            continue
        try:
            stripped = queries.scope(earlier).question.strip()
        except ChronoragError:  # an earlier turn's unreadable time cue: not carried
            continue
        if question_mentions(stripped):
            carried = f"{stripped} {question}"
            return carried if len(carried) <= max_chars else question
    return question


def _answer(
    ctx: ApiContext, tenant: str, turns: list[str], when: ChatTime, stream: bool
) -> tuple[str, QueryResult, Iterator[str] | None]:
    """The question asked, the result, and (streaming with a chat model) the answer's pieces.

    The model's first piece is awaited here, before the response starts, so a model that is
    down or refuses is an honest 503/502 error response rather than a 200 stream that breaks.
    None: ``result.answer`` is finished (not streaming, or no model).
    """
    question = follow_up(ctx.queries, turns, ctx.services.settings.max_question_chars)
    queries = ctx.queries
    if not stream:
        result = queries.query(tenant, question, as_of=when.as_of, start=when.start, end=when.end)
        return question, result, None
    result, tokens = queries.query_stream(
        tenant, question, as_of=when.as_of, start=when.start, end=when.end
    )
    if tokens is None:
        return question, result, None
    pieces = stripped(tokens)
    first = next(pieces, None)
    return question, result, itertools.chain([] if first is None else [first], pieces)


def stripped(pieces: Iterable[str]) -> Iterator[str]:
    """``"".join(pieces).strip()`` as a stream: leading and trailing whitespace is held back
    (trailing only until more text follows), so a streamed model answer joins to exactly what
    the whole one would be. Pieces pass on as soon as they carry text."""
    held = ""
    started = False
    for piece in pieces:
        text = held + piece
        if not started:
            text = text.lstrip()
            if not text:
                continue
            started = True
        body = text.rstrip()
        held = text[len(body) :]
        if body:
            yield body


def _source(n: int, ev: Evidence) -> dict[str, Any]:
    return {
        "index": n,
        "document_id": ev.document_id,
        "version": ev.version,
        "title": ev.title,
        "url": ev.url,
        "published_at": ev.published_at.isoformat().replace("+00:00", "Z"),
        "score": ev.score,
    }


def sources_of(result: QueryResult) -> list[dict[str, Any]]:
    """One source per cited document, in evidence order, numbered from 1."""
    seen: set[str] = set()
    out: list[dict[str, Any]] = []
    for ev in result.evidence:
        if ev.document_id in seen:
            continue
        seen.add(ev.document_id)
        out.append(_source(len(out) + 1, ev))
    return out


def _source_line(s: dict[str, Any]) -> str:
    parts = [s["title"] or s["document_id"], s["published_at"][:10]]
    if s["url"]:
        parts.append(s["url"])
    return f"[{s['index']}] " + ", ".join(parts)


def sources_block(sources: list[dict[str, Any]]) -> str:
    """The numbered sources in markdown, to follow the answer ("" without sources)."""
    if not sources:
        return ""
    return "\n\n**Sources**\n\n" + "\n\n".join(_source_line(s) for s in sources)


def answer_text(result: QueryResult, sources: list[dict[str, Any]]) -> str:
    """The answer, then its numbered sources in markdown."""
    return (result.answer.strip() or NO_ANSWER) + sources_block(sources)


def _iso(moment: Any) -> str | None:
    return moment.isoformat().replace("+00:00", "Z") if moment is not None else None


def extension(question: str, result: QueryResult, sources: list[dict[str, Any]]) -> dict[str, Any]:
    """The ``chronorag`` field: the question asked (after any follow-up carry), the sources,
    and the time scope understood, as ``/v1/query`` reports it."""
    scope = result.scope
    return {
        "question": question,
        "sources": sources,
        "time_scope": {
            "as_of": _iso(scope.as_of),
            "start": _iso(scope.start),
            "end": _iso(scope.end),
            "source": scope.source,
            "expression": scope.expression,
        },
    }


def deltas(text: str) -> list[str]:
    """Word-sized pieces that join back to ``text`` exactly (each keeps its leading space)."""
    pieces: list[str] = re.findall(r"\s*\S+|\s+", text)
    return pieces


def _chunk(
    cid: str,
    created: int,
    delta: dict[str, Any],
    finish: Literal["stop"] | None = None,
    ext: dict[str, Any] | None = None,
) -> str:
    body: dict[str, Any] = {
        "id": cid,
        "object": "chat.completion.chunk",
        "created": created,
        "model": MODEL_ID,
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
    }
    if ext is not None:
        body["chronorag"] = ext
    return "data: " + json.dumps(body, ensure_ascii=False) + "\n\n"


def _stream(
    cid: str,
    created: int,
    pieces: Iterator[str],
    sources: list[dict[str, Any]],
    ext: dict[str, Any],
) -> Iterator[str]:
    """The event stream: the answer's pieces, then the sources block, the extension, [DONE].

    A model failing after the first piece can only be reported inside the 200 stream: as an
    OpenAI-style ``data: {"error": ...}`` event (OpenAI clients raise on it), with no
    ``[DONE]``, so no client takes the cut answer for a whole one.
    """
    yield _chunk(cid, created, {"role": "assistant", "content": ""})
    said = False
    try:
        for piece in pieces:
            said = True
            yield _chunk(cid, created, {"content": piece})
    except ChronoragError as exc:
        yield "data: " + bytes(openai_error(exc).body).decode() + "\n\n"
        return
    for piece in deltas(("" if said else NO_ANSWER) + sources_block(sources)):
        yield _chunk(cid, created, {"content": piece})
    yield _chunk(cid, created, {}, finish="stop", ext=ext)
    yield "data: [DONE]\n\n"


@router.post("/chat/completions")
async def chat_completions(request: Request, ctx: Ctx) -> Response:
    """Answer the last user message, OpenAI-style; see the module docstring."""
    try:
        tenant = get_tenant(request)
        req = await _parse(request, ctx)
        turns = user_turns(req)
        question, result, tokens = await run_in_threadpool(
            _answer, ctx, tenant, turns, req.chronorag or ChatTime(), req.stream
        )
    except (OpenAIError, ChronoragError) as exc:
        if isinstance(exc, InvalidInput) and exc.detail.startswith("question:"):
            exc = OpenAIError(400, "messages: " + exc.detail, "messages")
        return openai_error(exc)
    sources = sources_of(result)
    ext = extension(question, result, sources)
    cid = "chatcmpl-" + uuid.uuid4().hex
    created = int(time.time())
    if req.stream:
        pieces = tokens if tokens is not None else iter(deltas(result.answer.strip()))
        return StreamingResponse(
            _stream(cid, created, pieces, sources, ext),
            media_type="text/event-stream",
            headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
        )
    return JSONResponse(
        {
            "id": cid,
            "object": "chat.completion",
            "created": created,
            "model": MODEL_ID,
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": answer_text(result, sources)},
                    "finish_reason": "stop",
                }
            ],
            "chronorag": ext,
        }
    )
