"""HTTP routes: documents, queries, health."""

from __future__ import annotations

import time
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse

from app.api.context import ApiContext
from app.api.deps import (
    get_context,
    get_tenant,
    read_body,
    read_form,
    request_body,
    validate_model,
)
from app.api.problems import problem
from app.api.schemas import (
    DocumentAccepted,
    DocumentCreate,
    DocumentList,
    DocumentPublic,
    DocumentUpload,
    Instant,
    Problem,
    QueryRequest,
    QueryResponse,
)
from app.core.errors import InvalidInput, UnsupportedMediaType
from app.core.jsonvalue import decode_json
from app.core.models import DocumentRecord, DocumentStatus
from app.ingest.idempotency import StoredResponse, check_key, document_fingerprint
from app.ingest.intake import Accepted, DocumentInput
from app.ingest.parsing import EXTENSION_TYPES, TEXT_TYPES, parse_file, upload_type
from app.stores.documents import DocumentSummary

router = APIRouter(prefix="/v1")
Ctx = Annotated[ApiContext, Depends(get_context)]
Tenant = Annotated[str, Depends(get_tenant)]

ERRORS: dict[int | str, dict[str, Any]] = {
    code: {"model": Problem, "content": {"application/problem+json": {}}}
    for code in (400, 401, 404, 409, 413, 415, 422, 429, 503)
}
UPLOAD_BODY = request_body(
    {"application/json": DocumentCreate, "multipart/form-data": DocumentUpload}
)


def _accepted(request: Request, response: Response, acc: Accepted) -> DocumentAccepted:
    url = "/v1/documents/" + quote(acc.doc_id, safe="")
    response.headers["Location"] = url
    return DocumentAccepted(id=acc.doc_id, version=acc.version, status=acc.status, status_url=url)


def _public(record: DocumentRecord | DocumentSummary) -> DocumentPublic:
    return DocumentPublic(
        id=record.doc_id,
        version=record.version,
        status=record.status,
        chunks=record.chunks,
        facts=record.facts,
        published_at=record.published_at,
        indexed_at=record.indexed_at,
        error=record.error,
        title=record.title,
        url=record.url,
        source=record.source,
    )


async def _document_input(request: Request, ctx: ApiContext) -> DocumentInput:
    """Parse a JSON body or a multipart file upload into one DocumentInput."""
    limit = ctx.services.settings.max_document_bytes * 2 + 65_536
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type == "multipart/form-data":
        form = await read_form(request, limit)
        upload = form.get("file")
        if upload is None or isinstance(upload, str):
            raise InvalidInput("file: a multipart upload needs a 'file' part")
        file_type = upload_type(upload.content_type, upload.filename)
        if file_type is None:
            declared = (upload.content_type or "").split(";")[0].strip() or "none"
            raise UnsupportedMediaType(
                f"file {upload.filename or ''!r} of type {declared!r} is not supported; send "
                + ", ".join(sorted(TEXT_TYPES))
                + " (or application/octet-stream with one of the extensions "
                + ", ".join(sorted(EXTENSION_TYPES))
                + ")"
            )
        raw = await upload.read()
        fields = {k: v for k, v in form.items() if k != "file" and isinstance(v, str)}
        # Off the event loop: a large HTML or Markdown file takes CPU time to reduce to text.
        parsed = await run_in_threadpool(parse_file, raw, file_type)
        fields["text"] = parsed.text
        # A title field wins; then the page's own <title>; then the file's name.
        if "title" not in fields and (parsed.title or upload.filename):
            fields["title"] = parsed.title or upload.filename or ""
        doc = validate_model(DocumentCreate, fields)
    elif content_type in ("application/json", ""):
        body = await read_body(request, limit)
        data = decode_json(body)
        if not isinstance(data, dict):
            raise InvalidInput("body: must be a JSON object")
        doc = validate_model(DocumentCreate, data)
    else:
        raise UnsupportedMediaType(
            f"content type {content_type!r} is not supported; send application/json or "
            "multipart/form-data"
        )
    return doc.to_input()


@router.post(
    "/documents",
    status_code=202,
    response_model=DocumentAccepted,
    responses=ERRORS,
    openapi_extra=UPLOAD_BODY,
)
async def upload_document(
    request: Request, response: Response, ctx: Ctx, tenant: Tenant
) -> DocumentAccepted | Response:
    """Accept a document (JSON or a text/markdown/HTML file); 202 once it is durably recorded.

    With an ``Idempotency-Key`` header, a repeat gets the first response again.
    """
    metrics = ctx.services.metrics
    started = time.perf_counter()
    doc = await _document_input(request, ctx)
    started = metrics.add("parse", started)
    key = request.headers.get("idempotency-key")
    if key is not None:
        replied = await _idempotent_upload(ctx, tenant, check_key(key), doc)
        metrics.add("intake", started)
        return replied
    acc = await run_in_threadpool(_submit_admitted, ctx, tenant, doc)
    metrics.add("intake", started)
    return _accepted(request, response, acc)


def _submit_admitted(
    ctx: ApiContext, tenant: str, doc: DocumentInput, must_exist: bool = False
) -> Accepted:
    """Intake behind backpressure: 429 while the ingest backlog is over its limit."""
    ctx.backpressure.check()
    return ctx.intake.submit(tenant, doc, must_exist=must_exist)


