"""Every error leaves as ``application/problem+json`` (RFC 9457), from one set of handlers."""

from __future__ import annotations

import logging
import re
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from app.core.errors import ChronoragError

log = logging.getLogger(__name__)
PROBLEM = "application/problem+json"


def problem(status: int, title: str, detail: str, **extra: Any) -> JSONResponse:
    body = {"type": "about:blank", "title": title, "status": status, "detail": detail}
    body.update({k: v for k, v in extra.items() if v is not None})
    headers = None
    if extra.get("retry_after") is not None:
        headers = {"Retry-After": str(extra["retry_after"])}
    return JSONResponse(body, status_code=status, media_type=PROBLEM, headers=headers)


def _field(loc: tuple[Any, ...]) -> str:
    parts = [str(p) for p in loc if p not in ("body", "query", "path", "header")]
    return ".".join(parts) or "body"


def _count(request: Request, kind: str) -> None:
    """One more ``chronorag_errors_total{kind}``: kinds are class or fixed names, never input."""
    context = getattr(request.app.state, "context", None)
    if context is not None:
        context.services.metrics.error(kind)


def _kind(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()  # TooLarge -> too_large


def install(app: FastAPI) -> None:
    @app.exception_handler(ChronoragError)
    async def _domain(request: Request, exc: ChronoragError) -> JSONResponse:
        _count(request, _kind(type(exc).__name__))
        return problem(exc.status, exc.title, exc.detail, retry_after=exc.retry_after_s)

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = []
        malformed = False
        for err in exc.errors():
            if err.get("type") == "json_invalid":
                malformed = True
            errors.append({"field": _field(tuple(err.get("loc", ()))), "message": err.get("msg")})
        _count(request, "malformed_json" if malformed else "invalid_input")
        if malformed:
            return problem(
                400, "Malformed JSON", "The request body is not valid JSON.", errors=errors
            )
        detail = "; ".join(f"{e['field']}: {e['message']}" for e in errors)
        return problem(422, "Invalid input", detail, errors=errors)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        titles = {404: "Not found", 405: "Method not allowed", 413: "Payload too large"}
        kinds = {404: "not_found", 405: "method_not_allowed", 413: "too_large"}
        _count(request, kinds.get(exc.status_code, f"http_{exc.status_code}"))
        return problem(exc.status_code, titles.get(exc.status_code, "HTTP error"), str(exc.detail))

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        _count(request, "internal")
        log.exception("unhandled error")
        return problem(500, "Internal error", "An unexpected error occurred; it has been logged.")
