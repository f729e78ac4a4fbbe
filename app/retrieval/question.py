"""What a question asks for: the type of its answer, its relation words, its entities.

An answer of the wrong type is wrong however relevant its sentence ("Lisbon" for "who directed
the charity", "Head" for "when was the coach appointed"), so answering starts by reading the
question: the question word, or for "which X" / "what X" the head noun X, gives the entity
labels an answer may have (spaCy's OntoNotes labels, as `graph.nlp` stores them on chunks).

The rules are data, as in `graph.timeparse`'s `_Rule` table: `WH_RULES` maps question words to
labels and `HEAD_NOUNS` maps nouns to labels, each entry named and carrying invented example
questions that are its parametrised tests (tests/unit/test_question.py). A deployment extends
`HEAD_NOUNS` with its own domain's nouns; the engine (`read_question`) does not change.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from app.retrieval.lexicon import (
    ARTICLES,
    AUXILIARIES,
    CONJUNCTIONS,
    COPULAS,
    DEMONSTRATIVES,
    POSSESSIVES,
    PREPOSITIONS,
    QUESTION_WORDS,
    REQUEST_VERBS,
)
from app.retrieval.mentions import is_yes_no, name_tokens, question_mentions
from graph.text import wordset

#: Labels of every kind of name (what "who" may be when the model mislabels a person).
PERSON_OR_ORG = ("PERSON", "ORG")
PLACE = ("GPE", "LOC", "FAC")
AMOUNT = ("MONEY", "QUANTITY", "PERCENT", "CARDINAL")


@dataclass(frozen=True)
class WhRule:
    """One question opening and the labels its answer may have.

    Attributes:
        name: Shown in the response (``answer_type`` comes from the label, this from the rule).
        pattern: Matched at the question's start, after an optional leading preposition ("In
            which city ..."). A rule with ``labels`` empty reads its head noun from the text
            after the match (group ``rest``).
        labels: Entity labels, best first; empty means "from the head noun".
        examples: Invented questions this rule must read, with the labels they get (tests).
    """

    name: str
    pattern: re.Pattern[str]
    labels: tuple[str, ...]
    examples: tuple[str, ...]


def _wh(name: str, pattern: str, labels: tuple[str, ...], *examples: str) -> WhRule:
    return WhRule(name, re.compile(pattern, re.IGNORECASE), labels, examples)


#: First match wins; longer openings come before their prefixes ("how much" before "how").
WH_RULES: tuple[WhRule, ...] = (
    _wh(
        "how-much",
        r"how\s+much\b",
        ("MONEY", "QUANTITY", "PERCENT", "CARDINAL"),
        "How much was Corvel Bank fined in 2022?",
        "How much did the Pellan Trust raise last year?",
    ),
    _wh(
        "how-many",
        r"how\s+many\b",
        ("CARDINAL", "QUANTITY"),
        "How many robots did Halvard Robotics ship in 2023?",
    ),
    _wh(
        "how-long",
        r"how\s+long\b",
        ("DATE", "QUANTITY"),
        "How long did Ilse Varn coach Dunmore Athletic?",
    ),
    _wh("how-old", r"how\s+old\b", ("DATE", "CARDINAL"), "How old is Mara Quint?"),
    _wh(
        "what-percentage",
        r"(?:what|which)\s+(?:percentage|percent|proportion|share)\b",
        ("PERCENT",),
        "What percentage of its staff did Corvel Bank cut?",
    ),
    _wh(
        "when",
        r"when\b",
        ("DATE", "TIME"),
        "When was Ilse Varn appointed head coach?",
        "When did Halvard Robotics open its Porto plant?",
    ),
    _wh(
        "where",
        r"where\b",
        PLACE,
        "Where is Halvard Robotics based?",
        "Where did the Pellan Trust open its new shelter?",
    ),
    _wh(
        "who",
        r"(?:who|whom|whose)\b",
        PERSON_OR_ORG,
        "Who directed the Pellan Trust in 2021?",
        "Who bought Halvard Robotics?",
        "To whom did Corvel Bank sell its card business?",
    ),
    _wh(
        "which-what-noun",
        r"(?:which|what)\s+(?:(?:is|was|are|were)\s+(?:the\s+)?(?:name\s+of\s+(?:the\s+)?)?)?"
        r"(?P<rest>.+)",
        (),
        "Which club did Ilse Varn coach in 2021?",
        "What city is Corvel Bank based in?",
        "What was the name of the charity's director?",
    ),
)


#: The question word inside the question rather than at its start ("Ilse Varn played for
#: which club?", "The shelter was opened by whom?"): tried, in order, when no `WH_RULES`
#: entry matches the opening. The noun phrase after the *last* "which"/"what" is read, since
#: an earlier one may open a subordinate clause; "who"/"where"/"when" count only at the end,
#: where a relative pronoun ("the coach who left") cannot stand.
IN_SITU_RULES: tuple[WhRule, ...] = (
    _wh(
        "in-situ-which-what",
        r".*\b(?:which|what)\s+(?P<rest>.+)",
        (),
        "Ilse Varn played for which club in 2021?",
        "The Porto plant was sold to what company?",
    ),
    _wh(
        "in-situ-who",
        r".*\b(?:who|whom)\s*[?.!]*\s*$",
        PERSON_OR_ORG,
        "The Pellan Trust was directed by whom?",
        "The chair of Corvel Bank was who?",
    ),
    _wh(
        "in-situ-where",
        r".*\bwhere\s*[?.!]*\s*$",
        PLACE,
        "The Halvard Robotics plant was built where?",
    ),
    _wh(
        "in-situ-when",
        r".*\bwhen\s*[?.!]*\s*$",
        ("DATE", "TIME"),
        "Ilse Varn was appointed head coach when?",
    ),
)

#: "Who is the chair of …", "Who was the employer of …": the noun after "who is the" says
#: what the answer is (a person for "chair", an organisation for "employer").
_WHO_IS_THE = re.compile(r"(?:who|whom)\s+(?:is|was|are|were)\s+(?:the\s+)?(?P<rest>.+)", re.I)


@dataclass(frozen=True)
class HeadNouns:
    """Nouns naming one kind of answer ("which team" is asking for an organisation).

    Attributes:
        name: The kind, for reading and for tests.
        labels: Entity labels an answer may have, best first.
        nouns: The nouns, singular (a plural is found by its singular).
        examples: Invented questions whose head noun is in this entry.
    """

    name: str
    labels: tuple[str, ...]
    nouns: frozenset[str]
    examples: tuple[str, ...]


def _nouns(name: str, labels: tuple[str, ...], nouns: str, *examples: str) -> HeadNouns:
    return HeadNouns(name, labels, wordset(nouns), examples)


#: Domain-neutral nouns; business, sports and civic ones included because news is about them.
HEAD_NOUNS: tuple[HeadNouns, ...] = (
    _nouns(
        "organisation",
        ("ORG",),
        """team club side company firm bank lender insurer charity foundation trust party
        employer organisation organization group university college school league agency
        brand manufacturer maker retailer airline publisher newspaper broadcaster studio
        startup business rival competitor subsidiary network operator supplier carrier
        council ministry department institution association union squad faction label
        channel regiment army navy institute academy magazine journal orchestra band
        government parliament legislature court railway railroad developer builder producer
        division""",
        "Which club did Ilse Varn coach in 2021?",
        "Which company bought Halvard Robotics?",
        "For which bank did Tobias Renn work before 2020?",
    ),
    _nouns(
        "person",
        ("PERSON",),
        """person man woman player coach manager executive director chair chairman chairwoman
        chairperson president founder cofounder minister striker goalkeeper midfielder defender
        captain candidate author scientist engineer officer leader chief ceo cfo cto head
        successor predecessor spokesperson spokesman spokeswoman trustee treasurer secretary
        governor mayor judge architect designer researcher partner aristocrat noble nobleman
        monarch king queen emperor empress ruler commander general admiral host presenter
        editor conductor principal rector dean chancellor provost headmaster superintendent
        bishop pastor priest abbot commissioner ambassador senator representative deputy
        premier husband wife spouse child son daughter father mother brother sister parent
        heir occupant resident teammate member holder incumbent""",
        "Which coach did Dunmore Athletic appoint in 2023?",
        "What was the name of the charity's director?",
    ),
    _nouns(
        "owner",
        ("ORG", "PERSON"),
        "owner buyer investor shareholder sponsor backer acquirer donor",
        "Which buyer did Corvel Bank find for its card business?",
    ),
    _nouns(
        "place",
        ("GPE", "LOC", "FAC"),
        """city town country state region capital nation village county province place
        location headquarters county municipality district territory suburb island continent
        kingdom empire colony republic neighbourhood neighborhood locality settlement
        prefecture parish borough destination terminus""",
        "What city is Corvel Bank based in?",
        "In which country did Halvard Robotics open a factory?",
    ),
    _nouns(
        "facility",
        ("FAC", "GPE", "LOC", "ORG"),
        """stadium ground arena venue airport factory plant building hospital museum port site
        office shelter warehouse campus station prison""",
        "Which stadium does Dunmore Athletic play at?",
    ),
    _nouns(
        "date",
        ("DATE",),
        "year month day date season decade week",
        "In what year did Mara Quint join Halvard Robotics?",
    ),
    _nouns("time", ("TIME", "DATE"), "time hour", "What time did the Pellan Trust gala start?"),
    _nouns(
        "money",
        ("MONEY",),
        """amount sum fine penalty price fee salary revenue sales profit loss budget cost
        donation grant investment valuation bonus wage turnover payment settlement""",
        "What fine did Corvel Bank pay?",
        "What price did Halvard Robotics fetch?",
    ),
    _nouns(
        "percent",
        ("PERCENT",),
        "percentage percent rate proportion margin",
        "What margin did Halvard Robotics report?",
    ),
    _nouns("count", ("CARDINAL", "QUANTITY"), "number count total", "What number of staff left?"),
    _nouns(
        "product",
        ("PRODUCT", "ORG"),
        "product model robot vehicle car device drug app phone",
        "Which robot did Halvard Robotics launch in 2022?",
    ),
    _nouns(
        "event",
        ("EVENT",),
        "event tournament competition cup championship final festival conference",
        "Which tournament did Dunmore Athletic win?",
    ),
    _nouns("law", ("LAW",), "law act bill regulation", "Which law fined Corvel Bank?"),
    _nouns("nationality", ("NORP",), "nationality", "What nationality is Ilse Varn?"),
    # A description, not a name: a role, a title, a kind. No label finds it; a sentence
    # answers ("What position did Mara Quint hold in 2015?").
    _nouns(
        "description",
        (),
        """position title rank role job occupation profession post office status name
        nickname type kind sort form sport genre style religion career capacity function
        purpose focus""",
        "What position did Mara Quint hold in 2015?",
        "What kind of robot did Halvard Robotics build?",
    ),
    _nouns("language", ("LANGUAGE",), "language", "What language does the app speak?"),
)


@dataclass(frozen=True)
class RelationWords:
    """Words that say the same relation, so a question's verb finds a report's noun.

    "Who runs X" is answered by "chief executive Y of X"; stems already join "directed" and
    "director", but not "runs" and "chief". A question word in ``words`` also matches any
    word in ``alternatives`` (one relation counted once, however many of them a sentence has).

    Attributes:
        name: The relation, for reading and for tests.
        words: Question words (any form) that trigger the entry.
        alternatives: Words a report may use instead.
        examples: Invented questions holding one of ``words``.
    """

    name: str
    words: frozenset[str]
    alternatives: frozenset[str]
    examples: tuple[str, ...]


def _relation(name: str, words: str, alternatives: str, *examples: str) -> RelationWords:
    return RelationWords(name, wordset(words), wordset(alternatives), examples)


RELATION_WORDS: tuple[RelationWords, ...] = (
    _relation(
        "leads",
        "run runs ran running lead leads led leading head heads headed manage manages managed",
        "chief executive director chair chairman chairwoman president head manager leader boss",
        "Who runs Calder Payments?",
        "Who led the Lanternway Trust in 2019?",
    ),
    _relation(
        "owns",
        "own owns owned owner acquire acquired bought buy purchase purchased",
        "buy bought acquire acquired acquisition purchase purchased owner takeover",
        "Who owns Kestrel Motion Systems?",
    ),
    _relation(
        "coaches",
        "coach coaches coached train trains trained",
        "coach manager trainer",
        "Who coached Fenmore Rovers in 2021?",
    ),
    _relation(
        "based",
        "based located headquartered headquarters",
        "based located headquartered headquarters",
        "Where is Merrow Savings Bank headquartered?",
    ),
    _relation(
        "pays",
        "pay pays paid cost costs spend spent",
        "paid cost fee price spent for",  # a price is written "signed X for £6 million"
        "How much did Fenmore Rovers pay for Kofi Aramu?",
    ),
    _relation(
        "employs",
        "work works worked employ employs employed",
        "joined employee staff hired",
        "For which bank did Tobias Renn work before 2020?",
    ),
)

#: Irregular verb forms (base, past, participle, ...): a question asks "become" of a report
#: that says "became"; stems cannot join them. General English, extend freely.
IRREGULAR_VERBS: tuple[frozenset[str], ...] = tuple(
    wordset(forms)
    for forms in (
        "become became becomes becoming",
        "buy bought buys buying",
        "sell sold sells selling",
        "lead led leads leading",
        "run ran runs running",
        "leave left leaves leaving",
        "take took taken takes taking",
        "win won wins winning",
        "pay paid pays paying",
        "hold held holds holding",
        "make made makes making",
        "give gave given gives giving",
        "begin began begun begins beginning",
        "find found finds finding",
        "build built builds building",
        "spend spent spends spending",
        "lose lost loses losing",
        "choose chose chosen chooses choosing",
        "rise rose risen rises rising",
        "fall fell fallen falls falling",
        "grow grew grown grows growing",
        "meet met meets meeting",
        "hire hired hires hiring",
        "quit quits quitting",
        "write wrote written writes writing",
        "send sent sends sending",
        "bring brought brings bringing",
        "teach taught teaches teaching",
    )
)
_FORMS: dict[str, frozenset[str]] = {w: forms for forms in IRREGULAR_VERBS for w in forms}

_RELATION_BY_WORD: dict[str, RelationWords] = {
    w: entry for entry in RELATION_WORDS for w in entry.words
}

_NOUN_LABELS: dict[str, HeadNouns] = {n: entry for entry in HEAD_NOUNS for n in entry.nouns}

_LEADING_PREPOSITION = re.compile(
    r"^(?:in|at|for|to|from|with|by|of|on|under|since|until)\s+(?=(?:which|what|whom|whose)\b)",
    re.IGNORECASE,
)
_WORD = re.compile(r"[A-Za-z][A-Za-z'’-]*|\d[\d.,]*")
_ROLE_POSSESSIVE = re.compile(r"['’]s$")
#: Words that end a head-noun phrase: the verb or preposition after it.
_PHRASE_END = AUXILIARIES | PREPOSITIONS | CONJUNCTIONS | wordset("that who whom which whose")
_NOT_RELATION = (
    ARTICLES
    | PREPOSITIONS
    | CONJUNCTIONS
    | COPULAS
    | AUXILIARIES
    | QUESTION_WORDS
    | POSSESSIVES
    | DEMONSTRATIVES
    | wordset("name as it its not no yes")
    | wordset("much many long old")  # the rest of a two-word question opening
)


@dataclass(frozen=True)
class Question:
    """A question as read.

    Attributes:
        text: The question (without its time cue, as retrieval saw it).
        kind: "wh" (answered with a span), "yes_no", or "open" (no type: a sentence answers).
        rule: The `WhRule` that matched, if any.
        head: The head noun of a "which X" / "what X" question, if one was found.
        labels: Entity labels the answer may have, best first; empty for yes/no and open.
        mentions: Names in the question (candidates for the answer never include them).
        words: Content words besides the names, question words and head noun: the relation
            asked about ("chief", "executive", "appointed").
        present: See below.
    """

    text: str
    kind: Literal["wh", "yes_no", "open"]
    rule: str | None
    head: str | None
    labels: tuple[str, ...]
    mentions: tuple[str, ...]
    words: frozenset[str]
    present: bool = False
    """Asked in the present tense ("who is", "who runs"): about the current state, which the
    newest report is likeliest to give; a past-tense question asks about an event or period."""

    def relation_groups(self) -> tuple[frozenset[str], ...]:
        """One set per relation word: the word, its irregular forms (`IRREGULAR_VERBS`) and
        what `RELATION_WORDS` says it may be."""
        groups = []
        for word in sorted(self.words):
            entry = _RELATION_BY_WORD.get(word)
            alternatives = entry.alternatives if entry else frozenset()
            groups.append(frozenset({word} | alternatives | _FORMS.get(word, frozenset())))
        return tuple(groups)

    def is_own(self, span: str) -> bool:
        """Whether a span names one of the question's own entities (never an answer to it)."""
        toks = name_tokens(span)
        if not toks:
            return True
        return any(toks <= (own := name_tokens(m)) or own <= toks for m in self.mentions if m)


