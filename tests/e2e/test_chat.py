"""The OpenAI-compatible chat API against a real ``chronorag serve``, via the official client."""

from __future__ import annotations

import json
import threading
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import openai
import pytest

from tests.chat_server import ChatServer, Reply, fixture, running_chat_server, sse_events
from tests.conftest import ServeProcess, serve_env, wait_status

pytestmark = pytest.mark.e2e

TOKEN = uuid.uuid4().hex[:6]
# Names unique to this run: the session's server (and its graph) is shared with other modules.
_ALPHA = TOKEN.translate(str.maketrans("0123456789", "ghijklmnop"))
COMPANY = f"Velmora{_ALPHA} Ceramics"
OLD_CEO = f"Anouk Brel{_ALPHA}"
NEW_CEO = f"Sefa Oduy{_ALPHA}"
DOCS = [
    (
        f"chat-old-{TOKEN}",
        "2020-05-11T08:00:00+00:00",
        f"{COMPANY} appointed {OLD_CEO} as chief executive of the tile maker in May.",
    ),
    (
        f"chat-new-{TOKEN}",
        "2024-02-19T08:00:00+00:00",
        f"{COMPANY} named {NEW_CEO} chief executive after {OLD_CEO} stepped down.",
    ),
]
QUESTION = f"Who is the chief executive of {COMPANY}?"


@pytest.fixture(scope="module")
def chat(server: ServeProcess) -> openai.OpenAI:
    with httpx.Client(base_url=server.url, timeout=60) as client:
        for doc_id, published_at, text in DOCS:
            resp = client.post(
                "/v1/documents",
                json={
                    "id": doc_id,
                    "text": text,
                    "published_at": published_at,
                    "url": f"https://news.example/{doc_id}",
                    "title": f"Report {doc_id}",
                },
            )
            assert resp.status_code == 202, resp.text
        for doc_id, _, _ in DOCS:
            wait_status(client, doc_id, "indexed")
    return openai.OpenAI(base_url=f"{server.url}/v1", api_key="any-key", max_retries=0, timeout=60)


def _ask(chat: openai.OpenAI, question: str = QUESTION, **kwargs: Any) -> Any:
    return chat.chat.completions.create(
        model="chronorag",
        messages=[
            {"role": "system", "content": "You answer from the documents."},
            {"role": "user", "content": question},
        ],
        **kwargs,
    )


def test_models_lists_the_service(chat: openai.OpenAI) -> None:
    models = chat.models.list()
    assert [(m.id, m.object, m.owned_by) for m in models.data] == [
        ("chronorag", "model", "chronorag")
    ]
    assert isinstance(models.data[0].created, int)


def test_completion_answers_with_numbered_sources(chat: openai.OpenAI) -> None:
    completion = _ask(chat)
    assert completion.object == "chat.completion" and completion.model == "chronorag"
    choice = completion.choices[0]
    assert choice.finish_reason == "stop" and choice.message.role == "assistant"
    text = choice.message.content or ""
    assert NEW_CEO in text
    ext = (completion.model_extra or {})["chronorag"]
    sources = ext["sources"]
    assert sources[0]["document_id"] == f"chat-new-{TOKEN}"
    assert [s["index"] for s in sources] == list(range(1, len(sources) + 1))
    first = sources[0]
    assert first["url"] == f"https://news.example/chat-new-{TOKEN}"
    assert first["published_at"] == "2024-02-19T08:00:00Z"
    # The answer text ends with the same sources, numbered in markdown.
    assert f"[1] Report chat-new-{TOKEN}, 2024-02-19, https://news.example/chat-new-{TOKEN}" in text
    assert text.index("**Sources**") < text.index("[1] ")
    assert ext["time_scope"]["source"] in ("none", "question", "explicit")


def test_stream_deltas_join_to_the_same_answer(chat: openai.OpenAI) -> None:
    whole = _ask(chat).choices[0].message.content
    chunks = list(_ask(chat, stream=True))
    assert all(c.object == "chat.completion.chunk" for c in chunks)
    assert chunks[0].choices[0].delta.role == "assistant"
    pieces = [c.choices[0].delta.content or "" for c in chunks]
    assert len([p for p in pieces if p]) > 5  # word-sized, not one block
    assert "".join(pieces) == whole
    last = chunks[-1]
    assert last.choices[0].finish_reason == "stop"
    ext = (last.model_extra or {})["chronorag"]
    assert ext["sources"][0]["document_id"] == f"chat-new-{TOKEN}"
    assert all("chronorag" not in (c.model_extra or {}) for c in chunks[:-1])


