"""The FastAPI application factory; the composition root passes in a built context."""

from __future__ import annotations

from fastapi import FastAPI

from app.api import graph_routes, problems, webhooks
from app.api.admin import admin
from app.api.context import ApiContext
from app.api.routes import health, router


def create_api(context: ApiContext) -> FastAPI:
    api = FastAPI(
        title="chronorag",
        version="0.1.0",
        description="Streaming knowledge-update RAG with a temporal knowledge graph.",
    )
    api.state.context = context
    problems.install(api)
    api.include_router(router)
    api.include_router(graph_routes.router)
    api.include_router(webhooks.router)
    api.include_router(admin)
    api.include_router(health)
    return api
