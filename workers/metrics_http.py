"""``GET /metrics`` for a Celery worker process, which has no API of its own.

Started from Celery's ``worker_init`` signal in the worker's main process when
``CHRONORAG_METRICS_PORT`` is set. A thread pool runs tasks in this very process, so it
reports the runtime's series; a prefork pool runs them in children, which only multiprocess
mode (PROMETHEUS_MULTIPROC_DIR, shared by parent and children) can gather, so there it reports
the folder.
"""

from __future__ import annotations

import logging
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from app.core.metrics import CONTENT_TYPE, render
from workers.runtime import ProcessRuntime

log = logging.getLogger(__name__)


def _exposition(holder: ProcessRuntime | None) -> bytes:
    from app.core.metrics import multiprocess_mode

    if multiprocess_mode():
        return render(None)
    current = holder.current() if holder is not None else None
    if current is None:  # no task yet: nothing measured, and no model loaded for a scrape
        return b""
    return current.services.metrics.series.render()


class _Handler(BaseHTTPRequestHandler):
    holder: ProcessRuntime | None = None

    def do_GET(self) -> None:  # noqa: N802 (the http.server API)
        if self.path.split("?", 1)[0] != "/metrics":
            self.send_error(404, "only /metrics is served here")
            return
        payload = _exposition(self.holder)
        self.send_response(200)
        self.send_header("Content-Type", CONTENT_TYPE)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        return  # a scrape every few seconds is not worth a log line


def serve_metrics(
    port: int, holder: ProcessRuntime | None, host: str = "0.0.0.0"
) -> ThreadingHTTPServer:
    """Serve ``/metrics`` of ``holder``'s runtime on ``host:port`` from a daemon thread."""
    handler = type("MetricsHandler", (_Handler,), {"holder": holder})
    server = ThreadingHTTPServer((host, port), handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, name="metrics-http", daemon=True)
    thread.start()
    log.info("worker metrics on http://%s:%d/metrics", host, port)
    return server