async def _idempotent_upload(
    ctx: ApiContext, tenant: str, key: str, doc: DocumentInput
) -> Response:
    """Run the upload once per (tenant, key); invalid input is refused before the key is used."""
    ctx.intake.validate(doc)
    fingerprint = document_fingerprint("POST /v1/documents", doc)

    def action() -> StoredResponse:
        acc = _submit_admitted(ctx, tenant, doc)
        url = "/v1/documents/" + quote(acc.doc_id, safe="")
        body = DocumentAccepted(
            id=acc.doc_id, version=acc.version, status=acc.status, status_url=url
        )
        return StoredResponse(202, body.model_dump(mode="json"), {"Location": url})

    outcome = await run_in_threadpool(ctx.idempotency.execute, tenant, key, fingerprint, action)
    stored = outcome.response
    reply: Response
    if stored.status >= 400:
        reply = problem(stored.status, stored.body["title"], stored.body["detail"])
    else:
        reply = JSONResponse(stored.body, status_code=stored.status)
    reply.headers.update(stored.headers)
    if outcome.replayed:
        reply.headers["Idempotent-Replayed"] = "true"
    return reply


@router.put(
    "/documents/{doc_id}",
    status_code=202,
    response_model=DocumentAccepted,
    responses=ERRORS,
    openapi_extra=UPLOAD_BODY,
)
async def replace_document(
    doc_id: str, request: Request, response: Response, ctx: Ctx, tenant: Tenant
) -> DocumentAccepted:
    """Upload a new version; readers see the old one until the new one is indexed."""
    doc = await _document_input(request, ctx)
    if doc.doc_id is not None and doc.doc_id != doc_id:
        raise InvalidInput(f"id: body id {doc.doc_id!r} differs from the path id {doc_id!r}")
    doc.doc_id = doc_id
    acc = await run_in_threadpool(_submit_admitted, ctx, tenant, doc, must_exist=True)
    return _accepted(request, response, acc)


@router.get("/documents", response_model=DocumentList, responses=ERRORS)
async def list_documents(
    ctx: Ctx,
    tenant: Tenant,
    limit: Annotated[int, Query(ge=1, le=500, description="Documents per page")] = 50,
    cursor: Annotated[
        str | None, Query(max_length=64, description="``next_cursor`` of the previous page")
    ] = None,
    status: Annotated[
        list[DocumentStatus] | None,
        Query(description="Repeatable; without it every status but ``deleted``"),
    ] = None,
    source: Annotated[str | None, Query(max_length=256, description="Exact source")] = None,
    published_after: Annotated[
        Instant | None, Query(description="Published at or after (a plain date: its start)")
    ] = None,
    published_before: Annotated[
        Instant | None, Query(description="Published before (a plain date: its start)")
    ] = None,
) -> DocumentList:
    """The tenant's documents, a page at a time, in a stable order (follow ``next_cursor``)."""
    page, next_cursor = await run_in_threadpool(
        ctx.services.stores.documents.page,
        tenant,
        limit=limit,
        cursor=cursor,
        statuses=status,
        source=source,
        published_from=published_after,
        published_before=published_before,
    )
    return DocumentList(documents=[_public(d) for d in page], next_cursor=next_cursor)


@router.get(
    "/documents/{doc_id}", name="get_document", response_model=DocumentPublic, responses=ERRORS
)
async def get_document(doc_id: str, ctx: Ctx, tenant: Tenant) -> DocumentPublic:
    """The document's status and the version readers see."""
    record = await run_in_threadpool(ctx.intake.get, tenant, doc_id)
    return _public(record)


@router.delete(
    "/documents/{doc_id}", status_code=202, response_model=DocumentPublic, responses=ERRORS
)
async def delete_document(doc_id: str, ctx: Ctx, tenant: Tenant) -> DocumentPublic:
    """Remove a document; once its status is ``deleted`` nothing derived from it is returned."""
    record = await run_in_threadpool(ctx.intake.request_delete, tenant, doc_id)
    return _public(record)


QUERY_BODY = request_body({"application/json": QueryRequest})


@router.post("/query", response_model=QueryResponse, responses=ERRORS, openapi_extra=QUERY_BODY)
async def query(request: Request, ctx: Ctx, tenant: Tenant) -> QueryResponse:
    """Answer a time-scoped question with cited evidence."""
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type not in ("application/json", ""):
        raise UnsupportedMediaType("send the query as application/json")
    body = await read_body(request, ctx.services.settings.max_question_chars * 4 + 4096)
    data = decode_json(body)
    if not isinstance(data, dict):
        raise InvalidInput("body: must be a JSON object")
    req = validate_model(QueryRequest, data)
    result = await run_in_threadpool(
        ctx.queries.query,
        tenant,
        req.question,
        as_of=req.as_of,
        start=req.start,
        end=req.end,
        top_k=req.top_k,
        use_time=req.use_time,
    )
    return QueryResponse.of(result)


health = APIRouter()


@health.get("/healthz")
async def healthz(ctx: Ctx) -> dict[str, Any]:
    """Liveness plus what the process runs on."""
    s = ctx.services
    return {
        "status": "ok",
        "qdrant": "server" if s.settings.qdrant_url else "embedded",
        "broker": "redis" if s.settings.redis_url else "memory",
        "embedding_model": s.embedder.model_name,
    }
