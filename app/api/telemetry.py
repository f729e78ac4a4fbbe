"""Operations: request ids, request metrics, ``GET /metrics``, ``GET /readyz``, and draining
the unread body of a refused request so the client can read the refusal.

``RequestTelemetry`` is a plain ASGI middleware (no ``BaseHTTPMiddleware``: that one buffers
streaming responses and runs the app in another task, which would lose the request id's
context variable).
"""

from __future__ import annotations

import asyncio
import logging
import re
import time
import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Depends
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse, Response
from starlette.datastructures import Headers, MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.api.context import ApiContext
from app.api.deps import get_context
from app.api.problems import problem
from app.core.logs import REQUEST_ID
from app.core.metrics import CONTENT_TYPE, LiveGauges, StageTimer

log = logging.getLogger(__name__)

#: A client's X-Request-ID is kept when it is this safe (it goes into logs and headers).
REQUEST_ID_RE = re.compile(r"[A-Za-z0-9._:-]{1,128}")
#: Unread body a refused request may still send; past it the server closes the connection.
DRAIN_MAX_BYTES = 256 * 1024 * 1024
#: How long draining may take; a slow sender past it gets ``Connection: close``.
DRAIN_MAX_S = 30.0
#: How long each dependency may take to answer a readiness probe.
READY_TIMEOUT_S = 3.0

Ctx = Annotated[ApiContext, Depends(get_context)]


class _Body:
    """What the app has read of the request body."""

    def __init__(self, headers: Headers) -> None:
        declared = headers.get("content-length", "")
        self.declared = int(declared) if declared.isdigit() else None
        chunked = "chunked" in headers.get("transfer-encoding", "").lower()
        self.has_body = chunked or bool(self.declared)
        self.expects_continue = headers.get("expect", "").lower() == "100-continue"
        self.read_any = False
        self.complete = not self.has_body

    def saw(self, message: Message) -> None:
        if message["type"] == "http.request":
            self.read_any = True
            if not message.get("more_body", False):
                self.complete = True
        elif message["type"] == "http.disconnect":
            self.complete = True

    def worth_draining(self) -> bool:
        """Unread body is on its way: not when the client waits for ``100 Continue`` that
        nobody asked for (draining would ask for it), nor when the client declared more than
        the drain bound (closing at once is cheaper than reading and refusing)."""
        if self.complete or (self.expects_continue and not self.read_any):
            return False
        return self.declared is None or self.declared <= DRAIN_MAX_BYTES


async def _drain(receive: Receive, body: _Body) -> bool:
    """Read and drop the rest of the body, bounded in bytes and time; True when all of it
    arrived (the connection can then stay open)."""
    deadline = time.monotonic() + DRAIN_MAX_S
    dropped = 0
    while not body.complete:
        remaining = deadline - time.monotonic()
        if remaining <= 0 or dropped > DRAIN_MAX_BYTES:
            return False
        try:
            message = await asyncio.wait_for(receive(), remaining)
        except TimeoutError:
            return False
        body.saw(message)
        dropped += len(message.get("body", b""))
        if message["type"] == "http.disconnect":
            return False
    return True


def _request_id(headers: Headers) -> str:
    given = headers.get("x-request-id", "")
    return given if REQUEST_ID_RE.fullmatch(given) else uuid.uuid4().hex


def _route(scope: Scope, root_path: str) -> str:
    """The matched route's template, so ``/v1/documents/a`` and ``/b`` are one series; for a
    mounted app (the console's files, /mcp) its mount path, which routing appended to
    ``root_path``; "unmatched" for anything else, so no client-chosen path becomes a label."""
    path = getattr(scope.get("route"), "path", None)
    if isinstance(path, str) and path:
        return path
    mounted = str(scope.get("root_path", ""))
    if len(mounted) > len(root_path) and mounted.startswith(root_path):
        return mounted[len(root_path) :]
    return "unmatched"


