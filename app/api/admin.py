"""Operator routes: process statistics and a dense-only search for recall checks.

They see every tenant (``/stats`` counts all of them together), so with keys configured they
need an operator key from ``CHRONORAG_ADMIN_KEYS``: a tenant's key is 403 here, no key 401.
With no keys at all (single-tenant development mode) they are open like every other route.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, Field

from app.api.context import ApiContext
from app.api.deps import _presented_key, get_context, read_body, request_body, validate_model
from app.api.routes import ERRORS
from app.core.errors import Forbidden, Unauthorized
from app.core.jsonvalue import decode_json
from app.core.security import hash_api_key, tenant_for_key
from app.core.settings import DEFAULT_TENANT, TENANT_RE
from app.retrieval.diagnostics import dense_search, process_stats

#: Largest ``/v1/admin/search`` body: a question, or a vector of a few thousand floats.
ADMIN_MAX_BODY_BYTES = 256_000
MAX_VECTOR_DIMENSIONS = 8_192

ADMIN_ERRORS: dict[int | str, dict[str, Any]] = {**ERRORS, 403: ERRORS[401]}


def require_admin(request: Request) -> None:
    """Let operators through: 401 without a key or with an unknown one, 403 for a tenant key."""
    settings = get_context(request).services.settings
    if not settings.api_keys and not settings.admin_keys:
        return  # single-tenant development mode: everything is open
    key = _presented_key(request.headers)
    if key is None:
        raise Unauthorized(
            "an admin key is required: send 'Authorization: Bearer <key>' or 'X-API-Key: <key>' "
            "with a key listed in CHRONORAG_ADMIN_KEYS"
        )
    if hash_api_key(key) in settings.admin_keys:
        return
    if tenant_for_key(settings.api_keys, key) is not None:
        raise Forbidden(
            "admin routes need an operator key (CHRONORAG_ADMIN_KEYS); a tenant's API key "
            "cannot use them"
        )
    raise Unauthorized("the API key is not recognised")


admin = APIRouter(
    prefix="/v1/admin",
    tags=["admin"],
    dependencies=[Depends(require_admin)],
    responses=ADMIN_ERRORS,
)
Ctx = Annotated[ApiContext, Depends(get_context)]


class DenseSearchRequest(BaseModel):
    question: str | None = Field(default=None, max_length=2000)
    vector: list[float] | None = Field(default=None, max_length=MAX_VECTOR_DIMENSIONS)
    top_k: int = Field(default=10, ge=1, le=200)
    exact: bool = False
    # Operators see every tenant; this one is searched.
    tenant: str = Field(default=DEFAULT_TENANT, pattern=f"^{TENANT_RE.pattern}$")


class DenseHitPublic(BaseModel):
    id: str
    document_id: str
    version: int
    chunk: int
    score: float


class DenseSearchResponse(BaseModel):
    hits: list[DenseHitPublic]


# The body is read with a bound (an unbounded JSON body once took 2 GB of memory), so its
# schema is declared here.
SEARCH_BODY = request_body(
    {"application/json": DenseSearchRequest}, f"At most {ADMIN_MAX_BODY_BYTES} bytes."
)


@admin.get("/stats")
async def stats(ctx: Ctx) -> dict[str, Any]:
    """Per-stage ingest seconds, counters, embedding batcher figures, chunk count and memory."""
    return await run_in_threadpool(process_stats, ctx.services)


@admin.post("/search", response_model=DenseSearchResponse, openapi_extra=SEARCH_BODY)
async def search(request: Request, ctx: Ctx) -> DenseSearchResponse:
    """Nearest chunks of one tenant by the dense vector alone, as readers may see them."""
    body = await read_body(request, ADMIN_MAX_BODY_BYTES)
    req = validate_model(DenseSearchRequest, decode_json(body))
    hits = await run_in_threadpool(
        dense_search,
        ctx.services,
        req.tenant,
        question=req.question,
        vector=req.vector,
        top_k=req.top_k,
        exact=req.exact,
    )
    return DenseSearchResponse(hits=[DenseHitPublic(**h.__dict__) for h in hits])