def test_raw_stream_ends_with_done(server: ServeProcess) -> None:
    body = {"model": "chronorag", "stream": True, "messages": [{"role": "user", "content": "hi"}]}
    with httpx.Client(base_url=server.url, timeout=60) as client:
        resp = client.post("/v1/chat/completions", json=body)
    assert resp.status_code == 200
    assert resp.headers["content-type"].startswith("text/event-stream")
    events = [line for line in resp.text.split("\n\n") if line]
    assert events[-1] == "data: [DONE]"


def test_as_of_extension_answers_for_its_date(chat: openai.OpenAI) -> None:
    completion = _ask(chat, extra_body={"chronorag": {"as_of": "2022-01-01T00:00:00Z"}})
    text = completion.choices[0].message.content or ""
    assert OLD_CEO in text and NEW_CEO not in text
    ext = (completion.model_extra or {})["chronorag"]
    assert ext["time_scope"]["as_of"] == "2022-01-01T00:00:00Z"
    assert ext["time_scope"]["source"] == "explicit"
    cited = [s["document_id"] for s in ext["sources"]]
    assert cited[0] == f"chat-old-{TOKEN}" and f"chat-new-{TOKEN}" not in cited


def test_time_cue_in_message_scopes_the_answer(chat: openai.OpenAI) -> None:
    completion = _ask(chat, question=f"Who was the chief executive of {COMPANY} in 2021?")
    ext = (completion.model_extra or {})["chronorag"]
    assert ext["time_scope"]["source"] == "question"
    assert ext["time_scope"]["start"] == "2021-01-01T00:00:00Z"
    assert ext["sources"][0]["document_id"] == f"chat-old-{TOKEN}"


def test_follow_up_without_entity_carries_the_previous_turn(chat: openai.OpenAI) -> None:
    completion = chat.chat.completions.create(
        model="chronorag",
        messages=[
            {"role": "user", "content": f"Who is the chief executive of {COMPANY} now?"},
            {"role": "assistant", "content": f"{NEW_CEO}."},
            {"role": "user", "content": "And in 2021?"},
        ],
    )
    ext = (completion.model_extra or {})["chronorag"]
    assert ext["question"] == f"Who is the chief executive of {COMPANY} now? And in 2021?"
    assert ext["time_scope"]["start"] == "2021-01-01T00:00:00Z"
    assert ext["sources"][0]["document_id"] == f"chat-old-{TOKEN}"
    assert OLD_CEO in (completion.choices[0].message.content or "")


def test_follow_up_naming_an_entity_is_asked_as_is(chat: openai.OpenAI) -> None:
    completion = chat.chat.completions.create(
        model="chronorag",
        messages=[
            {"role": "user", "content": "Who runs Globex?"},
            {"role": "user", "content": QUESTION},
        ],
    )
    assert (completion.model_extra or {})["chronorag"]["question"] == QUESTION


def test_unknown_fields_are_ignored(chat: openai.OpenAI) -> None:
    completion = _ask(
        chat, temperature=0.2, max_tokens=50, user="u-1", extra_body={"top_p": 0.9, "seed": 1}
    )
    assert NEW_CEO in (completion.choices[0].message.content or "")


@pytest.mark.parametrize(
    ("messages", "needle"),
    [
        ([], "messages"),
        ([{"role": "system", "content": "Be brief."}], "no message has role 'user'"),
        ([{"role": "user", "content": "   "}], "no text"),
    ],
)
def test_bad_messages_are_openai_errors(
    chat: openai.OpenAI, messages: list[dict[str, str]], needle: str
) -> None:
    with pytest.raises(openai.BadRequestError) as caught:
        chat.chat.completions.create(model="chronorag", messages=messages)  # type: ignore[arg-type]
    assert caught.value.status_code == 400
    assert needle in caught.value.message
    assert caught.value.type == "invalid_request_error"


def test_bad_date_is_an_openai_error(chat: openai.OpenAI) -> None:
    with pytest.raises(openai.BadRequestError) as caught:
        _ask(chat, extra_body={"chronorag": {"as_of": "2022-01-01T00:00:00"}})
    assert "timezone" in caught.value.message
    assert caught.value.param == "chronorag.as_of"


