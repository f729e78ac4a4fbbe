"""Answers read from the evidence: used when the temporal graph has no fact to answer with."""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Protocol

from app.retrieval.lexicon import (
    ARTICLES,
    AUXILIARIES,
    CONJUNCTIONS,
    COPULAS,
    DEMONSTRATIVES,
    POSSESSIVES,
    PREPOSITIONS,
    QUESTION_WORDS,
)
from app.retrieval.mentions import WORD, mentions_in, name_tokens, question_mentions
from app.retrieval.question import Question
from graph.content_time import stated_periods
from graph.facts import doc_id_of
from graph.relations import RELATION_ALIASES
from graph.temporal import ResolvedFact
from graph.text import split_sentences, wordset
from graph.timeparse import find_time_mentions

_WORD = re.compile(r"[a-z0-9]+")
_STOP = (
    ARTICLES
    | PREPOSITIONS
    | CONJUNCTIONS
    | COPULAS
    | AUXILIARIES
    | QUESTION_WORDS
    | POSSESSIVES
    | DEMONSTRATIVES
    | wordset("as it not no yes")
)


# Words that report a relation ending ("left the party", "stepped down as chair"): a report
# naming both entities with one of these is evidence against, not for.
_DEPARTURE = re.compile(
    r"\b(?:leav(?:e|es|ing)|left|depart(?:s|ed|ing)?|former(?:ly)?|resign(?:s|ed|ing)?|"
    r"quit(?:s|ting)?|step(?:s|ped|ping)\s+down|no\s+longer|sacked|fired|dismissed|ousted|"
    r"retir(?:e|es|ed|ing)|exit(?:s|ed|ing)?|released)\b",
    re.IGNORECASE,
)


def _came_from(sentence: str, mention: str) -> bool:
    """Whether the sentence names ``mention`` as where someone came from ("signed X from Y").

    A move's source is the relation that ended: "Y" after "from" is evidence against.
    """
    toks = name_tokens(mention)
    words = [w for w in WORD.findall(mention) if w.casefold() in toks]
    if not words:
        return False
    pattern = rf"\bfrom\s+(?:the\s+)?(?:[\w'’-]+\s+){{0,3}}?{re.escape(words[0])}\b"
    return re.search(pattern, sentence, flags=re.IGNORECASE) is not None


class Passage(Protocol):
    @property
    def text(self) -> str: ...

    @property
    def published_at(self) -> datetime: ...


@dataclass(frozen=True)
class Support:
    """The sentence an answer was read from, and the document and date that said it."""

    document_id: str | None
    sentence: str
    published_at: datetime | None


@dataclass(frozen=True)
class Decision:
    """One way of answering, with what it rests on.

    Attributes:
        answer: The answer: a span of the type asked, "Yes: …"/"No: …", a sentence (for a
            question no rule types), or "I don't know".
        decided_at: Publication of the newest report it rests on (what `choose` compares).
        supporting: The sentence it was read from, given apart from the answer.
        label: The entity label of the answer span ("PERSON", "DATE", …) when it is one.
        statement: The answer with its date and citation, for a reader: "Mara Quint (chief
            executive of Halvard Robotics from June 2021) [halvard-4]".
        fact: The graph fact it came from (graph answers only).
    """

    answer: str
    decided_at: datetime | None
    supporting: Support | None = None
    label: str | None = None
    statement: str | None = None
    fact: ResolvedFact | None = None


def content_words(text: str) -> set[str]:
    return {w for w in _WORD.findall(text.lower()) if w not in _STOP}


def best_sentence(question: str, passages: Sequence[str]) -> str | None:
    """The sentence sharing most content words with the question, earliest passage first."""
    wanted = content_words(question)
    best: tuple[float, int, str] | None = None
    for rank, passage in enumerate(passages):
        for sentence in split_sentences(passage):
            overlap = len(wanted & content_words(sentence))
            key = (overlap - 0.5 * rank, -rank, sentence)
            if best is None or key[:2] > best[:2]:
                best = key
    return best[2] if best else None


def _newest_about(
    question: str, subject: str, evidence: Sequence[Passage], *, yes_no: bool
) -> tuple[Passage, str] | None:
    """The newest passage that mentions ``subject``, and its sentence closest to the question."""
    about = [e for e in evidence if mentions_in(e.text, subject)]
    if not about:
        return None
    newest = max(about, key=lambda e: e.published_at)
    sentences = [s for s in split_sentences(newest.text) if mentions_in(s, subject)]
    if not yes_no:
        # A wh answer is a name: a sentence naming nothing but the subject cannot hold it.
        naming = [s for s in sentences if _names_other(s, subject)]
        sentences = naming or sentences
    sentence = best_sentence(question, sentences or [newest.text]) or newest.text
    return newest, sentence


