"""Uploaded files to text: Markdown reduced to what a reader sees, types from extensions, and
an HTML page's title."""

from __future__ import annotations

import time

import pytest

from app.core.errors import InvalidInput
from app.ingest.parsing import extract_text, markdown_to_text, parse_file, upload_type


@pytest.mark.parametrize(
    ("markdown", "text"),
    [
        ("# Quillmark Robotics ##", "Quillmark Robotics"),
        ("### C#", "C#"),
        ("Board notes\n===========\nDessa Ferrand joined.", "Board notes\n\nDessa Ferrand joined."),
        ("**Quillmark** hired *Dessa Ferrand*.", "Quillmark hired Dessa Ferrand."),
        ("__bold__ and _italic_ and ~~gone~~", "bold and italic and gone"),
        ("snake_case and 2*3*4 stay", "snake_case and 2*3*4 stay"),
        ("See [the filing](https://x.test/f?a=1) now.", "See the filing now."),
        ("![the logo](logo.png) and [ref text][r1]", "the logo and ref text"),
        (
            "Mail <mailto:desk@x.test> or <https://x.test>",
            "Mail mailto:desk@x.test or https://x.test",
        ),
        ("Run `make test` first.", "Run make test first."),
        (r"A \*literal\* star and a \[bracket\]", "A *literal* star and a [bracket]"),
        ("> quoted\n> still quoted", "quoted\nstill quoted"),
        ("- one\n* two\n+ three\n1. four\n2) five", "one\n\ntwo\n\nthree\n\nfour\n\nfive"),
        ("- [x] done item", "done item"),
        ("| who | role |\n|:---|---:|\n| Dessa | chair |", "who; role\n\nDessa; chair"),
        ("above\n\n***\n\nbelow", "above\n\nbelow"),
        ("text\n\n[r1]: https://x.test/ref\n", "text"),
    ],
)
def test_markdown_marks_are_removed(markdown: str, text: str) -> None:
    assert markdown_to_text(markdown) == text


def test_fenced_code_is_kept_as_text_without_its_fences() -> None:
    markdown = "Intro line.\n\n```python\nx = **not bold**\n# not a heading\n```\nAfter."
    assert markdown_to_text(markdown) == (
        "Intro line.\n\nx = **not bold**\n# not a heading\n\nAfter."
    )
    # An unclosed fence runs to the end and is still kept.
    assert markdown_to_text("~~~\nraw *stays*") == "raw *stays*"


def test_a_heading_is_a_paragraph_of_its_own() -> None:
    # The sentence splitter breaks at blank lines: a heading must not run into the next sentence.
    assert markdown_to_text("## Leadership\nQuillmark named Dessa Ferrand chair.") == (
        "Leadership\n\nQuillmark named Dessa Ferrand chair."
    )


@pytest.mark.parametrize(
    "hostile",
    ["[" * 400_000, "*" * 400_000, "![" * 200_000, "`" * 400_000, "<https:" * 60_000,
     "# a" + " " * 400_000 + "b", "|-" + " " * 400_000 + "x", "a_" * 200_000],
)  # fmt: skip
def test_markdown_reduction_is_linear_on_hostile_lines(hostile: str) -> None:
    started = time.perf_counter()
    markdown_to_text(hostile)
    assert time.perf_counter() - started < 5.0  # quadratic would be hours


@pytest.mark.parametrize(
    ("declared", "filename", "kind"),
    [
        ("application/octet-stream", "notes.md", "text/markdown"),
        (None, "NOTES.MARKDOWN", "text/markdown"),
        ("", "page.htm", "text/html"),
        ("application/octet-stream", "dir\\readme.txt", "text/plain"),
        ("text/markdown; charset=utf-8", None, "text/markdown"),
        ("text/x-markdown", "x.bin", "text/markdown"),
        ("text/plain", "notes.md", "text/plain"),  # a declared text type wins
        ("application/octet-stream", "scan.pdf", None),
        ("application/octet-stream", None, None),
        ("image/png", "notes.md", None),  # a real, other type is not overridden
    ],
)
def test_upload_type_falls_back_to_the_extension(
    declared: str | None, filename: str | None, kind: str | None
) -> None:
    assert upload_type(declared, filename) == kind


def test_html_title_is_read_outside_svg_and_cut_at_a_word() -> None:
    page = (
        "<html><head><title>\n  Quillmark  quarterly\n</title></head>"
        "<body><svg><title>icon</title></svg><p>Body text.</p></body></html>"
    )
    parsed = parse_file(page.encode(), "text/html")
    assert (parsed.text, parsed.title) == ("Body text.", "Quillmark quarterly")
    long = parse_file(f"<title>{'word ' * 200}</title><p>x</p>".encode(), "text/html").title
    assert long is not None and len(long) <= 301 and long.endswith("word…")


def test_an_unclosed_title_ends_at_the_next_tag() -> None:
    assert parse_file(b"<title>Dangling<p>Body here.", "text/html") == parse_file(
        b"<title>Dangling</title><p>Body here.</p>", "text/html"
    )
    assert parse_file(b"<p>no title</p>", "text/html").title is None
    assert parse_file(b"<title>  </title><p>x</p>", "text/html").title is None


def test_plain_text_and_markdown_through_extract_text() -> None:
    assert extract_text("\ufeff# Hi *there*".encode(), "text/markdown") == "Hi there"
    assert extract_text(b"# kept as typed", "text/plain") == "# kept as typed"
    with pytest.raises(InvalidInput, match="not valid UTF-8"):
        extract_text(b"\xff\xfe\x00", "text/markdown")
