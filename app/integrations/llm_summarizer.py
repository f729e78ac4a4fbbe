"""`LLMSummarizer`: time-node summaries written by a chat model from the graph's own facts.

It implements `graph.hierarchy.Summarizer` for ``summarizer="llm"``. The model never sees
documents, only what the graph already holds for the node: the facts active in its period
(rendered by `ExtractiveSummarizer.render`, so dates are the graph's, not the model's) and the
summaries of its children. That keeps summaries grounded and lets the model do what it adds:
fluent, merged prose ("Acme replaced its chief executive and moved to Leeds").

Fallback-free by design: if the model is configured and fails, `Unavailable` propagates, the
summary task retries, and the node keeps its previous summary meanwhile. Quietly writing an
extractive summary instead would leave a mix of styles nobody asked for.
"""

from __future__ import annotations

from collections.abc import Sequence

from app.core.settings import Settings
from app.integrations.llm import ChatMessage, ChatModel, chat_client_from_settings
from graph.hierarchy import ExtractiveSummarizer
from graph.temporal import ResolvedFact
from graph.timeparse import parse_period

__all__ = ["LLMSummarizer"]

_SYSTEM = (
    "You write the summary of one period of a news timeline for a temporal knowledge graph. "
    "Use only the facts and sub-period summaries given; never add names, dates or events "
    "that are not in them, and keep the dates they state. Write plain prose without a "
    "preamble, lists or Markdown."
)


class LLMSummarizer:
    """A `Summarizer` backed by a chat model; see the module docstring."""

    def __init__(self, chat: ChatModel, *, max_facts: int = 40, max_sentences: int = 5) -> None:
        """Create a summariser.

        Args:
            chat: The chat model (normally an `OpenAIChatClient`).
            max_facts: Most facts put in one prompt, the best supported and newest first
                (the order `ExtractiveSummarizer` ranks them in).
            max_sentences: Length asked of the model.

        Raises:
            ValueError: If ``max_facts`` or ``max_sentences`` is below 1.
        """
        if max_facts < 1 or max_sentences < 1:
            raise ValueError(
                f"max_facts and max_sentences must be at least 1, got {max_facts}, {max_sentences}"
            )
        self._chat = chat
        self._max_facts = max_facts
        self._max_sentences = max_sentences

    @classmethod
    def from_settings(cls, settings: Settings) -> LLMSummarizer:
        """The summariser for ``summarizer="llm"``.

        Raises:
            ConfigurationError: If the chat server is not configured.
        """
        return cls(chat_client_from_settings(settings, "CHRONORAG_SUMMARIZER=llm"))

    def summarize(
        self, label: str, facts: Sequence[ResolvedFact], child_summaries: Sequence[str]
    ) -> str:
        """Summarise a time node from its active facts and its children's summaries.

        Args:
            label: The node's period label ("2024-Q3").
            facts: Resolved facts that may be active in the period; those outside it are left
                out here.
            child_summaries: Summaries of the node's children, most important first.

        Returns:
            The model's summary, stripped; empty, without a request, when the node has
            neither active facts nor child summaries.

        Raises:
            Unavailable: If the chat server cannot be reached, times out or fails.
            ChatRequestRejected: If the server refuses the request.
        """
        span = parse_period(label)
        ranked = ExtractiveSummarizer.ranked(facts, span)
        rendered = dict.fromkeys(ExtractiveSummarizer.render(item, span) for item in ranked)
        lines = list(rendered)[: self._max_facts]
        children = [s.strip() for s in child_summaries if s.strip()]
        if not lines and not children:
            return ""
        parts = [
            f"Period: {label} ({span.granularity}, {span.start.date()} to {span.end.date()}, "
            "end exclusive).",
            f"Write at most {self._max_sentences} sentences about what held or changed in it.",
        ]
        if lines:
            parts.append("Facts:\n" + "\n".join(f"- {line}" for line in lines))
        if children:
            parts.append("Sub-period summaries:\n" + "\n".join(f"- {c}" for c in children))
        messages: list[ChatMessage] = [
            {"role": "system", "content": _SYSTEM},
            {"role": "user", "content": "\n\n".join(parts)},
        ]
        return self._chat.complete(messages).strip()
