"""Supersede and re-open: the effective validity of facts, computed and never stored.

Stored facts only ever carry what their sources said. When a fact stopped being valid
because a later fact replaced it ("Jane Doe became CEO of Acme in 2021" ends John Roe's
tenure) is derived here, every time, from the facts currently supported. So nothing is
destroyed: deleting the document that said Jane Doe took over and resolving again re-opens
John Roe's fact, and resolving "as of" an earlier date sees only what was known then.

A relation's functionality says which side determines a single value at a time:

- "subject": a subject has one object at a time (X plays for one team);
- "object": an object has one subject at a time (Y has one chief executive);
- "both": both hold (one spouse each);
- "none": any number at once; such facts end only when a source says so.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import cast

from graph.facts import GRANULARITIES, Fact, known_by, merge_support, stated_end
from graph.timeparse import Granularity, TimeSpan

__all__ = [
    "FunctionalOf",
    "ResolvedFact",
    "effective_start",
    "period_end",
    "resolve_timeline",
    "valid_at",
    "valid_in",
]

FunctionalOf = Callable[[str], str]
"""Maps a relation name to its functionality: "subject", "object", "both" or "none"."""


@dataclass(frozen=True)
class ResolvedFact:
    """A fact with its effective validity on both clocks.

    Attributes:
        fact: The stored fact (restricted to the sources known at the `as_of` used).
        valid_from: Effective start: the stated start, or when no time was stated, the
            fact's earliest publication (an undated statement holds from when it was made).
        valid_to: Effective end (exclusive): the stated end or the start of the fact that
            replaced it, whichever is earlier; None while it holds.
        closed_by: Id of the fact (a replacing value or a negation) that closed it; None if
            it is open or ended by its own stated end.
        known_to: When the service learned it had ended: the closing fact's known_from, or
            the publication of the source stating the end; None while it holds.
    """

    fact: Fact
    valid_from: datetime
    valid_to: datetime | None
    closed_by: str | None
    known_to: datetime | None

    @property
    def id(self) -> str:
        """The fact's id."""
        return self.fact.id

    @property
    def known_from(self) -> datetime:
        """When the service first knew the fact."""
        return self.fact.known_from


def _registry_functional(relation: str) -> str:
    from graph.relations import get_relation  # lazy: keeps the rules testable on their own

    return get_relation(relation).functional


def _aware(moment: datetime, name: str) -> datetime:
    if moment.tzinfo is None:
        raise ValueError(f"{name}: naive date-time {moment.isoformat()}; give it a timezone (UTC)")
    return moment.astimezone(UTC)


def period_end(start: datetime, granularity: str | None) -> datetime:
    """The exclusive end of the calendar period of `granularity` containing `start`.

    Args:
        start: Usually the start of a period, as stored in `Fact.valid_from`.
        granularity: "year", "quarter", "month" or "day"; None (or anything else) means an
            instant and returns `start` itself.
    """
    if granularity in GRANULARITIES:
        return TimeSpan.of(start, cast(Granularity, granularity)).end
    return start


def effective_start(fact: Fact) -> datetime:
    """Where a fact sits on the valid-time line: its stated start, else its first report."""
    return fact.valid_from if fact.valid_from is not None else fact.known_from


def _negation_time(negation: Fact) -> datetime:
    """When a negation takes effect.

    "X left Y in 2019" ends X's fact at the end of 2019 (the fact still overlaps 2019); an
    undated "X is no longer CEO" ends it when it was published.
    """
    if negation.valid_from is not None:
        return period_end(negation.valid_from, negation.granularity)
    if negation.valid_to is not None:
        return negation.valid_to
    return negation.known_from


class _Closures:
    """The earliest proposed end per fact id, with who proposed it and when it was known."""

    def __init__(self) -> None:
        self.ends: dict[str, tuple[datetime, str | None, datetime]] = {}

    def propose(self, fact_id: str, end: datetime, by: str | None, known: datetime) -> None:
        held = self.ends.get(fact_id)
        if held is None or (end, known) < (held[0], held[2]):
            self.ends[fact_id] = (end, by, known)


def _deduplicated(facts: Iterable[Fact]) -> list[Fact]:
    """One fact per id: copies of one fact (e.g. from two store pages) are merged."""
    by_id: dict[str, Fact] = {}
    for fact in facts:
        by_id[fact.id] = merge_support(by_id.get(fact.id), fact)
    return list(by_id.values())


def _groups(facts: Sequence[Fact], functional_of: FunctionalOf) -> list[list[tuple[Fact, str]]]:
    """Single-valued timelines: (fact, value) lists that must hold one value at a time."""
    groups: dict[tuple[str, str, str], list[tuple[Fact, str]]] = defaultdict(list)
    for fact in facts:
        mode = functional_of(fact.relation)
        if mode in ("subject", "both"):
            groups[("subject", fact.relation, fact.subject_key)].append((fact, fact.object_key))
        if mode in ("object", "both"):
            groups[("object", fact.relation, fact.object_key)].append((fact, fact.subject_key))
    return [groups[key] for key in sorted(groups)]


