"""Per-key mutual exclusion: Redis locks across processes, a local table inside one."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
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


#: How long a lock outlives a holder that died without releasing it (kill -9, a lost host).
#: Live holders renew it every third of this, so a long critical section keeps its lock while
#: a crashed one blocks the key for at most this long (a fixed multi-minute expiry used to
#: stall every later write of that document, and the stream consumer behind it, that long).
LEASE_S = 15.0


@contextmanager
def lease_renewed(extend: Callable[[], bool], lease_s: float) -> Iterator[None]:
    """Call ``extend`` every third of ``lease_s`` from a background thread while the ``with``
    block runs; the one renewal loop behind Redis locks and in-progress claims.

    A third leaves two renewal chances before a lease can run out under a live holder, while a
    killed holder (whose thread dies with it) frees the lease within ``lease_s``. ``extend``
    returns False once there is nothing left worth renewing, which ends the thread early; so
    does an exception, so ``extend`` handles the failures it expects. The thread is a daemon
    and is never joined: leaving the block only signals it, so a renewal in flight cannot delay
    the holder.
    """
    done = threading.Event()

    def renew() -> None:
        while not done.wait(lease_s / 3):
            if not extend():
                return

    threading.Thread(target=renew, name="lease-renewer", daemon=True).start()
    try:
        yield
    finally:
        done.set()


class RedisLocker:
    """Redis locks with a short, renewed lease, so a killed holder cannot wedge a key for long."""

    def __init__(self, client: Any, prefix: str = "chronorag:lock:", lease_s: float = LEASE_S):
        self._client = client
        self._prefix = prefix
        self._lease_s = lease_s

    @contextmanager
    def hold(self, key: str, timeout_s: float = 30.0) -> Iterator[None]:
        import redis

        # thread_local=False: the renewing thread must see the token the holder acquired.
        lock = self._client.lock(self._prefix + key, timeout=self._lease_s, thread_local=False)
        try:
            acquired = lock.acquire(blocking_timeout=timeout_s)
        except redis.RedisError as exc:
            raise Unavailable(f"Redis unavailable for locking: {exc}") from exc
        if not acquired:
            raise Unavailable(f"timed out waiting for lock {key!r}")

        def extend() -> bool:
            try:
                lock.reacquire()
            except redis.RedisError:  # lost (LockNotOwnedError), or Redis is down
                return False
            return True

        try:
            with lease_renewed(extend, self._lease_s):
                yield
        finally:
            # Lost, or Redis is down: either way the lease runs out by itself.
            with suppress(redis.RedisError):
                lock.release()
