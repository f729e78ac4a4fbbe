"""``Idempotency-Key`` on document intake, with Stripe's semantics.

The first response to a key (per tenant) is kept for ``idempotency_ttl_s`` and replayed for
every repeat with the same request; the same key with a different request is a 409. An
"in progress" marker is claimed with set-if-absent before any work starts, so two concurrent
requests with one key can never both record: the loser gets a 409 and retries later.

Only outcomes that a retry would reproduce are kept (the 202, and 4xx answers such as a stale
version). A request that failed for a passing reason (429 overload, 503 dependency down, a
crash) drops its marker, so the client's retry with the same key does the work. The marker is
a lease renewed while the request runs, so a process killed mid-request (no chance to drop it)
blocks the key for at most ``in_progress_lease_s``.
"""

from __future__ import annotations

import hashlib
import json
import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from app.core.errors import ChronoragError, Conflict, InvalidInput, Overloaded
from app.ingest.intake import DocumentInput
from app.stores.locks import LEASE_S
from app.stores.ttl import TtlStore, renewing

log = logging.getLogger(__name__)

MAX_KEY_CHARS = 255


@dataclass(frozen=True)
class StoredResponse:
    """What a repeat gets back: status, JSON body, and the headers worth repeating."""

    status: int
    body: Any
    headers: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Outcome:
    response: StoredResponse
    replayed: bool


def check_key(key: str) -> str:
    """Validate an ``Idempotency-Key`` header: 1-255 visible ASCII characters."""
    if not 0 < len(key) <= MAX_KEY_CHARS or not all(" " <= ch <= "~" for ch in key):
        raise InvalidInput(
            f"Idempotency-Key: 1-{MAX_KEY_CHARS} visible ASCII characters (a UUID is ideal)"
        )
    return key


def document_fingerprint(operation: str, doc: DocumentInput) -> str:
    """A digest of what the request asks for, insensitive to JSON key order and time zones.

    Hashing the parsed document rather than the raw body means a retry that re-encodes the same
    request (another multipart boundary, reordered keys, ``Z`` for ``+00:00``) still matches.
    """
    published = doc.published_at.timestamp() if doc.published_at is not None else None
    canonical = {
        "operation": operation,
        "id": doc.doc_id,
        "text": doc.text,
        "title": doc.title,
        "url": doc.url,
        "source": doc.source,
        "published_at": published,
        "metadata": doc.metadata,
        "version": doc.version,
    }
    encoded = json.dumps(canonical, sort_keys=True, default=str, ensure_ascii=False)
    return hashlib.sha256(encoded.encode()).hexdigest()


def _final(exc: ChronoragError) -> bool:
    """4xx answers are what a retry would get again; 429 and 5xx are passing conditions."""
    return 400 <= exc.status < 500 and not isinstance(exc, Overloaded)


class IdempotencyService:
    """Runs an action at most once per (tenant, key) and replays its response.

    Invariant: a key's record moves ``absent -> in_progress(token) -> done`` or back to
    ``absent``; only the request holding the token may make either move (compare-and-set), so
    a request that outlived its claim cannot overwrite a newer one.
    """

    def __init__(
        self,
        store: TtlStore,
        *,
        ttl_s: float,
        prefix: str = "chronorag",
        in_progress_lease_s: float = LEASE_S,
    ) -> None:
        self._store = store
        self._ttl_s = ttl_s
        self._prefix = prefix
        self._lease_s = in_progress_lease_s

    def _key(self, tenant: str, key: str) -> str:
        digest = hashlib.sha256(key.encode()).hexdigest()
        return f"{self._prefix}:idem:{tenant}:{digest}"

    def execute(
        self,
        tenant: str,
        key: str,
        fingerprint: str,
        action: Callable[[], StoredResponse],
    ) -> Outcome:
        """Run ``action`` for a new key, or replay the response stored for a repeated one.

        Args:
            tenant: Keys are scoped per tenant: two tenants may use the same key.
            key: The client's ``Idempotency-Key`` (validated with ``check_key``).
            fingerprint: What the request asks for (``document_fingerprint``).
            action: Does the work and returns the response to store; it may raise a domain
                error, which is stored when final (4xx) and re-raised either way.

        Returns:
            The response, and whether it was replayed rather than produced now.

        Raises:
            Conflict: The key was used with a different request, or its first request is
                still in progress.
        """
        record_key = self._key(tenant, key)
        marker = json.dumps(
            {"state": "in_progress", "fingerprint": fingerprint, "token": uuid.uuid4().hex}
        )
        for _ in range(3):
            if self._store.claim(record_key, marker, self._lease_s):
                with renewing(self._store, [record_key], marker, self._lease_s):
                    response = self._run(record_key, marker, fingerprint, action)
                return Outcome(response, False)
            existing = self._store.get(record_key)
            if existing is not None:
                return Outcome(self._replay(key, existing, fingerprint), True)
            # The record expired between our claim and our read: claim again.
        raise Conflict(f"Idempotency-Key {key!r} is contended; retry the request")

    def _run(
        self, record_key: str, marker: str, fingerprint: str, action: Callable[[], StoredResponse]
    ) -> StoredResponse:
        try:
            response = action()
        except ChronoragError as exc:
            if _final(exc):
                body = {
                    "type": "about:blank",
                    "title": exc.title,
                    "status": exc.status,
                    "detail": exc.detail,
                }
                self._finish(record_key, marker, fingerprint, StoredResponse(exc.status, body))
            else:
                self._store.delete_if(record_key, marker)
            raise
        except BaseException:
            self._store.delete_if(record_key, marker)
            raise
        self._finish(record_key, marker, fingerprint, response)
        return response

    def _finish(
        self, record_key: str, marker: str, fingerprint: str, response: StoredResponse
    ) -> None:
        done = json.dumps(
            {
                "state": "done",
                "fingerprint": fingerprint,
                "status": response.status,
                "body": response.body,
                "headers": response.headers,
            }
        )
        if not self._store.replace_if(record_key, marker, done, self._ttl_s):
            log.warning("idempotency record %s expired before its request finished", record_key)

    @staticmethod
    def _replay(key: str, existing: str, fingerprint: str) -> StoredResponse:
        record = json.loads(existing)
        if record.get("fingerprint") != fingerprint:
            raise Conflict(
                f"Idempotency-Key {key!r} was already used for a different request; "
                "send a new key for a new request"
            )
        if record.get("state") != "done":
            raise Conflict(
                f"a request with Idempotency-Key {key!r} is still in progress; "
                "retry once it has finished"
            )
        return StoredResponse(int(record["status"]), record["body"], dict(record["headers"]))
