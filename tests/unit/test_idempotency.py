"""Idempotency-Key rules (Stripe semantics) over the in-process store; Redis in integration."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta, timezone

import pytest

from app.core.errors import Conflict, InvalidInput, NotFound, Overloaded, Unavailable
from app.ingest.idempotency import (
    IdempotencyService,
    StoredResponse,
    check_key,
    document_fingerprint,
)
from app.ingest.intake import DocumentInput
from app.stores.ttl import LocalTtlStore

OK = StoredResponse(202, {"id": "d1", "version": 1}, {"Location": "/v1/documents/d1"})


class Counting:
    """An action that counts its calls and returns (or raises) what it is given."""

    def __init__(self, result: StoredResponse | Exception = OK, delay_s: float = 0.0) -> None:
        self.calls = 0
        self._result = result
        self._delay_s = delay_s
        self._lock = threading.Lock()

    def __call__(self) -> StoredResponse:
        with self._lock:
            self.calls += 1
        time.sleep(self._delay_s)
        if isinstance(self._result, Exception):
            raise self._result
        return self._result


@pytest.fixture()
def service() -> IdempotencyService:
    return IdempotencyService(LocalTtlStore(), ttl_s=60, prefix="t")


def test_repeat_replays_first_response(service: IdempotencyService) -> None:
    action = Counting()
    first = service.execute("acme", "k1", "fp", action)
    second = service.execute("acme", "k1", "fp", action)
    assert action.calls == 1
    assert not first.replayed and second.replayed
    assert second.response == OK


def test_same_key_different_request_conflicts(service: IdempotencyService) -> None:
    service.execute("acme", "k1", "fp-a", Counting())
    action = Counting()
    with pytest.raises(Conflict, match="different request"):
        service.execute("acme", "k1", "fp-b", action)
    assert action.calls == 0


def test_keys_are_scoped_per_tenant(service: IdempotencyService) -> None:
    action = Counting()
    assert not service.execute("acme", "k1", "fp", action).replayed
    assert not service.execute("globex", "k1", "fp", action).replayed
    assert action.calls == 2


def test_in_progress_duplicate_conflicts(service: IdempotencyService) -> None:
    inner: list[BaseException] = []

    def action() -> StoredResponse:
        try:
            service.execute("acme", "k1", "fp", Counting())
        except Conflict as exc:
            inner.append(exc)
        return OK

    service.execute("acme", "k1", "fp", action)
    assert len(inner) == 1 and "still in progress" in str(inner[0])


def test_concurrent_duplicates_run_once(service: IdempotencyService) -> None:
    action = Counting(delay_s=0.2)
    outcomes: list[str] = []

    def call() -> None:
        try:
            out = service.execute("acme", "k1", "fp", action)
            outcomes.append("replayed" if out.replayed else "ran")
        except Conflict:
            outcomes.append("conflict")

    threads = [threading.Thread(target=call) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert action.calls == 1
    assert outcomes.count("ran") == 1
    assert outcomes.count("conflict") + outcomes.count("replayed") == 7


@pytest.mark.parametrize("error", [Conflict("stale version"), NotFound("no such document")])
def test_final_client_errors_are_stored(service: IdempotencyService, error: Exception) -> None:
    action = Counting(error)
    with pytest.raises(type(error)):
        service.execute("acme", "k1", "fp", action)
    replay = service.execute("acme", "k1", "fp", action)
    assert action.calls == 1 and replay.replayed
    assert replay.response.status == error.status  # type: ignore[attr-defined]
    assert replay.response.body["detail"] == str(error)
    assert replay.response.body["title"]


@pytest.mark.parametrize(
    "error", [Overloaded("backlog full"), Unavailable("Redis down"), RuntimeError("crash")]
)
def test_passing_failures_release_the_key(service: IdempotencyService, error: Exception) -> None:
    with pytest.raises(type(error)):
        service.execute("acme", "k1", "fp", Counting(error))
    retry = Counting()
    out = service.execute("acme", "k1", "fp", retry)
    assert retry.calls == 1 and not out.replayed


def test_records_expire_after_ttl() -> None:
    service = IdempotencyService(LocalTtlStore(), ttl_s=0.05, prefix="t")
    action = Counting()
    service.execute("acme", "k1", "fp", action)
    time.sleep(0.1)
    assert not service.execute("acme", "k1", "fp", action).replayed
    assert action.calls == 2


def test_abandoned_in_progress_marker_expires() -> None:
    store = LocalTtlStore()
    stale = IdempotencyService(store, ttl_s=60, prefix="t", in_progress_lease_s=0.05)
    store.claim(stale._key("acme", "k1"), '{"state": "in_progress", "fingerprint": "fp"}', 0.05)
    with pytest.raises(Conflict, match="in progress"):
        stale.execute("acme", "k1", "fp", Counting())
    time.sleep(0.1)
    assert not stale.execute("acme", "k1", "fp", Counting()).replayed


def test_slow_request_keeps_its_claim_past_the_lease() -> None:
    """The in-progress lease is renewed while the request runs, however long it takes."""
    service = IdempotencyService(LocalTtlStore(), ttl_s=60, prefix="t", in_progress_lease_s=0.1)
    started = threading.Event()

    def slow() -> StoredResponse:
        started.set()
        time.sleep(0.5)  # five leases
        return StoredResponse(202, {"id": "d1"})

    first = threading.Thread(target=service.execute, args=("acme", "k1", "fp", slow))
    first.start()
    started.wait(5)
    time.sleep(0.3)
    with pytest.raises(Conflict, match="in progress"):
        service.execute("acme", "k1", "fp", Counting())
    first.join(5)
    assert service.execute("acme", "k1", "fp", Counting()).replayed


@pytest.mark.parametrize("key", ["", "x" * 256, "tab\there", "caf\u00e9"])
def test_invalid_keys_are_refused(key: str) -> None:
    with pytest.raises(InvalidInput, match="Idempotency-Key"):
        check_key(key)


def test_valid_key_passes() -> None:
    assert (
        check_key("3f1e6c1a-5d7b-4a59-9f0e-2b8c1d4e5f60") == "3f1e6c1a-5d7b-4a59-9f0e-2b8c1d4e5f60"
    )


def _doc(**kw: object) -> DocumentInput:
    base: dict[str, object] = {"text": "Body.", "doc_id": "d1", "metadata": {"a": 1, "b": 2}}
    base.update(kw)
    return DocumentInput(**base)  # type: ignore[arg-type]


def test_fingerprint_ignores_encoding_differences() -> None:
    utc = datetime(2024, 1, 1, tzinfo=UTC)
    cet = utc.astimezone(timezone(timedelta(hours=1)))
    a = document_fingerprint("POST /v1/documents", _doc(published_at=utc))
    b = document_fingerprint(
        "POST /v1/documents", _doc(published_at=cet, metadata={"b": 2, "a": 1})
    )
    assert a == b


@pytest.mark.parametrize(
    "change",
    [
        {"text": "Other."},
        {"doc_id": "d2"},
        {"title": "T"},
        {"metadata": {"a": 2}},
        {"published_at": datetime(2024, 1, 2, tzinfo=UTC)},
        {"version": 3},
    ],
)
def test_fingerprint_changes_with_the_request(change: dict[str, object]) -> None:
    assert document_fingerprint("op", _doc()) != document_fingerprint("op", _doc(**change))
