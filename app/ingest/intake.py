"""The one intake step every path (REST, webhook, stream) ends in: record durably, then enqueue."""

from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from app.core.dispatch import Dispatcher
from app.core.errors import Conflict, InvalidInput, NotFound, TooLarge, Unavailable
from app.core.jsonvalue import MAX_SAFE_INT, check_json_value, valid_text
from app.core.models import DocumentRecord
from app.core.settings import Settings
from app.core.timeutil import ensure_utc, utcnow
from app.stores.documents import QdrantDocumentStore
from app.stores.locks import Locker

log = logging.getLogger(__name__)


@dataclass
class DocumentInput:
    text: str
    doc_id: str | None = None
    title: str | None = None
    url: str | None = None
    source: str | None = None
    published_at: datetime | None = None
    metadata: dict[str, Any] = field(default_factory=dict)
    version: int | None = None


@dataclass(frozen=True)
class Accepted:
    doc_id: str
    version: int
    status: str
    unchanged: bool = False


#: Metadata is kept with every chunk and read back at every start; deeper or larger
#: structures belong in the text. ``{"team": {"roles": ["lead"]}}`` has depth 3.
MAX_METADATA_DEPTH = 8
MAX_METADATA_BYTES = 65_536
MAX_ID_CHARS = 256
_ID_FORBIDDEN = "/\\?#"


def check_doc_id(doc_id: str) -> None:
    """Ids appear in URLs and stores as sent, so every id maps to exactly one fetchable link.

    Allowed: 1-256 characters, no ``/ \\ ? #``, no control characters, no leading or trailing
    whitespace (``" memo-1"`` would be a different document from ``"memo-1"`` in a URL), and not
    ``.`` or ``..`` (a client's URL normaliser turns ``/v1/documents/..`` into another path).
    Example: ``"report 2024-Q2.v3"`` is a valid id.
    """
    problem = None
    if not doc_id or len(doc_id) > MAX_ID_CHARS:
        problem = f"must have 1-{MAX_ID_CHARS} characters"
    elif doc_id != doc_id.strip():
        problem = "must not begin or end with whitespace"
    elif doc_id in (".", ".."):
        problem = "must not be '.' or '..'"
    elif any(ch in _ID_FORBIDDEN or ord(ch) < 32 or ord(ch) == 127 for ch in doc_id):
        problem = "must not contain / \\ ? # or control characters"
    if problem is not None:
        raise InvalidInput(
            f"id: 1-{MAX_ID_CHARS} characters, none of / \\ ? # or control characters, no "
            f"surrounding whitespace, not '.' or '..'; {doc_id[:80]!r} {problem}"
        )


def new_doc_id(text: str, published_at: datetime | None) -> str:
    """Ids for documents sent without one: derived from what was sent, so a retry is a no-op.

    Without ``published_at`` the id is the text's alone (the receipt time differs per retry,
    so it cannot be part of it).
    """
    stamp = published_at.isoformat() if published_at is not None else ""
    digest = hashlib.sha256(f"{stamp}\n{text}".encode()).hexdigest()
    return f"doc-{digest[:24]}"


def content_hash(doc: DocumentInput, published_at: datetime) -> str:
    parts = [doc.text, doc.title or "", doc.url or "", published_at.isoformat()]
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()


