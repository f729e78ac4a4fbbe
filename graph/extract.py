"""Fact extraction: timestamped relations from English news text, with no model and no network.

`RuleFactExtractor` is the default `FactExtractor`. It is deterministic (same text and
reference time, same facts, in the same order), needs nothing but the standard library, and
runs at thousands of short documents per second, so it can sit on the ingest hot path.

How it works, per sentence (`graph.text.split_sentences`; one longer than
`MAX_SENTENCE_CHARS` is cut at whitespace first, so the work stays linear in the text):

1. Time mentions are found by `graph.timeparse.find_time_mentions` against the reference time
   (the document's ``published_at``) and masked, so that "March 2021" is never read as a name.
   All time normalisation happens there; this module never parses dates itself.
2. Capitalised words are grouped into name chunks ("Bank of England", "Jane Doe"), joining
   across "of"/"for" only after an institution or office word, so "Bank of England" is one
   chunk while "Jane Doe of Acme" is two. Job titles inside a chunk are split off:
   "Acme Chief Executive Jane Doe" becomes *Acme* + "chief executive" + *Jane Doe*.
3. The sentence is rewritten as a reduced string in which each chunk is a placeholder
   (``⟨E3⟩``), each time mention is ``⟨T0⟩`` and titles are lower-case words. Relation
   patterns (appointments, transfers, resignations, marriages, headquarters...) are regular
   expressions over that string; a match is mapped back to the original text.
4. A time mention in the same clause becomes ``valid_from`` of a fact that starts there, or
   ``valid_to`` of one that ends there. Stative statements ("X is the CEO of Y") only take a
   time marked "since"/"until"; with no time the caller falls back to ``published_at``.

Why rules and not a parser model: the patterns that carry temporal facts in news are few and
formulaic ("was appointed", "have signed X from Y", "stepped down as"), a pure-Python
extractor keeps `graph/` free of model weights, and every decision can be traced to one rule.
The price is recall on unusual phrasing; see ``Limitations`` in the class docstring.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from graph.relations import RELATIONS
from graph.text import split_long, split_sentences, wordset
from graph.timeparse import TimeMention, TimeSpan, find_time_mentions

__all__ = ["ExtractedFact", "FactExtractor", "RuleFactExtractor", "unique_facts"]


@dataclass(frozen=True)
class ExtractedFact:
    """One relation stated (or retracted) by one sentence.

    Attributes:
        subject: Surface name of the subject as written ("Jane Doe"), honorifics dropped.
        relation: Canonical relation name from `graph.relations`.
        object: Surface name of the object ("Acme Corp"), or an office for
            "holds position" ("Prime Minister of the United Kingdom").
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


# --------------------------------------------------------------------------------------------
# Relation names (checked against the ontology at import, so a rename cannot drift silently).

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

for _name in (CEO, CHAIR, PRESIDENT, HEAD, POSITION, HEAD_STATE, HEAD_GOV, TEAM, COACH, SPOUSE,
              PARTNER, HQ, EMPLOYER, OWNER, MEMBER, LOCATED):  # fmt: skip
    if _name not in RELATIONS:  # pragma: no cover - a programming error, caught by any test
        raise RuntimeError(f"relation {_name!r} is missing from graph.relations.RELATIONS")

# Relations whose subject is a person: used for pronoun resolution ("He" -> last such subject).
_PERSON_RELATIONS = frozenset(
    {CEO, CHAIR, PRESIDENT, HEAD, POSITION, HEAD_STATE, HEAD_GOV, TEAM, COACH, SPOUSE, PARTNER,
     EMPLOYER}
)  # fmt: skip
# Relations naming a role someone can succeed another in ("X succeeded Z as ...").
_ROLE_RELATIONS = frozenset(
    {CEO, CHAIR, PRESIDENT, HEAD, POSITION, HEAD_STATE, HEAD_GOV, COACH, TEAM, EMPLOYER}
)

_MAX_NAME_WORDS = 8


# --------------------------------------------------------------------------------------------
# Lexicons. General English news vocabulary only: no entity names, no dataset-specific lists.

# Capitalised words that never start or belong to a name chunk (function words, sentence
# openers); they are lower-cased in the reduced string so patterns can see them.
_CAP_STOP = wordset(
    """the a an this that these those he she it they we i you his her its their our my your him
    them after before in on at when while but and or if as since despite with without for from
    to by of there here then now also however meanwhile former current newly although though
    last next earlier later following under over according both each every all some many most
    several other another such what who whom whose which where why how yes no not so thus still
    even only just today yesterday tonight during among between into through across against
    about around because once until upon within currently previously recently reportedly
    officially elsewhere instead overall nevertheless indeed ex outgoing incoming interim acting
    veteran young experienced senior retired late is are was were has have had will would can
    could should might do does did be been being says said tells told on-loan monday tuesday
    wednesday thursday friday saturday sunday gen. sen. rep. gov. lt. col. adm.
    sgt. capt. maj. cpl. pvt. hon. rt."""
)
_PRONOUNS = wordset(
    "he she it they we i you him her them his hers its their theirs who whom this that"
)
# Name particles that join capitalised words ("Mara Van Holt", "Lise de Brauw").
_PARTICLES = wordset(
    "de du des da di del della der den van von la le dos das bin ibn al el y ter ten"
)
# Words after which "of"/"for" continue a name ("Bank of England", "Secretary of State for X").
_HEADS_OF = wordset(
    """university college school institute academy bank department ministry office board church
    cathedral diocese archdiocese republic kingdom state states commonwealth federation union
    association society council commission committee court house senate assembly parliament
    congress museum gallery library hospital centre center foundation trust fund chamber league
    confederation organization organisation order city county isle isles islands island gulf bay
    cape lake mount port sea duke duchess prince princess earl countess king queen emperor
    archbishop bishop lord lady mayor governor secretary minister chancellor president chairman
    chairwoman chair chairperson chief executive officer head leader member director ambassador
    commissioner attorney solicitor general premier speaker representative senator treasurer
    comptroller auditor councillor dean provost professor manager coach party army navy force
    forces corps bureau agency authority service services conference division district region
    province territory people envoy adviser advisor delegate"""
)
_HEADS_TO = wordset("ambassador envoy adviser advisor delegate representative")
# Post-nominal letters split off a name ("Jane Doe MP" -> "Jane Doe").
_POSTNOMINALS = wordset("mp mep msp mla mpp ms qc kc obe mbe cbe kbe dbe phd")
_HONORIFICS = wordset(
    "mr mrs ms miss mx dr prof professor rev revd reverend hon honourable honorable"
)
_NAME_SUFFIXES = wordset("jr jr. sr sr. ii iii iv")
# Words that mark an organisation, place or policy area, so never part of a person's name.
_NONPERSON = wordset(
    """league division cup club party council group company bank university college school
    institute office house court street road city county state states kingdom republic islands
    island united national federal royal international association society committee
    commission department ministry service services affairs development relations security trade
    industry energy health care education justice defence defense environment transport finance
    treasury housing communities agriculture fisheries food science technology innovation
    employment workplace labour labor work pensions exchequer government commonwealth interior
    immigration policing veterans schools skills universities tourism arts heritage
    infrastructure planning economy budget revenue investment unit digital culture media sport
    sports women equalities safeguarding north south east west northern southern eastern
    western central new saint san santa los las upper lower greater fc afc inc corp ltd plc llc
    foundation trust fund centre center board team senate assembly parliament congress region
    province territory district area park airport hospital museum times post news press network
    systems technologies partners capital holdings airlines airways motors tour race races
    classic championship championships games series stage grand prix open and of for the"""
)
# For judging a whole subject as a person: the words above minus common surnames.
_NONPERSON_SUBJECT = _NONPERSON - wordset(
    "park post court house street road lower press west bank news times new"
) | wordset(
    """position role title name update photo image source credit read watch added army navy
    force forces corps police fans supporters email address contact organization organisation
    baseball basketball football soccer hockey cycling final round"""
)
# Single generic words that are never a team or employer on their own ("joined the club").
_GENERIC_OBJECTS = wordset(
    "club team squad academy university college school side company firm group league olympic"
)
# Competitions and governing bodies: what a team plays in, never the team itself.
_COMPETITION = re.compile(
    r"(?:\bLeague\b|\b(?:Conference|Division|Tour|Cup|Championships?|Series|Games|Olympics|"
    r"Federation|Association)$|^(?:NBA|NFL|MLB|NHL|MLS|WNBA|EFL|UEFA|FIFA|NCAA|WorldTour|"
    r"World Tour|UCI|ATP|WTA|PGA)$)"
)
# Nationality words ("the Belgian rider X") that look like names but are never a team or person.
_DEMONYM = re.compile(
    r"(?:[A-Z][a-z]+(?:ian|ean|ese|ish)|American|African|Mexican|German|Dominican|Cuban|Korean|"
    r"Moroccan|Kenyan|Ugandan|Venezuelan|Puerto Rican|Sri Lankan|Israeli|Pakistani|Iraqi|Saudi|"
    r"Qatari|Kuwaiti|Emirati|Bangladeshi|Nepali|Somali|Thai|Filipino|Filipina|Dutch|French|Swiss|"
    r"Greek|Czech|Welsh|Argentine|Kiwi|Aussie|Basque|Catalan|Olympic)"
)

