"""The chat-model integrations against a real HTTP server on 127.0.0.1.

The server replays recorded OpenAI-style chat completions from ``tests/fixtures/llm`` (written
for these tests) and records every request, so the tests check both directions: what we send
(model, messages, the strict JSON schema) and what we make of the reply (validation, time
resolution by `graph.timeparse`, errors as `Unavailable`). No model runs here.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from pydantic import SecretStr

from app.core.errors import ConfigurationError, Unavailable
from app.core.settings import Settings
from app.ingest.intake import DocumentInput, IntakeService
from app.ingest.pipeline import IngestPipeline
from app.integrations.llm import ChatRequestRejected, OpenAIChatClient
from app.integrations.llm_answer import LLMAnswerComposer
from app.integrations.llm_extractor import LLMFactExtractor
from app.integrations.llm_summarizer import LLMSummarizer
from app.retrieval.scope import TimeScope
from app.retrieval.search import Evidence
from app.wiring import (
    build_fact_extractor,
    build_graph,
    build_pipeline,
    build_query_service,
    build_services,
    build_summarizer,
)
from graph.extract import RuleFactExtractor
from graph.facts import Fact, source_id
from graph.hierarchy import ExtractiveSummarizer
from graph.relations import RELATIONS
from graph.temporal import resolve_timeline
from tests.chat_server import ChatServer, Reply, fixture, running_chat_server, sse_events
from tests.dispatchers import IdleDispatcher

pytestmark = pytest.mark.integration

PUBLISHED = datetime(2024, 5, 20, 9, 30, tzinfo=UTC)
TEXT = (
    "Harbourline Energy appointed Priya Natarajan as chief executive last March, succeeding "
    "Tom Okafor. Okafor, who had run the utility since 2017, stepped down in February after a "
    "billing scandal. The company moved its headquarters to Leeds in 2023. She told reporters "
    "the group would double its offshore wind capacity."
)
MODEL = "Qwen/Qwen2.5-7B-Instruct"
API_KEY = "sk-test-3f9a1c"


@pytest.fixture()
def chat_server() -> Iterator[ChatServer]:
    with running_chat_server() as state:
        yield state


def client_for(server: ChatServer, timeout_s: float = 5.0) -> OpenAIChatClient:
    return OpenAIChatClient(server.url, MODEL, api_key=SecretStr(API_KEY), timeout_s=timeout_s)


def triples(facts: list[Any]) -> list[tuple[object, ...]]:
    return [
        (
            f.subject,
            f.relation,
            f.object,
            f.negated,
            f.valid_from.label if f.valid_from else None,
            f.valid_to.label if f.valid_to else None,
        )
        for f in facts
    ]


# --------------------------------------------------------------------------- extraction


def test_extraction_request_has_model_messages_and_strict_json_schema(
    chat_server: ChatServer,
) -> None:
    chat_server.reply_with(Reply(body=fixture("extraction.json")))
    LLMFactExtractor(client_for(chat_server)).extract(TEXT, PUBLISHED)

    assert len(chat_server.requests) == 1
    request = chat_server.requests[0]
    assert request.path == "/v1/chat/completions"
    assert request.headers["Authorization"] == f"Bearer {API_KEY}"
    body = request.body
    assert body["model"] == MODEL
    assert body["temperature"] == 0
    assert body["seed"] == 0
    assert body["stream"] is False
    assert [m["role"] for m in body["messages"]] == ["system", "user"]
    for name in RELATIONS:
        assert f'"{name}"' in body["messages"][0]["content"]
    assert body["messages"][1]["content"] == f"Text:\n{TEXT}"
    assert "2024" not in body["messages"][1]["content"], "the model is never told the date"
    fmt = body["response_format"]
    assert fmt["type"] == "json_schema"
    assert fmt["json_schema"]["name"] == "temporal_facts"
    assert fmt["json_schema"]["strict"] is True
    schema = fmt["json_schema"]["schema"]
    assert schema["required"] == ["facts"] and schema["additionalProperties"] is False
    item = schema["properties"]["facts"]["items"]
    assert item["additionalProperties"] is False
    assert (
        sorted(item["required"])
        == sorted(item["properties"])
        == sorted(["subject", "relation", "object", "time_text", "ends", "negated", "sentence"])
    )
    assert item["properties"]["relation"]["enum"] == sorted(RELATIONS)
    assert item["properties"]["time_text"]["type"] == ["string", "null"]


def test_extraction_parses_facts_and_resolves_relative_times_against_the_reference(
    chat_server: ChatServer,
) -> None:
    chat_server.reply_with(Reply(body=fixture("extraction.json")))
    facts = LLMFactExtractor(client_for(chat_server)).extract(TEXT, PUBLISHED)

    assert triples(facts) == [
        # "last March" against 2024-05-20 is March 2024: our parser's answer, not the model's.
        ("Priya Natarajan", "chief executive of", "Harbourline Energy", False, "2024-03", None),
        # A negation's time is its end, as with the rules.
        ("Tom Okafor", "chief executive of", "Harbourline Energy", True, None, "2024-02"),
        ("Tom Okafor", "chief executive of", "Harbourline Energy", False, "2017", None),
        ("Harbourline Energy", "headquartered in", "Leeds", False, "2023", None),
    ]
    assert facts[0].sentence == (
        "Harbourline Energy appointed Priya Natarajan as chief executive last March, "
        "succeeding Tom Okafor."
    )
    assert facts[0].valid_from is not None
    assert facts[0].valid_from.start == datetime(2024, 3, 1, tzinfo=UTC)


def test_same_reply_with_an_earlier_reference_gives_earlier_relative_times(
    chat_server: ChatServer,
) -> None:
    chat_server.reply_with(Reply(body=fixture("extraction.json")))
    facts = LLMFactExtractor(client_for(chat_server)).extract(
        TEXT, datetime(2024, 2, 10, tzinfo=UTC)
    )
    assert triples(facts)[0][4] == "2023-03"  # last March, seen from February 2024


def test_invalid_items_are_dropped_and_invented_dates_ignored(
    chat_server: ChatServer, caplog: pytest.LogCaptureFixture
) -> None:
    chat_server.reply_with(Reply(body=fixture("extraction_unvalidated.json")))
    with caplog.at_level(logging.INFO, logger="app.integrations.llm_extractor"):
        facts = LLMFactExtractor(client_for(chat_server)).extract(TEXT, PUBLISHED)

    assert triples(facts) == [
        # "CEO of" is an alias: normalised; the extra "confidence" key is ignored.
        ("Tom Okafor", "chief executive of", "Harbourline Energy", False, "2017", None),
        # "2024-03-01" is not in the text: the model computed it, so the fact stays undated.
        ("Priya Natarajan", "chief executive of", "Harbourline Energy", False, None, None),
        # In the text, but not a time expression.
        ("Tom Okafor", "chief executive of", "Harbourline Energy", True, None, None),
    ]
    dropped = [r.getMessage() for r in caplog.records if "dropping" in r.getMessage()]
    assert len(dropped) == 7
    assert any("relation 'admires' is not one of" in m for m in dropped)
    assert any("object: Field required" in m for m in dropped)


@pytest.mark.parametrize(
    "content",
    ["I could not find any facts, sorry!", '{"facts": "none"}', "[1, 2", '"just a string"'],
)
def test_garbage_content_yields_no_facts(chat_server: ChatServer, content: str) -> None:
    chat_server.reply_with(Reply(body=completion(content)))
    assert LLMFactExtractor(client_for(chat_server)).extract(TEXT, PUBLISHED) == []


def test_reply_in_a_markdown_fence_or_a_bare_list_is_read(chat_server: ChatServer) -> None:
    items = json.loads(json.loads(fixture("extraction.json"))["choices"][0]["message"]["content"])
    fenced = "```json\n" + json.dumps(items) + "\n```"
    chat_server.reply_with(Reply(body=completion(fenced)))
    assert len(LLMFactExtractor(client_for(chat_server)).extract(TEXT, PUBLISHED)) == 4
    chat_server.reply_with(Reply(body=completion(json.dumps(items["facts"]))))
    assert len(LLMFactExtractor(client_for(chat_server)).extract(TEXT, PUBLISHED)) == 4


def test_long_text_is_sent_in_windows_of_whole_sentences(chat_server: ChatServer) -> None:
    chat_server.reply_with(Reply(body=completion('{"facts": []}')))
    extractor = LLMFactExtractor(client_for(chat_server), max_chars_per_request=200)
    extractor.extract(TEXT, PUBLISHED)
    sent = [r.body["messages"][1]["content"].removeprefix("Text:\n") for r in chat_server.requests]
    assert len(sent) == 2
    assert " ".join(sent) == TEXT
    assert all(len(s) <= 200 and s.endswith(".") for s in sent)


def test_naive_reference_is_refused_before_any_request(chat_server: ChatServer) -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        LLMFactExtractor(client_for(chat_server)).extract(TEXT, datetime(2024, 5, 20))
    assert chat_server.requests == []


@pytest.mark.parametrize("status", [500, 502, 503, 429, 408])
def test_retryable_http_status_raises_unavailable(chat_server: ChatServer, status: int) -> None:
    error = json.dumps({"error": {"message": "model is overloaded", "type": "server_error"}})
    chat_server.reply_with(Reply(status=status, body=error.encode()))
    with pytest.raises(Unavailable, match=rf"answered {status}: model is overloaded"):
        LLMFactExtractor(client_for(chat_server)).extract(TEXT, PUBLISHED)


def test_timeout_raises_unavailable(chat_server: ChatServer) -> None:
    chat_server.reply_with(Reply(body=fixture("extraction.json"), delay_s=2.0))
    started = time.monotonic()
    with pytest.raises(Unavailable, match="did not answer in time.*CHRONORAG_LLM_TIMEOUT_S"):
        LLMFactExtractor(client_for(chat_server, timeout_s=0.3)).extract(TEXT, PUBLISHED)
    assert time.monotonic() - started < 1.9


def test_unreachable_server_raises_unavailable() -> None:
    from tests.conftest import free_port

    chat = OpenAIChatClient(f"http://127.0.0.1:{free_port()}/v1", MODEL, timeout_s=2)
    with pytest.raises(Unavailable, match="cannot reach the chat model"):
        LLMFactExtractor(chat).extract(TEXT, PUBLISHED)


def test_a_200_that_is_not_a_chat_completion_raises_unavailable(chat_server: ChatServer) -> None:
    page = b"<html><body>502 Bad Gateway</body></html>"
    chat_server.reply_with(Reply(body=page, content_type="text/html"))
    with pytest.raises(Unavailable, match="not a chat completion"):
        LLMFactExtractor(client_for(chat_server)).extract(TEXT, PUBLISHED)


def test_a_refused_request_is_not_retryable_and_says_what_to_check(
    chat_server: ChatServer,
) -> None:
    error = {"error": {"message": "Incorrect API key provided", "code": "invalid_api_key"}}
    chat_server.reply_with(Reply(status=401, body=json.dumps(error).encode()))
    with pytest.raises(ChatRequestRejected) as info:
        LLMFactExtractor(client_for(chat_server)).extract(TEXT, PUBLISHED)
    assert not isinstance(info.value, Unavailable)
    assert info.value.detail == (
        f"the chat model at {chat_server.url}/chat/completions refused the request (401: "
        "Incorrect API key provided); check CHRONORAG_LLM_API_KEY"
    )


def test_ingest_task_retries_chat_unavailability() -> None:
    from workers.tasks import TRANSIENT

    assert issubclass(Unavailable, TRANSIENT)
    assert not issubclass(ChatRequestRejected, TRANSIENT)


# --------------------------------------------------------------------------- configuration


def settings(**kw: Any) -> Settings:
    return Settings(_env_file=None, **kw)  # type: ignore[call-arg]


def test_defaults_need_no_model() -> None:
    s = settings()
    assert (s.fact_extractor, s.summarizer, s.answer_mode) == ("rules", "extractive", "extractive")
    assert isinstance(build_fact_extractor(s), RuleFactExtractor)
    assert isinstance(build_summarizer(s), ExtractiveSummarizer)


def test_llm_choice_without_a_server_fails_fast_with_a_fix_it_message() -> None:
    s = settings(fact_extractor="llm")
    with pytest.raises(ConfigurationError) as info:
        build_graph(SimpleNamespace(settings=s))  # type: ignore[arg-type]
    message = str(info.value)
    assert message.startswith(
        "CHRONORAG_FACT_EXTRACTOR=llm needs an OpenAI-compatible chat server, but "
        "CHRONORAG_LLM_BASE_URL and CHRONORAG_LLM_MODEL are unset."
    )
    assert "http://127.0.0.1:11434/v1 for Ollama" in message
    with pytest.raises(ConfigurationError, match="CHRONORAG_LLM_MODEL is unset"):
        build_summarizer(settings(summarizer="llm", llm_base_url="http://127.0.0.1:9/v1"))
    with pytest.raises(ConfigurationError, match="^CHRONORAG_ANSWER_MODE=llm needs"):
        LLMAnswerComposer.from_settings(settings(answer_mode="llm", llm_model="m"))


def test_llm_settings_build_the_llm_components(chat_server: ChatServer) -> None:
    s = settings(
        fact_extractor="llm",
        summarizer="llm",
        llm_base_url=chat_server.url,
        llm_model=MODEL,
        llm_api_key="sk-from-env",
        llm_timeout_s=7,
    )
    assert isinstance(build_fact_extractor(s), LLMFactExtractor)
    assert isinstance(build_summarizer(s), LLMSummarizer)
    chat_server.reply_with(Reply(body=fixture("extraction.json")))
    build_fact_extractor(s).extract(TEXT, PUBLISHED)
    assert chat_server.requests[-1].headers["Authorization"] == "Bearer sk-from-env"
    assert "sk-from-env" not in repr(s)


# --------------------------------------------------------------------------- summaries


def resolved_facts() -> list[Any]:
    def fact(subject: str, relation: str, obj: str, label: str) -> Fact:
        from graph.timeparse import parse_period

        return Fact.from_source(
            tenant="default",
            subject=subject,
            subject_key=subject.lower(),
            relation=relation,
            object=obj,
            object_key=obj.lower(),
            valid_from=parse_period(label),
            valid_to=None,
            source=source_id("harbourline-ceo", 1),
            published_at=PUBLISHED,
            sentence="",
        )

    return resolve_timeline(
        [
            fact("Priya Natarajan", "chief executive of", "Harbourline Energy", "2024-03"),
            fact("Harbourline Energy", "headquartered in", "Leeds", "2023"),
        ]
    )


def test_summary_request_holds_the_graphs_facts_and_children(chat_server: ChatServer) -> None:
    chat_server.reply_with(Reply(body=fixture("summary.json")))
    summary = LLMSummarizer(client_for(chat_server)).summarize(
        "2024", resolved_facts(), ["Q1: a new chief executive was appointed."]
    )
    assert summary.startswith("In 2024, Priya Natarajan became chief executive")
    body = chat_server.requests[0].body
    assert "response_format" not in body
    prompt = body["messages"][1]["content"]
    assert prompt.startswith("Period: 2024 (year, 2024-01-01 to 2025-01-01, end exclusive).")
    assert "- Priya Natarajan became chief executive of Harbourline Energy (2024-03)." in prompt
    assert "- Harbourline Energy was headquartered in Leeds (since 2023)." in prompt
    assert "Sub-period summaries:\n- Q1: a new chief executive was appointed." in prompt


def test_empty_node_is_summarised_without_a_request(chat_server: ChatServer) -> None:
    assert LLMSummarizer(client_for(chat_server)).summarize("2019", resolved_facts(), []) == ""
    assert chat_server.requests == []


def test_summary_failure_raises_unavailable_without_fallback(chat_server: ChatServer) -> None:
    chat_server.reply_with(Reply(status=503, body=b'{"error": "loading model"}'))
    with pytest.raises(Unavailable, match="answered 503: loading model"):
        LLMSummarizer(client_for(chat_server)).summarize("2024", resolved_facts(), [])


# --------------------------------------------------------------------------- answers


def test_answer_request_has_question_scope_facts_and_citable_evidence(
    chat_server: ChatServer,
) -> None:
    chat_server.reply_with(Reply(body=fixture("answer.json")))
    scope = TimeScope(
        as_of=datetime(2024, 6, 1, tzinfo=UTC),
        start=None,
        end=None,
        source="question",
        expression="as of June 2024",
        question="Who runs Harbourline Energy?",
    )
    evidence = [
        Evidence("harbourline-ceo", 1, TEXT, PUBLISHED, 0.82, title="New chief at Harbourline")
    ]
    facts = [
        {
            "subject": "Priya Natarajan",
            "relation": "chief executive of",
            "object": "Harbourline Energy",
            "valid_from": datetime(2024, 3, 1, tzinfo=UTC),
            "valid_to": None,
            "known_from": PUBLISHED,
            "known_to": None,
            "sources": ["harbourline-ceo@1"],
        }
    ]
    answer = LLMAnswerComposer(client_for(chat_server)).compose(
        "Who runs Harbourline Energy as of June 2024?", scope, facts, evidence
    )
    assert answer.endswith("[harbourline-ceo].")
    prompt = chat_server.requests[0].body["messages"][1]["content"]
    assert prompt.startswith("Question: Who runs Harbourline Energy as of June 2024?\n\n")
    assert (
        "Time scope: Knowledge cutoff (as of): 2024-06-01T00:00:00+00:00. "
        'Read from the question\'s words "as of June 2024".'
    ) in prompt
    assert (
        "- Priya Natarajan | chief executive of | Harbourline Energy | valid "
        "2024-03-01T00:00:00+00:00 to open | known from 2024-05-20T09:30:00+00:00 | "
        "sources: harbourline-ceo@1"
    ) in prompt
    assert (
        "[harbourline-ceo] (version 1, published 2024-05-20T09:30:00+00:00, "
        f"title: New chief at Harbourline)\n{TEXT}"
    ) in prompt


def test_nothing_retrieved_means_no_request_and_an_empty_answer(chat_server: ChatServer) -> None:
    scope = TimeScope(None, None, None, "none", None, "Who runs Acme?")
    assert LLMAnswerComposer(client_for(chat_server)).compose("Who runs Acme?", scope, [], []) == ""
    composer = LLMAnswerComposer(client_for(chat_server))
    assert list(composer.compose_stream("Who runs Acme?", scope, [], [])) == []
    assert chat_server.requests == []


# --------------------------------------------------------------------------- streamed answers

HELLO = [{"role": "user", "content": "Who leads the glassworks?"}]


def test_stream_yields_the_models_pieces_in_order(chat_server: ChatServer) -> None:
    chat_server.reply_with(Reply(chunks=sse_events("answer_stream.sse")))
    pieces = list(client_for(chat_server).stream(HELLO))
    assert pieces[:3] == ["Renna", " Kolst", " has"]
    assert "".join(pieces).endswith("succeeding Aldo Vreme [korvath-2024].")
    sent = chat_server.requests[0]
    assert sent.body["stream"] is True and sent.body["temperature"] == 0
    assert sent.headers["Accept"] == "text/event-stream"


def test_stream_is_lazy_and_reads_a_server_that_ignores_stream(chat_server: ChatServer) -> None:
    chat_server.reply_with(Reply(body=fixture("answer.json")))
    pieces = client_for(chat_server).stream(HELLO)
    assert chat_server.requests == []  # nothing is sent before the first piece is asked for
    whole = json.loads(fixture("answer.json"))["choices"][0]["message"]["content"]
    assert list(pieces) == [whole]


@pytest.mark.parametrize(
    ("events", "error", "needle"),
    [
        ([b'data: {"error": {"message": "out of memory"}}\n\n'], Unavailable, "mid-answer"),
        ([b"data: <html>oops</html>\n\n"], Unavailable, "not a completion chunk"),
        ([], Unavailable, "ended its stream before the answer did"),
    ],
)
def test_stream_failures_raise_from_next(
    chat_server: ChatServer, events: list[bytes], error: type[Exception], needle: str
) -> None:
    chat_server.reply_with(Reply(chunks=sse_events("answer_stream.sse")[:2] + events))
    pieces = client_for(chat_server).stream(HELLO)
    assert next(pieces) == "Renna"
    with pytest.raises(error, match=needle):
        list(pieces)


def test_stream_refused_by_the_server_is_not_retryable(chat_server: ChatServer) -> None:
    refusal = {"error": {"message": "Incorrect API key provided"}}
    chat_server.reply_with(Reply(status=401, body=json.dumps(refusal).encode()))
    with pytest.raises(ChatRequestRejected, match="check CHRONORAG_LLM_API_KEY"):
        next(client_for(chat_server).stream(HELLO))


# --------------------------------------------------------------------------- in process


class InlineDispatcher(IdleDispatcher):
    """Runs ingestion in the caller's thread: the test needs the facts, not the queue."""

    def __init__(self) -> None:
        super().__init__()
        self.pipeline: IngestPipeline | None = None

    def ingest(self, tenant: str, doc_id: str, version: int) -> None:
        assert self.pipeline is not None
        assert self.pipeline.ingest(tenant, doc_id, version) == "indexed"


