"""The CLI's client commands: ``ingest``, ``ask``, ``status``, ``delete``, ``documents``,
``entities``, ``timeline`` and ``period``.

They talk to a running ``chronorag serve`` over HTTP and import only httpx and tqdm, so they
work from the slim ``chronorag[client]`` install. Every failure ends as one line on stderr and
a non-zero exit code, never a traceback: `SERVICE_DOWN` when nothing answers at ``--url``
(with the URL and the question whether ``chronorag serve`` runs), `REFUSED` when the service
answered with an error (its problem+json ``detail``).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx

DEFAULT_URL = "http://127.0.0.1:8000"
#: Exit codes: the service refused (an error answer) or the input was unusable.
REFUSED = 1
#: Nothing answered at ``--url`` (refused connection, unknown host, timeout).
SERVICE_DOWN = 3
#: Fields of a JSONL line that ``ingest`` sends; anything else is dropped.
DOCUMENT_FIELDS = ("id", "text", "title", "url", "source", "published_at", "metadata")
#: Statuses a followed document does not leave again for the version it was sent as.
FINAL_STATUSES = frozenset({"indexed", "failed", "deleted"})


class CliError(Exception):
    """A failure worth one line on stderr; ``code`` is the process's exit status."""

    def __init__(self, message: str, code: int = REFUSED) -> None:
        super().__init__(message)
        self.code = code


class ServiceClient:
    """One HTTP connection pool to the service, turning every failure into a `CliError`.

    A transport failure names the URL and asks whether ``chronorag serve`` is running; an error
    answer gives its status and the problem's ``detail``. 429 and 503 are retried (honouring
    ``Retry-After``) only where the caller allows it, since they mean "later", not "never".
    """

    def __init__(self, url: str, api_key: str | None, timeout_s: float = 60.0) -> None:
        self.url = url.rstrip("/")
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        try:
            self._client = httpx.Client(base_url=self.url, timeout=timeout_s, headers=headers)
        except httpx.InvalidURL as exc:
            raise CliError(f"--url {url!r} is not a URL ({exc})") from None

    def __enter__(self) -> ServiceClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self._client.close()

    def send(self, method: str, path: str, *, retries: int = 0, **kwargs: Any) -> httpx.Response:
        """The raw response of one request (retried on 429/503 up to ``retries`` times)."""
        for attempt in range(retries + 1):
            try:
                resp = self._client.request(method, path, **kwargs)
            except httpx.TimeoutException as exc:
                raise CliError(
                    f"chronorag at {self.url} did not answer in time ({type(exc).__name__}); "
                    "is `chronorag serve` running and not overloaded?",
                    SERVICE_DOWN,
                ) from None
            except httpx.TransportError as exc:
                reason = str(exc) or type(exc).__name__
                raise CliError(
                    f"cannot reach chronorag at {self.url} ({reason}); is `chronorag serve` "
                    "running? (another address: --url or CHRONORAG_URL)",
                    SERVICE_DOWN,
                ) from None
            if resp.status_code not in (429, 503) or attempt == retries:
                return resp
            time.sleep(min(30.0, float(resp.headers.get("Retry-After", 2**attempt))))
        raise AssertionError("unreachable")  # pragma: no cover

    def json(self, method: str, path: str, **kwargs: Any) -> Any:
        """The decoded body of a 2xx answer; anything else raises `CliError`."""
        resp = self.send(method, path, **kwargs)
        if resp.status_code >= 300:
            raise CliError(f"{method} {path}: {describe_error(resp)}")
        try:
            return resp.json()
        except ValueError:
            raise CliError(
                f"{method} {path}: the answer is not JSON: {resp.text[:200]!r}"
            ) from None


def describe_error(resp: httpx.Response) -> str:
    """``404 Not found: no facts about 'x'`` from a problem+json body, or the raw status."""
    try:
        body = resp.json()
    except ValueError:
        body = None
    if isinstance(body, dict) and "detail" in body:
        return f"{resp.status_code} {body.get('title') or resp.reason_phrase}: {body['detail']}"
    return f"{resp.status_code} {resp.reason_phrase}"


def segment(value: str) -> str:
    """One path segment: ids and names may hold spaces, ``%`` or non-ASCII letters."""
    return quote(value, safe="")


# --------------------------------------------------------------------------- formatting


