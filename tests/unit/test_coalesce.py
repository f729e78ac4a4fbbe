"""The leader/follower coalescer behind batched Qdrant searches."""

from __future__ import annotations

import threading
import time

import pytest

from app.core.coalesce import Coalescer


class Gate:
    """A batch function that blocks on its first call until released, recording each batch."""

    def __init__(self) -> None:
        self.batches: list[list[int]] = []
        self.entered = threading.Event()
        self.release = threading.Event()

    def __call__(self, items: list[int]) -> list[int]:
        self.batches.append(list(items))
        if len(self.batches) == 1:
            self.entered.set()
            assert self.release.wait(5)
        if any(i < 0 for i in items):
            raise ValueError("negative")
        return [i * 10 for i in items]


def _spawn(
    coalescer: Coalescer[int, int], items: list[int], out: dict[int, object]
) -> threading.Thread:
    def call() -> None:
        try:
            out[items[0]] = coalescer.submit(items)
        except ValueError as exc:
            out[items[0]] = exc

    thread = threading.Thread(target=call)
    thread.start()
    return thread


def _queued(coalescer: Coalescer[int, int], n: int) -> None:
    deadline = time.monotonic() + 5
    while coalescer.stats.calls < n and time.monotonic() < deadline:
        time.sleep(0.005)


def _behind_busy_leader(
    coalescer: Coalescer[int, int], gate: Gate, calls: list[list[int]]
) -> dict[int, object]:
    """Caller [1] leads and is held inside its batch while ``calls`` queue up behind it; then
    the gate opens. Results (or errors) by each caller's first item."""
    out: dict[int, object] = {}
    first = _spawn(coalescer, [1], out)
    assert gate.entered.wait(5)
    others = [_spawn(coalescer, items, out) for items in calls]
    _queued(coalescer, 1 + len(calls))
    gate.release.set()
    for thread in [first, *others]:
        thread.join(5)
    return out


def test_a_lone_caller_runs_at_once() -> None:
    gate = Gate()
    gate.release.set()
    coalescer = Coalescer(gate)
    assert coalescer.submit([1, 2]) == [10, 20]
    assert coalescer.submit([]) == []
    assert gate.batches == [[1, 2]]


def test_callers_arriving_while_busy_share_the_next_batch() -> None:
    gate = Gate()
    coalescer = Coalescer(gate)
    out = _behind_busy_leader(coalescer, gate, [[n, n + 100] for n in (2, 3, 4)])
    assert gate.batches[0] == [1]
    assert sorted(gate.batches[1]) == [2, 3, 4, 102, 103, 104]  # one call for all three
    assert out == {1: [10], 2: [20, 1020], 3: [30, 1030], 4: [40, 1040]}
    assert coalescer.stats.batches == 2 and coalescer.stats.largest == 6


def test_batches_respect_max_items_without_splitting_a_caller() -> None:
    gate = Gate()
    coalescer = Coalescer(gate, max_items=4)
    out = _behind_busy_leader(coalescer, gate, [[n, n + 100, n + 200] for n in (2, 3, 4)])
    assert [len(b) for b in gate.batches] == [1, 3, 3, 3]
    assert out[3] == [30, 1030, 2030]


def test_a_failing_batch_fails_its_callers_only() -> None:
    gate = Gate()
    coalescer = Coalescer(gate)
    out = _behind_busy_leader(coalescer, gate, [[-1]])
    assert out[1] == [10]
    assert isinstance(out[-1], ValueError)
    assert coalescer.submit([5]) == [50]  # and the coalescer is not left busy


def test_many_threads_all_get_their_own_results() -> None:
    coalescer: Coalescer[int, int] = Coalescer(lambda items: [i * 10 for i in items])
    out: dict[int, object] = {}
    threads = [_spawn(coalescer, [n], out) for n in range(1, 200)]
    for thread in threads:
        thread.join(5)
    assert out == {n: [n * 10] for n in range(1, 200)}


def test_wrong_result_count_is_an_error() -> None:
    coalescer: Coalescer[int, int] = Coalescer(lambda items: [])
    with pytest.raises(RuntimeError, match="0 results for 1"):
        coalescer.submit([1])
