"""Operations through a real ``chronorag serve``: Prometheus metrics (multiprocess mode, merged
across processes), request ids in JSON logs, readiness, and a readable 413 for big uploads."""

from __future__ import annotations

import http.client
import json
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from bench.common import Served
from tests.conftest import (
    ROOT,
    ServeProcess,
    ask,
    assert_problem,
    free_port,
    wait_status,
)

pytestmark = pytest.mark.e2e

BIG_BODY_BYTES = 64 * 1024 * 1024


@pytest.fixture(scope="module")
def observed(tmp_path_factory: pytest.TempPathFactory, redis_url: str) -> Iterator[Served]:
    """A server logging JSON with its metrics in a multiprocess folder other processes share
    (its own queue, dropped at the end, and no stream intake: ``Served``)."""
    root = tmp_path_factory.mktemp("observed")
    multiproc = root / "prometheus"
    multiproc.mkdir()
    env = {
        "CHRONORAG_REDIS_URL": redis_url,
        "CHRONORAG_LOG_LEVEL": "INFO",
        "CHRONORAG_LOG_FORMAT": "json",
        "CHRONORAG_ACCESS_LOG": "true",  # Served turns it off for benchmarks
        "PROMETHEUS_MULTIPROC_DIR": str(multiproc),
    }
    with Served(root / "data", env) as proc:
        yield proc


@pytest.fixture()
def oclient(observed: Served) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=observed.url, timeout=60) as c:
        yield c


Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


def scrape(client: httpx.Client) -> Samples:
    """Every sample of ``GET /metrics``, parsed by prometheus-client's own parser."""
    resp = client.get("/metrics")
    assert resp.status_code == 200, resp.text
    assert resp.headers["content-type"].startswith("text/plain; version=0.0.4")
    out: Samples = {}
    for family in text_string_to_metric_families(resp.text):
        for s in family.samples:
            out[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return out


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


def total(samples: Samples, name: str, **labels: str) -> float:
    """Sum over the series of ``name`` whose labels include ``labels``."""
    want = set(labels.items())
    return sum(v for (n, lab), v in samples.items() if n == name and want <= set(lab))


def test_metrics_move_with_traffic(observed: Served, oclient: httpx.Client) -> None:
    before = scrape(oclient)
    doc_id = f"obs-{uuid.uuid4().hex[:8]}"
    text = "Ilse Marrow was appointed chief executive of Quillfen Labs in March 2020."
    resp = oclient.post(
        "/v1/documents", json={"id": doc_id, "text": text, "published_at": "2020-03-09"}
    )
    assert resp.status_code == 202, resp.text
    wait_status(oclient, doc_id, "indexed")
    ask(oclient, "Who is the chief executive of Quillfen Labs?")
    assert_problem(oclient.post("/v1/query", json={"question": ""}), 422)
    assert_problem(oclient.get(f"/v1/documents/{uuid.uuid4().hex}"), 404)
    after = scrape(oclient)

    def grew(name: str, by: float = 1, **labels: str) -> None:
        delta = total(after, name, **labels) - total(before, name, **labels)
        assert delta >= by, (name, labels, delta)

    grew("chronorag_http_requests_total", method="POST", route="/v1/documents", status="202")
    grew("chronorag_http_requests_total", route="/v1/documents/{doc_id}", status="404")
    grew("chronorag_http_request_duration_seconds_count", route="/v1/query", status="200")
    grew("chronorag_ingest_stage_duration_seconds_count", stage="embed")
    grew("chronorag_ingest_stage_duration_seconds_count", stage="intake")
    grew("chronorag_ingest_events_total", event="ingest_indexed")
    grew("chronorag_freshness_seconds_count")
    grew("chronorag_embedding_batch_size_count")
    grew("chronorag_errors_total", kind="invalid_input")
    grew("chronorag_errors_total", kind="not_found")
    assert value(after, "chronorag_documents", status="indexed") >= 1
    queues = [dict(lab) for n, lab in after if n == "chronorag_queue_depth"]
    assert queues == [{"queue": observed.queue}]
    # No raw path ever becomes a label: unknown ids share their route's template.
    assert not any(doc_id in str(labels) for _, labels in after)


def test_metrics_merge_every_process_sharing_the_folder(
    observed: ServeProcess, oclient: httpx.Client
) -> None:
    """A worker process writing into PROMETHEUS_MULTIPROC_DIR shows up in the API's scrape."""
    before = scrape(oclient)
    event = "ingest_indexed"
    code = (
        "from app.core.metrics import StageTimer\n"
        "t = StageTimer()\n"
        f"t.count({event!r}, 7)\n"
        "t.error('ingest_failed')\n"
        "t.batch(48)\n"
    )
    subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=observed.env, check=True, timeout=60)
    after = scrape(oclient)
    assert total(after, "chronorag_ingest_events_total", event=event) - total(
        before, "chronorag_ingest_events_total", event=event
    ) == pytest.approx(7)
    kind = {"kind": "ingest_failed"}
    assert total(after, "chronorag_errors_total", **kind) - total(
        before, "chronorag_errors_total", **kind
    ) == pytest.approx(1)
    assert total(after, "chronorag_embedding_batch_size_bucket", le="64.0") > total(
        before, "chronorag_embedding_batch_size_bucket", le="64.0"
    )