def singular(noun: str) -> str:
    """A plural noun's singular, for table lookups ("cities" → "city", "clubs" → "club")."""
    if noun.endswith("ies") and len(noun) > 4:
        return noun[:-3] + "y"
    if noun.endswith(("ches", "shes", "sses", "xes")):
        return noun[:-2]
    if noun.endswith("s") and not noun.endswith("ss") and len(noun) > 3:
        return noun[:-1]
    return noun


def head_noun(rest: str) -> tuple[str | None, HeadNouns | None]:
    """The head of the noun phrase opening ``rest`` ("football club did she …" → "club").

    The phrase ends at the first auxiliary, preposition or capitalised word (a name); its
    head is the last word of it found in `HEAD_NOUNS`, so modifiers ("football", "new") are
    skipped and a noun the table does not know gives no type rather than a guess.
    """
    found: tuple[str | None, HeadNouns | None] = (None, None)
    for i, raw in enumerate(_WORD.findall(rest)[:5]):
        word = _ROLE_POSSESSIVE.sub("", raw).casefold()
        if word in _PHRASE_END or (i > 0 and raw[:1].isupper()):
            break
        entry = _NOUN_LABELS.get(word) or _NOUN_LABELS.get(singular(word))
        if entry is not None:
            found = (word, entry)
        elif found[0] is not None and not raw.endswith(("'s", "’s")):
            break
    return found


