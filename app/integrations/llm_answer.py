"""`LLMAnswerComposer`: generated answers (``answer_mode="llm"``) grounded in what was retrieved.

`QueryService` still resolves the time scope, retrieves and ranks exactly as in extractive
mode; only the last step changes. The model gets the question, the resolved scope spelled out
(known-time cutoff, valid-time window), the top facts valid in that scope (with both clocks)
and the evidence passages, each labelled with its document id, and must cite the ids it uses.
The response's ``evidence`` list is the same one the model saw, so every citation resolves.

No fallback: a configured model that fails raises `Unavailable` (503), rather than silently
answering extractively.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from datetime import datetime
from typing import Any

from app.core.settings import Settings
from app.integrations.llm import ChatMessage, ChatModel, chat_client_from_settings
from app.retrieval.scope import TimeScope
from app.retrieval.search import Evidence

__all__ = ["LLMAnswerComposer"]

_SYSTEM = (
    "You answer questions about a news archive. Answer only from the facts and evidence "
    "given, for the time scope given: a fact counts only while it was valid, and evidence "
    "published after the knowledge cutoff has already been removed. Be brief (one to three "
    "sentences). Cite every evidence item you rely on by its id in square brackets, e.g. "
    "[doc-42]. If the facts and evidence do not answer the question, say that the archive "
    "does not say, instead of guessing."
)


def _when(moment: datetime | None) -> str:
    return moment.isoformat() if moment is not None else "open"


def describe_scope(scope: TimeScope) -> str:
    """The resolved time scope in words, as the model should read it."""
    lines = []
    if scope.as_of is not None:
        lines.append(f"Knowledge cutoff (as of): {scope.as_of.isoformat()}.")
    if scope.start is not None or scope.end is not None:
        lines.append(
            f"Valid-time window: from {_when(scope.start)} to {_when(scope.end)} (end exclusive)."
        )
    if not lines:
        return "No time scope: answer with the latest state the evidence supports."
    if scope.source == "question" and scope.expression:
        lines.append(f'Read from the question\'s words "{scope.expression}".')
    elif scope.source == "explicit":
        lines.append("Set explicitly by the caller.")
    return " ".join(lines)


def _fact_line(fact: Mapping[str, Any]) -> str:
    sources = ", ".join(str(s) for s in fact.get("sources", []))
    return (
        f"- {fact['subject']} | {fact['relation']} | {fact['object']} | valid "
        f"{_when(fact.get('valid_from'))} to {_when(fact.get('valid_to'))} | known from "
        f"{_when(fact.get('known_from'))} | sources: {sources}"
    )


class LLMAnswerComposer:
    """Writes the final answer with a chat model; implements `QueryService`'s composer."""

    def __init__(self, chat: ChatModel, *, max_passage_chars: int = 1_500) -> None:
        """Create a composer.

        Args:
            chat: The chat model (normally an `OpenAIChatClient`).
            max_passage_chars: Each evidence passage is cut to this many characters, which
                bounds the prompt at ``top_k`` passages.
        """
        self._chat = chat
        self._max_chars = max_passage_chars

    @classmethod
    def from_settings(cls, settings: Settings) -> LLMAnswerComposer:
        """The composer for ``answer_mode="llm"``.

        Raises:
            ConfigurationError: If the chat server is not configured.
        """
        return cls(chat_client_from_settings(settings, "CHRONORAG_ANSWER_MODE=llm"))

    def messages(
        self,
        question: str,
        scope: TimeScope,
        facts: Sequence[Mapping[str, Any]],
        evidence: Sequence[Evidence],
    ) -> list[ChatMessage]:
        """The chat request for one question (public so it can be inspected and tested)."""
        parts = [f"Question: {question}", f"Time scope: {describe_scope(scope)}"]
        if facts:
            parts.append(
                "Facts (subject | relation | object | validity | known from | sources):\n"
                + "\n".join(_fact_line(f) for f in facts)
            )
        if evidence:
            passages = [
                f"[{e.document_id}] (version {e.version}, published {e.published_at.isoformat()}"
                + (f", title: {e.title}" if e.title else "")
                + f")\n{e.text[: self._max_chars]}"
                for e in evidence
            ]
            parts.append("Evidence:\n" + "\n\n".join(passages))
        return [
            {"role": "system", "content": _SYSTEM},
            {"role": "user", "content": "\n\n".join(parts)},
        ]

    def compose(
        self,
        question: str,
        scope: TimeScope,
        facts: Sequence[Mapping[str, Any]],
        evidence: Sequence[Evidence],
    ) -> str:
        """The model's answer, citing evidence by document id.

        Returns:
            The answer, stripped; empty, without a request, when there are neither facts nor
            evidence (the same empty answer extractive mode gives).

        Raises:
            Unavailable: If the chat server cannot be reached, times out or fails.
            ChatRequestRejected: If the server refuses the request.
        """
        if not facts and not evidence:
            return ""
        return self._chat.complete(self.messages(question, scope, facts, evidence)).strip()

    def compose_stream(
        self,
        question: str,
        scope: TimeScope,
        facts: Sequence[Mapping[str, Any]],
        evidence: Sequence[Evidence],
    ) -> Iterator[str]:
        """``compose``'s answer in pieces as the model writes them (not stripped).

        The request is sent when the iterator is first advanced; with neither facts nor
        evidence there is no request and no piece. Errors are ``compose``'s, raised by ``next``.
        """
        if not facts and not evidence:
            return iter(())
        return self._chat.stream(self.messages(question, scope, facts, evidence))
