"""The ``chronorag`` command: serve, worker, stream-consumer, optimize, ingest, ask, hash-key."""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from app.core.settings import Settings

DEFAULT_URL = "http://127.0.0.1:8000"


def _settings(args: argparse.Namespace) -> Settings | None:
    """Settings from the environment plus command-line overrides; None (after printing each
    fix-it message) when they are invalid. The input itself is never printed: it may hold
    secrets."""
    from pydantic import ValidationError

    from app.core.settings import Settings

    overrides: dict[str, Any] = {}
    if getattr(args, "data_dir", None):
        overrides["data_dir"] = Path(args.data_dir)
    if getattr(args, "no_worker", False):
        overrides["embedded_worker"] = False
    try:
        return Settings(**overrides)
    except ValidationError as exc:
        for err in exc.errors():
            where = ".".join(str(p) for p in err["loc"]) or "settings"
            print(f"chronorag: invalid configuration ({where}): {err['msg']}", file=sys.stderr)
        return None


def _serve(args: argparse.Namespace) -> int:
    import uvicorn

    settings = _settings(args)
    if settings is None:
        return 2
    from app.core.security import mask_url
    from workers.embedded import build_node  # after validation: importing it reads settings

    node = build_node(settings)
    if settings.embedded_worker:
        node.start_worker()
    node.start_reconciler()
    node.start_stream_consumer()
    where = (
        "embedded Qdrant in " + str(settings.data_dir)
        if settings.embedded
        else ("Qdrant at " + mask_url(settings.qdrant_url))
    )
    # Printed settings go through mask_url: a URL may carry a password.
    broker = "Redis " + mask_url(settings.redis_url) if settings.redis_url else "in-memory queue"
    print(
        f"chronorag listening on http://{args.host}:{args.port} ({where}; {broker}; "
        f"worker {'in-process' if settings.embedded_worker else 'external'})",
        flush=True,
    )
    try:
        uvicorn.run(node.api, host=args.host, port=args.port, log_level="warning")
    finally:
        node.stop()
    return 0


def _worker(args: argparse.Namespace) -> int:
    if _settings(args) is None:  # before the Celery app reads them with a traceback
        return 2
    from workers.celery_app import app

    argv = [
        "worker",
        "--loglevel",
        args.loglevel,
        "--pool",
        args.pool,
        "--concurrency",
        str(args.concurrency),
        "-Q",
        args.queues or app.conf.task_default_queue,
        "--without-gossip",
        "--without-mingle",
    ]
    app.worker_main(argv)
    return 0


def _optimize(args: argparse.Namespace) -> int:
    """Build HNSW indexes in an embedded data dir, with the service stopped (see README)."""
    settings = _settings(args)
    if settings is None:
        return 2
    if not settings.embedded:
        print("chronorag: a Qdrant server builds its indexes in the background; nothing to do")
        return 0
    from app.core.services import build_engine
    from app.stores.engines import EdgeEngine

    root = settings.data_dir / "qdrant"
    if not root.is_dir():  # before the engine, which would create it
        print(f"chronorag: no embedded Qdrant data in {settings.data_dir}", file=sys.stderr)
        return 2
    engine = build_engine(settings)
    assert isinstance(engine, EdgeEngine)  # settings.embedded
    try:
        names = engine.load_all()
        print(f"optimizing {len(names)} collections in {root} (minutes per 100k points)...")
        for name, seconds in engine.optimize().items():
            print(f"  {name}: {seconds:.1f} s", flush=True)
    except RuntimeError as exc:
        print(f"chronorag: {exc}", file=sys.stderr)
        return 2
    finally:
        engine.close()
    return 0


def _stream_consumer(args: argparse.Namespace) -> int:
    """Record documents from the Redis intake stream; no API and no embedding model."""
    import signal
    import threading

    from app.core.errors import ConfigurationError

    settings = _settings(args)
    if settings is None:
        return 2
    from workers.stream import build_standalone_consumer

    try:
        standalone = build_standalone_consumer(settings)
    except (ConfigurationError, RuntimeError) as exc:
        print(f"chronorag: {exc}", file=sys.stderr)
        return 2
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    consumer = standalone.consumer
    print(
        f"chronorag stream-consumer {consumer.name} reading {consumer.stream} "
        f"(group {consumer.group}; ingest queue {settings.celery_queue})",
        flush=True,
    )
    try:
        consumer.run(stop)
    finally:
        standalone.close()
    print(f"stopped: {consumer.stats.line()}", flush=True)
    return 0


def _post(client: Any, url: str, doc: dict[str, Any], retries: int = 5) -> Any:
    for attempt in range(retries):
        resp = client.post(url, json=doc)
        if resp.status_code not in (429, 503):
            return resp
        time.sleep(float(resp.headers.get("Retry-After", 2**attempt)))
    return resp


