"""What a Celery queue on Redis holds, read straight from its list, and the keys it leaves."""

from __future__ import annotations

import base64
import json
from typing import Any


def queued_tasks(client: Any, queue: str) -> list[tuple[str, list[Any]]]:
    """(task name, args) of every message waiting in a Celery queue, read from its Redis list."""
    out = []
    for raw in client.lrange(queue, 0, -1):
        msg = json.loads(raw)
        out.append((msg["headers"]["task"], json.loads(base64.b64decode(msg["body"]))[0]))
    return out


def queue_keys(queue: str) -> list[str]:
    """The Redis keys a Celery queue leaves behind: its list and kombu's bindings."""
    return [queue, f"_kombu.binding.{queue}", f"_kombu.binding_permanent.{queue}"]
