"""The rule table's own examples, the defects of issue 16, and vocabulary loading.

Every sentence and name here is invented. The parametrised test runs each rule's examples
from `graph.extract.rules.RULES`, so adding a rule means adding its examples, and a rule that
stops matching its own example fails by name.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from graph.extract import RuleFactExtractor
from graph.extract.model import OPEN
from graph.extract.rules import RULES, Example, Rule
from graph.relations import RELATIONS, is_open_relation

Row = tuple[str, str, str, bool, str | None, str | None]


def _rows(text: str, reference: datetime) -> set[Row]:
    """(subject, relation, object, negated, valid_from label, valid_to label) of each fact."""
    return {
        (
            f.subject,
            f.relation,
            f.object,
            f.negated,
            f.valid_from.label if f.valid_from else None,
            f.valid_to.label if f.valid_to else None,
        )
        for f in RuleFactExtractor().extract(text, reference)
    }


# --- the rule table -------------------------------------------------------------------------


_CASES = [
    pytest.param(rule, example, id=f"{rule.name}-{index}")
    for rule in RULES
    for index, example in enumerate(rule.examples)
]


def test_every_rule_has_a_unique_name_and_an_example() -> None:
    names = [rule.name for rule in RULES]
    assert len(names) == len(set(names))
    assert all(rule.examples and rule.yields for rule in RULES)


@pytest.mark.parametrize(("rule", "example"), _CASES)
def test_rule_example_gives_exactly_its_facts(rule: Rule, example: Example) -> None:
    traced = RuleFactExtractor().explain(example.text, example.reference)
    holds = {(f.subject, f.relation, f.object) for _, f in traced if not f.negated}
    ended = {(f.subject, f.relation, f.object) for _, f in traced if f.negated}
    assert holds == set(example.holds)
    assert ended == set(example.ended)
    own = [f for name, f in traced if name == rule.name]
    assert own, f"rule {rule.name!r} did not fire on its own example"
    for fact in own:
        known = fact.relation in rule.yields
        assert known or (OPEN in rule.yields and is_open_relation(fact.relation))


# --- issue 16 defects -----------------------------------------------------------------------

JAN = datetime(2024, 1, 10, tzinfo=UTC)


def test_capitalised_title_opening_a_sentence_is_not_an_organisation() -> None:
    assert _rows("Head coach Tamar Ellery called it a fair result.", JAN) == set()
    assert _rows("Chief executive Oren Baptiste said orders rose.", JAN) == set()


def test_announced_departure_in_a_bare_month_resolves_forward() -> None:
    text = "Wilma Castellan will step down as chair of Pordell Insurance in March."
    assert _rows(text, JAN) == {
        ("Wilma Castellan", "chair of", "Pordell Insurance", True, None, "2024-03")
    }


def test_past_departure_in_a_bare_month_still_resolves_backward() -> None:
    text = "Wilma Castellan stepped down as chair of Pordell Insurance in March."
    assert _rows(text, JAN) == {
        ("Wilma Castellan", "chair of", "Pordell Insurance", True, None, "2023-03")
    }


def test_organisation_named_person_as_its_director_is_head_of() -> None:
    assert _rows("The Ambrey Foundation named Sefa Lorne as its director.", JAN) == {
        ("Sefa Lorne", "head of", "Ambrey Foundation", False, None, None)
    }


def test_confirmed_as_chairman_of_its_board() -> None:
    assert _rows("Quenby Bank confirmed Idris Marlowe as chairman of its board.", JAN) == {
        ("Idris Marlowe", "chair of", "Quenby Bank", False, None, None)
    }


def test_organisation_said_person_will_become_its_chief_executive() -> None:
    text = "Tavistrand Robotics said Oona Pilgrim will become its chief executive in May."
    assert _rows(text, JAN) == {
        ("Oona Pilgrim", "chief executive of", "Tavistrand Robotics", False, "2024-05", None)
    }


def test_left_one_employer_for_another_ends_one_and_starts_the_other() -> None:
    text = "Basil Honeyford left Cordwell Analytics for Dunstan Labs in 2019."
    assert _rows(text, JAN) == {
        ("Basil Honeyford", "employed by", "Cordwell Analytics", True, None, "2019"),
        ("Basil Honeyford", "employed by", "Dunstan Labs", False, "2019", None),
    }


def test_pronoun_after_a_time_opener_without_comma_resolves() -> None:
    text = (
        "Marisol Eddery joined Dunstan Labs in 2010. Until 2009 she worked at Cordwell Analytics."
    )
    assert _rows(text, JAN) == {
        ("Marisol Eddery", "employed by", "Dunstan Labs", False, "2010", None),
        ("Marisol Eddery", "employed by", "Cordwell Analytics", True, None, "2009"),
    }


def test_unknown_relation_phrase_is_kept_as_an_open_relation() -> None:
    rows = _rows("Perrin Gaunt, the founder of Hollowmere Games, said sales rose.", JAN)
    assert rows == {("Perrin Gaunt", "founder of", "Hollowmere Games", False, None, None)}
    assert is_open_relation("founder of")
    assert not is_open_relation("chair of")
    assert "founder of" not in RELATIONS


def test_vague_nouns_and_known_relations_are_not_open_relations() -> None:
    assert _rows("Perrin Gaunt, one of Hollowmere Games' founders, spoke.", JAN) == set()
    assert _rows("Perrin Gaunt, the head of Hollowmere Games, spoke.", JAN) == {
        ("Perrin Gaunt", "head of", "Hollowmere Games", False, None, None)
    }
    assert _rows("Lowmoor Dairy is a subsidiary of Hollowmere Foods.", JAN) == {
        ("Lowmoor Dairy", "owned by", "Hollowmere Foods", False, None, None)
    }


# --- vocabulary files -----------------------------------------------------------------------


def test_extra_vocabulary_file_extends_a_tag(tmp_path: Path) -> None:
    text = "Ines Vollmer was appointed quartermaster of the Lindqvist Shipping Guild in 2020."
    assert RuleFactExtractor().extract(text, JAN) == []
    extra = tmp_path / "guild.txt"
    extra.write_text("# a deployment's own titles\njob_title quartermaster\n", encoding="utf-8")
    facts = RuleFactExtractor(vocab_files=[extra]).extract(text, JAN)
    assert [(f.subject, f.relation, f.object) for f in facts] == [
        ("Ines Vollmer", "employed by", "Lindqvist Shipping Guild")
    ]


def test_extra_vocabulary_file_with_an_unknown_tag_is_refused(tmp_path: Path) -> None:
    extra = tmp_path / "typo.txt"
    extra.write_text("job_titel quartermaster\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"unknown vocabulary tag 'job_titel'.*job_title"):
        RuleFactExtractor(vocab_files=[extra])


def test_missing_vocabulary_file_is_refused_with_the_setting_name(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="CHRONORAG_EXTRACT_VOCAB_FILES"):
        RuleFactExtractor(vocab_files=[tmp_path / "absent.txt"])