def when(value: str | None) -> str:
    """An API timestamp for people: ``2021-06-14`` at midnight UTC, else ``… HH:MM UTC``.

    The last instant of a day (how a plain-date ``as_of`` or ``end`` comes back) reads as
    ``end of 2021-06-14``.
    """
    if not value:
        return "open"
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return value
    day = moment.date().isoformat()
    if (moment.hour, moment.minute, moment.second, moment.microsecond) == (0, 0, 0, 0):
        return day
    if (moment.hour, moment.minute, moment.second) == (23, 59, 59) and moment.microsecond >= 999:
        return f"end of {day}"
    zone = "UTC" if moment.utcoffset() is not None and not moment.utcoffset() else moment.tzname()
    return f"{day} {moment.strftime('%H:%M')} {zone or ''}".rstrip()


def scope_line(scope: dict[str, Any]) -> str:
    """The ``time_scope`` of an answer in words, e.g. ``as known at end of 2022-12-31``."""
    parts: list[str] = []
    if scope.get("as_of"):
        parts.append(f"as known at {when(scope['as_of'])}")
    if scope.get("start") or scope.get("end"):
        parts.append(f"valid from {when(scope.get('start'))} until {when(scope.get('end'))}")
    if not parts:
        return "none (every document, any time)"
    source = scope.get("source")
    if source == "question" and scope.get("expression"):
        parts.append(f"(read from the question: {scope['expression']!r})")
    elif source == "explicit":
        parts.append("(as given)")
    return " ".join(parts)


def fact_line(fact: dict[str, Any]) -> str:
    """``Acme chief executive of Dev Raman; valid 2021-06-14 → open; known 2021-06-14 →``."""
    valid = f"valid {when(fact.get('valid_from'))} → {when(fact.get('valid_to'))}"
    known = f"known {when(fact.get('known_from'))} → {when(fact.get('known_to'))}"
    sources = ", ".join(fact.get("sources") or [])
    statement = f"{fact['subject']} {fact['relation']} {fact['object']}"
    return f"{statement}; {valid}; {known}" + (f" [{sources}]" if sources else "")


def table(rows: list[list[str]], header: list[str]) -> str:
    """Left-aligned columns; the last column is not padded (it may be long)."""
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header) - 1)]
    lines = []
    for row in [header, *rows]:
        cells = [cell.ljust(width) for cell, width in zip(row, widths, strict=False)]
        lines.append("  ".join([*cells, row[-1]]).rstrip())
    return "\n".join(lines)


def emit_json(data: Any) -> None:
    print(json.dumps(data, indent=2, ensure_ascii=False))


def fetch(args: argparse.Namespace, method: str, path: str, **kwargs: Any) -> Any:
    """The decoded answer of one request; with ``--json`` it is printed here and None returned,
    so the command has nothing left to print."""
    with _client(args) as client:
        data = client.json(method, path, **kwargs)
    if getattr(args, "json", False):
        emit_json(data)
        return None
    return data


# --------------------------------------------------------------------------- ask


def ask(args: argparse.Namespace) -> int:
    body: dict[str, Any] = {"question": args.question}
    for name in ("as_of", "start", "end", "top_k"):
        if getattr(args, name) is not None:
            body[name] = getattr(args, name)
    if args.no_time:
        body["use_time"] = False
    data = fetch(args, "POST", "/v1/query", json=body)
    if data is None:
        return 0
    print(data.get("answer") or "(no answer found in the evidence)")
    print(f"\ntime scope: {scope_line(data.get('time_scope') or {})}")
    facts = data.get("facts") or []
    if facts:
        print("\nfacts:")
        for fact in facts:
            print(f"  - {fact_line(fact)}")
    evidence = data.get("evidence") or []
    print("\ncitations:" if evidence else "\ncitations: none")
    for n, ev in enumerate(evidence, 1):
        title = f" {ev['title']!r}" if ev.get("title") else ""
        text = " ".join(str(ev.get("text", "")).split())
        excerpt = text if len(text) <= 160 else text[:157] + "..."
        print(
            f"  [{n}] {ev['document_id']} v{ev['version']}{title}, published "
            f"{when(ev.get('published_at'))}: {excerpt}"
        )
    return 0


# --------------------------------------------------------------------------- documents