def _supersede(group: list[tuple[Fact, str]], closures: _Closures) -> None:
    """Close each fact at the next later fact of the group that holds a different value.

    "Later" means a later effective start; between facts starting in the same period, the
    one published later is the update and ends the other at the end of that period (both
    overlap it). Facts with the same start and publication cannot be ordered and leave each
    other open. Repeats of the same value never close each other.
    """
    ordered = sorted(
        group, key=lambda item: (effective_start(item[0]), item[0].known_from, item[0].id)
    )
    for index, (fact, value) in enumerate(ordered):
        start = effective_start(fact)
        for later, later_value in ordered[index + 1 :]:
            later_start = effective_start(later)
            if later_value == value:
                continue
            if later_start > start:
                # The first strictly later value ends it; anything after starts later still.
                closures.propose(fact.id, later_start, later.id, later.known_from)
                break
            if later.known_from > fact.known_from:
                end = (
                    period_end(later_start, later.granularity)
                    if later.valid_from is not None
                    else later_start
                )
                closures.propose(fact.id, end, later.id, later.known_from)


def _retract(positives: Sequence[Fact], negations: Sequence[Fact], closures: _Closures) -> None:
    """Close facts that a negation of the same (subject, relation, object) ends."""
    by_triple: dict[tuple[str, str, str], list[Fact]] = defaultdict(list)
    for fact in positives:
        by_triple[(fact.subject_key, fact.relation, fact.object_key)].append(fact)
    for negation in negations:
        at = _negation_time(negation)
        for fact in by_triple.get(
            (negation.subject_key, negation.relation, negation.object_key), []
        ):
            if effective_start(fact) < at:
                closures.propose(fact.id, at, negation.id, negation.known_from)


def resolve_timeline(
    facts: Sequence[Fact],
    *,
    as_of: datetime | None = None,
    functional_of: FunctionalOf | None = None,
) -> list[ResolvedFact]:
    """Compute the effective validity of facts, as known at `as_of`.

    Steps:

    1. Bi-temporal cut: when `as_of` is given, each fact keeps only the sources published
       by then (known_from and the stated end are recomputed from them); facts with none
       are dropped. So neither a fact nor a closure the service learned later is seen.
    2. Stated ends close facts, known when the stating source was published.
    3. For functional relations, facts are grouped by (relation, subject) for "subject",
       by (relation, object) for "object", and both ways for "both"; within a group each
       fact is closed by the next later fact holding a different value.
    4. Negated facts close the matching facts of the same (subject, relation, object) that
       started before the negation took effect; negations are not returned.

    The effective end is the earliest of all these. The result depends only on the set of
    facts given, never on their order.

    Args:
        facts: The candidate facts, typically every fact of the entities in question.
            Facts that could close a returned fact must be included, or it stays open.
        as_of: Known-time cut-off; None for everything known now.
        functional_of: Relation name -> functionality. Defaults to
            `graph.relations.get_relation(name).functional`.

    Returns:
        The positive facts with effective validity, sorted by effective start, then id.
    """
    functional = functional_of or _registry_functional
    current = _deduplicated(facts)
    if as_of is not None:
        cut = _aware(as_of, "as_of")
        current = [fact for fact in (known_by(f, cut) for f in current) if fact is not None]
    positives = [fact for fact in current if not fact.negated]
    negations = [fact for fact in current if fact.negated]

    closures = _Closures()
    for fact in positives:
        end = stated_end(fact)
        if end is not None:
            closures.propose(fact.id, end[0], None, end[1])
    for group in _groups(positives, functional):
        _supersede(group, closures)
    _retract(positives, negations, closures)

    resolved = []
    for fact in positives:
        held = closures.ends.get(fact.id)
        resolved.append(
            ResolvedFact(
                fact=fact,
                valid_from=effective_start(fact),
                valid_to=held[0] if held else None,
                closed_by=held[1] if held else None,
                known_to=held[2] if held else None,
            )
        )
    return sorted(resolved, key=lambda item: (item.valid_from, item.id))


def valid_in(resolved: ResolvedFact, start: datetime | None, end: datetime | None) -> bool:
    """Whether the fact's effective validity overlaps the window [start, end).

    Args:
        resolved: A resolved fact.
        start: Window start (inclusive); None for unbounded.
        end: Window end (exclusive); None for unbounded.
    """
    if end is not None and resolved.valid_from >= _aware(end, "end"):
        return False
    return not (
        start is not None
        and resolved.valid_to is not None
        and resolved.valid_to <= _aware(start, "start")
    )


def valid_at(resolved: ResolvedFact, moment: datetime) -> bool:
    """Whether the fact held at one instant: valid_from <= moment < valid_to."""
    at = _aware(moment, "moment")
    return resolved.valid_from <= at and (resolved.valid_to is None or at < resolved.valid_to)
