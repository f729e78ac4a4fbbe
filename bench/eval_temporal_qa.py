"""Temporal QA evaluation over ../shared/data/clark-news through the real REST path.

Starts ``chronorag serve`` on a fresh data dir, streams every document (timestamp order) through
``POST /v1/documents``, waits until all are indexed, then asks each dev question three ways:
with its ``as_of`` (known time), as ``question_with_time`` with no parameters (the time parser),
and time-agnostic (``use_time: false``, the baseline on the same index). Prints a table and
writes ``bench/results/eval_temporal_qa.json``.

    .venv/bin/python bench/eval_temporal_qa.py [--limit N] [--data ../shared/data/clark-news]
"""

from __future__ import annotations

import argparse
import json
import re
import string
import sys
import tempfile
import time
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.common import Served, git_sha, machine  # noqa: E402

DEFAULT_DATA = ROOT.parent / "shared" / "data" / "clark-news"
_ARTICLES = re.compile(r"\b(a|an|the)\b")


def normalise(text: str) -> str:
    text = text.lower()
    text = "".join(ch for ch in text if ch not in string.punctuation)
    text = _ARTICLES.sub(" ", text)
    return " ".join(text.split())


def _tokens(text: str) -> list[str]:
    return normalise(text).split()


def f1(pred: str, gold: str) -> float:
    p, g = _tokens(pred), _tokens(gold)
    if not p or not g:
        return 0.0
    common = sum(min(p.count(t), g.count(t)) for t in set(p))
    if common == 0:
        return 0.0
    prec, rec = common / len(p), common / len(g)
    return 2 * prec * rec / (prec + rec)


def select_choice(answer: str, choices: list[str], qtype: str) -> str | None:
    """The choice the service's answer selects: yes/no by its first word, else best token F1."""
    if qtype == "yes/no":
        first = normalise(answer).split()[:1]
        return first[0] if first and first[0] in ("yes", "no") else None
    scored = [(f1(answer, c), -len(c), c) for c in choices]
    best = max(scored) if scored else None
    return best[2] if best and best[0] > 0 else None


def exact_match(answer: str, golds: list[str], qtype: str) -> bool:
    if qtype == "yes/no":
        first = normalise(answer).split()[:1]
        return bool(first) and first[0] in {normalise(g) for g in golds}
    return normalise(answer) in {normalise(g) for g in golds}


def ingest(url: str, docs: list[dict[str, Any]], workers: int = 4) -> float:
    started = time.perf_counter()

    def post(doc: dict[str, Any]) -> str:
        body = {"id": doc["id"], "text": doc["text"], "published_at": doc["timestamp"]}
        if doc.get("title"):
            body["title"] = doc["title"]
        if doc.get("url"):
            body["url"] = doc["url"]
        with httpx.Client(base_url=url, timeout=120) as c:
            for _ in range(20):
                r = c.post("/v1/documents", json=body)
                if r.status_code == 202:
                    return str(r.json()["id"])
                if r.status_code in (429, 503):
                    time.sleep(float(r.headers.get("Retry-After", "1")))
                    continue
                raise RuntimeError(f"{doc['id']}: {r.status_code} {r.text}")
        raise RuntimeError(f"{doc['id']}: gave up")

    # Timestamp order matters for the stream's semantics; post in order, a few at a time.
    with ThreadPoolExecutor(workers) as pool:
        ids = list(pool.map(post, docs))
    with httpx.Client(base_url=url, timeout=60) as c:
        pending = set(ids)
        while pending:
            for doc_id in list(pending)[:200]:
                status = c.get(f"/v1/documents/{doc_id}").json()["status"]
                if status in ("indexed", "failed"):
                    pending.discard(doc_id)
            if pending:
                time.sleep(1.0)
                print(f"\r  waiting for {len(pending)} documents to index", end="", flush=True)
    print()
    return time.perf_counter() - started


