"""Liveness while hostile documents are ingested: the longest ``/healthz`` latency.

A quadratic regex or parser holding the GIL once blocked ``/healthz`` for 9.3 s while one
60 KB document was indexed. This starts a real ``chronorag serve`` (embedded worker), uploads
each adversarial family of ``tests/fixtures/adversarial.py`` at ``--size`` bytes (HTML as a
multipart file, text as JSON), and polls ``/healthz`` every 20 ms from another thread until
the document is indexed or failed. Target: the longest latency under 0.5 s.

    python -m bench.hostile_liveness [--size 100000]
"""

from __future__ import annotations

import argparse
import tempfile
import threading
import time
import uuid
from pathlib import Path
from typing import Any

import httpx

from bench.common import Served, table, write_result
from tests.fixtures.adversarial import FAMILIES

POLL_S = 0.02


class LivenessProbe(threading.Thread):
    """Polls ``/healthz`` until stopped; keeps the longest answer time."""

    def __init__(self, url: str) -> None:
        super().__init__(daemon=True)
        self.url = url
        self.longest_s = 0.0
        self.polls = 0
        self._stop_event = threading.Event()

    def run(self) -> None:
        with httpx.Client(timeout=60) as client:
            while not self._stop_event.is_set():
                started = time.perf_counter()
                client.get(self.url + "/healthz")
                self.longest_s = max(self.longest_s, time.perf_counter() - started)
                self.polls += 1
                self._stop_event.wait(POLL_S)

    def stop(self) -> None:
        self._stop_event.set()
        self.join()


def _upload(client: httpx.Client, name: str, text: str, html: bool) -> str:
    doc_id = f"hostile-{name}-{uuid.uuid4().hex[:6]}"
    if html:
        resp = client.post(
            "/v1/documents",
            data={"id": doc_id, "published_at": "2024-01-01T00:00:00Z"},
            files={"file": (f"{name}.html", text.encode(), "text/html")},
        )
    else:
        resp = client.post(
            "/v1/documents",
            json={"id": doc_id, "text": text, "published_at": "2024-01-01T00:00:00Z"},
        )
    if resp.status_code != 202:
        raise RuntimeError(f"{name}: upload answered {resp.status_code} {resp.text[:200]}")
    return doc_id


def _settle(client: httpx.Client, doc_id: str, timeout_s: float) -> str:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        status = str(client.get(f"/v1/documents/{doc_id}").json()["status"])
        if status in ("indexed", "failed"):
            return status
        time.sleep(0.1)
    return "timeout"


def measure(size: int, timeout_s: float) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    with (
        tempfile.TemporaryDirectory() as tmp,
        Served(Path(tmp) / "data") as server,
        httpx.Client(base_url=server.url, timeout=120) as client,
    ):
        for family in FAMILIES:
            probe = LivenessProbe(server.url)
            probe.start()
            started = time.perf_counter()
            doc_id = _upload(client, family.name, family.build(size), family.html)
            status = _settle(client, doc_id, timeout_s)
            took = time.perf_counter() - started
            probe.stop()
            rows.append(
                {
                    "family": family.name,
                    "status": status,
                    "ingest_s": round(took, 2),
                    "healthz_max_ms": round(probe.longest_s * 1000, 1),
                    "polls": probe.polls,
                }
            )
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=100_000)
    parser.add_argument("--timeout", type=float, default=120.0)
    args = parser.parse_args()
    rows = measure(args.size, args.timeout)
    table(
        f"/healthz while a {args.size // 1000} KB hostile document is ingested",
        ["family", "status", "ingest s", "longest /healthz ms", "polls"],
        [[r["family"], r["status"], r["ingest_s"], r["healthz_max_ms"], r["polls"]] for r in rows],
    )
    worst = max(r["healthz_max_ms"] for r in rows)
    print(f"longest /healthz latency: {worst:.1f} ms (target < 500 ms)")
    write_result("hostile_liveness", {"size": args.size, "rows": rows, "healthz_max_ms": worst})


if __name__ == "__main__":
    main()
