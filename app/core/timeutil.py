"""UTC helpers: every timestamp in chronorag is timezone-aware UTC."""

from __future__ import annotations

from datetime import UTC, datetime

from app.core.errors import InvalidInput


def utcnow() -> datetime:
    return datetime.now(UTC)


def parse_instant(value: str, field: str) -> datetime:
    """Parse an ISO-8601 instant; naive values are refused rather than guessed."""
    text = value.strip()
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise InvalidInput(f"{field}: {value!r} is not an ISO-8601 date-time") from None
    if moment.tzinfo is None:
        raise InvalidInput(
            f"{field}: {value!r} has no timezone; add 'Z' or an offset such as '+00:00'"
        )
    return ensure_utc(moment, field)


def ensure_utc(moment: datetime, field: str) -> datetime:
    """The same instant in UTC; refuses naive values, and instants UTC cannot represent
    (``0001-01-01T00:00:00+01:00`` is in year 0 in UTC: found by API fuzzing)."""
    if moment.tzinfo is None:
        raise InvalidInput(f"{field}: naive date-time; add 'Z' or an offset such as '+00:00'")
    try:
        return moment.astimezone(UTC)
    except OverflowError:
        raise InvalidInput(
            f"{field}: {moment.isoformat()} is outside the years 1-9999 once converted to UTC"
        ) from None


def to_ts(moment: datetime) -> float:
    return moment.timestamp()


def from_ts(ts: float) -> datetime:
    return datetime.fromtimestamp(ts, UTC)