# Title vocabulary over the reduced (lower-case) string.
_ORGTITLE = (
    r"(?:group\s)?chief\sexecutive(?:\sofficer)?|ceo|executive\schair(?:man|woman|person)?"
    r"|chair(?:man|woman|person)?|president|head\sof\sstate|head\sof\sgovernment|head\scoach"
    r"|manager|coach|boss|leader|head|king|queen|monarch|sovereign|emperor|empress|member"
)
_JOBTITLE = (
    r"general\smanager|managing\sdirector|director(?:[\s-]general)?|chief\s[a-z]+(?:\s[a-z]+)?"
    r"\sofficer|chief\s(?:economist|scientist|engineer|strategist|investment\sofficer)|vice[\s-]chair(?:man|woman|person)?|vice[\s-]chancellor|provost|dean|professor"
    r"|lecturer|editor(?:-in-chief)?|reporter|correspondent|columnist|economist|analyst"
    r"|engineer|scientist|researcher|spokes(?:man|woman|person)|lawyer|attorney|executive"
    r"|official|officer|employee|staffer|adviser|advisor|consultant|principal"
)
_POSNOUN = (
    r"striker|forward|midfielder|defender|goalkeeper|goalie|keeper|winger|full-back|fullback"
    r"|centre-back|center-back|centre-half|left-back|right-back|wing-back|playmaker|quarterback"
    r"|qb|linebacker|cornerback|wide\sreceiver|receiver|running\sback|tight\send|pitcher"
    r"|catcher|outfielder|infielder|shortstop|slugger|point\sguard|shooting\sguard|guard"
    r"|power\sforward|small\sforward|rider|cyclist|sprinter|player|captain|star|prop|hooker"
    r"|flanker|fly-half|scrum-half|batsman|batter|bowler|all-rounder|wicketkeeper|netminder"
    r"|goaltender|loanee|youngster|teenager|prospect|international|centre|center|kicker|punter"
    r"|placekicker|setter|libero|outside\shitter|middle\sblocker|defensive\stackle|offensive\stackle"
    r"|tackle|lineman|defensive\send|safety|centre-forward|center-forward|half-back|wing"
)
_OFFHEAD = (
    r"(?:deputy\s|vice\s)?prime\sminister|first\sminister|chief\sminister"
    r"|minister(?:\sof\sstate)?|(?:parliamentary\s)?under-secretary(?:\sof\sstate)?"
    r"|(?:cabinet\s)?secretary\sof\sstate|secretary(?:[\s-]general)?|attorney[\s-]general"
    r"|solicitor[\s-]general|governor[\s-]general|lieutenant[\s-]governor|governor|premier"
    r"|chancellor|mayor|senator|ambassador|speaker|representative|congress(?:man|woman|member)"
    r"|member\sof\sparliament|mep|msp|high\scommissioner|commissioner|comptroller"
    r"|auditor[\s-]general|council(?:lor|or|member|man|woman)|alderman|chief\sjustice|justice"
    r"|judge|envoy|consul(?:[\s-]general)?|taoiseach|tánaiste|chief\swhip|whip"
    r"|vice[\s-]president|pm|bishop|archbishop"
)
# Lower-case words that may precede an office head and belong to the office ("home secretary").
_OFFMODS = (
    r"deputy|junior|shadow|cabinet|state|federal|foreign|home|health|education|defence|defense"
    r"|justice|finance|treasury|interior|environment|transport|culture|trade|business|energy"
    r"|housing|schools|universities|security|immigration|policing|veterans|sport|sports"
    r"|employment|labour|labor|digital|science|agriculture|culture|economy|tourism|women"
    r"|assistant|associate|parliamentary|regional|city|county|provincial|district|chief|lord"
)
_OFFMODS_SET = frozenset(_OFFMODS.split("|"))
_ROLE_MODS = (
    r"the|a|an|its|their|his|her|new|newly[\s-]appointed|newly[\s-]elected|newly[\s-]named"
    r"|interim|acting|current|former|ex-|outgoing|incoming|next|permanent|sole|joint|co-"
    r"|executive|non-executive|senior|founding|longtime|long-time|incumbent|previous|then"
    r"|late|caretaker|temporary|full-time|honorary|retired|erstwhile|one-time|reigning|rookie"
    r"|veteran|teenage|young|star|backup|starting|homegrown|first-year|second-year|loan|on-loan"
    r"|\d+(?:st|nd|rd|th)|first(?!\s(?:deputy\s)?minister)|second|third|fourth|fifth|sixth|seventh|eighth|ninth|tenth"
    r"|eleventh|twelfth|thirteenth|fourteenth|fifteenth|sixteenth|seventeenth|eighteenth"
    r"|nineteenth|twentieth|deputy|assistant|associate|junior|shadow"
)
_NEGATING_MODS = wordset("former ex- retired late erstwhile one-time then previous")  # fmt: skip
_SUBORDINATE_MODS = wordset("deputy assistant associate junior")
_OFFICE_INTERNAL_MODS = wordset("deputy assistant associate junior shadow")
# Office heads that are also common nouns: taken only when capitalised or tied to a name.
_AMBIGUOUS_OFFICES = wordset(
    "representative speaker secretary justice judge whip commissioner chancellor envoy consul "
    "governor member"
)
_HEAD_OF_GOVERNMENT = frozenset({"prime minister", "premier", "first minister", "chief minister"})
_LEGISLATURE = re.compile(
    r"\b(?:parliament|senate|house|assembly|congress|legislature|council|bundestag|knesset|dáil)\b",
    re.IGNORECASE,
)
# Capitalised title heads split off name chunks: phrase -> (kind, needs a following "of").
_CAP_HEADS: dict[tuple[str, ...], tuple[str, bool]] = {}


def _add_heads(kind: str, phrases: str, *, needs_of: bool = False) -> None:
    for phrase in phrases.split("|"):
        _CAP_HEADS[tuple(phrase.split())] = (kind, needs_of)


_add_heads(
    "office",
    "prime minister|first minister|chief minister|minister of state|minister|secretary of state|"
    "secretary general|secretary-general|secretary|under-secretary of state|under-secretary|"
    "attorney general|attorney-general|solicitor general|solicitor-general|governor general|"
    "governor-general|lieutenant governor|governor|premier|chancellor|senator|ambassador|"
    "congressman|congresswoman|congressmember|representative|commissioner|treasurer|"
    "comptroller|councillor|councilor|councilmember|councilman|councilwoman|mayor|"
    "vice president|vice-president|taoiseach|speaker|pm",
)
_add_heads(
    "org",
    "chief executive officer|chief executive|ceo|chairman|chairwoman|chairperson|chair|"
    "president|head coach|coach|manager|leader|head of state|head of government|"
    "executive chairman",
)
_add_heads("org", "head|king|queen|member", needs_of=True)
_add_heads("job", "managing director|general manager|director|professor|vice chancellor")
_add_heads(
    "position",
    "striker|forward|midfielder|defender|goalkeeper|winger|quarterback|pitcher|captain|rider",
)
_MAX_HEAD = max(len(key) for key in _CAP_HEADS)
_OFFICE_MOD_WORDS = frozenset(_OFFMODS.split("|")) | wordset(
    """deputy vice shadow interim acting new senior executive first second third former
    incoming outgoing"""
)

# Sports context decides whether "joined"/"left"/"signed" means a team or an employer.
_SPORTS_STRONG = re.compile(
    r"\b(?:football|soccer|basketball|baseball|hockey|rugby|cricket|cycling|peloton|striker|"
    r"midfielder|defender|goalkeeper|winger|quarterback|pitcher|on\sloan|loan\s(?:move|deal|spell)|"
    r"transfer\swindow|signing\sof|scored|goals?|league|playoffs?|roster|teammates?|team-mates?|"
    r"head\scoach|squad|nba|nfl|mlb|nhl|wnba|mls|uefa|fifa|f\.?c\.?|a\.f\.c\.|world\stour|"
    r"grand\sprix|olympics?|fixtures?)\b",
    re.IGNORECASE,
)
_SPORTS_WEAK = re.compile(
    r"\b(?:team|season|club|match|coach|manager|players?|games?|cup|championship|fans|"
    r"contract|debut|riders?|race|stadium|signed|transfer)\b",
    re.IGNORECASE,
)
_SPORTS_ORG = re.compile(
    r"\b(?:F\.?C\.?|A\.?F\.?C\.?|S\.?C\.?|C\.?F\.?|Football Club|Rovers|Wanderers|Hotspur)$"
)

# --------------------------------------------------------------------------------------------
# Tokens, chunks and the reduced string.

_NUMBERED_NAME = re.compile(r"\d+[a-z]+")  # "49ers", "76ers"
_COMPOUND_SUFFIX = re.compile(r"-(?:based|born|owned|led|headquartered)$")
_WORD = re.compile(r"[^\W\d_]+")
_TOKEN = re.compile(r"(?:[^\W\d_]\.){2,}|[^\W_]+(?:['’\-][^\W_]+)*|\S")
_TITLE_ABBREV = wordset(
    "mr mrs ms dr st jr sr prof gen sen rep gov lt col rev mt inc corp ltd co no"
)
_APOSTROPHES = "'’"
_NO_SPACE_BEFORE = frozenset({",", ".", ";", ":", "!", "?", ")", "'s", "%", "”", "’"})
_NO_SPACE_AFTER = frozenset({"(", "“", "‘"})


@dataclass
class _Token:
    text: str
    start: int
    end: int

    @property
    def lower(self) -> str:
        return self.text.lower()

    @property
    def is_cap(self) -> bool:
        first = self.text[0]
        return first.isupper() or (
            first.isdigit() and _NUMBERED_NAME.fullmatch(self.text) is not None
        )


@dataclass
class _Item:
    """One unit of the reduced string: an entity chunk (E), a time (T) or a word (W)."""

    kind: str
    text: str
    start: int
    end: int
    mention: TimeMention | None = None


def _tokenize(sentence: str) -> list[_Token]:
    tokens: list[_Token] = []
    matches = list(_TOKEN.finditer(sentence))
    index = 0
    while index < len(matches):
        match = matches[index]
        text, start, end = match.group(), match.start(), match.end()
        nxt = matches[index + 1] if index + 1 < len(matches) else None
        # "Dr." / "H." / "Jr.": keep the full stop with the word.
        if (
            nxt is not None
            and nxt.group() == "."
            and nxt.start() == end
            and ((len(text) == 1 and text.isupper()) or text.lower() in _TITLE_ABBREV)
        ):
            text, end = text + ".", nxt.end()
            index += 1
        # "ex-chief" -> "ex-" "chief"
        if text[:3].lower() == "ex-" and len(text) > 3:
            tokens.append(_Token("ex-", start, start + 3))
            text, start = text[3:], start + 3
        # "London-based" -> "London" "-based"
        suffix = _COMPOUND_SUFFIX.search(text) if "-" in text else None
        if suffix and text[0].isupper():
            cut = start + suffix.start()
            tokens.append(_Token(text[: suffix.start()], start, cut))
            tokens.append(_Token(text[suffix.start() :], cut, end))
        elif len(text) > 2 and text[-2] in _APOSTROPHES and text[-1] in "sS":
            tokens.append(_Token(text[:-2], start, end - 2))
            tokens.append(_Token("'s", end - 2, end))
        elif (
            text in _APOSTROPHES
            and tokens
            and tokens[-1].end == start
            and tokens[-1].text.endswith("s")
        ):
            tokens.append(_Token("'s", start, end))
        else:
            tokens.append(_Token(text, start, end))
        index += 1
    return tokens


def _smart_case(sentence: str) -> str | None:
    """Title-case an ALL-CAPS sentence (keeping length), or None if it is not all caps."""
    lowers = sum(1 for c in sentence if c.islower())
    if lowers > 0.1 * len(sentence) or sum(1 for c in sentence if c.isupper()) < 8 * (lowers + 1):
        return None
    cased = _WORD.sub(lambda m: m.group().capitalize(), sentence)
    return cased if len(cased) == len(sentence) else None


# Words lower-cased in headline-style Title Case ("Union Sign Goalkeeper Matt Freese To ...").
_HEADLINE_LOWER = wordset(
    """to with from on as at in for of after and by the a an is are was has have be been joins
    join joined signs sign signed leaves leave left named names appointed appoints appoint
    becomes become became returns return moves move moved completes complete re-signs re-sign
    extends quits quit resigns resign steps down replaces replace succeeds succeed hires hire
    sacks sack sacked fires fire fired elected elects new its their his her loan deal contract
    agrees agree takes take over made make makes sworn swears swore in into ousted depart
    departs departing departed retires retire retired marries married weds wed
    set named"""
) | frozenset(re.sub(r"\\s|[()?:]", " ", _POSNOUN).replace("|", " ").split())


def _is_headline(tokens: Sequence[_Token]) -> bool:
    words = [t for t in tokens if t.text[0].isalpha() and len(t.text) > 3]
    if len(words) < 4:
        return False
    return sum(t.text[0].isupper() for t in words) >= 0.75 * len(words)


def _chunk(
    tokens: list[_Token],
    time_of: dict[int, int],
    mentions: Sequence[TimeMention],
    *,
    headline: bool = False,
) -> list[_Item]:
    """Group tokens into items: time mentions, name chunks (split at titles) and words.

    In a Title Case headline every word is capitalised, so a name after a title is cut to
    its usual length ("Chair Jane Doe Backs Plan" -> "Jane Doe").
    """
    items: list[_Item] = []
    index = 0
    n = len(tokens)
    while index < n:
        token = tokens[index]
        if index in time_of:
            m_index = time_of[index]
            end = index
            while end + 1 < n and time_of.get(end + 1) == m_index:
                end += 1
            mention = mentions[m_index]
            items.append(_Item("T", mention.text, tokens[index].start, tokens[end].end, mention))
            index = end + 1
            continue
        if token.is_cap and token.lower not in _CAP_STOP and token.text[0].isalpha():
            end = index
            so_far = {token.lower}  # the chunk's words, kept up to date as it grows
            while end + 1 < n and (end + 1) not in time_of:
                nxt = tokens[end + 1]
                if nxt.is_cap and nxt.lower not in _CAP_STOP and nxt.text != "'s":
                    end += 1
                    so_far.add(nxt.lower)
                    continue
                joined = _join_length(tokens, end, so_far, time_of)
                if joined:
                    so_far.update(t.lower for t in tokens[end + 1 : end + 1 + joined])
                    end += joined
                    continue
                break
            items.extend(_split_chunk(tokens[index : end + 1], headline=headline))
            index = end + 1
            continue
        items.append(_Item("W", token.lower if token.lower in _CAP_STOP else token.text,
                           token.start, token.end))  # fmt: skip
        index += 1
    return items


