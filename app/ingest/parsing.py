"""Uploaded files to plain text."""

from __future__ import annotations

from app.core.errors import InvalidInput

TEXT_TYPES = frozenset({"text/plain", "text/markdown", "text/html"})


def extract_text(raw: bytes, content_type: str) -> str:
    """Decode UTF-8 (BOM tolerated); HTML is reduced to its visible text."""
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise InvalidInput("file: not valid UTF-8 text") from None
    if content_type == "text/html":
        from bs4 import BeautifulSoup

        soup = BeautifulSoup(text, "html.parser")
        for tag in soup(["script", "style", "noscript", "template", "head"]):
            tag.decompose()
        blocks = [
            b.get_text(" ", strip=True)
            for b in soup.find_all(
                ["p", "li", "h1", "h2", "h3", "h4", "h5", "h6", "blockquote", "pre", "td"]
            )
        ]
        blocks = [b for b in blocks if b]
        text = "\n\n".join(blocks) if blocks else soup.get_text("\n", strip=True)
    return text
