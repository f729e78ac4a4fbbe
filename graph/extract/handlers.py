"""Rule handlers: each reads one match of its rule and adds draft facts to the sentence.

A handler decides what a match means (which relation, which side ended, whether the verb
states an event or a state); `Sentence.add` applies the checks every fact needs. Handlers are
named after what they read and are referenced by the rule table (`graph.extract.rules`).
"""

from __future__ import annotations

import re

from graph.extract.mapping import (
    mod_words,
    relation_for_title,
    role_facts,
    team_or_employer,
    trigger_text,
)
from graph.extract.model import (
    CHAIR,
    COACH,
    EMPLOYER,
    HEAD,
    HQ,
    LOCATED,
    MEMBER,
    OWNER,
    PARTNER,
    POSITION,
    SPOUSE,
    TEAM,
)
from graph.extract.names import Token, clean_name, person_like
from graph.extract.sentence import Sentence

_PAST_STATIVE = frozenset(
    {
        "was", "were", "remained", "served as", "served", "played", "led", "headed", "chaired",
        "ran", "coached", "managed", "captained", "dated", "had been",
    }
)  # fmt: skip
_EVENT_BECAME = frozenset(
    {"became", "becomes", "become", "becoming", "took over as", "takes over as", "take over as"}
)
_ENDING_NOUNS = frozenset(
    {"resignation", "departure", "exit", "sacking", "dismissal", "firing", "retirement"}
)


_PASSIVE_AUX = re.compile(r"\b(?:was|were|been|be|is|are|being)\s")


def appointed(s: Sentence, m: re.Match[str]) -> None:
    subject = s.entity(m, "s")
    after = s.reduced[m.end("v") :].lstrip()
    passive = "adv" not in m.re.groupindex or _PASSIVE_AUX.search(m.group("adv"))
    if after.startswith("⟨E") and not passive:
        # "Acme appointed Jane Doe ..." is active: Acme is the appointer, not the appointee.
        return
    for relation, obj, neg in role_facts(s, m, subject):
        s.add(m, subject, relation, obj, negated=neg, mode="past" if neg else "event")


def became(s: Sentence, m: re.Match[str]) -> None:
    subject = s.entity(m, "s")
    verb = trigger_text(m)
    no_longer = bool(m.group("neg"))
    if verb in _EVENT_BECAME or verb.startswith(("took", "takes", "take", "assum", "stepped",
                                                  "steps", "return", "beg", "start")):  # fmt: skip
        mode = "event"
    elif verb in _PAST_STATIVE or verb == "served as":
        mode = "past"
    else:
        mode = "state"
    for relation, obj, neg in role_facts(s, m, subject):
        negated = neg or no_longer or mode == "past"
        s.add(m, subject, relation, obj, negated=negated, mode="past" if negated else mode)


def stative_role(s: Sentence, m: re.Match[str]) -> None:
    # "former chief executive X" says the role ended, not when: only since/until count.
    if (
        "comma" in m.re.groupindex
        and m.group("comma")
        and s.reduced[: m.start()].strip() not in {"", "the"}
        and not (m.group("mods") or "").startswith("the")
    ):
        return  # "Role of A, B," mid-sentence is usually a list, not "Role, Name,"
    subject = s.entity(m, "s")
    for relation, obj, neg in role_facts(s, m, subject):
        s.add(m, subject, relation, obj, negated=neg, mode="state")


def org_appoints(s: Sentence, m: re.Match[str]) -> None:
    agent = s.entity(m, "a")
    subject = s.entity(m, "s")
    title = m.group("ititle0")
    if title:
        relation = relation_for_title(s.lx, title, [], s.doc.sports)
        if relation and relation != MEMBER:
            s.add(m, subject, relation, agent)
    for relation, obj, neg in role_facts(s, m, subject, default_org=agent):
        s.add(m, subject, relation, obj, negated=neg, mode="past" if neg else "event")


def org_appoints_role(s: Sentence, m: re.Match[str]) -> None:
    appointed(s, m)


_JOINED_PAST = frozenset(
    {
        "played for",
        "worked for",
        "worked at",
        "rode for",
        "raced for",
        "was part of",
        "were part of",
    }
)
_JOINED_STATIVE = (
    "is on the", "was on the", "is currently on", "are on the",
    "plays", "works", "on loan", "is on", "rides", "races", "is part", "are part", "been part",
    "be part", "currently on", "was on",
)  # fmt: skip