def _join_length(tokens: list[_Token], last: int, so_far: set[str], time_of: dict[int, int]) -> int:
    """How many tokens after ``last`` a connector adds to the chunk ending there (0: none).

    ``so_far`` holds the lower-cased words of the chunk so far.
    """
    n = len(tokens)
    nxt = tokens[last + 1].lower
    look = last + 2
    if look < n and tokens[look].lower == "the" and nxt in {"of", "for", "to"}:
        look += 1
    if look >= n or look in time_of or not tokens[look].is_cap or tokens[look].lower in _CAP_STOP:
        return 0
    if nxt in _PARTICLES or nxt == "&" or nxt == "upon":
        return look - last
    if nxt in {"of", "for"} and so_far & _HEADS_OF:
        return look - last
    if nxt == "to" and so_far & _HEADS_TO:
        return look - last
    if nxt == "and" and so_far & {"of", "for", "to"} and so_far & _HEADS_OF:
        head_next = tuple(t.lower for t in tokens[look : look + _MAX_HEAD])
        if any(head_next[: len(key)] == key for key in _CAP_HEADS):
            return 0
        return look - last
    return 0


def _find_head(lows: list[str]) -> tuple[int, int, str] | None:
    for start in range(len(lows)):
        for length in range(min(_MAX_HEAD, len(lows) - start), 0, -1):
            key = tuple(lows[start : start + length])
            spec = _CAP_HEADS.get(key)
            if spec is None:
                continue
            kind, needs_of = spec
            after = lows[start + length] if start + length < len(lows) else ""
            if needs_of and after != "of":
                continue
            return start, length, kind
        if (
            start + 2 < len(lows)
            and lows[start] == "chief"
            and lows[start + 2] == "officer"
            and lows[start + 1] != "executive"
        ):
            return start, 3, "job"
    return None


def _person_like(tokens: Sequence[_Token]) -> bool:
    while len(tokens) > 1 and tokens[0].lower.rstrip(".") in _HONORIFICS:
        tokens = tokens[1:]
    core = [
        t for t in tokens if t.lower not in _NAME_SUFFIXES and not re.fullmatch(r"[A-Z]\.", t.text)
    ]
    if not 1 <= len(core) <= 4:
        return False
    for token in core:
        if token.lower in _PARTICLES:
            continue
        if not token.text[0].isupper() or token.lower.rstrip(".") in _NONPERSON:
            return False
        if any(c.isdigit() for c in token.text) or token.lower in _HONORIFICS:
            return False
    return True


def _split_trailing_person(tail: list[_Token]) -> tuple[list[_Token], list[_Token]]:
    """Split "Trade Mara Quint" into the office tail ("Trade") and a person ("Mara Quint")."""
    n = len(tail)
    if n < 3:
        return tail, []
    size = 2
    if tail[-1].lower in _NAME_SUFFIXES:
        size += 1
    while n - size - 1 >= 0 and (
        re.fullmatch(r"[A-Z]\.", tail[n - size - 1].text) or tail[n - size].lower in _PARTICLES
    ):
        size += 1
    if n - size < 1:
        return tail, []
    if re.fullmatch(r"[A-Z]\.", tail[n - size].text) and n - size - 1 >= 1:
        size += 1  # "Tulinabo S. Mushingi": an initial is never a first word
    obj, person = tail[: n - size], tail[n - size :]
    if obj[-1].lower in {"and", "of", "for", "the", "&", "to"} or not _person_like(person):
        return tail, []
    if person[0].lower in _PARTICLES:
        return tail, []
    return obj, person


def _entity_item(tokens: Sequence[_Token]) -> list[_Item]:
    """One E item for a run of name tokens, with post-nominals ("MP") split off as words."""
    items: list[_Item] = []
    toks = list(tokens)
    trailing: list[_Token] = []
    while toks and toks[-1].lower.rstrip(".") in _POSTNOMINALS:
        trailing.insert(0, toks.pop())
    while len(toks) > 1 and toks[0].lower.rstrip(".") in _POSTNOMINALS:
        items.append(_Item("W", toks[0].lower.rstrip("."), toks[0].start, toks[0].end))
        toks = toks[1:]
    while toks and toks[0].lower in {"the", "and", "of", "for", "to"}:
        items.append(_Item("W", toks[0].lower, toks[0].start, toks[0].end))
        toks = toks[1:]
    if toks:
        items.append(_Item("E", "", toks[0].start, toks[-1].end))
    items.extend(_Item("W", t.lower.rstrip("."), t.start, t.end) for t in trailing)
    return items


def _words(tokens: Sequence[_Token]) -> list[_Item]:
    return [_Item("W", t.lower, t.start, t.end) for t in tokens]


def _name_length(tokens: Sequence[_Token]) -> int:
    """How many leading tokens make a usual person name: two words, plus initials/particles."""
    size = 0
    words = 0
    for token in tokens:
        if (
            re.fullmatch(r"[A-Z]\.", token.text)
            or token.lower in _PARTICLES
            or (words == 0 and token.lower.rstrip(".") in _HONORIFICS)
        ):
            size += 1
            continue
        if token.lower in _NAME_SUFFIXES:
            size += 1
            break
        if words == 2:
            break
        size += 1
        words += 1
    return size


def _split_chunk(tokens: list[_Token], *, headline: bool = False) -> list[_Item]:
    """Split a capitalised chunk at a title: "Acme Chief Executive Jane Doe" -> 3 items."""
    lows = [t.lower for t in tokens]
    found = _find_head(lows)
    if found is None:
        return _entity_item(tokens)
    start, length, kind = found
    pre, head, rest = tokens[:start], tokens[start : start + length], tokens[start + length :]
    connector: list[_Token] = []
    tail: list[_Token] = []
    person: list[_Token] = []
    leftover: list[_Token] = []
    if rest and rest[0].lower in {"of", "for", "to"}:
        connector = [rest[0]]
        rest = rest[1:]
        if rest and rest[0].lower == "the":
            connector.append(rest[0])
            rest = rest[1:]
        tail, person = _split_trailing_person(rest)
    elif rest:
        if headline:
            person, leftover = rest[: _name_length(rest)], rest[_name_length(rest) :]
        else:
            person = rest
        if not _person_like(person):
            return _entity_item(tokens)
    if not pre and not head:
        return _entity_item(tokens)
    items: list[_Item] = []
    # Trailing modifiers of the part before the head ("Acme Deputy") are words, not names.
    mods: list[_Token] = []
    while pre and pre[-1].lower in _OFFICE_MOD_WORDS:
        mods.insert(0, pre.pop())
    if pre:
        items.extend(_entity_item(pre))
    items.extend(_words(mods))
    items.extend(_words(head))
    items.extend(_words(connector))
    if tail:
        items.extend(_entity_item(tail))
    if person:
        items.extend(_entity_item(person))
    items.extend(_words(leftover))
    return items


# --------------------------------------------------------------------------------------------
# Patterns over the reduced string. ⟨E12⟩ is chunk 12, ⟨T3⟩ is time mention 3.


def _e(name: str) -> str:
    return rf"⟨E(?P<{name}>\d+)⟩"


_ANY_E = r"⟨E\d+⟩"
_T = r"⟨T\d+⟩"
_B = r"(?![\w-])"  # word end
_POSTNOM = r"(?:,?\s(?:mp|mep|msp|mla|mpp|qc|kc|obe|mbe|cbe|phd)(?![\w-]))*"
# Auxiliaries, adverbs and times between a subject and its verb ("has been", "on Monday").
_ADV = (
    r"(?:(?:has|have|had|was|were|is|are|will|be|been|being|also|now|then|officially|finally|currently|"
    r"just|already|recently|formally|reportedly|subsequently|later|eventually|once|previously|"
    r"initially|originally|again|ultimately|duly|today|yesterday|unanimously|quietly|"
    r"(?:is|are|was|were)\s(?:set|expected|due|poised|scheduled|going)\sto|(?:agreed|decided|"
    r"opted)\sto|to)\s|(?:(?:on|in|at|this|last|earlier|later)\s)?⟨T\d+⟩,?\s){0,6}"
)
_MODS = rf"(?P<mods>(?:(?:{_ROLE_MODS}){_B}\s?)*)"
_PMODS = rf"(?P<pmods>(?:(?:{_ROLE_MODS}){_B}\s?)*)"
_PMODS2 = rf"(?P<pmods2>(?:(?:{_ROLE_MODS}){_B}\s?)*)"
_ANYTITLE = rf"(?:{_OFFHEAD}|{_ORGTITLE}|{_JOBTITLE}|{_POSNOUN})"
_COORD = rf"(?:\s(?:and|&)\s(?:{_ANYTITLE}))?"
_LC_TAIL_WORD = (
    r"(?<![\w'-])(?!(?:said|says|has|have|had|is|was|were|will|on|in|at|who|which|that|when|after|before|"
    r"and|but|with|from|since|until|as|by|for|to|of|the|a|an|announced|told|added|he|she|it|"
    r"they|his|her|him|them|its|their|under|over|latest|now|then|also|still|made|become|been|"
    r"sworn|chosen|given|taken|set|put|monday|tuesday|"
    r"wednesday|thursday|friday|saturday|sunday)\b)[a-z][a-z-]+"
)
# An open-class lower-case word inside an office ("illegal migration minister"): no verb forms.
_LC_OFFICE_MOD = rf"(?![a-z]+(?:ed|ing)\b){_LC_TAIL_WORD}"
_OFF_TAIL = (
    rf"(?:\s(?:of|for|to)\s(?:the\s)?(?:{_ANY_E}(?:(?:,\s{_ANY_E})*,?\s(?:and|&)\s{_ANY_E})?"
    rf"(?:\s(?:of|in)\s(?:the\s)?{_ANY_E})?"
    rf"|{_LC_TAIL_WORD}(?:,?\s(?:and\s)?{_LC_TAIL_WORD}){{0,5}}))"
)
# A role: "chief executive of ⟨E⟩", "⟨E⟩'s chair", "Secretary of State for ⟨E⟩", "⟨E⟩ boss".


def _role(open_modifiers: bool) -> str:
    """The role fragment; ``open_modifiers`` lets offices take any lower-case words before the
    head ("illegal migration minister"). Only safe where the role starts at a fixed place
    (after "as", "appointed", "is the"), not where a search may start it anywhere."""
    office_mods = rf"(?:{_OFFMODS}|{_LC_OFFICE_MOD}|and)" if open_modifiers else rf"(?:{_OFFMODS})"
    return (
        rf"{_MODS}(?:"
        rf"{_e('poss')}'s\s{_PMODS}(?P<ptitle>(?:(?:{_OFFMODS})\s)*{_ANYTITLE}){_B}"
        rf"|(?P<title>{_ORGTITLE}|{_JOBTITLE}|{_POSNOUN}){_COORD}\s(?P<conn>of|at|for|with)\s"
        rf"(?:the\s)?(?:{_ANY_E}'s\s)?{_e('tobj')}"
        rf"|(?P<office>(?:{_ANY_E}\s)?(?:{office_mods}\s){{0,4}}(?:{_OFFHEAD}){_B}{_OFF_TAIL}?)"
        rf"|{_e('pre')}\s{_PMODS2}(?P<pretitle>{_ORGTITLE}|{_JOBTITLE}|{_POSNOUN}){_B}"
        rf")"
    )


