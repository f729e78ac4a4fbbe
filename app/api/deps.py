"""Request dependencies: the context, the tenant, bounded body reading."""

from __future__ import annotations

from typing import Any, TypeVar

from fastapi import Request
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, ValidationError

from app.api.context import ApiContext
from app.core.errors import TooLarge

DEFAULT_TENANT = "default"
M = TypeVar("M", bound=BaseModel)


def get_context(request: Request) -> ApiContext:
    ctx: ApiContext = request.app.state.context
    return ctx


def get_tenant(request: Request) -> str:
    return DEFAULT_TENANT


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
