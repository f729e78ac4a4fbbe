"""kill -9 the standalone ``chronorag stream-consumer`` mid-batch, between recording entries
and acknowledging them: a restarted consumer reclaims them, and nothing is lost or doubled."""

from __future__ import annotations

import json
import os
import random
import re
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import redis

from app.ingest.intake import new_doc_id
from tests.conftest import ROOT
from tests.faults.conftest import FolderView, fault_env, wait_until
from tests.queues import queued_tasks
from workers.stream import entry_time

pytestmark = pytest.mark.faults

KILLS = 8
PER_LIFE = 30  # entries added before each start
BAD_EVERY = 29  # one malformed entry in every 29


class ConsumerProcess:
    def __init__(self, data_dir: Path, env: dict[str, str]) -> None:
        self.data_dir = data_dir
        self.env = {**os.environ, **env}
        self.log = data_dir.parent / "consumer.log"
        self.proc: subprocess.Popen[bytes] | None = None
        self.starts = 0

    def start(self, wait: bool = True) -> None:
        cmd = [
            sys.executable,
            "-m",
            "workers.cli",
            "stream-consumer",
            "--data-dir",
            str(self.data_dir),
        ]
        offset = self.log.stat().st_size if self.log.exists() else 0
        self.proc = subprocess.Popen(
            cmd, cwd=ROOT, env=self.env, stdout=self.log.open("ab"), stderr=subprocess.STDOUT
        )
        self.starts += 1
        if not wait:
            return

        def reading() -> bool:
            assert self.proc is not None and self.proc.poll() is None, self.log.read_text()[-3000:]
            return b"stream consumer " in self.log.read_bytes()[offset:]

        wait_until(reading, 60, "the stream consumer to start reading", 0.02)

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def kill(self) -> None:
        assert self.proc is not None
        self.proc.kill()
        self.proc.wait(10)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(30)


def _doc_id(entry_id: str, fields: dict[bytes, bytes]) -> str:
    if b"id" in fields:
        return fields[b"id"].decode()
    return new_doc_id(fields[b"text"].decode(), entry_time(entry_id))


def test_kill_stream_consumer_between_record_and_ack(
    workdir: Path,
    faults_redis_url: str,
    open_folder: Callable[[Path], FolderView],
    fault_summary: Callable[[str], None],
) -> None:
    started = time.monotonic()
    rng = random.Random(7)
    tag = uuid.uuid4().hex[:6]
    env = fault_env(
        faults_redis_url, stream_batch_size=20, stream_reclaim_idle_ms=300, stream_block_ms=100
    )
    stream, group, queue = (
        env["CHRONORAG_STREAM_NAME"],
        env["CHRONORAG_STREAM_GROUP"],
        env["CHRONORAG_CELERY_QUEUE"],
    )
    r = redis.Redis.from_url(faults_redis_url)
    consumer = ConsumerProcess(workdir / "data", env)
    valid: dict[str, str] = {}  # doc id -> entry id
    bad = 0
    n = 0
    recorded_unacked: list[int] = []
    aimed_landed = 0

    def add(count: int) -> None:
        nonlocal n, bad
        for _ in range(count):
            n += 1
            if n % BAD_EVERY == 0:
                r.xadd(stream, {"document": "{broken " + str(n)})
                bad += 1
                continue
            fields: dict[str, Any] = {"text": f"Entry {n}: Brackenfield Rovers signed player {n}."}
            if n % 3:
                fields["id"] = f"consumer-{tag}-{n}"
            entry_id = r.xadd(stream, fields).decode()
            valid[_doc_id(entry_id, {k.encode(): str(v).encode() for k, v in fields.items()})] = (
                entry_id
            )

    try:
        for life in range(KILLS):
            add(PER_LIFE)
            queued_before = r.llen(queue)
            aimed = life % 2 == 0
            consumer.start(wait=not aimed)
            if aimed:
                # Aimed kill: right after the k-th ingest task of this life is queued. Each task
                # is sent just after its entry was recorded, and the batch is acknowledged only
                # after all of its entries are, so this lands inside the record-to-XACK window
                # whatever the machine's speed (a timed kill alone can miss it everywhere).
                target = queued_before + rng.randint(1, 8)
                wait_until(lambda: r.llen(queue) >= target, 60, "a recorded entry", 0.0005)  # noqa: B023
            else:
                time.sleep(rng.uniform(0.05, 0.35))
            dead_name = f"{socket.gethostname()}-{consumer.pid}"
            consumer.kill()
            # Which of the dead consumer's unacknowledged entries had already been recorded?
            rows = r.xpending_range(stream, group, "-", "+", 10_000, consumername=dead_name)
            view = open_folder(workdir / "data")
            hits = 0
            for row in rows:
                entry_id = row["message_id"].decode()
                fields = r.xrange(stream, entry_id, entry_id)[0][1]
                if b"text" in fields and view.documents.get("default", _doc_id(entry_id, fields)):
                    hits += 1
            view.engine.close()
            recorded_unacked.append(hits)
            aimed_landed += bool(aimed and hits)
        consumer.start()  # the last one runs until the stream is drained

        def drained() -> bool:
            info = next(g for g in r.xinfo_groups(stream) if g["name"].decode() == group)
            return info["lag"] == 0 and info["pending"] == 0

        wait_until(drained, 60, "the stream to be drained")
        consumer.stop()
    finally:
        if consumer.proc is not None and consumer.proc.poll() is None:
            consumer.kill()

    view = open_folder(workdir / "data")
    records = view.documents.with_status(["pending", "indexed", "failed", "deleting", "deleted"])
    assert sorted(rec.doc_id for rec in records) == sorted(valid), "lost or extra documents"
    assert all(rec.version == 1 and rec.status == "pending" for rec in records)
    dead = r.xrange(f"{stream}:dead")
    assert len(dead) == bad, "each malformed entry is dead-lettered exactly once"
    assert all(b"invalid JSON" in d[1][b"dead_reason"] for d in dead)
    tasks = queued_tasks(r, queue)
    assert {args[1] for name, args in tasks if name == "chronorag.ingest_document"} == set(valid)
    assert all(args[2] == 1 for _, args in tasks)  # duplicates allowed (no-ops), versions not
    log = consumer.log.read_text(errors="replace")
    reclaimed = sum(int(k) for k in re.findall(r"reclaimed (\d+) pending entries", log))
    stats = re.findall(r"stopped: (.*)", log)[-1]
    r.delete(stream, f"{stream}:dead", queue)
    r.close()
    assert aimed_landed > 0, "no aimed kill landed between record and XACK"
    fault_summary(
        f"kills={KILLS} restarts={consumer.starts - 1} entries={n} docs={len(valid)} "
        f"dead_letters={bad} kills_between_record_and_ack="
        f"{sum(1 for h in recorded_unacked if h)} (aimed: {aimed_landed}/{(KILLS + 1) // 2}) "
        f"recorded_unacked_entries="
        f"{sum(recorded_unacked)} reclaimed={reclaimed} ingest_tasks={len(tasks)} "
        f"(duplicates are no-ops) last_consumer: {stats} "
        f"seconds={time.monotonic() - started:.0f}"
    )
    json.dumps(stats)
