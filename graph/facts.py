"""The bi-temporal fact: one timestamped edge of the knowledge graph, with its provenance.

A fact is identified by what it says and when it says it held (`fact_id`), never by the
document that said it: the same statement from two documents is one fact with two
sources, and the same statement about two different times is two facts. Provenance is kept
per source ("doc_id@version" -> published_at, plus the sentence and any end date that source
stated), so that deleting a document removes exactly its contribution and a fact no
document supports any more disappears.

Every function here returns a new `Fact` and leaves its arguments untouched.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any, get_args

from graph.timeparse import Granularity, TimeSpan

__all__ = [
    "Evidence",
    "Fact",
    "GRANULARITIES",
    "doc_id_of",
    "fact_id",
    "known_by",
    "merge_support",
    "remove_support",
    "source_id",
    "source_ids_for",
    "stated_end",
]

# Fixed namespace: ids must be identical in every process and every release.
_FACT_NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, "https://chronorag/graph/fact")
_SEPARATOR = "\x1f"

GRANULARITIES: frozenset[str] = frozenset(get_args(Granularity))
"""The granularities a stated time can have: "year", "quarter", "month", "day"."""


@dataclass(frozen=True)
class Evidence:
    """What one source said about a fact, beyond its publication time.

    Attributes:
        sentence: The sentence of that source that states the fact.
        valid_to: The end of validity that source stated, if any ("left in 2019").
    """

    sentence: str
    valid_to: datetime | None = None


def fact_id(
    tenant: str,
    subject_key: str,
    relation: str,
    object_key: str,
    valid_from_label: str | None,
    *,
    negated: bool = False,
) -> str:
    """Deterministic id of a fact: a uuid5 of what it says and when it started.

    The publication time and the source are not part of the id, so re-ingesting a document
    (or ingesting a second document saying the same thing) lands on the same id, while the
    same relation at two different times gives two ids. A negated statement ("X is no longer
    CEO of Y") gets its own id so that it never merges into the positive fact it retracts.

    Args:
        tenant: The tenant the fact belongs to.
        subject_key: The subject's entity key.
        relation: The relation name.
        object_key: The object's entity key.
        valid_from_label: The stated start as a period label ("2021-03"), or None if the
            source gave no time.
        negated: Whether the statement is a negation.

    Returns:
        The id as a canonical uuid string.
    """
    parts = [tenant, subject_key, relation, object_key, valid_from_label or ""]
    if negated:
        parts.append("not")
    return str(uuid.uuid5(_FACT_NAMESPACE, _SEPARATOR.join(parts)))


def source_id(doc_id: str, version: int | str) -> str:
    """The source id of one version of a document: "doc_id@version"."""
    return f"{doc_id}@{version}"


def doc_id_of(source: str) -> str:
    """The document id of a source id (everything before the last "@")."""
    doc_id, sep, _ = source.rpartition("@")
    return doc_id if sep else source


def source_ids_for(doc_id: str) -> Callable[[str], bool]:
    """A predicate matching every version of one document ("doc_id@*").

    Pass it to `remove_support` to drop a deleted document's support from a fact, whatever
    versions of it the fact had gathered.
    """
    return lambda source: doc_id_of(source) == doc_id


def _utc(moment: datetime, name: str) -> datetime:
    if moment.tzinfo is None:
        raise ValueError(f"{name}: naive date-time {moment.isoformat()}; give it a timezone (UTC)")
    return moment.astimezone(UTC)


def _utc_or_none(moment: datetime | None, name: str) -> datetime | None:
    return None if moment is None else _utc(moment, name)


@dataclass
class Fact:
    """One timestamped relation between two entities, with the sources that support it.

    Invariants (checked on construction): `sources` is not empty, `known_from` is the
    earliest `published_at` in `sources`, every datetime is timezone-aware (converted to
    UTC), and `evidence` has exactly one entry per source (missing entries are filled from
    `sentence` and `valid_to`).

    Attributes:
        id: `fact_id` of the fact.
        tenant: The tenant it belongs to.
        subject: Display name of the subject.
        subject_key: Entity key of the subject.
        relation: Relation name.
        object: Display name of the object.
        object_key: Entity key of the object.
        valid_from: Stated start of validity (start of the stated period), or None.
        valid_to: Stated end of validity (exclusive), or None.
        granularity: Granularity of `valid_from` ("year", "quarter", "month", "day"), or
            of `valid_to` when only that was stated; None when no time was stated.
        known_from: When the service could first know it: the earliest source publication.
        sources: Source id ("doc_id@version") -> that source's published_at.
        sentence: The best supporting sentence (from the earliest source).
        negated: Whether the fact states that the relation does not (any more) hold.
        evidence: Source id -> what that source said (sentence, stated end).
    """

    id: str
    tenant: str
    subject: str
    subject_key: str
    relation: str
    object: str
    object_key: str
    valid_from: datetime | None
    valid_to: datetime | None
    granularity: str | None
    known_from: datetime
    sources: dict[str, datetime]
    sentence: str
    negated: bool = False
    evidence: dict[str, Evidence] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not self.sources:
            raise ValueError(f"fact {self.id}: a fact needs at least one source")
        self.sources = {key: _utc(value, f"sources[{key}]") for key, value in self.sources.items()}
        self.valid_from = _utc_or_none(self.valid_from, "valid_from")
        self.valid_to = _utc_or_none(self.valid_to, "valid_to")
        self.known_from = _utc(self.known_from, "known_from")
        if self.granularity is not None and self.granularity not in GRANULARITIES:
            raise ValueError(
                f"fact {self.id}: granularity {self.granularity!r} is not one of "
                f"{sorted(GRANULARITIES)}"
            )
        earliest = min(self.sources.values())
        if self.known_from != earliest:
            raise ValueError(
                f"fact {self.id}: known_from {self.known_from.isoformat()} must be the earliest "
                f"source publication {earliest.isoformat()}; derive it from sources"
            )
        self.evidence = {
            key: _normalised_evidence(self.evidence.get(key), self.sentence, self.valid_to)
            for key in self.sources
        }

    @classmethod
    def from_source(
        cls,
        *,
        tenant: str,
        subject: str,
        subject_key: str,
        relation: str,
        object: str,
        object_key: str,
        valid_from: TimeSpan | None,
        valid_to: TimeSpan | None,
        source: str,
        published_at: datetime,
        sentence: str,
        negated: bool = False,
    ) -> Fact:
        """Build the fact one source states, with its id computed.

        A stated start becomes the start of its period; a stated end ("left in 2019") becomes
        the end of its period, so the fact still counts as valid during the period in which
        it ended.

        Args:
            tenant: The tenant.
            subject: Subject display name.
            subject_key: Subject entity key (from `EntityResolver.resolve`).
            relation: Relation name.
            object: Object display name.
            object_key: Object entity key.
            valid_from: Stated start period, or None.
            valid_to: Stated end period, or None.
            source: Source id, see `source_id`.
            published_at: The source's publication time.
            sentence: The supporting sentence.
            negated: Whether the statement is a negation.

        Returns:
            A fact with one source.
        """
        span = valid_from or valid_to
        return cls(
            id=fact_id(
                tenant,
                subject_key,
                relation,
                object_key,
                valid_from.label if valid_from else None,
                negated=negated,
            ),
            tenant=tenant,
            subject=subject,
            subject_key=subject_key,
            relation=relation,
            object=object,
            object_key=object_key,
            valid_from=valid_from.start if valid_from else None,
            valid_to=valid_to.end if valid_to else None,
            granularity=span.granularity if span else None,
            known_from=published_at,
            sources={source: published_at},
            sentence=sentence,
            negated=negated,
        )

    @property
    def doc_ids(self) -> list[str]:
        """Ids of the documents supporting the fact, sorted."""
        return sorted({doc_id_of(source) for source in self.sources})

    def to_payload(self) -> dict[str, Any]:
        """A JSON-safe dict for a store.

        Datetimes appear twice: as ISO-8601 strings (readable, exact) and as epoch-second
        floats under `*_ts` keys (for payload range filters). `doc_ids` lets a store find
        every fact a deleted document supports with one keyword filter.
        """
        sources = sorted(self.sources.items(), key=lambda item: (item[1], item[0]))
        return {
            "id": self.id,
            "tenant": self.tenant,
            "subject": self.subject,
            "subject_key": self.subject_key,
            "relation": self.relation,
            "object": self.object,
            "object_key": self.object_key,
            "valid_from": _iso(self.valid_from),
            "valid_from_ts": _ts(self.valid_from),
            "valid_to": _iso(self.valid_to),
            "valid_to_ts": _ts(self.valid_to),
            "granularity": self.granularity,
            "known_from": self.known_from.isoformat(),
            "known_from_ts": self.known_from.timestamp(),
            "sources": [
                {
                    "source": source,
                    "published_at": published_at.isoformat(),
                    "published_at_ts": published_at.timestamp(),
                    "sentence": self.evidence[source].sentence,
                    "valid_to": _iso(self.evidence[source].valid_to),
                }
                for source, published_at in sources
            ],
            "doc_ids": self.doc_ids,
            "sentence": self.sentence,
            "negated": self.negated,
        }

    @classmethod
    def from_payload(cls, payload: Mapping[str, Any]) -> Fact:
        """Rebuild a fact from `to_payload` output; unknown keys are ignored.

        Raises:
            KeyError: If a required key is missing.
            ValueError: If a date-time is malformed or naive.
        """
        sources: dict[str, datetime] = {}
        evidence: dict[str, Evidence] = {}
        for item in payload["sources"]:
            published_at = datetime.fromisoformat(item["published_at"])
            sources[item["source"]] = published_at
            evidence[item["source"]] = Evidence(
                sentence=item.get("sentence", payload.get("sentence", "")),
                valid_to=_parse(item.get("valid_to")),
            )
        return cls(
            id=payload["id"],
            tenant=payload["tenant"],
            subject=payload["subject"],
            subject_key=payload["subject_key"],
            relation=payload["relation"],
            object=payload["object"],
            object_key=payload["object_key"],
            valid_from=_parse(payload.get("valid_from")),
            valid_to=_parse(payload.get("valid_to")),
            granularity=payload.get("granularity"),
            known_from=datetime.fromisoformat(payload["known_from"]),
            sources=sources,
            sentence=payload.get("sentence", ""),
            negated=bool(payload.get("negated", False)),
            evidence=evidence,
        )


def _normalised_evidence(
    given: Evidence | None, sentence: str, valid_to: datetime | None
) -> Evidence:
    if given is None:
        return Evidence(sentence=sentence, valid_to=valid_to)
    return Evidence(
        sentence=given.sentence, valid_to=_utc_or_none(given.valid_to, "evidence.valid_to")
    )


def _iso(moment: datetime | None) -> str | None:
    return None if moment is None else moment.isoformat()


def _ts(moment: datetime | None) -> float | None:
    return None if moment is None else moment.timestamp()


def _parse(text: str | None) -> datetime | None:
    return None if text is None else datetime.fromisoformat(text)


def stated_end(fact: Fact) -> tuple[datetime, datetime] | None:
    """The end of validity the fact's sources state, and when it was first known.

    Sources may disagree ("left in 2019" in one report, "left in 2020" in a later one). The
    most recently published statement wins, because this service exists to follow updates;
    among statements published at the same time the earliest end wins.

    Returns:
        (valid_to, known_at) where known_at is the publication time of the earliest source
        stating that end; None when no source states an end.
    """
    stated = [
        (fact.sources[source], ev.valid_to) for source, ev in fact.evidence.items() if ev.valid_to
    ]
    if not stated:
        return None
    latest = max(published_at for published_at, _ in stated)
    valid_to = min(end for published_at, end in stated if published_at == latest)
    known_at = min(published_at for published_at, end in stated if end == valid_to)
    return valid_to, known_at


def _best_sentence(sources: Mapping[str, datetime], evidence: Mapping[str, Evidence]) -> str:
    """The sentence of the earliest source that has one (ties broken by source id)."""
    ordered = sorted(sources.items(), key=lambda item: (item[1], item[0]))
    for source, _ in ordered:
        if evidence[source].sentence:
            return evidence[source].sentence
    return ""


def _with_support(fact: Fact, sources: dict[str, datetime], evidence: dict[str, Evidence]) -> Fact:
    """`fact` carrying exactly `sources`, with every derived field recomputed."""
    draft = replace(
        fact,
        sources=dict(sources),
        evidence=dict(evidence),
        known_from=min(sources.values()),
        sentence=_best_sentence(sources, evidence),
        valid_to=None,
    )
    end = stated_end(draft)
    draft.valid_to = end[0] if end else None
    return draft


def merge_support(existing: Fact | None, new: Fact) -> Fact:
    """Fold a newly extracted fact into the stored one with the same id.

    Idempotent: merging the same source twice changes nothing, so a redelivered ingest task
    is harmless. Display names are kept from the existing fact.

    Args:
        existing: The stored fact, or None if the id is new.
        new: The fact as one (or more) new sources state it.

    Returns:
        The merged fact: sources united, known_from the earliest publication, the earliest
        stated valid_from, and the stated valid_to of the latest source that states one.

    Raises:
        ValueError: If the two facts have different ids.
    """
    if existing is None:
        return _with_support(new, new.sources, new.evidence)
    if existing.id != new.id:
        raise ValueError(f"cannot merge fact {new.id} into a different fact {existing.id}")
    starts = [
        (moment, granularity)
        for moment, granularity in (
            (existing.valid_from, existing.granularity),
            (new.valid_from, new.granularity),
        )
        if moment is not None
    ]
    valid_from, granularity = (
        min(starts, key=lambda start: start[0]) if starts else (None, existing.granularity)
    )
    merged = replace(existing, valid_from=valid_from, granularity=granularity)
    return _with_support(
        merged, {**existing.sources, **new.sources}, {**existing.evidence, **new.evidence}
    )


def remove_support(fact: Fact, source_ids: Collection[str] | Callable[[str], bool]) -> Fact | None:
    """Drop sources from a fact, e.g. every version of a deleted document.

    Args:
        fact: The fact.
        source_ids: Source ids to drop, or a predicate over source ids (see
            `source_ids_for`).

    Returns:
        The fact with the remaining sources and its derived fields (known_from, valid_to,
        sentence) recomputed from them; None when no source is left, meaning the fact must
        disappear from the graph.
    """
    drop = source_ids if callable(source_ids) else set(source_ids).__contains__
    kept = {source: at for source, at in fact.sources.items() if not drop(source)}
    if not kept:
        return None
    if len(kept) == len(fact.sources):
        return _with_support(fact, fact.sources, fact.evidence)
    return _with_support(fact, kept, {source: fact.evidence[source] for source in kept})


def known_by(fact: Fact, as_of: datetime) -> Fact | None:
    """The fact as the service knew it at `as_of`: only sources published by then count.

    Returns:
        The fact restricted to those sources, or None if none was published by `as_of`.
    """
    moment = _utc(as_of, "as_of")
    return remove_support(fact, lambda source: fact.sources[source] > moment)