def joined(s: Sentence, m: re.Match[str]) -> None:
    subject = s.entity(m, "s")
    obj = s.entity(m, "o")
    if m.group("o2"):
        # "Freedonia Women's National Team" is one name; "Elbonia's Union Harbour" is a club
        # named after its country.
        second = s.entity(m, "o2") or ""
        if second.split()[0].lower() in s.lx.team_qualifiers:
            obj = clean_name(s.lx, s.original(m.start("o") - 2, m.end("o2") + 1))
        else:
            obj = second
    verb = trigger_text(m)
    if verb.endswith("part of") and not s.doc.sports:
        return
    negated = bool(m.group("neg"))
    roles = role_facts(s, m, subject, default_org=obj)
    if verb.startswith(("works", "worked", "working")):
        relation = EMPLOYER
    elif verb.startswith(("play", "scored", "made", "debuted")) or "loan" in verb:
        relation = (
            TEAM
            if s.doc.sports or "loan" in verb or verb.startswith(("play", "scored"))
            else EMPLOYER
        )
    elif verb.startswith(("signed for", "signs for", "sign for", "signing for", "rides", "rode",
                          "races", "raced", "riding", "racing")):  # fmt: skip
        relation = TEAM
    elif verb.startswith(("named to", "called up")):
        if not s.doc.sports:
            return
        relation = TEAM
    else:
        relation = team_or_employer(s, obj)
    past = verb in _JOINED_PAST
    if past or negated:
        mode = "past"
    elif verb.startswith(_JOINED_STATIVE):
        mode = "state"
    else:
        mode = "event"
    if roles:
        for role_relation, role_obj, neg in roles:
            s.add(m, subject, role_relation, role_obj, negated=neg or negated or past, mode=mode)
    else:
        s.add(m, subject, relation, obj, negated=negated or past, mode=mode)
    is_loan = bool(m.group("loan1") or m.group("loan2")) or "loan" in verb
    former = s.entity(m, "frm")
    if former and not is_loan and not (negated or past):
        s.add(m, subject, team_or_employer(s, former), former, negated=True, mode="event")


def signed_by(s: Sentence, m: re.Match[str]) -> None:
    verb = trigger_text(m)
    if not (s.doc.sports or verb in {"signed", "drafted"}):
        return
    s.add(m, s.entity(m, "s"), TEAM, s.entity(m, "o"))


def of_team(s: Sentence, m: re.Match[str]) -> None:
    if not s.doc.sports:
        return
    subject = s.entity(m, "s")
    obj = s.entity(m, "o")
    if subject is None or obj is None or len(subject.split()) < 2:
        return
    if m.group("v") == "(" and not _looks_like_team_in_parentheses(subject, obj):
        return
    tokens = [Token(w, 0, 0) for w in subject.split()]
    if person_like(s.lx, tokens):
        s.add(m, subject, TEAM, s.entity(m, "o"), mode="state")


def _looks_like_team_in_parentheses(subject: str, obj: str) -> bool:
    """ "Jane Doe (Riverside Rovers)" names a team; "(USA)", "(France)" or an acronym of the
    subject ("Velmar Rowing League (VRL)") name a country or the subject itself."""
    if obj.isupper() and len(obj.replace(".", "")) <= 4:
        return False
    initials = "".join(word[0] for word in subject.split() if word[:1].isupper())
    if obj.replace(".", "").upper() == initials.upper():
        return False
    return len(obj.split()) >= 2 or "-" in obj


def club_signs(s: Sentence, m: re.Match[str]) -> None:
    agent = s.entity(m, "a")
    subject = s.entity(m, "s")
    verb = trigger_text(m)
    transfer = verb.startswith("sign") and bool(
        m.group("frm") or m.group("loan1") or m.group("loan2")
    )
    if not (s.doc.sports or transfer or "signing" in verb):
        return
    s.add(m, subject, TEAM, agent)
    for more in re.findall(r"⟨E(\d+)⟩", m.group("more") or ""):
        item = s.items[int(more)]
        s.add(m, clean_name(s.lx, s.surface[item.start : item.end]), TEAM, agent)
    former = s.entity(m, "frm")
    if former and not (m.group("loan1") or m.group("loan2")):
        s.add(m, subject, TEAM, former, negated=True)


