"""Temporal-graph routes: an entity's timeline and a period's summary."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query
from fastapi.concurrency import run_in_threadpool
from pydantic import AwareDatetime, BaseModel, Field

from app.api.context import ApiContext
from app.api.deps import get_context, get_tenant
from app.api.routes import ERRORS
from app.api.schemas import EvidencePublic, FactPublic
from app.core.errors import Unavailable
from app.retrieval.graph_answer import GraphAnswerer

router = APIRouter(prefix="/v1")
Ctx = Annotated[ApiContext, Depends(get_context)]
Tenant = Annotated[str, Depends(get_tenant)]


class TimelinePublic(BaseModel):
    entity: str
    key: str
    as_of: datetime | None
    facts: list[FactPublic]


class EntityPublic(BaseModel):
    name: str = Field(description="The spelling facts use most")
    key: str = Field(description="The normalised key; GET /v1/entities/{key}/timeline")
    aliases: list[str] = Field(description="Other spellings of the entity in the facts")
    facts: int
    match: Literal["exact", "alias", "prefix", "fuzzy"]
    score: float


class EntitySearchPublic(BaseModel):
    query: str
    entities: list[EntityPublic]


class PeriodDocument(BaseModel):
    document_id: str
    title: str | None
    url: str | None
    published_at: datetime


class PeriodPublic(BaseModel):
    period: str
    granularity: str
    start: datetime
    end: datetime
    summary: str
    stored_summary_fresh: bool
    facts: list[FactPublic]
    documents: list[PeriodDocument] = []
    """Documents with a chunk about the period (content time), not only those published in it."""
    chunks: list[EvidencePublic] = []


def _graph(ctx: ApiContext) -> GraphAnswerer:
    if ctx.graph is None:
        raise Unavailable("the temporal graph is not configured in this process")
    return ctx.graph


@router.get("/entities", response_model=EntitySearchPublic, responses=ERRORS)
async def search_entities(
    ctx: Ctx,
    tenant: Tenant,
    q: Annotated[str, Query(min_length=1, max_length=200, description="A name, or its start")],
    limit: Annotated[int, Query(ge=1, le=100)] = 10,
) -> EntitySearchPublic:
    """Entities by name: exact, another spelling, a prefix or a near miss (typo), best first."""
    found = await run_in_threadpool(_graph(ctx).search_entities, tenant, q, limit)
    return EntitySearchPublic(
        query=q,
        entities=[
            EntityPublic(
                name=m.name,
                key=m.key,
                aliases=list(m.aliases),
                facts=m.facts,
                match=m.match,
                score=m.score,
            )
            for m in found
        ],
    )


@router.get("/entities/{name}/timeline", response_model=TimelinePublic, responses=ERRORS)
async def entity_timeline(
    name: str,
    ctx: Ctx,
    tenant: Tenant,
    as_of: Annotated[AwareDatetime | None, Query(description="Known-time cut-off")] = None,
) -> Any:
    """Every fact about an entity with its valid and known time, oldest first; 404 (with the
    closest known names) for any entity with no facts."""
    return await run_in_threadpool(_graph(ctx).timeline, tenant, name, as_of)


@router.get("/time/{period}", response_model=PeriodPublic, responses=ERRORS)
async def time_period(period: str, ctx: Ctx, tenant: Tenant) -> Any:
    """A time node ("2023", "2023-Q2", "2023-05", "2023-05-17"): its summary, the facts valid
    in it, and the documents and chunks about it."""
    view: dict[str, Any] = await run_in_threadpool(_graph(ctx).period, tenant, period)
    chunks = await run_in_threadpool(ctx.queries.about_period, tenant, view["period"])
    docs: dict[str, PeriodDocument] = {}
    for ev in chunks:
        docs.setdefault(
            ev.document_id,
            PeriodDocument(
                document_id=ev.document_id, title=ev.title, url=ev.url, published_at=ev.published_at
            ),
        )
    view["documents"] = list(docs.values())
    view["chunks"] = [EvidencePublic(**ev.__dict__) for ev in chunks]
    return view
