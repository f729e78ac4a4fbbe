"""What the OpenAI-compatible chat API adds to a query: ``/v1/query`` against
``/v1/chat/completions``, whole and streamed (time to the first word, and to ``[DONE]``).

``chronorag serve`` over a few hundred generated news stories; the same time-scoped questions
are asked one at a time (a chat user waits for each answer) through each path, in turn, so the
three see the same cache state (the order turns with each question, since the first to ask
one pays its embedding). The chat paths run the same query service, so the difference
is the OpenAI wrapping: parsing the conversation, the sources block, and the event stream.

    python -m bench.chat_latency [--docs 200] [--questions 40]
"""

from __future__ import annotations

import argparse
import json
import random
import time
from typing import Any

import httpx

from bench.common import (
    MONTHS,
    ROLES,
    Served,
    fresh_dir,
    news_documents,
    percentile,
    post_document,
    table,
    wait_indexed,
    write_result,
)


def questions(orgs: list[str], n: int, seed: int = 11) -> list[str]:
    rng = random.Random(seed)
    out = []
    for i in range(n):
        org, role, year = rng.choice(orgs), rng.choice(ROLES), rng.randint(2015, 2024)
        month = rng.choice(MONTHS)
        if i % 2:
            out.append(f"Who was the {role} of {org} in {year}? ({i})")
        else:
            out.append(f"Who led {org} as of {month} {year}? ({i})")
    return out


def _chat_body(question: str, stream: bool) -> dict[str, Any]:
    return {
        "model": "chronorag",
        "stream": stream,
        "messages": [{"role": "user", "content": question}],
    }


def _streamed(client: httpx.Client, question: str) -> tuple[float, float]:
    """Milliseconds to the first content delta and to ``data: [DONE]``."""
    t0 = time.perf_counter()
    first = float("nan")
    with client.stream("POST", "/v1/chat/completions", json=_chat_body(question, True)) as resp:
        if resp.status_code != 200:
            raise RuntimeError(f"stream: {resp.status_code} {resp.read()[:200]!r}")
        for line in resp.iter_lines():
            if not line.startswith("data: "):
                continue
            data = line[len("data: ") :]
            if data == "[DONE]":
                break
            delta = json.loads(data)["choices"][0]["delta"]
            if delta.get("content") and first != first:
                first = (time.perf_counter() - t0) * 1000
    return first, (time.perf_counter() - t0) * 1000


def run(docs: int, n: int) -> dict[str, Any]:
    stories = news_documents(docs, words=150, prefix="chatbench")
    orgs = sorted({d.title.split(":")[0] for d in stories})
    asked = questions(orgs, n)
    timings: dict[str, list[float]] = {"query": [], "chat": [], "stream_first": [], "stream": []}
    with (
        Served(fresh_dir("chat-latency") / "data") as served,
        httpx.Client(base_url=served.url, timeout=120) as client,
    ):
        for story in stories:
            post_document(client, story.body())
        wait_indexed(client, [d.id for d in stories], timeout_s=900)
        for question in asked[:3]:  # warm-up: encoder, caches, connections
            client.post("/v1/query", json={"question": question})

        def query(question: str) -> None:
            t0 = time.perf_counter()
            resp = client.post("/v1/query", json={"question": question})
            timings["query"].append((time.perf_counter() - t0) * 1000)
            assert resp.status_code == 200, resp.text

        def chat(question: str) -> None:
            t0 = time.perf_counter()
            resp = client.post("/v1/chat/completions", json=_chat_body(question, False))
            timings["chat"].append((time.perf_counter() - t0) * 1000)
            assert resp.status_code == 200, resp.text

        def stream(question: str) -> None:
            first, whole = _streamed(client, question)
            timings["stream_first"].append(first)
            timings["stream"].append(whole)

        paths = [query, chat, stream]
        for i, question in enumerate(asked):
            # The first path to ask a question pays its embedding (later ones hit the query
            # cache), so the order turns with each question: every path goes first as often.
            for path in paths[i % 3 :] + paths[: i % 3]:
                path(question)
    rows = {
        name: {"p50_ms": round(percentile(v, 50), 1), "p99_ms": round(percentile(v, 99), 1)}
        for name, v in timings.items()
    }
    return {"documents": docs, "questions": n, "latency": rows}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--docs", type=int, default=200)
    parser.add_argument("--questions", type=int, default=40)
    args = parser.parse_args()
    result = run(args.docs, args.questions)
    labels = {
        "query": "POST /v1/query",
        "chat": "POST /v1/chat/completions",
        "stream_first": "streamed: first word",
        "stream": "streamed: to [DONE]",
    }
    table(
        f"Chat API latency ({args.docs} documents, {args.questions} questions, one at a time)",
        ["path", "p50 ms", "p99 ms"],
        [(labels[k], v["p50_ms"], v["p99_ms"]) for k, v in result["latency"].items()],
    )
    print(write_result("chat_latency", result))


if __name__ == "__main__":
    main()
