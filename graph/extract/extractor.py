"""The pipeline: sentences → names → rules → relation mapping → time attachment → facts.

`RuleFactExtractor` runs the steps of this package in order for each sentence and keeps the
facts that pass validation (a person subject for a person relation, a real name for every
object). The compiled rules for a vocabulary are built once and shared (`grammar_for`), so
constructing an extractor per request costs nothing after the first.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from pathlib import Path

from graph.extract.fragments import Fragments, e
from graph.extract.lexicon import Lexicon
from graph.extract.model import (
    COACH,
    PERSON_RELATIONS,
    POSITION,
    ROLE_RELATIONS,
    TEAM,
    DocState,
    Draft,
    ExtractedFact,
    unique_facts,
)
from graph.extract.names import (
    Item,
    Token,
    chunk,
    clean_name,
    is_headline,
    keep_mention,
    person_like,
    smart_case,
    time_of,
    tokenize,
)
from graph.extract.rules import RULES, Rule
from graph.extract.sentence import Sentence
from graph.extract.timing import assign_times
from graph.extract.vocabulary import load_vocabulary
from graph.text import split_long, split_sentences
from graph.timeparse import find_time_mentions

__all__ = ["MAX_SENTENCE_CHARS", "Grammar", "RuleFactExtractor", "grammar_for"]

_MAX_NAME_WORDS = 8
# ", replacing Z" after a role fact: Z's role ends when the new holder's starts.
_SUCCESSION_TAIL = re.compile(
    rf",\s(?:who\s)?(?P<v>succeeds|succeeded|succeeding|replaces|replaced|replacing|"
    rf"takes\sover\sfrom|took\sover\sfrom|taking\sover\sfrom)\s(?:the\s)?"
    rf"(?:(?:outgoing|retiring|departing|interim)\s)?{e('z')}(?!'s)"
)


@dataclass(frozen=True)
class Grammar:
    """Everything compiled from one vocabulary: the lexicon and the rules' regexes."""

    lexicon: Lexicon
    rules: tuple[tuple[Rule, re.Pattern[str]], ...]


