"""Entity keys and resolution: one key per entity, within and across documents."""

from __future__ import annotations

import pytest

from graph.entities import EntityResolver, entity_key


@pytest.mark.parametrize(
    ("name", "key"),
    [
        ("The BBC", "bbc"),
        ("BBC", "bbc"),
        ("the bbc", "bbc"),
        ("Mr. Smith", "smith"),
        ("mr smith", "smith"),
        ("Dr Jane Doe", "jane doe"),
        ("Prof. Dr. Schmidt", "schmidt"),
        ("Acme's", "acme"),
        ("Acme\u2019s", "acme"),
        ("Coca-Cola", "coca-cola"),
        ("AT&T", "at & t"),
        ("AT & T", "at & t"),
        ("U.S. Steel", "us steel"),
        ("O'Brien", "obrien"),
        ("\uff29\uff22\uff2d", "ibm"),
        ("Stra\u00dfe", "strasse"),
        ("  Jane   Doe , ", "jane doe"),
        ("\u201cThe Guardian\u201d", "guardian"),
        ("-Acme-", "acme"),
    ],
)
def test_entity_key_normalises_surface_forms(name: str, key: str) -> None:
    assert entity_key(name) == key


def test_entity_key_keeps_job_titles_and_honorific_before_joiner() -> None:
    assert entity_key("President Biden") == "president biden"
    assert entity_key("Lord of the Rings") == "lord of the rings"


def test_entity_key_of_punctuation_only_is_empty() -> None:
    assert entity_key(" - & . ") == ""


def test_surname_resolves_to_full_name_seen_earlier_in_document() -> None:
    resolver = EntityResolver()
    resolver.begin_document()
    assert resolver.resolve("John Smith") == "john smith"
    assert resolver.resolve("Mr. Smith") == "john smith"
    assert resolver.resolve("Smith's") == "john smith"


def test_surname_seen_before_the_full_name_keeps_its_own_key() -> None:
    resolver = EntityResolver()
    resolver.begin_document()
    assert resolver.resolve("Smith") == "smith"
    assert resolver.resolve("John Smith") == "john smith"


def test_ambiguous_surname_in_document_keeps_its_own_key() -> None:
    resolver = EntityResolver(known=["jane smith"])
    resolver.begin_document()
    resolver.resolve("John Smith")
    resolver.resolve("Mary Smith")
    assert resolver.resolve("Smith") == "smith"


def test_surname_resolves_to_unique_known_key_when_document_has_none() -> None:
    resolver = EntityResolver(known=["jane doe", "acme"])
    resolver.begin_document()
    assert resolver.resolve("Ms Doe") == "jane doe"


def test_document_context_wins_over_known_keys() -> None:
    resolver = EntityResolver(known=["jane doe", "doe"])
    resolver.begin_document()
    assert resolver.resolve("Doe") == "doe"
    resolver.resolve("John Doe")
    assert resolver.resolve("Doe") == "john doe"


def test_single_word_is_not_resolved_to_an_organisation() -> None:
    resolver = EntityResolver(known=["acme group"])
    resolver.begin_document()
    resolver.resolve("Bank of England")
    assert resolver.resolve("England") == "england"
    assert resolver.resolve("Group") == "group"


def test_begin_document_forgets_names_but_keeps_known_keys() -> None:
    resolver = EntityResolver()
    resolver.begin_document()
    resolver.resolve("John Smith")
    resolver.resolve("Mary Jones")
    resolver.begin_document()
    resolver.resolve("Tom Jones")
    # "Jones" is now local to the second document, while "Smith" is found in known keys.
    assert resolver.resolve("Jones") == "tom jones"
    assert resolver.resolve("Smith") == "john smith"


def test_acronym_from_full_name_mention_applies_in_document() -> None:
    resolver = EntityResolver()
    resolver.begin_document()
    assert resolver.resolve("International Business Machines (IBM)") == (
        "international business machines"
    )
    assert resolver.resolve("IBM") == "international business machines"
    assert resolver.learned_aliases() == {"ibm": "international business machines"}


def test_acronym_learned_from_text_scan_covers_earlier_mentions() -> None:
    resolver = EntityResolver()
    resolver.begin_document()
    resolver.scan(
        "Shares of International Business Machines (IBM) rose. "
        "The Federal Bureau of Investigation (FBI) declined to comment."
    )
    assert resolver.resolve("IBM") == "international business machines"
    assert resolver.resolve("the FBI") == "federal bureau of investigation"


def test_parenthetical_that_is_not_an_acronym_is_not_learned() -> None:
    resolver = EntityResolver()
    resolver.begin_document()
    assert resolver.resolve("Jane Doe (CEO)") == "jane doe"
    assert resolver.resolve("CEO") == "ceo"
    assert resolver.learned_aliases() == {}


def test_explicit_alias_maps_every_mention() -> None:
    resolver = EntityResolver()
    resolver.add_alias("Big Blue", "International Business Machines")
    resolver.add_alias("IBM", "Big Blue")
    resolver.begin_document()
    assert resolver.resolve("Big Blue") == "international business machines"
    assert resolver.resolve("IBM") == "international business machines"


def test_alias_cycle_is_refused() -> None:
    resolver = EntityResolver()
    resolver.add_alias("A Corp", "B Corp")
    with pytest.raises(ValueError, match="cycle"):
        resolver.add_alias("B Corp", "A Corp")


def test_empty_name_is_refused() -> None:
    with pytest.raises(ValueError, match="no letters or digits"):
        EntityResolver().resolve("...")