def _ingest(args: argparse.Namespace) -> int:
    import httpx
    from tqdm import tqdm

    path = Path(args.file)
    lines = path.read_text(encoding="utf-8").splitlines()
    ok = failed = 0
    errors: list[str] = []
    with httpx.Client(base_url=args.url, timeout=60, headers=_auth(args)) as client:
        for n, line in enumerate(tqdm(lines, desc="ingest", unit="doc"), start=1):
            if not line.strip():
                continue
            try:
                doc = json.loads(line)
            except json.JSONDecodeError as exc:
                failed += 1
                errors.append(f"line {n}: invalid JSON ({exc.msg})")
                continue
            if "timestamp" in doc and "published_at" not in doc:
                doc["published_at"] = doc.pop("timestamp")
            doc = {
                k: v
                for k, v in doc.items()
                if v is not None
                and k in ("id", "text", "title", "url", "source", "published_at", "metadata")
            }
            resp = _post(client, "/v1/documents", doc)
            if resp.status_code == 202:
                ok += 1
            else:
                failed += 1
                errors.append(f"line {n}: {resp.status_code} {resp.json().get('detail', '')}")
    print(f"accepted {ok}, rejected {failed}")
    for err in errors[:20]:
        print("  " + err, file=sys.stderr)
    return 0 if failed == 0 else 1


def _auth(args: argparse.Namespace) -> dict[str, str]:
    return {"Authorization": f"Bearer {args.api_key}"} if args.api_key else {}


def _hash_key(args: argparse.Namespace) -> int:
    from app.core.security import hash_api_key

    print(hash_api_key(args.key))
    return 0


def _ask(args: argparse.Namespace) -> int:
    import httpx

    body: dict[str, Any] = {"question": args.question}
    if args.as_of:
        body["as_of"] = args.as_of
    if args.top_k:
        body["top_k"] = args.top_k
    resp = httpx.post(f"{args.url}/v1/query", json=body, timeout=60, headers=_auth(args))
    data = resp.json()
    if resp.status_code != 200:
        print(f"error {resp.status_code}: {data.get('detail')}", file=sys.stderr)
        return 1
    if args.json:
        print(json.dumps(data, indent=2))
        return 0
    print(data["answer"])
    scope = data["time_scope"]
    print(f"\ntime scope: {scope}")
    for i, ev in enumerate(data["evidence"], 1):
        print(
            f"[{i}] {ev['document_id']} v{ev['version']} ({ev['published_at']}): {ev['text'][:160]}"
        )
    return 0


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(
        level=os.environ.get("CHRONORAG_LOG_LEVEL", "WARNING"),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    parser = argparse.ArgumentParser(prog="chronorag", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    serve = sub.add_parser("serve", help="run the API (with an in-process worker by default)")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument("--data-dir", default=None, help="embedded Qdrant folder (default ./data)")
    serve.add_argument("--no-worker", action="store_true", help="API only (workers run apart)")
    serve.set_defaults(func=_serve)

    worker = sub.add_parser("worker", help="a Celery worker (needs Redis and a Qdrant server)")
    worker.add_argument("--concurrency", type=int, default=2)
    worker.add_argument("--pool", default="threads", choices=["threads", "prefork", "solo"])
    worker.add_argument("--queues", default=None)
    worker.add_argument("--loglevel", default="INFO")
    worker.set_defaults(func=_worker)

    consumer = sub.add_parser(
        "stream-consumer",
        help="record documents from the Redis intake stream (distributed topology; no API)",
    )
    consumer.add_argument(
        "--data-dir", default=None, help="embedded Qdrant folder, when no serve holds it"
    )
    consumer.set_defaults(func=_stream_consumer)

    optimize = sub.add_parser(
        "optimize",
        help="build HNSW indexes in an embedded data dir (stop `serve` first; minutes per 100k)",
    )
    optimize.add_argument("--data-dir", default=None, help="embedded Qdrant folder (./data)")
    optimize.set_defaults(func=_optimize)

    ingest = sub.add_parser("ingest", help="stream a JSONL file of documents to the service")
    ingest.add_argument("file")
    ingest.add_argument("--url", default=DEFAULT_URL)
    ingest.add_argument(
        "--api-key",
        default=os.environ.get("CHRONORAG_API_KEY"),
        help="sent as a Bearer token (default $CHRONORAG_API_KEY)",
    )
    ingest.set_defaults(func=_ingest)

    ask = sub.add_parser("ask", help="ask a question")
    ask.add_argument("question")
    ask.add_argument("--as-of", default=None)
    ask.add_argument("--top-k", type=int, default=None)
    ask.add_argument("--url", default=DEFAULT_URL)
    ask.add_argument("--json", action="store_true")
    ask.add_argument(
        "--api-key",
        default=os.environ.get("CHRONORAG_API_KEY"),
        help="sent as a Bearer token (default $CHRONORAG_API_KEY)",
    )
    ask.set_defaults(func=_ask)

    hash_key = sub.add_parser(
        "hash-key", help="print the sha256 under which CHRONORAG_API_KEYS stores an API key"
    )
    hash_key.add_argument("key")
    hash_key.set_defaults(func=_hash_key)

    args = parser.parse_args(argv)
    return int(args.func(args))


if __name__ == "__main__":
    raise SystemExit(main())
