"""Uploaded files to plain text: the type (declared or from the extension), Markdown and HTML
reduced to their text, an HTML page's ``<title>``."""

from __future__ import annotations

import re
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import PurePosixPath

from app.core.errors import InvalidInput

TEXT_TYPES = frozenset({"text/plain", "text/markdown", "text/html"})
#: Other names clients send for the same types.
TYPE_ALIASES = {
    "text/x-markdown": "text/markdown",
    "application/markdown": "text/markdown",
    "application/xhtml+xml": "text/html",
}
#: What a file's extension says when its part carries no usable type: ``curl -F file=@x.md``
#: and most browsers send ``application/octet-stream`` (or nothing) for Markdown.
EXTENSION_TYPES = {
    ".md": "text/markdown",
    ".markdown": "text/markdown",
    ".mdown": "text/markdown",
    ".txt": "text/plain",
    ".text": "text/plain",
    ".html": "text/html",
    ".htm": "text/html",
    ".xhtml": "text/html",
}
#: Declared types that say nothing about the content, so the extension decides.
UNTYPED = frozenset({"", "application/octet-stream", "binary/octet-stream"})
#: Longest title kept from an HTML page's ``<title>``; longer ones are cut at a word.
MAX_TITLE_CHARS = 300


def upload_type(declared: str | None, filename: str | None) -> str | None:
    """The text type of an uploaded file part, or None when it is not one we read.

    A declared text type wins (``text/markdown; charset=utf-8`` is ``text/markdown``); a missing
    or generic one (`UNTYPED`) is replaced by what the extension says (`EXTENSION_TYPES`).
    """
    kind = (declared or "").split(";")[0].strip().lower()
    kind = TYPE_ALIASES.get(kind, kind)
    if kind in TEXT_TYPES:
        return kind
    if kind in UNTYPED and filename:
        return EXTENSION_TYPES.get(PurePosixPath(filename.replace("\\", "/")).suffix.lower())
    return None


@dataclass(frozen=True)
class ParsedFile:
    """An uploaded file as the service indexes it: its text, and a title if the file has one."""

    text: str
    title: str | None = None


def parse_file(raw: bytes, content_type: str) -> ParsedFile:
    """Decode a file of one of `TEXT_TYPES` and reduce it to text (see `extract_text`).

    HTML gives its ``<title>`` (outside SVG) as the title, whitespace collapsed and at most
    `MAX_TITLE_CHARS` long; other types give none.
    """
    text = decode_text(raw)
    if content_type == "text/html":
        parser = _TextParser()
        parser.feed(text)
        parser.close()
        return ParsedFile(parser.result(), parser.title())
    if content_type == "text/markdown":
        return ParsedFile(markdown_to_text(text))
    return ParsedFile(text)


def decode_text(raw: bytes) -> str:
    """UTF-8, a byte-order mark tolerated; anything else is refused (422)."""
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise InvalidInput("file: not valid UTF-8 text") from None


#: Elements whose text becomes one paragraph of the output.
_BLOCKS = frozenset(
    {"p", "li", "h1", "h2", "h3", "h4", "h5", "h6", "blockquote", "pre", "td"}
)  # fmt: skip
#: Elements whose content is never visible text.
_HIDDEN = frozenset({"script", "style", "noscript", "template", "head"})
#: Elements that have no end tag, so never open a level.
_VOID = frozenset(
    {
        "area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "param",
        "source", "track", "wbr",
    }
)  # fmt: skip
#: Open elements tracked at once. Real pages nest a few dozen deep; hostile ones nest
#: thousands deep, and matching an end tag walks the open elements, so deeper elements keep
#: their text but are not tracked (their end tags only unwind the untracked levels).
MAX_HTML_DEPTH = 256
#: Elements whose structure is followed. Past this many, the rest of the document is read as
#: text in the block open at that point, so a page of millions of empty tags costs no more
#: than its text.
MAX_HTML_ELEMENTS = 200_000


def extract_text(raw: bytes, content_type: str) -> str:
    """Decode UTF-8 (BOM tolerated); HTML and Markdown are reduced to their visible text.

    Markdown is read as `markdown_to_text` describes.

    HTML is read in one pass (the standard library's ``html.parser``), in time linear in its
    size whatever its nesting. The text of each block element (paragraph, list item, heading,
    quotation, preformatted text, table cell) becomes one paragraph; a block nested in another
    ends the text before it, so every piece of text appears once, in document order. Text in
    ``script``, ``style``, ``noscript``, ``template`` and ``head`` is dropped. A page with no
    block element gives all its text, one string per line.
    """
    return parse_file(raw, content_type).text


def html_to_text(html: str) -> str:
    """The visible text of an HTML document (see `extract_text`)."""
    parser = _TextParser()
    parser.feed(html)
    parser.close()
    return parser.result()


