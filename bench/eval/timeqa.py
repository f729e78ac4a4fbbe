"""TimeQA: valid time read from prose; every page shares one ``published_at``.

Each question is asked twice: ``time_scoped`` (the question text, no parameters: the scope
must come from the question) and ``time_agnostic`` (``use_time: false``, same index). Choices
are every answer the subject has for the relation at some time, so a reader that ignores the
time picks among them by chance. Scored by:

- ``mc``: the best-F1 choice is gold; ``strict``: the answer names a gold choice and no other;
- ``gold_in_evidence_at_5``: some gold answer stands (normalised, whole words) in the text of
  one of the first five evidence chunks;
- ``doc_recall_at_5``: the answer's page is among the first five cited (diagnostic).
"""

from __future__ import annotations

from typing import Any

from bench.eval.common import (
    EvalSet,
    Question,
    Response,
    Row,
    Summary,
    TableRow,
    contains_phrase,
    rates,
    score_choices,
)

MODES = ("time_scoped", "time_agnostic")
METRICS = ("mc", "strict", "gold_in_evidence_at_5", "doc_recall_at_5")


def body(q: Question, mode: str) -> dict[str, Any]:
    if mode == "time_agnostic":
        return {"question": q["question"], "use_time": False}
    return {"question": q["question"]}


def score(q: Question, resp: Response, mode: str) -> Row:
    answer = resp["answer"]
    evidence = resp["evidence"][:5]
    cited = [e["document_id"] for e in evidence]
    return {
        "id": q["id"],
        "relation": q.get("relation"),
        "answer": answer,
        **score_choices(answer, q["answer_choices"], q["answers"]),
        "gold_in_evidence_at_5": any(
            contains_phrase(e["text"], gold) for e in evidence for gold in q["answers"]
        ),
        "doc_recall_at_5": q.get("doc_id") in cited,
        "cited": cited,
        "scope": resp["time_scope"],
    }


def summarise(rows: list[Row]) -> Summary:
    return rates(rows, METRICS)


def table(mode: str, summary: Summary) -> list[TableRow]:
    return [(mode, summary["n"], {k: summary[k] for k in METRICS})]


TIMEQA = EvalSet(
    "timeqa", MODES, body, score, summarise, table, failed=lambda row: not row["strict"],
    gains=("time_scoped", "time_agnostic", ("mc", "strict")),
)  # fmt: skip