def _names_other(sentence: str, subject: str) -> bool:
    """Whether a sentence names anything besides ``subject`` (a capitalised span)."""
    own = name_tokens(subject)
    return any(
        (toks := name_tokens(span)) and not toks & own for span in question_mentions(sentence)
    )


def evidence_answer(
    question: str,
    mentions: Sequence[str],
    evidence: Sequence[Passage],
    *,
    yes_no: bool,
    asked: Question | None = None,
    window: tuple[datetime | None, datetime | None] | None = None,
) -> Decision | None:
    """Answer from the evidence: a span of the type asked, else the newest report's sentence.

    With ``asked`` typed (a wh question whose answer labels are known) and evidence that
    carries its entity spans (`graph.nlp`, stored at ingest), the answer is the best span of
    that type (`typed_answer`), or "I don't know" with the nearest evidence when no sentence
    holds one. Otherwise the newest report about the question's first named entity answers:
    the newest report is the likeliest to describe the current state, and evidence is already
    cut to what was known at the question's time. A yes/no question is "yes" when that report
    also names the question's other entities; an untyped wh question is answered with the
    report's sentence about the entity.
    """
    if not evidence:
        return None
    if not yes_no and asked is not None and asked.labels and _annotated(evidence):
        return typed_answer(asked, evidence, window=window)
    if not yes_no and asked is not None and _asked_window(window) and _annotated(evidence):
        in_scope = sentence_in_scope(asked, evidence, window)
        if in_scope is not None:
            return in_scope
    found = _newest_about(question, mentions[0], evidence, yes_no=yes_no) if mentions else None
    if found is None:
        if yes_no and mentions:
            return Decision(f"No: nothing was known about {mentions[0]} at that time.", None)
        sentence = best_sentence(question, [e.text for e in evidence])
        if not sentence:
            return None
        host = next((e for e in evidence if sentence in e.text), evidence[0])
        return Decision(sentence, None, supporting=_support(host, sentence))
    passage, sentence = found
    support = _support(passage, sentence)
    if yes_no:
        others = mentions[1:]
        named = [o for o in others if mentions_in(passage.text, o, threshold=0.5)]
        if (
            others
            and len(named) == len(others)
            and not _DEPARTURE.search(sentence)
            and not any(_came_from(sentence, o) for o in others)
        ):
            return Decision(f"Yes: {sentence}", passage.published_at, support, "yes_no")
        return Decision(f"No: {sentence}", passage.published_at, support, "yes_no")
    return Decision(sentence, passage.published_at, support)


# --- answers typed to the question ----------------------------------------------------------

#: Words that put a span on the ended side of a change ("replacing X", "succeeding X", "the
#: former chair X"): a candidate separated from what the question asks by one is the
#: predecessor, not the holder.
_CHANGE_CUE = re.compile(
    r"\b(?:replac(?:e|es|ed|ing)|succeed(?:s|ed|ing)?|predecessor|former(?:ly)?|ex-|left|"
    r"leav(?:e|es|ing)|depart(?:s|ed|ing)?|resign(?:s|ed|ing)?|quit|step(?:s|ped)?\s+down|"
    r"stepping\s+down|oust(?:s|ed)?|sacked|fired|until|previously|had\s+(?:led|run|been))\b",
    re.IGNORECASE,
)
_TOKEN = re.compile(r"[^\W_]+(?:['’][^\W_]+)?")
#: How much each reason weighs in a candidate's score; chosen to order reasons, not fitted:
#: naming the question's entity in the same sentence and agreeing with the time asked count
#: most (a question that names a period is about that period), then the relation asked, then
#: closeness, label order, rank and recency.
_W_ABOUT = 2.0
_W_ABOUT_DOC = 0.5
_W_RELATION = 1.5
_W_TIME = 2.0
_W_CHANGE = 1.2
_W_DISTANCE = 0.04
_W_LABEL = 0.3
_W_RANK = 0.05
_W_RECENCY = 0.3
_W_RECENCY_NOW = 1.0
_W_OFF_LABEL = 0.6
I_DONT_KNOW = "I don't know"

