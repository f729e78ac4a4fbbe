"""A real OpenAI-compatible chat server on 127.0.0.1 that replays recorded replies.

It answers each request with ``route(request_body)`` and records every request, so tests
check both what chronorag sends and what it makes of the reply. A `Reply` with ``chunks`` is
streamed as written (server-sent events), optionally holding after the first ``hold_after``
chunks until ``gate`` is set, so a test can prove pieces are relayed before the model is done.
No model runs here.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "llm"


def fixture(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def sse_events(name: str) -> list[bytes]:
    """A recorded event stream, one ``data:`` event (with its blank line) per item."""
    text = fixture(name).decode()
    return [(block.strip() + "\n\n").encode() for block in text.split("\n\n") if block.strip()]


@dataclass
class Reply:
    status: int = 200
    body: bytes = b""
    delay_s: float = 0.0
    content_type: str = "application/json"
    #: Streamed instead of ``body``: written and flushed one by one, then the connection closes.
    chunks: list[bytes] | None = None
    hold_after: int = 0
    gate: threading.Event | None = None
    #: Set by the server: True when the gate timed out instead of being opened.
    gate_timed_out: bool = False


@dataclass
class Recorded:
    path: str
    headers: dict[str, str]
    body: dict[str, Any]


@dataclass
class ChatServer:
    """A real HTTP server that answers each request with ``route(request_body)``."""

    url: str
    requests: list[Recorded] = field(default_factory=list)
    route: Callable[[dict[str, Any]], Reply] = lambda _body: Reply(404, b"{}")

    def reply_with(self, reply: Reply) -> None:
        self.route = lambda _body: reply


def _stream(handler: BaseHTTPRequestHandler, reply: Reply) -> None:
    assert reply.chunks is not None
    handler.send_response(reply.status)
    handler.send_header("Content-Type", "text/event-stream")
    handler.send_header("Connection", "close")
    handler.end_headers()
    for n, chunk in enumerate(reply.chunks):
        if n == reply.hold_after and reply.gate is not None:
            reply.gate_timed_out = not reply.gate.wait(30)
        handler.wfile.write(chunk)
        handler.wfile.flush()


@contextmanager
def running_chat_server() -> Iterator[ChatServer]:
    state = ChatServer(url="")

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
            raw = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            body = json.loads(raw)
            state.requests.append(Recorded(self.path, dict(self.headers.items()), body))
            reply = state.route(body)
            time.sleep(reply.delay_s)
            try:
                if reply.chunks is not None:
                    _stream(self, reply)
                    return
                self.send_response(reply.status)
                self.send_header("Content-Type", reply.content_type)
                self.send_header("Content-Length", str(len(reply.body)))
                self.end_headers()
                self.wfile.write(reply.body)
            except OSError:  # the client gave up (timeout tests)
                pass

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    state.url = f"http://127.0.0.1:{server.server_address[1]}/v1"
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()
