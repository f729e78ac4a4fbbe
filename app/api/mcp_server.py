"""chronorag as an MCP server: the questions and documents of the REST API, as agent tools.

Built on the official MCP Python SDK (``mcp``). `McpEndpoint` serves it over streamable HTTP
at ``/mcp`` inside ``chronorag serve``; ``chronorag mcp`` (`app.integrations.mcp_stdio`)
relays the same endpoint over stdio for agents that launch their tools as subprocesses, so
there is one implementation of the tools, here.

The tools call what the REST routes call: `QueryService` (``ask``, ``search``), the intake
behind the same backpressure (``add_document``, ``delete_document``, ``document_status``) and
the graph answerer (``timeline``, ``period``), with arguments validated by the REST request
models and the tenant taken from the API key exactly as `get_tenant` takes it. An agent sees
what a REST client with the same key sees, and nothing more.

Transport: stateless and JSON responses. Each POST is one whole exchange, no session lives in
the process, so any replica behind a load balancer can answer and a restart loses nothing.
The API key is checked before the SDK sees a request (a missing or unknown key is HTTP 401
with a JSON-RPC error body, which MCP clients raise with its message), and a browser
``Origin`` outside ``CHRONORAG_CORS_ORIGINS`` is refused, the DNS-rebinding guard the MCP
specification asks for (clients outside browsers send no Origin).

Errors: the service's own errors (an unknown document, a date without a timezone, a full
backlog) are JSON-RPC errors: ``-32602`` (invalid params) for what the caller can fix,
``-32011`` for a refused key, ``-32603`` for the service's failures; ``data`` carries the
HTTP status the REST API would have answered (and ``retry_after_s`` when a retry helps).
Arguments of the wrong JSON type and unknown tools are caught by the SDK's schema check
first, as ``isError`` tool results; a body it cannot parse gets its JSON-RPC parse error;
nothing is a 500.
"""

from __future__ import annotations

import functools
from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import asynccontextmanager
from typing import Annotated, Any, TypeVar
from urllib.parse import quote

from mcp.server.mcpserver import Context, MCPServer
from mcp.server.transport_security import TransportSecuritySettings
from mcp.shared.exceptions import MCPError
from mcp_types import INTERNAL_ERROR, INVALID_PARAMS
from pydantic import BaseModel, Field, ValidationError
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Receive, Scope, Send

from app.api.context import ApiContext
from app.api.deps import tenant_of
from app.api.graph_routes import PeriodPublic, TimelinePublic
from app.api.routes import _public, _submit_admitted
from app.api.schemas import (
    ClosingInstant,
    DocumentAccepted,
    DocumentCreate,
    DocumentPublic,
    EvidencePublic,
    QueryRequest,
    QueryResponse,
    TimeScopePublic,
)
from app.core.errors import ChronoragError, InvalidInput, Unauthorized, Unavailable
from app.retrieval.graph_answer import GraphAnswerer
from app.retrieval.service import Asked

#: JSON-RPC error code of a missing or unknown API key (implementation-defined range).
UNAUTHORIZED = -32011
#: Where the endpoint is served.
MCP_PATH = "/mcp"

M = TypeVar("M", bound=BaseModel)

CLOCKS = (
    "chronorag keeps two clocks. Valid time (start, end) is when something was true in the "
    "world, what a text is about: 'who ran Acme during 2021' is start=2021-01-01, "
    "end=2021-12-31. Known time (as_of) is what the service knew at a date, judged by "
    "publication time: as_of=2022-03-01 ignores every document published after that day, "
    "giving the answer the archive would have given then. Dates are ISO-8601 with a timezone "
    "('2024-05-01T09:00:00Z') or plain dates ('2024-05-01', a whole UTC day; as_of and end "
    "then mean its last instant). Omitted, times are read from the question's own words "
    "('in 2021', 'as of March 2022'); with neither, the latest state is answered."
)
INSTRUCTIONS = (
    "A temporal archive of documents (news, reports) with a knowledge graph of dated facts. "
    "Use ask for an answer with its evidence, search for the passages only, timeline for "
    "everything known about one entity, period for a summary of a year, quarter, month or "
    "day; add_document, document_status and delete_document manage the archive (a new "
    "document is answerable once its status is 'indexed'). " + CLOCKS
)