#: Labels of proper names. The small model confuses them with one another on unfamiliar
#: names ("Fenmore Rovers" tagged a product, "Dalby" a person), so when the question asks for
#: a name, a name of another of these labels is still a candidate, scored `_W_OFF_LABEL` lower
#: than one of a label asked.
NAME_LABELS = frozenset({"PERSON", "ORG", "GPE", "LOC", "FAC", "PRODUCT", "EVENT", "WORK_OF_ART"})


def _annotated(evidence: Sequence[Passage]) -> bool:
    """Whether any passage carries the sentence bounds the NLP layer stores at ingest."""
    return any(getattr(e, "sentences", ()) for e in evidence)


def _support(passage: Passage, sentence: str) -> Support:
    return Support(getattr(passage, "document_id", None), sentence, passage.published_at)


_SUFFIXES = (
    "ments",
    "ment",
    "ings",
    "ing",
    "ers",
    "ors",
    "ions",
    "ion",
    "ed",
    "es",
    "er",
    "or",
    "s",
)


def _stem(word: str) -> str:
    """A crude stem for matching relation words: one common suffix off, a doubled final
    consonant undone, at most five letters kept ("directed" and "director" → "direc",
    "shipped" → "ship", "appointment" → "appoi"). `_same_stem` then lets one stem be a
    prefix of the other ("fin" of "fined" and "fine")."""
    word = word.casefold()
    for suffix in _SUFFIXES:
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            word = word[: -len(suffix)]
            break
    if len(word) >= 4 and word[-1] == word[-2] and word[-1] not in "aeiou":
        word = word[:-1]
    return word[:5]


def _same_stem(a: str, b: str) -> bool:
    return a == b or (min(len(a), len(b)) >= 3 and (a.startswith(b) or b.startswith(a)))


def _matches(stems: frozenset[str], said: set[str]) -> bool:
    return any(_same_stem(a, b) for a in stems for b in said)


@dataclass(frozen=True)
class _Candidate:
    score: float
    span: str
    label: str
    sentence: str
    passage: Passage
    time: float = 0.0
    """The window fit of the periods it owns (`_span_time_fit`); 0 without a window."""


