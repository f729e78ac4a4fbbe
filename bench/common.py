"""What every benchmark shares: machine facts, results files, tables, a served process, data.

Benchmarks drive the service as a user does (``chronorag serve`` with its in-process worker,
REST, embedded Qdrant), except where one is explicitly about a component. Results go to
``bench/results/<name>.json`` with the machine and the git commit they were measured on.
"""

from __future__ import annotations

import json
import os
import platform
import random
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results"
REDIS_URL = os.environ.get("CHRONORAG_BENCH_REDIS_URL", "redis://127.0.0.1:6379/0")
WORK = Path(os.environ.get("CHRONORAG_BENCH_WORK", Path(tempfile.gettempdir()) / "chronorag-bench"))


# --------------------------------------------------------------------------- reporting


def machine() -> dict[str, Any]:
    """CPU model, cores this process may use, and the torch threads the service will use."""
    model = platform.processor() or "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    from app.core.settings import Settings

    threads = Settings().embedding_threads or cores
    try:
        import torch

        torch_version = torch.__version__
        cuda = bool(torch.cuda.is_available())
    except ImportError:  # pragma: no cover
        torch_version, cuda = "absent", False
    return {
        "cpu": model,
        "cores": cores,
        "torch_threads": threads,
        "torch": torch_version,
        "gpu": cuda,
        "python": platform.python_version(),
        "load_avg_at_start": [round(x, 2) for x in os.getloadavg()],
    }


def git_sha() -> str:
    try:
        sha = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True, text=True, check=True
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        return sha + ("-dirty" if dirty else "")
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def write_result(name: str, data: dict[str, Any]) -> Path:
    """Write ``bench/results/<name>.json`` (atomically) with machine and commit attached."""
    RESULTS.mkdir(parents=True, exist_ok=True)
    payload = {
        **data,
        "machine": machine(),
        "git_sha": git_sha(),
        "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    path = RESULTS / f"{name}.json"
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(payload, indent=2, sort_keys=False) + "\n")
    tmp.replace(path)
    return path


def read_result(name: str) -> dict[str, Any] | None:
    path = RESULTS / f"{name}.json"
    try:
        return dict(json.loads(path.read_text()))
    except (OSError, ValueError):
        return None


def table(title: str, header: Sequence[str], rows: Iterable[Sequence[Any]]) -> str:
    """A plain Markdown table (printed, and pasted into the README)."""

    def fmt(v: Any) -> str:
        if isinstance(v, float):
            return f"{v:,.3f}" if abs(v) < 10 else f"{v:,.1f}"
        return str(v)

    lines = [f"### {title}", "", "| " + " | ".join(header) + " |"]
    lines.append("|" + "|".join("---" for _ in header) + "|")
    lines.extend("| " + " | ".join(fmt(v) for v in row) + " |" for row in rows)
    text = "\n".join(lines)
    print(text + "\n", flush=True)
    return text


def percentile(values: Sequence[float], q: float) -> float:
    return float(np.percentile(np.asarray(values, dtype=np.float64), q)) if values else float("nan")