def _status_row(doc: dict[str, Any]) -> list[str]:
    return [
        doc["id"],
        f"v{doc['version']}",
        doc["status"],
        when(doc.get("published_at")),
        doc.get("title") or doc.get("error") or "",
    ]


_DOC_HEADER = ["id", "version", "status", "published", "title / error"]


def status(args: argparse.Namespace) -> int:
    doc = fetch(args, "GET", f"/v1/documents/{segment(args.doc_id)}")
    if doc is None:
        return 0
    print(f"{doc['id']}: {doc['status']}, version {doc['version']}")
    print(f"  published  {when(doc.get('published_at'))}")
    if doc.get("indexed_at"):
        print(
            f"  indexed    {when(doc['indexed_at'])} ({doc['chunks']} chunks, {doc['facts']} facts)"
        )
    for name in ("title", "url", "source", "error"):
        if doc.get(name):
            print(f"  {name:<10} {doc[name]}")
    return 0 if doc["status"] != "failed" else REFUSED


def delete(args: argparse.Namespace) -> int:
    with _client(args) as client:
        doc = client.json("DELETE", f"/v1/documents/{segment(args.doc_id)}")
        if args.wait and doc["status"] != "deleted":
            doc = _follow_one(client, args.doc_id, want="deleted", timeout_s=args.timeout)
    if args.json:
        emit_json(doc)
    else:
        print(f"{doc['id']}: {doc['status']}")
    return 0 if doc["status"] in ("deleting", "deleted") else REFUSED


def _follow_one(client: ServiceClient, doc_id: str, want: str, timeout_s: float) -> Any:
    deadline = time.monotonic() + timeout_s
    while True:
        doc = client.json("GET", f"/v1/documents/{segment(doc_id)}")
        if doc["status"] == want or time.monotonic() > deadline:
            return doc
        time.sleep(0.2)


def documents(args: argparse.Namespace) -> int:
    params: list[tuple[str, str | int]] = [("limit", args.limit)]
    params += [("status", s) for s in args.status or []]
    for name in ("source", "published_after", "published_before", "cursor"):
        if getattr(args, name):
            params.append((name, getattr(args, name)))
    page = fetch(args, "GET", "/v1/documents", params=params)
    if page is None:
        return 0
    rows = [_status_row(d) for d in page["documents"]]
    print(table(rows, _DOC_HEADER) if rows else "no documents")
    if page.get("next_cursor"):
        print(f"\nmore: --cursor {page['next_cursor']}")
    return 0


# --------------------------------------------------------------------------- graph


def entities(args: argparse.Namespace) -> int:
    found = fetch(args, "GET", "/v1/entities", params={"q": args.query, "limit": args.limit})
    if found is None:
        return 0
    rows = [
        [e["name"], e["match"], str(e["facts"]), ", ".join(e.get("aliases") or [])]
        for e in found["entities"]
    ]
    print(table(rows, ["name", "match", "facts", "also written"]) if rows else "no entities")
    return 0


def timeline(args: argparse.Namespace) -> int:
    params = {"as_of": args.as_of} if args.as_of else {}
    data = fetch(args, "GET", f"/v1/entities/{segment(args.entity)}/timeline", params=params)
    if data is None:
        return 0
    cut = f" (as known at {when(data['as_of'])})" if data.get("as_of") else ""
    print(f"{data['entity']}{cut}: {len(data['facts'])} facts")
    for fact in data["facts"]:
        print(f"  - {fact_line(fact)}")
    return 0


def period(args: argparse.Namespace) -> int:
    data = fetch(args, "GET", f"/v1/time/{segment(args.period)}")
    if data is None:
        return 0
    print(
        f"{data['period']} ({data['granularity']}, {when(data['start'])} until {when(data['end'])})"
    )
    print(data.get("summary") or "(nothing recorded for this period)")
    if data["facts"]:
        print("\nfacts:")
        for fact in data["facts"]:
            print(f"  - {fact_line(fact)}")
    return 0


# --------------------------------------------------------------------------- ingest


