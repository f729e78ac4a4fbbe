"""CLARK-News: known time (what had been published by ``as_of``), multiple choice.

Each dev question is asked three ways: with its ``as_of`` (the known time as a parameter), as
``question_with_time`` with no parameters (the time parser must read it), and time-agnostic
(``use_time: false``, the baseline on the same index). Scored by exact match, best-F1 multiple
choice (``mc``), ``strict`` (names the gold choice and no other) and evidence recall@5 (the
gold passage among the first five cited documents).
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from bench.eval.common import (
    EvalSet,
    Question,
    Response,
    Row,
    Summary,
    TableRow,
    first_word,
    normalise,
    rate,
    rates,
    score_choices,
)

MODES = ("as_of", "question_with_time", "time_agnostic")
GROUPS = ("wh", "yes/no", "all")


def body(q: Question, mode: str) -> dict[str, Any]:
    if mode == "as_of":
        return {"question": q["question"], "as_of": q["as_of"]}
    if mode == "question_with_time":
        return {"question": q["question_with_time"]}
    return {"question": q["question"], "use_time": False}


def exact_match(answer: str, golds: list[str], yes_no: bool) -> bool:
    gold = {normalise(g) for g in golds}
    return first_word(answer) in gold if yes_no else normalise(answer) in gold


def score(q: Question, resp: Response, mode: str) -> Row:
    answer = resp["answer"]
    yes_no = q["question_type"] == "yes/no"
    return {
        "id": q["id"],
        "type": q["question_type"],
        "answer": answer,
        **score_choices(answer, q["answer_choices"], q["answers"], yes_no),
        "em": exact_match(answer, q["answers"], yes_no),
        "cited": [e["document_id"] for e in resp["evidence"][:5]],
        "evidence_doc_id": q.get("evidence_doc_id"),
        "scope": resp["time_scope"],
    }


def summarise(rows: list[Row]) -> Summary:
    """EM, mc and strict per question type and overall; evidence recall@5 overall.

    Recall counts only questions whose answer some passage had reported by ``as_of``.
    """
    groups: dict[str, list[Row]] = defaultdict(list)
    for r in rows:
        groups[r["type"]].append(r)
        groups["all"].append(r)
    out: Summary = {name: rates(items, ("em", "mc", "strict")) for name, items in groups.items()}
    with_ev = [{"hit": r["evidence_doc_id"] in r["cited"]} for r in rows if r["evidence_doc_id"]]
    if with_ev:
        out["all"]["evidence_recall_at_5"] = rate(with_ev, "hit")
    return out


def table(mode: str, summary: Summary) -> list[TableRow]:
    rows = []
    for group in GROUPS:
        if group in summary:
            metrics = {k: v for k, v in summary[group].items() if k != "n"}
            label = mode if group == "all" else f"{mode} [{group}]"
            rows.append((label, summary[group]["n"], metrics))
    return rows


CLARK = EvalSet(
    "clark-news", MODES, body, score, summarise, table, failed=lambda row: not row["mc"],
    gains=("as_of", "time_agnostic", ("mc",)), overall=lambda summary: summary["all"],
)  # fmt: skip
