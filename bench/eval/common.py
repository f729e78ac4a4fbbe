"""What the evaluation sets share: reading a set, REST ingest and questions, answer scorers.

Every set is driven as a user drives the service: documents go in through
``POST /v1/documents`` and questions through ``POST /v1/query``; nothing reads the index
behind the API. The harness never filters by time itself: that is the service's job.
"""

from __future__ import annotations

import json
import re
import string
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from bench.common import post_document, post_retrying

Question = dict[str, Any]
Response = dict[str, Any]
Row = dict[str, Any]
Summary = dict[str, Any]
TableRow = tuple[str, int, dict[str, float]]

_ARTICLES = re.compile(r"\b(a|an|the)\b")


# --------------------------------------------------------------------------- the sets


@dataclass(frozen=True)
class EvalSet:
    """One evaluation set: how it asks and how it scores; the runner does the rest alike.

    ``body`` builds the ``/v1/query`` request for a question in a mode, ``score`` turns the
    response into a row, ``summarise`` folds one mode's rows into metrics and ``table`` lays a
    summary out as (label, n, metrics) rows. ``failed`` picks the rows written to the
    (gitignored) failures file. ``gains`` names (mode, baseline mode, metrics) whose
    differences are reported in points, read from ``overall(summary)``.
    """

    name: str
    modes: tuple[str, ...]
    body: Callable[[Question, str], dict[str, Any]]
    score: Callable[[Question, Response, str], Row]
    summarise: Callable[[list[Row]], Summary]
    table: Callable[[str, Summary], list[TableRow]]
    failed: Callable[[Row], bool]
    gains: tuple[str, str, tuple[str, ...]] | None = None
    overall: Callable[[Summary], Summary] = field(default=lambda summary: summary)

    def compare(self, results: dict[str, Summary]) -> dict[str, float]:
        """``<metric>_gain_points``: the mode's figure minus the baseline's, in points."""
        if self.gains is None or not {self.gains[0], self.gains[1]} <= results.keys():
            return {}
        mode, baseline = (self.overall(results[m]) for m in self.gains[:2])
        return {f"{k}_gain_points": round((mode[k] - baseline[k]) * 100, 1) for k in self.gains[2]}


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    with path.open() as fh:
        return [json.loads(line) for line in fh if line.strip()]


def load_set(data: Path, limit: int | None) -> tuple[list[dict[str, Any]], list[Question]]:
    """A set's documents (timestamp order, as the stream delivers them) and its dev questions.

    All three sets share the layout ``docs.jsonl`` + ``questions_dev.jsonl``; ``limit`` keeps
    the first questions only, never fewer documents (a smaller index would flatter retrieval).
    """
    docs = sorted(read_jsonl(data / "docs.jsonl"), key=lambda d: d["timestamp"])
    questions = read_jsonl(data / "questions_dev.jsonl")
    return docs, questions[:limit] if limit else questions


def rate(rows: Sequence[Row], key: str) -> float:
    """Mean of a boolean or numeric column, rounded as the results files always were."""
    return round(sum(float(r[key]) for r in rows) / len(rows), 4) if rows else 0.0


def rates(rows: Sequence[Row], keys: Sequence[str]) -> dict[str, Any]:
    return {"n": len(rows), **{k: rate(rows, k) for k in keys}}


# --------------------------------------------------------------------------- scorers


def normalise(text: str) -> str:
    """SQuAD-style normalisation: lower case, no punctuation, no articles, single spaces."""
    text = text.lower()
    text = "".join(ch for ch in text if ch not in string.punctuation)
    text = _ARTICLES.sub(" ", text)
    return " ".join(text.split())


def tokens(text: str) -> list[str]:
    return normalise(text).split()


def f1(pred: str, gold: str) -> float:
    p, g = tokens(pred), tokens(gold)
    if not p or not g:
        return 0.0
    common = sum(min(p.count(t), g.count(t)) for t in set(p))
    if common == 0:
        return 0.0
    prec, rec = common / len(p), common / len(g)
    return 2 * prec * rec / (prec + rec)


def contains_phrase(text: str, phrase: str) -> bool:
    """Whether ``phrase``'s normalised tokens stand contiguously, whole words, in ``text``'s.

    Whole words, so a short name does not match inside a longer word ("Ann" in "Annual").
    """
    needle = normalise(phrase)
    return bool(needle) and f" {needle} " in f" {normalise(text)} "


def first_word(answer: str) -> str | None:
    words = tokens(answer)[:1]
    return words[0] if words else None


def select_choice(answer: str, choices: Sequence[str], yes_no: bool) -> str | None:
    """The choice the service's answer selects: yes/no by its first word, else best token F1."""
    if yes_no:
        word = first_word(answer)
        return word if word in ("yes", "no") else None
    scored = [(f1(answer, c), -len(c), c) for c in choices]
    best = max(scored) if scored else None
    return best[2] if best and best[0] > 0 else None