@dataclass
class IngestReport:
    """What ``ingest`` did: per line accepted or rejected, then (``--wait``) per document."""

    accepted: dict[str, int] = field(default_factory=dict)  # id -> version sent
    unchanged: int = 0  # accepted, but the same content was already indexed
    rejected: list[tuple[str, str]] = field(default_factory=list)  # (where, why)
    outcome: dict[str, dict[str, Any]] = field(default_factory=dict)  # id -> final status body

    def summary(self, waited: bool) -> str:
        lines = len(self.accepted) + len(self.rejected)
        head = (
            f"{lines} documents read: {len(self.accepted)} accepted, {len(self.rejected)} rejected"
        )
        if not waited:
            queued = len(self.accepted) - self.unchanged
            return (
                f"{head} ({queued} queued for indexing, {self.unchanged} already indexed); "
                "--wait follows them to indexed/failed"
            )
        statuses = [d.get("status", "pending") for d in self.outcome.values()]
        indexed = statuses.count("indexed")
        failed = statuses.count("failed")
        waiting = len(self.accepted) - indexed - failed
        tail = f", {waiting} not finished in time" if waiting else ""
        return f"{head}; {indexed} indexed, {failed} failed{tail}"

    def failures(self) -> list[list[str]]:
        """Rejected lines, then documents not indexed, both in the file's order."""
        rows = [["rejected", where, why] for where, why in self.rejected]
        for doc_id in self.accepted:
            body = self.outcome.get(doc_id, {"status": "pending"})
            if body.get("status") != "indexed":
                why = body.get("error") or f"still {body.get('status', 'pending')}"
                rows.append([body.get("status", "pending"), doc_id, why])
        return rows


def _document(line: str) -> dict[str, Any]:
    doc = json.loads(line)
    if not isinstance(doc, dict):
        raise ValueError("not a JSON object")
    if "timestamp" in doc and "published_at" not in doc:
        doc["published_at"] = doc.pop("timestamp")
    return {k: v for k, v in doc.items() if v is not None and k in DOCUMENT_FIELDS}


def _upload(client: ServiceClient, lines: list[str], report: IngestReport) -> None:
    from tqdm import tqdm

    with tqdm(total=len(lines), desc="upload", unit="doc", file=sys.stderr) as bar:
        for n, line in enumerate(lines, start=1):
            bar.update(1)
            if not line.strip():
                continue
            try:
                doc = _document(line)
            except ValueError as exc:  # json.JSONDecodeError is one
                report.rejected.append((f"line {n}", f"invalid JSON ({exc})"))
                continue
            resp = client.send("POST", "/v1/documents", json=doc, retries=6)
            if resp.status_code != 202:
                report.rejected.append((f"line {n}", describe_error(resp)))
                continue
            body = resp.json()
            report.accepted[body["id"]] = body["version"]
            if body.get("status") == "indexed":
                report.unchanged += 1
                report.outcome[body["id"]] = body


def _follow(client: ServiceClient, report: IngestReport, timeout_s: float) -> None:
    """Poll each accepted document until its sent version is indexed, or it failed."""
    from tqdm import tqdm

    waiting = [d for d in report.accepted if d not in report.outcome]
    deadline = time.monotonic() + timeout_s
    with tqdm(
        total=len(report.accepted),
        initial=len(report.accepted) - len(waiting),
        desc="index",
        unit="doc",
        file=sys.stderr,
    ) as bar:
        while waiting and time.monotonic() < deadline:
            still: list[str] = []
            for doc_id in waiting:
                resp = client.send("GET", f"/v1/documents/{segment(doc_id)}", retries=3)
                body = resp.json() if resp.status_code == 200 else {"status": "unknown"}
                if resp.status_code != 200:
                    body["error"] = describe_error(resp)
                if _finished(body, report.accepted[doc_id]) or resp.status_code == 404:
                    report.outcome[doc_id] = body
                    bar.update(1)
                else:
                    still.append(doc_id)
            waiting = still
            if waiting:
                time.sleep(0.25)
    for doc_id in waiting:
        report.outcome.setdefault(doc_id, {"status": "pending"})


def _finished(body: dict[str, Any], version: int) -> bool:
    """A newer version sent by someone else also ends the wait: ours will never be read."""
    return body.get("status") in FINAL_STATUSES or int(body.get("version", 0)) > version


def ingest(args: argparse.Namespace) -> int:
    path = Path(args.file)
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise CliError(f"cannot read {path}: {exc}") from None
    report = IngestReport()
    with _client(args) as client:
        _upload(client, lines, report)  # the bar is closed when this returns
        if args.wait and report.accepted:
            _follow(client, report, args.timeout)
    sys.stderr.flush()  # every bar is on stderr and closed; the summary goes after it
    print(report.summary(waited=args.wait))
    failures = report.failures()
    if failures:
        print()
        print(table(failures[: args.max_failures], ["what", "where", "why"]))
        if len(failures) > args.max_failures:
            print(f"... and {len(failures) - args.max_failures} more")
    return 0 if not failures else REFUSED