@pytest.mark.parametrize(
    ("content", "status"),
    [
        (b"{not json", 400),
        (b"[1, 2]", 400),
        (b'{"messages": "hello"}', 400),
        (b'{"messages": [{"content": "no role"}]}', 400),
        (b'{"messages": [null]}', 400),
        (b'{"messages": [{"role": "user", "content": ["not a part"]}]}', 400),
        (b'{"messages": [{"role": "user", "content": [{"type": "image_url"}]}]}', 400),
        (b'{"messages": [{"role": "user", "content": "hi"}], "stream": "maybe"}', 400),
        (b'{"messages": [{"role": "user", "content": "hi"}], "chronorag": "2022"}', 400),
        (b'{"messages": [{"role": "user", "content": "hi"}], "chronorag": {"asof": "x"}}', 400),
        (
            b'{"messages": [{"role": "user", "content": "hi"}],'
            b' "chronorag": {"as_of": 1700000000}}',
            400,
        ),
        (
            b'{"messages": [{"role": "user", "content": "hi"}],'
            b' "chronorag": {"as_of": "0001-01-01T00:00:00+01:00"}}',
            422,
        ),
        (b'{"messages": [{"role": "user", "content": "x' + b"y" * 5000 + b'"}]}', 400),
        (b'{"messages": [{"role": "user", "content": "NaN"}], "temperature": NaN}', 400),
    ],
)
def test_malformed_bodies_get_the_openai_shape(
    server: ServeProcess, content: bytes, status: int
) -> None:
    with httpx.Client(base_url=server.url, timeout=60) as client:
        resp = client.post(
            "/v1/chat/completions", content=content, headers={"content-type": "application/json"}
        )
    assert resp.status_code == status, resp.text
    assert resp.headers["content-type"] == "application/json"
    error = resp.json()["error"]
    assert set(error) == {"message", "type", "param", "code"}
    assert error["message"] and error["type"] == "invalid_request_error"


def test_unsupported_content_type_gets_the_openai_shape(server: ServeProcess) -> None:
    with httpx.Client(base_url=server.url, timeout=60) as client:
        resp = client.post(
            "/v1/chat/completions", content=b"hello", headers={"content-type": "text/plain"}
        )
    assert resp.status_code == 415
    assert resp.json()["error"]["type"] == "invalid_request_error"


TENANT_KEY = "chat-key-" + uuid.uuid4().hex
OTHER_KEY = "chat-other-" + uuid.uuid4().hex


#: The keys of the ``keyed_server`` fixture (tests/conftest.py): each raw key to its tenant.
API_KEYS = {TENANT_KEY: "acme", OTHER_KEY: "globex"}


def test_bearer_key_picks_the_tenant(keyed_server: ServeProcess) -> None:
    doc_id = f"chat-acme-{TOKEN}"
    headers = {"Authorization": f"Bearer {TENANT_KEY}"}
    with httpx.Client(base_url=keyed_server.url, timeout=60, headers=headers) as client:
        text = f"{COMPANY} appointed {OLD_CEO} as chief executive of the tile maker."
        resp = client.post("/v1/documents", json={"id": doc_id, "text": text})
        assert resp.status_code == 202, resp.text
        wait_status(client, doc_id, "indexed")

    def ask(key: str) -> Any:
        chat = openai.OpenAI(base_url=f"{keyed_server.url}/v1", api_key=key, max_retries=0)
        return _ask(chat)

    mine = ask(TENANT_KEY)
    assert (mine.model_extra or {})["chronorag"]["sources"][0]["document_id"] == doc_id
    theirs = ask(OTHER_KEY)
    assert (theirs.model_extra or {})["chronorag"]["sources"] == []
    assert (
        theirs.choices[0].message.content
        == "I found nothing in the indexed documents that answers this."
    )
    with pytest.raises(openai.AuthenticationError) as caught:
        ask("not-a-key")
    assert caught.value.status_code == 401 and "not recognised" in caught.value.message
    unkeyed = openai.OpenAI(base_url=f"{keyed_server.url}/v1", api_key="x", max_retries=0)
    with pytest.raises(openai.AuthenticationError):
        unkeyed.models.list()


# --------------------------------------------------------------------------- a chat model

LLM_MODEL = "Qwen/Qwen2.5-7B-Instruct"
LLM_DOCS = [
    (
        "korvath-2021",
        "2021-04-06T08:00:00+00:00",
        "Korvath Glassworks appointed Aldo Vreme as chief executive of the glass maker in April.",
    ),
    (
        "korvath-2024",
        "2024-02-13T08:00:00+00:00",
        "Korvath Glassworks named Renna Kolst chief executive after Aldo Vreme retired.",
    ),
]
LLM_QUESTION = "Who leads Korvath Glassworks?"
#: What the recorded stream (tests/fixtures/llm/answer_stream.sse) says, joined.
LLM_ANSWER = (
    "Renna Kolst has led Korvath Glassworks since February 2024, succeeding Aldo Vreme "
    "[korvath-2024]."
)