# A role: "chief executive of ⟨E⟩", "⟨E⟩'s chair", "Secretary of State for ⟨E⟩", "⟨E⟩ boss".
_ROLE = _role(open_modifiers=True)
_ROLE_STRICT = _role(open_modifiers=False)
# A role with no organisation named; the organisation comes from the pattern ("Y named X as
# its chair", "X joined Y as head coach").
_IROLE = (
    rf"(?P<imods>(?:(?:{_ROLE_MODS}){_B}\s?)*)(?P<ititle>{_ORGTITLE}|{_JOBTITLE}|{_POSNOUN}){_B}"
)
# Subject: a name, optionally with an age, a parenthesis or an appositive gap before its verb.
_SUBJ = (
    rf"{_e('s')}{_POSTNOM}(?:\s\(\d{{1,2}}\))?"
    rf"(?:(?P<who>,\s(?:who|which)\s)|(?P<gap>,\s[^;⟨]{{0,60}}?(?:⟨[ET]\d+⟩[^;⟨]{{0,40}}?){{0,3}},)\s"
    rf"|(?P<gap2>\s(?:is|was)\s(?:a|an)\s(?:[^,;⟨]|⟨E\d+⟩){{1,50}}?\s(?:who\s|(?=(?:now\s|currently\s)?"
    rf"serving\s)))|\s)"
)
_AS = (
    r"(?:\s(?:as|to\sbe|to\sthe\s(?:role|post|position)\sof|into\sthe\s(?:role|post)\sof|to))?"
    r"\s(?:the\s)?"
)


def _p(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern)


_P_APPOINTED = _p(
    rf"{_SUBJ}(?P<adv>{_ADV})(?P<v>appointed|reappointed|re-appointed|named|elected|re-elected|installed|"
    rf"confirmed|chosen|selected|picked|unveiled|announced|hired|recruited|promoted|sworn\sin|"
    rf"inaugurated|voted\sin|tapped|drafted\sin|brought\sin|made|crowned|instated)"
    rf"{_AS}{_ROLE}"
)
_P_BECAME = _p(
    rf"{_SUBJ}{_ADV}(?P<neg>no\slonger\s)?(?P<v>became|becomes|become|becoming|took\sover\sas|"
    rf"takes\sover\sas|take\sover\sas|took\soffice\sas|takes\soffice\sas|assumed\soffice\sas|"
    rf"assumed\sthe\srole\sof|assumes\sthe\srole\sof|took\sup\sthe\s(?:role|post)\sof|"
    rf"takes\sup\sthe\s(?:role|post)\sof|stepped\sup\sas|steps\sin\sas|stepped\sin\sas|"
    rf"returns\sas|returned\sas|begins\s(?:his|her|their)\stenure\sas|"
    rf"began\s(?:his|her|their)\stenure\sas|started\sas|starts\sas|continues\sas|"
    rf"serves\sas|served\sas|serving\sas|(?:is|was)\sback\sas|has\sbeen|have\sbeen|had\sbeen|"
    rf"is|was|were|remains|remained|'s)\s(?:(?:a|an|the)\s)?{_ROLE}"
)
_P_APPOSITIVE = _p(
    rf"{_e('s')}{_POSTNOM}(?:,\s\d{{1,3}})?(?P<v>,)\s(?:(?:a|an|the|its|their)\s)?{_ROLE}"
    rf"(?=\s?(?:,|\.|;|\)|$|\s(?:said|says|told|added|and|who|has|had|is|was|will|explained|at|in|on|"
    rf"during|with|from|"
    rf"announced|wrote|noted)\b))"
)
_P_LISTED = _p(
    rf"^(?:in:\s|out:\s)?{_e('s')}{_POSTNOM}\s?(?P<v>[:–—-])\s(?:the\s)?{_ROLE}"
    rf"(?=\s?(?:[,;.]|$|\sand\s))"
)
_P_PRETITLE = _p(rf"(?<![\w'⟩-])(?P<v>){_ROLE_STRICT}(?P<comma>,)?\s{_e('s')}(?(comma),|(?!'s))")
_P_ORG_APPOINTS = _p(
    rf"{_e('a')}(?:'s\s(?:board(?:\sof\s(?:directors|trustees))?|trustees|shareholders))?"
    rf"\s{_ADV}(?P<v>appointed|appoints|appoint|named|names|name|hired|hires|hire|elected|"
    rf"elects|elect|selected|selects|chose|chooses|picked|tapped|unveiled|confirmed|promoted|"
    rf"installed|swore\sin|recruited)\s(?:(?:its|their|the|a)\s)?"
    rf"(?:(?P<ititle0>{_ORGTITLE})\s)?(?:(?:mp|mep|msp|mla)\s)?{_e('s')}"
    rf"(?:{_AS}{_IROLE}(?!\s(?:of|at|for)\s))?"
)
_P_ORG_APPOINTS_ROLE = _p(
    rf"{_e('a')}\s{_ADV}(?P<v>appointed|appoints|appoint|named|names|name|hired|hires|hire|"
    rf"elected|elects|elect|selected|chose|picked|tapped|confirmed|promoted|installed|swore\sin)"
    rf"\s(?:(?:mp|mep|msp|mla)\s)?{_e('s')}{_AS}{_ROLE}"
)
# "Serie A side", "second-division club": a descriptor before a team's name.
_SIDE = (
    rf"(?:(?:the\s)?(?:(?:{_ANY_E}|(?!(?:from|to|with|at|for|on|in|of|and|by)\s)[a-z][\w-]*)\s){{0,3}}?"
    rf"(?:side|club|outfit|team|franchise)\s)?"
)
_P_JOINED = _p(
    rf"{_SUBJ}{_ADV}(?P<neg>no\slonger\s)?(?P<v>joined|joins|join|joining|rejoined|rejoins|"
    rf"rejoin|re-joined|re-joins|"
    rf"(?:signed|signs|agreed|agrees)\s(?:a|an)\s(?:[\w£$€.,-]+\s){{0,3}}(?:deal|contract|terms)\sto\sjoin|"
    rf"(?:agreed|agrees|agreeing)\sto\sterms(?:\son\s(?:a|an)\s(?:[\w£$€.,-]+\s){{0,3}}(?:deal|contract))?"
    rf"\swith|(?:extended|extends|extending)\s(?:his|her|their)\s(?:[\w-]+\s){{0,2}}(?:contract|deal)\s"
    rf"with|agreeing\swith|(?:is|was|are|were)\s(?:currently\s)?on\sthe\s(?:roster|books)\s(?:of|for|at)|"
    rf"(?:signed|signs|sign|agreed|agrees)\s(?:(?:a|an|his|her)\s)?"
    rf"(?:[\w£$€.,-]+\s){{0,3}}(?:deal|contract|terms)\swith|"
    rf"scored\s(?:(?:his|her|a|the|their)\s)?(?:[\w-]+\s){{0,2}}(?:goal|try|goals|points)\sfor|"
    rf"(?:is|be|was|are|were|been)\spart\sof|signed\son\swith|signs\son\swith|"
    rf"rides\sfor|rode\sfor|races\sfor|raced\sfor|riding\sfor|racing\sfor|named\sto|"
    rf"called\sup\sto|signed\s(?:for|with|to)|signs\s(?:for|with|to)|"
    rf"sign\s(?:for|with|to)|signing\s(?:for|with)|re-signed\swith|re-signs\swith|"
    rf"completed\s(?:a|his|her|the)\s(?:[\w£$€.,-]+\s){{0,3}}(?:move|switch|transfer)\sto|"
    rf"completes\s(?:a|his|her|the)\s(?:[\w£$€.,-]+\s){{0,3}}(?:move|switch|transfer)\sto|"
    rf"moved\sto|moves\sto|move\sto|switched\sto|switches\sto|transferred\sto|returned\sto|"
    rf"returns\sto|return\sto|plays\sfor|played\sfor|playing\sfor|play\sfor|scored\sfor|"
    rf"made\s(?:his|her)\sdebut\sfor|debuted\sfor|committed\sto|commits\sto|"
    rf"(?:was\s|is\s|been\s)?loaned\s(?:out\s)?to|(?:is\s|was\s|currently\s)?on\sloan\s(?:at|with)|"
    rf"works\s(?:for|at)|worked\s(?:for|at)|working\s(?:for|at))\s"
    rf"{_SIDE}(?:the\s)?{_e('o')}(?:'s\s(?:⟨E(?P<o2>\d+)⟩|(?:[a-z-]+\s){{0,2}}(?:team|squad|side)))?(?!'s)"
    rf"(?:\s(?P<loan1>on\s(?:a\s)?(?:[\w-]+\s){{0,2}}loan\s)?from\s{_SIDE}(?:the\s)?{_e('frm')})?"
    rf"(?:\s(?P<loan2>on\s(?:a\s)?(?:[\w-]+\s){{0,2}}loan))?"
    rf"(?:\sas\s(?:(?:the|a|an|its|their)\s)?(?:{_IROLE}|{_ROLE}))?"
)
_P_CLUB_SIGNS = _p(
    rf"{_e('a')}\s{_ADV}(?P<v>signed|signs|sign|re-signed|re-signs|acquired|acquires|acquire|"
    rf"landed|lands|land|recruited|recruits|snapped\sup|snaps\sup|brought\sin|brings\sin|"
    rf"drafted|drafts|claimed|added|selected|(?:completed|confirmed|announced|secured|completes|confirms|"
    rf"announces|secures|announce|confirm|complete|secure)\sthe\s(?:[^⟨;]{{0,25}}\s)?signing\sof)"
    rf"\s(?:(?:the|new|young|veteran|former|highly-rated|teenage|talented|\d+-year-old|"
    rf"(?:{_POSNOUN})s?)\s){{0,3}}(?:{_ANY_E}\s(?:[a-z-]+\s){{0,2}}?(?:(?:{_POSNOUN}|transfer|\d+-year-old)\s){{1,2}})?"
    rf"{_e('s')}(?!'s)"
    rf"(?P<more>(?:,\s{_ANY_E}(?!'s))*,?\sand\s{_ANY_E}(?!'s))?"
    rf"(?:\s(?P<loan1>on\s(?:a\s)?(?:[\w-]+\s){{0,2}}loan\s)?from\s{_SIDE}(?:the\s)?{_e('frm')})?"
    rf"(?:\s(?P<loan2>on\s(?:a\s)?(?:[\w-]+\s){{0,2}}loan))?"
)
_P_SENDS = _p(
    rf"{_e('a')}\s{_ADV}(?P<v>sent|sends|traded|trades|loaned|loans|sold|sells|released|"
    rf"releases|waived|waives|cut|parted\scompany\swith|parted\sways\swith|sacked|sacks|fired|"
    rf"fires|dismissed|dismisses|axed|axes)\s(?:(?:the|their|its|his|her)\s)?"
    rf"(?:(?P<stitle>{_ORGTITLE}|{_POSNOUN})\s)?{_e('s')}(?!'s)(?:\sto\s(?:the\s)?{_e('to')})?"
)
_P_SIGNED_BY = _p(
    rf"{_SUBJ}{_ADV}(?P<v>signed|acquired|drafted|claimed|picked\sup|snapped\sup|recruited|"
    rf"loaned|traded|sent)\s(?:(?:[^⟨;,]{{0,40}}?|⟨T\d+⟩)\s)?(?:by|to)\s(?:the\s)?{_e('o')}(?!'s)"
)
# "Jane Doe of Riverside Rovers scored": in sports reports a player's team follows "of".
_P_PAREN_TEAM = _p(rf"{_e('s')}\s(?P<v>\()(?:the\s)?{_e('o')}\)")
_P_POSS_TEAM = _p(rf"(?<![\w⟩])(?P<v>){_e('o')}'s\s{_e('s')}(?!'s)(?=\s[a-z]|[,.;]|$)")
_P_OF_TEAM = _p(rf"{_e('s')}(?P<v>\sof)\s(?:the\s)?{_e('o')}(?=[,.;)]|\s[a-z]|$)")
_LEAVE_VERBS = (
    r"stepped\sdown|steps\sdown|step\sdown|stepping\sdown|stood\sdown|stands\sdown|"
    r"stand\sdown|resigned|resigns|resign|resigning|quit|quits|retired|retires|retire|departed|"
    r"departs|depart|left|leaves|leave|leaving|exited|exits|sacked|fired|dismissed|ousted|"
    r"removed|axed|released|relieved\sof\s(?:his|her)\sduties|let\sgo|"
    r"lost\s(?:his|her)\s(?:job|seat|role|position)|parted\s(?:company|ways)\swith|"
    r"ended\s(?:his|her)\s(?:spell|tenure|time)\s(?:at|with)"
)
_P_LEFT_ROLE = _p(
    rf"{_SUBJ}{_ADV}(?P<v>{_LEAVE_VERBS}|replaced)\s(?:as|from)\s(?:(?:his|her|their|the)\s"
    rf"(?:role|post|position|job)\s(?:as|of)\s)?(?:the\s)?{_ROLE}"
    rf"(?:\s(?:by|with)\s{_e('by')})?"
)
_P_LEFT_ORG = _p(
    rf"{_SUBJ}{_ADV}(?P<v>{_LEAVE_VERBS})\s(?:from\s)?(?:the\s)?(?:(?:board|role|post|position)"
    rf"\s(?:of|at)\s(?:the\s)?)?{_e('o')}(?!'s)"
)
_P_NO_LONGER = _p(rf"{_SUBJ}{_ADV}(?P<v>no\slonger)\s(?:(?:a|an|the)\s)?{_ROLE}")
_P_SUCCEEDED = _p(
    rf"{_SUBJ}{_ADV}(?P<v>succeeded|succeeds|succeed|succeeding|replaced|replaces|replace|"
    rf"replacing|took\sover\sfrom|takes\sover\sfrom|take\sover\sfrom|taken\sover\sfrom)\s(?:the\s)?"
    rf"(?:(?:outgoing|retiring|departing|former|late|interim)\s)?{_e('z')}(?!'s)"
    rf"(?:,\s[^,;]{{1,80}}?,)?\s(?:as|at\sthe\shelm\sof)\s(?:the\s)?{_ROLE}"
)
_P_SUCCEEDED_BY = _p(
    rf"{_SUBJ}{_ADV}(?P<v>succeeded|replaced)\sby\s{_e('z')}(?!'s)\sas\s(?:the\s)?{_ROLE}"
)
_P_SUCCESSION_TAIL = _p(
    rf",\s(?:who\s)?(?P<v>succeeds|succeeded|succeeding|replaces|replaced|replacing|"
    rf"takes\sover\sfrom|took\sover\sfrom|taking\sover\sfrom)\s(?:the\s)?"
    rf"(?:(?:outgoing|retiring|departing|interim)\s)?{_e('z')}(?!'s)"
)
_P_LEADS = _p(
    rf"{_SUBJ}{_ADV}(?P<v>leads|led|heads|headed|chairs|chaired|runs|ran|coaches|coached|"
    rf"manages|managed|captains|captained)\s(?:the\s)?{_e('o')}(?!'s|\s(?:to|in|past|against|"
    rf"with|into|through|for|on)\b)"
)
_KIN = (
    r"wife|husband|spouse|partner|girlfriend|boyfriend|fiancée|fiancee|fiancé|fiance|"
    r"ex-wife|ex-husband|widow|widower"
)
_P_MARRIED = _p(
    rf"{_SUBJ}{_ADV}(?P<v>married|marries|marry|wed|weds|is\smarried\sto|was\smarried\sto|"
    rf"married\sto|got\smarried\sto|gets\smarried\sto|tied\sthe\sknot\swith|ties\sthe\sknot\swith|"
    rf"is\sengaged\sto|engaged\sto|got\sengaged\sto|became\sengaged\sto|is\sdating|was\sdating|"
    rf"dating|dated|is\sin\sa\srelationship\swith|in\sa\srelationship\swith|divorced|divorces|"
    rf"split\sfrom|splits\sfrom|split\swith|broke\sup\swith|breaks\sup\swith|separated\sfrom|"
    rf"filed\sfor\sdivorce\sfrom)\s(?:(?:his|her|their)\s(?:longtime\s|long-time\s)?"
    rf"(?:{_KIN})\s)?(?:the\s)?{_e('o')}(?!'s)"
)
_P_KIN = _p(
    rf"{_e('s')}(?:'s\s|\sand\s(?:his|her)\s|\swith\s(?:his|her)\s|,\s(?:and\s)?(?:his|her)\s)"
    rf"(?P<kmods>(?:(?:new|late|former|ex-|longtime|long-time|then|now|current)\s?)*)"
    rf"(?P<v>{_KIN}),?\s(?:the\s)?{_e('o')}"
)
_P_KIN_REVERSE = _p(
    rf"{_e('o')},\s{_e('s')}'s\s(?P<kmods>(?:(?:new|late|former|ex-|longtime|long-time)\s?)*)"
    rf"(?P<v>{_KIN})"
)
_P_HQ = _p(
    rf"{_e('s')}(?:,\s(?:which\s(?:is|was)\s|(?:a|an|the)\s[^,;⟨]{{0,40}}?\s)?|\s(?:is|are|was|"
    rf"were|has\sbeen|remains|(?:is|are)\scurrently)\s)(?P<v>headquartered|based|located)\s"
    rf"(?:in|at)\s(?:the\s)?{_e('o')}"
)
_P_HQ_MOVE = _p(
    rf"{_e('s')}\s{_ADV}(?P<v>moved|moves|relocated|relocates|relocate|move|will\smove|"
    rf"is\smoving|shifted|shifts)\s(?:its|their)\s(?:global\s|corporate\s|european\s)?"
    rf"(?:headquarters|hq|head\soffice)\s(?:from\s(?:the\s)?{_e('frm')}\s)?to\s(?:the\s)?{_e('o')}"
)
_P_HQ_POSS = _p(
    rf"{_e('s')}'s\s(?:global\s|corporate\s)?(?:headquarters|hq|head\soffice)\s(?P<v>is|are)\s"
    rf"(?:located\s)?in\s(?:the\s)?{_e('o')}"
)
_P_OWNED = _p(
    rf"{_e('s')}(?:,|\s(?:is|are|was|were|has\sbeen|remains|(?:is|are)\snow))\s(?:(?:wholly|"
    rf"majority|partly|now|currently|privately|jointly)[\s-])?(?P<v>owned|controlled)\sby\s"
    rf"(?:the\s)?{_e('o')}"
)
_P_SUBSIDIARY = _p(
    rf"{_e('s')}(?:,|\s(?:is|was|became))\s(?:(?:a|an|the)\s)?(?:wholly[\s-]owned\s)?"
    rf"(?P<v>subsidiary|unit|division)\sof\s(?:the\s)?{_e('o')}"
)
_P_ACQUIRED = _p(
    rf"{_e('o')}\s{_ADV}(?P<v>owns|acquired|acquires|bought|buys|purchased|purchases|"
    rf"took\sover|takes\sover|completed\s(?:its|the)\s(?:acquisition|purchase|takeover)\sof)\s"
    rf"(?:(?:rival|fellow|the)\s)?{_e('s')}(?!'s)"
)
_P_MEMBER = _p(
    rf"{_SUBJ}{_ADV}(?P<v>is|was|has\sbeen|became|becomes|remains)\s(?:(?:a|an)\s)?"
    rf"(?:[a-z-]+\s){{0,2}}?member\sof\s(?:the\s)?{_e('o')}"
)
_P_NOUN_EVENT = _p(
    rf"(?:(?:the|his|her)\s)?(?P<v>appointment|election|hiring|promotion|installation|"
    rf"resignation|departure|exit|sacking|dismissal|firing|retirement|move|transfer|switch|"
    rf"loan\smove)\sof\s{_e('s')}(?:\s(?:as|to)\s(?:the\s)?{_ROLE}|\s(?:to|from|at)\s(?:the\s)?"
    rf"{_e('o')})"
)
_P_NOUN_EVENT_POSS = _p(
    rf"{_e('s')}'s\s(?:(?:permanent|loan|season-long|shock|surprise|\w+-million)\s)*"
    rf"(?P<v>appointment|election|promotion|resignation|departure|exit|sacking|dismissal|"
    rf"retirement|move|transfer|switch)(?:\s(?:as|to)\s(?:the\s)?{_ROLE}|\s(?:to|from|at)\s"
    rf"(?:the\s)?{_e('o')})"
)