def typed_answer(
    asked: Question,
    evidence: Sequence[Passage],
    *,
    window: tuple[datetime | None, datetime | None] | None = None,
) -> Decision:
    """The span of a type the question asks for, from the sentence that best answers it.

    Candidates are the entity spans (stored at ingest) with one of ``asked.labels``, never one
    of the question's own entities; a name is given the label the evidence gives it most often
    and is found wherever it is written (`_names`), since a small model tags the same invented
    name differently from one sentence to the next. A candidate's sentence scores for naming
    the question's entities (or its passage doing so), for holding the question's relation
    words, and for stating a time inside the window asked (against: only times after it); the
    candidate scores for being close to those words and against being on the ended side of a
    change ("replacing X", "X stepped down"), then by its label's order, its evidence rank and
    the report's recency (which weighs more without a window: the newest report on a changing
    fact is the likeliest current one). No candidate → "I don't know" with the nearest evidence.

    Args:
        asked: The question as read, with ``labels`` non-empty.
        evidence: Passages, best first, with ``entities`` and ``sentences`` (`Evidence`).
        window: The valid-time window asked, if any.

    Returns:
        The decision; ``answer`` is the span (a relative date resolved to its period).
    """
    groups = [frozenset(_stem(w) for w in group) for group in asked.relation_groups()]
    own_stems = frozenset().union(*groups)
    # A nationality or group word in the question ("the Italian show") describes the topic;
    # it does not name it, so a sentence is not about the topic for saying it.
    topic = tuple(m for m in asked.mentions if label_of(m, evidence) != "NORP")
    asked = replace(asked, mentions=topic or asked.mentions)
    stamps = [e.published_at.timestamp() for e in evidence]
    lo, hi = min(stamps), max(stamps)
    w_recency = _W_RECENCY_NOW if asked.present and not window else _W_RECENCY
    known = _names(evidence, asked.labels)
    allowed = set(asked.labels)
    if allowed <= NAME_LABELS:
        allowed |= NAME_LABELS
    best: _Candidate | None = None
    by_sentence: dict[tuple[int, int], list[_Candidate]] = {}
    for strict in (True, False):  # the relation words asked first, then the entity alone
        if best is not None:
            break
        for rank, passage in enumerate(evidence):
            text = passage.text
            entities = [s for s in _spans(passage, known) if s[2] in allowed]
            if not entities:
                continue
            doc_about = _about(text, asked.mentions)
            recency = 0.0 if hi == lo else (passage.published_at.timestamp() - lo) / (hi - lo)
            for start, end in getattr(passage, "sentences", ()):
                spans = [s for s in entities if start <= s[0] and s[1] <= end]
                if not spans:
                    continue
                sentence = text[start:end]
                about = _about_or_pronoun(sentence, asked.mentions, doc_about)
                tokens = [(m.start() + start, m.group(0)) for m in _TOKEN.finditer(sentence)]
                anchors = [
                    pos
                    for pos, tok in tokens
                    if _matches(own_stems, {_stem(tok)})
                    or any(tok.casefold() in name_tokens(m) for m in asked.mentions)
                ]
                said = {_stem(t) for _, t in tokens}
                relation = (
                    sum(1 for g in groups if _matches(g, said)) / len(groups) if groups else 0.0
                )
                if relation == 0 and (about == 0 or (strict and groups)):
                    # Without the relation words asked a sentence answers only on the second pass,
                    # and only if it names the entity ("X signed for Y" for "which team does X play
                    # for"): when no sentence in scope says the relation in the question's words.
                    continue
                if asked.mentions and about == 0 and doc_about == 0:
                    continue
                base = (
                    _W_ABOUT * about
                    + _W_ABOUT_DOC * doc_about
                    + _W_RELATION * relation
                    - _W_RANK * rank
                    + w_recency * recency
                )
                periods = _periods(sentence, passage.published_at) if window else []
                rivals = [
                    (s - start, e - start)
                    for s, e, _ in spans
                    if not asked.is_own(_clean(text[s:e]))
                ]
                for s, e, label in spans:
                    span = _clean(text[s:e])
                    if not span or asked.is_own(span):
                        continue
                    others = [r for r in rivals if r != (s - start, e - start)]
                    time_fit = _span_time_fit(
                        periods,
                        s - start,
                        e - start,
                        passage.published_at,
                        window,
                        others,
                        sentence,
                    )
                    score = base + _W_TIME * time_fit
                    if label in asked.labels:
                        score += _W_LABEL * (1 - asked.labels.index(label) / len(asked.labels))
                    else:
                        score -= _W_OFF_LABEL
                    if anchors:
                        anchor = min(anchors, key=lambda a: abs(a - s))
                        between = text[anchor:s] if anchor < s else text[e:anchor]
                        score -= _W_DISTANCE * min(len(_TOKEN.findall(between)), 25)
                        if _CHANGE_CUE.search(between):
                            score -= _W_CHANGE
                    if _changed_near(text, s, e, start, end):
                        score -= _W_CHANGE
                    found = _Candidate(score, span, label, sentence, passage, time_fit)
                    by_sentence.setdefault((id(passage), start), []).append(found)
                    if best is None or score > best.score:
                        best = found
    if best is None:
        return _unknown(asked, evidence)
    support = _support(best.passage, best.sentence)
    cite = f" [{support.document_id}]" if support.document_id else ""
    if _unsure(best, by_sentence, asked):
        statement = f"{best.sentence} (reported {_day(best.passage.published_at)}){cite}"
        return Decision(best.sentence, best.passage.published_at, support, None, statement)
    answer = _date_answer(best.span, best.passage.published_at) if best.label == "DATE" else None
    answer = answer or _fullest(best, evidence, known, asked)
    statement = f"{answer} (reported {_day(best.passage.published_at)}){cite}"
    return Decision(answer, best.passage.published_at, support, best.label, statement)


def sentence_in_scope(
    asked: Question,
    evidence: Sequence[Passage],
    window: tuple[datetime | None, datetime | None] | None,
) -> Decision | None:
    """The sentence that best answers a question no rule types, within the window asked.

    A question asking for a role, a title or a kind ("what position did X hold from 1990 to
    1994?") has no entity label to look for, so its answer is a sentence: the one naming the
    question's entities (or in a passage that does), saying its relation words and stating a
    time that fits the window (`_time_fit`), scored as `typed_answer` scores a candidate's
    sentence. None when no sentence is about the question's entities.
    """
    groups = [frozenset(_stem(w) for w in group) for group in asked.relation_groups()]
    topic = tuple(m for m in asked.mentions if label_of(m, evidence) != "NORP") or asked.mentions
    best: tuple[float, str, Passage] | None = None
    for rank, passage in enumerate(evidence):
        text = passage.text
        doc_about = _about(text, topic)
        if topic and doc_about == 0:
            continue
        for start, end in getattr(passage, "sentences", ()):
            sentence = text[start:end]
            about = _about_or_pronoun(sentence, topic, doc_about)
            said = {_stem(t) for t in _TOKEN.findall(sentence)}
            relation = sum(1 for g in groups if _matches(g, said)) / len(groups) if groups else 0.0
            if about == 0 and relation == 0:
                continue
            score = (
                _W_ABOUT * about
                + _W_ABOUT_DOC * doc_about
                + _W_RELATION * relation
                + _W_TIME * _time_fit(sentence, passage.published_at, window)
                - _W_RANK * rank
            )
            if best is None or score > best[0]:
                best = (score, sentence, passage)
    if best is None:
        return None
    _, sentence, passage = best
    return Decision(sentence, passage.published_at, _support(passage, sentence))