AsOf = Annotated[
    str | None,
    Field(description="Known time: only documents published by then count (ISO-8601 or date)."),
]
Start = Annotated[
    str | None,
    Field(description="Valid-time window start: what the answer must have been true at/after."),
]
End = Annotated[
    str | None, Field(description="Valid-time window end (a plain date: through that day).")
]
TopK = Annotated[int | None, Field(description="How many evidence passages (default 5).")]
Question = Annotated[str, Field(description="The question, in natural language.")]
DocId = Annotated[str, Field(description="The document's id.")]


class _KnownTime(BaseModel):
    """``timeline``'s cut-off, read as ``GET /v1/entities/{name}/timeline?as_of=`` reads it."""

    as_of: ClosingInstant | None = None


class SearchResponse(BaseModel):
    """What ``search`` returns: the time scope understood and the ranked passages."""

    time_scope: TimeScopePublic
    evidence: list[EvidencePublic]


def _rpc_error(exc: ChronoragError) -> MCPError:
    """The JSON-RPC error for a service error; ``data.status`` is the REST status."""
    data: dict[str, Any] = {"status": exc.status, "title": exc.title}
    if exc.retry_after_s is not None:
        data["retry_after_s"] = exc.retry_after_s
    if exc.status in (401, 403):
        code = UNAUTHORIZED
    elif exc.status < 500 and exc.status != 429:
        code = INVALID_PARAMS
    else:
        code = INTERNAL_ERROR
    return MCPError(code, exc.detail, data)


def _validated(model: type[M], data: Mapping[str, Any]) -> M:
    """Arguments through the REST request model: the same rules, field by field."""
    try:
        return model.model_validate({k: v for k, v in data.items() if v is not None})
    except ValidationError as exc:
        reasons = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or 'arguments'}: {e['msg']}"
            for e in exc.errors()[:5]
        )
        raise InvalidInput(reasons) from None


class ChronoragTools:
    """The tools, over one process's context. Sync methods: the SDK runs them in a thread,
    as FastAPI runs the REST routes' store calls, so a slow query holds no event loop."""

    def __init__(self, context: ApiContext) -> None:
        self._ctx = context

    def tenant(self, ctx: Context) -> str:
        """The caller's tenant from the HTTP request's key, by the rule of `get_tenant`."""
        request = ctx.request_context.request
        if not isinstance(request, Request):  # not over HTTP: no key to read, no tenant
            raise Unauthorized("this tool is served over HTTP only")
        return tenant_of(self._ctx.services.settings.api_keys, request.headers)

    def answer(self, tenant: str, req: QueryRequest) -> QueryResponse:
        """``ask``: what ``POST /v1/query`` answers."""
        return QueryResponse.of(self._ctx.queries.query(tenant, req.question, **_asked(req)))

    def passages(self, tenant: str, req: QueryRequest) -> SearchResponse:
        """``search``: the same retrieval, no graph and no answer."""
        public = QueryResponse.of(self._ctx.queries.search(tenant, req.question, **_asked(req)))
        return SearchResponse(time_scope=public.time_scope, evidence=public.evidence)

    def timeline(
        self,
        entity: Annotated[str, Field(description="A person, organisation or place, by name.")],
        ctx: Context,
        as_of: AsOf = None,
    ) -> TimelinePublic:
        tenant = self.tenant(ctx)
        when = _validated(_KnownTime, {"as_of": as_of}).as_of
        return TimelinePublic.model_validate(self._graph().timeline(tenant, entity, when))

    def period(
        self,
        period: Annotated[
            str, Field(description="A time node: '2023', '2023-Q2', '2023-05' or '2023-05-17'.")
        ],
        ctx: Context,
    ) -> PeriodPublic:
        tenant = self.tenant(ctx)
        return PeriodPublic.model_validate(self._graph().period(tenant, period))

    def add_document(
        self,
        text: Annotated[str, Field(description="The document's text (plain text or markdown).")],
        ctx: Context,
        id: Annotated[
            str | None, Field(description="Your id; derived from the text when omitted.")
        ] = None,
        title: str | None = None,
        url: str | None = None,
        source: str | None = None,
        published_at: Annotated[
            str | None,
            Field(
                description="When it was published (ISO-8601 or date): its known time. "
                "Omitted: now."
            ),
        ] = None,
        metadata: dict[str, Any] | None = None,
    ) -> DocumentAccepted:
        tenant = self.tenant(ctx)
        body: dict[str, Any] = {"id": id, "text": text, "title": title, "url": url}
        body |= {"source": source, "published_at": published_at, "metadata": metadata}
        doc = _validated(DocumentCreate, body).to_input()
        acc = _submit_admitted(self._ctx, tenant, doc)
        url_path = "/v1/documents/" + quote(acc.doc_id, safe="")
        return DocumentAccepted(
            id=acc.doc_id, version=acc.version, status=acc.status, status_url=url_path
        )

    def document_status(self, id: DocId, ctx: Context) -> DocumentPublic:
        return _public(self._ctx.intake.get(self.tenant(ctx), id))

    def delete_document(self, id: DocId, ctx: Context) -> DocumentPublic:
        return _public(self._ctx.intake.request_delete(self.tenant(ctx), id))

    def _graph(self) -> GraphAnswerer:
        if self._ctx.graph is None:
            raise Unavailable("the temporal graph is not configured in this process")
        return self._ctx.graph