_PAST_STATIVE = frozenset(
    {
        "was", "were", "remained", "served as", "served", "played", "led", "headed", "chaired",
        "ran", "coached", "managed", "captained", "dated", "had been",
    }
)  # fmt: skip
_EVENT_BECAME = frozenset(
    {"became", "becomes", "become", "becoming", "took over as", "takes over as", "take over as"}
)
_NEGATIVE_KIN = frozenset({"ex-wife", "ex-husband", "widow", "widower"})


# --------------------------------------------------------------------------------------------
# Drafts: facts before time assignment and validation.


@dataclass
class _Draft:
    subject: str
    relation: str
    object: str
    negated: bool
    mode: str  # "event" (starts/ends at a time), "state" (only since/until), "past" (ended)
    anchor: int  # position of the trigger in the reduced string
    left: int
    right: int
    shares_time_with: _Draft | None = None
    valid_from: TimeSpan | None = None
    valid_to: TimeSpan | None = None


@dataclass
class _DocState:
    sports: bool
    last_person: str | None = None


_RIGHT_BOUNDARY = re.compile(
    r"[;:]|\s[—–]\s|,(?!\s(?:effective|with\seffect|starting|beginning|from|until|as\sof|"
    r"which\stakes\seffect|⟨T\d+⟩))"
)
_LEFT_BOUNDARY = re.compile(r"[;:]|\s[—–]\s|\s-\s|,\s(?:but|while|whereas|although|though|and)\s")
# Negation and hedging before a trigger: "did not join", "could become", "linked with".
_HEDGE = re.compile(
    r"\b(?:not|n't|never|neither|nor|if|whether|could|would|might|may|rumou?red|linked|talks|"
    r"considering|denied|denies|deny|reportedly\sclose|hoping|hopes|wants|want)\b|n't\b"
)