class IntakeService:
    """Validates, records and dispatches documents.

    Invariant: a caller is told "accepted" only after the record (with the full text) is in
    Qdrant's WAL; if dispatching then fails, the record stays pending and the reconciler
    dispatches it later, so nothing accepted is lost.
    """

    def __init__(
        self,
        settings: Settings,
        documents: QdrantDocumentStore,
        locker: Locker,
        dispatcher: Dispatcher,
    ) -> None:
        self._settings = settings
        self._documents = documents
        self._locker = locker
        self._dispatcher = dispatcher

    def validate(self, doc: DocumentInput) -> DocumentInput:
        if not isinstance(doc.text, str) or not doc.text.strip():
            raise InvalidInput("text: must be a non-empty string")
        size = len(doc.text.encode())
        if size > self._settings.max_document_bytes:
            raise TooLarge(
                f"text is {size} bytes; the limit is {self._settings.max_document_bytes} "
                "(CHRONORAG_MAX_DOCUMENT_BYTES)"
            )
        for name in ("text", "title", "url", "source", "doc_id"):
            value = getattr(doc, name)
            if isinstance(value, str):
                valid_text(value, name.removeprefix("doc_"), InvalidInput)
        if doc.doc_id is not None:
            check_doc_id(doc.doc_id)
        check_json_value(doc.metadata, "metadata", max_depth=MAX_METADATA_DEPTH, error=InvalidInput)
        meta_size = len(json.dumps(doc.metadata, ensure_ascii=False).encode())
        if meta_size > MAX_METADATA_BYTES:
            raise TooLarge(
                f"metadata is {meta_size} bytes as JSON; the limit is {MAX_METADATA_BYTES}"
            )
        if doc.version is not None and not 1 <= doc.version <= MAX_SAFE_INT:
            raise InvalidInput(f"version: must be an integer from 1 to {MAX_SAFE_INT} (2**53 - 1)")
        if doc.published_at is not None:
            doc.published_at = ensure_utc(doc.published_at, "published_at")
        return doc

    def submit(self, tenant: str, doc: DocumentInput, *, must_exist: bool = False) -> Accepted:
        """Record a new document or a new version of one, then enqueue its ingestion.

        Re-sending identical content under the same id is a no-op version-wise, so a client
        retry after a lost response creates nothing new; but while the record is still
        ``pending`` its ingest task is sent again (see ``_dispatch_ingest``). A document
        sent without ``published_at`` is dated at its first receipt and keeps that date while
        its content is re-sent unchanged.
        """
        doc = self.validate(doc)
        doc_id = doc.doc_id or new_doc_id(doc.text, doc.published_at)
        with self._locker.hold(f"doc:{tenant}:{doc_id}"):
            accepted = self._record(tenant, doc_id, doc, must_exist=must_exist)
        if not accepted.unchanged or accepted.status == "pending":
            self._dispatch_ingest(tenant, doc_id, accepted.version, again=accepted.unchanged)
        return accepted

    def _record(
        self, tenant: str, doc_id: str, doc: DocumentInput, *, must_exist: bool
    ) -> Accepted:
        """Write the new version's record, or find the content already recorded.

        The caller holds the document's lock: read, compare and write must not interleave
        with another writer of the same document.
        """
        now = utcnow()
        current = self._documents.get(tenant, doc_id)
        if current is None and must_exist:
            raise NotFound(f"document {doc_id!r} does not exist")
        live = current is not None and current.status not in ("deleted", "deleting")
        published_at = doc.published_at or (current.published_at if current and live else now)
        digest = content_hash(doc, published_at)
        if current is not None and live and current.content_hash == digest:
            if doc.version is not None and doc.version != current.version:
                raise Conflict(
                    f"document {doc_id!r} is at version {current.version} with this content"
                )
            return Accepted(doc_id, current.version, current.status, unchanged=True)
        version = 1 if current is None else current.version + 1
        if doc.version is not None:
            if current is not None and doc.version <= current.version:
                raise Conflict(
                    f"document {doc_id!r} is already at version {current.version}; "
                    f"version {doc.version} is stale (send {current.version + 1} or omit it)"
                )
            version = doc.version
        record = DocumentRecord(
            tenant=tenant,
            doc_id=doc_id,
            version=version,
            text=doc.text,
            content_hash=digest,
            published_at=published_at,
            created_at=current.created_at if current else now,
            updated_at=now,
            status="pending",
            indexed_version=current.indexed_version if current and live else 0,
            indexed_at=current.indexed_at if current and live else None,
            chunks=current.chunks if current and live else 0,
            title=doc.title,
            url=doc.url,
            source=doc.source,
            metadata=doc.metadata,
        )
        self._documents.put(record)
        return Accepted(doc_id, version, "pending")

    def _dispatch_ingest(self, tenant: str, doc_id: str, version: int, *, again: bool) -> None:
        """Send the ingest task; the record is durable, so a queue that is down only delays it.

        ``again``: a retry of identical content whose record is still pending. The earlier
        submission may have died between recording and enqueueing, and the retry is the
        earliest sign of that, so the task is sent again every time (a duplicate is a no-op:
        the pipeline skips an indexed version and a stale one). Nothing may fail such a retry,
        whatever the error; a new version's dispatch lets errors other than ``Unavailable``
        through (the stream consumer leaves those entries pending).
        """
        try:
            self._dispatcher.ingest(tenant, doc_id, version)
        except Exception as exc:
            if not (again or isinstance(exc, Unavailable)):
                raise
            log.warning(
                "%s %s v%d failed (%s); it stays pending for the reconciler",
                "re-dispatch of unchanged" if again else "dispatch of",
                doc_id,
                version,
                exc,
            )

    def request_delete(self, tenant: str, doc_id: str) -> DocumentRecord:
        with self._locker.hold(f"doc:{tenant}:{doc_id}"):
            current = self._documents.get(tenant, doc_id)
            if current is None or current.status == "deleted":
                raise NotFound(f"document {doc_id!r} does not exist")
            if current.status != "deleting":
                current.status = "deleting"
                current.updated_at = utcnow()
                self._documents.put(current)
        try:
            self._dispatcher.delete(tenant, doc_id)
        except Unavailable:
            log.warning("queue unavailable; delete of %s left for the reconciler", doc_id)
        return current

    def get(self, tenant: str, doc_id: str) -> DocumentRecord:
        record = self._documents.get(tenant, doc_id)
        if record is None:
            raise NotFound(f"document {doc_id!r} does not exist")
        return record
