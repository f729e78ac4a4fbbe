"""Request and response bodies of the HTTP API."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Annotated, Any, Literal

from pydantic import (
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StrictInt,
    StrictStr,
)

from app.core.timeutil import plain_date_instant
from app.ingest.intake import DocumentInput

if TYPE_CHECKING:
    from app.retrieval.service import QueryResult


def _iso_text(value: Any, *, day_end: bool = False) -> Any:
    """Numbers are refused: ``1700000000`` could be seconds or milliseconds, and pydantic
    would silently guess. Example: ``"2024-05-01T09:00:00Z"`` is accepted, ``1714554000`` not.
    A plain date (``"2024-05-01"``) is that whole UTC day (see ``plain_date_instant``)."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        raise ValueError(
            "send an ISO-8601 date-time string such as '2024-05-01T09:00:00Z', not a number"
        )
    if isinstance(value, str):
        day = plain_date_instant(value, day_end=day_end)
        if day is not None:
            return day
        try:
            naive = datetime.fromisoformat(value.strip().replace("Z", "+00:00")).tzinfo is None
        except ValueError:
            naive = False
        if naive:
            raise ValueError(
                f"{value!r} has no timezone; add 'Z' or an offset such as '+00:00', "
                "or send a plain date (a whole UTC day)"
            )
    return value


def _iso_text_day_end(value: Any) -> Any:
    return _iso_text(value, day_end=True)


#: An instant in a request body: ISO-8601 text with a timezone, or a plain date (its start).
Instant = Annotated[AwareDatetime, BeforeValidator(_iso_text)]
#: An instant that closes a period (``as_of``, ``end``): a plain date means its last instant.
ClosingInstant = Annotated[AwareDatetime, BeforeValidator(_iso_text_day_end)]


class DocumentCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: StrictStr | None = Field(default=None, description="Your id; generated when omitted.")
    text: StrictStr
    title: StrictStr | None = None
    url: StrictStr | None = None
    source: StrictStr | None = None
    published_at: Instant | None = Field(
        default=None, description="ISO-8601 with a timezone; omitted means now."
    )
    metadata: dict[str, Any] | None = None
    version: StrictInt | None = Field(
        default=None, ge=1, description="Expected new version number; stale versions get 409."
    )

    def to_input(self) -> DocumentInput:
        """The intake service's view of the body (shared by uploads and webhooks)."""
        return DocumentInput(
            text=self.text,
            doc_id=self.id,
            title=self.title,
            url=self.url,
            source=self.source,
            published_at=self.published_at,
            metadata=self.metadata or {},
            version=self.version,
        )


class DocumentUpload(BaseModel):
    """A multipart upload: the file and, as form fields, what a JSON body would carry.

    Only its schema is used (the OpenAPI of the upload routes): the handler reads the form under
    the size limit, reduces the file to text and validates the fields as a `DocumentCreate`.
    """

    file: bytes = Field(description="text/plain, text/markdown or text/html (or by extension).")
    id: str | None = None
    title: str | None = Field(
        default=None, description="Else the page's <title>, else the file name."
    )
    url: str | None = None
    source: str | None = None
    published_at: str | None = Field(default=None, description="ISO-8601 with a timezone.")


class WebhookBatch(BaseModel):
    """A webhook body carrying several documents; a single document is sent bare instead."""

    model_config = ConfigDict(extra="forbid")

    documents: list[DocumentCreate] = Field(min_length=1)


class DocumentAccepted(BaseModel):
    id: str
    version: int
    status: str
    status_url: str


class DocumentPublic(BaseModel):
    id: str
    version: int
    status: Literal["pending", "indexed", "failed", "deleting", "deleted"]
    chunks: int
    facts: int
    published_at: datetime
    indexed_at: datetime | None
    error: str | None
    title: str | None = None
    url: str | None = None
    source: str | None = None


