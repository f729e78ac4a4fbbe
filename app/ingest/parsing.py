"""Uploaded files to plain text."""

from __future__ import annotations

from html.parser import HTMLParser

from app.core.errors import InvalidInput

TEXT_TYPES = frozenset({"text/plain", "text/markdown", "text/html"})

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
    """Decode UTF-8 (BOM tolerated); HTML is reduced to its visible text.

    HTML is read in one pass (the standard library's ``html.parser``), in time linear in its
    size whatever its nesting. The text of each block element (paragraph, list item, heading,
    quotation, preformatted text, table cell) becomes one paragraph; a block nested in another
    ends the text before it, so every piece of text appears once, in document order. Text in
    ``script``, ``style``, ``noscript``, ``template`` and ``head`` is dropped. A page with no
    block element gives all its text, one string per line.
    """
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise InvalidInput("file: not valid UTF-8 text") from None
    if content_type == "text/html":
        text = html_to_text(text)
    return text


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

    # -- text

    def handle_data(self, data: str) -> None:
        if not self._hidden:
            self._pending.append(data)

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
            if top == tag:
                break

    def handle_comment(self, data: str) -> None:
        self._flush_string()

    def result(self) -> str:
        self._end_segment()
        if self._blocks:
            return "\n\n".join(self._blocks)
        return "\n".join(self._strings)
