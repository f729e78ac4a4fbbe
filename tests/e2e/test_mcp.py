"""The MCP server against a real ``chronorag serve``, driven by the official MCP client.

Streamable HTTP at ``/mcp`` of the session's server, and stdio through ``chronorag mcp`` run
as a subprocess (it relays to that same server). Documents go in through the ``add_document``
tool and come out answered once the real worker has indexed them.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import anyio
import httpx
import httpx2
import pytest
from mcp import Client, StdioServerParameters
from mcp.client.streamable_http import streamable_http_client
from mcp.shared.exceptions import MCPError
from mcp_types import INVALID_PARAMS, CallToolResult

from app.integrations.mcp_stdio import innermost
from tests.conftest import ROOT, ServeProcess, free_port

pytestmark = pytest.mark.e2e

T = TypeVar("T")
TOKEN = uuid.uuid4().hex[:6]
# Names no other module uses (the session's server and its graph are shared), and the same on
# every run: the reader's spans come from a small NER model whose labels for an invented name
# vary with its letters, and a random suffix once made "Tadeo Quill…" no name at all (open
# work in issue 16, not this test's subject).
_ALPHA = "vantrel"
COMPANY = f"Brannoc{_ALPHA} Optics"
OLD_CEO = f"Ilse Marrow{_ALPHA}"
NEW_CEO = f"Tadeo Quill{_ALPHA}"
DOCS = [
    (
        f"mcp-old-{TOKEN}",
        "2019-03-04T08:00:00Z",
        f"{OLD_CEO} was appointed chief executive of {COMPANY} in March 2019, the lens maker said.",
    ),
    (
        f"mcp-new-{TOKEN}",
        "2023-06-12T08:00:00Z",
        f"{COMPANY} named {NEW_CEO} as its new chief executive in June 2023.",
    ),
]
QUESTION = f"Who is the chief executive of {COMPANY}?"
TOOLS = {"ask", "search", "timeline", "period", "add_document", "delete_document",
         "document_status"}  # fmt: skip


def run(op: Callable[[], Awaitable[T]]) -> T:
    return anyio.run(op)


def http_client(url: str, key: str | None = None) -> Client:
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    http = httpx2.AsyncClient(headers=headers, timeout=httpx2.Timeout(120))
    return Client(streamable_http_client(url + "/mcp", http_client=http), cache=None)


async def call(client: Client, tool: str, **arguments: Any) -> dict[str, Any]:
    """A tool's structured result (a failed call fails the test with its text)."""
    result: CallToolResult = await client.call_tool(tool, arguments)
    assert not result.is_error, result.content
    assert result.structured_content is not None
    return dict(result.structured_content)


async def wait_indexed(client: Client, doc_id: str, timeout_s: float = 90) -> dict[str, Any]:
    deadline = time.monotonic() + timeout_s
    status: dict[str, Any] = {}
    while time.monotonic() < deadline:
        status = await call(client, "document_status", id=doc_id)
        if status["status"] == "indexed":
            return status
        assert status["status"] != "failed", status
        await anyio.sleep(0.2)
    raise AssertionError(f"{doc_id} never indexed: {status}")


@pytest.fixture(scope="module")
def added(server: ServeProcess) -> list[dict[str, Any]]:
    """The two reports, added and followed to ``indexed`` through MCP alone."""

    async def add() -> list[dict[str, Any]]:
        async with http_client(server.url) as client:
            for doc_id, published_at, text in DOCS:
                accepted = await call(
                    client,
                    "add_document",
                    id=doc_id,
                    text=text,
                    published_at=published_at,
                    title=f"Report {doc_id}",
                    url=f"https://news.example/{doc_id}",
                )
                assert accepted["id"] == doc_id and accepted["status"] == "pending"
                assert accepted["status_url"] == f"/v1/documents/{doc_id}"
            return [await wait_indexed(client, doc_id) for doc_id, _, _ in DOCS]

    return run(add)