#: How far ahead of every other name in its sentence a span must score to be given alone.
_W_SURE = _W_CHANGE
#: A span whose own period fits the window asked better by this much (an eighth of the fit's
#: scale) is told from a name beside it by time alone: "A (1990–1994), B (1995–1999)".
_TIME_APART = 0.125


def _unsure(
    best: _Candidate, by_sentence: dict[tuple[int, int], list[_Candidate]], asked: Question
) -> bool:
    """Whether the reader cannot tell the span from the sentence's other names.

    Unsure when the span's label is not one asked (the model called it something else), or
    another name of a label asked, in the same sentence, scores within `_W_SURE` of it ("A
    left B for C") without owning a period that fits the window asked distinctly worse: the
    sentence, which holds the answer, is then given rather than a span that may be the
    wrong one of its names.
    """
    if best.label not in asked.labels:
        return True
    for found in by_sentence.values():
        if not found or found[0].sentence is not best.sentence:
            continue
        key = best.span.casefold()
        for other in found:
            name = other.span.casefold()
            if name in key or key in name or other.label not in asked.labels:
                continue
            if best.time > 0.5 and best.time - other.time > _TIME_APART:
                continue  # its own period fits the window asked distinctly better
            if other.score > best.score - _W_SURE:
                return True
    return False


#: Tokens either side of a candidate within which a change word puts it on the ended side
#: ("sacked head coach X", "X stepped down").
_CHANGE_REACH = 4


def _changed_near(text: str, s: int, e: int, start: int, end: int) -> bool:
    """Whether a change word is within `_CHANGE_REACH` tokens before or after the span,
    inside its sentence."""
    before = _TOKEN.findall(text[start:s])[-_CHANGE_REACH:]
    after = _TOKEN.findall(text[e:end])[:_CHANGE_REACH]
    return bool(_CHANGE_CUE.search(" ".join(before)) or _CHANGE_CUE.search(" ".join(after)))


def _names(evidence: Sequence[Passage], wanted: Sequence[str]) -> dict[str, str]:
    """Every multi-letter name the evidence tags, with the label it gets most often.

    Ties go to a label the question asks for, then alphabetically: when the model is split on
    a name, the question's own type is the likelier reading of it.
    """
    counts: dict[str, dict[str, int]] = {}
    for passage in evidence:
        for s, e, label in getattr(passage, "entities", ()):
            name = _clean(passage.text[s:e])
            if len(name) > 2 and name[:1].isupper():
                by_label = counts.setdefault(name, {})
                by_label[label] = by_label.get(label, 0) + 1
    return {
        name: max(labels, key=lambda lab: (labels[lab], lab in wanted, lab))
        for name, labels in counts.items()
    }


def _name_words(name: str) -> tuple[str, ...]:
    return tuple(w.casefold() for w in WORD.findall(name))


def _extends(longer: tuple[str, ...], short: tuple[str, ...]) -> bool:
    """Whether ``short``'s words stand together, in order, inside the longer name's."""
    n = len(short)
    return 0 < n < len(longer) and any(
        longer[i : i + n] == short for i in range(len(longer) - n + 1)
    )


def _fullest(
    best: _Candidate, evidence: Sequence[Passage], known: dict[str, str], asked: Question
) -> str:
    """A short name as the fuller name it stands for: "Fenn" as "Orla Fenn".

    Prose names a person or body in full once, then shortly ("Orla Fenn joined the trust in
    2004. In 2009 Fenn became its chair."); the short form is the fuller name of the same
    kind that was written last before it in its passage, else the only one in its passage,
    else the only one in the evidence. A short form that several names share with no earlier
    one in its passage ("Kennedy" beside two Kennedys) stays as written, and so does one whose
    fuller form is the question's own entity (the subject's name is not its answer).
    """
    span = best.span
    if best.label not in NAME_LABELS:
        return span
    words = _name_words(span)
    fuller = [
        name
        for name, label in known.items()
        if label in NAME_LABELS and _extends(_name_words(name), words) and not asked.is_own(name)
    ]
    if not fuller:
        return span
    text = best.passage.text
    at = text.find(best.sentence) + best.sentence.find(span)
    written = {name: [m.start() for m in _written(name, text)] for name in fuller}
    before = [
        (max(p for p in places if p < at), n)
        for n, places in written.items()
        if places and min(places) < at
    ]
    here = [name for name, places in written.items() if places]
    if before:
        return max(before)[1]
    if len(here) == 1:
        return here[0]
    if not here and len(fuller) == 1:
        return fuller[0]
    return span


