"""The client commands as a person runs them: ``python -m workers.cli`` against a real serve."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.conftest import ROOT, ServeProcess, free_port, wait_status

pytestmark = pytest.mark.e2e

TOKEN = uuid.uuid4().hex[:6]
# Names unique to this run: the session's graph is shared, and "chief executive of" is
# single-valued, so a shared name would close another module's fact.
_ALPHA = TOKEN.translate(str.maketrans("0123456789", "ghijklmnop"))
COMPANY = f"Corvath{_ALPHA} Instruments"
FIRST = f"Ilse Marrow{_ALPHA}"
SECOND = f"Bram Tolliver{_ALPHA}"
DOCS = [
    (
        f"cli-a-{TOKEN}",
        "2021-02-08T09:00:00Z",
        f"{FIRST} was appointed chief executive of {COMPANY} in February 2021, the firm said.",
    ),
    (
        f"cli-b-{TOKEN}",
        "2024-05-20T09:00:00Z",
        f"{COMPANY} named {SECOND} chief executive in May 2024 after {FIRST} retired.",
    ),
]
QUESTION = f"Who is the chief executive of {COMPANY}?"


def cli(
    url: str, *args: str, merge: bool = False, timeout_s: float = 180
) -> subprocess.CompletedProcess[str]:
    """``chronorag <args> --url <url>`` in a child process, as typed in a shell."""
    env = {k: v for k, v in os.environ.items() if k not in ("CHRONORAG_URL", "CHRONORAG_API_KEY")}
    return subprocess.run(
        [sys.executable, "-m", "workers.cli", *args, "--url", url],
        cwd=ROOT,
        env=env,
        capture_output=not merge,
        stdout=subprocess.PIPE if merge else None,
        stderr=subprocess.STDOUT if merge else None,
        text=True,
        timeout=timeout_s,
    )


@pytest.fixture(scope="module")
def indexed(server: ServeProcess) -> str:
    with httpx.Client(base_url=server.url, timeout=60) as client:
        for doc_id, published_at, text in DOCS:
            body = {"id": doc_id, "text": text, "published_at": published_at}
            body["title"] = f"Wire {doc_id}"
            assert client.post("/v1/documents", json=body).status_code == 202
        for doc_id, _, _ in DOCS:
            assert wait_status(client, doc_id, "indexed")["facts"] >= 1
    return server.url


def test_ask_prints_answer_scope_facts_and_numbered_citations(indexed: str) -> None:
    out = cli(indexed, "ask", QUESTION, "--as-of", "2023-12-31")
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    assert FIRST in lines[0]
    assert "time scope: as known at end of 2023-12-31 (as given)" in lines
    assert "{" not in out.stdout  # no Python dict anywhere
    assert "facts:" in lines
    fact = next(line for line in lines if line.startswith("  - ") and FIRST in line)
    assert "chief executive" in fact and "valid 2021-02" in fact and f"cli-a-{TOKEN}@1" in fact
    citation = next(line for line in lines if line.startswith("  [1] "))
    assert re.match(
        rf"  \[1\] cli-a-{TOKEN} v1 'Wire cli-a-{TOKEN}', published 2021-02-08", citation
    )
    assert f"cli-b-{TOKEN}" not in out.stdout  # published after the as_of
    assert out.stderr == ""


def test_ask_json_start_end_and_no_time(indexed: str) -> None:
    out = cli(indexed, "ask", QUESTION, "--start", "2024-01-01", "--end", "2024-12-31", "--json")
    assert out.returncode == 0, out.stderr
    body = json.loads(out.stdout)
    scope = body["time_scope"]
    assert scope["source"] == "explicit"
    assert scope["start"].startswith("2024-01-01T00:00:00")
    assert scope["end"].startswith("2024-12-31T23:59:59.999999")
    assert SECOND in body["answer"]
    out = cli(
        indexed, "ask", f"Who was chief executive of {COMPANY} in 2021?", "--no-time", "--json"
    )
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)["time_scope"]["source"] == "none"


def test_server_down_is_one_line_naming_the_url() -> None:
    url = f"http://127.0.0.1:{free_port()}"
    for args in (["ask", "anything"], ["status", "x"], ["timeline", "x"], ["documents"]):
        out = cli(url, *args)
        assert out.returncode == 3, out
        assert out.stdout == ""
        assert out.stderr.count("\n") == 1, out.stderr
        assert out.stderr.startswith(f"chronorag: cannot reach chronorag at {url} (")
        assert "is `chronorag serve` running?" in out.stderr


def test_status_timeline_period_and_delete(indexed: str, tmp_path: Path) -> None:
    out = cli(indexed, "status", f"cli-a-{TOKEN}")
    assert out.returncode == 0, out.stderr
    assert out.stdout.splitlines()[0] == f"cli-a-{TOKEN}: indexed, version 1"
    assert "  published  2021-02-08 09:00 UTC" in out.stdout
    assert f"  title      Wire cli-a-{TOKEN}" in out.stdout
    assert json.loads(cli(indexed, "status", f"cli-a-{TOKEN}", "--json").stdout)["chunks"] >= 1

    out = cli(indexed, "timeline", FIRST)
    assert out.returncode == 0, out.stderr
    assert out.stdout.splitlines()[0].startswith(f"{FIRST}: ")
    assert any("chief executive" in line and COMPANY in line for line in out.stdout.splitlines())

    out = cli(indexed, "period", "2021-02")
    assert out.returncode == 0, out.stderr
    assert out.stdout.startswith("2021-02 (month, 2021-02-01 until 2021-03-01)")

    missing = cli(indexed, "status", f"nope-{TOKEN}")
    assert missing.returncode == 1
    assert missing.stderr == (
        f"chronorag: GET /v1/documents/nope-{TOKEN}: 404 Not found: "
        f"document 'nope-{TOKEN}' does not exist\n"
    )
    bad = cli(indexed, "period", "someday")
    assert bad.returncode == 1 and "422 Invalid input: period:" in bad.stderr

    doc_id = f"cli-gone-{TOKEN}"
    httpx.post(f"{indexed}/v1/documents", json={"id": doc_id, "text": "Short lived note."})
    with httpx.Client(base_url=indexed) as client:
        wait_status(client, doc_id, "indexed")
    out = cli(indexed, "delete", doc_id, "--wait")
    assert (out.returncode, out.stdout) == (0, f"{doc_id}: deleted\n"), out.stderr


def test_ingest_prints_the_summary_after_the_bar(indexed: str, tmp_path: Path) -> None:
    docs = tmp_path / "docs.jsonl"
    good = [
        {
            "id": f"cli-in-{TOKEN}-{n}",
            "text": f"Ledger entry {n}.",
            "timestamp": f"2022-01-0{n + 1}",
        }
        for n in range(3)
    ]
    bad_time = {"id": f"cli-in-{TOKEN}-naive", "text": "x", "published_at": "2022-01-01T10:00:00"}
    lines = [json.dumps(d) for d in good] + ["{not json", "", json.dumps(bad_time)]
    docs.write_text("\n".join(lines) + "\n")

    merged = cli(indexed, "ingest", str(docs), "--wait", merge=True)
    assert merged.returncode == 1, merged.stdout  # two lines were refused
    text = merged.stdout
    summary = "5 documents read: 3 accepted, 2 rejected; 3 indexed, 0 failed"
    assert summary in text
    # Both bars (upload, then index) are closed before the summary: none of them follows it.
    before, after = text[: text.index(summary)], text[text.index(summary) :]
    assert "upload: 100%" in before and "index: 100%" in before
    assert "%|" not in after
    assert "rejected  line 4  invalid JSON" in after
    assert "rejected  line 6  422 Invalid input: published_at:" in after
    assert "has no timezone" in after

    apart = cli(indexed, "ingest", str(docs))
    # stdout carries the summary alone; the bar is on stderr.
    assert apart.stdout.splitlines()[0] == (
        "5 documents read: 3 accepted, 2 rejected (0 queued for indexing, 3 already indexed); "
        "--wait follows them to indexed/failed"
    )
    assert "upload" not in apart.stdout and "upload" in apart.stderr


@pytest.fixture(scope="module")
def failing_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServeProcess]:
    """A serve whose every ingest is over budget, on the default settings otherwise: no Redis
    (the in-memory queue), no CHRONORAG_LOG_LEVEL."""
    env = {"CHRONORAG_INGEST_BUDGET_S": "0.000001", "CHRONORAG_REDIS_URL": ""}
    proc = ServeProcess(tmp_path_factory.mktemp("failing") / "data", env)
    proc.env.pop("CHRONORAG_LOG_LEVEL", None)
    proc.start()
    yield proc
    proc.stop()


def test_ingest_wait_lists_documents_that_failed_to_index(
    failing_server: ServeProcess, tmp_path: Path
) -> None:
    docs = tmp_path / "docs.jsonl"
    docs.write_text(
        "\n".join(
            json.dumps({"id": f"over-{n}", "text": f"Note {n} about tiles."}) for n in range(2)
        )
    )
    out = cli(failing_server.url, "ingest", str(docs), "--wait", "--timeout", "120")
    assert out.returncode == 1
    lines = out.stdout.splitlines()
    assert lines[0] == "2 documents read: 2 accepted, 0 rejected; 0 indexed, 2 failed"
    assert lines[2].split() == ["what", "where", "why"]
    for n, row in enumerate(lines[3:5]):
        what, where, why = row.split(None, 2)
        assert (what, where) == ("failed", f"over-{n}"), row
        assert "over the budget" in why and "CHRONORAG_INGEST_BUDGET_S" in why
    log = failing_server.log.read_text()
    # The default level: access lines, no kombu "No hostname was supplied" (memory transport).
    assert re.search(
        r'INFO uvicorn\.access: 127\.0\.0\.1:\d+ - "POST /v1/documents HTTP/1\.1" 202', log
    )
    assert "No hostname was supplied" not in log
