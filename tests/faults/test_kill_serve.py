"""kill -9 the serve process (API + in-process worker + stream consumer) again and again while
documents pour in through REST, signed webhooks and the Redis stream; every accepted one must
end up indexed exactly once."""

from __future__ import annotations

import json
import random
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
import redis

from app.core.timeutil import parse_instant
from app.ingest.intake import new_doc_id
from app.ingest.webhooks import sign_chronorag
from tests.conftest import WEBHOOK_SECRET, ServeProcess
from tests.faults.conftest import FolderView, expected_chunks, fault_env, wait_until
from workers.stream import entry_time

pytestmark = pytest.mark.faults

KILLS = 20
REST_PER_CYCLE = 6
STREAM_PER_CYCLE = 6
HOOK_BATCH = 3  # one signed delivery of three documents per cycle
N_REST = KILLS * REST_PER_CYCLE  # 120
N_STREAM = KILLS * STREAM_PER_CYCLE  # 120
N_HOOK = KILLS * HOOK_BATCH  # 60
CHUNK_MAX_TOKENS = 32  # short documents still make 1-3 chunks, so duplicates would show
MAX_DOCUMENT_BYTES = 20_000
HOOK_SOURCE = "newswire"

COMPANIES = [
    "Orbital Freight Lines",
    "Brackenfield Rovers",
    "Quillmere Observatory",
    "Harrowgate Ferries",
    "Cinder Valley Power",
    "Lowmoor Textiles",
]
PEOPLE = [
    "Marta Kowalczyk",
    "Dev Raman",
    "Lucia Ferrante",
    "Ines Duarte",
    "Tomasz Wrobel",
    "Amara Okafor",
]
ROLES = ["chief executive", "chair", "finance director", "head coach", "chief engineer"]


def make_text(rng: random.Random, n: int) -> str:
    sentences = [f"Report {n} from the {rng.choice(['north', 'south', 'east', 'west'])} desk."]
    for _ in range(rng.randint(1, 3)):
        sentences.append(
            f"{rng.choice(COMPANIES)} named {rng.choice(PEOPLE)} as {rng.choice(ROLES)} in "
            f"{rng.randint(2001, 2024)}, after {rng.randint(2, 40)} years of growth."
        )
    return " ".join(sentences)


@dataclass
class Doc:
    doc_id: str
    text: str
    channel: str


@dataclass
class Feeds:
    """What the feeders were told: accepted documents, and how often a kill interrupted them."""

    accepted: dict[str, Doc] = field(default_factory=dict)
    rest_cut: int = 0  # a REST request in flight when the server died (not: server down)
    hook_cut: int = 0
    hook_ambiguous: int = 0  # a retry after a cut connection was answered "already received"
    unavailable: int = 0  # 503/429 answers, retried
    errors: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def accept(self, doc: Doc) -> None:
        with self.lock:
            self.accepted[doc.doc_id] = doc


def _feeder(
    quota: threading.Semaphore,
    stop: threading.Event,
    items: list[Any],
    send: Callable[[Any], None],
    pace_s: float,
) -> Callable[[], None]:
    def run() -> None:
        for item in items:
            while not quota.acquire(timeout=0.2):
                if stop.is_set():
                    return
            send(item)
            time.sleep(pace_s)

    return run