def named_choices(answer: str, choices: Sequence[str]) -> set[str]:
    """The choices the answer names as a whole phrase (normalised).

    A choice that only stands inside another named choice ("X" inside "X Jr.") is not counted:
    naming the longer one is not naming both.
    """
    named = {normalise(c) for c in choices if contains_phrase(answer, c)}
    return {c for c in named if not any(c != o and contains_phrase(o, c) for o in named)}


def strict_correct(answer: str, choices: Sequence[str], golds: Sequence[str], yes_no: bool) -> bool:
    """The answer names a gold choice and no other choice (yes/no: its first word is gold).

    Stricter than best-F1 selection, which credits an answer that lists every choice.
    """
    gold = {normalise(g) for g in golds}
    if yes_no:
        return first_word(answer) in gold
    named = named_choices(answer, choices)
    return bool(named) and named <= gold


def score_choices(
    answer: str, choices: Sequence[str], golds: Sequence[str], yes_no: bool = False
) -> dict[str, Any]:
    """Both multiple-choice scorers for one answer: ``mc`` (best F1) and ``strict``."""
    choice = select_choice(answer, choices, yes_no)
    gold = {normalise(g) for g in golds}
    return {
        "choice": choice,
        "mc": choice is not None and normalise(choice) in gold,
        "strict": strict_correct(answer, choices, golds, yes_no),
    }


# --------------------------------------------------------------------------- REST


def document_body(doc: dict[str, Any]) -> dict[str, Any]:
    """The ``POST /v1/documents`` body of a set's document (``timestamp`` is ``published_at``)."""
    body = {"id": doc["id"], "text": doc["text"], "published_at": doc["timestamp"]}
    body.update({k: doc[k] for k in ("title", "url") if doc.get(k)})
    return body


def ingest(url: str, docs: Sequence[dict[str, Any]], workers: int = 4) -> dict[str, Any]:
    """Upload every document and wait until each is indexed or failed.

    Uploads go in timestamp order, a few at a time (order matters for the stream's
    semantics). A failed document is counted and reported, not fatal: the run still says
    what the rest scores, and the count says how far to trust it.
    """
    started = time.perf_counter()

    def post(doc: dict[str, Any]) -> str:
        with httpx.Client(base_url=url, timeout=120) as client:
            return str(post_document(client, document_body(doc)).json()["id"])

    with ThreadPoolExecutor(workers) as pool:
        ids = list(pool.map(post, docs))
    failed = wait_settled(url, ids)
    return {
        "documents": len(ids),
        "failed_documents": failed,
        "seconds": round(time.perf_counter() - started, 1),
    }


def wait_settled(url: str, doc_ids: Sequence[str], stall_s: float = 1800.0) -> list[str]:
    """Poll until every document is ``indexed`` or ``failed``; returns the failed ids.

    Documents finish roughly in upload order, so each pass stops at the first one still
    pending (polling the rest would only load the server). Gives up when nothing has settled
    for ``stall_s``: a stuck queue should end the run, not hang it.
    """
    pending, failed = list(doc_ids), []
    last_progress, shown = time.monotonic(), -1
    with httpx.Client(base_url=url, timeout=60) as client:
        while pending:
            while pending:
                status = client.get(f"/v1/documents/{pending[0]}").json().get("status")
                if status not in ("indexed", "failed"):
                    break
                if status == "failed":
                    failed.append(pending[0])
                pending.pop(0)
                last_progress = time.monotonic()
            if pending:
                if time.monotonic() - last_progress > stall_s:
                    raise RuntimeError(f"{len(pending)} documents stuck, first {pending[0]}")
                if len(pending) != shown:  # one line per change, not per poll, in a log
                    shown = len(pending)
                    print(f"\r  waiting for {shown} documents to index ", end="", flush=True)
                time.sleep(1.0)
    print()
    return failed


def query(url: str, body: dict[str, Any], attempts: int = 20) -> Response:
    """``POST /v1/query``, honouring 429/503 Retry-After; any other error ends the run."""
    with httpx.Client(base_url=url, timeout=300) as client:
        resp = post_retrying(client, "/v1/query", body, attempts)
    resp.raise_for_status()
    return dict(resp.json())


def ask_all(
    url: str, evalset: EvalSet, questions: Sequence[Question], mode: str, workers: int = 4
) -> list[Row]:
    """Ask every question in one mode on a small thread pool; rows in question order."""
    done = 0
    lock = threading.Lock()

    def ask(q: Question) -> Row:
        nonlocal done
        row = evalset.score(q, query(url, evalset.body(q, mode)), mode)
        with lock:
            done += 1
            if done % 50 == 0 or done == len(questions):
                print(f"\r  {evalset.name} {mode}: {done}/{len(questions)} ", end="", flush=True)
        return row

    with ThreadPoolExecutor(workers) as pool:
        rows = list(pool.map(ask, questions))
    print()
    return rows