class _TextParser(HTMLParser):
    """Collects block texts while streaming through the document; nothing is kept as a tree."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self._stack: list[str] = []  # open, tracked elements
        self._untracked = 0  # open elements beyond MAX_HTML_DEPTH
        self._untracked_hidden = 0  # hidden elements open among them
        self._elements = 0
        self._hidden = 0  # tracked hidden elements open
        self._in_block = 0  # tracked block elements open
        self._pending: list[str] = []  # character data since the last tag
        self._segment: list[str] = []  # stripped strings of the block text being built
        self._blocks: list[str] = []
        self._strings: list[str] = []  # every visible string, for pages with no block
        self._title: list[str] | None = None  # the first <title>'s text, while and once read
        self._in_title = False

    # -- text

    def handle_data(self, data: str) -> None:
        if self._in_title:
            assert self._title is not None
            if sum(map(len, self._title)) <= MAX_TITLE_CHARS * 4:
                self._title.append(data)
        elif not self._hidden:
            self._pending.append(data)

    def title(self) -> str | None:
        """The first ``<title>`` outside SVG, whitespace collapsed; None when absent or blank."""
        text = " ".join("".join(self._title or ()).split())
        if len(text) > MAX_TITLE_CHARS:
            text = text[:MAX_TITLE_CHARS].rsplit(" ", 1)[0].rstrip() + "…"
        return text or None

    def _flush_string(self) -> None:
        if not self._pending:
            return
        string = "".join(self._pending).strip()
        self._pending = []
        if string:
            self._strings.append(string)
            if self._in_block or self._untracked:
                self._segment.append(string)

    def _end_segment(self) -> None:
        self._flush_string()
        if self._segment:
            self._blocks.append(" ".join(self._segment))
            self._segment = []

    # -- structure

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self._in_title = False  # a title holds text only: an unclosed one ends at any tag
        if tag in _VOID:
            self._flush_string()
            return
        if self._elements >= MAX_HTML_ELEMENTS:
            self._flush_string()  # structure no longer followed: the text stays where it is
            return
        self._elements += 1
        if len(self._stack) >= MAX_HTML_DEPTH:
            # Too deep to track: count the level, still break paragraphs and hide scripts.
            self._untracked += 1
            self._untracked_boundary(tag, +1)
            return
        if tag == "body":
            self._close("head")  # an unclosed <head> ends where the body starts
        if tag == "title" and self._title is None and "svg" not in self._stack:
            self._flush_string()
            self._title, self._in_title = [], True
        if tag in _BLOCKS and not self._hidden:
            self._end_segment()
            self._in_block += 1
        else:
            self._flush_string()
        if tag in _HIDDEN:
            self._hidden += 1
        self._stack.append(tag)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self._flush_string()  # <p/> and the like open and close nothing

    def handle_endtag(self, tag: str) -> None:
        if self._elements >= MAX_HTML_ELEMENTS:
            self._flush_string()
            return
        if self._untracked:
            self._untracked -= 1
            self._untracked_boundary(tag, -1)
            return
        self._close(tag)

    def _untracked_boundary(self, tag: str, step: int) -> None:
        """A start (+1) or end (-1) tag beyond the depth cap, where nothing is on the stack."""
        if tag in _HIDDEN and (step > 0 or self._untracked_hidden):
            self._flush_string()
            self._hidden += step
            self._untracked_hidden += step
            if not self._hidden:
                self._pending = []
        elif tag in _BLOCKS and not self._hidden:
            self._end_segment()
        else:
            self._flush_string()

    def _close(self, tag: str) -> None:
        """Close ``tag`` and everything opened inside it; a stray end tag closes nothing."""
        if tag not in self._stack:
            self._flush_string()
            return
        while self._stack:
            top = self._stack.pop()
            if top in _BLOCKS and not self._hidden:
                self._end_segment()
                self._in_block -= 1
            else:
                self._flush_string()
            if top in _HIDDEN:
                self._hidden -= 1
                if not self._hidden:
                    self._pending = []
            if top == "title":
                self._in_title = False
            if top == tag:
                break

    def handle_comment(self, data: str) -> None:
        self._flush_string()

    def result(self) -> str:
        self._end_segment()
        if self._blocks:
            return "\n\n".join(self._blocks)
        return "\n".join(self._strings)


# --------------------------------------------------------------------------- Markdown

# Every pattern below is linear in its line: anchored at the start, or made of classes that
# stop at the next occurrence of their own delimiter, so a line of a million "[", "*" or
# spaces costs no more than its length (the HTML reader makes the same promise).
_FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,})")
_ATX = re.compile(r"^ {0,3}#{1,6}(?:[ \t]|$)")
_SETEXT = re.compile(r"^ {0,3}(?:=+|-+)[ \t]*$")
_RULE = re.compile(r"^ {0,3}(?:(?:\*[ \t]*){3,}|(?:-[ \t]*){3,}|(?:_[ \t]*){3,})$")
_QUOTE = re.compile(r"^ {0,3}(?:>[ \t]?)+")
_ITEM = re.compile(r"^[ \t]*(?:[-*+]|\d{1,9}[.)])[ \t]+(?:\[[ xX]\][ \t]+)?")
_REF_DEF = re.compile(r"^ {0,3}\[[^\[\]\n]+\]:[ \t]*\S")
_TABLE_RULE = re.compile(r"^\|?:?-+:?(?:[ \t]*\|[ \t]*:?-+:?)*[ \t]*\|?$")  # on a stripped line
_INLINE = (
    (re.compile(r"!\[([^\[\]\n]*)\]\([^()\n]*\)"), r"\1"),  # image: its alt text
    (re.compile(r"\[([^\[\]\n]*)\]\([^()\n]*\)"), r"\1"),  # link: its text
    (re.compile(r"\[([^\[\]\n]+)\]\[[^\[\]\n]*\]"), r"\1"),  # reference link
    (re.compile(r"<((?:https?|mailto):[^<>\s]+)>"), r"\1"),  # autolink: the address
    (re.compile(r"`{1,3}([^`\n]+)`{1,3}"), r"\1"),  # code span: its code
    # Emphasis and strike marks at a word's edge; inner ones ("snake_case", "2*3") stay.
    (re.compile(r"(?<!\w)(?:[*_]{1,3}|~~)(?=\S)|(?<=\S)(?:[*_]{1,3}|~~)(?!\w)"), ""),
)
#: A backslash-escaped mark is literal: it is hidden from the inline patterns as a
#: private-use character (U+E000 + its code) and put back afterwards.
_ESCAPE = re.compile(r"\\([\\`*_{}\[\]()#+\-.!|~<>])")
_ESCAPED = re.compile("[\ue000-\ue07f]")


def markdown_to_text(markdown: str) -> str:
    """Markdown reduced to the text a reader sees, one block per paragraph.

    Headings lose their ``#`` marks (or setext underline), emphasis, strike and code marks go,
    links and images become their text, reference definitions and rules are dropped, quote
    and list markers are removed, table rows become their cells joined by "; ". A fenced code
    block's lines are kept as they are (without the fences), as one paragraph. Headings, list
    items and table rows become paragraphs of their own, so a heading never runs into the
    sentence after it. Linear in the input: line by line, with bounded inline patterns.
    """
    blocks: list[str] = []
    para: list[str] = []
    fence: str | None = None
    code: list[str] = []

    def end_paragraph() -> None:
        if para:
            blocks.append("\n".join(para))
            para.clear()

    for line in markdown.splitlines():
        opener = _FENCE.match(line)
        if fence is not None:
            if opener and opener.group(1)[0] == fence[0] and len(opener.group(1)) >= len(fence):
                if any(c.strip() for c in code):
                    blocks.append("\n".join(code).strip("\n"))
                fence, code = None, []
            else:
                code.append(line)
            continue
        if opener:
            end_paragraph()
            fence = opener.group(1)
            continue
        if not line.strip():
            end_paragraph()
            continue
        if _SETEXT.match(line) and para:
            end_paragraph()  # the underline of the paragraph above: it was a heading
            continue
        if _RULE.match(line) or _REF_DEF.match(line) or _TABLE_RULE.match(line.strip()):
            end_paragraph()
            continue
        line = _QUOTE.sub("", line)
        heading = _ATX.match(line)
        item = _ITEM.match(line)
        if heading:
            end_paragraph()
            text = _inline(_strip_closing_hashes(line[heading.end() :]))
            if text:
                blocks.append(text)
            continue
        if item:
            end_paragraph()
            para.append(_inline(line[item.end() :]))
            continue
        if line.lstrip().startswith("|") and line.rstrip().endswith("|"):
            end_paragraph()
            cells = [_inline(c.strip()) for c in line.strip().strip("|").split("|")]
            blocks.append("; ".join(c for c in cells if c))
            continue
        para.append(_inline(line.strip()))
    end_paragraph()
    if code and any(c.strip() for c in code):  # an unclosed fence runs to the end
        blocks.append("\n".join(code).strip("\n"))
    return "\n\n".join(b for b in blocks if b.strip())


def _strip_closing_hashes(text: str) -> str:
    """``Title ##`` → ``Title`` (an ATX heading's optional closing sequence); ``C#`` stays."""
    text = text.rstrip()
    bare = text.rstrip("#")
    if bare != text and (not bare or bare[-1] in " \t"):
        return bare.rstrip()
    return text


def _inline(text: str) -> str:
    text = _ESCAPE.sub(lambda m: chr(0xE000 + ord(m.group(1))), text)
    for pattern, replacement in _INLINE:
        text = pattern.sub(replacement, text)
    text = _ESCAPED.sub(lambda m: chr(ord(m.group(0)) - 0xE000), text)
    return text.rstrip(" \t\\")
