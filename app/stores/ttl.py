"""Short-lived keys with set-if-absent: idempotency records and webhook delivery ids.

Redis holds them when configured, so every API replica sees the same claims. Without Redis
(the one-process topology, whose one process is the only writer) an in-process map with expiry
does, unless the claims must outlive the process: webhook replay protection (a captured
delivery must stay refused after a restart) uses a SQLite file in the data folder instead.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any, Protocol

from app.core.errors import ChronoragError, Unavailable
from app.stores.locks import LEASE_S, lease_renewed

# Compare-and-set / compare-and-delete: only the holder of a claim may finish or drop it.
_REPLACE_IF = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3])
  return 1
end
return 0
"""
_DELETE_IF = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
"""


class TtlStore(Protocol):
    """String values that expire; every method is atomic with respect to the others."""

    def claim(self, key: str, value: str, ttl_s: float) -> bool:
        """Set ``key`` only if absent (Redis ``SET NX PX``); True when this call set it."""
        ...

    def get(self, key: str) -> str | None: ...

    def replace_if(self, key: str, expected: str, value: str, ttl_s: float) -> bool:
        """Set ``key`` to ``value`` only while it still holds ``expected``."""
        ...

    def delete_if(self, key: str, expected: str) -> bool:
        """Delete ``key`` only while it still holds ``expected``."""
        ...


class RedisTtlStore:
    """Redis-backed claims; a Redis error is ``Unavailable`` (503), never a silent pass."""

    def __init__(self, client: Any) -> None:
        self._client = client
        self._replace = client.register_script(_REPLACE_IF)
        self._delete = client.register_script(_DELETE_IF)

    def _call(self, fn: Any, *args: Any, **kwargs: Any) -> Any:
        import redis

        try:
            return fn(*args, **kwargs)
        except redis.RedisError as exc:
            raise Unavailable(f"Redis unavailable: {exc}") from exc

    def claim(self, key: str, value: str, ttl_s: float) -> bool:
        return bool(self._call(self._client.set, key, value, nx=True, px=_ms(ttl_s)))

    def get(self, key: str) -> str | None:
        raw = self._call(self._client.get, key)
        return raw.decode() if isinstance(raw, bytes) else raw

    def replace_if(self, key: str, expected: str, value: str, ttl_s: float) -> bool:
        return bool(self._call(self._replace, keys=[key], args=[expected, value, _ms(ttl_s)]))

    def delete_if(self, key: str, expected: str) -> bool:
        return bool(self._call(self._delete, keys=[key], args=[expected]))


class LocalTtlStore:
    """An in-process map with expiry for the one-process topology without Redis."""

    def __init__(self, sweep_every_s: float = 60.0) -> None:
        self._lock = threading.Lock()
        self._items: dict[str, tuple[str, float]] = {}
        self._sweep_every_s = sweep_every_s
        self._next_sweep = time.monotonic() + sweep_every_s

    def _live(self, key: str, now: float) -> str | None:
        item = self._items.get(key)
        if item is None:
            return None
        if item[1] <= now:
            del self._items[key]
            return None
        return item[0]

    def _sweep(self, now: float) -> None:
        if now >= self._next_sweep:
            self._items = {k: v for k, v in self._items.items() if v[1] > now}
            self._next_sweep = now + self._sweep_every_s

    def claim(self, key: str, value: str, ttl_s: float) -> bool:
        now = time.monotonic()
        with self._lock:
            self._sweep(now)
            if self._live(key, now) is not None:
                return False
            self._items[key] = (value, now + ttl_s)
            return True

    def get(self, key: str) -> str | None:
        with self._lock:
            return self._live(key, time.monotonic())

    def replace_if(self, key: str, expected: str, value: str, ttl_s: float) -> bool:
        now = time.monotonic()
        with self._lock:
            if self._live(key, now) != expected:
                return False
            self._items[key] = (value, now + ttl_s)
            return True

    def delete_if(self, key: str, expected: str) -> bool:
        with self._lock:
            if self._live(key, time.monotonic()) != expected:
                return False
            del self._items[key]
            return True


class SqliteTtlStore:
    """Claims in a SQLite file, so they survive a restart (and a ``kill -9``) of the process.

    Expiry uses the wall clock (a restart resets the monotonic one). Every method is one
    ``BEGIN IMMEDIATE`` transaction, atomic with respect to other threads and to other processes
    opening the same file; commits are synchronous, so a claim that was answered is on disk.
    """

    def __init__(self, path: Path, sweep_every_s: float = 60.0) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._lock = threading.Lock()
        self._db = sqlite3.connect(
            str(path), timeout=10.0, isolation_level=None, check_same_thread=False
        )
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")
        self._db.execute(
            "CREATE TABLE IF NOT EXISTS claims "
            "(key TEXT PRIMARY KEY, value TEXT NOT NULL, expires REAL NOT NULL)"
        )
        self._sweep_every_s = sweep_every_s
        self._next_sweep = 0.0

    @contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            try:
                self._db.execute("BEGIN IMMEDIATE")
                try:
                    yield self._db
                except BaseException:
                    self._db.execute("ROLLBACK")
                    raise
                self._db.execute("COMMIT")
            except sqlite3.Error as exc:
                raise Unavailable(f"claim store {self.path} unavailable: {exc}") from exc

    def _live(self, db: sqlite3.Connection, key: str, now: float) -> str | None:
        row = db.execute(
            "SELECT value FROM claims WHERE key = ? AND expires > ?", (key, now)
        ).fetchone()
        return None if row is None else str(row[0])

    def claim(self, key: str, value: str, ttl_s: float) -> bool:
        now = time.time()
        with self._tx() as db:
            if now >= self._next_sweep:
                db.execute("DELETE FROM claims WHERE expires <= ?", (now,))
                self._next_sweep = now + self._sweep_every_s
            if self._live(db, key, now) is not None:
                return False
            db.execute(
                "INSERT OR REPLACE INTO claims (key, value, expires) VALUES (?, ?, ?)",
                (key, value, now + ttl_s),
            )
            return True

    def get(self, key: str) -> str | None:
        with self._tx() as db:
            return self._live(db, key, time.time())

    def replace_if(self, key: str, expected: str, value: str, ttl_s: float) -> bool:
        now = time.time()
        with self._tx() as db:
            if self._live(db, key, now) != expected:
                return False
            db.execute(
                "UPDATE claims SET value = ?, expires = ? WHERE key = ?", (value, now + ttl_s, key)
            )
            return True

    def delete_if(self, key: str, expected: str) -> bool:
        with self._tx() as db:
            if self._live(db, key, time.time()) != expected:
                return False
            db.execute("DELETE FROM claims WHERE key = ?", (key,))
            return True

    def close(self) -> None:
        with self._lock:
            self._db.close()


@contextmanager
def renewing(
    store: TtlStore, keys: Sequence[str], value: str, lease_s: float = LEASE_S
) -> Iterator[None]:
    """Keep claims made with ``ttl_s=lease_s`` (each holding ``value``) alive while their
    holder works.

    A claim that marks work in progress must not outlive a holder killed with -9 by long (the
    sender's retry would be refused meanwhile), yet must not expire under a live holder that is
    merely slow. So it is claimed with a short lease and renewed every third of it from one
    background thread until the ``with`` block ends; a dead holder stops renewing and the
    claims expire within ``lease_s``.
    """
    live = list(keys)

    def extend() -> bool:
        nonlocal live
        with suppress(ChronoragError):  # Redis away: the leases simply run out
            # A claim finished, dropped or taken over needs no keeping alive.
            live = [k for k in live if store.replace_if(k, value, value, lease_s)]
        return bool(live)

    with lease_renewed(extend, lease_s):
        yield


def build_ttl_store(redis_client: Any | None, durable_path: Path | None = None) -> TtlStore:
    """Redis when the process has a client; else a SQLite file at ``durable_path`` when the
    claims must survive a restart; else the in-process map."""
    if redis_client is not None:
        return RedisTtlStore(redis_client)
    if durable_path is not None:
        return SqliteTtlStore(durable_path)
    return LocalTtlStore()


def claims_path(data_dir: Path) -> Path:
    """Where the durable claim store of a data folder lives."""
    return data_dir / "claims.sqlite3"


def _ms(ttl_s: float) -> int:
    return max(1, int(ttl_s * 1000))
