"""Internal records shared by the API, the intake path and the workers."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any, Literal

from app.core.timeutil import from_ts, to_ts

DocumentStatus = Literal["pending", "indexed", "failed", "deleting", "deleted"]


@dataclass
class DocumentRecord:
    """The durable record of one document: the newest accepted version and its content.

    ``version`` is the newest accepted version; ``indexed_version`` the one readers see. Until
    the newest is indexed, readers keep seeing ``indexed_version`` (0 = nothing yet).
    """

    tenant: str
    doc_id: str
    version: int
    text: str
    content_hash: str
    published_at: datetime
    created_at: datetime
    updated_at: datetime
    status: DocumentStatus = "pending"
    indexed_version: int = 0
    indexed_at: datetime | None = None
    chunks: int = 0
    facts: int = 0
    error: str | None = None
    title: str | None = None
    url: str | None = None
    source: str | None = None
    metadata: dict[str, Any] = field(default_factory=dict)

    def to_payload(self) -> dict[str, Any]:
        data = asdict(self)
        for key in ("published_at", "created_at", "updated_at", "indexed_at"):
            value = data[key]
            data[key] = to_ts(value) if value is not None else None
        data["updated_ts"] = data["updated_at"]
        return data

    @classmethod
    def from_payload(cls, payload: dict[str, Any]) -> DocumentRecord:
        data = {k: v for k, v in payload.items() if k in cls.__dataclass_fields__}
        for key in ("published_at", "created_at", "updated_at", "indexed_at"):
            value = data.get(key)
            data[key] = from_ts(float(value)) if value is not None else None
        return cls(**data)
