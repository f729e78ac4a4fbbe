"""The ``chronorag`` command: the service's processes (serve, worker, stream-consumer,
optimize), hash-key, and the client commands of `workers.client_cli` (ingest, ask, status,
delete, documents, entities, timeline, period)."""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from app.core.settings import Settings

LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
#: The loggers that ``CHRONORAG_LOG_LEVEL`` sets; libraries stay at WARNING below DEBUG.
OWN_LOGGERS = ("app", "graph", "workers")


def _configure_logs(settings: Settings) -> None:
    """Chronorag's loggers at ``log_level``; the access log at INFO when it is on.

    Libraries stay at WARNING (httpx logs every request at INFO, Celery every task) unless the
    level is DEBUG, so the default output is the access log, one line per ingest task and
    what needs an operator.
    """
    if settings.log_level == "DEBUG":
        logging.getLogger().setLevel(logging.DEBUG)
    for name in OWN_LOGGERS:
        logging.getLogger(name).setLevel(settings.log_level)
    logging.getLogger("uvicorn.error").setLevel(logging.WARNING)
    access = logging.getLogger("uvicorn.access")
    access.setLevel(logging.INFO if settings.access_log else logging.WARNING)
    access.disabled = not settings.access_log
    from app.core.logs import use_log_format

    use_log_format(settings.log_format)


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
        settings = Settings(**overrides)
    except ValidationError as exc:
        for err in exc.errors():
            where = ".".join(str(p) for p in err["loc"]) or "settings"
            print(f"chronorag: invalid configuration ({where}): {err['msg']}", file=sys.stderr)
        return None
    _configure_logs(settings)
    return settings


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
        # log_config=None: uvicorn's records go through the root handler, one format for all.
        uvicorn.run(
            node.api,
            host=args.host,
            port=args.port,
            log_config=None,
            log_level=None,
            access_log=settings.access_log,
        )
    finally:
        node.stop()
    return 0


def _worker(args: argparse.Namespace) -> int:
    settings = _settings(args)
    if settings is None:  # before the Celery app reads them with a traceback
        return 2
    from workers.celery_app import create_celery

    app = create_celery(settings)
    app.set_default()  # a thread pool's tasks find their app (and runtime) as the default

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
    """Build HNSW indexes in an embedded data dir, with the service stopped (see README).

    A tiered folder (``CHRONORAG_INDEX_TIERS``, or one that has a tier manifest) is folded
    into one new sealed generation by the merge child, and its tiers are printed before and
    after; a plain folder is optimized in place.
    """
    settings = _settings(args)
    if settings is None:
        return 2
    if not settings.embedded:
        print("chronorag: a Qdrant server builds its indexes in the background; nothing to do")
        return 0
    from app.stores.engines import EdgeEngine
    from app.stores.tiered import MANIFEST, TieredEngine
    from app.wiring import build_engine

    root = settings.data_dir / "qdrant"
    if not root.is_dir():  # before the engine, which would create it
        print(f"chronorag: no embedded Qdrant data in {settings.data_dir}", file=sys.stderr)
        return 2
    tiered = settings.index_tiers or (root / MANIFEST).exists()
    try:
        engine = (
            TieredEngine(root, settings.search_hnsw_ef, auto_merge=False)
            if tiered
            else build_engine(settings)
        )
    except RuntimeError as exc:
        print(f"chronorag: {exc}", file=sys.stderr)
        return 2
    try:
        if isinstance(engine, TieredEngine):
            names = engine.load_all()
            print(f"merging the tiers of {len(names)} collections in {root} (minutes per 100k)")
            _print_tiers("before", engine.tiers())
            took = engine.optimize()
            print("  " + ", ".join(f"{step} {s:.1f} s" for step, s in took.items()), flush=True)
            _print_tiers("after", engine.tiers())
            return 0
        assert isinstance(engine, EdgeEngine)  # settings.embedded
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


def _print_tiers(when: str, tiers: list[dict[str, Any]]) -> None:
    """One line per tier: folder, kind and points per collection."""
    print(f"  tiers {when}:")
    for tier in tiers:
        points = ", ".join(f"{name} {n}" for name, n in tier["points"].items())
        print(f"    {tier['folder']} ({tier['kind']}): {points or 'empty'}", flush=True)


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


def _hash_key(args: argparse.Namespace) -> int:
    from app.core.security import hash_api_key

    print(hash_api_key(args.key))
    return 0


def _mcp(args: argparse.Namespace) -> int:
    """MCP on stdio, relayed to a running ``serve`` (see `app.integrations.mcp_stdio`)."""
    try:
        from app.integrations.mcp_stdio import run_stdio
    except ImportError as exc:  # the slim `chronorag[client]` install has no MCP SDK
        print(
            f"chronorag mcp: the MCP SDK is not installed ({exc.name}); "
            "pip install 'chronorag[server]' (or just 'mcp==2.3.0')",
            file=sys.stderr,
        )
        return 2
    return run_stdio(args.url, args.api_key, timeout_s=args.request_timeout)


def main(argv: list[str] | None = None) -> int:
    from workers.client_cli import _connection_options, add_client_commands

    # Libraries at WARNING; server commands raise chronorag's own loggers (`_configure_logs`).
    logging.basicConfig(level=logging.WARNING, format=LOG_FORMAT)
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

    add_client_commands(sub)

    mcp = sub.add_parser(
        "mcp", help="an MCP server on stdio for agents, relaying to a running `chronorag serve`"
    )
    _connection_options(mcp)
    mcp.set_defaults(func=_mcp)

    hash_key = sub.add_parser(
        "hash-key", help="print the sha256 under which CHRONORAG_API_KEYS stores an API key"
    )
    hash_key.add_argument("key")
    hash_key.set_defaults(func=_hash_key)

    args = parser.parse_args(argv)
    try:
        return int(args.func(args))
    except ModuleNotFoundError as exc:
        # The base install is the client (see pyproject); the service's commands need more.
        print(
            f"chronorag {args.command}: the module {exc.name!r} is not installed; this command "
            "needs the server install: pip install 'chronorag[server]'",
            file=sys.stderr,
        )
        return 2


if __name__ == "__main__":
    raise SystemExit(main())
