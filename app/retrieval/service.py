"""Answering a question: scope → retrieve → rank → answer."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any, Literal, Protocol, TypedDict, Unpack

from app.core.errors import InvalidInput
from app.core.timeutil import ensure_utc, utcnow
from app.embeddings.embedding import Embedder
from app.retrieval.answer import I_DONT_KNOW, Decision, Support, evidence_answer, graph_typed
from app.retrieval.graph_answer import GraphAnswerer
from app.retrieval.mentions import question_mentions
from app.retrieval.question import Question, read_question
from app.retrieval.scope import TimeScope, resolve_scope
from app.retrieval.search import ChunkRetriever, Evidence, without_names

EVIDENCE_DEPTH = 20


AnswerSource = Literal["graph", "passage", "llm", "none"]


@dataclass
class QueryResult:
    """What a query found and answered.

    ``answer`` is the span asked for ("Mara Quint", "June 2021"), "Yes: …"/"No: …", a sentence
    when no rule types the question, or "I don't know"; ``statement`` is the same answer with
    its date and citation, ``supporting`` the sentence it was read from, ``answer_source``
    which reading answered (`choose`), ``answer_type`` the answer's entity label and
    ``expected_types`` the labels the question asked for (`app.retrieval.question`).
    """

    answer: str
    scope: TimeScope
    evidence: list[Evidence]
    facts: list[dict[str, Any]] = field(default_factory=list)
    answer_type: str | None = None
    expected_types: tuple[str, ...] = ()
    answer_source: AnswerSource | None = None
    supporting: Support | None = None
    statement: str | None = None


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

    def compose_stream(
        self,
        question: str,
        scope: TimeScope,
        facts: Sequence[Mapping[str, Any]],
        evidence: Sequence[Evidence],
    ) -> Iterator[str]:
        """The same answer in pieces as the model writes them (joined: ``compose`` unstripped).

        Lazy: nothing is requested until the iterator is first advanced, so a caller can
        retrieve, decide, and only then wait on the model; errors surface from ``next``.
        """
        ...


class Asked(TypedDict, total=False):
    """How a question is asked, beside its text: the keyword arguments of `QueryService.query`
    (and of ``search``, ``query_stream``).

    ``as_of`` is known time (only what was published by then counts); ``start``/``end`` the
    valid-time window; ``top_k`` the evidence count (default ``default_top_k``); ``use_time``
    False ignores every time cue (the time-agnostic baseline). None means unset.
    """

    as_of: datetime | None
    start: datetime | None
    end: datetime | None
    top_k: int | None
    use_time: bool


@dataclass
class _Found:
    """What retrieval found for one question, before any answer is written."""

    question: str  # as asked, stripped
    text: str  # the question without its time cue: what is embedded and read
    mentions: list[str]
    scope: TimeScope
    evidence: list[Evidence]  # EVIDENCE_DEPTH deep, best first; callers get the first k
    k: int
    facts: list[dict[str, Any]]
    graph_decision: Decision | None

    def result(
        self,
        answer: str,
        decision: Decision | None = None,
        source: AnswerSource | None = None,
    ) -> QueryResult:
        asked = read_question(self.text, self.mentions)
        return QueryResult(
            answer=answer,
            scope=self.scope,
            evidence=self.evidence[: self.k],
            facts=self.facts,
            answer_type=decision.label if decision else None,
            expected_types=asked.labels,
            answer_source=source,
            supporting=decision.supporting if decision else None,
            statement=decision.statement if decision else None,
        )


@dataclass(frozen=True)
class QueryLimits:
    """The settings a query obeys, as values (the composition root reads them from settings)."""

    default_top_k: int
    max_top_k: int
    max_question_chars: int
    fiscal_year_start_month: int


class QueryService:
    def __init__(
        self,
        retriever: ChunkRetriever,
        embedder: Embedder,
        limits: QueryLimits,
        graph: GraphAnswerer | None = None,
        composer: AnswerComposer | None = None,
    ) -> None:
        """``graph`` None answers from passages only; ``composer`` None keeps extractive
        answers (the default), set, it writes them."""
        self._chunks = retriever
        self._embedder = embedder
        self._limits = limits
        self._graph = graph
        self._composer = composer

    def about_period(self, tenant: str, label: str) -> list[Evidence]:
        return self._chunks.about_period(tenant, label)

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
            fiscal_year_start_month=self._limits.fiscal_year_start_month,
        )

    def query(self, tenant: str, question: str, **asked: Unpack[Asked]) -> QueryResult:
        found = self._find(tenant, question, asked, graph=True)
        return self._answered(found)

    def search(self, tenant: str, question: str, **asked: Unpack[Asked]) -> QueryResult:
        """The evidence ``query`` would cite, without facts or an answer (``answer`` is "").

        Same scope, retrieval and ranking as ``query``; the graph and the answer step (a model
        call in ``llm`` mode) are skipped, which is what a caller that reads the passages itself
        (an agent's search tool) wants.
        """
        return self._find(tenant, question, asked, graph=False).result("")

    def query_stream(
        self, tenant: str, question: str, **asked: Unpack[Asked]
    ) -> tuple[QueryResult, Iterator[str] | None]:
        """``query`` with the model's answer left to stream.

        Returns:
            The result and, when a composer writes answers, the iterator of its pieces (lazy:
            the model is asked when it is first advanced; ``result.answer`` is then ""). Without
            a composer the iterator is None and ``result.answer`` is the finished extractive
            answer, exactly as ``query`` gives it.
        """
        found = self._find(tenant, question, asked, graph=True)
        if self._composer is None:
            return self._answered(found), None
        pieces = self._composer.compose_stream(
            found.question, found.scope, found.facts, found.evidence[: found.k]
        )
        return found.result("", source="llm"), pieces

    def _find(self, tenant: str, question: str, asked: Asked, *, graph: bool) -> _Found:
        settings = self._limits
        as_of, start, end = asked.get("as_of"), asked.get("start"), asked.get("end")
        question = question.strip()
        if not question:
            raise InvalidInput("question: must be a non-empty string")
        if len(question) > settings.max_question_chars:
            raise InvalidInput(f"question: longer than {settings.max_question_chars} characters")
        k = asked.get("top_k") or settings.default_top_k
        if not 1 <= k <= settings.max_top_k:
            raise InvalidInput(f"top_k: must be between 1 and {settings.max_top_k}")
        if asked.get("use_time", True):
            scope = self.scope(question, as_of=as_of, start=start, end=end)
        else:
            scope = TimeScope(None, None, None, "none", None, question)
        text = scope.question or question
        mentions = question_mentions(text)
        qvec = self._embedder.embed_query(text)
        # Several names: what is asked of each, searched inside its own documents.
        aspect = (
            self._embedder.embed_query(without_names(text, mentions)) if len(mentions) > 1 else None
        )
        found = self._chunks.retrieve(
            tenant,
            text,
            scope,
            max(k, EVIDENCE_DEPTH),
            query_vector=qvec,
            mentions=mentions,
            aspect_vector=aspect,
        )
        evidence = found.evidence
        if found.widened:
            scope = replace(scope, widened=True)
        facts: list[dict[str, Any]] = []
        graph_decision: Decision | None = None
        if graph and self._graph is not None:
            graph_decision, facts = self._graph.answer(tenant, text, scope, qvec, mentions)
        return _Found(question, text, mentions, scope, evidence, k, facts, graph_decision)

    def _answered(self, found: _Found) -> QueryResult:
        if self._composer is not None:  # the model writes the answer: no extractive one
            written = self._composer.compose(
                found.question, found.scope, found.facts, found.evidence[: found.k]
            )
            return found.result(written, source="llm")
        asked = read_question(found.text, found.mentions)
        decision, source = answer_extractively(found, asked)
        return found.result(decision.answer if decision else "", decision, source)


def answer_extractively(
    found: _Found, asked: Question
) -> tuple[Decision | None, AnswerSource | None]:
    """The graph's answer (checked against the type asked) or the evidence reading (`choose`)."""
    evidence = found.evidence[:EVIDENCE_DEPTH]
    window = (found.scope.start, found.scope.end) if found.scope.window else None
    read = evidence_answer(
        found.text,
        found.mentions,
        evidence,
        yes_no=asked.kind == "yes_no",
        asked=asked,
        window=window,
    )
    graph = graph_typed(found.graph_decision, asked, evidence)
    # A date asked is an event's ("when did X become ..."): a newer report is no better witness.
    decision = choose(graph, read, newer_wins=asked.labels[:1] != ("DATE",))
    if decision is None:
        return None, None
    if decision.answer == I_DONT_KNOW:
        return decision, "none"
    source: AnswerSource = "graph" if decision is graph else "passage"
    if asked.kind == "yes_no" and decision.label is None:
        decision = replace(decision, label="yes_no")
    return decision, source


def choose(
    graph: Decision | None, read: Decision | None, *, newer_wins: bool = True
) -> Decision | None:
    """The graph's answer unless the evidence read is based on a strictly newer report.

    Extraction misses facts; when the newest passage about the entity is newer than every
    fact the graph decided on, it is the better witness of the state at that time. That holds
    for states, not events: with ``newer_wins`` False (a question asking when something
    happened) the graph's answer stands whenever there is one.
    """
    if graph is None or read is None:
        return graph or read
    newer = (
        newer_wins
        and read.decided_at is not None
        and graph.decided_at is not None
        and read.decided_at > graph.decided_at
    )
    return read if newer else graph
