"""Signed webhooks: verify who sent a request and that it is fresh, then hand it to intake.

Two signing schemes, chosen per source in ``CHRONORAG_WEBHOOK_SECRETS``:

- ``chronorag``: ``X-Chronorag-Signature: sha256=<hex HMAC-SHA256 of "{timestamp}.{body}">``
  with ``X-Chronorag-Timestamp`` (Unix seconds) and ``X-Chronorag-Delivery``. Signing the
  timestamp bounds a captured request's useful life to the tolerance window.
- ``github``: ``X-Hub-Signature-256: sha256=<hex HMAC-SHA256 of body>`` with
  ``X-GitHub-Delivery``. GitHub signs no timestamp, so replays are stopped only by remembering
  deliveries and signatures for ``webhook_delivery_ttl_s``.

Replays are refused twice over: by delivery id, and by the signature itself (so a captured
request re-sent under a new delivery id is still refused). Both are claimed only once the
request passed every check that a retry could fix, first as *pending* under a short renewed
lease, and marked *done* only after every document is recorded. A failed recording drops the
claims, and a process killed mid-recording stops renewing them, so in both cases the sender's
retry goes through (and recording is idempotent per document, so what the first attempt had
already recorded is not doubled). A retry that meets a live pending claim gets 503 with
``Retry-After``, never a 409 that would tell the sender its batch was taken.

The claims must outlive the process (a captured delivery re-sent after a restart is still a
replay), so they are kept in Redis, or without Redis in ``data_dir/claims.sqlite3``
(``app.stores.ttl.SqliteTtlStore``); never in process memory alone.
"""

from __future__ import annotations

import hashlib
import hmac
import math
import re
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import NoReturn

from app.core.errors import (
    ChronoragError,
    Conflict,
    InvalidInput,
    NotFound,
    Unauthorized,
    Unavailable,
)
from app.core.settings import Settings, WebhookSource
from app.ingest.backpressure import Backpressure
from app.ingest.intake import Accepted, DocumentInput, IntakeService
from app.stores.locks import LEASE_S
from app.stores.ttl import TtlStore, renewing

SIGNATURE_HEADER = "X-Chronorag-Signature"
TIMESTAMP_HEADER = "X-Chronorag-Timestamp"
DELIVERY_HEADER = "X-Chronorag-Delivery"
GITHUB_SIGNATURE_HEADER = "X-Hub-Signature-256"
GITHUB_DELIVERY_HEADER = "X-GitHub-Delivery"
GITHUB_EVENT_HEADER = "X-GitHub-Event"

_SIGNATURE_RE = re.compile(r"sha256=([0-9a-fA-F]{64})")
_TIMESTAMP_RE = re.compile(r"[0-9]{1,12}")
_DELIVERY_RE = re.compile(r"[\x21-\x7e]{1,200}")
_PENDING = "pending:"
_DONE = "done"


def sign_chronorag(secret: str, timestamp: int | str, body: bytes) -> str:
    """The ``X-Chronorag-Signature`` value a sender computes for ``body`` at ``timestamp``."""
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


