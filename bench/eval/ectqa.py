"""ECT-QA: earnings-call transcripts, a question names its company and fiscal period.

Answers here are numbers and comparisons an extractive answer cannot state, so retrieval is
scored, as the set's README asks: each question is asked once with no time parameters
(``top_k`` 10; the period must come from the question) and its top-10 evidence chunks are
checked against the gold.

- ``evidence_recall_at_10``: per question, the share of its gold sentences found in some
  top-10 chunk (at least 80% of the sentence's distinct normalised words present in the
  chunk's text); averaged over questions.
- ``right_period_share``: of the top-10 chunks from a questioned company (a document whose
  company part, the id before ``-<year>-q<n>``, is that of a gold document), the share from a
  questioned period (the document is a gold document, or its period is a gold period).
  **Pooled**: all such chunks of all questions together, so a question citing more of them
  weighs more. ``right_period_share_per_question`` is the per-question mean, over questions
  that cited any such chunk.
- ``evidence_doc_recall_at_10``: the share of gold documents among the cited ones (diagnostic).
"""

from __future__ import annotations

import re
from typing import Any

from bench.eval.common import EvalSet, Question, Response, Row, Summary, TableRow, rate, tokens

TOP_K = 10
SENTENCE_COVERAGE = 0.8
_DOC_ID = re.compile(r"^(?P<company>.+)-(?P<period>\d{4}-q\d)$")


def split_doc_id(doc_id: str) -> tuple[str, str]:
    """(company, period) of a transcript id ``<sector-company>-<year>-q<n>``."""
    match = _DOC_ID.match(doc_id)
    return (match["company"], match["period"]) if match else (doc_id, "")


def body(q: Question, mode: str) -> dict[str, Any]:
    return {"question": q["question"], "top_k": TOP_K}


def sentence_found(sentence: str, chunks: list[set[str]]) -> bool:
    words = set(tokens(sentence))
    need = SENTENCE_COVERAGE * len(words)
    return bool(words) and any(len(words & chunk) >= need for chunk in chunks)


def score(q: Question, resp: Response, mode: str) -> Row:
    evidence = resp["evidence"][:TOP_K]
    cited = [e["document_id"] for e in evidence]
    chunks = [set(tokens(e["text"])) for e in evidence]
    gold_docs = set(q["evidence_doc_ids"])
    gold_periods = set(q["evidence_periods"])
    companies = {split_doc_id(d)[0] for d in gold_docs}
    questioned = [d for d in cited if split_doc_id(d)[0] in companies]
    right = [d for d in questioned if d in gold_docs or split_doc_id(d)[1] in gold_periods]
    found = [sentence_found(s, chunks) for s in q["evidence_sentences"]]
    return {
        "id": q["id"],
        "reasoning_type": q.get("reasoning_type"),
        "question_type": q.get("question_type"),
        "period_mismatch": q.get("evidence_period_mismatch"),
        "cited": cited,
        "evidence_doc_ids": sorted(gold_docs),
        "sentences_found": sum(found),
        "sentences": len(found),
        "evidence_recall": sum(found) / len(found) if found else 0.0,
        "doc_recall": len(gold_docs & set(cited)) / len(gold_docs) if gold_docs else 0.0,
        "questioned_chunks": len(questioned),
        "right_period_chunks": len(right),
        "scope": resp["time_scope"],
    }


def summarise(rows: list[Row]) -> Summary:
    """Recall per question then averaged; right-period share pooled (and per question)."""
    questioned = sum(r["questioned_chunks"] for r in rows)
    right = sum(r["right_period_chunks"] for r in rows)
    per_q = [
        {"share": r["right_period_chunks"] / r["questioned_chunks"]}
        for r in rows
        if r["questioned_chunks"]
    ]
    return {
        "n": len(rows),
        "evidence_recall_at_10": rate(rows, "evidence_recall"),
        "right_period_share": round(right / questioned, 4) if questioned else 0.0,
        "right_period_share_per_question": rate(per_q, "share"),
        "evidence_doc_recall_at_10": rate(rows, "doc_recall"),
        "questioned_chunks": questioned,
    }


def table(mode: str, summary: Summary) -> list[TableRow]:
    keys = ("evidence_recall_at_10", "right_period_share", "evidence_doc_recall_at_10")
    return [(mode, summary["n"], {k: summary[k] for k in keys})]


ECT_QA = EvalSet(
    "ect-qa", ("time_scoped",), body, score, summarise, table,
    failed=lambda row: row["evidence_recall"] < 1.0,
)  # fmt: skip
