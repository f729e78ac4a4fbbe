"""Answering a question: scope → retrieve → rank → answer."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from app.core.errors import InvalidInput
from app.core.services import Services
from app.core.timeutil import ensure_utc, utcnow
from app.retrieval.answer import best_sentence
from app.retrieval.scope import TimeScope, resolve_scope
from app.retrieval.search import ChunkRetriever, Evidence


@dataclass
class QueryResult:
    answer: str
    scope: TimeScope
    evidence: list[Evidence]
    facts: list[dict[str, Any]] = field(default_factory=list)


class GraphAnswerer(Protocol):
    """Answers from the temporal graph when it can; None lets the extractive answer stand."""

    def answer(
        self, tenant: str, question: str, scope: TimeScope, evidence: list[Evidence]
    ) -> tuple[str | None, list[dict[str, Any]]]: ...


class QueryService:
    def __init__(self, services: Services, graph: GraphAnswerer | None = None) -> None:
        self._s = services
        self._chunks = ChunkRetriever(services)
        self._graph = graph

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
        evidence = self._chunks.retrieve(tenant, scope.question or question, scope, k)
        answer: str | None = None
        facts: list[dict[str, Any]] = []
        if self._graph is not None:
            answer, facts = self._graph.answer(tenant, question, scope, evidence)
        if answer is None:
            answer = best_sentence(scope.question or question, [e.text for e in evidence]) or ""
        return QueryResult(answer=answer, scope=scope, evidence=evidence, facts=facts)