class _Sentence:
    """A sentence with its items and reduced string, and the helpers patterns need."""

    def __init__(self, text: str, surface: str, items: list[_Item], doc: _DocState) -> None:
        self.text = text
        self.surface = surface
        self.items = items
        self.doc = doc
        pieces: list[str] = []
        self.owner: list[int] = []
        self._starts: list[int] = []  # item index -> its first position in `reduced`
        for index, item in enumerate(items):
            piece = {"E": f"⟨E{index}⟩", "T": f"⟨T{index}⟩"}.get(item.kind, item.text)
            piece = piece.replace("’", "'") if item.kind == "W" else piece
            if pieces and piece not in _NO_SPACE_BEFORE and pieces[-1] not in _NO_SPACE_AFTER:
                pieces.append(" ")
                self.owner.append(-1)
            pieces.append(piece)
            self._starts.append(len(self.owner))
            self.owner.extend([index] * len(piece))
        self.reduced = "".join(pieces)
        # Ends of the clause boundaries, in order, so `window` bisects instead of rescanning.
        self._left_ends = [b.end() for b in _LEFT_BOUNDARY.finditer(self.reduced)]
        self.times = [
            (self._r_start(i), item.mention)
            for i, item in enumerate(items)
            if item.kind == "T" and item.mention is not None
        ]
        self.drafts: list[_Draft] = []

    def _r_start(self, index: int) -> int:
        return self._starts[index]

    def entity(self, match: re.Match[str], group: str) -> str | None:
        value = match.group(group)
        if value is None:
            return None
        item = self.items[int(value)]
        return item.text or _clean_name(self.surface[item.start : item.end])

    def original(self, start: int, end: int) -> str:
        owners = [o for o in self.owner[start:end] if o >= 0]
        if not owners:
            return ""
        return self.surface[self.items[owners[0]].start : self.items[owners[-1]].end]

    def window(self, match: re.Match[str]) -> tuple[int, int]:
        """The clause around a match: where a time mention may belong to its fact."""
        reduced = self.reduced
        anchor = match.start("v")
        # The last boundary that ends at or before the anchor.
        found = bisect_right(self._left_ends, anchor)
        left = self._left_ends[found - 1] if found else 0
        groups = match.re.groupindex
        for gap in ("gap", "gap2"):
            if gap in groups and match.group(gap):
                left = max(left, match.end(gap))
        if "who" in groups and match.group("who"):
            left = max(left, match.start("who"))
        right = len(reduced)
        end = _RIGHT_BOUNDARY.search(reduced, match.end())
        if end:
            right = end.start()
        return left, right

    def add(
        self,
        match: re.Match[str],
        subject: str | None,
        relation: str,
        obj: str | None,
        *,
        negated: bool = False,
        mode: str = "event",
    ) -> _Draft | None:
        if not subject or not obj or subject == obj:
            return None
        if relation == TEAM and _SPORTS_ORG.search(subject):
            return None
        left, right = self.window(match)
        if _HEDGE.search(self.reduced, left, match.end()):
            return None
        draft = _Draft(subject, relation, obj, negated, mode, match.start("v"), left, right)
        self.drafts.append(draft)
        return draft


def _clean_name(text: str) -> str:
    """Normalise a surface name: no leading "the"/honorific, no trailing punctuation."""
    text = " ".join(text.replace("’", "'").split())
    text = text.strip(" ,.;:\"“”'()[]")
    words = text.split()
    while len(words) > 1 and (
        words[0].lower() == "the" or words[0].lower().rstrip(".") in _HONORIFICS
    ):
        words = words[1:]
    text = " ".join(words)
    if text.endswith("'s"):
        text = text[:-2]
    return text.rstrip(" ,.;:'")


def _valid_name(name: str) -> bool:
    words = name.split()
    if not words or len(words) > _MAX_NAME_WORDS:
        return False
    if name.lower() in _PRONOUNS or name.lower() in _CAP_STOP or _DEMONYM.fullmatch(name):
        return False
    return any(c.isupper() for c in name) and any(c.isalpha() for c in name)


def _valid_person(name: str) -> bool:
    """Whether a subject can be a person: a short name, no organisation or place words."""
    if not _valid_name(name):
        return False
    words = [w for w in name.split() if w.lower() not in _PARTICLES]
    if len(words) > 5 or any(w.lower().rstrip(".") in _NONPERSON_SUBJECT for w in words):
        return False
    return all(w[:1].isupper() or w[:1].isdigit() for w in words)


def _title_case_office(text: str) -> str:
    small = {"of", "for", "the", "and", "to", "on", "in", "at", "&"}
    words = []
    for index, word in enumerate(text.split()):
        if word.islower() and (index == 0 or word not in small):
            word = "-".join(part[:1].upper() + part[1:] for part in word.split("-"))
        words.append(word)
    return " ".join(words)


def _mod_words(value: str | None) -> list[str]:
    return (value or "").split()


def _relation_for_title(title: str, mods: list[str], sports: bool) -> str | None:
    """Map an organisation title ("chief executive", "striker") to a relation."""
    title = " ".join(title.split())
    if re.fullmatch(_POSNOUN, title):
        return TEAM if sports else None
    if re.fullmatch(_JOBTITLE, title):
        return EMPLOYER
    subordinate = bool(set(mods) & _SUBORDINATE_MODS)
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


def _role_facts(
    sentence: _Sentence,
    match: re.Match[str],
    subject: str | None,
    *,
    default_org: str | None = None,
) -> list[tuple[str, str, bool]]:
    """Resolve the ``_ROLE`` (or ``_IROLE``) groups of a match into (relation, object, negated)."""
    groups = match.re.groupindex
    sports = sentence.doc.sports
    mods = _mod_words(match.group("mods")) if "mods" in groups else []
    out: list[tuple[str, str, bool]] = []

    def negated(extra: list[str]) -> bool:
        return bool(set(mods + extra) & _NEGATING_MODS)

    if "ptitle" in groups and match.group("ptitle"):
        pmods = _mod_words(match.group("pmods"))
        title = " ".join(match.group("ptitle").split())
        owner = sentence.entity(match, "poss")
        words = title.split()
        while len(words) > 1 and words[0] in _OFFMODS_SET:
            words = words[1:]
        head = " ".join(words)
        if owner and re.fullmatch(_OFFHEAD, head):
            internal = [m for m in mods + pmods if m in _OFFICE_INTERNAL_MODS]
            office = _title_case_office(" ".join([*internal, title])) + f" of {owner}"
            out.append((POSITION, office, negated(pmods)))
            if head in _HEAD_OF_GOVERNMENT and head == title and not internal:
                out.append((HEAD_GOV, owner, negated(pmods)))
        elif owner:
            relation = _relation_for_title(title, mods + pmods, sports)
            if relation:
                out.append((relation, owner, negated(pmods)))
    elif "title" in groups and match.group("title"):
        relation = _relation_for_title(match.group("title"), mods, sports)
        obj = sentence.entity(match, "tobj")
        if match.group("title") in {"professor", "lecturer"} and match.group("conn") != "at":
            obj = None  # "professor of Law": a field, not an employer
        if relation == MEMBER and obj and _LEGISLATURE.search(obj):
            out.append((POSITION, f"Member of the {obj}", negated([])))
        elif relation and obj:
            out.append((relation, obj, negated([])))
    elif "office" in groups and match.group("office"):
        out.extend(_office_facts(sentence, match, mods))
    elif "pretitle" in groups and match.group("pretitle"):
        pmods = _mod_words(match.group("pmods2"))
        relation = _relation_for_title(match.group("pretitle"), mods + pmods, sports)
        obj = sentence.entity(match, "pre")
        if relation and obj:
            out.append((relation, obj, negated(pmods)))
    elif "ititle" in groups and match.group("ititle") and default_org:
        imods = _mod_words(match.group("imods"))
        relation = _relation_for_title(match.group("ititle"), imods, sports)
        if relation == MEMBER:
            relation = None
        if relation:
            out.append((relation, default_org, bool(set(imods) & _NEGATING_MODS)))
    return [(rel, obj, neg) for rel, obj, neg in out if subject != obj]


_OFFICE_NOISE = wordset("new newly-elected newly-elect newly-appointed incoming current")
_OFFICE_HEAD_WORD = re.compile(rf"(?<![\w-])(?:{_OFFHEAD}){_B}")


def _office_facts(
    sentence: _Sentence, match: re.Match[str], mods: list[str]
) -> list[tuple[str, str, bool]]:
    start, end = match.span("office")
    raw = sentence.original(start, end)
    reduced = match.group("office")
    head = re.search(rf"(?:{_OFFHEAD}){_B}", reduced)
    if head is None:
        return []
    head_text = " ".join(head.group().split())
    has_entity_tail = "⟨E" in reduced[head.end() :]
    raw_head_pos = raw.lower().find(head_text.split()[0])
    head_is_cap = raw_head_pos >= 0 and raw[raw_head_pos].isupper()
    has_modifier = bool(reduced[: head.start()].strip())
    if head_text.split()[-1] in _AMBIGUOUS_OFFICES and not (
        has_entity_tail or head_is_cap or has_modifier or head.end() < len(reduced)
    ):
        return []  # "the secretary", "a representative": common nouns, not offices
    internal = [m for m in mods if m in _OFFICE_INTERNAL_MODS]
    words = _clean_name(raw).split()
    while len(words) > 2 and words[0].lower() in _OFFICE_NOISE:
        words = words[1:]  # "New Charleston Mayor": "new" describes the holder, not the office
    office = _title_case_office(" ".join([*internal, *words]))
    if len(office.split()) < 2 or len(office.split()) > 12:
        return []
    is_negated = bool(set(mods) & _NEGATING_MODS)
    # "Deputy PM and Justice Secretary" is two offices; "Minister for Health and Social Care"
    # is one (its second half has no office word of its own).
    parts = re.split(r"\s(?:and|&)\s", office)
    if len(parts) > 1 and all(_OFFICE_HEAD_WORD.search(part.lower()) for part in parts):
        offices = [part for part in parts if len(part.split()) >= 2]
    else:
        offices = [office]
    out = [(POSITION, name, is_negated) for name in offices]
    if head_text in _HEAD_OF_GOVERNMENT and not internal and has_entity_tail:
        tail = re.search(r"(?:of|for)\s(?:the\s)?⟨E(\d+)⟩", reduced[head.end() :])
        if tail:
            item = sentence.items[int(tail.group(1))]
            out.append((HEAD_GOV, _clean_name(sentence.surface[item.start : item.end]), is_negated))
    return out


def _team_or_employer(sentence: _Sentence, obj: str | None) -> str:
    if obj and re.search(r"\bParty\b", obj):
        return MEMBER
    if sentence.doc.sports or (obj and _SPORTS_ORG.search(obj)):
        return TEAM
    return EMPLOYER


def _verb(match: re.Match[str]) -> str:
    return " ".join(match.group("v").split())


# --------------------------------------------------------------------------------------------
# Pattern handlers. Each reads one match and adds drafts to the sentence.


_PASSIVE_AUX = re.compile(r"\b(?:was|were|been|be|is|are|being)\s")


def _h_appointed(s: _Sentence, m: re.Match[str]) -> None:
    subject = s.entity(m, "s")
    after = s.reduced[m.end("v") :].lstrip()
    passive = "adv" not in m.re.groupindex or _PASSIVE_AUX.search(m.group("adv"))
    if after.startswith("⟨E") and not passive:
        # "Acme appointed Jane Doe ..." is active: Acme is the appointer, not the appointee.
        return
    for relation, obj, neg in _role_facts(s, m, subject):
        s.add(m, subject, relation, obj, negated=neg, mode="past" if neg else "event")


