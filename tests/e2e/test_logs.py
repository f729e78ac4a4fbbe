"""What ``chronorag serve`` writes at its log level: an access line per request, one line per
ingest task with its stages, and nothing from libraries' chatter."""

from __future__ import annotations

import re
import uuid

import httpx
import pytest

from tests.conftest import ServeProcess, wait_status

pytestmark = pytest.mark.e2e


def test_access_and_ingest_lines_in_the_serve_log(
    server: ServeProcess, client: httpx.Client
) -> None:
    doc_id = f"log-{uuid.uuid4().hex[:8]}"
    assert (
        client.post("/v1/documents", json={"id": doc_id, "text": "Kiln log entry."}).status_code
        == 202
    )
    wait_status(client, doc_id, "indexed")
    assert client.get(f"/v1/documents/{doc_id}?probe=1").status_code == 200
    log = server.log.read_text()
    access = re.compile(
        r"INFO uvicorn\.access: 127\.0\.0\.1:\d+ - "
        rf'"GET /v1/documents/{doc_id}\?probe=1 HTTP/1\.1" 200'
    )
    assert access.search(log), log[-2000:]
    ingest = re.search(
        rf"INFO app\.ingest\.pipeline: ingest {doc_id} v1: indexed \(1 chunks, \d+ facts\) "
        r"in [\d.]+ s \(((?:\w+=[\d.]+ ?)+)\)",
        log,
    )
    assert ingest, log[-2000:]
    stages = dict(pair.split("=") for pair in ingest.group(1).split())
    assert {"load", "chunk", "embed", "store", "extract", "commit"} <= set(stages)
    assert len(re.findall(rf"ingest {doc_id} v1:", log)) == 1
    # Libraries stay at WARNING: no per-request httpx lines, no Celery task chatter.
    assert "httpx: HTTP Request" not in log
    assert not re.search(r"INFO celery", log)
    assert "No hostname was supplied" not in log
