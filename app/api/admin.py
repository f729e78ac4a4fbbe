"""Operator routes: process statistics and a dense-only search for recall checks."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, Field

from app.api.context import ApiContext
from app.api.deps import get_context, get_tenant
from app.retrieval.diagnostics import dense_search, process_stats

admin = APIRouter(prefix="/v1/admin", tags=["admin"])
Ctx = Annotated[ApiContext, Depends(get_context)]
Tenant = Annotated[str, Depends(get_tenant)]


class DenseSearchRequest(BaseModel):
    question: str | None = Field(default=None, max_length=2000)
    vector: list[float] | None = None
    top_k: int = Field(default=10, ge=1, le=200)
    exact: bool = False


class DenseHitPublic(BaseModel):
    id: str
    document_id: str
    version: int
    chunk: int
    score: float


class DenseSearchResponse(BaseModel):
    hits: list[DenseHitPublic]


@admin.get("/stats")
async def stats(ctx: Ctx, tenant: Tenant) -> dict[str, Any]:
    """Per-stage ingest seconds, counters, embedding batcher figures, chunk count and memory."""
    return await run_in_threadpool(process_stats, ctx.services)


@admin.post("/search", response_model=DenseSearchResponse)
async def search(req: DenseSearchRequest, ctx: Ctx, tenant: Tenant) -> DenseSearchResponse:
    """Nearest chunks by the dense vector alone, as readers may see them (for recall checks)."""
    hits = await run_in_threadpool(
        dense_search,
        ctx.services,
        tenant,
        question=req.question,
        vector=req.vector,
        top_k=req.top_k,
        exact=req.exact,
    )
    return DenseSearchResponse(hits=[DenseHitPublic(**h.__dict__) for h in hits])
