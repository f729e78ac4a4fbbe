"""Per-key mutual exclusion: Redis locks across processes, a local table inside one."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, Protocol

from app.core.errors import Unavailable


class Locker(Protocol):
    def hold(self, key: str, timeout_s: float = 30.0) -> Any: ...


class LocalLocker:
    """For the single-process topology with no Redis: every writer lives in this process."""

    def __init__(self) -> None:
        self._guard = threading.Lock()
        self._locks: dict[str, threading.Lock] = {}

    @contextmanager
    def hold(self, key: str, timeout_s: float = 30.0) -> Iterator[None]:
        with self._guard:
            lock = self._locks.setdefault(key, threading.Lock())
        if not lock.acquire(timeout=timeout_s):
            raise Unavailable(f"timed out waiting for lock {key!r}")
        try:
            yield
        finally:
            lock.release()


class RedisLocker:
    """Redis locks with an expiry, so a killed holder cannot wedge a document forever."""

    def __init__(self, client: Any, prefix: str = "chronorag:lock:") -> None:
        self._client = client
        self._prefix = prefix

    @contextmanager
    def hold(self, key: str, timeout_s: float = 30.0) -> Iterator[None]:
        import redis

        lock = self._client.lock(self._prefix + key, timeout=max(timeout_s * 4, 60.0))
        try:
            acquired = lock.acquire(blocking_timeout=timeout_s)
        except redis.RedisError as exc:
            raise Unavailable(f"Redis unavailable for locking: {exc}") from exc
        if not acquired:
            raise Unavailable(f"timed out waiting for lock {key!r}")
        try:
            yield
        finally:
            try:
                lock.release()
            except redis.exceptions.LockError:
                pass
