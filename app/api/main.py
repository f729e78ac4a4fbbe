"""The FastAPI application factory; the composition root passes in a built context."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware

from app.api import chat, graph_routes, problems, webhooks
from app.api.admin import admin
from app.api.context import ApiContext
from app.api.routes import health, router


@asynccontextmanager
async def _lifespan(api: FastAPI) -> AsyncIterator[None]:
    # Build the query encoder before serving: a broken export fails start-up, not a query.
    warm_up = getattr(api.state.context.services.embedder, "warm_up", None)
    if callable(warm_up):
        warm_up()
    yield


def create_api(context: ApiContext) -> FastAPI:
    api = FastAPI(
        title="chronorag",
        version="0.1.0",
        description="Streaming knowledge-update RAG with a temporal knowledge graph.",
        lifespan=_lifespan,
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
            allow_headers=["Authorization", "X-API-Key", "Content-Type", "Idempotency-Key"],
            max_age=600,
        )
    api.include_router(router)
    api.include_router(graph_routes.router)
    api.include_router(webhooks.router)
    api.include_router(admin)
    api.include_router(chat.router)
    api.include_router(health)
    return api
