"""Step 4: relation mapping, from the title or verb a rule matched to a relation of the ontology.

The rules find *where* a role is stated; this module decides *which* relation it is: a title
("chief executive", "striker", "Transport Secretary") maps to a relation of `graph.relations`
through the lexicon, and an office ("Secretary of State for X") becomes a "holds position"
fact whose object is the office as written, title-cased.
"""

from __future__ import annotations

import re

from graph.extract.lexicon import Lexicon
from graph.extract.model import (
    CEO,
    CHAIR,
    COACH,
    EMPLOYER,
    HEAD,
    HEAD_GOV,
    HEAD_STATE,
    MEMBER,
    POSITION,
    PRESIDENT,
    TEAM,
)
from graph.extract.names import clean_name
from graph.extract.sentence import Sentence

__all__ = [
    "mod_words",
    "office_facts",
    "relation_for_title",
    "role_facts",
    "team_or_employer",
    "title_case_office",
    "trigger_text",
]


def title_case_office(text: str) -> str:
    small = {"of", "for", "the", "and", "to", "on", "in", "at", "&"}
    words = []
    for index, word in enumerate(text.split()):
        if word.islower() and (index == 0 or word not in small):
            word = "-".join(part[:1].upper() + part[1:] for part in word.split("-"))
        words.append(word)
    return " ".join(words)


def mod_words(value: str | None) -> list[str]:
    return (value or "").split()


def relation_for_title(lx: Lexicon, title: str, mods: list[str], sports: bool) -> str | None:
    """Map an organisation title ("chief executive", "striker") to a relation."""
    title = " ".join(title.split())
    if lx.position_re.fullmatch(title):
        return TEAM if sports else None
    if lx.job_title_re.fullmatch(title):
        return EMPLOYER
    subordinate = bool(set(mods) & lx.subordinate_mods)
    if title in {"head of state", "king", "queen", "monarch", "sovereign", "emperor", "empress"}:
        return HEAD_STATE
    if title == "head of government":
        return HEAD_GOV
    if title == "member":
        return MEMBER
    if subordinate:
        return EMPLOYER
    if "chief executive" in title or title == "ceo":
        return CEO
    if title.startswith(("chair", "executive chair")):
        return CHAIR
    if title == "president":
        return PRESIDENT
    if title in {"head coach", "coach"}:
        return COACH
    if title == "manager":
        return COACH if sports else EMPLOYER
    if title == "boss":
        return COACH if sports else HEAD
    if title in {"leader", "head"}:
        return HEAD
    return None


def role_facts(
    sentence: Sentence,
    match: re.Match[str],
    subject: str | None,
    *,
    default_org: str | None = None,
) -> list[tuple[str, str, bool]]:
    """Resolve the role groups of a match (`Fragments.role` or `Fragments.irole`, the latter
    taking ``default_org``) into (relation, object, negated) triples."""
    lx = sentence.lx
    groups = match.re.groupindex
    sports = sentence.doc.sports
    mods = mod_words(match.group("mods")) if "mods" in groups else []
    out: list[tuple[str, str, bool]] = []

    def negated(extra: list[str]) -> bool:
        return bool(set(mods + extra) & lx.negating_mods)

    if "ptitle" in groups and match.group("ptitle"):
        pmods = mod_words(match.group("pmods"))
        title = " ".join(match.group("ptitle").split())
        owner = sentence.entity(match, "poss")
        words = title.split()
        while len(words) > 1 and words[0] in lx.office_mod_set:
            words = words[1:]
        head = " ".join(words)
        if owner and lx.office_head_re.fullmatch(head):
            internal = [m for m in mods + pmods if m in lx.office_internal_mods]
            office = title_case_office(" ".join([*internal, title])) + f" of {owner}"
            out.append((POSITION, office, negated(pmods)))
            if head in lx.head_of_government and head == title and not internal:
                out.append((HEAD_GOV, owner, negated(pmods)))
        elif owner:
            relation = relation_for_title(lx, title, mods + pmods, sports)
            if relation:
                out.append((relation, owner, negated(pmods)))
    elif "title" in groups and match.group("title"):
        relation = relation_for_title(lx, match.group("title"), mods, sports)
        obj = sentence.entity(match, "tobj")
        if match.group("title") in {"professor", "lecturer"} and match.group("conn") != "at":
            obj = None  # "professor of Law": a field, not an employer
        if relation == MEMBER and obj and lx.legislature.search(obj):
            out.append((POSITION, f"Member of the {obj}", negated([])))
        elif relation and obj:
            out.append((relation, obj, negated([])))
    elif "office" in groups and match.group("office"):
        out.extend(office_facts(sentence, match, mods))
    elif "pretitle" in groups and match.group("pretitle"):
        pmods = mod_words(match.group("pmods2"))
        relation = relation_for_title(lx, match.group("pretitle"), mods + pmods, sports)
        obj = sentence.entity(match, "pre")
        if relation and obj:
            out.append((relation, obj, negated(pmods)))
    elif "ititle" in groups and match.group("ititle") and default_org:
        imods = mod_words(match.group("imods"))
        title = " ".join(match.group("ititle").split())
        relation = relation_for_title(lx, title, imods, sports)
        if relation == MEMBER:
            relation = None
        elif title in lx.head_directors and {"its", "their"} & set(imods):
            relation = HEAD  # "named X as its director": the one who runs it, not staff
        if relation:
            out.append((relation, default_org, bool(set(imods) & lx.negating_mods)))
    return [(rel, obj, neg) for rel, obj, neg in out if subject != obj]