def ask_all(
    url: str, questions: list[dict[str, Any]], mode: str, workers: int = 4
) -> list[dict[str, Any]]:
    def ask(q: dict[str, Any]) -> dict[str, Any]:
        if mode == "as_of":
            body = {"question": q["question"], "as_of": q["as_of"]}
        elif mode == "question_with_time":
            body = {"question": q["question_with_time"]}
        else:
            body = {"question": q["question"], "use_time": False}
        with httpx.Client(base_url=url, timeout=120) as c:
            r = c.post("/v1/query", json=body)
        r.raise_for_status()
        data = r.json()
        answer = data["answer"]
        choice = select_choice(answer, q["answer_choices"], q["question_type"])
        golds = [normalise(a) for a in q["answers"]]
        return {
            "id": q["id"],
            "type": q["question_type"],
            "answer": answer,
            "choice": choice,
            "em": exact_match(answer, q["answers"], q["question_type"]),
            "mc": choice is not None and normalise(choice) in golds,
            "cited": [e["document_id"] for e in data["evidence"][:5]],
            "evidence_doc_id": q.get("evidence_doc_id"),
            "scope": data["time_scope"],
        }

    with ThreadPoolExecutor(workers) as pool:
        return list(pool.map(ask, questions))


def summarise(rows: list[dict[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    groups: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for r in rows:
        groups[r["type"]].append(r)
        groups["all"].append(r)
    for name, items in groups.items():
        n = len(items)
        out[name] = {
            "n": n,
            "em": round(sum(r["em"] for r in items) / n, 4),
            "mc": round(sum(r["mc"] for r in items) / n, 4),
        }
    with_ev = [r for r in rows if r["evidence_doc_id"]]
    if with_ev:
        out["all"]["evidence_recall_at_5"] = round(
            sum(r["evidence_doc_id"] in r["cited"] for r in with_ev) / len(with_ev), 4
        )
    return out


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--limit", type=int, default=None, help="first N questions only")
    parser.add_argument(
        "--out", type=Path, default=ROOT / "bench" / "results" / "eval_temporal_qa.json"
    )
    parser.add_argument("--url", default=None, help="use a running service (already ingested)")
    parser.add_argument(
        "--modes",
        default="as_of,question_with_time,time_agnostic",
        help="comma-separated subset of the three modes",
    )
    args = parser.parse_args()

    docs = [json.loads(line) for line in (args.data / "docs.jsonl").open()]
    docs.sort(key=lambda d: d["timestamp"])
    questions = [json.loads(line) for line in (args.data / "questions_dev.jsonl").open()]
    if args.limit:
        questions = questions[: args.limit]

    server = None
    url = args.url
    ingest_s = None
    if url is None:
        server = Served(Path(tempfile.mkdtemp(prefix="chronorag-eval-")))
        server.start()
        url = server.url
    try:
        if server is not None:
            print(f"ingesting {len(docs)} documents through REST …")
            ingest_s = ingest(url, docs)
            print(
                f"  {len(docs)} documents indexed in {ingest_s:.1f} s "
                f"({len(docs) / ingest_s:.1f} docs/s)"
            )
        results: dict[str, Any] = {}
        rows_by_mode: dict[str, list[dict[str, Any]]] = {}
        for mode in args.modes.split(","):
            t0 = time.perf_counter()
            rows = ask_all(url, questions, mode)
            rows_by_mode[mode] = rows
            results[mode] = summarise(rows)
            results[mode]["seconds"] = round(time.perf_counter() - t0, 1)
    finally:
        if server is not None:
            server.stop()

    print(f"\n{'mode':<20} {'type':<8} {'n':>5} {'EM':>7} {'MC':>7}")
    for mode, res in results.items():
        for qtype in ("wh", "yes/no", "all"):
            if qtype in res:
                r = res[qtype]
                print(f"{mode:<20} {qtype:<8} {r['n']:>5} {r['em']:>7.3f} {r['mc']:>7.3f}")
    gain = 0.0
    if "as_of" in results and "time_agnostic" in results:
        gain = results["as_of"]["all"]["mc"] - results["time_agnostic"]["all"]["mc"]
        print(f"\nMC gain of as_of over the time-agnostic baseline: {gain * 100:+.1f} points")

    args.out.parent.mkdir(parents=True, exist_ok=True)
    payload = {
        "dataset": str(args.data.name),
        "questions": len(questions),
        "documents": len(docs),
        "ingest_seconds": ingest_s,
        "results": results,
        "mc_gain_points": round(gain * 100, 1),
        "machine": machine(),
        "git_sha": git_sha(),
    }
    args.out.write_text(json.dumps(payload, indent=2))
    # Failures quote the dataset's passages: kept next to the result but never committed
    # (.gitignore), since the data stays in ../shared.
    failures = args.out.with_name("eval_temporal_qa_failures.jsonl")
    with failures.open("w") as fh:
        for row in rows_by_mode.get("as_of", []):
            if not row["mc"]:
                fh.write(json.dumps(row) + "\n")
    print(f"wrote {args.out} and {failures.name}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