def _h_became(s: _Sentence, m: re.Match[str]) -> None:
    subject = s.entity(m, "s")
    verb = _verb(m)
    no_longer = bool(m.group("neg"))
    if verb in _EVENT_BECAME or verb.startswith(("took", "takes", "take", "assum", "stepped",
                                                  "steps", "return", "beg", "start")):  # fmt: skip
        mode = "event"
    elif verb in _PAST_STATIVE or verb == "served as":
        mode = "past"
    else:
        mode = "state"
    for relation, obj, neg in _role_facts(s, m, subject):
        negated = neg or no_longer or mode == "past"
        s.add(m, subject, relation, obj, negated=negated, mode="past" if negated else mode)


def _h_stative_role(s: _Sentence, m: re.Match[str]) -> None:
    # "former chief executive X" says the role ended, not when: only since/until count.
    if (
        "comma" in m.re.groupindex
        and m.group("comma")
        and s.reduced[: m.start()].strip() not in {"", "the"}
        and not (m.group("mods") or "").startswith("the")
    ):
        return  # "Role of A, B," mid-sentence is usually a list, not "Role, Name,"
    subject = s.entity(m, "s")
    for relation, obj, neg in _role_facts(s, m, subject):
        s.add(m, subject, relation, obj, negated=neg, mode="state")


def _h_org_appoints(s: _Sentence, m: re.Match[str]) -> None:
    agent = s.entity(m, "a")
    subject = s.entity(m, "s")
    title = m.group("ititle0")
    if title:
        relation = _relation_for_title(title, [], s.doc.sports)
        if relation and relation != MEMBER:
            s.add(m, subject, relation, agent)
    for relation, obj, neg in _role_facts(s, m, subject, default_org=agent):
        s.add(m, subject, relation, obj, negated=neg, mode="past" if neg else "event")


def _h_org_appoints_role(s: _Sentence, m: re.Match[str]) -> None:
    _h_appointed(s, m)


_TEAM_QUALIFIERS = wordset(
    "national olympic junior youth senior reserve reserves development academy under-21 under-23 "
    "under-20 under-19 under-18 under-17 u21 u23 u20 u19 u18 u17 first second"
)
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


def _h_joined(s: _Sentence, m: re.Match[str]) -> None:
    subject = s.entity(m, "s")
    obj = s.entity(m, "o")
    if m.group("o2"):
        # "Freedonia Women's National Team" is one name; "Elbonia's Union Harbour" is a club
        # named after its country.
        second = s.entity(m, "o2") or ""
        if second.split()[0].lower() in _TEAM_QUALIFIERS:
            obj = _clean_name(s.original(m.start("o") - 2, m.end("o2") + 1))
        else:
            obj = second
    verb = _verb(m)
    if verb.endswith("part of") and not s.doc.sports:
        return
    negated = bool(m.group("neg"))
    roles = _role_facts(s, m, subject, default_org=obj)
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
        relation = _team_or_employer(s, obj)
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
        s.add(m, subject, _team_or_employer(s, former), former, negated=True, mode="event")


def _h_signed_by(s: _Sentence, m: re.Match[str]) -> None:
    verb = _verb(m)
    if not (s.doc.sports or verb in {"signed", "drafted"}):
        return
    s.add(m, s.entity(m, "s"), TEAM, s.entity(m, "o"))


def _h_of_team(s: _Sentence, m: re.Match[str]) -> None:
    if not s.doc.sports:
        return
    subject = s.entity(m, "s")
    obj = s.entity(m, "o")
    if subject is None or obj is None or len(subject.split()) < 2:
        return
    if m.group("v") == "(" and not _looks_like_team_in_parentheses(subject, obj):
        return
    tokens = [_Token(w, 0, 0) for w in subject.split()]
    if _person_like(tokens):
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


def _h_club_signs(s: _Sentence, m: re.Match[str]) -> None:
    agent = s.entity(m, "a")
    subject = s.entity(m, "s")
    verb = _verb(m)
    transfer = verb.startswith("sign") and bool(
        m.group("frm") or m.group("loan1") or m.group("loan2")
    )
    if not (s.doc.sports or transfer or "signing" in verb):
        return
    s.add(m, subject, TEAM, agent)
    for more in re.findall(r"⟨E(\d+)⟩", m.group("more") or ""):
        item = s.items[int(more)]
        s.add(m, _clean_name(s.surface[item.start : item.end]), TEAM, agent)
    former = s.entity(m, "frm")
    if former and not (m.group("loan1") or m.group("loan2")):
        s.add(m, subject, TEAM, former, negated=True)


def _h_sends(s: _Sentence, m: re.Match[str]) -> None:
    agent = s.entity(m, "a")
    subject = s.entity(m, "s")
    target = s.entity(m, "to")
    verb = _verb(m)
    title = m.group("stitle")
    if verb.startswith(("sold", "sells")) and not s.doc.sports:
        if target:
            s.add(m, subject, OWNER, target)
            s.add(m, subject, OWNER, agent, negated=True)
        return
    if verb.startswith(("sacked", "sacks", "fired", "fires", "dismiss", "axed", "axes")):
        relation = _relation_for_title(title, [], s.doc.sports) if title else None
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


def _h_left_role(s: _Sentence, m: re.Match[str]) -> None:
    subject = s.entity(m, "s")
    roles = _role_facts(s, m, subject)
    for relation, obj, _ in roles:
        s.add(m, subject, relation, obj, negated=True)
    successor = s.entity(m, "by")
    if successor and _verb(m) == "replaced":
        for relation, obj, _ in roles:
            s.add(m, successor, relation, obj)


def _h_left_org(s: _Sentence, m: re.Match[str]) -> None:
    subject = s.entity(m, "s")
    obj = s.entity(m, "o")
    verb = _verb(m)
    if verb.startswith(("sacked", "fired", "dismissed", "ousted", "axed", "relieved", "let")):
        relation = COACH if s.doc.sports else EMPLOYER
    else:
        relation = _team_or_employer(s, obj)
    s.add(m, subject, relation, obj, negated=True)


def _h_succeeded(s: _Sentence, m: re.Match[str]) -> None:
    subject = s.entity(m, "s")
    predecessor = s.entity(m, "z")
    for relation, obj, _ in _role_facts(s, m, subject):
        new = s.add(m, subject, relation, obj)
        old = s.add(m, predecessor, relation, obj, negated=True)
        if new and old:
            old.shares_time_with = new


def _h_succeeded_by(s: _Sentence, m: re.Match[str]) -> None:
    predecessor = s.entity(m, "s")
    successor = s.entity(m, "z")
    for relation, obj, _ in _role_facts(s, m, successor):
        new = s.add(m, successor, relation, obj)
        old = s.add(m, predecessor, relation, obj, negated=True)
        if new and old:
            old.shares_time_with = new


def _h_leads(s: _Sentence, m: re.Match[str]) -> None:
    subject = s.entity(m, "s")
    obj = s.entity(m, "o")
    verb = _verb(m)
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


def _h_married(s: _Sentence, m: re.Match[str]) -> None:
    subject = s.entity(m, "s")
    obj = s.entity(m, "o")
    verb = _verb(m)
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


def _h_kin(s: _Sentence, m: re.Match[str]) -> None:
    subject = s.entity(m, "s")
    obj = s.entity(m, "o")
    kin = m.group("v")
    mods = set(_mod_words(m.group("kmods")))
    relation = SPOUSE if kin in {"wife", "husband", "spouse", "ex-wife", "ex-husband", "widow",
                                 "widower"} else PARTNER  # fmt: skip
    negated = bool(mods & {"late", "former", "ex-", "then"}) or kin in _NEGATIVE_KIN
    s.add(m, subject, relation, obj, negated=negated, mode="past" if negated else "state")


def _h_hq(s: _Sentence, m: re.Match[str]) -> None:
    subject = s.entity(m, "s")
    obj = s.entity(m, "o")
    relation = LOCATED if m.group("v") == "located" else HQ
    past = bool(re.search(r"\s(?:was|were)\s", m.group(0)))
    s.add(m, subject, relation, obj, negated=past, mode="past" if past else "state")


def _h_hq_move(s: _Sentence, m: re.Match[str]) -> None:
    subject = s.entity(m, "s")
    s.add(m, subject, HQ, s.entity(m, "o"))
    former = s.entity(m, "frm")
    if former:
        s.add(m, subject, HQ, former, negated=True)


def _h_hq_poss(s: _Sentence, m: re.Match[str]) -> None:
    s.add(m, s.entity(m, "s"), HQ, s.entity(m, "o"), mode="state")


def _h_owned(s: _Sentence, m: re.Match[str]) -> None:
    s.add(m, s.entity(m, "s"), OWNER, s.entity(m, "o"), mode="state")


def _h_acquired(s: _Sentence, m: re.Match[str]) -> None:
    if s.doc.sports:
        return
    mode = "state" if _verb(m) == "owns" else "event"
    s.add(m, s.entity(m, "s"), OWNER, s.entity(m, "o"), mode=mode)


def _h_member(s: _Sentence, m: re.Match[str]) -> None:
    subject = s.entity(m, "s")
    obj = s.entity(m, "o")
    verb = _verb(m)
    past = verb == "was"
    mode = "past" if past else ("event" if verb.startswith("bec") else "state")
    if obj and _LEGISLATURE.search(obj):
        s.add(m, subject, POSITION, f"Member of the {obj}", negated=past, mode=mode)
    elif s.doc.sports:
        s.add(m, subject, TEAM, obj, negated=past, mode=mode)
    else:
        s.add(m, subject, MEMBER, obj, negated=past, mode=mode)


def _h_no_longer(s: _Sentence, m: re.Match[str]) -> None:
    subject = s.entity(m, "s")
    for relation, obj, _ in _role_facts(s, m, subject):
        s.add(m, subject, relation, obj, negated=True, mode="state")


_ENDING_NOUNS = wordset("resignation departure exit sacking dismissal firing retirement")


def _h_noun_event(s: _Sentence, m: re.Match[str]) -> None:
    subject = s.entity(m, "s")
    verb = _verb(m)
    ending = verb in _ENDING_NOUNS
    roles = _role_facts(s, m, subject)
    for relation, role_obj, _ in roles:
        s.add(m, subject, relation, role_obj, negated=ending)
    obj = s.entity(m, "o")
    if obj and not roles:
        between = m.group(0)[m.end("v") - m.start() : m.start("o") - m.start()]
        if ending and " from " in f"{between} ":
            s.add(m, subject, _team_or_employer(s, obj), obj, negated=True)
        elif not ending and re.search(r"\s(?:to|at)\s", between):
            s.add(m, subject, _team_or_employer(s, obj), obj)


_PATTERNS: tuple[tuple[re.Pattern[str], Callable[[_Sentence, re.Match[str]], None]], ...] = (
    (_P_SUCCEEDED, _h_succeeded),
    (_P_SUCCEEDED_BY, _h_succeeded_by),
    (_P_APPOINTED, _h_appointed),
    (_P_ORG_APPOINTS_ROLE, _h_org_appoints_role),
    (_P_ORG_APPOINTS, _h_org_appoints),
    (_P_BECAME, _h_became),
    (_P_NO_LONGER, _h_no_longer),
    (_P_APPOSITIVE, _h_stative_role),
    (_P_PRETITLE, _h_stative_role),
    (_P_LISTED, _h_stative_role),
    (_P_LEFT_ROLE, _h_left_role),
    (_P_LEFT_ORG, _h_left_org),
    (_P_JOINED, _h_joined),
    (_P_CLUB_SIGNS, _h_club_signs),
    (_P_SENDS, _h_sends),
    (_P_SIGNED_BY, _h_signed_by),
    (_P_OF_TEAM, _h_of_team),
    (_P_PAREN_TEAM, _h_of_team),
    (_P_POSS_TEAM, _h_of_team),
    (_P_LEADS, _h_leads),
    (_P_MARRIED, _h_married),
    (_P_KIN, _h_kin),
    (_P_KIN_REVERSE, _h_kin),
    (_P_HQ, _h_hq),
    (_P_HQ_MOVE, _h_hq_move),
    (_P_HQ_POSS, _h_hq_poss),
    (_P_OWNED, _h_owned),
    (_P_SUBSIDIARY, _h_owned),
    (_P_ACQUIRED, _h_acquired),
    (_P_MEMBER, _h_member),
    (_P_NOUN_EVENT, _h_noun_event),
    (_P_NOUN_EVENT_POSS, _h_noun_event),
)