def office_facts(
    sentence: Sentence, match: re.Match[str], mods: list[str]
) -> list[tuple[str, str, bool]]:
    lx = sentence.lx
    start, end = match.span("office")
    raw = sentence.original(start, end)
    reduced = match.group("office")
    head = lx.office_head_end.search(reduced)
    if head is None:
        return []
    head_text = " ".join(head.group().split())
    has_entity_tail = "⟨E" in reduced[head.end() :]
    raw_head_pos = raw.lower().find(head_text.split()[0])
    head_is_cap = raw_head_pos >= 0 and raw[raw_head_pos].isupper()
    has_modifier = bool(reduced[: head.start()].strip())
    if head_text.split()[-1] in lx.ambiguous_offices and not (
        has_entity_tail or head_is_cap or has_modifier or head.end() < len(reduced)
    ):
        return []  # "the secretary", "a representative": common nouns, not offices
    internal = [m for m in mods if m in lx.office_internal_mods]
    words = clean_name(lx, raw).split()
    while len(words) > 2 and words[0].lower() in lx.office_noise:
        words = words[1:]  # "New Eastwick Mayor": "new" describes the holder, not the office
    office = title_case_office(" ".join([*internal, *words]))
    if len(office.split()) < 2 or len(office.split()) > 12:
        return []
    is_negated = bool(set(mods) & lx.negating_mods)
    # "Deputy PM and Harbours Secretary" is two offices; "Minister for Ports and Waterways"
    # is one (its second half has no office word of its own).
    parts = re.split(r"\s(?:and|&)\s", office)
    if len(parts) > 1 and all(lx.office_head_word.search(part.lower()) for part in parts):
        offices = [part for part in parts if len(part.split()) >= 2]
    else:
        offices = [office]
    out = [(POSITION, name, is_negated) for name in offices]
    if head_text in lx.head_of_government and not internal and has_entity_tail:
        tail = re.search(r"(?:of|for)\s(?:the\s)?⟨E(\d+)⟩", reduced[head.end() :])
        if tail:
            item = sentence.items[int(tail.group(1))]
            out.append(
                (HEAD_GOV, clean_name(lx, sentence.surface[item.start : item.end]), is_negated)
            )
    return out


def team_or_employer(sentence: Sentence, obj: str | None) -> str:
    if obj and re.search(r"\bParty\b", obj):
        return MEMBER
    if sentence.doc.sports or (obj and sentence.lx.club_suffix.search(obj)):
        return TEAM
    return EMPLOYER


def trigger_text(match: re.Match[str]) -> str:
    """The trigger group ``v`` of a match, whitespace-normalised (handlers compare verbs)."""
    return " ".join(match.group("v").split())
