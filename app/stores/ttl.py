"""Short-lived keys with set-if-absent: idempotency records and webhook delivery ids.

Redis holds them when configured, so every API replica sees the same claims; without Redis
(the one-process topology) an in-process map with expiry does, which is correct there because
that one process is the only writer.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, suppress
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


def build_ttl_store(redis_client: Any | None) -> TtlStore:
    """Redis when the process has a client, the in-process map otherwise."""
    return RedisTtlStore(redis_client) if redis_client is not None else LocalTtlStore()


def _ms(ttl_s: float) -> int:
    return max(1, int(ttl_s * 1000))