DESCRIPTIONS: dict[str, str] = {
    "ask": (
        "Answer a question from the archive, for a time scope. Returns the answer, the time "
        "scope understood (time_scope.source says whether it came from your arguments, the "
        "question's words, or nothing), the evidence passages cited (document id, version, "
        "publication date, score) and the graph facts used, each with both clocks: "
        "valid_from/valid_to (valid time) and known_from/known_to (known time). " + CLOCKS
    ),
    "search": (
        "The ranked evidence passages for a question, without writing an answer: for reading "
        "the sources yourself. Same time scoping as ask. " + CLOCKS
    ),
    "timeline": (
        "Every fact known about one entity, oldest first, each with valid_from/valid_to "
        "(when it held in the world; superseded facts are closed, not deleted) and "
        "known_from/known_to (when the archive learned and unlearned it). as_of cuts the "
        "timeline at what was known then. Errors with status 404 when nothing is known."
    ),
    "period": (
        "A time node of the valid-time hierarchy ('2023', '2023-Q2', '2023-05', "
        "'2023-05-17'): a summary of what happened in it and the facts that started in it."
    ),
    "add_document": (
        "Add a document (or a new version under an existing id) to the archive. Returns at "
        "once with status 'pending'; poll document_status until 'indexed' before asking "
        "about it. published_at is its known time (when the world could know it); the valid "
        "time of what it says is read from its text. Sending the same text again is a no-op."
    ),
    "document_status": (
        "A document's status ('pending', 'indexed', 'failed' with the reason in error, "
        "'deleting', 'deleted'), the version readers see, and its chunk and fact counts."
    ),
    "delete_document": (
        "Delete a document; once document_status says 'deleted' nothing derived from it "
        "(passages, facts) is returned any more."
    ),
}


def _guarded(fn: Callable[..., M]) -> Callable[..., M]:
    """``fn`` with the service's errors turned into JSON-RPC errors (see the module)."""

    @functools.wraps(fn)
    def call(*args: Any, **kwargs: Any) -> M:
        try:
            return fn(*args, **kwargs)
        except ChronoragError as exc:
            raise _rpc_error(exc) from None

    return call


def _asked(req: QueryRequest) -> Asked:
    return Asked(as_of=req.as_of, start=req.start, end=req.end, top_k=req.top_k)