_PRESENT = wordset("is are does do has have current currently now today still")
_PAST = wordset("was were did had former formerly")


#: "Who runs …", "What owns …": a third-person present verb right after the question word.
_PRESENT_VERB = re.compile(r"^(?:who|what|which\s+\w+)\s+(?!was\b|has\b)[a-z]+[^s]s\b", re.I)


def _present(text: str) -> bool:
    words = {w.casefold() for w in _WORD.findall(text)}
    if words & _PAST:
        return False
    return bool(words & _PRESENT) or _PRESENT_VERB.match(text.strip()) is not None


def read_question(text: str, mentions: list[str] | None = None) -> Question:
    """Read what a question asks for.

    Args:
        text: The question, its time cue already removed (`TimeScope.question`).
        mentions: Its names, when the caller already has them (`question_mentions`).

    Returns:
        The reading; ``labels`` empty when no rule gives a type (the answer is then a sentence).
    """
    text = _as_asked(text)
    names = tuple(
        _topic(m)
        for m in (mentions if mentions is not None else question_mentions(text))
        if not _NUMBER.fullmatch(m)
    )
    own = set().union(*(name_tokens(m) for m in names)) if names else set()
    if is_yes_no(text):
        words = _relation_words(text, own, None)
        return Question(text, "yes_no", None, None, (), names, words, _present(text))
    opening = _LEADING_PREPOSITION.sub("", text.strip())
    opened = False
    for rules in (WH_RULES, IN_SITU_RULES):
        for rule in rules:
            match = rule.pattern.match(opening)
            if match is None:
                continue
            opened = rules is WH_RULES
            if rule.labels:
                labels, head = rule.labels, None
                who = _WHO_IS_THE.match(opening) if rule.labels == PERSON_OR_ORG else None
                if who is not None:
                    role, entry = head_noun(who.group("rest"))
                    if entry is not None and role is not None:
                        # The role orders the labels (a chair is a person first); the
                        # rule's stay, since a small model tags unfamiliar names loosely.
                        labels = tuple(dict.fromkeys((*entry.labels, *rule.labels)))
                        head = role
                # The role noun stays a relation word: "the chair of X" is what is asked.
                words = _relation_words(text, own, None)
                return Question(text, "wh", rule.name, head, labels, names, words, _present(text))
            head, entry = head_noun(match.group("rest"))
            if entry is None:
                break
            if not entry.labels:  # a description is asked: a sentence answers
                words = _relation_words(text, own, head)
                return Question(text, "open", rule.name, head, (), names, words, _present(text))
            words = _relation_words(text, own, head)
            if entry.name == "person" and head is not None and head not in _GENERIC_PERSON:
                words |= {head}  # "which chair" asks for the chair: the relation too
            return Question(text, "wh", rule.name, head, entry.labels, names, words, _present(text))
        if opened:
            break
    words = _relation_words(text, own, None)
    return Question(text, "open", None, None, (), names, words, _present(text))


