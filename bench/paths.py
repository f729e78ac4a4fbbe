"""How many of the project's source files one upload and one query cross (issue 10's measure).

In one process: a serve node on the embedded store (no Redis, no worker thread), one document
POSTed and its ingest task run, then one question asked. A profile hook records every project
file (``app/``, ``graph/``, ``workers/``) whose code runs during each path, after a warm-up
upload and query so that one-time imports and model loads are not counted. Prints the counts
and the files, and writes ``bench/results/paths.json``.

    .venv/bin/python bench/paths.py
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

PACKAGES = ("app", "graph", "workers")
DOC = {
    "id": "paths-1",
    "title": "Harbour board",
    "text": "Ilse Marrow became chair of the Tessby harbour board in March 2019. She replaced "
    "Odd Brennvik, who had led it since 2011.",
    "published_at": "2019-04-02T08:00:00Z",
}
QUESTION = "Who chaired the Tessby harbour board in 2020?"


@contextmanager
def files_run() -> Iterator[set[str]]:
    """The project files whose functions are called inside the block (all threads)."""
    seen: set[str] = set()
    roots = [str(ROOT / p) + "/" for p in PACKAGES]

    def hook(frame: Any, event: str, arg: Any) -> None:
        if event == "call":
            name = frame.f_code.co_filename
            if name.startswith(tuple(roots)):
                seen.add(str(Path(name).relative_to(ROOT)))

    import threading

    threading.setprofile(hook)  # type: ignore[arg-type]
    sys.setprofile(hook)
    try:
        yield seen
    finally:
        sys.setprofile(None)
        threading.setprofile(None)  # type: ignore[arg-type]


def _pipeline(node: Any) -> Callable[[str, str, int], str]:
    try:  # the composition root's layout
        from workers.runtime import runtime_of

        return runtime_of(node.celery).get().pipeline.ingest  # type: ignore[no-any-return]
    except ImportError:  # before it: a process-wide runtime
        from workers import runtime

        return runtime.get_runtime().pipeline.ingest  # type: ignore[no-any-return,attr-defined]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "paths.json")
    args = parser.parse_args(argv)

    from fastapi.testclient import TestClient

    from app.core.settings import Settings
    from workers.embedded import build_node

    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(data_dir=Path(tmp), redis_url=None, stream_enabled=False)
        node = build_node(settings)
        http = TestClient(node.api)
        ingest = _pipeline(node)
        try:
            for doc_id in ("warm-up", DOC["id"]):
                body = {**DOC, "id": doc_id}
                if doc_id == "warm-up":
                    assert http.post("/v1/documents", json=body).status_code == 202
                    ingest("default", doc_id, 1)
                    http.post("/v1/query", json={"question": QUESTION})
                    continue
                with files_run() as upload:
                    assert http.post("/v1/documents", json=body).status_code == 202
                    assert ingest("default", doc_id, 1) == "indexed"
                with files_run() as query:
                    answer = http.post("/v1/query", json={"question": QUESTION}).json()["answer"]
        finally:
            node.stop()
    report = {
        "upload_files": len(upload),
        "query_files": len(query),
        "upload": sorted(upload),
        "query": sorted(query),
        "answer": answer,
    }
    print(f"one upload (request + ingest task) crosses {len(upload)} files")
    print(f"one query crosses {len(query)} files (answer: {answer!r})")
    import json

    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
