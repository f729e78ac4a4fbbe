"""Shared fixtures: real Redis, the real embedding model, embedded Qdrant in a temp folder."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

REDIS_URL = os.environ.get("CHRONORAG_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
ROOT = Path(__file__).resolve().parents[1]


def _redis_ok() -> bool:
    import redis

    try:
        return bool(redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2).ping())
    except redis.RedisError:
        return False


@pytest.fixture(scope="session")
def redis_url() -> str:
    if not _redis_ok():
        pytest.fail(f"Redis is not answering at {REDIS_URL}; start redis-server (see .ci/run)")
    return REDIS_URL


@pytest.fixture(scope="session")
def embedder():  # type: ignore[no-untyped-def]
    from app.ingest.embedding import SentenceTransformerEmbedder

    return SentenceTransformerEmbedder("all-MiniLM-L6-v2", device="cpu", batch_size=32)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class ServeProcess:
    """``chronorag serve`` started as a user starts it: uvicorn plus the in-process worker."""

    def __init__(self, data_dir: Path, env: dict[str, str]) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.data_dir = data_dir
        self.env = {**os.environ, **env}
        self.log = data_dir.parent / f"serve-{self.port}.log"
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self, timeout_s: float = 120.0) -> None:
        cmd = [
            sys.executable,
            "-m",
            "workers.cli",
            "serve",
            "--port",
            str(self.port),
            "--data-dir",
            str(self.data_dir),
        ]
        self.proc = subprocess.Popen(
            cmd, cwd=ROOT, env=self.env, stdout=self.log.open("ab"), stderr=subprocess.STDOUT
        )
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"serve exited early:\n{self.log.read_text()[-3000:]}")
            try:
                if httpx.get(self.url + "/healthz", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.3)
        raise RuntimeError(f"serve did not come up:\n{self.log.read_text()[-3000:]}")

    def kill(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.kill()


WEBHOOK_SECRET = "test-webhook-secret-5f0c1d"
GITHUB_WEBHOOK_SECRET = "test-github-secret-8a2e4b"
WEBHOOK_SOURCES = {
    "newswire": {"secret": WEBHOOK_SECRET, "mode": "chronorag"},
    "gh": {"secret": GITHUB_WEBHOOK_SECRET, "mode": "github"},
}


def serve_env(redis_url: str) -> dict[str, str]:
    return {
        "CHRONORAG_REDIS_URL": redis_url,
        "CHRONORAG_CELERY_QUEUE": f"test-{uuid.uuid4().hex[:12]}",
        "CHRONORAG_LOG_LEVEL": "INFO",
        "CHRONORAG_WEBHOOK_SECRETS": json.dumps(WEBHOOK_SOURCES),
    }


@pytest.fixture(scope="session")
def server(tmp_path_factory: pytest.TempPathFactory, redis_url: str) -> Iterator[ServeProcess]:
    proc = ServeProcess(tmp_path_factory.mktemp("serve") / "data", serve_env(redis_url))
    proc.start()
    yield proc
    proc.stop()


@pytest.fixture()
def client(server: ServeProcess) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.url, timeout=60) as c:
        yield c


def wait_status(
    client: httpx.Client, doc_id: str, want: str, timeout_s: float = 60, version: int | None = None
) -> dict:
    deadline = time.monotonic() + timeout_s
    body: dict = {}
    while time.monotonic() < deadline:
        body = client.get(f"/v1/documents/{doc_id}").json()
        if body.get("status") == want and (version is None or body.get("version") == version):
            return body
        if body.get("status") == "failed":
            raise AssertionError(f"{doc_id} failed: {body}")
        time.sleep(0.1)
    raise AssertionError(f"{doc_id} never reached {want!r}: {body}")
