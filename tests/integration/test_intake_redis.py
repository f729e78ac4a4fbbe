"""Intake guards on real Redis: the TTL-store contract over both backends, idempotency under
concurrency, leases renewed while held (locks and claims), and the broker backlog that
backpressure reads."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import redis

from app.core.errors import Conflict, Unavailable
from app.core.settings import Settings
from app.ingest.idempotency import IdempotencyService, StoredResponse
from app.stores.locks import RedisLocker
from app.stores.ttl import LocalTtlStore, RedisTtlStore, SqliteTtlStore, TtlStore, renewing
from workers.celery_app import create_celery
from workers.dispatch import CeleryDispatcher

pytestmark = pytest.mark.integration


@pytest.fixture(params=["redis", "local", "sqlite"])
def store(request: pytest.FixtureRequest, redis_url: str, tmp_path: Path) -> Iterator[TtlStore]:
    if request.param == "local":
        yield LocalTtlStore()
        return
    if request.param == "sqlite":
        durable = SqliteTtlStore(tmp_path / "claims.sqlite3")
        yield durable
        durable.close()
        return
    client = redis.Redis.from_url(redis_url)
    yield RedisTtlStore(client)
    client.close()


def _key() -> str:
    return f"chronorag-test:{uuid.uuid4().hex}"


def test_claim_is_set_if_absent(store: TtlStore) -> None:
    key = _key()
    assert store.claim(key, "a", 5)
    assert not store.claim(key, "b", 5)
    assert store.get(key) == "a"


def test_claim_expires(store: TtlStore) -> None:
    key = _key()
    assert store.claim(key, "a", 0.1)
    time.sleep(0.25)
    assert store.get(key) is None
    assert store.claim(key, "b", 5)


def test_replace_and_delete_only_by_holder(store: TtlStore) -> None:
    key = _key()
    store.claim(key, "mine", 5)
    assert not store.replace_if(key, "theirs", "x", 5)
    assert not store.delete_if(key, "theirs")
    assert store.replace_if(key, "mine", "done", 5)
    assert store.get(key) == "done"
    assert store.delete_if(key, "done")
    assert store.get(key) is None
    assert not store.replace_if(key, "done", "again", 5)


def test_concurrent_claims_have_one_winner(store: TtlStore) -> None:
    key = _key()
    wins: list[bool] = []
    barrier = threading.Barrier(16)

    def claim(n: int) -> None:
        barrier.wait()
        wins.append(store.claim(key, str(n), 5))

    threads = [threading.Thread(target=claim, args=(n,)) for n in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert wins.count(True) == 1


def test_idempotent_action_runs_once_across_threads(store: TtlStore) -> None:
    service = IdempotencyService(store, ttl_s=30, prefix=f"chronorag-test-{uuid.uuid4().hex}")
    calls: list[int] = []
    barrier = threading.Barrier(12)
    outcomes: list[str] = []

    def action() -> StoredResponse:
        calls.append(1)
        time.sleep(0.3)
        return StoredResponse(202, {"id": "d"}, {})

    def request() -> None:
        barrier.wait()
        try:
            outcomes.append(
                "replayed" if service.execute("t", "k", "fp", action).replayed else "ran"
            )
        except Conflict:
            outcomes.append("conflict")

    threads = [threading.Thread(target=request) for _ in range(12)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(calls) == 1 and outcomes.count("ran") == 1
    assert service.execute("t", "k", "fp", action).replayed


def test_renewing_keeps_claims_past_their_lease_until_the_block_ends(store: TtlStore) -> None:
    held, finished = _key(), _key()
    assert store.claim(held, "pending", 0.6) and store.claim(finished, "pending", 0.6)
    with renewing(store, [held, finished], "pending", lease_s=0.6):
        assert store.replace_if(finished, "pending", "done", 5)  # no longer renewed
        time.sleep(1.5)  # two and a half leases
        assert store.get(held) == "pending"
        assert store.get(finished) == "done"
    time.sleep(0.8)
    assert store.get(held) is None  # no holder: the lease ran out


def test_redis_lock_is_kept_past_its_lease_while_held(redis_url: str) -> None:
    client = redis.Redis.from_url(redis_url)
    prefix = f"chronorag-test-lock:{uuid.uuid4().hex}:"
    holder = RedisLocker(client, prefix=prefix, lease_s=0.6)
    rival = RedisLocker(client, prefix=prefix, lease_s=0.6)
    try:
        with holder.hold("doc"):
            time.sleep(1.5)  # two and a half leases
            with (
                pytest.raises(Unavailable, match="timed out waiting for lock 'doc'"),
                rival.hold("doc", timeout_s=0.2),
            ):
                pass
        with rival.hold("doc", timeout_s=0.2):  # released on leaving the block
            pass
    finally:
        client.delete(f"{prefix}doc")
        client.close()


def _settings(**kw: Any) -> Settings:
    return Settings(_env_file=None, **kw)  # type: ignore[call-arg]


def test_backlog_counts_the_redis_list(redis_url: str) -> None:
    queue = f"test-backlog-{uuid.uuid4().hex[:8]}"
    celery = create_celery(_settings(redis_url=redis_url, celery_queue=queue))
    dispatcher = CeleryDispatcher(celery, queue)
    client = redis.Redis.from_url(redis_url)
    try:
        assert dispatcher.backlog() == 0  # no list yet
        for n in range(3):
            dispatcher.ingest("t", f"d{n}", 1)
        assert client.llen(queue) == 3
        assert dispatcher.backlog() == 3
        client.delete(queue)
        assert dispatcher.backlog() == 0
    finally:
        client.delete(queue)
        client.close()


def test_backlog_counts_the_in_memory_queue() -> None:
    queue = f"test-backlog-{uuid.uuid4().hex[:8]}"
    celery = create_celery(_settings(redis_url=None, celery_queue=queue))
    dispatcher = CeleryDispatcher(celery, queue)
    assert dispatcher.backlog() == 0
    dispatcher.ingest("t", "d", 1)
    dispatcher.delete("t", "d")
    assert dispatcher.backlog() == 2