def test_tools_are_listed_with_both_clocks_explained(server: ServeProcess) -> None:
    async def listing() -> tuple[dict[str, Any], str | None]:
        async with http_client(server.url) as client:
            tools = {t.name: t for t in (await client.list_tools()).tools}
            return tools, client.instructions

    tools, instructions = run(listing)
    assert set(tools) == TOOLS
    for name in ("ask", "search"):
        description = tools[name].description or ""
        assert "Valid time (start, end)" in description
        assert "Known time (as_of)" in description
        props = tools[name].input_schema["properties"]
        assert set(props) == {"question", "as_of", "start", "end", "top_k"}
        assert tools[name].input_schema["required"] == ["question"]
    assert "valid_from/valid_to" in (tools["timeline"].description or "")
    assert tools["ask"].output_schema is not None
    assert "Known time" in (instructions or "")


def test_added_document_is_answered_with_evidence(
    server: ServeProcess, added: list[dict[str, Any]]
) -> None:
    assert all(s["chunks"] >= 1 for s in added)

    async def ask() -> dict[str, Any]:
        async with http_client(server.url) as client:
            return await call(client, "ask", question=QUESTION)

    body = run(ask)
    assert NEW_CEO in body["answer"]
    assert body["evidence"][0]["document_id"] == f"mcp-new-{TOKEN}"
    assert body["evidence"][0]["url"] == f"https://news.example/mcp-new-{TOKEN}"
    assert set(body["time_scope"]) >= {"as_of", "start", "end", "source", "expression"}


def test_known_time_and_valid_time_scope_the_answer(
    server: ServeProcess, added: list[dict[str, Any]]
) -> None:
    async def both() -> tuple[dict[str, Any], dict[str, Any]]:
        async with http_client(server.url) as client:
            known = await call(client, "ask", question=QUESTION, as_of="2021-01-01")
            valid = await call(
                client, "ask", question=QUESTION, start="2020-01-01", end="2020-12-31"
            )
            return known, valid

    known, valid = run(both)
    assert OLD_CEO in known["answer"] and NEW_CEO not in known["answer"]
    assert known["time_scope"]["as_of"] == "2021-01-01T23:59:59.999999Z"
    assert known["time_scope"]["source"] == "explicit"
    cited = [e["document_id"] for e in known["evidence"]]
    assert cited[0] == f"mcp-old-{TOKEN}" and f"mcp-new-{TOKEN}" not in cited
    assert OLD_CEO in valid["answer"]
    assert valid["time_scope"]["start"] == "2020-01-01T00:00:00Z"


def test_search_returns_evidence_without_an_answer(
    server: ServeProcess, added: list[dict[str, Any]]
) -> None:
    async def search() -> dict[str, Any]:
        async with http_client(server.url) as client:
            return await call(client, "search", question=QUESTION, top_k=2)

    body = run(search)
    assert set(body) == {"time_scope", "evidence"}
    assert {e["document_id"] for e in body["evidence"]} == {d[0] for d in DOCS}  # top 2
    assert all(e["text"] for e in body["evidence"])


def test_timeline_and_period_read_the_graph(
    server: ServeProcess, added: list[dict[str, Any]]
) -> None:
    async def graph() -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
        async with http_client(server.url) as client:
            everything = await call(client, "timeline", entity=COMPANY)
            earlier = await call(client, "timeline", entity=COMPANY, as_of="2020-01-01")
            year = await call(client, "period", period="2023")
            return everything, earlier, year

    everything, earlier, year = run(graph)
    holders = [f["subject"] for f in everything["facts"] if f["relation"] == "chief executive of"]
    assert holders == [OLD_CEO, NEW_CEO]
    first = everything["facts"][0]
    assert first["valid_from"].startswith("2019-03") and first["valid_to"] is not None
    assert [f["subject"] for f in earlier["facts"]] == [OLD_CEO]
    assert earlier["as_of"] == "2020-01-01T23:59:59.999999Z"
    assert year["period"] == "2023" and year["granularity"] == "year"
    assert any(f["subject"] == NEW_CEO for f in year["facts"])