# --------------------------------------------------------------------------- the service


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def rss_mb(pid: int) -> dict[str, float]:
    """Current (VmRSS) and peak (VmHWM) resident memory of a process, MiB."""
    out = {"rss_mb": 0.0, "peak_rss_mb": 0.0}
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                out["rss_mb"] = int(line.split()[1]) / 1024
            elif line.startswith("VmHWM:"):
                out["peak_rss_mb"] = int(line.split()[1]) / 1024
    except OSError:
        pass
    return out


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds a process has used (Linux /proc), all its threads together.

    The machine is shared: wall-clock rates depend on what else runs, CPU time per request much
    less, so benchmarks report both.
    """
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class ServeProcess:
    """``chronorag serve`` started as a user starts it: uvicorn plus the in-process worker.

    The one launcher the test suite and the benchmarks share: ``env`` is added to this
    process's environment, the log goes next to the data dir.
    """

    def __init__(self, data_dir: Path, env: dict[str, str]) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.data_dir = data_dir
        self.env = {**os.environ, **env}
        self.log = data_dir.parent / f"serve-{self.port}.log"
        self.proc: subprocess.Popen[bytes] | None = None
        self.started_s = 0.0

    start_timeout_s = 120.0

    def start(self, timeout_s: float | None = None) -> None:
        timeout_s = timeout_s or self.start_timeout_s
        self.data_dir.parent.mkdir(parents=True, exist_ok=True)
        cmd = [sys.executable, "-m", "workers.cli", "serve",
               "--port", str(self.port), "--data-dir", str(self.data_dir)]  # fmt: skip
        t0 = time.monotonic()
        self.proc = subprocess.Popen(
            cmd, cwd=ROOT, env=self.env, stdout=self.log.open("ab"), stderr=subprocess.STDOUT
        )
        while time.monotonic() - t0 < timeout_s:
            if self.proc.poll() is not None:
                raise RuntimeError(f"serve exited early:\n{self.log.read_text()[-3000:]}")
            try:
                if httpx.get(self.url + "/healthz", timeout=2).status_code == 200:
                    self.started_s = time.monotonic() - t0
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.3)
        raise RuntimeError(f"serve did not come up:\n{self.log.read_text()[-3000:]}")

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def kill(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)

    def stop(self, grace_s: float = 30.0) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(grace_s)
            except subprocess.TimeoutExpired:
                self.kill()


class Served(ServeProcess):
    """A benchmark's ``chronorag serve``: its own Celery queue on the shared Redis (dropped at
    the end) and the Redis-stream intake off, so concurrent runs (and other engineers' tests)
    do not meet.
    """

    start_timeout_s = 240.0  # model load and a 100k-chunk folder, on a busy machine

    def __init__(self, data_dir: Path, env: dict[str, str] | None = None) -> None:
        self.queue = f"bench-{uuid.uuid4().hex[:10]}"
        defaults = {
            "CHRONORAG_REDIS_URL": REDIS_URL,
            "CHRONORAG_CELERY_QUEUE": self.queue,
            "CHRONORAG_STREAM_ENABLED": "false",
            "CHRONORAG_LOG_LEVEL": "WARNING",
            # A line per request would be most of the log and some of the measured CPU.
            "CHRONORAG_ACCESS_LOG": "false",
        }
        super().__init__(data_dir, {**defaults, **(env or {})})

    def __enter__(self) -> Served:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def stats(self) -> dict[str, Any]:
        return dict(httpx.get(self.url + "/v1/admin/stats", timeout=30).json())

    def stop(self, grace_s: float = 30.0) -> None:
        super().stop(grace_s)
        drop_queue(self.queue)


def drop_queue(queue: str) -> None:
    try:
        import redis

        client = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2)
        client.delete(queue, f"{queue}\x06\x163", f"{queue}\x06\x166", f"{queue}\x06\x169")
    except Exception:  # best effort: a leftover empty queue harms nothing
        pass


def post_retrying(
    client: httpx.Client, path: str, body: dict[str, Any], attempts: int = 20
) -> httpx.Response:
    """POST, honouring 429/503 Retry-After as ``chronorag ingest`` does; the last response."""
    resp = client.post(path, json=body)
    for _ in range(attempts):
        if resp.status_code not in (429, 503):
            break
        time.sleep(float(resp.headers.get("Retry-After", 1)))
        resp = client.post(path, json=body)
    return resp


def post_document(client: httpx.Client, doc: dict[str, Any], attempts: int = 20) -> httpx.Response:
    """POST a document, honouring 429/503 Retry-After; anything but 202 at the end raises."""
    resp = post_retrying(client, "/v1/documents", doc, attempts)
    if resp.status_code != 202:
        raise RuntimeError(f"upload of {doc.get('id')} failed: {resp.status_code} {resp.text}")
    return resp


def wait_indexed(
    client: httpx.Client, doc_ids: Sequence[str], timeout_s: float, want: str = "indexed"
) -> dict[str, dict[str, Any]]:
    """Poll until every document has status ``want``; returns their final status bodies.

    Documents finish roughly in upload order, so each pass stops at the first one not done
    (polling the rest would only add load to the server being measured).
    """
    pending = list(doc_ids)
    done: dict[str, dict[str, Any]] = {}
    deadline = time.monotonic() + timeout_s
    while pending:
        if time.monotonic() > deadline:
            raise RuntimeError(f"{len(pending)} documents never reached {want!r}: {pending[:3]}")
        while pending:
            body = client.get(f"/v1/documents/{pending[0]}").json()
            if body.get("status") == "failed":
                raise RuntimeError(f"{pending[0]} failed: {body}")
            if body.get("status") != want:
                break
            done[pending.pop(0)] = body
        if pending:
            time.sleep(0.25)
    return done


# --------------------------------------------------------------------------- synthetic news

FIRST = [
    "Marta",
    "Dev",
    "Lucia",
    "Tomas",
    "Aisha",
    "Kenji",
    "Olga",
    "Rafael",
    "Ingrid",
    "Samuel",
    "Priya",
    "Hugo",
    "Leila",
    "Mateo",
    "Nadia",
    "Owen",
    "Sofia",
    "Viktor",
    "Yara",
    "Zane",
]
LAST = [
    "Kowalczyk",
    "Raman",
    "Ferrante",
    "Novak",
    "Okafor",
    "Tanaka",
    "Petrova",
    "Silva",
    "Lindqvist",
    "Mensah",
    "Iyer",
    "Moreau",
    "Haddad",
    "Rojas",
    "Volkova",
    "Byrne",
    "Costa",
    "Horvath",
    "Nunes",
    "Whitaker",
]
ORG_A = [
    "Orbital",
    "Northwind",
    "Cobalt",
    "Harbor",
    "Summit",
    "Redwood",
    "Lumen",
    "Meridian",
    "Granite",
    "Aurora",
    "Pioneer",
    "Vantage",
    "Crescent",
    "Silverline",
    "Beacon",
]
ORG_B = [
    "Freight Lines",
    "Financial",
    "Energy",
    "Pharmaceuticals",
    "Motors",
    "Media Group",
    "Airlines",
    "Bank",
    "Telecom",
    "Foods",
    "Mining",
    "Insurance",
    "Retail",
    "Software",
]
ROLES = ["chief executive", "chair", "chief financial officer", "president", "head of research"]
CITIES = [
    "Cincinnati",
    "Rotterdam",
    "Osaka",
    "Lyon",
    "Nairobi",
    "Porto",
    "Calgary",
    "Gdansk",
    "Auckland",
    "Montevideo",
    "Tallinn",
    "Brisbane",
]
TOPICS = [
    "quarterly revenue",
    "operating margin",
    "the shipping backlog",
    "a cost-cutting plan",
    "the bond market",
    "consumer demand",
    "the regulator's review",
    "a new data centre",
    "union negotiations",
    "fuel prices",
    "the share buyback",
    "an acquisition offer",
]
MONTHS = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
]


def _person(rng: random.Random) -> str:
    return f"{rng.choice(FIRST)} {rng.choice(LAST)}"


def _org(rng: random.Random) -> str:
    return f"{rng.choice(ORG_A)} {rng.choice(ORG_B)}"


def news_sentence(rng: random.Random, org: str, when: datetime) -> str:
    """One sentence of a business news story; some carry dated role changes (facts)."""
    kind = rng.random()
    month = MONTHS[when.month - 1]
    if kind < 0.12:
        return (
            f"On {month} {when.day}, {when.year}, {org} named {_person(rng)} "
            f"{rng.choice(ROLES)}, succeeding {_person(rng)}."
        )
    if kind < 0.2:
        who, role = _person(rng), rng.choice(ROLES)
        return f"{who} stepped down as {role} of {org} in {month} {when.year}."
    if kind < 0.3:
        pct = rng.uniform(0.5, 19.5)
        quarter = rng.choice(["first", "second", "third", "fourth"])
        return (
            f"In the {quarter} quarter of {when.year}, {org} reported that "
            f"{rng.choice(TOPICS)} rose {pct:.1f} percent."
        )
    if kind < 0.4:
        return (
            f"Analysts in {rng.choice(CITIES)} said {rng.choice(TOPICS)} would weigh on "
            f"{org} and its rivals for the rest of the year."
        )
    if kind < 0.55:
        return (
            f"{_person(rng)}, a spokesperson for {org}, declined to comment on "
            f"{rng.choice(TOPICS)} but said the company remained confident about "
            f"{rng.choice(TOPICS)}."
        )
    if kind < 0.7:
        return (
            f"The company, which is based in {rng.choice(CITIES)}, employs about "
            f"{rng.randint(2, 90) * 500:,} people and has operations in "
            f"{rng.randint(3, 40)} countries."
        )
    if kind < 0.85:
        return (
            f"Shares of {org} {rng.choice(['fell', 'rose', 'were flat'])} after the "
            f"announcement, while investors focused on {rng.choice(TOPICS)} and "
            f"{rng.choice(TOPICS)}."
        )
    return (
        f'"We expect {rng.choice(TOPICS)} to improve by {month}," {_person(rng)} told '
        f"reporters at a briefing in {rng.choice(CITIES)}."
    )


@dataclass(frozen=True)
class NewsDoc:
    id: str
    title: str
    text: str
    published_at: datetime

    def body(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "title": self.title,
            "text": self.text,
            "published_at": self.published_at.isoformat(),
        }


def news_documents(
    n: int, *, seed: int = 7, words: int = 750, prefix: str = "news", nonce: bool = False
) -> list[NewsDoc]:
    """``n`` deterministic news stories of about ``words`` words (~1,000 word pieces at 750).

    With ``nonce`` each story carries a unique made-up word, so a query can find exactly it.
    """
    rng = random.Random(seed)
    start = datetime(2015, 1, 1, tzinfo=UTC)
    docs = []
    for i in range(n):
        org = _org(rng)
        when = start + timedelta(days=rng.randint(0, 3650), hours=rng.randint(0, 23))
        sentences: list[str] = []
        count = 0
        while count < words:
            s = news_sentence(rng, org, when)
            sentences.append(s)
            count += len(s.split())
        if nonce:
            tag = nonce_word(rng)
            sentences.insert(1, f"The project is known internally as {tag}.")
        paragraphs = [" ".join(sentences[j : j + 5]) for j in range(0, len(sentences), 5)]
        title = f"{org}: {rng.choice(TOPICS)} in focus"
        docs.append(NewsDoc(f"{prefix}-{seed}-{i:05d}", title, "\n\n".join(paragraphs), when))
    return docs


def nonce_word(rng: random.Random) -> str:
    consonants, vowels = "bdfgklmnprstvz", "aeiou"
    return "".join(rng.choice(consonants) + rng.choice(vowels) for _ in range(4)).capitalize()


def fresh_dir(name: str) -> Path:
    """An empty working folder for one benchmark run (outside the repository).

    Named ``<name>-<pid>-<random>``; ``clean_work`` removes those whose process has ended.
    """
    path = WORK / f"{name}-{os.getpid()}-{uuid.uuid4().hex[:6]}"
    path.mkdir(parents=True, exist_ok=True)
    return path


def clean_work() -> None:
    """Remove finished runs' folders (copies of the 100k index are 400 MB each); keep caches."""
    import shutil

    if not WORK.exists():
        return
    for path in WORK.iterdir():
        if path.name.startswith("index-"):
            continue  # the cached 100k-chunk index
        pid = path.name.rsplit("-", 2)[-2] if path.name.count("-") >= 2 else ""
        if pid.isdigit() and Path(f"/proc/{pid}").exists():
            continue  # still in use
        shutil.rmtree(path, ignore_errors=True)