@pytest.fixture(scope="module")
def llm_served(
    tmp_path_factory: pytest.TempPathFactory, redis_url: str
) -> Iterator[tuple[ServeProcess, ChatServer]]:
    """``serve`` with ``ANSWER_MODE=llm`` against a local server replaying recorded replies."""
    with running_chat_server() as model:
        env = serve_env(redis_url)
        env |= {
            "CHRONORAG_WEBHOOK_SECRETS": "{}",
            "CHRONORAG_ANSWER_MODE": "llm",
            "CHRONORAG_LLM_BASE_URL": model.url,
            "CHRONORAG_LLM_MODEL": LLM_MODEL,
        }
        proc = ServeProcess(tmp_path_factory.mktemp("chat-llm") / "data", env)
        proc.start()
        try:
            with httpx.Client(base_url=proc.url, timeout=60) as client:
                for doc_id, published_at, text in LLM_DOCS:
                    body = {"id": doc_id, "text": text, "published_at": published_at}
                    assert client.post("/v1/documents", json=body).status_code == 202
                for doc_id, _, _ in LLM_DOCS:
                    wait_status(client, doc_id, "indexed")
            yield proc, model
        finally:
            proc.stop()


def _llm_chat(proc: ServeProcess) -> openai.OpenAI:
    return openai.OpenAI(base_url=f"{proc.url}/v1", api_key="k", max_retries=0, timeout=60)


def test_model_tokens_are_relayed_as_the_model_writes_them(
    llm_served: tuple[ServeProcess, ChatServer],
) -> None:
    proc, model = llm_served
    # The model sends its first two words, then waits until the test has read a word through
    # chronorag: a buffering relay would leave the gate shut until its 30 s timeout.
    streamed = Reply(chunks=sse_events("answer_stream.sse"), hold_after=3, gate=threading.Event())
    whole = json.loads(fixture("answer.json"))
    whole["choices"][0]["message"]["content"] = LLM_ANSWER
    unstreamed = Reply(body=json.dumps(whole).encode())
    model.route = lambda body: streamed if body["stream"] else unstreamed

    pieces: list[str] = []
    chunks = _llm_chat(proc).chat.completions.create(
        model="chronorag", messages=[{"role": "user", "content": LLM_QUESTION}], stream=True
    )
    for chunk in chunks:
        piece = chunk.choices[0].delta.content or ""
        if piece and streamed.gate is not None and not streamed.gate.is_set():
            assert "".join(pieces) == "" and piece == "Renna"
            streamed.gate.set()
        pieces.append(piece)
    assert not streamed.gate_timed_out
    sent = model.requests[-1].body
    assert sent["stream"] is True and sent["model"] == LLM_MODEL
    assert "[korvath-2024] (version 1" in sent["messages"][1]["content"]
    text = "".join(pieces)
    assert text.startswith(LLM_ANSWER + "\n\n**Sources**\n\n[1] korvath-2024, 2024-02-13")
    ext = chunk.model_extra or {}  # the last chunk carries the extension
    assert ext["chronorag"]["sources"][0]["document_id"] == "korvath-2024"
    # The whole (unstreamed) completion asks the model without streaming and reads the same.
    completion = _llm_chat(proc).chat.completions.create(
        model="chronorag", messages=[{"role": "user", "content": LLM_QUESTION}]
    )
    assert model.requests[-1].body["stream"] is False
    assert completion.choices[0].message.content == text


def test_model_failing_mid_answer_ends_the_stream_with_an_error_event(
    llm_served: tuple[ServeProcess, ChatServer],
) -> None:
    proc, model = llm_served
    model.reply_with(Reply(chunks=sse_events("answer_stream.sse")[:5]))  # cut off: no finish
    pieces: list[str] = []
    with pytest.raises(openai.APIError) as caught:
        for chunk in _llm_chat(proc).chat.completions.create(
            model="chronorag", messages=[{"role": "user", "content": LLM_QUESTION}], stream=True
        ):
            pieces.append(chunk.choices[0].delta.content or "")
    assert "".join(pieces) == "Renna Kolst has led"
    assert "ended its stream before the answer did" in caught.value.message


def test_model_down_before_its_first_word_is_an_openai_503(
    llm_served: tuple[ServeProcess, ChatServer],
) -> None:
    proc, model = llm_served
    error = {"error": {"message": "model is loading", "type": "server_error"}}
    model.reply_with(Reply(status=503, body=json.dumps(error).encode()))
    with pytest.raises(openai.InternalServerError) as caught:
        _llm_chat(proc).chat.completions.create(
            model="chronorag", messages=[{"role": "user", "content": LLM_QUESTION}], stream=True
        )
    assert caught.value.status_code == 503
    assert "answered 503: model is loading" in caught.value.message
