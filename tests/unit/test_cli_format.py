"""How the client commands print API answers for people."""

from __future__ import annotations

from workers.client_cli import fact_line, scope_line, table, when


def test_when_shows_days_times_and_day_ends() -> None:
    assert when("2021-06-14T00:00:00Z") == "2021-06-14"
    assert when("2021-06-14T09:30:00+00:00") == "2021-06-14 09:30 UTC"
    assert when("2021-06-14T23:59:59.999999Z") == "end of 2021-06-14"
    assert when(None) == "open"
    assert when("not a date") == "not a date"


def test_scope_line_reads_as_words_not_a_dict() -> None:
    assert scope_line({"source": "none"}) == "none (every document, any time)"
    assert scope_line(
        {"as_of": "2023-12-31T23:59:59.999999Z", "source": "explicit", "expression": None}
    ) == ("as known at end of 2023-12-31 (as given)")
    assert (
        scope_line(
            {
                "start": "2023-01-01T00:00:00Z",
                "end": "2024-01-01T00:00:00Z",
                "source": "question",
                "expression": "in 2023",
            }
        )
        == "valid from 2023-01-01 until 2024-01-01 (read from the question: 'in 2023')"
    )


def test_fact_line_and_table() -> None:
    fact = {
        "subject": "Dessa Ferrand",
        "relation": "chair of",
        "object": "Quillmark",
        "valid_from": "2022-03-01T00:00:00Z",
        "valid_to": None,
        "known_from": "2022-03-02T08:00:00Z",
        "known_to": None,
        "sources": ["q-1@1"],
    }
    assert fact_line(fact) == (
        "Dessa Ferrand chair of Quillmark; valid 2022-03-01 → open; "
        "known 2022-03-02 08:00 UTC → open [q-1@1]"
    )
    assert table([["a", "long value", "x"]], ["id", "v", "why"]) == (
        "id  v           why\na   long value  x"
    )