def _question_tool(
    tools: ChronoragTools, run: Callable[[str, QueryRequest], BaseModel], output: type[BaseModel]
) -> Callable[..., BaseModel]:
    """A tool over a question and its two clocks; ``run(tenant, request)`` makes its result.

    ``ask`` and ``search`` share this one signature, so their argument schemas cannot drift;
    the return annotation is set per tool because the SDK derives the output schema from it.
    """

    def tool(
        question: Question,
        ctx: Context,
        as_of: AsOf = None,
        start: Start = None,
        end: End = None,
        top_k: TopK = None,
    ) -> BaseModel:
        args = {"question": question, "as_of": as_of, "start": start, "end": end, "top_k": top_k}
        return run(tools.tenant(ctx), _validated(QueryRequest, args))

    tool.__annotations__ = {**tool.__annotations__, "return": output}
    return tool


def build_mcp_server(context: ApiContext) -> MCPServer:
    """The MCP server with chronorag's tools over ``context`` (one per API)."""
    server: MCPServer = MCPServer(
        "chronorag", instructions=INSTRUCTIONS, version="0.1.0", log_level="WARNING"
    )
    tools = ChronoragTools(context)
    functions: dict[str, Callable[..., BaseModel]] = {
        "ask": _question_tool(tools, tools.answer, QueryResponse),
        "search": _question_tool(tools, tools.passages, SearchResponse),
    }
    for name, description in DESCRIPTIONS.items():
        fn = functions.get(name) or getattr(tools, name)
        server.add_tool(_guarded(fn), name=name, description=description)
    return server


class McpEndpoint:
    """The ASGI endpoint at ``/mcp``: the key and Origin gate, then the SDK's transport.

    The SDK's session manager can run once per instance, so each ``running()`` (the API's
    lifespan) builds a fresh transport; a request outside a lifespan gets a 503 JSON-RPC
    error rather than the SDK's RuntimeError.
    """

    def __init__(self, context: ApiContext) -> None:
        self._settings = context.services.settings
        self._server = build_mcp_server(context)
        self._app: ASGIApp | None = None

    @asynccontextmanager
    async def running(self) -> AsyncIterator[None]:
        """Serve ``/mcp`` for the duration (enter it in the API's lifespan)."""
        app = self._server.streamable_http_app(
            streamable_http_path=MCP_PATH,
            stateless_http=True,
            json_response=True,
            # Host checking would refuse every deployment's own host name; keys and the
            # Origin check below guard the endpoint instead (see the module docstring).
            transport_security=TransportSecuritySettings(enable_dns_rebinding_protection=False),
            max_request_body_size=self._settings.max_document_bytes * 2 + 65_536,
        )
        async with self._server.session_manager.run():
            self._app = app
            try:
                yield
            finally:
                self._app = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        refusal = self._refusal(Request(scope))
        if refusal is None and self._app is None:
            refusal = _rpc_response(Unavailable("the MCP endpoint is not running"))
        if refusal is not None:
            await refusal(scope, receive, send)
            return
        assert self._app is not None
        await self._app(scope, receive, send)

    def _refusal(self, request: Request) -> JSONResponse | None:
        origin = request.headers.get("origin")
        allowed = self._settings.cors_origins
        if origin and "*" not in allowed and origin not in allowed:
            return _rpc_response(
                Unauthorized(
                    f"origin {origin!r} may not use the MCP endpoint; add it to "
                    "CHRONORAG_CORS_ORIGINS"
                ),
                status=403,
            )
        try:
            tenant_of(self._settings.api_keys, request.headers)
        except Unauthorized as exc:
            return _rpc_response(exc)
        return None


def _rpc_response(exc: ChronoragError, status: int | None = None) -> JSONResponse:
    """An HTTP error whose body is a JSON-RPC error (MCP clients surface its message)."""
    error = _rpc_error(exc).error.model_dump(exclude_none=True)
    headers = {"WWW-Authenticate": "Bearer"} if exc.status == 401 else None
    return JSONResponse(
        {"jsonrpc": "2.0", "id": None, "error": error},
        status_code=status or exc.status,
        headers=headers,
    )