class RequestTelemetry:
    """Per request: a request id (the client's ``X-Request-ID`` when safe, else a new one)
    set for logs and echoed in the reply; count and latency by route template and status;
    and, for an error answered before the body was read, the body drained first.

    Why drain: a server that answers 413 and closes with the upload still arriving makes the
    kernel reset the connection, and most clients (curl, requests, ``http.client``) then
    report "connection reset" instead of the problem body. Reading the rest (bounded by
    ``DRAIN_MAX_BYTES`` and ``DRAIN_MAX_S``) lets them read the answer.
    """

    def __init__(self, app: ASGIApp, metrics: StageTimer) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        rid = _request_id(headers)
        token = REQUEST_ID.set(rid)
        body = _Body(headers)
        started = time.perf_counter()
        status = 500
        root_path = str(scope.get("root_path", ""))

        async def tracked_receive() -> Message:
            message = await receive()
            body.saw(message)
            return message

        async def tagged_send(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
                reply = MutableHeaders(scope=message)
                reply["X-Request-ID"] = rid
                if status >= 400 and not body.complete:
                    drained = body.worth_draining() and await _drain(receive, body)
                    if not drained:
                        reply["Connection"] = "close"
            await send(message)

        try:
            await self.app(scope, tracked_receive, tagged_send)
        finally:
            seconds = time.perf_counter() - started
            route = _route(scope, root_path)
            self.metrics.request(scope.get("method", "GET"), route, status, seconds)
            REQUEST_ID.reset(token)


ops = APIRouter(tags=["operations"])


def _live_gauges(ctx: ApiContext) -> LiveGauges:
    """State read at scrape time: documents per status (all tenants) and queue depth."""
    services = ctx.services
    queue = services.settings.celery_queue

    def documents() -> dict[tuple[str, ...], float]:
        counts = services.stores.documents.count_by_status()
        return {(status,): float(n) for status, n in counts.items()}

    def depth() -> dict[tuple[str, ...], float]:
        dispatcher = services.dispatcher
        return {} if dispatcher is None else {(queue,): float(dispatcher.backlog())}

    return LiveGauges(
        {
            "chronorag_documents": ("Documents of all tenants by status.", ("status",), documents),
            "chronorag_queue_depth": (
                "Tasks waiting in the ingest queue (not those a worker holds).",
                ("queue",),
                depth,
            ),
        }
    )


@ops.get(
    "/metrics",
    response_class=Response,
    responses={200: {"content": {"text/plain": {"schema": {"type": "string"}}}}},
)
async def metrics(ctx: Ctx) -> Response:
    """Prometheus text format: requests, ingest stages, freshness, batches, errors, state."""
    payload = await run_in_threadpool(ctx.services.metrics.series.render, _live_gauges(ctx))
    return Response(payload, media_type=CONTENT_TYPE)


def _ping_redis(ctx: ApiContext) -> str:
    redis = ctx.services.redis
    if redis is None:
        return "not configured"
    redis.ping()
    return "ok"


def _ping_qdrant(ctx: ApiContext) -> str:
    documents = ctx.services.stores.documents
    ctx.services.stores.engine.count(documents.collection)
    return "ok"


@ops.get("/readyz", responses={503: {"description": "A dependency is not answering."}})
async def readyz(ctx: Ctx) -> Any:
    """Readiness: Redis and Qdrant answer (``/healthz`` is liveness only); 503 says which not."""
    checks: dict[str, str] = {}
    failed: list[str] = []
    for name, ping in (("redis", _ping_redis), ("qdrant", _ping_qdrant)):
        try:
            checks[name] = await asyncio.wait_for(run_in_threadpool(ping, ctx), READY_TIMEOUT_S)
        except TimeoutError:
            checks[name] = f"no answer within {READY_TIMEOUT_S:g} s"
            failed.append(name)
        except Exception as exc:  # a down dependency raises its client's own error types
            checks[name] = f"{type(exc).__name__}: {exc}"[:300]
            failed.append(name)
    if failed:
        return problem(
            503,
            "Service unavailable",
            "not ready: " + "; ".join(f"{n}: {checks[n]}" for n in failed),
            checks=checks,
        )
    return JSONResponse({"status": "ready", "checks": checks})