# --------------------------------------------------------------------------------------------
# Time assignment.

_FROM_MARK = re.compile(r"(?:since|from|effective|starting|beginning|as\sof|between)\s$")
_TO_MARK = re.compile(r"(?:until|till|through|to|and|ending)\s$")


def _assign_times(sentence: _Sentence, draft: _Draft) -> None:
    marked_from: list[tuple[int, TimeMention]] = []
    marked_to: list[tuple[int, TimeMention]] = []
    plain: list[tuple[int, TimeMention]] = []
    for position, mention in sentence.times:
        if not draft.left <= position < draft.right:
            continue
        before = sentence.reduced[max(0, position - 20) : position]
        if _FROM_MARK.search(before):
            marked_from.append((position, mention))
        elif _TO_MARK.search(before) and (marked_from or re.search(r"(?:until|till|through)\s$",
                                                                     before)):  # fmt: skip
            marked_to.append((position, mention))
        else:
            plain.append((position, mention))

    def nearest(candidates: list[tuple[int, TimeMention]]) -> TimeSpan | None:
        if not candidates:
            return None
        return min(candidates, key=lambda c: (abs(c[0] - draft.anchor), c[0]))[1].span

    start, end, other = nearest(marked_from), nearest(marked_to), nearest(plain)
    if draft.mode == "state":
        draft.valid_from, draft.valid_to = start, end
    elif draft.negated:
        draft.valid_from, draft.valid_to = start, end or other
    else:
        draft.valid_from, draft.valid_to = start or other, end


# --------------------------------------------------------------------------------------------
# The extractor.

#: Longest piece of a sentence the rules see at once, in characters. A longer sentence is cut
#: at whitespace (`graph.text.split_long`) before extraction. The rules are written for news
#: sentences of a few hundred characters, and parts of a sentence's work grow with the square
#: of its length (each match looks for its clause boundaries and hedges in the sentence), so
#: text with no sentence boundary (a table dump, a run of dates, hostile input) would
#: otherwise cost seconds per hundred kilobytes. Real sentences longer than this are rare
#: enough that a fact cut in two at the limit is an acceptable loss.
MAX_SENTENCE_CHARS = 2000


class RuleFactExtractor:
    """The default `FactExtractor`: linguistic rules over sentences, no model, no network.

    It recognises the formulaic ways news states roles and their changes: appointments
    ("X was appointed chief executive of Y", "Y named X as its chair"), appositions ("X, the
    CEO of Y"), titles before names ("Education Secretary X"), transfers ("Y have signed X from
    Z", "X joined Y on loan"), departures ("X stepped down as chair of Y", "X, who left Y last
    year"), successions ("X succeeded Z as CEO of Y"), marriages, headquarters and ownership.

    Sports context (words like "striker", "on loan", "league" anywhere in the document)
    decides whether "joined"/"left"/"signed" means a team or an employer, and whether
    "manager" means a coach.

    Pronouns: a sentence that starts with "He"/"She" (or "The 32-year-old", or "In 2019, she
    ...") takes the last person subject of the document; other pronouns are not resolved and
    yield no fact. Negated or hedged clauses ("did not join", "could join", "is linked
    with") yield nothing; scheduled future ("will join Y in July") is kept with that start.

    The instance holds no state between calls, so one extractor may serve many threads.

    Limitations:
        - Names are recognised by capitalisation: lower-case brand names ("eBay") are missed,
          and a title followed by three capitalised words may be split wrongly ("Governor of
          New South Wales" is protected by a word list, rarer places are not).
        - There is no gazetteer: a country in parentheses or before a position word
          ("Ghana goalkeeper X") is taken as a (national) team, and "X moved to Japan" in a
          sports story as a team.
        - Sentences whose relation is spread over several clauses, or expressed as a noun
          phrase not listed above, yield nothing (precision over recall).
        - "holds position" objects are the office as written; nothing completes "Prime
          Minister" with a country.
        - Past-tense statives ("X was chief executive of Y", "X played for Y") are read as
          ended; a time in the same clause becomes their ``valid_to``.
    """

    def extract(self, text: str, reference_time: datetime) -> list[ExtractedFact]:
        """Extract facts from a document.

        Args:
            text: The document's text (any length; paragraphs separated by blank lines).
            reference_time: What relative times ("last year", "on Monday") are resolved
                against, normally the document's published_at.

        Returns:
            Facts in document order, without duplicates. Deterministic for a given input.

        Raises:
            ValueError: If ``reference_time`` is naive (from `graph.timeparse`): relative
                times must never be resolved against a guessed timezone.
        """
        doc = _DocState(sports=_is_sports(text))
        return unique_facts(
            fact
            for sentence in split_sentences(text)
            for piece in split_long(sentence, MAX_SENTENCE_CHARS)
            for fact in self._sentence_facts(piece, reference_time, doc)
        )

    def _sentence_facts(
        self, text: str, reference_time: datetime, doc: _DocState
    ) -> list[ExtractedFact]:
        if text.rstrip().endswith("?"):
            return []
        cased = _smart_case(text)
        surface = cased or text
        mentions = [m for m in find_time_mentions(text, reference_time) if _keep_mention(m, text)]
        tokens = _tokenize(surface)
        headline = cased is not None or _is_headline(tokens)
        if headline:
            for token in tokens[1:]:
                if token.lower in _HEADLINE_LOWER:
                    token.text = token.lower
        time_of = _time_of(tokens, mentions)
        items = _chunk(tokens, time_of, mentions, headline=headline)
        items = _resolve_leading_pronoun(items, doc)
        sentence = _Sentence(text, surface, items, doc)
        for pattern, handler in _PATTERNS:
            for match in pattern.finditer(sentence.reduced):
                handler(sentence, match)
        _add_succession_tails(sentence)
        facts: list[ExtractedFact] = []
        flat = " ".join(text.split())
        sentence.drafts = [d for d in sentence.drafts if _valid_draft(d)]
        for draft in sentence.drafts:
            _assign_times(sentence, draft)
        for draft in sentence.drafts:
            if draft.shares_time_with is not None:
                source = draft.shares_time_with
                draft.valid_to = draft.valid_to or source.valid_from
        for draft in sentence.drafts:
            facts.append(
                ExtractedFact(
                    subject=draft.subject,
                    relation=draft.relation,
                    object=draft.object,
                    valid_from=draft.valid_from,
                    valid_to=draft.valid_to,
                    sentence=flat,
                    negated=draft.negated,
                )
            )
        _update_last_person(sentence, facts, doc)
        return facts


def _time_of(tokens: Sequence[_Token], mentions: Sequence[TimeMention]) -> dict[int, int]:
    """Token index -> index of the first time mention it overlaps, in one sweep.

    Both are in text order and mentions do not overlap one another, so a token can only
    overlap the mentions from the first one that does not end before it.
    """
    time_of: dict[int, int] = {}
    first = 0
    for t_index, token in enumerate(tokens):
        while first < len(mentions) and mentions[first].end_char <= token.start:
            first += 1
        m_index = first
        while m_index < len(mentions) and mentions[m_index].start_char < token.end:
            if token.start < mentions[m_index].end_char:
                time_of[t_index] = m_index
                break
            m_index += 1
    return time_of


def _valid_draft(draft: _Draft) -> bool:
    if draft.relation in _PERSON_RELATIONS:
        if not _valid_person(draft.subject):
            return False
    elif not _valid_name(draft.subject):
        return False
    return _valid_object(draft)


def _valid_object(draft: _Draft) -> bool:
    if draft.relation == POSITION:
        words = draft.object.split()
        return 2 <= len(words) <= 12 and draft.object.lower() not in _PRONOUNS
    if draft.object.lower() in _GENERIC_OBJECTS:
        return False
    if draft.relation in {TEAM, COACH} and _COMPETITION.search(draft.object):
        return False
    return _valid_name(draft.object)


def _is_sports(text: str) -> bool:
    if _SPORTS_STRONG.search(text):
        return True
    return len({m.group().lower() for m in _SPORTS_WEAK.finditer(text)}) >= 2


def _keep_mention(mention: TimeMention, text: str) -> bool:
    """Drop a bare month that is really a surname ("Olen May") or a one-word fragment."""
    words = mention.text.split()
    if len(words) == 1 and words[0][:1].isupper() and not mention.text[:1].isdigit():
        before = text[: mention.start_char].rstrip()
        previous = before.split()[-1] if before.split() else ""
        if previous[:1].isupper() and previous.lower() not in _CAP_STOP:
            return False
    return True


_LEADING_ANAPHOR = re.compile(r"(?:he|she)$|the\s\d+-year-old$")


def _resolve_leading_pronoun(items: list[_Item], doc: _DocState) -> list[_Item]:
    """Replace a sentence-initial "He"/"She"/"The 32-year-old" by the last person named."""
    if not items or doc.last_person is None:
        return items
    first = items[0]
    if first.kind == "W" and first.text in {"he", "she"}:
        return [_Item("E", doc.last_person, first.start, first.end), *items[1:]]
    # "In 2019, she joined ...": a short opener with no name, a comma, then the pronoun.
    for index, item in enumerate(items[:8]):
        if item.kind == "E":
            break
        if item.kind == "W" and item.text == ",":
            after = items[index + 1] if index + 1 < len(items) else None
            if after is not None and after.kind == "W" and after.text in {"he", "she"}:
                resolved = _Item("E", doc.last_person, after.start, after.end)
                return [*items[: index + 1], resolved, *items[index + 2 :]]
            break
    if (
        len(items) > 1
        and first.kind == "W"
        and first.text == "the"
        and items[1].kind == "W"
        and re.fullmatch(r"\d+-year-old", items[1].text)
    ):
        return [_Item("E", doc.last_person, first.start, items[1].end), *items[2:]]
    return items


def _update_last_person(sentence: _Sentence, facts: list[ExtractedFact], doc: _DocState) -> None:
    for fact in reversed(facts):
        if fact.relation in _PERSON_RELATIONS:
            doc.last_person = fact.subject
            return
    for item in sentence.items[:3]:
        if item.kind == "E":
            name = item.text or _clean_name(sentence.surface[item.start : item.end])
            tokens = [_Token(w, 0, 0) for w in name.split()]
            if len(tokens) >= 2 and _person_like(tokens):
                doc.last_person = name
            return


def _add_succession_tails(sentence: _Sentence) -> None:
    """ ", replacing Z" after a role fact: Z's role ends when the new holder's starts."""
    for match in _P_SUCCESSION_TAIL.finditer(sentence.reduced):
        predecessor = sentence.entity(match, "z")
        candidates = [
            d
            for d in sentence.drafts
            if d.anchor < match.start()
            and not d.negated
            and d.relation in _ROLE_RELATIONS
            and d.shares_time_with is None
        ]
        if not candidates or not predecessor:
            continue
        new = candidates[-1]
        if predecessor == new.subject:
            continue
        old = _Draft(predecessor, new.relation, new.object, True, "event", new.anchor, new.left,
                     new.right, shares_time_with=new)  # fmt: skip
        sentence.drafts.append(old)