def test_llm_modes_end_to_end_in_process(
    chat_server: ChatServer,
    tmp_path: Path,
    embedder,  # type: ignore[no-untyped-def]
) -> None:
    """Ingest with LLM facts, summarise with the LLM, answer with the LLM: one document."""

    def route(body: dict[str, Any]) -> Reply:
        if "response_format" in body:
            return Reply(body=fixture("extraction.json"))
        if body["messages"][1]["content"].startswith("Period:"):
            return Reply(body=fixture("summary.json"))
        return Reply(body=fixture("answer.json"))

    chat_server.route = route
    s = settings(
        data_dir=tmp_path / "data",
        fact_extractor="llm",
        summarizer="llm",
        answer_mode="llm",
        llm_base_url=chat_server.url,
        llm_model=MODEL,
        query_encoder="torch",
    )
    services = build_services(s, embedder=embedder)
    try:
        graph = build_graph(services)
        dispatcher = InlineDispatcher()
        dispatcher.pipeline = build_pipeline(services, [graph.indexer])
        intake = IntakeService(s, services.stores.documents, services.locker, dispatcher)
        intake.submit("default", DocumentInput(text=TEXT, doc_id="harbourline-ceo",
                                               published_at=PUBLISHED))  # fmt: skip
        record = services.stores.documents.get("default", "harbourline-ceo")
        assert record is not None and record.facts == 4

        summary, _ = graph.summaries.compute("default", "2024")
        assert summary == json.loads(fixture("summary.json"))["choices"][0]["message"]["content"]

        queries = build_query_service(services, graph.answerer, LLMAnswerComposer.from_settings(s))
        result = queries.query("default", "Who is the chief executive of Harbourline Energy?")
        assert result.answer.endswith("succeeding Tom Okafor [harbourline-ceo].")
        assert [e.document_id for e in result.evidence] == ["harbourline-ceo"]
        prompt = chat_server.requests[-1].body["messages"][1]["content"]
        assert "Priya Natarajan | chief executive of | Harbourline Energy | valid 2024-03-01" in (
            prompt
        )
        assert "[harbourline-ceo] (version 1" in prompt
    finally:
        services.close()


def completion(content: str) -> bytes:
    """A chat completion envelope around ``content`` (for replies too odd to record)."""
    return json.dumps(
        {
            "id": "chatcmpl-test",
            "object": "chat.completion",
            "created": 1716200000,
            "model": MODEL,
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": content},
                    "finish_reason": "stop",
                }
            ],
        }
    ).encode()