def sends(s: Sentence, m: re.Match[str]) -> None:
    agent = s.entity(m, "a")
    subject = s.entity(m, "s")
    target = s.entity(m, "to")
    verb = trigger_text(m)
    title = m.group("stitle")
    if verb.startswith(("sold", "sells")) and not s.doc.sports:
        if target:
            s.add(m, subject, OWNER, target)
            s.add(m, subject, OWNER, agent, negated=True)
        return
    if verb.startswith(("sacked", "sacks", "fired", "fires", "dismiss", "axed", "axes")):
        relation = relation_for_title(s.lx, title, [], s.doc.sports) if title else None
        relation = relation or (COACH if s.doc.sports else EMPLOYER)
        s.add(m, subject, relation, agent, negated=True)
        return
    if not s.doc.sports:
        return
    if target:
        s.add(m, subject, TEAM, target)
        if not verb.startswith("loan"):
            s.add(m, subject, TEAM, agent, negated=True)
    elif verb.startswith(("released", "releases", "waived", "waives", "cut", "parted")):
        s.add(m, subject, TEAM, agent, negated=True)


def left_role(s: Sentence, m: re.Match[str]) -> None:
    subject = s.entity(m, "s")
    roles = role_facts(s, m, subject)
    for relation, obj, _ in roles:
        s.add(m, subject, relation, obj, negated=True)
    successor = s.entity(m, "by")
    if successor and trigger_text(m) == "replaced":
        for relation, obj, _ in roles:
            s.add(m, successor, relation, obj)


def left_org(s: Sentence, m: re.Match[str]) -> None:
    subject = s.entity(m, "s")
    obj = s.entity(m, "o")
    verb = trigger_text(m)
    if verb.startswith(("sacked", "fired", "dismissed", "ousted", "axed", "relieved", "let")):
        relation = COACH if s.doc.sports else EMPLOYER
    else:
        relation = team_or_employer(s, obj)
    s.add(m, subject, relation, obj, negated=True)


def _succession(
    s: Sentence, m: re.Match[str], successor: str | None, predecessor: str | None
) -> None:
    """The successor's role starts when the predecessor's ends: the old fact takes its end
    from the new one's start (``shares_time_with``)."""
    for relation, obj, _ in role_facts(s, m, successor):
        new = s.add(m, successor, relation, obj)
        old = s.add(m, predecessor, relation, obj, negated=True)
        if new and old:
            old.shares_time_with = new


def succeeded(s: Sentence, m: re.Match[str]) -> None:
    _succession(s, m, s.entity(m, "s"), s.entity(m, "z"))


def succeeded_by(s: Sentence, m: re.Match[str]) -> None:
    _succession(s, m, s.entity(m, "z"), s.entity(m, "s"))


def leads(s: Sentence, m: re.Match[str]) -> None:
    subject = s.entity(m, "s")
    obj = s.entity(m, "o")
    verb = trigger_text(m)
    if verb.startswith(("lead", "led", "head")) and s.doc.sports:
        return
    if verb.startswith("chair"):
        relation = CHAIR
    elif verb.startswith(("coach", "manag")):
        relation = COACH if s.doc.sports else HEAD
    elif verb.startswith("captain"):
        relation = TEAM
        if not s.doc.sports:
            return
    else:
        relation = HEAD
    past = verb in _PAST_STATIVE
    s.add(m, subject, relation, obj, negated=past, mode="past" if past else "state")


def married(s: Sentence, m: re.Match[str]) -> None:
    subject = s.entity(m, "s")
    obj = s.entity(m, "o")
    verb = trigger_text(m)
    if re.search(r"divorce|split|broke|breaks|separated", verb):
        relation = SPOUSE if "divorce" in verb else PARTNER
        s.add(m, subject, relation, obj, negated=True)
    elif re.search(r"engaged|dating|dated|relationship", verb):
        past = verb in {"was dating", "dated"}
        s.add(m, subject, PARTNER, obj, negated=past, mode="past" if past else "state")
    elif verb.startswith(("is married", "married to")):
        s.add(m, subject, SPOUSE, obj, mode="state")
    elif verb.startswith("was married"):
        s.add(m, subject, SPOUSE, obj, negated=True, mode="past")
    else:
        s.add(m, subject, SPOUSE, obj)


def kin(s: Sentence, m: re.Match[str]) -> None:
    subject = s.entity(m, "s")
    obj = s.entity(m, "o")
    kin = m.group("v")
    mods = set(mod_words(m.group("kmods")))
    relation = SPOUSE if kin in s.lx.spouse_kin else PARTNER
    negated = bool(mods & {"late", "former", "ex-", "then"}) or kin in s.lx.negative_kin
    s.add(m, subject, relation, obj, negated=negated, mode="past" if negated else "state")