#: A request for an answer rather than a question: "Can you tell me which bank Orla Fenn
#: joined?", "Name the club Ilse Varn coached in 2010." What is asked is what follows.
_REQUEST = re.compile(
    r"^\s*(?:(?:can|could|will|would)\s+you\s+)?(?:please\s+)?"
    rf"(?:{'|'.join(sorted(REQUEST_VERBS))})(?:\s+(?:me|us|out))?\s+(?P<rest>.+)$",
    re.IGNORECASE,
)
_ASKED_WORD = re.compile(r"(?:who|whom|whose|what|which|when|where|how)\b", re.IGNORECASE)
_ARTICLE_START = re.compile(r"(?:the|a|an)\s+(?P<np>.+)$", re.IGNORECASE)


def _as_asked(text: str) -> str:
    """A request as the question it makes: "Can you tell me who chairs the Pellan Trust?" is
    "who chairs the Pellan Trust?", "Name the bank Orla Fenn joined" is "which bank Orla Fenn
    joined". Anything else, and a request whose object is neither, stays as written."""
    request = _REQUEST.match(text)
    if request is None:
        return text
    rest = request.group("rest")
    if _ASKED_WORD.match(rest):
        return rest
    article = _ARTICLE_START.match(rest)
    if article is not None and article.group("np")[:1].islower():
        return "which " + article.group("np")
    return text


