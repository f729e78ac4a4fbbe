"""Domain errors raised by services; ``app.api.problems`` maps each to one HTTP status."""

from __future__ import annotations


class ChronoragError(Exception):
    """Base of every error a client should see with a reason."""

    status = 400
    title = "Bad request"

    def __init__(self, detail: str, retry_after_s: int | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        #: Seconds after which a retry may succeed (sent as ``Retry-After``); None: do not retry.
        self.retry_after_s = retry_after_s


class MalformedBody(ChronoragError):
    """A body or field that is not JSON the service can keep (syntax, NaN, depth, surrogates)."""

    status = 400
    title = "Malformed JSON"


class InvalidInput(ChronoragError):
    status = 422
    title = "Invalid input"


class NotFound(ChronoragError):
    status = 404
    title = "Not found"


class Conflict(ChronoragError):
    status = 409
    title = "Conflict"


class TooLarge(ChronoragError):
    status = 413
    title = "Payload too large"


class UnsupportedMediaType(ChronoragError):
    status = 415
    title = "Unsupported media type"


class Unauthorized(ChronoragError):
    status = 401
    title = "Unauthorized"


class Forbidden(ChronoragError):
    status = 403
    title = "Forbidden"


class Overloaded(ChronoragError):
    status = 429
    title = "Too many requests"

    def __init__(self, detail: str, retry_after_s: int | None = 5) -> None:
        super().__init__(detail, retry_after_s)


class Unavailable(ChronoragError):
    status = 503
    title = "Service unavailable"


class ConfigurationError(RuntimeError):
    """A misconfiguration found at start-up; the message says how to fix it."""