@lru_cache(maxsize=8)
def grammar_for(vocab_files: tuple[Path, ...] = ()) -> Grammar:
    """The grammar for the packaged vocabulary plus ``vocab_files``, compiled once per set.

    Raises:
        ValueError: If a vocabulary file is unreadable or malformed (see `load_vocabulary`).
    """
    lexicon = Lexicon(load_vocabulary(vocab_files))
    fragments = Fragments(lexicon)
    return Grammar(lexicon, tuple((rule, re.compile(rule.pattern(fragments))) for rule in RULES))


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
    CEO of Y"), titles before names ("Transport Secretary X"), transfers ("Y have signed X from
    Z", "X joined Y on loan"), departures ("X stepped down as chair of Y", "X, who left Y last
    year"), successions ("X succeeded Z as CEO of Y"), marriages, headquarters and ownership.

    Sports context (words like "striker", "on loan", "league" anywhere in the document)
    decides whether "joined"/"left"/"signed" means a team or an employer, and whether
    "manager" means a coach.

    Pronouns: a sentence that starts with "He"/"She" (or "The 41-year-old", or "In 2019, she
    ...") takes the last person subject of the document; other pronouns are not resolved and
    yield no fact. Negated or hedged clauses ("did not join", "could join", "is linked
    with") yield nothing; scheduled future ("will join Y in July") is kept with that start.

    The instance holds no state between calls, so one extractor may serve many threads.

    Limitations:
        - Names are recognised by capitalisation: lower-case brand names ("eBay") are missed,
          and a title followed by three capitalised words may be split wrongly (offices and
          institutions in the vocabulary are protected, rarer ones are not).
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

    def __init__(self, vocab_files: Iterable[str | Path] = ()) -> None:
        """Compile (or reuse) the rules for the packaged vocabulary plus ``vocab_files``.

        Args:
            vocab_files: A deployment's own vocabulary files (format in any packaged file's
                header), normally the setting ``extract_vocab_files``.

        Raises:
            ValueError: If a vocabulary file is unreadable, malformed or uses an unknown tag.
        """
        self._grammar = grammar_for(tuple(Path(p) for p in vocab_files))

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
        return [fact for _, fact in self.explain(text, reference_time)]

    def explain(self, text: str, reference_time: datetime) -> list[tuple[str, ExtractedFact]]:
        """`extract`, with the name of the rule (`graph.extract.rules.RULES`) behind each fact.

        For tracing a wrong fact to the one rule that made it, and for the rule table's tests.
        """
        lx = self._grammar.lexicon
        doc = DocState(sports=_is_sports(lx, text))
        traced = [
            pair
            for sentence in split_sentences(text)
            for piece in split_long(sentence, MAX_SENTENCE_CHARS)
            for pair in self._sentence_facts(piece, reference_time, doc)
        ]
        kept = {id(fact) for fact in unique_facts(fact for _, fact in traced)}
        return [(rule, fact) for rule, fact in traced if id(fact) in kept]

    def _sentence_facts(
        self, text: str, reference_time: datetime, doc: DocState
    ) -> list[tuple[str, ExtractedFact]]:
        if text.rstrip().endswith("?"):
            return []
        lx = self._grammar.lexicon
        cased = smart_case(text)
        surface = cased or text
        mentions = [
            m for m in find_time_mentions(text, reference_time) if keep_mention(lx, m, text)
        ]
        tokens = tokenize(lx, surface)
        headline = cased is not None or is_headline(tokens)
        if headline:
            for token in tokens[1:]:
                if token.lower in lx.headline_lower:
                    token.text = token.lower
        items = chunk(lx, tokens, time_of(tokens, mentions), mentions, headline=headline)
        items = _resolve_leading_pronoun(items, doc)
        sentence = Sentence(text, surface, items, doc, lx)
        for rule, pattern in self._grammar.rules:
            sentence.rule = rule.name
            for match in pattern.finditer(sentence.reduced):
                rule.handler(sentence, match)
        sentence.rule = "succession_tail"
        _add_succession_tails(sentence)
        flat = " ".join(text.split())
        sentence.drafts = [d for d in sentence.drafts if _valid_draft(lx, d)]
        for draft in sentence.drafts:
            assign_times(sentence, draft, reference_time)
        for draft in sentence.drafts:
            if draft.shares_time_with is not None:
                source = draft.shares_time_with
                draft.valid_to = draft.valid_to or source.valid_from
        facts = [
            (
                draft.rule,
                ExtractedFact(
                    subject=draft.subject,
                    relation=draft.relation,
                    object=draft.object,
                    valid_from=draft.valid_from,
                    valid_to=draft.valid_to,
                    sentence=flat,
                    negated=draft.negated,
                ),
            )
            for draft in sentence.drafts
        ]
        _update_last_person(sentence, [fact for _, fact in facts], doc)
        return facts


def _valid_draft(lx: Lexicon, draft: Draft) -> bool:
    if draft.relation in PERSON_RELATIONS:
        if not valid_person(lx, draft.subject):
            return False
    elif not valid_name(lx, draft.subject):
        return False
    return _valid_object(lx, draft)


def _valid_object(lx: Lexicon, draft: Draft) -> bool:
    if draft.relation == POSITION:
        words = draft.object.split()
        return 2 <= len(words) <= 12 and draft.object.lower() not in lx.pronouns
    if draft.object.lower() in lx.generic_objects:
        return False
    if draft.relation in {TEAM, COACH} and lx.competition.search(draft.object):
        return False
    return valid_name(lx, draft.object)


def _is_sports(lx: Lexicon, text: str) -> bool:
    if lx.sports_strong.search(text):
        return True
    return len({m.group().lower() for m in lx.sports_weak.finditer(text)}) >= 2


def _resolve_leading_pronoun(items: list[Item], doc: DocState) -> list[Item]:
    """Replace a sentence-initial "He"/"She"/"The 41-year-old" by the last person named."""
    if not items or doc.last_person is None:
        return items
    first = items[0]
    if first.kind == "W" and first.text in {"he", "she"}:
        return [Item("E", doc.last_person, first.start, first.end), *items[1:]]
    # "In 2019, she joined ...", "Until 2009 she worked ...": a short opener with no name,
    # ending in a comma or a time, then the pronoun.
    for index, item in enumerate(items[:8]):
        if item.kind == "E":
            break
        comma = item.kind == "W" and item.text == ","
        if comma or item.kind == "T":
            after = items[index + 1] if index + 1 < len(items) else None
            if after is not None and after.kind == "W" and after.text in {"he", "she"}:
                resolved = Item("E", doc.last_person, after.start, after.end)
                return [*items[: index + 1], resolved, *items[index + 2 :]]
            if comma:
                break
    if (
        len(items) > 1
        and first.kind == "W"
        and first.text == "the"
        and items[1].kind == "W"
        and re.fullmatch(r"\d+-year-old", items[1].text)
    ):
        return [Item("E", doc.last_person, first.start, items[1].end), *items[2:]]
    return items


def _update_last_person(sentence: Sentence, facts: list[ExtractedFact], doc: DocState) -> None:
    for fact in reversed(facts):
        if fact.relation in PERSON_RELATIONS:
            doc.last_person = fact.subject
            return
    for item in sentence.items[:3]:
        if item.kind == "E":
            name = item.text or clean_name(sentence.lx, sentence.surface[item.start : item.end])
            tokens = [Token(w, 0, 0) for w in name.split()]
            if len(tokens) >= 2 and person_like(sentence.lx, tokens):
                doc.last_person = name
            return


def _add_succession_tails(sentence: Sentence) -> None:
    """ ", replacing Z" after a role fact: Z's role ends when the new holder's starts."""
    for match in _SUCCESSION_TAIL.finditer(sentence.reduced):
        predecessor = sentence.entity(match, "z")
        candidates = [
            d
            for d in sentence.drafts
            if d.anchor < match.start()
            and not d.negated
            and d.relation in ROLE_RELATIONS
            and d.shares_time_with is None
        ]
        if not candidates or not predecessor:
            continue
        new = candidates[-1]
        if predecessor == new.subject:
            continue
        old = Draft(predecessor, new.relation, new.object, True, "event", new.anchor, new.left,
                     new.right, shares_time_with=new, rule=sentence.rule)  # fmt: skip
        sentence.drafts.append(old)


def valid_name(lx: Lexicon, name: str) -> bool:
    words = name.split()
    if not words or len(words) > _MAX_NAME_WORDS:
        return False
    if name.lower() in lx.pronouns or name.lower() in lx.cap_stop or lx.demonym.fullmatch(name):
        return False
    return any(c.isupper() for c in name) and any(c.isalpha() for c in name)


def valid_person(lx: Lexicon, name: str) -> bool:
    """Whether a subject can be a person: a short name, no organisation or place words."""
    if not valid_name(lx, name):
        return False
    words = [w for w in name.split() if w.lower() not in lx.particles]
    if len(words) > 5 or any(w.lower().rstrip(".") in lx.nonperson_subject for w in words):
        return False
    return all(w[:1].isupper() or w[:1].isdigit() for w in words)