def _json_lines(log: Path) -> list[dict[str, object]]:
    out = []
    for line in log.read_text(errors="replace").splitlines():
        try:
            record = json.loads(line)
        except ValueError:
            continue  # the start-up banner is printed, not logged
        if isinstance(record, dict):
            out.append(record)
    return out


def test_request_id_is_echoed_and_logged_as_json(
    observed: ServeProcess, oclient: httpx.Client
) -> None:
    rid = f"test-{uuid.uuid4().hex}"
    resp = oclient.get("/healthz", headers={"X-Request-ID": rid})
    assert resp.headers["x-request-id"] == rid
    # An id unsafe for logs and headers is replaced, not echoed.
    fresh = oclient.get("/healthz", headers={"X-Request-ID": "bad id <x>"}).headers["x-request-id"]
    assert fresh != "bad id <x>" and len(fresh) == 32
    records = _json_lines(observed.log)
    mine = [r for r in records if r.get("request_id") == rid]
    assert mine, records[-5:]
    assert mine[0]["logger"] == "uvicorn.access"
    assert "GET /healthz" in str(mine[0]["message"])
    assert {"time", "level", "logger", "message", "request_id"} <= set(mine[0])


def test_readyz_checks_redis_and_qdrant(oclient: httpx.Client) -> None:
    resp = oclient.get("/readyz")
    assert resp.status_code == 200, resp.text
    assert resp.json() == {"status": "ready", "checks": {"redis": "ok", "qdrant": "ok"}}
    assert oclient.get("/healthz").json()["status"] == "ok"


def _post_big(port: int, *, chunked: bool) -> tuple[int, dict[str, object], int]:
    """A 64 MB JSON upload with plain ``http.client`` (no ``Expect: 100-continue``); then a
    second request on the same connection. Returns (status, problem, second status)."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    try:
        filler = b"a" * (1024 * 1024)
        if chunked:
            pieces = [b'{"text": "', *([filler] * 64), b'"}']
            conn.request(
                "POST",
                "/v1/documents",
                body=iter(pieces),
                headers={"Content-Type": "application/json"},
                encode_chunked=True,
            )
        else:
            body = b'{"text": "' + b"a" * (BIG_BODY_BYTES - 12) + b'"}'
            conn.request(
                "POST", "/v1/documents", body=body, headers={"Content-Type": "application/json"}
            )
        resp = conn.getresponse()  # a reset connection raises here
        assert resp.getheader("content-type") == "application/problem+json"
        problem = json.loads(resp.read())
        conn.request("GET", "/healthz")
        again = conn.getresponse()
        again.read()
        return resp.status, problem, again.status
    finally:
        conn.close()


@pytest.mark.parametrize("chunked", [False, True], ids=["content-length", "chunked"])
def test_oversized_upload_reads_a_413_problem(observed: ServeProcess, chunked: bool) -> None:
    status, problem, again = _post_big(observed.port, chunked=chunked)
    assert status == 413
    assert problem["status"] == 413 and problem["title"] == "Payload too large"
    assert "limit" in str(problem["detail"])
    assert again == 200  # the body was drained, so the connection stayed usable


def test_worker_program_serves_the_shared_metrics(
    observed: ServeProcess, tmp_path: Path, redis_url: str
) -> None:
    """``chronorag worker`` with CHRONORAG_METRICS_PORT reports what every process wrote to
    the multiprocess folder (here the observed server's), like a prefork parent its children."""
    port = free_port()
    env = {
        **observed.env,
        "CHRONORAG_CELERY_QUEUE": f"test-metrics-{uuid.uuid4().hex[:8]}",
        "CHRONORAG_METRICS_PORT": str(port),
    }
    cmd = [sys.executable, "-m", "workers.cli", "worker", "--pool", "solo", "--loglevel", "WARNING"]
    log = (tmp_path / "worker.log").open("wb")
    worker = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 60
        text = ""
        while time.monotonic() < deadline and worker.poll() is None:
            try:
                resp = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=5)
                text = resp.text
                break
            except httpx.TransportError:
                time.sleep(0.3)
        assert text, (tmp_path / "worker.log").read_text()[-2000:]
        names = {f.name for f in text_string_to_metric_families(text)}
        assert {"chronorag_http_requests", "chronorag_ingest_stage_duration_seconds"} <= names
        assert httpx.get(f"http://127.0.0.1:{port}/other", timeout=5).status_code == 404
    finally:
        worker.terminate()
        worker.wait(30)
        log.close()
