"""Temporal-graph routes: an entity's timeline and a period's summary."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query
from fastapi.concurrency import run_in_threadpool
from pydantic import AwareDatetime, BaseModel

from app.api.context import ApiContext
from app.api.deps import get_context, get_tenant
from app.api.routes import ERRORS
from app.api.schemas import FactPublic
from app.core.errors import Unavailable
from app.graph_index import Graph

router = APIRouter(prefix="/v1")
Ctx = Annotated[ApiContext, Depends(get_context)]
Tenant = Annotated[str, Depends(get_tenant)]


class TimelinePublic(BaseModel):
    entity: str
    key: str
    as_of: datetime | None
    facts: list[FactPublic]


class PeriodPublic(BaseModel):
    period: str
    granularity: str
    start: datetime
    end: datetime
    summary: str
    stored_summary_fresh: bool
    facts: list[FactPublic]


def _graph(ctx: ApiContext) -> Graph:
    if ctx.graph is None:
        raise Unavailable("the temporal graph is not configured in this process")
    return ctx.graph


@router.get("/entities/{name}/timeline", response_model=TimelinePublic, responses=ERRORS)
async def entity_timeline(
    name: str,
    ctx: Ctx,
    tenant: Tenant,
    as_of: Annotated[AwareDatetime | None, Query(description="Known-time cut-off")] = None,
) -> Any:
    """Every fact about an entity with its valid and known time, oldest first."""
    return await run_in_threadpool(_graph(ctx).answerer.timeline, tenant, name, as_of)


@router.get("/time/{period}", response_model=PeriodPublic, responses=ERRORS)
async def time_period(period: str, ctx: Ctx, tenant: Tenant) -> Any:
    """A time node ("2023", "2023-Q2", "2023-05", "2023-05-17"): its summary and facts."""
    return await run_in_threadpool(_graph(ctx).answerer.period, tenant, period)
