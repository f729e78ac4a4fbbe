"""`LLMFactExtractor`: facts read by a chat model, times resolved by deterministic code.

The model is good at what the rules are bad at (unusual phrasing, pronouns across sentences,
long-range context); it is bad at what the rules are good at (calendar arithmetic against a
reference date, and doing it the same way twice). So the work is split:

- The model returns, under a strict JSON schema, each fact's subject, relation (one of the
  canonical names of `graph.relations.RELATIONS`), object, the time expression *copied
  verbatim* from the text (``time_text``), whether that time is when the relation ended
  (``ends``), whether the sentence says it no longer holds (``negated``) and the sentence.
- This module validates each item with pydantic and drops the invalid ones (a reply that is
  not JSON at all yields no facts: the model's garbage never crashes an ingest), then locates
  ``time_text`` in the document and resolves it with `graph.timeparse.find_time_mentions`
  against the document's reference time, exactly as `RuleFactExtractor` does. A time the
  model wrote but the text does not contain (a date it computed itself) is ignored, and the
  fact falls back to the document's ``published_at`` like any undated fact.

Long documents are sent in windows of whole sentences, so one request never outgrows a small
model's context. Transport failures raise `Unavailable` (from the chat client) so the ingest
task retries; nothing falls back to the rules silently.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator, Sequence
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from app.core.settings import Settings
from app.integrations.llm import ChatMessage, ChatModel, chat_client_from_settings, parse_json_reply
from graph.extract import ExtractedFact, unique_facts
from graph.relations import RELATIONS, canonical_relation
from graph.text import split_sentences
from graph.timeparse import TimeMention, TimeSpan, find_time_mentions

__all__ = ["LLMFact", "LLMFactExtractor", "extraction_response_format"]

log = logging.getLogger(__name__)

_MAX_NAME_CHARS = 200
_MAX_SENTENCE_CHARS = 2_000


class LLMFact(BaseModel):
    """One fact as the model must return it; an item that does not fit is dropped.

    Extra keys (a "confidence" some models add) are ignored rather than costing the fact.
    ``relation`` accepts the canonical names and the aliases of `graph.relations` (normalised
    to the canonical name), since a model writing "CEO of" means the same thing; any other
    relation fails validation and the item is dropped.
    """

    model_config = ConfigDict(extra="ignore", str_strip_whitespace=True)

    subject: str = Field(min_length=1, max_length=_MAX_NAME_CHARS)
    relation: str
    object: str = Field(min_length=1, max_length=_MAX_NAME_CHARS)
    time_text: str | None = Field(default=None, max_length=_MAX_NAME_CHARS)
    ends: bool = False
    negated: bool = False
    sentence: str = Field(default="", max_length=_MAX_SENTENCE_CHARS)

    @field_validator("relation")
    @classmethod
    def _known_relation(cls, value: str) -> str:
        name = canonical_relation(value)
        if name not in RELATIONS:
            raise ValueError(f"relation {value!r} is not one of {sorted(RELATIONS)}")
        return name

    @field_validator("time_text")
    @classmethod
    def _blank_is_none(cls, value: str | None) -> str | None:
        return value or None


def extraction_response_format() -> dict[str, Any]:
    """The ``response_format`` of an extraction request: a strict JSON schema.

    Strict mode (OpenAI, vLLM's guided decoding, Ollama's format) needs every property
    required and no extra ones, so optionality is spelled as ``null`` in a type union.
    """
    fact = {
        "type": "object",
        "additionalProperties": False,
        "required": ["subject", "relation", "object", "time_text", "ends", "negated", "sentence"],
        "properties": {
            "subject": {"type": "string", "description": "Who or what the fact is about."},
            "relation": {"type": "string", "enum": sorted(RELATIONS)},
            "object": {"type": "string", "description": "The other side of the relation."},
            "time_text": {
                "type": ["string", "null"],
                "description": "The time expression exactly as written in the text, or null.",
            },
            "ends": {
                "type": "boolean",
                "description": "True when time_text is when the relation stopped holding.",
            },
            "negated": {
                "type": "boolean",
                "description": "True when the text says the relation ended or no longer holds.",
            },
            "sentence": {"type": "string", "description": "The sentence stating the fact."},
        },
    }
    return {
        "type": "json_schema",
        "json_schema": {
            "name": "temporal_facts",
            "strict": True,
            "schema": {
                "type": "object",
                "additionalProperties": False,
                "required": ["facts"],
                "properties": {"facts": {"type": "array", "items": fact}},
            },
        },
    }


def _system_prompt() -> str:
    relations = "\n".join(f'- "{spec.name}": {spec.description}' for spec in RELATIONS.values())
    return (
        "You extract timestamped facts from news text for a temporal knowledge graph.\n"
        "Return every fact the text states that fits one of these relations, and nothing "
        "else:\n"
        f"{relations}\n\n"
        "Rules:\n"
        "- subject and object are names as written in the text (people, organisations, "
        "places, teams, offices); resolve pronouns to the name they refer to.\n"
        "- time_text is the time expression from the text, copied character for character "
        '("last March", "in 2019" -> "2019", "Q3 2024", "on Monday" -> "Monday"). Never '
        "compute, complete or reformat a date; use null when the sentence gives no time.\n"
        '- ends is true when time_text is when the relation stopped ("until 2019", "left in '
        'May"); otherwise false.\n'
        '- negated is true when the text says the relation ended or no longer holds ("X '
        'stepped down as chief executive of Y", "former coach X").\n'
        "- sentence is the sentence of the text that states the fact, copied.\n"
        '- Return {"facts": []} when the text states no such fact.'
    )


class LLMFactExtractor:
    """A `graph.extract.FactExtractor` backed by a chat model; see the module docstring.

    Deterministic only as far as the server is: requests use temperature 0 and a fixed seed,
    and all time arithmetic is done here. Re-ingesting a document with a server that samples
    differently can change its facts; the graph's support sets keep that consistent (facts
    no longer stated by the version lose its support).
    """

    def __init__(
        self,
        chat: ChatModel,
        *,
        fiscal_year_start_month: int = 1,
        max_chars_per_request: int = 6_000,
    ) -> None:
        """Create an extractor.

        Args:
            chat: The chat model (normally an `OpenAIChatClient`).
            fiscal_year_start_month: Passed to `find_time_mentions` ("FY2024", "Q3 FY2024").
            max_chars_per_request: Longest text sent in one request; longer documents are
                split between sentences into several requests.

        Raises:
            ValueError: If ``max_chars_per_request`` is below 200.
        """
        if max_chars_per_request < 200:
            raise ValueError(
                f"max_chars_per_request must be at least 200, got {max_chars_per_request}"
            )
        self._chat = chat
        self._fiscal = fiscal_year_start_month
        self._max_chars = max_chars_per_request
        self._system = _system_prompt()
        self._format = extraction_response_format()

    @classmethod
    def from_settings(cls, settings: Settings) -> LLMFactExtractor:
        """The extractor for ``fact_extractor="llm"``.

        Raises:
            ConfigurationError: If the chat server is not configured.
        """
        chat = chat_client_from_settings(settings, "CHRONORAG_FACT_EXTRACTOR=llm")
        return cls(chat, fiscal_year_start_month=settings.fiscal_year_start_month)

    def extract(self, text: str, reference_time: datetime) -> list[ExtractedFact]:
        """Extract the facts stated in ``text``, resolving times against ``reference_time``.

        Args:
            text: The document text.
            reference_time: The document's published_at; relative times resolve against it.

        Returns:
            Facts in document order (window by window, in the model's order within one),
            without duplicates.

        Raises:
            ValueError: If ``reference_time`` is naive (checked before any request).
            Unavailable: If the chat server cannot be reached, times out or fails (5xx/429).
            ChatRequestRejected: If the server refuses the request (other 4xx).
        """
        if reference_time.tzinfo is None or reference_time.utcoffset() is None:
            raise ValueError(
                f"reference_time must be timezone-aware, got naive {reference_time.isoformat()}; "
                "relative times are never resolved against a guessed timezone"
            )
        return unique_facts(
            fact
            for window in self._windows(text)
            for fact in self._extract_window(window, reference_time)
        )

    def _windows(self, text: str) -> Iterator[str]:
        """Whole sentences, packed up to ``max_chars_per_request`` (a longer sentence alone)."""
        current: list[str] = []
        size = 0
        for sentence in split_sentences(text):
            if current and size + 1 + len(sentence) > self._max_chars:
                yield " ".join(current)
                current, size = [], 0
            current.append(sentence)
            size += len(sentence) + (1 if size else 0)
        if current:
            yield " ".join(current)

    def _extract_window(self, window: str, reference_time: datetime) -> list[ExtractedFact]:
        messages: list[ChatMessage] = [
            {"role": "system", "content": self._system},
            {"role": "user", "content": f"Text:\n{window}"},
        ]
        reply = self._chat.complete(messages, response_format=self._format)
        items = _items(reply)
        mentions = find_time_mentions(window, reference_time, fiscal_year_start_month=self._fiscal)
        sentences = split_sentences(window)
        facts: list[ExtractedFact] = []
        for index, item in enumerate(items):
            try:
                parsed = LLMFact.model_validate(item)
            except ValidationError as exc:
                log.info(
                    "dropping extracted item %d: %s",
                    index,
                    "; ".join(
                        f"{'.'.join(map(str, e['loc'])) or 'item'}: {e['msg']}"
                        for e in exc.errors()
                    ),
                )
                continue
            facts.append(self._fact(parsed, window, sentences, mentions))
        return facts

    def _fact(
        self,
        item: LLMFact,
        window: str,
        sentences: Sequence[str],
        mentions: Sequence[TimeMention],
    ) -> ExtractedFact:
        sentence = _source_sentence(item, sentences)
        span = _resolve_time(item.time_text, sentence, window, mentions)
        # A negation states an end ("left in 2019"), like an explicit end ("until 2019"):
        # the same convention as RuleFactExtractor, where the time becomes valid_to.
        ends = item.ends or item.negated
        return ExtractedFact(
            subject=item.subject,
            relation=item.relation,
            object=item.object,
            valid_from=None if ends else span,
            valid_to=span if ends else None,
            sentence=sentence,
            negated=item.negated,
        )


def _items(reply: str) -> list[Any]:
    """The fact items of a reply; an unreadable reply is logged and yields none."""
    try:
        data = parse_json_reply(reply)
    except ValueError:
        log.warning(
            "the chat model's extraction reply is not JSON; no facts from it: %.200r", reply
        )
        return []
    if isinstance(data, dict):
        data = data.get("facts")
    if not isinstance(data, list):
        log.warning("the chat model's extraction reply has no facts list: %.200r", reply)
        return []
    return data


def _normalise(text: str) -> str:
    return " ".join(text.split()).casefold()


def _source_sentence(item: LLMFact, sentences: Sequence[str]) -> str:
    """The document's sentence behind a fact, so provenance quotes the text, not the model.

    The model's sentence if the text has it (possibly as part of a longer sentence), else the
    first sentence naming both sides, else the model's sentence as given.
    """
    wanted = _normalise(item.sentence)
    if wanted:
        for sentence in sentences:
            if wanted in _normalise(sentence):
                return sentence
    subject, obj = item.subject.casefold(), item.object.casefold()
    for sentence in sentences:
        folded = sentence.casefold()
        if subject in folded and obj in folded:
            return sentence
    return " ".join(item.sentence.split())


def _resolve_time(
    time_text: str | None, sentence: str, window: str, mentions: Sequence[TimeMention]
) -> TimeSpan | None:
    """Resolve the model's time expression the way the rules do, or not at all.

    ``time_text`` is looked up in the window (case and whitespace aside), occurrences inside
    the fact's sentence first; the result is the `find_time_mentions` mention (computed over
    the whole window, so context such as "in May" counts) that overlaps it. Text the window
    does not contain, or that the parser does not read as a time, gives None.
    """
    if not time_text:
        return None
    words = time_text.split()
    if not words:
        return None
    pattern = re.compile(r"\s+".join(re.escape(w) for w in words), re.IGNORECASE)
    occurrences = [(m.start(), m.end()) for m in pattern.finditer(window)]
    if not occurrences:
        log.debug("time %r is not in the text; the fact stays undated", time_text)
        return None
    where = window.find(sentence)
    if where >= 0:
        inside = [o for o in occurrences if where <= o[0] and o[1] <= where + len(sentence)]
        occurrences = inside + [o for o in occurrences if o not in inside]
    for start, end in occurrences:
        for mention in mentions:
            if mention.start_char < end and start < mention.end_char:
                return mention.span
    log.debug("time %r is not a time expression the parser reads; undated", time_text)
    return None
