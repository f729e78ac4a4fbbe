"""Parsing and extraction stay linear in input size on hostile shapes.

Each adversarial family (``tests/fixtures/adversarial.py``) goes through every ingest step it
reaches, at 10 KB and at 100 KB in one process. Ten times the input may cost at most
`MAX_RATIO` times the time: a quadratic step costs about a hundred times. Each size takes the
best of three runs, and the small size is floored at `FLOOR_S` so that timer noise on a
sub-millisecond run cannot fail the test.
"""

from __future__ import annotations

import pytest

from tests.fixtures.adversarial import FAMILIES, Family, best_of, ingest_steps, steps_for

SMALL, LARGE = 10_000, 100_000
MAX_RATIO = 15.0
FLOOR_S = 0.005  # a quadratic step at 100 KB takes seconds, far past 15 x 5 ms

_STEPS = ingest_steps()
_CASES = [
    pytest.param(family, step, id=f"{family.name}-{step}")
    for family in FAMILIES
    for step in steps_for(family)
]


@pytest.mark.parametrize(("family", "step"), _CASES)
def test_time_grows_linearly(family: Family, step: str) -> None:
    func = _STEPS[step]
    small, large = family.build(SMALL), family.build(LARGE)
    func(small)  # warm caches (compiled regexes, imports) before timing
    small_s = max(best_of(func, small), FLOOR_S)
    large_s = best_of(func, large)
    ratio = large_s / small_s
    if ratio > MAX_RATIO:  # a shared machine's noise: measure once more, best of 7
        small_s = max(small_s, best_of(func, small, 7))
        large_s = min(large_s, best_of(func, large, 7))
        ratio = large_s / small_s
    assert ratio <= MAX_RATIO, (
        f"{family.name}/{step}: {small_s * 1000:.1f} ms at {SMALL} chars, "
        f"{large_s * 1000:.1f} ms at {LARGE} chars (x{ratio:.1f}, limit x{MAX_RATIO:g})"
    )


def test_every_family_has_the_size_asked() -> None:
    for family in FAMILIES:
        for size in (SMALL, LARGE):
            text = family.build(size)
            assert 0.8 * size <= len(text) <= 1.2 * size, (family.name, size, len(text))


# --- the caps that keep the work linear, and what they keep of the text


def test_nested_blocks_give_each_text_once_in_order() -> None:
    from app.ingest.parsing import extract_text

    html = b"<table><tr><td>outer<table><tr><td>inner</td></tr></table>after</td></tr></table>"
    assert extract_text(html, "text/html") == "outer\n\ninner\n\nafter"
    assert extract_text(b"<ul><li>one<li>two</ul>", "text/html") == "one\n\ntwo"


def test_html_deeper_than_the_depth_cap_keeps_its_text() -> None:
    from app.ingest.parsing import MAX_HTML_DEPTH, extract_text

    depth = MAX_HTML_DEPTH * 3
    html = "<div>" * depth + "<p>deep text</p>" + "</div>" * depth + "<p>after</p>"
    assert extract_text(html.encode(), "text/html") == "deep text\n\nafter"


def test_html_past_the_element_cap_keeps_its_text() -> None:
    from app.ingest.parsing import MAX_HTML_ELEMENTS, extract_text

    html = "<p>start " + "<span>x</span>" * (MAX_HTML_ELEMENTS + 10) + "end</p>"
    text = extract_text(html.encode(), "text/html")
    assert text.startswith("start x x") and text.endswith("x end")


def test_hidden_elements_and_unclosed_head_are_dropped() -> None:
    from app.ingest.parsing import extract_text

    html = b"<head><title>t</title><body><script>var a = '<p>no</p>';</script><p>yes</p>"
    assert extract_text(html, "text/html") == "yes"


def test_split_long_cuts_at_whitespace_within_the_limit() -> None:
    from graph.text import split_long

    assert split_long("short sentence", 100) == ["short sentence"]
    pieces = split_long("alpha beta gamma delta epsilon", 11)
    assert pieces == ["alpha beta", "gamma delta", "epsilon"]
    assert all(len(p) <= 11 for p in pieces)
    assert split_long("x" * 25, 10) == ["x" * 10, "x" * 10, "x" * 5]


def test_facts_are_still_found_in_a_long_run_of_clauses() -> None:
    from datetime import UTC, datetime

    from graph.extract import MAX_SENTENCE_CHARS, RuleFactExtractor

    clause = "Ann Lee was appointed chair of Foo Ltd, "
    text = clause * (3 * MAX_SENTENCE_CHARS // len(clause)) + "."
    facts = RuleFactExtractor().extract(text, datetime(2024, 6, 1, tzinfo=UTC))
    assert any(f.subject == "Ann Lee" and "Foo Ltd" in f.object for f in facts)


def test_acronym_after_a_long_capitalised_run_is_still_learned() -> None:
    from graph.entities import EntityResolver

    resolver = EntityResolver()
    resolver.begin_document()
    resolver.scan("Alpha Bravo " * 2000 + "says International Business Machines (IBM) rose.")
    assert resolver.learned_aliases() == {"ibm": "international business machines"}
