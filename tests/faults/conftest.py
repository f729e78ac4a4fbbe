"""Fault-test helpers: a Redis DB of their own, a private redis-server that can be lost, a
read-only look into a stopped server's embedded Qdrant folder, and the one-line summaries."""

from __future__ import annotations

import json
import shutil
import subprocess
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import pytest
import redis

from app.core.settings import Settings
from app.ingest.chunking import chunk_text
from app.stores.chunks import QdrantChunkStore
from app.stores.documents import QdrantDocumentStore
from app.stores.engines import EdgeEngine, Match, Where
from tests.conftest import free_port, serve_env
from tests.queues import queue_keys

#: A Redis database of their own on the shared server: Celery's ``unacked`` bookkeeping is per
#: database, and the fault tests read it, so they keep out of other suites' way (no FLUSH).
FAULTS_DB = 13
SUMMARIES: list[str] = []


def pytest_terminal_summary(terminalreporter: Any) -> None:
    """Print every fault test's one-line summary after the run, whatever the capture mode."""
    if SUMMARIES:
        terminalreporter.section("fault summary")
        for line in SUMMARIES:
            terminalreporter.write_line(line)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    report = yield
    if report.when == "call":
        item.stash[_PASSED] = report.passed
    return report


_PASSED = pytest.StashKey[bool]()


@pytest.fixture()
def workdir(request: pytest.FixtureRequest) -> Iterator[Path]:
    """A temp folder outside pytest's numbered ``tmp_path`` dirs: other pytest sessions on the
    same machine prune those, which would delete a live server's data folder mid-test. Kept
    when the test fails, for its server logs."""
    path = Path(tempfile.mkdtemp(prefix=f"chronorag-faults-{request.node.name[:40]}-"))
    yield path
    if request.node.stash.get(_PASSED, False):
        shutil.rmtree(path, ignore_errors=True)
    else:
        print(f"kept {path} for inspection")


@pytest.fixture()
def fault_summary(request: pytest.FixtureRequest) -> Callable[[str], None]:
    def add(line: str) -> None:
        text = f"{request.node.name}: {line}"
        print(text, flush=True)
        SUMMARIES.append(text)

    return add


@pytest.fixture(scope="session")
def faults_redis_url(redis_url: str) -> Iterator[str]:
    parts = urlsplit(redis_url)
    url = urlunsplit((parts.scheme, parts.netloc, f"/{FAULTS_DB}", parts.query, ""))
    yield url
    forget_names(url, USED_NAMES)


#: Queue and stream names this session created in ``FAULTS_DB``, removed at its end.
USED_NAMES: set[str] = set()


def forget_names(url: str, names: set[str]) -> None:
    """Delete the keys these queues and streams left (lists, streams, kombu's bindings, and the
    messages killed workers left in kombu's ``unacked`` set), and nothing else."""
    client = redis.Redis.from_url(url)
    try:
        for name in names:
            client.delete(*queue_keys(name), f"{name}:dead")
        for tag, raw in client.hscan_iter("unacked"):
            try:
                routing_key = json.loads(raw)[2]
            except (ValueError, IndexError, TypeError):
                continue
            if routing_key in names:
                client.hdel("unacked", tag)
                client.zrem("unacked_index", tag)
    finally:
        client.close()


def fault_env(redis_url: str, **settings: object) -> dict[str, str]:
    """``serve_env`` plus a private stream and fast recovery timings; keys are setting names."""
    tag = uuid.uuid4().hex[:10]
    env = serve_env(redis_url)
    env.update(
        {
            "CHRONORAG_STREAM_NAME": f"faults:{tag}:intake",
            "CHRONORAG_STREAM_GROUP": "faults",
            "CHRONORAG_STREAM_BLOCK_MS": "200",
            "CHRONORAG_STREAM_RECLAIM_IDLE_MS": "1000",
            "CHRONORAG_STREAM_BACKOFF_S": "0.3",
            "CHRONORAG_RECONCILE_EVERY_S": "1",
            "CHRONORAG_RECONCILE_STALE_AFTER_S": "3",
            "CHRONORAG_COLLECTION_PREFIX": "chronorag",
            # Queries are not under test here; the torch encoder skips the ONNX export and load,
            # which every one of the many restarts would otherwise pay.
            "CHRONORAG_QUERY_ENCODER": "torch",
        }
    )
    env.update({f"CHRONORAG_{k.upper()}": str(v) for k, v in settings.items()})
    USED_NAMES.update({env["CHRONORAG_STREAM_NAME"], env["CHRONORAG_CELERY_QUEUE"]})
    return env


