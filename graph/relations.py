"""The relation ontology of the temporal knowledge graph: names and which side is single-valued.

A relation is *functional* on a side when that side can hold only one value at a time, which
is what lets a new fact supersede an old one (close its validity) instead of standing beside
it. The side is named from the point of view of the fact ``(subject, relation, object)``:

- ``"subject"``: each subject has one object at a time (a player plays for one club; a
  company is headquartered in one place). A new object for the same subject closes the old.
- ``"object"``: each object has one subject at a time (a country has one head of state).
  A new subject for the same object closes the old.
- ``"both"``: both of the above (an organisation has one chief executive, and a chief
  executive runs one organisation).
- ``"none"``: many-to-many; nothing is ever superseded (membership of an association).

The ontology is deliberately small and general (news domain): extractors map many surface
forms onto these canonical, lower-case names, and unknown names are still accepted (as
``"none"``) so that a custom extractor never breaks the graph.

*Open relations* are the explicit form of that: a relation phrase an extractor found but the
ontology does not know ("founder of", "patron of") is kept under its own normalised name
rather than dropped or forced onto a wrong canonical relation. It is never functional, so it
never closes another fact; `is_open_relation` tells the two kinds apart.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Literal

__all__ = [
    "RELATIONS",
    "RELATION_ALIASES",
    "Functional",
    "RelationSpec",
    "canonical_relation",
    "get_relation",
    "is_open_relation",
]

Functional = Literal["subject", "object", "both", "none"]


@dataclass(frozen=True)
class RelationSpec:
    """One relation of the ontology.

    Attributes:
        name: Canonical, lower-case name ("chief executive of").
        functional: Which side holds a single value at a time (see the module docstring);
            this decides whether a newer fact supersedes an older one.
        description: What the relation means, and why its functional side was chosen.
    """

    name: str
    functional: Functional
    description: str


_SPECS = (
    RelationSpec(
        "chief executive of",
        "both",
        "Subject is the chief executive (CEO) of the organisation. An organisation has one "
        "chief executive at a time, and a chief executive runs one organisation.",
    ),
    RelationSpec(
        "chair of",
        "both",
        "Subject chairs the organisation's board or body. One chair at a time per body; "
        "treated as one chair role per person at a time.",
    ),
    RelationSpec(
        "president of",
        "both",
        "Subject is president of the organisation or country (object is the organisation or "
        "country, not the title). One president at a time on each side.",
    ),
    RelationSpec(
        "head of",
        "both",
        "Subject leads the organisation, party or body (leader, head). One leader at a time on "
        "each side.",
    ),
    RelationSpec(
        "holds position",
        "both",
        "Subject holds the office or title named by the object ('Prime Minister of the United "
        "Kingdom', 'Secretary of State for Education'). Functional on both sides as the common "
        "case for news (a new holder closes the old one's term; a reshuffle moves a person "
        "from one office to the next). Multi-seat offices ('Member of the State Senate') and "
        "people holding two offices at once are the known cost of this choice.",
    ),
    RelationSpec(
        "head of state of",
        "object",
        "Subject is head of state (monarch, president) of the country. A country has one head "
        "of state at a time, but one monarch can reign over several countries.",
    ),
    RelationSpec(
        "head of government of",
        "object",
        "Subject heads the government (prime minister, premier, first minister) of the "
        "country or region. One at a time per government.",
    ),
    RelationSpec(
        "member of sports team",
        "subject",
        "Subject plays for the team or club (including on loan). A player belongs to one club "
        "at a time; a club has many players.",
    ),
    RelationSpec(
        "coach of",
        "both",
        "Subject is head coach or manager of the team. One head coach per team, one team per "
        "coach at a time.",
    ),
    RelationSpec(
        "spouse of",
        "both",
        "Subject is married to the object. Monogamy is assumed: one spouse at a time.",
    ),
    RelationSpec(
        "partner of",
        "both",
        "Subject is in an unmarried relationship with the object (partner, girlfriend, "
        "boyfriend, fiance). One partner at a time.",
    ),
    RelationSpec(
        "headquartered in",
        "subject",
        "The organisation's headquarters are in the place. One headquarters at a time; a place "
        "hosts many.",
    ),
    RelationSpec(
        "employed by",
        "subject",
        "Subject works for the organisation. One (main) employer at a time.",
    ),
    RelationSpec(
        "owned by",
        "subject",
        "Subject (an organisation or asset) is owned by the object. One owner at a time; an "
        "owner owns many things.",
    ),
    RelationSpec(
        "member of",
        "none",
        "Subject is a member of the group, party or association. Many-to-many: joining one "
        "does not end another.",
    ),
    RelationSpec(
        "located in",
        "subject",
        "Subject (a place, site or organisation) is located in the place. One location at a time.",
    ),
)

RELATIONS: Mapping[str, RelationSpec] = MappingProxyType({spec.name: spec for spec in _SPECS})
"""Canonical relation name -> its spec. Read-only."""

RELATION_ALIASES: Mapping[str, str] = MappingProxyType(
    {
        "plays for": "member of sports team",
        "leader of": "head of",
        "manager of": "coach of",
        "works for": "employed by",
        "employer": "employed by",
        "ceo of": "chief executive of",
        "chief executive officer of": "chief executive of",
        "chairperson of": "chair of",
        "chairman of": "chair of",
        "position held": "holds position",
        "married to": "spouse of",
        "unmarried partner of": "partner of",
        "based in": "headquartered in",
        "headquarters location": "headquartered in",
    }
)
"""Alternative names accepted by `get_relation` and `canonical_relation` -> canonical name."""


def _normalise(name: str) -> str:
    return " ".join(name.casefold().replace("_", " ").split())


def canonical_relation(name: str) -> str:
    """The canonical name of a relation, resolving aliases ("plays for" -> its canonical).

    Unknown names come back normalised (lower-case, single spaces) rather than rejected, so a
    custom extractor's relations still get one stable spelling.
    """
    key = _normalise(name)
    return RELATION_ALIASES.get(key, key)


def get_relation(name: str) -> RelationSpec:
    """The spec of a relation by canonical name or alias.

    Unknown relations are not an error: they get ``functional="none"`` so that a fact about
    them never supersedes another (the safe default when nothing is known about it).

    Args:
        name: A relation name in any case, or one of `RELATION_ALIASES`.

    Returns:
        The registered spec, or ``RelationSpec(name, "none", "")`` with the normalised name.
    """
    key = canonical_relation(name)
    spec = RELATIONS.get(key)
    return spec if spec is not None else RelationSpec(key, "none", "")


def is_open_relation(name: str) -> bool:
    """Whether ``name`` is an open relation: one the ontology (and its aliases) does not know.

    Open relations are kept as stated ("founder of") and are never functional (see
    `get_relation`), so they add knowledge without superseding anything.
    """
    return canonical_relation(name) not in RELATIONS
