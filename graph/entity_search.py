"""Finding entities by a name a person types: exact, another spelling, a prefix, or a typo.

The graph joins facts on normalised keys (`graph.entities.entity_key`), so a timeline needs the
exact key ("veltra systems"); people type "Veltra", "veltra sys" or "Veltar". `search_entities`
ranks the keys a tenant's facts mention against such a query. Rules, best first:

1. ``exact``: the query's key is the entity's key.
2. ``alias``: the query's key is the key of another spelling recorded for the entity (an
   acronym resolved to its full name, "BBC" under "british broadcasting corporation").
3. ``prefix``: the entity's key, one of its words, or one of its spellings starts with the
   query's key ("veltra" → "veltra systems", "sys" → "veltra systems").
4. ``fuzzy``: the query's key is close to the key or to one of its words (`FUZZY_MIN_RATIO`,
   difflib's ratio), for typos ("veltar" → "veltra systems").

Pure: the caller passes the spellings it read from the store.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from difflib import SequenceMatcher
from typing import Literal

from graph.entities import entity_key

__all__ = ["FUZZY_MIN_RATIO", "EntityMatch", "search_entities"]

MatchKind = Literal["exact", "alias", "prefix", "fuzzy"]
#: Lowest difflib ratio that counts as a typo of a key or of one of its words. At 0.75 a
#: six-letter word survives one transposition or substitution; two letters of five do not.
FUZZY_MIN_RATIO = 0.75
#: Longest query key compared fuzzily; a longer one matches exactly, by alias or by prefix
#: only (a typo search over a paragraph would cost quadratic time per entity).
MAX_FUZZY_CHARS = 80
_RANK: dict[MatchKind, float] = {"exact": 4.0, "alias": 3.0, "prefix": 2.0, "fuzzy": 1.0}


@dataclass(frozen=True)
class EntityMatch:
    """One entity found: its key, its most used spelling, the others, and how it matched."""

    key: str
    name: str
    aliases: tuple[str, ...]
    facts: int
    match: MatchKind
    score: float


def search_entities(
    query: str,
    spellings: Mapping[str, Mapping[str, int]],
    facts: Mapping[str, int],
    limit: int = 10,
) -> list[EntityMatch]:
    """Rank entity keys against a typed name.

    Args:
        query: What the person typed; normalised with `entity_key`.
        spellings: Entity key -> surface spelling -> how often facts use it.
        facts: Entity key -> number of facts that mention it.
        limit: Most matches returned.

    Returns:
        Matches, best first: by rule (exact, alias, prefix, fuzzy), then closeness within the
        rule, then the number of facts, then the key (so equal inputs give equal orders). An
        empty list when the query has no letters or digits or nothing matches.
    """
    qk = entity_key(query)
    if not qk:
        return []
    found: list[EntityMatch] = []
    for key, names in spellings.items():
        hit = _match(qk, key, names)
        if hit is None:
            continue
        kind, closeness = hit
        ordered = sorted(names, key=lambda n: (-names[n], n))
        name = ordered[0] if ordered else key
        found.append(
            EntityMatch(
                key=key,
                name=name,
                aliases=tuple(n for n in ordered[1:] if n != name),
                facts=facts.get(key, 0),
                match=kind,
                score=round(_RANK[kind] + closeness, 4),
            )
        )
    found.sort(key=lambda m: (-m.score, -m.facts, m.key))
    return found[:limit]


def _match(qk: str, key: str, names: Mapping[str, int]) -> tuple[MatchKind, float] | None:
    """The best rule ``key`` satisfies for the query key ``qk``, with a closeness in [0, 1)."""
    if qk == key:
        return "exact", 0.0
    spelled = {entity_key(n) for n in names} - {key}
    if qk in spelled:
        return "alias", 0.0
    coverage = len(qk) / max(len(key), 1)
    if key.startswith(qk) or any(s.startswith(qk) for s in spelled):
        return "prefix", min(coverage, 0.99) * 0.5 + 0.49
    if any(word.startswith(qk) for word in key.split()):
        return "prefix", min(coverage, 0.99) * 0.5
    if len(qk) > MAX_FUZZY_CHARS:
        return None
    ratio = max(_ratio(qk, candidate) for candidate in (key, *key.split(), *spelled))
    if ratio >= FUZZY_MIN_RATIO:
        return "fuzzy", min(ratio, 0.99)
    return None


def _ratio(a: str, b: str) -> float:
    """difflib's ratio, computed only when its cheap upper bounds reach `FUZZY_MIN_RATIO`
    (as ``difflib.get_close_matches`` does): most keys are far from the query."""
    matcher = SequenceMatcher(None, a, b, autojunk=False)
    if matcher.real_quick_ratio() < FUZZY_MIN_RATIO or matcher.quick_ratio() < FUZZY_MIN_RATIO:
        return 0.0
    return matcher.ratio()