def _written(name: str, text: str) -> Iterator[re.Match[str]]:
    """Where a name is written in a text as a whole name, not inside a longer word."""
    return re.finditer(rf"(?<![\w-]){re.escape(name)}(?!\w)", text)


def _spans(passage: Passage, known: dict[str, str]) -> list[tuple[int, int, str]]:
    """A passage's entity spans with the evidence-wide label of each name, plus the places
    where a name tagged elsewhere in the evidence is written but was not tagged here."""
    text = passage.text
    spans = [
        (s, e, known.get(_clean(text[s:e]), label))
        for s, e, label in getattr(passage, "entities", ())
    ]
    taken = bytearray(len(text))
    for s, e, _ in spans:
        taken[s:e] = b"\x01" * (e - s)
    for name, label in known.items():
        for m in _written(name, text):
            if taken.find(1, m.start(), m.end()) == -1:
                spans.append((m.start(), m.end(), label))
                taken[m.start() : m.end()] = b"\x01" * (m.end() - m.start())
    return spans


def _unknown(asked: Question, evidence: Sequence[Passage]) -> Decision:
    """Say "I don't know", with the sentence nearest the question as the evidence looked at."""
    sentence = best_sentence(asked.text, [e.text for e in evidence[:5]])
    host = next((e for e in evidence if sentence and sentence in e.text), evidence[0])
    return Decision(I_DONT_KNOW, None, _support(host, sentence or host.text))


def _about(text: str, mentions: Sequence[str]) -> float:
    """The share of the question's names that a text speaks of."""
    if not mentions:
        return 0.0
    return sum(1 for m in mentions if mentions_in(text, m)) / len(mentions)


#: Third-person pronouns: in a passage about the question's entity, a sentence saying "she"
#: or "it" most likely goes on about it ("Orla Fenn joined the trust in 2004. She chaired it
#: from 2009.").
_PRONOUN = re.compile(r"\b(?:he|she|his|her|him|they|their|it|its)\b", re.IGNORECASE)


def _about_or_pronoun(sentence: str, mentions: Sequence[str], doc_about: float) -> float:
    """`_about` of a sentence, or its passage's when the sentence refers back by pronoun."""
    about = _about(sentence, mentions)
    if about < doc_about and _PRONOUN.search(sentence):
        return doc_about
    return about


def _clean(span: str) -> str:
    """An entity span as an answer: no leading article, no possessive ending."""
    span = re.sub(r"^(?:the|The)\s+", "", span.strip())
    return re.sub(r"['’]s$", "", span).strip(" ,.;:")


#: A life's dates, not a period something held in: "born in 1960", "(born 3 May 1960)", and
#: full dates in brackets right after a name, "Orla Fenn (3 May 1901 – 9 June 1976)" (years
#: alone there, "(2004–2011)", are as often a term of office, so they stay).
_BORN = re.compile(r"\bborn\s+(?:on\s+|in\s+)?$")
_AFTER_NAME = re.compile(r"\b[A-Z][\w'’.-]*\s*\((?:[^()]*;\s*)?$")

#: A season written with a two-digit second year, "the 2008–09 season": July of the first
#: year to July of the second (the time parser reads only "2008").
_SEASON = re.compile(r"\b(?P<y>\d{4})\s*[-–/]\s*(?P<z>\d{2})\b(?!\d)")

#: "since 2015": a period from the mention to the report's own date.
_SINCE = re.compile(r"\bsince\s+$", re.IGNORECASE)


@dataclass(frozen=True)
class _Period:
    start_char: int
    end_char: int
    start: datetime
    end: datetime
    closed: bool  # both ends stated (a range), not one moment