def test_deleted_document_is_no_longer_cited(server: ServeProcess) -> None:
    doc_id = f"mcp-gone-{TOKEN}"
    word = f"Zorvex{_ALPHA}"

    async def lifecycle() -> tuple[dict[str, Any], dict[str, Any]]:
        async with http_client(server.url) as client:
            text = f"The {word} ferry service across the bay was suspended in April 2024."
            await call(client, "add_document", id=doc_id, text=text)
            await wait_indexed(client, doc_id)
            before = await call(client, "search", question=f"What happened to the {word} ferry?")
            deleting = await call(client, "delete_document", id=doc_id)
            assert deleting["status"] in ("deleting", "deleted")
            deadline = time.monotonic() + 60
            while (await call(client, "document_status", id=doc_id))["status"] != "deleted":
                assert time.monotonic() < deadline
                await anyio.sleep(0.2)
            after = await call(client, "search", question=f"What happened to the {word} ferry?")
            return before, after

    before, after = run(lifecycle)
    assert before["evidence"][0]["document_id"] == doc_id
    assert doc_id not in {e["document_id"] for e in after["evidence"]}


@pytest.mark.parametrize(
    ("tool", "arguments", "status", "needle"),
    [
        ("document_status", {"id": "mcp-no-such-document"}, 404, "does not exist"),
        ("delete_document", {"id": "mcp-no-such-document"}, 404, "does not exist"),
        ("ask", {"question": QUESTION, "as_of": "2022-01-01T00:00:00"}, 422, "timezone"),
        ("ask", {"question": ""}, 422, "question"),
        ("search", {"question": QUESTION, "top_k": 0}, 422, "top_k"),
        ("timeline", {"entity": f"Nobody{_ALPHA} Atall"}, 404, "no facts"),
        ("period", {"period": "the olden days"}, 422, "period"),
        ("add_document", {"text": "   "}, 422, "text"),
        ("add_document", {"text": "x", "published_at": "yesterday"}, 422, "published_at"),
    ],
)
def test_service_errors_are_jsonrpc_errors(
    server: ServeProcess, tool: str, arguments: dict[str, Any], status: int, needle: str
) -> None:
    async def failing() -> MCPError:
        async with http_client(server.url) as client:
            with pytest.raises(MCPError) as caught:
                await client.call_tool(tool, arguments)
            return caught.value

    error = run(failing)
    assert error.code == INVALID_PARAMS
    assert error.data["status"] == status
    assert needle in error.message


@pytest.mark.parametrize(
    ("content", "code"),
    [
        (b"{not json", -32700),
        (b'{"jsonrpc": "2.0", "id": 1, "method": "no/such/method"}', -32601),
    ],
)
def test_malformed_requests_get_jsonrpc_errors_not_500(
    server: ServeProcess, content: bytes, code: int
) -> None:
    headers = {"content-type": "application/json", "accept": "application/json, text/event-stream"}
    resp = httpx.post(server.url + "/mcp", content=content, headers=headers, timeout=30)
    assert 400 <= resp.status_code < 500 or resp.status_code == 200, resp.text
    assert resp.json()["error"]["code"] == code, resp.text


def test_browser_origin_outside_cors_origins_is_refused(server: ServeProcess) -> None:
    body = {"jsonrpc": "2.0", "id": 1, "method": "tools/list"}
    headers = {"origin": "https://elsewhere.example", "accept": "application/json"}
    resp = httpx.post(server.url + "/mcp", json=body, headers=headers, timeout=30)
    assert resp.status_code == 403
    assert "CHRONORAG_CORS_ORIGINS" in resp.json()["error"]["message"]


# --------------------------------------------------------------------------- stdio


def stdio_client(url: str, key: str | None = None) -> Client:
    args = ["-m", "workers.cli", "mcp", "--url", url]
    if key:
        args += ["--api-key", key]
    params = StdioServerParameters(command=sys.executable, args=args, cwd=str(ROOT))
    return Client(params, cache=None)


def test_stdio_relays_every_tool(server: ServeProcess, added: list[dict[str, Any]]) -> None:
    async def over_stdio() -> tuple[set[str], dict[str, Any], dict[str, Any], MCPError]:
        async with stdio_client(server.url) as client:
            names = {t.name for t in (await client.list_tools()).tools}
            answer = await call(client, "ask", question=QUESTION, as_of="2021-01-01")
            status = await call(client, "document_status", id=f"mcp-new-{TOKEN}")
            with pytest.raises(MCPError) as caught:
                await client.call_tool("document_status", {"id": "mcp-no-such-document"})
            return names, answer, status, caught.value

    names, answer, status, missing = run(over_stdio)
    assert names == TOOLS
    assert OLD_CEO in answer["answer"]
    assert status["status"] == "indexed" and status["title"] == f"Report mcp-new-{TOKEN}"
    assert missing.code == INVALID_PARAMS and missing.data["status"] == 404


