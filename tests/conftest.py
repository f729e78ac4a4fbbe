"""Shared fixtures: real Redis, the real embedding model, embedded Qdrant in a temp folder."""

from __future__ import annotations

import json
import os
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from bench.common import ServeProcess, free_port

__all__ = ["ServeProcess", "free_port"]  # the launcher tests share with the benchmarks

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
    from app.embeddings.embedding import SentenceTransformerEmbedder

    return SentenceTransformerEmbedder("all-MiniLM-L6-v2", device="cpu", batch_size=32)


WEBHOOK_SECRET = "test-webhook-secret-5f0c1d"
GITHUB_WEBHOOK_SECRET = "test-github-secret-8a2e4b"
WEBHOOK_SOURCES = {
    "newswire": {"secret": WEBHOOK_SECRET, "mode": "chronorag"},
    "gh": {"secret": GITHUB_WEBHOOK_SECRET, "mode": "github"},
}


CORS_ORIGIN = "https://chat.example.test"


def serve_env(redis_url: str) -> dict[str, str]:
    return {
        "CHRONORAG_REDIS_URL": redis_url,
        "CHRONORAG_CELERY_QUEUE": f"test-{uuid.uuid4().hex[:12]}",
        "CHRONORAG_LOG_LEVEL": "INFO",
        "CHRONORAG_WEBHOOK_SECRETS": json.dumps(WEBHOOK_SOURCES),
        "CHRONORAG_CORS_ORIGINS": json.dumps([CORS_ORIGIN]),
    }


@pytest.fixture(scope="session")
def server(tmp_path_factory: pytest.TempPathFactory, redis_url: str) -> Iterator[ServeProcess]:
    proc = ServeProcess(tmp_path_factory.mktemp("serve") / "data", serve_env(redis_url))
    proc.start()
    yield proc
    proc.stop()


@pytest.fixture(scope="module")
def keyed_server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, redis_url: str
) -> Iterator[ServeProcess]:
    """A ``serve`` of the module's own with API keys and no webhooks, for its tenant and auth
    tests: the keys are the module's ``API_KEYS``, each raw key to its tenant."""
    from app.core.security import hash_api_key

    keys: dict[str, str] = request.module.API_KEYS
    env = serve_env(redis_url)
    env["CHRONORAG_WEBHOOK_SECRETS"] = "{}"
    env["CHRONORAG_API_KEYS"] = json.dumps({hash_api_key(k): t for k, t in keys.items()})
    proc = ServeProcess(tmp_path_factory.mktemp("keyed") / "data", env)
    proc.start()
    yield proc
    proc.stop()


@pytest.fixture()
def client(server: ServeProcess) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.url, timeout=60) as c:
        yield c


PROBLEM = "application/problem+json"


def assert_problem(resp: httpx.Response, status: int, needle: str = "") -> dict[str, Any]:
    """The answer is an RFC 9457 problem with this status whose detail says ``needle``."""
    assert resp.status_code == status, resp.text
    assert resp.headers["content-type"] == PROBLEM
    body: dict[str, Any] = resp.json()
    assert body["status"] == status and body["title"], body
    assert needle in body["detail"], body
    return body


def ask(client: httpx.Client, question: str, **params: object) -> dict[str, Any]:
    """``POST /v1/query``; the answer body (a non-200 fails the test)."""
    resp = client.post("/v1/query", json={"question": question, **params})
    assert resp.status_code == 200, resp.text
    body: dict[str, Any] = resp.json()
    return body


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
