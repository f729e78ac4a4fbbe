"""The NLP layer with the real spaCy pipeline: entity spans and sentence bounds per chunk,
stored in the chunk payload and read back into evidence without parsing again."""

from __future__ import annotations

import threading

import pytest

from app.retrieval.search import _evidence
from app.stores.engines import Hit
from graph.nlp import (
    RELABEL_RULES,
    Annotation,
    SpacyAnnotator,
    check_installed,
    harmonise_labels,
    relabel,
)

pytestmark = pytest.mark.integration

TEXT = (
    "Halvard Robotics named Juno Pell as its chief executive in June 2021. "
    "Pell said the company was fined £4.2 million in 2022."
)


@pytest.fixture(scope="module")
def annotator() -> SpacyAnnotator:
    return SpacyAnnotator()


def _labelled(text: str, note: Annotation) -> dict[str, str]:
    return {text[s:e]: label for s, e, label in note.entities}


def test_entities_and_sentences_of_each_chunk(annotator: SpacyAnnotator) -> None:
    (note,) = annotator.annotate([TEXT])
    found = _labelled(TEXT, note)
    assert found["Juno Pell"] == "PERSON"
    assert found["June 2021"] == "DATE"
    assert found["£4.2 million"] == "MONEY"
    assert [TEXT[s:e] for s, e in note.sentences] == [
        "Halvard Robotics named Juno Pell as its chief executive in June 2021.",
        "Pell said the company was fined £4.2 million in 2022.",
    ]


def test_a_surname_alone_is_the_person_named_earlier_in_the_document(
    annotator: SpacyAnnotator,
) -> None:
    (note,) = annotator.annotate([TEXT])
    start = TEXT.index("Pell said")
    assert (start, start + 4, "PERSON") in note.entities


def test_concurrent_callers_share_one_pipeline(annotator: SpacyAnnotator) -> None:
    results: list[list[Annotation]] = []
    threads = [
        threading.Thread(target=lambda: results.append(annotator.annotate([TEXT] * 3)))
        for _ in range(4)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(results) == 4 and all(r == results[0] for r in results)


def test_empty_batch_loads_nothing() -> None:
    assert SpacyAnnotator("a_model_that_is_not_installed").annotate([]) == []


def test_a_missing_model_fails_fast_with_the_fix() -> None:
    with pytest.raises(RuntimeError, match="CHRONORAG_NLP=off"):
        check_installed("a_model_that_is_not_installed")


@pytest.mark.parametrize(
    ("rule", "example"), [(r, x) for r in RELABEL_RULES for x in r.examples], ids=str
)
def test_relabel_rule_examples(rule, example: str) -> None:  # type: ignore[no-untyped-def]
    start = example.index("[")
    end = example.index("]") - 1
    text = example.replace("[", "").replace("]", "")
    note = relabel(text, Annotation(((start, end, "PERSON"),), ()))
    assert note.entities == ((start, end, rule.label),)


def test_harmonise_relabels_surnames_across_chunks() -> None:
    texts = ["Juno Pell joined in May.", "Pell said sales rose."]
    notes = [Annotation(((0, 9, "PERSON"),), ((0, 24),)), Annotation(((0, 4, "ORG"),), ((0, 21),))]
    out = harmonise_labels(texts, notes)
    assert out[1].entities == ((0, 4, "PERSON"),) and out[1].sentences == ((0, 21),)


def test_payload_round_trip_into_evidence() -> None:
    note = Annotation(((0, 9, "PERSON"),), ((0, 24),))
    payload = {
        "doc_id": "d1",
        "version": 2,
        "text": "Juno Pell joined in May.",
        "published_ts": 1_700_000_000.0,
        **note.payload(),
    }
    assert Annotation.from_payload(payload) == note
    ev = _evidence(Hit("p", 0.5, payload), 0.5)
    assert ev.entities == note.entities and ev.sentences == note.sentences
    bare = _evidence(
        Hit("p", 0.5, {k: v for k, v in payload.items() if k not in note.payload()}), 0.5
    )
    assert bare.entities == () and bare.sentences == ()