#: Person nouns that say nothing about a relation ("which person", "what woman").
_GENERIC_PERSON = wordset("person man woman people one")
_NUMBER = re.compile(r"[\d.,:/-]+")
#: "President of the Lanternway Trust": a capitalised role before "of" in a name the question
#: gives is the role asked about; the topic is what follows.
_ROLE_OF = re.compile(
    r"^(?P<role>[A-Z][a-z]+(?:\s+[A-Z][a-z]+)?)\s+of\s+(?:the\s+)?(?P<rest>\S.*)$"
)


def _topic(mention: str) -> str:
    """A question's name without a leading role ("Chair of the Pellan Trust" → "Pellan
    Trust"), when the role is one `HEAD_NOUNS` lists as a person."""
    match = _ROLE_OF.match(mention)
    if match is None:
        return mention
    role = match.group("role").casefold().split()
    entry = _NOUN_LABELS.get(role[-1]) or _NOUN_LABELS.get(singular(role[-1]))
    return match.group("rest") if entry is not None and entry.name == "person" else mention


def _relation_words(text: str, own: set[str], head: str | None) -> frozenset[str]:
    words = {_ROLE_POSSESSIVE.sub("", w).casefold() for w in _WORD.findall(text)}
    return frozenset(
        w
        for w in words
        if w not in _NOT_RELATION and w not in own and w != head and not w[:1].isdigit()
    )
