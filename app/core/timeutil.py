"""UTC helpers: every timestamp in chronorag is timezone-aware UTC."""

from __future__ import annotations

import re
from datetime import UTC, datetime, time

from app.core.errors import InvalidInput

_PLAIN_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


def utcnow() -> datetime:
    return datetime.now(UTC)


def plain_date_instant(value: str, *, day_end: bool = False) -> datetime | None:
    """A date without a time is a whole UTC day: its first instant, or its last for bounds
    that end a period (``as_of``, ``end``). Example: ``"2023-12-31"`` as ``as_of`` is
    ``2023-12-31T23:59:59.999999Z``, so a document published that afternoon counts.
    None when ``value`` is not a plain ``YYYY-MM-DD`` date."""
    text = value.strip()
    if not _PLAIN_DATE.fullmatch(text):
        return None
    try:
        day = datetime.strptime(text, "%Y-%m-%d").date()
    except ValueError:
        return None
    return datetime.combine(day, time.max if day_end else time.min, tzinfo=UTC)


def parse_instant(value: str, field: str) -> datetime:
    """Parse an ISO-8601 instant; a plain date is its UTC day's start; a naive date-time is
    refused rather than guessed."""
    text = value.strip()
    day = plain_date_instant(text)
    if day is not None:
        return day
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
