"""Request dependencies: the context, the tenant, bounded body reading."""

from __future__ import annotations

from collections.abc import AsyncGenerator, Mapping
from typing import Any, TypeVar

from fastapi import Request
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, ValidationError
from starlette.datastructures import FormData
from starlette.formparsers import MultiPartException, MultiPartParser

from app.api.context import ApiContext
from app.core.errors import ChronoragError, TooLarge, Unauthorized
from app.core.security import tenant_for_key
from app.core.settings import DEFAULT_TENANT

M = TypeVar("M", bound=BaseModel)


def get_context(request: Request) -> ApiContext:
    ctx: ApiContext = request.app.state.context
    return ctx


def get_tenant(request: Request) -> str:
    """The caller's tenant, from its API key; every route that touches data depends on it.

    With no keys configured (refused in production by settings) the service runs single-tenant
    and everyone is ``default``. With keys, a missing or unknown key is 401, so no request
    reaches a store without a tenant to confine it.
    """
    return tenant_of(get_context(request).services.settings.api_keys, request.headers)


def tenant_of(api_keys: Mapping[str, str], headers: Mapping[str, str]) -> str:
    """``get_tenant`` over bare headers (lower-case names), for transports outside FastAPI's
    dependencies (the MCP endpoint): one rule for every way in."""
    if not api_keys:
        return DEFAULT_TENANT
    key = _presented_key(headers)
    if key is None:
        raise Unauthorized(
            "an API key is required: send 'Authorization: Bearer <key>' or 'X-API-Key: <key>'"
        )
    tenant = tenant_for_key(api_keys, key)
    if tenant is None:
        raise Unauthorized("the API key is not recognised")
    return tenant


def _presented_key(headers: Mapping[str, str]) -> str | None:
    authorization = headers.get("authorization")
    if authorization:
        scheme, _, credentials = authorization.partition(" ")
        if scheme.lower() == "bearer" and credentials.strip():
            return credentials.strip()
        raise Unauthorized("the Authorization header must be 'Bearer <key>'")
    key = headers.get("x-api-key", "").strip()
    return key or None


async def read_body(request: Request, limit: int) -> bytes:
    """Read at most ``limit`` bytes; refuse early on a declared length, late on a stream."""
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit:
        raise TooLarge(f"request body is {declared} bytes; the limit is {limit}")
    body = bytearray()
    async for piece in request.stream():
        body.extend(piece)
        if len(body) > limit:
            raise TooLarge(f"request body exceeds the limit of {limit} bytes")
    return bytes(body)


def validate_model(model: type[M], data: Any) -> M:
    """Validate into a model, reporting errors exactly as FastAPI does for declared bodies."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        errors = [{**e, "loc": ("body", *e["loc"])} for e in exc.errors()]
        raise RequestValidationError(errors) from None


def request_body(
    content: Mapping[str, type[BaseModel] | dict[str, Any]], description: str | None = None
) -> dict[str, Any]:
    """The ``openapi_extra`` of a route that reads its body itself (bounded, or signed).

    Such routes cannot declare a FastAPI body parameter (it would be parsed before the size
    limit and without the raw bytes a signature covers), so the schema is generated here from
    the same models the handler validates with: one media type per entry, e.g.
    ``{"application/json": DocumentCreate, "multipart/form-data": DocumentUpload}``.
    """
    schemas = {
        media: {"schema": _inlined(model if isinstance(model, dict) else model.model_json_schema())}
        for media, model in content.items()
    }
    body: dict[str, Any] = {"required": True, "content": schemas}
    if description:
        body["description"] = description
    return {"requestBody": body}


def _inlined(schema: dict[str, Any]) -> dict[str, Any]:
    """A model's JSON schema with its ``$defs`` references written in place.

    OpenAPI resolves ``#/$defs/...`` against the whole document, where no such key exists, so
    a nested model (a webhook batch's documents) would break the rendered docs.
    """

    def walk(node: Any, defs: dict[str, Any]) -> Any:
        if isinstance(node, dict):
            defs = {**defs, **node.get("$defs", {})}
            ref = node.get("$ref")
            if isinstance(ref, str) and ref.startswith("#/$defs/"):
                return walk(defs[ref.removeprefix("#/$defs/")], defs)
            return {k: walk(v, defs) for k, v in node.items() if k != "$defs"}
        if isinstance(node, list):
            return [walk(v, defs) for v in node]
        return node

    inlined: dict[str, Any] = walk(schema, {})
    return inlined


async def read_form(request: Request, limit: int) -> FormData:
    """A multipart body read under ``limit`` bytes first, then parsed (Starlette's parser)."""
    body = await read_body(request, limit)

    async def once() -> AsyncGenerator[bytes, None]:
        yield body

    try:
        return await MultiPartParser(request.headers, once()).parse()
    except MultiPartException as exc:
        raise ChronoragError(
            f"body: not a multipart form Starlette can parse: {exc.message}"
        ) from None