def wait_until(
    predicate: Callable[[], bool], timeout_s: float, what: str, interval_s: float = 0.1
) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(interval_s)
    raise AssertionError(f"timed out after {timeout_s:.0f} s waiting for {what}")


def expected_chunks(embedder: Any, text: str, max_tokens: int, overlap: int = 1) -> list[str]:
    """The chunk texts the pipeline makes of ``text`` (same rule as IngestPipeline._chunk)."""
    limit = min(max_tokens, embedder.max_tokens - 2)
    return [
        c.text
        for c in chunk_text(
            text, embedder.count_tokens, max_tokens=limit, overlap_sentences=overlap
        )
    ]


@dataclass
class FolderView:
    """A stopped server's embedded Qdrant folder, opened in this process (one opener at a time)."""

    engine: EdgeEngine
    documents: QdrantDocumentStore
    chunks: QdrantChunkStore

    def chunk_points(self, tenant: str = "default") -> dict[str, list[dict[str, Any]]]:
        """Every chunk point's payload, grouped by document id."""
        out: dict[str, list[dict[str, Any]]] = {}
        where = Where((Match("tenant", tenant),))
        for rec in self.engine.scroll(self.chunks.collection, where):
            out.setdefault(rec.payload["doc_id"], []).append(rec.payload)
        return out


@pytest.fixture()
def open_folder() -> Iterator[Callable[[Path], FolderView]]:
    opened: list[EdgeEngine] = []

    def open_(data_dir: Path, dim: int = 384) -> FolderView:
        engine = EdgeEngine(data_dir / "qdrant")
        opened.append(engine)
        prefix = Settings().collection_prefix
        return FolderView(
            engine, QdrantDocumentStore(engine, prefix), QdrantChunkStore(engine, prefix, dim)
        )

    yield open_
    for engine in opened:
        engine.close()


class PrivateRedis:
    """A redis-server of our own (no persistence) that a test may kill and restart empty,
    which is what losing the queue looks like; the shared server is never touched."""

    def __init__(self, workdir: Path) -> None:
        self.port = free_port()
        self.dir = workdir
        self.dir.mkdir(parents=True, exist_ok=True)
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.proc: subprocess.Popen[bytes] | None = None
        self.starts = 0

    def start(self) -> None:
        binary = shutil.which("redis-server")
        if binary is None:
            pytest.fail("redis-server is not installed (apt-get install redis-server)")
        cmd = [
            binary,
            "--port",
            str(self.port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            str(self.dir),
            "--daemonize",
            "no",
            "--logfile",
            str(self.dir / "redis.log"),
        ]
        self.proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.starts += 1
        client = redis.Redis(port=self.port, socket_connect_timeout=1)
        try:
            wait_until(lambda: _pings(client), 10, f"redis-server on port {self.port}")
        finally:
            client.close()

    def kill(self) -> None:
        """SIGKILL: everything in memory (queue, stream, locks) is gone."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)

    def client(self) -> redis.Redis:
        return redis.Redis(port=self.port, socket_connect_timeout=2)


def _pings(client: redis.Redis) -> bool:
    try:
        return bool(client.ping())
    except redis.RedisError:
        return False


@pytest.fixture()
def private_redis(workdir: Path) -> Iterator[PrivateRedis]:
    server = PrivateRedis(workdir / "redis")
    server.start()
    yield server
    server.kill()
