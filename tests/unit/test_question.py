"""Reading what a question asks for: each rule table's own examples are its tests."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from app.retrieval.answer import Decision, evidence_answer, graph_typed, period_text
from app.retrieval.question import (
    HEAD_NOUNS,
    PLACE,
    RELATION_WORDS,
    WH_RULES,
    head_noun,
    read_question,
    singular,
)
from app.retrieval.search import Evidence
from app.retrieval.service import choose
from graph.entities import entity_key
from graph.facts import Fact, source_id
from graph.temporal import resolve_timeline
from graph.timeparse import parse_period


@pytest.mark.parametrize(
    ("rule", "question"),
    [(r, q) for r in WH_RULES for q in r.examples],
    ids=lambda v: getattr(v, "name", v),
)
def test_wh_rule_examples_are_read_by_their_rule(rule, question) -> None:  # type: ignore[no-untyped-def]
    asked = read_question(question)
    assert asked.kind == "wh" and asked.rule == rule.name, asked
    if rule.labels:
        assert asked.labels == rule.labels


@pytest.mark.parametrize(
    ("entry", "question"),
    [(n, q) for n in HEAD_NOUNS for q in n.examples],
    ids=lambda v: getattr(v, "name", v),
)
def test_head_noun_examples_get_their_entry_s_labels(entry, question) -> None:  # type: ignore[no-untyped-def]
    asked = read_question(question)
    if asked.head is None:  # the question word decides ("Who ..."), not a head noun
        pytest.fail(f"no head noun read in {question!r}: {asked}")
    assert asked.labels == entry.labels, asked


@pytest.mark.parametrize(
    ("entry", "question"),
    [(r, q) for r in RELATION_WORDS for q in r.examples],
    ids=lambda v: getattr(v, "name", v),
)
def test_relation_word_examples_trigger_their_entry(entry, question) -> None:  # type: ignore[no-untyped-def]
    asked = read_question(question)
    groups = asked.relation_groups()
    assert any(entry.alternatives <= g for g in groups), (asked.words, groups)


@pytest.mark.parametrize(
    ("question", "labels"),
    [
        ("Who directed the Pellan Trust?", ("PERSON", "ORG")),
        ("Whom did the board appoint?", ("PERSON", "ORG")),
        ("Where is the Pellan Trust based?", ("GPE", "LOC", "FAC")),
        ("When was the coach appointed?", ("DATE", "TIME")),
        ("How much was Corvel Bank fined?", ("MONEY", "QUANTITY", "PERCENT", "CARDINAL")),
        ("How many staff did Corvel Bank cut?", ("CARDINAL", "QUANTITY")),
        ("Which team did Ilse Varn join?", ("ORG",)),
        ("What football club does Ilse Varn play for?", ("ORG",)),
        ("Which cities did Corvel Bank open branches in?", ("GPE", "LOC", "FAC")),
        ("In which year did Ilse Varn retire?", ("DATE",)),
        ("What was the fine paid by Corvel Bank?", ("MONEY",)),
    ],
)
def test_answer_type_per_question_word(question: str, labels: tuple[str, ...]) -> None:
    assert read_question(question).labels == labels


@pytest.mark.parametrize(
    "question",
    ["What did the Quillmere observatory open?", "What happened in May 2017?", "Why did it fall?"],
)
def test_a_question_no_rule_types_is_open(question: str) -> None:
    asked = read_question(question)
    assert asked.kind == "open" and asked.labels == ()


def test_yes_no_questions_have_no_span_type() -> None:
    asked = read_question("Is Ilse Varn the head coach of Dunmore Athletic?")
    assert asked.kind == "yes_no" and asked.labels == ()
    assert asked.present


def test_relation_words_exclude_names_and_question_words() -> None:
    asked = read_question("Who was the chief executive of Halvard Robotics?")
    assert asked.words == {"chief", "executive"}
    assert asked.mentions == ("Halvard Robotics",)
    assert not asked.present


def test_head_noun_skips_modifiers_and_stops_at_the_verb() -> None:
    assert head_noun("football club did she join")[0] == "club"
    assert head_noun("new robot did it launch")[0] == "robot"
    assert head_noun("happened in May")[0] is None
    assert singular("cities") == "city" and singular("clubs") == "club"


def test_question_s_own_entities_are_not_answers() -> None:
    asked = read_question("Who bought Halvard Robotics?")
    assert asked.is_own("Halvard Robotics") and asked.is_own("Halvard")
    assert not asked.is_own("Corvel Bank")


PUBLISHED = datetime(2023, 5, 1, tzinfo=UTC)


def _evidence(doc: str, text: str, spans: list[tuple[str, str]], published=PUBLISHED) -> Evidence:  # type: ignore[no-untyped-def]
    """Evidence with the spans an annotator would store (found by their text here)."""
    entities = []
    for name, label in spans:
        start = text.index(name)
        entities.append((start, start + len(name), label))
    bounds, start = [], 0
    for part in text.split(". "):
        end = start + len(part) + (0 if part.endswith(".") else 1)
        bounds.append((start, min(end, len(text))))
        start = end + 1
    return Evidence(
        doc, 1, text, published, 1.0, entities=tuple(sorted(entities)), sentences=tuple(bounds)
    )


def _answer(question: str, evidence: list[Evidence]) -> Decision:
    asked = read_question(question)
    decision = evidence_answer(
        question, list(asked.mentions), evidence, yes_no=asked.kind == "yes_no", asked=asked
    )
    assert decision is not None
    return decision


def test_who_is_answered_with_a_person_not_the_city_beside_them() -> None:
    ev = _evidence(
        "pellan-3",
        "The Pellan Trust, a charity in Ardmoor, named Oskar Brisk as its director.",
        [("Pellan Trust", "ORG"), ("Ardmoor", "GPE"), ("Oskar Brisk", "PERSON")],
    )
    decision = _answer("Who directed the Pellan Trust?", [ev])
    assert decision.answer == "Oskar Brisk" and decision.label == "PERSON"
    assert decision.supporting is not None and decision.supporting.document_id == "pellan-3"
    assert decision.statement == "Oskar Brisk (reported 1 May 2023) [pellan-3]"


def test_when_is_answered_with_a_date_not_a_title_word() -> None:
    ev = _evidence(
        "dunmore-2",
        "Head coach Ilse Varn was appointed by Dunmore Athletic in March 2022.",
        [("Ilse Varn", "PERSON"), ("Dunmore Athletic", "ORG"), ("March 2022", "DATE")],
    )
    assert _answer("When was Ilse Varn appointed head coach?", [ev]).answer == "March 2022"


def test_how_much_is_the_amount_of_the_relation_asked() -> None:
    ev = _evidence(
        "corvel-5",
        "Corvel Bank launched a mortgage at 3.9 percent. Regulators fined Corvel Bank £2 million.",
        [("Corvel Bank", "ORG"), ("3.9 percent", "PERCENT"), ("£2 million", "MONEY")],
    )
    assert _answer("How much was Corvel Bank fined?", [ev]).answer == "£2 million"


def test_the_predecessor_named_beside_the_holder_is_not_the_answer() -> None:
    ev = _evidence(
        "halvard-2",
        "Halvard Robotics named Juno Pell chief executive, replacing Arno Vick.",
        [("Halvard Robotics", "ORG"), ("Juno Pell", "PERSON"), ("Arno Vick", "PERSON")],
    )
    assert _answer("Who is the chief executive of Halvard Robotics?", [ev]).answer == "Juno Pell"


def test_no_span_of_the_type_asked_is_i_dont_know_with_nearest_evidence() -> None:
    ev = _evidence(
        "pellan-4",
        "The Pellan Trust opened a shelter in Ardmoor.",
        [("Pellan Trust", "ORG"), ("Ardmoor", "GPE")],
    )
    decision = _answer("How much did the Pellan Trust raise?", [ev])
    assert decision.answer == "I don't know"
    assert decision.supporting is not None and "shelter" in decision.supporting.sentence


def test_evidence_without_spans_falls_back_to_the_sentence() -> None:
    ev = Evidence("x", 1, "Corvel Bank was fined £2 million by regulators.", PUBLISHED, 1.0)
    assert "£2 million" in _answer("How much was Corvel Bank fined?", [ev]).answer


def test_choose_keeps_the_graph_unless_the_reading_is_newer() -> None:
    older, newer = datetime(2022, 1, 1, tzinfo=UTC), datetime(2023, 1, 1, tzinfo=UTC)
    graph = Decision("Juno Pell", older)
    assert choose(graph, Decision("Arno Vick", older)) is graph
    assert choose(graph, Decision("Arno Vick", newer)).answer == "Arno Vick"  # type: ignore[union-attr]
    unknown = Decision("I don't know", None)
    assert choose(graph, unknown) is graph and choose(None, unknown) is unknown
    # An event's date: a newer report (another holder's appointment) does not override.
    assert choose(graph, Decision("April 2024", newer), newer_wins=False) is graph


@pytest.mark.parametrize(
    ("granularity", "text"),
    [("year", "2021"), ("quarter", "Q2 2021"), ("month", "June 2021"), ("day", "1 June 2021")],
)
def test_period_text_keeps_the_granularity(granularity: str, text: str) -> None:
    assert period_text(datetime(2021, 6, 1, tzinfo=UTC), granularity) == text


def _graph_decision(subject: str, relation: str, obj: str, answer: str) -> Decision:
    fact = Fact.from_source(
        tenant="t1",
        subject=subject,
        subject_key=entity_key(subject),
        relation=relation,
        object=obj,
        object_key=entity_key(obj),
        valid_from=parse_period("2021-06"),
        valid_to=None,
        source=source_id("halvard-4", 1),
        published_at=datetime(2021, 6, 14, tzinfo=UTC),
        sentence=f"{obj} named {subject} as its {relation.removesuffix(' of')}.",
    )
    (resolved,) = resolve_timeline([fact], as_of=None)
    return Decision(answer, fact.known_from, fact=resolved)


def test_graph_answer_gets_its_dates_citation_and_supporting_sentence() -> None:
    decision = _graph_decision("Juno Pell", "chief executive of", "Halvard Robotics", "Juno Pell")
    typed = graph_typed(decision, read_question("Who leads Halvard Robotics?"), [])
    assert typed is not None and typed.answer == "Juno Pell"
    assert typed.statement == (
        "Juno Pell (chief executive of Halvard Robotics from June 2021) [halvard-4]"
    )
    assert typed.supporting is not None and typed.supporting.document_id == "halvard-4"


def test_graph_answer_of_the_wrong_type_is_refused() -> None:
    decision = _graph_decision("Halvard Robotics", "headquartered in", "Ardmoor", "Ardmoor")
    ev = _evidence("h1", "Halvard Robotics is based in Ardmoor.", [("Ardmoor", "GPE")])
    assert graph_typed(decision, read_question("Who directed Halvard Robotics?"), [ev]) is None


def test_graph_answers_when_with_the_fact_s_start() -> None:
    decision = _graph_decision("Juno Pell", "chief executive of", "Halvard Robotics", "Juno Pell")
    asked = read_question("When did Juno Pell join Halvard Robotics?")
    typed = graph_typed(decision, asked, [])
    assert typed is not None and typed.answer == "June 2021" and typed.label == "DATE"
    other = read_question("When did Arno Vick join Halvard Robotics?")
    assert graph_typed(decision, other, []) is None  # another holder's fact


def test_graph_answer_of_another_relation_is_refused_whatever_its_type() -> None:
    decision = _graph_decision("Orla Fenn", "employed by", "Corvel Bank", "Corvel Bank")
    ev = _evidence("f1", "Orla Fenn joined Corvel Bank in 2004.", [("Corvel Bank", "ORG")])
    assert graph_typed(decision, read_question("Who did Orla Fenn marry in 2010?"), [ev]) is None
    typed = graph_typed(decision, read_question("Who did Orla Fenn work for in 2010?"), [ev])
    assert typed is not None and typed.answer == "Corvel Bank"  # "works for" is "employed by"


def test_graph_answer_is_read_through_the_ontology_s_phrases() -> None:
    decision = _graph_decision("Orla Fenn", "spouse of", "Tobias Renn", "Tobias Renn")
    ev = _evidence("f2", "Orla Fenn married Tobias Renn.", [("Tobias Renn", "PERSON")])
    typed = graph_typed(decision, read_question("Who was Orla Fenn married to in 2010?"), [ev])
    assert typed is not None and typed.answer == "Tobias Renn"


@pytest.mark.parametrize(
    ("request_", "kind", "labels"),
    [
        ("Can you tell me who chairs the Pellan Trust?", "wh", ("PERSON", "ORG")),
        ("Could you name the club that Ilse Varn coached in 2010?", "wh", ("ORG",)),
        ("Name the bank Orla Fenn joined in 2004.", "wh", ("ORG",)),
        ("Please find out which city Halvard Robotics moved to.", "wh", ("GPE", "LOC", "FAC")),
        ("Tell me where Corvel Bank is based.", "wh", PLACE),
    ],
)
def test_a_request_is_read_as_the_question_it_makes(
    request_: str, kind: str, labels: tuple[str, ...]
) -> None:
    asked = read_question(request_)
    assert (asked.kind, asked.labels) == (kind, labels), asked
    assert not {"Name", "Tell", "Please", "Identify"} & set(asked.mentions)


def test_a_yes_no_question_to_you_stays_yes_no() -> None:
    assert read_question("Can you confirm that Orla Fenn chairs the trust?").kind == "yes_no"


def test_a_description_asked_is_answered_with_a_sentence() -> None:
    asked = read_question("What position did Mara Quint hold in 2015?")
    assert (asked.kind, asked.head, asked.labels) == ("open", "position", ())
