"""Entity search: exact, another spelling, prefix and typo matches, best first."""

from __future__ import annotations

from graph.entity_search import search_entities

SPELLINGS = {
    "quillmark robotics": {"Quillmark Robotics": 5, "Quillmark Robotics Inc": 1},
    "quillmark": {"Quillmark": 2},
    "brannoc tilework": {"Brannoc Tilework": 3, "BTW": 1},
    "dessa ferrand": {"Dessa Ferrand": 4},
    "ortiva": {"Ortiva": 1},
}
FACTS = {"quillmark robotics": 6, "quillmark": 2, "brannoc tilework": 4, "dessa ferrand": 4}


def kinds(query: str, limit: int = 10) -> list[tuple[str, str]]:
    return [(m.key, m.match) for m in search_entities(query, SPELLINGS, FACTS, limit)]


def test_exact_key_first_then_prefixes() -> None:
    assert kinds("Quillmark") == [("quillmark", "exact"), ("quillmark robotics", "prefix")]


def test_prefix_of_the_name_or_of_one_of_its_words() -> None:
    assert kinds("quillm") == [("quillmark", "prefix"), ("quillmark robotics", "prefix")]
    assert kinds("tile") == [("brannoc tilework", "prefix")]
    assert kinds("The Dessa") == [("dessa ferrand", "prefix")]  # normalised like a key


def test_another_spelling_finds_the_entity() -> None:
    (match,) = search_entities("btw", SPELLINGS, FACTS)
    assert (match.key, match.match, match.name, match.aliases) == (
        "brannoc tilework", "alias", "Brannoc Tilework", ("BTW",),
    )  # fmt: skip


def test_typos_match_fuzzily() -> None:
    assert kinds("Quilmark Robotcs") == [("quillmark robotics", "fuzzy")]
    assert kinds("Ferand")[0] == ("dessa ferrand", "fuzzy")
    assert kinds("zzzz") == []
    assert kinds("!!!") == []


def test_most_used_spelling_is_the_name_and_limit_applies() -> None:
    found = search_entities("quillmark", SPELLINGS, FACTS, limit=1)
    assert [m.key for m in found] == ["quillmark"]
    robotics = search_entities("quillmark rob", SPELLINGS, FACTS)[0]
    assert robotics.name == "Quillmark Robotics"
    assert robotics.aliases == ("Quillmark Robotics Inc",)
    assert robotics.facts == 6
