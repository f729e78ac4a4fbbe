"""Answering a question: scope → retrieve → rank → answer."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

import numpy as np

from app.core.errors import InvalidInput
from app.core.services import Services
from app.core.timeutil import ensure_utc, utcnow
from app.retrieval.answer import Decision, evidence_answer
from app.retrieval.mentions import is_yes_no, question_mentions
from app.retrieval.scope import TimeScope, resolve_scope
from app.retrieval.search import ChunkRetriever, Evidence

EVIDENCE_DEPTH = 20


@dataclass
class QueryResult:
    answer: str
    scope: TimeScope
    evidence: list[Evidence]
    facts: list[dict[str, Any]] = field(default_factory=list)


class GraphAnswerer(Protocol):
    """Answers from the temporal graph when it can; None lets the evidence answer stand."""

    def answer(
        self,
        tenant: str,
        question: str,
        scope: TimeScope,
        query_vector: np.ndarray,
        mentions: list[str],
    ) -> tuple[Decision | None, list[dict[str, Any]]]: ...


class AnswerComposer(Protocol):
    """Writes the final answer from what was retrieved (``answer_mode="llm"``).

    Called with the evidence the response returns, so the ids it cites resolve; it raises
    `Unavailable` when its model is down instead of falling back to the extractive answer.
    """

    def compose(
        self,
        question: str,
        scope: TimeScope,
        facts: Sequence[Mapping[str, Any]],
        evidence: Sequence[Evidence],
    ) -> str: ...


class QueryService:
    def __init__(
        self,
        services: Services,
        graph: GraphAnswerer | None = None,
        composer: AnswerComposer | None = None,
    ) -> None:
        """``composer`` None keeps extractive answers (the default); set, it writes them."""
        self._s = services
        self._chunks = ChunkRetriever(services)
        self._graph = graph
        self._composer = composer

    def scope(
        self,
        question: str,
        *,
        as_of: datetime | None = None,
        start: datetime | None = None,
        end: datetime | None = None,
    ) -> TimeScope:
        return resolve_scope(
            question,
            now=utcnow(),
            as_of=ensure_utc(as_of, "as_of") if as_of else None,
            start=ensure_utc(start, "start") if start else None,
            end=ensure_utc(end, "end") if end else None,
            fiscal_year_start_month=self._s.settings.fiscal_year_start_month,
        )

    def query(
        self,
        tenant: str,
        question: str,
        *,
        as_of: datetime | None = None,
        start: datetime | None = None,
        end: datetime | None = None,
        top_k: int | None = None,
        use_time: bool = True,
    ) -> QueryResult:
        settings = self._s.settings
        question = question.strip()
        if not question:
            raise InvalidInput("question: must be a non-empty string")
        if len(question) > settings.max_question_chars:
            raise InvalidInput(f"question: longer than {settings.max_question_chars} characters")
        k = top_k or settings.default_top_k
        if not 1 <= k <= settings.max_top_k:
            raise InvalidInput(f"top_k: must be between 1 and {settings.max_top_k}")
        if use_time:
            scope = self.scope(question, as_of=as_of, start=start, end=end)
        else:
            scope = TimeScope(None, None, None, "none", None, question)
        text = scope.question or question
        mentions = question_mentions(text)
        qvec = self._s.embedder.embed_query(text)
        evidence = self._chunks.retrieve(
            tenant, text, scope, max(k, EVIDENCE_DEPTH), query_vector=qvec, mentions=mentions
        )
        facts: list[dict[str, Any]] = []
        graph_decision: Decision | None = None
        if self._graph is not None:
            graph_decision, facts = self._graph.answer(tenant, text, scope, qvec, mentions)
        if self._composer is not None:  # the model writes the answer: no extractive one
            answer = self._composer.compose(question, scope, facts, evidence[:k])
        else:
            read = evidence_answer(
                text, mentions, evidence[:EVIDENCE_DEPTH], yes_no=is_yes_no(text)
            )
            decision = choose(graph_decision, read)
            answer = decision.answer if decision else ""
        return QueryResult(answer=answer, scope=scope, evidence=evidence[:k], facts=facts)


def choose(graph: Decision | None, read: Decision | None) -> Decision | None:
    """The graph's answer unless the evidence read is based on a strictly newer report.

    Extraction misses facts; when the newest passage about the entity is newer than every
    fact the graph decided on, it is the better witness of the state at that time.
    """
    if graph is None or read is None:
        return graph or read
    newer = (
        read.decided_at is not None
        and graph.decided_at is not None
        and read.decided_at > graph.decided_at
    )
    return read if newer else graph