def sign_github(secret: str, body: bytes) -> str:
    """The ``X-Hub-Signature-256`` value GitHub computes for ``body``."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def _check_signature(expected: str, provided: str | None, header: str) -> str:
    """Constant-time comparison of ``sha256=<hex>`` values; returns the verified hex digest."""
    if not provided:
        raise Unauthorized(f"missing {header} header; sign the request (see README, Webhooks)")
    match = _SIGNATURE_RE.fullmatch(provided.strip())
    if match is None:
        raise Unauthorized(f"{header} must be 'sha256=' followed by 64 hex digits")
    digest = match.group(1).lower()
    if not hmac.compare_digest(expected.encode(), f"sha256={digest}".encode()):
        raise Unauthorized(f"{header} does not match the request body and the source's secret")
    return digest


def verify_chronorag(
    secret: str,
    *,
    signature: str | None,
    timestamp: str | None,
    body: bytes,
    now: float,
    tolerance_s: int,
) -> str:
    """Verify a chronorag-mode signature and its freshness.

    Args:
        secret: The source's shared secret.
        signature: The ``X-Chronorag-Signature`` header value.
        timestamp: The ``X-Chronorag-Timestamp`` header value (Unix seconds).
        body: The raw request body, byte for byte as received.
        now: The server's clock (Unix seconds).
        tolerance_s: The largest accepted distance between ``timestamp`` and ``now``.

    Returns:
        The verified signature's hex digest (unique per timestamp and body: a replay key).

    Raises:
        Unauthorized: A header is missing or malformed, the signature does not match, or the
            timestamp is outside the tolerance (checked after the signature, so only a holder
            of the secret learns about clock skew).
    """
    if not timestamp:
        raise Unauthorized(f"missing {TIMESTAMP_HEADER} header (Unix seconds, signed)")
    if _TIMESTAMP_RE.fullmatch(timestamp.strip()) is None:
        raise Unauthorized(f"{TIMESTAMP_HEADER} must be Unix seconds, e.g. {int(now)}")
    stamp = int(timestamp.strip())
    digest = _check_signature(sign_chronorag(secret, stamp, body), signature, SIGNATURE_HEADER)
    skew = abs(now - stamp)
    if skew > tolerance_s:
        raise Unauthorized(
            f"{TIMESTAMP_HEADER} is {int(skew)} s away from the server clock; the tolerance is "
            f"{tolerance_s} s (CHRONORAG_WEBHOOK_TOLERANCE_S): sign with the current time"
        )
    return digest


def verify_github(secret: str, *, signature: str | None, body: bytes) -> str:
    """Verify a GitHub-style ``X-Hub-Signature-256``; returns the verified hex digest.

    Raises:
        Unauthorized: The header is missing, malformed or does not match.
    """
    return _check_signature(sign_github(secret, body), signature, GITHUB_SIGNATURE_HEADER)


def check_delivery_id(value: str | None, header: str) -> str:
    """A delivery id is required (it is what deduplication keys on); a 400 without one."""
    if not value or _DELIVERY_RE.fullmatch(value.strip()) is None:
        raise ChronoragError(f"{header}: send a delivery id of 1-200 visible ASCII characters")
    return value.strip()


@dataclass(frozen=True)
class VerifiedDelivery:
    """A request whose signature (and, in chronorag mode, freshness) has been verified."""

    source: str
    tenant: str
    delivery_id: str
    digest: str
    event: str | None = None


class WebhookReceiver:
    """Verifies webhook requests and records their documents through the one intake step.

    Nothing is recorded unless every document in the request is valid, the backlog has room,
    and the delivery is new.
    """

    def __init__(
        self,
        settings: Settings,
        store: TtlStore,
        intake: IntakeService,
        backpressure: Backpressure,
        lease_s: float = LEASE_S,
    ) -> None:
        self._settings = settings
        self._store = store
        self._intake = intake
        self._backpressure = backpressure
        self._prefix = f"{settings.collection_prefix}:webhook"
        # A finished delivery is remembered at least as long as its timestamp stays acceptable.
        self._done_ttl_s = max(settings.webhook_delivery_ttl_s, 2 * settings.webhook_tolerance_s)
        self._lease_s = lease_s

    def source(self, name: str) -> WebhookSource:
        """The configured source; an unknown name is 404 (names route, the secret protects)."""
        config = self._settings.webhook_secrets.get(name)
        if config is None:
            raise NotFound(f"webhook source {name!r} is not configured (CHRONORAG_WEBHOOK_SECRETS)")
        return config

    def verify(
        self, name: str, headers: Mapping[str, str], body: bytes, now: float | None = None
    ) -> VerifiedDelivery:
        """Check the signature the source's mode prescribes.

        Args:
            name: The source named in the URL.
            headers: Request headers, a case-insensitive mapping (Starlette's ``Headers``).
            body: The raw body.
            now: The clock, for tests; defaults to ``time.time()``.
        """
        config = self.source(name)
        secret = config.secret.get_secret_value()
        if config.mode == "github":
            digest = verify_github(
                secret, signature=headers.get(GITHUB_SIGNATURE_HEADER), body=body
            )
            delivery = check_delivery_id(
                headers.get(GITHUB_DELIVERY_HEADER), GITHUB_DELIVERY_HEADER
            )
            event = headers.get(GITHUB_EVENT_HEADER)
        else:
            digest = verify_chronorag(
                secret,
                signature=headers.get(SIGNATURE_HEADER),
                timestamp=headers.get(TIMESTAMP_HEADER),
                body=body,
                now=time.time() if now is None else now,
                tolerance_s=self._settings.webhook_tolerance_s,
            )
            delivery = check_delivery_id(headers.get(DELIVERY_HEADER), DELIVERY_HEADER)
            event = None
        return VerifiedDelivery(name, config.tenant, delivery, digest, event)

    def accept(
        self, delivery: VerifiedDelivery, docs: list[DocumentInput], *, batch: bool
    ) -> list[Accepted]:
        """Validate all documents, check capacity, claim the delivery, then record each.

        Args:
            delivery: A verified request.
            docs: Its documents (empty for a GitHub ``ping``).
            batch: Whether they came as ``{"documents": [...]}``; errors then name the index.

        Returns:
            One ``Accepted`` per document, in order.

        Raises:
            InvalidInput, TooLarge: A document is invalid; nothing was recorded.
            Overloaded: The backlog is full; nothing was recorded or remembered.
            Conflict: The delivery id or the signed request was seen before.
            Unavailable: Another request is recording this delivery right now (retry later).
        """
        for n, doc in enumerate(docs):
            where = f"documents.{n}." if batch else ""
            if doc.version is not None:
                raise InvalidInput(
                    f"{where}version: webhooks always record the next version; omit it"
                )
            try:
                self._intake.validate(doc)
            except ChronoragError as exc:
                raise type(exc)(where + exc.detail) from None
            doc.source = doc.source or delivery.source
        if docs:
            self._backpressure.check()
        pending = _PENDING + uuid.uuid4().hex
        keys = self._claim(delivery, pending)
        try:
            with renewing(self._store, keys, pending, self._lease_s):
                accepted = [self._intake.submit(delivery.tenant, doc) for doc in docs]
        except BaseException:
            # Recording failed part-way: let the sender's retry through.
            for key in keys:
                self._store.delete_if(key, pending)
            raise
        for key in keys:
            self._store.replace_if(key, pending, _DONE, self._done_ttl_s)
        return accepted

    def _claim(self, delivery: VerifiedDelivery, pending: str) -> tuple[str, str]:
        """Claim the delivery id and the signature as pending; both or neither."""
        by_id = hashlib.sha256(delivery.delivery_id.encode()).hexdigest()
        delivery_key = f"{self._prefix}:{delivery.source}:delivery:{by_id}"
        signature_key = f"{self._prefix}:{delivery.source}:signature:{delivery.digest}"
        if not self._store.claim(delivery_key, pending, self._lease_s):
            self._refuse(
                delivery_key,
                f"delivery {delivery.delivery_id!r} from {delivery.source!r} was already "
                "received; nothing was ingested",
            )
        if not self._store.claim(signature_key, pending, self._lease_s):
            self._store.delete_if(delivery_key, pending)
            self._refuse(
                signature_key,
                f"this signed request from {delivery.source!r} was already received under "
                "another delivery id (a replay); nothing was ingested",
            )
        return delivery_key, signature_key

    def _refuse(self, key: str, replay: str) -> NoReturn:
        """409 for a finished delivery; 503 + Retry-After while another request records it."""
        state = self._store.get(key)
        if state is not None and state.startswith(_PENDING):
            raise Unavailable(
                "this delivery is being recorded by another request right now; retry in "
                f"{math.ceil(self._lease_s)} s (it is accepted once, whichever attempt finishes)",
                retry_after_s=math.ceil(self._lease_s),
            )
        raise Conflict(replay)
