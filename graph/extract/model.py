"""What extraction produces (`ExtractedFact`), the `FactExtractor` protocol, and the drafts
the steps pass between them.

Relation names used by the rules are checked against `graph.relations` at import, so a rename
in the ontology cannot drift silently from the extractor.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from graph.relations import RELATIONS
from graph.timeparse import TimeSpan

__all__ = ["Draft", "DocState", "ExtractedFact", "FactExtractor", "unique_facts"]


@dataclass(frozen=True)
class ExtractedFact:
    """One relation stated (or retracted) by one sentence.

    Attributes:
        subject: Surface name of the subject as written ("Jane Doe"), honorifics dropped.
        relation: Canonical relation name from `graph.relations`, or an open relation (a
            phrase the ontology does not know, such as "founder of"; see
            `graph.relations.is_open_relation`).
        object: Surface name of the object ("Acme Corp"), or an office for
            "holds position" ("Prime Minister of Valdora").
        valid_from: When it started being true, if the sentence says or implies it; None
            means "not stated" (the caller uses the document's published_at).
        valid_to: When it stopped being true, if the sentence says so.
        sentence: The source sentence, whitespace-normalised.
        negated: True when the sentence says the relation ended or no longer holds
            ("X left Y", "X is no longer Y", "former chief executive X").
    """

    subject: str
    relation: str
    object: str
    valid_from: TimeSpan | None
    valid_to: TimeSpan | None
    sentence: str
    negated: bool = False


def unique_facts(facts: Iterable[ExtractedFact]) -> list[ExtractedFact]:
    """First occurrence of each fact, in order: the same statement (relation, ends and times)
    repeated in a document, or across an extractor's windows, counts once whatever sentence
    it came from."""
    out: list[ExtractedFact] = []
    seen: set[tuple[object, ...]] = set()
    for fact in facts:
        key = (
            fact.subject, fact.relation, fact.object, fact.negated,
            fact.valid_from.label if fact.valid_from else None,
            fact.valid_to.label if fact.valid_to else None,
        )  # fmt: skip
        if key not in seen:
            seen.add(key)
            out.append(fact)
    return out


class FactExtractor(Protocol):
    """Anything that turns a document's text into facts.

    Implementations must be deterministic for a given (text, reference_time) and must resolve
    relative times ("last year") against ``reference_time``, never against the wall clock,
    so that re-ingesting a document yields the same facts.
    """

    def extract(self, text: str, reference_time: datetime) -> list[ExtractedFact]:
        """Extract the facts stated in ``text``, resolving times against ``reference_time``."""
        ...


# Relation names the rules yield.
CEO = "chief executive of"
CHAIR = "chair of"
PRESIDENT = "president of"
HEAD = "head of"
POSITION = "holds position"
HEAD_STATE = "head of state of"
HEAD_GOV = "head of government of"
TEAM = "member of sports team"
COACH = "coach of"
SPOUSE = "spouse of"
PARTNER = "partner of"
HQ = "headquartered in"
EMPLOYER = "employed by"
OWNER = "owned by"
MEMBER = "member of"
LOCATED = "located in"
#: Stands for "any open relation" in the rule table (the phrase itself is the relation).
OPEN = "<open>"

for _name in (CEO, CHAIR, PRESIDENT, HEAD, POSITION, HEAD_STATE, HEAD_GOV, TEAM, COACH, SPOUSE,
              PARTNER, HQ, EMPLOYER, OWNER, MEMBER, LOCATED):  # fmt: skip
    if _name not in RELATIONS:  # pragma: no cover - a programming error, caught by any test
        raise RuntimeError(f"relation {_name!r} is missing from graph.relations.RELATIONS")

#: Relations whose subject is a person: used for pronoun resolution ("He" -> last subject).
PERSON_RELATIONS = frozenset(
    {CEO, CHAIR, PRESIDENT, HEAD, POSITION, HEAD_STATE, HEAD_GOV, TEAM, COACH, SPOUSE, PARTNER,
     EMPLOYER}
)  # fmt: skip
#: Relations naming a role someone can succeed another in ("X succeeded Z as ...").
ROLE_RELATIONS = frozenset(
    {CEO, CHAIR, PRESIDENT, HEAD, POSITION, HEAD_STATE, HEAD_GOV, COACH, TEAM, EMPLOYER}
)


@dataclass
class Draft:
    """A fact before time attachment and validation.

    ``mode`` says how a time in its clause attaches: "event" (it starts or ends there),
    "state" (only a time marked since/until counts) or "past" (a state that has ended).
    ``future`` marks a scheduled or announced change ("will step down in March"), whose
    relative times resolve forward from the reference, not back. ``rule`` names the rule
    that made it (`graph.extract.rules.RULES`), for tracing a fact to its rule.
    """

    subject: str
    relation: str
    object: str
    negated: bool
    mode: str
    anchor: int  # position of the trigger in the reduced string
    left: int
    right: int
    shares_time_with: Draft | None = None
    valid_from: TimeSpan | None = None
    valid_to: TimeSpan | None = None
    future: bool = False
    rule: str = ""


@dataclass
class DocState:
    """What one sentence leaves for the next within a document."""

    sports: bool
    last_person: str | None = None