def _periods(sentence: str, published: datetime) -> list[_Period]:
    """The periods a sentence states (`stated_periods` joins a range's two ends), "since X"
    running to the report's date, a life's dates left out."""
    out: list[_Period] = []
    for p in stated_periods(sentence, find_time_mentions(sentence, published)):
        lead = sentence[max(0, p.start_char - 40) : p.start_char]
        if _BORN.search(lead) or (_AFTER_NAME.search(lead) and p.span.granularity == "day"):
            continue
        since = not p.joined and _SINCE.search(sentence[max(0, p.start_char - 8) : p.start_char])
        if since and published > p.span.start:
            out.append(_Period(p.start_char, p.end_char, p.span.start, published, True))
        else:
            out.append(_Period(p.start_char, p.end_char, p.span.start, p.span.end, p.joined))
    for season in _SEASON.finditer(sentence):
        year, second = int(season.group("y")), int(season.group("z"))
        if (year + 1) % 100 != second:
            continue
        out = [p for p in out if not (season.start() <= p.start_char < season.end())]
        tz = published.tzinfo
        s0, s1 = datetime(year, 7, 1, tzinfo=tz), datetime(year + 1, 7, 1, tzinfo=tz)
        out.append(_Period(season.start(), season.end(), s0, s1, True))
    return sorted(out, key=lambda p: p.start_char)


def _window_fit(period: _Period, window: tuple[datetime | None, datetime | None]) -> float:
    """How well a stated period fits the window asked: from 0.5 (overlaps it) to 1 (covers
    it and lies inside it); -1 when it lies after the window, or is a range that ended before
    it; 0 for a moment before it (a start, "joined in 2018", can still hold in it).

    Half of the gain above 0.5 is the share of the window covered, half the share of the
    period inside the window: asked about 2005–2006, "A (October 2003 – May 2005), B
    (September 2005 – March 2006)" overlap it both, but B's term lies in it and A's mostly
    before it.
    """
    w0, w1 = window
    if (w1 is None or period.start < w1) and (w0 is None or period.end > w0):
        if w0 is None or w1 is None or w1 <= w0:
            return 1.0
        covered = min(period.end, w1) - max(period.start, w0)
        length = period.end - period.start
        inside = 1.0 if length <= timedelta(0) else min(1.0, covered / length)
        return 0.5 + 0.25 * min(1.0, covered / (w1 - w0)) + 0.25 * inside
    if w1 is not None and period.start >= w1:
        return -1.0
    return -1.0 if period.closed else 0.0


def _asked_window(
    window: tuple[datetime | None, datetime | None] | None,
) -> tuple[datetime | None, datetime | None] | None:
    if window is None or (window[0] is None and window[1] is None):
        return None
    return window


#: Punctuation that ends a clause: a period is owned by a name in its own clause first.
_CLAUSE_BREAK = re.compile(r"[,;:()—]")


def _gap(p: _Period, s: int, e: int, sentence: str = "") -> int:
    """Characters between a period and a span, plus the sentence's length when a clause
    break stands between them ("1,450 robots in 2022, up from 980": 2022 is 1,450's)."""
    a, b = (e, p.start_char) if p.start_char >= e else (p.end_char, s)
    return max(0, b - a) + (len(sentence) if _CLAUSE_BREAK.search(sentence[a:b]) else 0)


def _span_time_fit(
    periods: Sequence[_Period],
    s: int,
    e: int,
    published: datetime,
    window: tuple[datetime | None, datetime | None] | None,
    others: Sequence[tuple[int, int]] = (),
    sentence: str = "",
) -> float:
    """The window fit (`_window_fit`) of the periods a candidate at ``s:e`` of its sentence
    owns: each period belongs to the candidate nearest it (``others`` are the sentence's
    other candidates), so in "A (1990–1994), B (1994–1999)" each name has its own years and
    in "after A, she spent 2001–2004 at B" the years are B's. A candidate owning none gets 0;
    a sentence stating no time is dated by its publication (news reports what is new)."""
    asked = _asked_window(window)
    if asked is None:
        return 0.0
    if not periods:
        return _window_fit(_Period(0, 0, published, published, False), asked)
    owned = [p for p in periods if all(_gap(p, s, e) <= _gap(p, os, oe) for os, oe in others)]
    return max((_window_fit(p, asked) for p in owned), default=0.0)


def _time_fit(
    sentence: str, published: datetime, window: tuple[datetime | None, datetime | None] | None
) -> float:
    """The best window fit of any period the sentence states (its publication when none)."""
    asked = _asked_window(window)
    if asked is None:
        return 0.0
    periods = _periods(sentence, published) or [_Period(0, 0, published, published, False)]
    return max(_window_fit(p, asked) for p in periods)


def _date_answer(span: str, published: datetime) -> str | None:
    """A relative date ("on Monday", "last year") as the period it names; None if absolute."""
    found = find_time_mentions(span, published)
    if len(found) == 1 and found[0].relative:
        return period_text(found[0].span.start, found[0].span.granularity)
    return None