def test_stdio_without_a_server_exits_with_a_fix_it_message() -> None:
    dead = f"http://127.0.0.1:{free_port()}"
    proc = subprocess.run(
        [sys.executable, "-m", "workers.cli", "mcp", "--url", dead],
        cwd=ROOT,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 2
    assert proc.stdout == ""  # stdout is the protocol's alone
    assert f"{dead}/mcp did not answer" in proc.stderr
    assert "chronorag serve" in proc.stderr


# --------------------------------------------------------------------------- keys and tenants

ACME_KEY = "mcp-acme-" + uuid.uuid4().hex
GLOBEX_KEY = "mcp-globex-" + uuid.uuid4().hex


#: The keys of the ``keyed_server`` fixture (tests/conftest.py): each raw key to its tenant.
API_KEYS = {ACME_KEY: "acme", GLOBEX_KEY: "globex"}


@pytest.mark.parametrize(
    ("key", "needle"),
    [(None, "an API key is required"), ("not-a-key", "the API key is not recognised")],
)
def test_missing_or_unknown_key_is_refused(
    keyed_server: ServeProcess, key: str | None, needle: str
) -> None:
    async def refused() -> BaseException:
        with pytest.raises(Exception) as caught:  # the connect fails: in the client's task group
            async with http_client(keyed_server.url, key) as client:
                await client.list_tools()
        return innermost(caught.value)

    error = run(refused)
    assert isinstance(error, MCPError)
    assert needle in error.message
    assert error.data == {"status": 401, "title": "Unauthorized"}
    raw = httpx.post(
        keyed_server.url + "/mcp",
        json={"jsonrpc": "2.0", "id": 7, "method": "tools/list"},
        headers={"accept": "application/json"} | ({"x-api-key": key} if key else {}),
        timeout=30,
    )
    assert raw.status_code == 401 and raw.headers["www-authenticate"] == "Bearer"
    assert raw.json()["error"]["code"] == -32011


def test_tenants_see_only_their_documents(keyed_server: ServeProcess) -> None:
    doc_id = f"mcp-acme-{TOKEN}"
    word = f"Quorvane{_ALPHA}"

    async def tenants() -> tuple[dict[str, Any], dict[str, Any], MCPError]:
        async with http_client(keyed_server.url, ACME_KEY) as acme:
            text = f"The {word} observatory opened a new radio dish in May 2024."
            await call(acme, "add_document", id=doc_id, text=text)
            await wait_indexed(acme, doc_id)
            mine = await call(acme, "search", question=f"What did the {word} observatory open?")
        async with http_client(keyed_server.url, GLOBEX_KEY) as globex:
            theirs = await call(globex, "search", question=f"What did the {word} observatory open?")
            with pytest.raises(MCPError) as caught:
                await globex.call_tool("document_status", {"id": doc_id})
        return mine, theirs, caught.value

    mine, theirs, hidden = run(tenants)
    assert mine["evidence"][0]["document_id"] == doc_id
    assert theirs["evidence"] == []
    assert hidden.data["status"] == 404


def test_stdio_passes_its_key_and_a_wrong_key_stops_it(keyed_server: ServeProcess) -> None:
    async def with_key() -> set[str]:
        async with stdio_client(keyed_server.url, ACME_KEY) as client:
            return {t.name for t in (await client.list_tools()).tools}

    assert run(with_key) == TOOLS
    proc = subprocess.run(
        [sys.executable, "-m", "workers.cli", "mcp", "--url", keyed_server.url],
        cwd=ROOT,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=60,
        env={k: v for k, v in os.environ.items() if k != "CHRONORAG_API_KEY"},
    )
    assert proc.returncode == 2
    assert "an API key is required" in proc.stderr