# About 5 min on an idle 2-core machine (21 starts of ~11 s dominate); 3x that when the
# machine is shared with benchmarks. The limit only catches a hang.
@pytest.mark.kill_soak
@pytest.mark.timeout(1800)
def test_kill_serve_repeatedly_while_ingesting(
    workdir: Path,
    faults_redis_url: str,
    embedder: Any,
    open_folder: Callable[[Path], FolderView],
    fault_summary: Callable[[str], None],
) -> None:
    started = time.monotonic()
    rng = random.Random(4)
    env = fault_env(
        faults_redis_url, chunk_max_tokens=CHUNK_MAX_TOKENS, max_document_bytes=MAX_DOCUMENT_BYTES
    )
    stream, queue = env["CHRONORAG_STREAM_NAME"], env["CHRONORAG_CELERY_QUEUE"]
    r = redis.Redis.from_url(faults_redis_url)
    server = ServeProcess(workdir / "data", env)
    feeds = Feeds()
    stop = threading.Event()
    tag = uuid.uuid4().hex[:6]

    # REST: explicit ids, or none but a published_at (the generated id is then retry-safe).
    rest_docs = []
    for n in range(N_REST):
        text = make_text(rng, n)
        published = f"20{10 + n % 14}-0{1 + n % 9}-15T12:00:00Z"
        doc_id = f"rest-{tag}-{n}" if n % 5 else new_doc_id(text, parse_instant(published, "p"))
        body = {"text": text, "published_at": published, "title": f"rest {n}"}
        if n % 5:
            body["id"] = doc_id
        rest_docs.append((Doc(doc_id, text, "rest"), body))

    def post_rest(item: tuple[Doc, dict[str, Any]]) -> None:
        doc, body = item
        while not stop.is_set():
            try:
                resp = httpx.post(server.url + "/v1/documents", json=body, timeout=30)
            except httpx.TransportError as exc:
                feeds.rest_cut += not isinstance(exc, httpx.ConnectError)
                time.sleep(0.2)
                continue
            if resp.status_code == 202:
                assert resp.json()["id"] == doc.doc_id
                feeds.accept(doc)
                return
            if resp.status_code in (429, 503):
                feeds.unavailable += 1
                time.sleep(0.3)
                continue
            feeds.errors.append(f"REST {doc.doc_id}: {resp.status_code} {resp.text[:200]}")
            return

    # Webhooks: signed batches; a retry after a cut connection keeps its delivery id.
    deliveries = []
    for n in range(KILLS):
        docs = [
            Doc(f"hook-{tag}-{n}-{k}", make_text(rng, 1000 + n * HOOK_BATCH + k), "webhook")
            for k in range(HOOK_BATCH)
        ]
        deliveries.append((f"delivery-{tag}-{n}", docs))

    def post_hook(item: tuple[str, list[Doc]]) -> None:
        delivery, docs = item
        body = json.dumps(
            {
                "documents": [
                    {"id": d.doc_id, "text": d.text, "published_at": "2022-06-01T00:00:00Z"}
                    for d in docs
                ]
            }
        ).encode()
        interrupted = False
        while not stop.is_set():
            stamp = int(time.time())
            headers = {
                "content-type": "application/json",
                "X-Chronorag-Timestamp": str(stamp),
                "X-Chronorag-Delivery": delivery,
                "X-Chronorag-Signature": sign_chronorag(WEBHOOK_SECRET, stamp, body),
            }
            try:
                resp = httpx.post(
                    f"{server.url}/v1/webhooks/{HOOK_SOURCE}",
                    content=body,
                    headers=headers,
                    timeout=30,
                )
            except httpx.TransportError as exc:
                cut = not isinstance(exc, httpx.ConnectError)  # it may have reached the server
                feeds.hook_cut += cut
                interrupted = interrupted or cut
                time.sleep(0.2)
                continue
            if resp.status_code == 202 or (resp.status_code == 409 and interrupted):
                # 409 after a cut connection: the server says it already has this delivery,
                # so the sender stops; those documents must be there.
                feeds.hook_ambiguous += resp.status_code == 409
                for d in docs:
                    feeds.accept(d)
                return
            if resp.status_code in (429, 503):
                feeds.unavailable += 1
                time.sleep(0.3)
                continue
            feeds.errors.append(f"webhook {delivery}: {resp.status_code} {resp.text[:200]}")
            return

    # Stream: the four shapes a producer may send, and a few entries that must be dead-lettered.
    malformed = [
        {"document": '{"text": "unterminated'},
        {"title": "no text"},
        {"text": "naive date", "published_at": "2021-03-01T10:00:00"},
        {"text": "x" * (MAX_DOCUMENT_BYTES + 10)},
        {"text": "typo in a field name", "publishedAt": "2021-03-01T10:00:00Z"},
        {"text": "unknown tenant", "tenant": "elsewhere"},
    ]
    stream_items: list[dict[str, str]] = []
    for n in range(N_STREAM):
        text = make_text(rng, 2000 + n)
        shape = n % 4
        if shape == 0:
            stream_items.append(
                {
                    "id": f"stream-{tag}-{n}",
                    "text": text,
                    "published_at": "2023-02-01T00:00:00+01:00",
                    "metadata": json.dumps({"n": n}),
                }
            )
        elif shape == 1:
            stream_items.append(
                {
                    "document": json.dumps(
                        {"id": f"stream-{tag}-{n}", "text": text, "source": "wire"}
                    )
                }
            )
        elif shape == 2:
            stream_items.append({"text": text, "published_at": "2020-05-05T05:05:05Z"})
        else:
            stream_items.append({"text": text})  # no id, no date: both come from the entry

    def xadd(fields: dict[str, str]) -> None:
        entry_id = r.xadd(stream, fields).decode()
        if "document" in fields:
            data = json.loads(fields["document"])
            doc = Doc(data["id"], data["text"], "stream")
        elif "id" in fields:
            doc = Doc(fields["id"], fields["text"], "stream")
        elif "published_at" in fields:
            published = parse_instant(fields["published_at"], "p")
            doc = Doc(new_doc_id(fields["text"], published), fields["text"], "stream")
        else:
            doc = Doc(new_doc_id(fields["text"], entry_time(entry_id)), fields["text"], "stream")
        feeds.accept(doc)  # XADD returned: the producer considers it delivered

    rest_quota, hook_quota, stream_quota = (threading.Semaphore(0) for _ in range(3))
    threads = [
        threading.Thread(
            target=_feeder(rest_quota, stop, rest_docs, post_rest, 0.25), name="rest-feeder"
        ),
        threading.Thread(
            target=_feeder(hook_quota, stop, deliveries, post_hook, 0.3), name="hook-feeder"
        ),
        threading.Thread(
            target=_feeder(stream_quota, stop, stream_items, xadd, 0.2), name="stream-feeder"
        ),
    ]
    for t in threads:
        t.start()

    kills = interrupted_work = 0
    try:
        for cycle in range(KILLS):
            server.start()
            released = [
                d.doc_id
                for d, _ in rest_docs[cycle * REST_PER_CYCLE : (cycle + 1) * REST_PER_CYCLE]
            ]
            rest_quota.release(REST_PER_CYCLE)
            hook_quota.release(1)
            stream_quota.release(STREAM_PER_CYCLE)
            if cycle % 3 == 1 and malformed:
                r.xadd(stream, malformed.pop())
            time.sleep(rng.uniform(0.6, 2.0))
            # Was anything unfinished at the moment of the kill? (cheap look: this cycle's REST
            # documents, the queue, and the stream's unacknowledged entries)
            unfinished = r.llen(queue) + int(r.xpending(stream, "faults")["pending"])
            for doc_id in released:
                try:
                    body = httpx.get(f"{server.url}/v1/documents/{doc_id}", timeout=2).json()
                    unfinished += body.get("status") != "indexed"
                except (httpx.HTTPError, ValueError):
                    unfinished += 1
            server.kill()
            kills += 1
            interrupted_work += unfinished > 0
            print(
                f"cycle {cycle}: killed at {time.monotonic() - started:.0f} s with "
                f"{unfinished} unfinished; accepted {len(feeds.accepted)}",
                flush=True,
            )
        server.start()  # the last start: it must finish everything
        for quota in (rest_quota, hook_quota, stream_quota):
            quota.release(10_000)
        for t in threads:
            t.join(120)
        assert not any(t.is_alive() for t in threads), "a feeder is stuck"
        assert not feeds.errors, feeds.errors[:5]
        assert len(feeds.accepted) == N_REST + N_HOOK + N_STREAM

        # Every accepted document reaches "indexed", at version 1 (no retry made a version).
        expected = {
            d.doc_id: expected_chunks(embedder, d.text, CHUNK_MAX_TOKENS)
            for d in feeds.accepted.values()
        }
        waiting = set(expected)
        client = httpx.Client(base_url=server.url, timeout=30)

        def all_indexed() -> bool:
            for doc_id in list(waiting):
                body = client.get(f"/v1/documents/{doc_id}").json()
                assert body.get("status") not in ("failed", "deleted"), body
                if body.get("status") == "indexed":
                    assert body["version"] == 1, body
                    assert body["chunks"] == len(expected[doc_id]), (body, expected[doc_id])
                    waiting.discard(doc_id)
            return not waiting

        try:
            wait_until(all_indexed, 600, "every accepted document to be indexed", 1.0)
        except AssertionError:
            raise AssertionError(
                f"{len(waiting)} never indexed, e.g. {sorted(waiting)[:5]}; "
                f"server log: {server.log}"
            ) from None
        dead = r.xrange(f"{stream}:dead")
        pending = int(r.xpending(stream, "faults")["pending"])
        client.close()
    finally:
        stop.set()
        server.stop()

    # Exactly six dead letters (dead-letter and XACK are one transaction), nothing pending.
    assert len(dead) == 6, [d[1].get(b"dead_reason") for d in dead]
    assert pending == 0

    # The embedded Qdrant folder itself: one point per expected chunk, version 1, same texts.
    view = open_folder(workdir / "data")
    points = view.chunk_points()
    assert set(points) == set(expected), set(points) ^ set(expected)
    for doc_id, payloads in points.items():
        got = sorted((p["chunk"], p["version"], p["text"]) for p in payloads)
        want = [(i, 1, text) for i, text in enumerate(expected[doc_id])]
        assert got == want, doc_id
    assert view.documents.count("default") == len(expected)
    assert not view.documents.with_status(["pending", "failed", "deleting", "deleted"])
    n_points = sum(len(v) for v in points.values())
    r.delete(stream, f"{stream}:dead", queue)
    r.close()
    fault_summary(
        f"kills={kills} (with unfinished work: {interrupted_work}) restarts={kills + 1} "
        f"docs={len(expected)} (rest={N_REST} webhook={N_HOOK} stream={N_STREAM}) "
        f"chunks={n_points} dead_letters={len(dead)} rest_requests_cut_by_kill={feeds.rest_cut} "
        f"webhook_requests_cut_by_kill={feeds.hook_cut} "
        f"webhook_409_after_cut={feeds.hook_ambiguous} 503_or_429={feeds.unavailable} "
        f"seconds={time.monotonic() - started:.0f}"
    )
