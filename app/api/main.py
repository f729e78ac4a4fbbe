"""The FastAPI application factory; the composition root passes in a built context."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware

from app.api import chat, console, graph_routes, problems, webhooks
from app.api.admin import admin
from app.api.context import ApiContext
from app.api.mcp_server import MCP_PATH, McpEndpoint
from app.api.routes import health, router
from app.api.telemetry import RequestTelemetry, ops


@asynccontextmanager
async def _lifespan(api: FastAPI) -> AsyncIterator[None]:
    # Build the query encoder before serving: a broken export fails start-up, not a query.
    warm_up = getattr(api.state.context.services.embedder, "warm_up", None)
    if callable(warm_up):
        warm_up()
    # The MCP transport's task group lives as long as the app serves.
    async with api.state.mcp.running():
        yield


def create_api(context: ApiContext) -> FastAPI:
    api = FastAPI(
        title="chronorag",
        version="0.1.0",
        description="Streaming knowledge-update RAG with a temporal knowledge graph.",
        lifespan=_lifespan,
        # Served from packaged files by ``console.install``; FastAPI's own pages use a CDN.
        docs_url=None,
        redoc_url=None,
    )
    api.state.context = context
    problems.install(api)
    origins = context.services.settings.cors_origins
    if origins:
        # Preflights from other origins get no CORS headers, so browsers refuse them.
        api.add_middleware(
            CORSMiddleware,
            allow_origins=origins,
            allow_credentials=False,
            allow_methods=["GET", "POST", "PUT", "DELETE"],
            allow_headers=[
                "Authorization",
                "X-API-Key",
                "Content-Type",
                "Idempotency-Key",
                "X-Request-ID",
            ],
            expose_headers=["X-Request-ID"],  # so a browser client can quote it in a report
            max_age=600,
        )
    api.include_router(router)
    api.include_router(graph_routes.router)
    api.include_router(webhooks.router)
    api.include_router(admin)
    api.include_router(chat.router)
    api.include_router(health)
    # MCP (streamable HTTP) for agents; an exact route, not a mount, so /mcp never redirects.
    api.state.mcp = McpEndpoint(context)
    api.add_route(MCP_PATH, api.state.mcp, methods=["GET", "POST", "DELETE"])
    api.include_router(ops)
    console.install(api)
    # Added last, so outermost: it sees every request, CORS preflights and 404s included.
    api.add_middleware(RequestTelemetry, metrics=context.services.metrics)
    return api