def hq(s: Sentence, m: re.Match[str]) -> None:
    subject = s.entity(m, "s")
    obj = s.entity(m, "o")
    relation = LOCATED if m.group("v") == "located" else HQ
    past = bool(re.search(r"\s(?:was|were)\s", m.group(0)))
    s.add(m, subject, relation, obj, negated=past, mode="past" if past else "state")


def hq_move(s: Sentence, m: re.Match[str]) -> None:
    subject = s.entity(m, "s")
    s.add(m, subject, HQ, s.entity(m, "o"))
    former = s.entity(m, "frm")
    if former:
        s.add(m, subject, HQ, former, negated=True)


def hq_poss(s: Sentence, m: re.Match[str]) -> None:
    s.add(m, s.entity(m, "s"), HQ, s.entity(m, "o"), mode="state")


def owned(s: Sentence, m: re.Match[str]) -> None:
    s.add(m, s.entity(m, "s"), OWNER, s.entity(m, "o"), mode="state")


def acquired(s: Sentence, m: re.Match[str]) -> None:
    if s.doc.sports:
        return
    mode = "state" if trigger_text(m) == "owns" else "event"
    s.add(m, s.entity(m, "s"), OWNER, s.entity(m, "o"), mode=mode)


def member(s: Sentence, m: re.Match[str]) -> None:
    subject = s.entity(m, "s")
    obj = s.entity(m, "o")
    verb = trigger_text(m)
    past = verb == "was"
    mode = "past" if past else ("event" if verb.startswith("bec") else "state")
    if obj and s.lx.legislature.search(obj):
        s.add(m, subject, POSITION, f"Member of the {obj}", negated=past, mode=mode)
    elif s.doc.sports:
        s.add(m, subject, TEAM, obj, negated=past, mode=mode)
    else:
        s.add(m, subject, MEMBER, obj, negated=past, mode=mode)


def no_longer(s: Sentence, m: re.Match[str]) -> None:
    subject = s.entity(m, "s")
    for relation, obj, _ in role_facts(s, m, subject):
        s.add(m, subject, relation, obj, negated=True, mode="state")


def noun_event(s: Sentence, m: re.Match[str]) -> None:
    subject = s.entity(m, "s")
    verb = trigger_text(m)
    ending = verb in _ENDING_NOUNS
    roles = role_facts(s, m, subject)
    for relation, role_obj, _ in roles:
        s.add(m, subject, relation, role_obj, negated=ending)
    obj = s.entity(m, "o")
    if obj and not roles:
        between = m.group(0)[m.end("v") - m.start() : m.start("o") - m.start()]
        if ending and " from " in f"{between} ":
            s.add(m, subject, team_or_employer(s, obj), obj, negated=True)
        elif not ending and re.search(r"\s(?:to|at)\s", between):
            s.add(m, subject, team_or_employer(s, obj), obj)


def org_announces_role(s: Sentence, m: re.Match[str]) -> None:
    """ "Y said X will become its chief executive": the role is in Y, which said so."""
    agent = s.entity(m, "a")
    subject = s.entity(m, "s")
    for relation, obj, neg in role_facts(s, m, subject, default_org=agent):
        s.add(m, subject, relation, obj, negated=neg, mode="past" if neg else "event")


def left_for(s: Sentence, m: re.Match[str]) -> None:
    """ "X left Y for Z": X joined Z (the end at Y is the `left_org` rule's)."""
    obj = s.entity(m, "o")
    s.add(m, s.entity(m, "s"), team_or_employer(s, obj), obj)


def open_role(s: Sentence, m: re.Match[str]) -> None:
    """ "X, the founder of Y": a role noun the ontology lacks, kept as the open relation
    "founder of". Known titles, and pairs another rule already related, are left to the rules
    that map them (open rules run last); vague nouns ("one", "part") are no relation at all."""
    noun = m.group("v")
    lx = s.lx
    if noun in lx.open_noun_stop or any(
        pattern.fullmatch(noun)
        for pattern in (lx.org_title_re, lx.job_title_re, lx.position_re, lx.office_head_re)
    ):
        return
    subject, obj = s.entity(m, "s"), s.entity(m, "o")
    if any(d.subject == subject and d.object == obj for d in s.drafts):
        return  # a known relation already says it ("a subsidiary of": owned by)
    s.add(m, subject, f"{noun} of", obj, mode="state")