# --------------------------------------------------------------------------- wiring


def _client(args: argparse.Namespace) -> ServiceClient:
    return ServiceClient(args.url, args.api_key, timeout_s=args.request_timeout)


def _connection_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--url",
        default=os.environ.get("CHRONORAG_URL", DEFAULT_URL),
        help=f"the service (default $CHRONORAG_URL or {DEFAULT_URL})",
    )
    parser.add_argument(
        "--api-key",
        default=os.environ.get("CHRONORAG_API_KEY"),
        help="sent as a Bearer token (default $CHRONORAG_API_KEY)",
    )
    parser.add_argument(
        "--request-timeout", type=float, default=60.0, help="seconds per request (60)"
    )


def _json_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true", help="print the API's JSON answer")


def _guard(command: Callable[[argparse.Namespace], int]) -> Callable[[argparse.Namespace], int]:
    """Run a command; a `CliError` becomes its one line on stderr and its exit code."""

    def run(args: argparse.Namespace) -> int:
        try:
            return command(args)
        except CliError as exc:
            sys.stderr.flush()
            print(f"chronorag: {exc}", file=sys.stderr)
            return exc.code
        except KeyboardInterrupt:
            print("\nchronorag: interrupted", file=sys.stderr)
            return 130

    return run


def add_client_commands(sub: Any) -> None:
    """Register the client commands on the ``chronorag`` parser's subparsers."""

    def command(name: str, help_text: str, func: Callable[[argparse.Namespace], int]) -> Any:
        parser = sub.add_parser(name, help=help_text)
        _connection_options(parser)
        parser.set_defaults(func=_guard(func))
        return parser

    p = command("ingest", "send a JSONL file of documents (--wait: follow them to indexed)", ingest)
    p.add_argument("file", help="one JSON document per line (`timestamp` = `published_at`)")
    p.add_argument("--wait", action="store_true", help="follow documents to indexed/failed")
    p.add_argument("--timeout", type=float, default=600.0, help="--wait gives up after (600 s)")
    p.add_argument("--max-failures", type=int, default=50, help="rows of the failure table")

    p = command("ask", "ask a time-scoped question", ask)
    p.add_argument("question")
    p.add_argument("--as-of", default=None, help="known time: what was published by then")
    p.add_argument("--start", default=None, help="valid-time window start (a date or instant)")
    p.add_argument("--end", default=None, help="valid-time window end")
    p.add_argument("--no-time", action="store_true", help="ignore every time cue")
    p.add_argument("--top-k", type=int, default=None, help="evidence passages")
    _json_option(p)

    p = command("status", "a document's status and the version readers see", status)
    p.add_argument("doc_id")
    _json_option(p)

    p = command("delete", "delete a document (--wait: until nothing of it is returned)", delete)
    p.add_argument("doc_id")
    p.add_argument("--wait", action="store_true")
    p.add_argument("--timeout", type=float, default=120.0)
    _json_option(p)

    p = command("documents", "list stored documents (filters as GET /v1/documents)", documents)
    p.add_argument("--status", action="append", help="repeatable: pending, indexed, failed, ...")
    p.add_argument("--source", default=None)
    p.add_argument("--published-after", default=None)
    p.add_argument("--published-before", default=None)
    p.add_argument("--limit", type=int, default=50)
    p.add_argument("--cursor", default=None, help="the next_cursor of the previous page")
    _json_option(p)

    p = command("entities", "find entities by name (prefix, fuzzy, other spellings)", entities)
    p.add_argument("query")
    p.add_argument("--limit", type=int, default=10)
    _json_option(p)

    p = command("timeline", "every fact about an entity, oldest first", timeline)
    p.add_argument("entity")
    p.add_argument("--as-of", default=None, help="known-time cut-off")
    _json_option(p)

    p = command("period", "a period's summary and facts (2023, 2023-Q2, 2023-05, ...)", period)
    p.add_argument("period")
    _json_option(p)


__all__ = ["CliError", "ServiceClient", "add_client_commands", "describe_error"]
