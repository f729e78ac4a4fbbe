"""File uploads as clients send them: curl's untyped parts, Markdown, an HTML page's title."""

from __future__ import annotations

import subprocess
import uuid
from pathlib import Path

import httpx
import pytest

from tests.conftest import ask, assert_problem, wait_status

pytestmark = pytest.mark.e2e

TOKEN = uuid.uuid4().hex[:6]
_ALPHA = TOKEN.translate(str.maketrans("0123456789", "ghijklmnop"))
WORKSHOP = f"Fennick{_ALPHA} Glassworks"
CHIEF = f"Orla Penhallow{_ALPHA}"
NOTES_MD = f"""# Board notes

## Leadership

**{CHIEF}** was appointed chief executive of [{WORKSHOP}](https://glass.example/about)
in *April 2023*, the company said.

- Kilns: `three` running
- Output: ~~flat~~ rising

```
raw **code** stays as written
```
"""


def test_curl_upload_without_a_type_is_read_as_markdown(
    client: httpx.Client, tmp_path: Path
) -> None:
    notes = tmp_path / f"notes-{TOKEN}.md"
    notes.write_text(NOTES_MD, encoding="utf-8")
    doc_id = f"md-{TOKEN}"
    # curl sends a .md part as application/octet-stream: the extension decides.
    out = subprocess.run(
        ["curl", "-sS", "-F", f"file=@{notes}", "-F", f"id={doc_id}",
         "-F", "published_at=2023-05-02", f"{str(client.base_url).rstrip('/')}/v1/documents"],
        capture_output=True, text=True, timeout=60, check=True,
    )  # fmt: skip
    assert '"status":"pending"' in out.stdout.replace(" ", ""), out.stdout
    body = wait_status(client, doc_id, "indexed")
    assert body["facts"] >= 1, body  # the marks no longer hide the sentence from the extractor
    assert body["title"] == notes.name  # Markdown has no title of its own: the file's name
    answer = ask(client, f"Who is the chief executive of {WORKSHOP}?", top_k=3)
    assert CHIEF in answer["answer"]
    passages = [e["text"] for e in answer["evidence"] if e["document_id"] == doc_id]
    assert passages
    text = "\n".join(passages)
    assert "**" not in text.replace("raw **code** stays", "") and "#" not in text
    assert "](" not in text and f"{CHIEF} was appointed chief executive of {WORKSHOP}" in text


def _multipart(part_headers: str, content: bytes) -> tuple[bytes, str]:
    boundary = f"b{uuid.uuid4().hex}"
    body = (
        f"--{boundary}\r\n{part_headers}\r\n\r\n".encode()
        + content
        + f"\r\n--{boundary}--\r\n".encode()
    )
    return body, f"multipart/form-data; boundary={boundary}"


def test_a_part_with_no_content_type_uses_its_extension(client: httpx.Client) -> None:
    body, ctype = _multipart(
        f'Content-Disposition: form-data; name="file"; filename="memo-{TOKEN}.txt"', b"Plain memo."
    )
    resp = client.post("/v1/documents", content=body, headers={"content-type": ctype})
    assert resp.status_code == 202, resp.text
    assert wait_status(client, resp.json()["id"], "indexed")["title"] == f"memo-{TOKEN}.txt"


def test_an_unknown_extension_without_a_type_is_415(client: httpx.Client) -> None:
    files = {"file": ("scan.pdf", b"%PDF-1.7", "application/octet-stream")}
    resp = client.post("/v1/documents", files=files)
    assert_problem(resp, 415, "file 'scan.pdf' of type 'application/octet-stream' is not supported")
    assert ".md" in resp.json()["detail"] and "text/markdown" in resp.json()["detail"]
    files = {"file": ("notes.md", b"x", "image/png")}  # a declared, other type is believed
    assert_problem(client.post("/v1/documents", files=files), 415, "'image/png'")


def test_html_title_becomes_the_document_title(client: httpx.Client) -> None:
    page = (
        f"<html><head><title>Fennick {TOKEN} annual review</title></head>"
        "<body><h1>Review</h1><p>Output rose.</p></body></html>"
    ).encode()
    resp = client.post("/v1/documents", files={"file": ("review.html", page, "text/html")})
    assert resp.status_code == 202, resp.text
    assert wait_status(client, resp.json()["id"], "indexed")["title"] == (
        f"Fennick {TOKEN} annual review"
    )
    # A title field still wins over the page's own.
    resp = client.post(
        "/v1/documents",
        files={"file": ("review2.htm", page.replace(b"rose", b"fell"), "application/octet-stream")},
        data={"title": "Given title"},
    )
    assert resp.status_code == 202, resp.text
    assert wait_status(client, resp.json()["id"], "indexed")["title"] == "Given title"
