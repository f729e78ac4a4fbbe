"""Log output: plain text or one JSON object per line, each record tagged with its request id.

The request id lives in a context variable that the API's telemetry middleware sets for the
duration of a request (from the client's ``X-Request-ID``, or a fresh one), so every record
logged while serving it, uvicorn's access line included, carries it without being passed
around. Records logged outside a request (worker tasks, start-up) have ``request_id: null``.
"""

from __future__ import annotations

import json
import logging
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any, Literal

REQUEST_ID: ContextVar[str | None] = ContextVar("chronorag_request_id", default=None)

#: ``LogRecord`` attributes every record has; anything else was passed in ``extra=``.
_STANDARD = frozenset(
    vars(logging.LogRecord("", 0, "", 0, "", None, None)).keys()
    | {"message", "asctime", "request_id", "color_message"}
)


class RequestIdFilter(logging.Filter):
    """Sets ``record.request_id`` from the current request (``None`` outside one)."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = REQUEST_ID.get()
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per record: ``time``, ``level``, ``logger``, ``message``,
    ``request_id``, fields given in ``extra=``, and ``exception`` with the traceback."""

    def format(self, record: logging.LogRecord) -> str:
        out: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": getattr(record, "request_id", REQUEST_ID.get()),
        }
        for key, value in vars(record).items():
            if key not in _STANDARD and not key.startswith("_"):
                out[key] = value
        if record.exc_info:
            out["exception"] = self.formatException(record.exc_info)
        return json.dumps(out, default=str, ensure_ascii=False)


def use_log_format(fmt: Literal["text", "json"]) -> None:
    """Give the root logger's handlers the request-id filter and, for ``json``, the JSON
    formatter; idempotent, so calling it again (another command in one process) is harmless."""
    for handler in logging.getLogger().handlers:
        if not any(isinstance(f, RequestIdFilter) for f in handler.filters):
            handler.addFilter(RequestIdFilter())
        if fmt == "json" and not isinstance(handler.formatter, JsonFormatter):
            handler.setFormatter(JsonFormatter())
