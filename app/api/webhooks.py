"""Webhook intake: signed documents pushed by configured sources (see README, Webhooks)."""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Depends, Request
from fastapi.concurrency import run_in_threadpool

from app.api.context import ApiContext
from app.api.deps import get_context, read_body, request_body, validate_model
from app.api.routes import ERRORS
from app.api.schemas import DocumentAccepted, DocumentCreate, WebhookBatch
from app.core.errors import InvalidInput, TooLarge, UnsupportedMediaType
from app.core.jsonvalue import decode_json
from app.ingest.intake import DocumentInput

router = APIRouter(prefix="/v1/webhooks", tags=["webhooks"])

_DOCUMENT = DocumentCreate.model_json_schema()
# The body is read raw (the signature covers its exact bytes), so its schema is declared here.
WEBHOOK_BODY = request_body(
    {"application/json": {"oneOf": [_DOCUMENT, WebhookBatch.model_json_schema()]}},
    "One document, or a batch; signed as described in the README (Webhooks).",
)
Ctx = Annotated[ApiContext, Depends(get_context)]


def _documents(body: bytes, max_batch: int) -> tuple[list[DocumentInput], bool]:
    """Parse one bare document or ``{"documents": [...]}``; returns the inputs and batch-ness."""
    data = decode_json(body)
    if not isinstance(data, dict):
        raise InvalidInput('body: must be a JSON object (one document, or {"documents": [...]})')
    if "documents" not in data:
        return [validate_model(DocumentCreate, data).to_input()], False
    items = data["documents"]
    if isinstance(items, list) and len(items) > max_batch:
        raise TooLarge(
            f"the batch has {len(items)} documents; the limit is {max_batch} "
            "(CHRONORAG_WEBHOOK_MAX_BATCH)"
        )
    batch = validate_model(WebhookBatch, data)
    return [doc.to_input() for doc in batch.documents], True


@router.post(
    "/{source}",
    status_code=202,
    response_model=list[DocumentAccepted],
    responses=ERRORS,
    openapi_extra=WEBHOOK_BODY,
)
async def receive_webhook(source: str, request: Request, ctx: Ctx) -> Any:
    """Accept signed documents from a configured source; 202 once every one is recorded."""
    receiver = ctx.webhooks
    settings = ctx.services.settings
    receiver.source(source)
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type not in ("application/json", ""):
        raise UnsupportedMediaType("send webhook bodies as application/json")
    body = await read_body(request, settings.webhook_max_body_bytes)
    delivery = receiver.verify(source, request.headers, body)
    docs: list[DocumentInput] = []
    batch = False
    if delivery.event != "ping":  # GitHub's hello on hook creation carries no document
        docs, batch = _documents(body, settings.webhook_max_batch)
    accepted = await run_in_threadpool(receiver.accept, delivery, docs, batch=batch)
    return [
        DocumentAccepted(
            id=acc.doc_id,
            version=acc.version,
            status=acc.status,
            status_url="/v1/documents/" + quote(acc.doc_id, safe=""),
        )
        for acc in accepted
    ]