class DocumentList(BaseModel):
    documents: list[DocumentPublic]
    next_cursor: str | None = Field(
        description="Pass as ``cursor`` for the next page; null on the last page."
    )


class QueryRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    question: StrictStr = Field(min_length=1)
    as_of: ClosingInstant | None = Field(
        default=None, description="Known time: only what was published by then counts."
    )
    start: Instant | None = Field(default=None, description="Valid-time window start.")
    end: ClosingInstant | None = Field(default=None, description="Valid-time window end.")
    top_k: StrictInt | None = Field(default=None, ge=1, le=1000)
    use_time: bool = Field(
        default=True, description="False ignores every time cue (the time-agnostic baseline)."
    )


class TimeScopePublic(BaseModel):
    """Both clocks as understood: ``as_of`` is known time (publication cutoff); ``start``/``end``
    the valid-time window that chunks' content time must overlap."""

    as_of: datetime | None
    start: datetime | None
    end: datetime | None
    source: Literal["explicit", "question", "none"]
    expression: str | None
    periods: list[str] = []
    """Periods given their own evidence ("each quarter", "in 2019 and 2021")."""
    widened: bool = False
    """The window held too little evidence; later evidence items are from outside it."""

    @classmethod
    def of(cls, scope: Any) -> TimeScopePublic:
        return cls(
            as_of=scope.as_of,
            start=scope.start,
            end=scope.end,
            source=scope.source,
            expression=scope.expression,
            periods=scope.period_labels(),
            widened=scope.widened,
        )


class EvidencePublic(BaseModel):
    document_id: str
    version: int
    text: str
    published_at: datetime
    score: float
    title: str | None = None
    url: str | None = None
    about: list[str] = []
    """Content time: the periods the passage is about ("2024-Q2", "2003/2005")."""


class FactPublic(BaseModel):
    subject: str
    relation: str
    object: str
    valid_from: datetime | None
    valid_to: datetime | None
    known_from: datetime | None
    known_to: datetime | None
    sources: list[str]


class SupportingPublic(BaseModel):
    """The sentence the answer was read from, apart from the answer itself."""

    document_id: str | None
    sentence: str
    published_at: datetime | None


class QueryResponse(BaseModel):
    answer: str = Field(
        description="The span asked for (a name, a date, an amount), 'Yes: …'/'No: …', a "
        'sentence when the question asks for no type of span, or "I don\'t know".'
    )
    time_scope: TimeScopePublic
    evidence: list[EvidencePublic]
    facts: list[FactPublic] = []
    answer_type: str | None = Field(
        default=None,
        description="The answer span's entity label (PERSON, ORG, DATE, MONEY, …), 'yes_no' for "
        "a yes/no answer; null for a sentence answer.",
    )
    expected_types: list[str] = Field(
        default=[], description="The entity labels the question asks for, best first."
    )
    answer_source: Literal["graph", "passage", "llm", "none"] | None = Field(
        default=None,
        description="What answered: a graph fact, a passage, the chat model, or none "
        '("I don\'t know"); null when nothing was retrieved.',
    )
    supporting: SupportingPublic | None = None
    statement: str | None = Field(
        default=None, description="The answer with its date and citation, for a reader."
    )

    @classmethod
    def of(cls, result: QueryResult) -> QueryResponse:
        """The public form of a query result (``/v1/query`` and the MCP tools answer with it)."""
        return cls(
            answer=result.answer,
            time_scope=TimeScopePublic.of(result.scope),
            evidence=[EvidencePublic(**e.__dict__) for e in result.evidence],
            facts=[FactPublic(**f) for f in result.facts],
            answer_type=result.answer_type,
            expected_types=list(result.expected_types),
            answer_source=result.answer_source,
            supporting=SupportingPublic(**result.supporting.__dict__)
            if result.supporting
            else None,
            statement=result.statement,
        )


class Problem(BaseModel):
    type: str = "about:blank"
    title: str
    status: int
    detail: str
    errors: list[dict[str, Any]] | None = None