def _day(moment: datetime) -> str:
    return f"{moment.day} {moment:%B %Y}"


def period_text(moment: datetime, granularity: str | None) -> str:
    """A date as a reader writes it at its granularity: "2021", "June 2021", "14 June 2021"."""
    if granularity == "year":
        return f"{moment.year}"
    if granularity == "quarter":
        return f"Q{(moment.month - 1) // 3 + 1} {moment.year}"
    if granularity == "month":
        return f"{moment:%B %Y}"
    return _day(moment)


def label_of(name: str, evidence: Sequence[Passage]) -> str | None:
    """The entity label the evidence gives a name most often; None when it never tags it."""
    key = name_tokens(name)
    counts: dict[str, int] = {}
    for passage in evidence:
        for s, e, label in getattr(passage, "entities", ()):
            if name_tokens(_clean(passage.text[s:e])) == key:
                counts[label] = counts.get(label, 0) + 1
    return max(counts, key=lambda lab: (counts[lab], lab)) if counts else None


def graph_typed(
    decision: Decision | None, asked: Question, evidence: Sequence[Passage]
) -> Decision | None:
    """A graph answer checked against the type asked, rendered with its dates and citation.

    The graph answers with the other side of its best fact, which is an entity: for a
    question asking a date ("when") the answer is the fact's stated start instead (None when
    it stated none, or when the fact is not between the question's own entities); for other
    types, an entity the evidence tags with a label the question does not allow (a city for
    "who"), one of the question's own entities, or the other side of a fact whose relation
    says none of the question's relation words (`_relation_said`), is refused (None), so the
    passage reading answers instead. Yes/no and period answers pass unchanged.
    """
    if decision is None or decision.fact is None or asked.kind != "wh" or not asked.labels:
        return decision
    r = decision.fact
    source = max(r.fact.sources, key=lambda k: r.fact.sources[k])
    said = r.fact.evidence.get(source) if r.fact.evidence else None
    support = Support(
        doc_id_of(source), said.sentence if said else r.fact.sentence, r.fact.sources[source]
    )
    label: str | None = "DATE"
    if asked.labels[0] == "DATE":
        if r.fact.granularity is None or r.fact.valid_from is None:
            return None
        sides = f"{r.fact.subject} {r.fact.object}"
        if not all(mentions_in(sides, m) for m in asked.mentions):
            return None  # a date of some other holder's fact
        answer = period_text(r.valid_from, r.fact.granularity)
    else:
        answer = decision.answer
        label = label_of(answer, evidence)
        if asked.is_own(answer) or (label is not None and label not in asked.labels):
            return None
        if not _relation_said(asked, r.fact.relation):
            return None  # a fact of another relation: the passage decides
    statement = f"{answer} ({_fact_phrase(r, answer)}) [{support.document_id}]"
    return replace(decision, answer=answer, supporting=support, label=label, statement=statement)


#: The phrases the ontology reads as each relation ("married to" for "spouse of").
_ALIASES_OF: dict[str, tuple[str, ...]] = {
    name: tuple(alias for alias, target in RELATION_ALIASES.items() if target == name)
    for name in set(RELATION_ALIASES.values())
}


def _relation_said(asked: Question, relation: str) -> bool:
    """Whether a fact's relation ("chief executive of"), or a phrase the ontology reads as it
    ("married to" for "spouse of"), says one of the question's relation words (or the question
    has none): asked whom Orla Fenn married, her employer is no answer, whatever its type."""
    groups = [frozenset(_stem(w) for w in g) for g in asked.relation_groups()]
    phrases = (relation, *_ALIASES_OF.get(relation, ()))
    said = {_stem(w) for phrase in phrases for w in _TOKEN.findall(phrase)}
    return not groups or any(_matches(g, said) for g in groups)


def _fact_phrase(r: ResolvedFact, answer: str) -> str:
    """What the fact says besides the answer, with its validity: "chief executive of Halvard
    Robotics from June 2021 until May 2023"."""
    f = r.fact
    if answer == f.subject:
        what = f"{f.relation} {f.object}"
    elif answer == f.object:
        what = f"{f.subject} {f.relation}"
    else:
        what = f"{f.subject} {f.relation} {f.object}"
    gran = f.granularity or "day"
    when = f" from {period_text(r.valid_from, gran)}"
    if r.valid_to is not None:
        when += f" until {period_text(r.valid_to, gran)}"
    return what + when
