"""Hybrid chunk retrieval inside a time scope: dense + BM25, fused, filtered to what readers see."""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from itertools import zip_longest
from typing import Any

import numpy as np

from app.core.timeutil import from_ts, to_ts
from app.retrieval.mentions import mentions_in, name_tokens
from app.retrieval.scope import TimeScope
from app.stores.chunks import QdrantChunkStore
from app.stores.documents import QdrantDocumentStore
from app.stores.engines import Hit, Match, Search, Where
from app.stores.lexical import Bm25Encoder
from graph.content_time import content_fit
from graph.nlp import Annotation
from graph.timeparse import TimeSpan

RRF_K = 60
#: Each ranked list is this many times deeper than the evidence wanted (at least 40). Four was
#: the first guess; two gave the same answers on the dev questions (MC 0.719 vs 0.720, evidence
#: recall@5 0.898 vs 0.897) and a third less search time at 100k chunks, where deeper lists cost
#: payload transfer and Python conversion of every hit.
DEPTH_PER_RESULT = 2
RECENCY_WEIGHT = 0.3
#: How much a chunk whose own period is exactly the one asked gains over one that merely
#: overlaps the window (scaled by interval intersection-over-union). Chosen, not fitted: it
#: outweighs recency, since the period asked is what the question is about.
TIME_FIT_WEIGHT = 0.5
#: Fewer chunks than this inside a window and retrieval looks outside it (and says so). Small on
#: purpose: a window that holds a few relevant chunks should not be diluted by others.
MIN_IN_WINDOW = 3
#: A chunk is *about* the window, not merely overlapping it, when its period and the window
#: share at least half their joint extent (``content_fit``): the quarter asked, or most of it.
ABOUT_FIT = 0.5
#: How deep in a reserved list its chunk about the period asked is looked for. An entity's
#: lists search for what is asked of it, not for its name and the period, so the passage about
#: the period asked can sit below other quarters' passages on the same metric; ten was too
#: shallow for that (ECT-QA dev: right-period share 0.88 at 10, 0.92 at 20; evidence recall
#: 0.59 and 0.61).
RESERVED_DEPTH = 20
#: A name in a comparison leads to this many documents that write it, searched for the rest of
#: the question.
ENTITY_DOCS = 6


@dataclass(frozen=True)
class Evidence:
    document_id: str
    version: int
    text: str
    published_at: datetime
    score: float
    title: str | None = None
    url: str | None = None
    about: tuple[str, ...] = ()
    """The periods the chunk is about (content time labels), for the reader and the user."""
    entities: tuple[tuple[int, int, str], ...] = ()
    """Entity spans ``(start, end, label)`` found at ingest (``graph.nlp``); empty without NLP."""
    sentences: tuple[tuple[int, int], ...] = ()
    """Sentence bounds found at ingest, so answering never parses evidence again."""


@dataclass(frozen=True)
class Retrieval:
    evidence: list[Evidence]
    widened: bool = False
    """The window held fewer than the evidence wanted; what follows its own chunks is from
    outside it (still inside known time)."""


def visible(hit: Hit, versions: dict[str, int]) -> bool:
    """Readers see exactly one version per document: the indexed one, and nothing being deleted.

    ``versions`` is ``QdrantDocumentStore.visible_versions`` (documents being deleted absent).
    """
    return bool(versions.get(hit.payload["doc_id"]) == hit.payload["version"])


class ChunkRetriever:
    def __init__(
        self, chunks: QdrantChunkStore, documents: QdrantDocumentStore, lexical: Bm25Encoder
    ) -> None:
        self._chunks = chunks
        self._documents = documents
        self._lexical = lexical

    def retrieve(
        self,
        tenant: str,
        question: str,
        scope: TimeScope,
        top_k: int,
        *,
        query_vector: np.ndarray,
        mentions: Sequence[str] = (),
        aspect_vector: np.ndarray | None = None,
    ) -> Retrieval:
        """Top chunks by reciprocal-rank fusion of dense and lexical search, in both clocks.

        Known time is a hard filter (``published_ts <= as_of``). A valid-time window keeps the
        chunks whose content time overlaps it, ranked up by how well their own periods fit it;
        newer documents get up to ``RECENCY_WEIGHT`` extra (the newest report on a changing fact
        is the likeliest current one). ``mentions`` (names in the question) are searched on
        their own; with several, each name and each period asked gets its own ranked list and
        its best chunk a reserved place, so no company or quarter is crowded out.
        """
        chunks = self._chunks
        cutoff = scope.knowledge_cutoff
        cut = to_ts(cutoff) if cutoff else None
        depth = max(40, top_k * DEPTH_PER_RESULT)
        where = chunks.where(
            tenant,
            published_before_ts=cut,
            published_after_ts=None,
            about_from=scope.start,
            about_to=scope.end,
        )
        lists, reserved = self._ranked_lists(
            tenant, question, scope, query_vector, mentions, where, cut, depth, aspect_vector
        )
        cap = per_document_cap(top_k, mentions)
        picked = self._rank(tenant, lists, reserved, scope, top_k, cap, mentions)
        # Only chunks about the question's entity count: a window full of other companies'
        # news holds nothing on "who led X in 2020" when X's last report is from 2019. One
        # such chunk is enough (it speaks of the entity in the period asked); without a name,
        # the window must hold a few chunks.
        about = [e for e in picked if not mentions or mentions_in(e.text, mentions[0])]
        need = 1 if mentions else MIN_IN_WINDOW
        if not scope.window or len(about) >= min(top_k, need):
            return Retrieval(picked)
        # Too little inside the window: look outside it, deliberately and visibly, at what had
        # been published by the window's end: the last reports before a period describe the
        # state that held in it ("who led X in 2020" from a 2019 appointment).
        by_end = to_ts(scope.end) if scope.end else None
        if cut is not None:
            by_end = cut if by_end is None else min(by_end, cut)
        open_where = chunks.where(tenant, published_before_ts=by_end, published_after_ts=None)
        plain = replace(scope, periods=())
        wide, _ = self._ranked_lists(
            tenant, question, plain, query_vector, mentions[:1], open_where, cut, depth
        )
        seen = {(e.document_id, e.text) for e in picked}
        extra = [
            e
            for e in self._rank(tenant, wide, [], scope, top_k, cap, mentions[:1])
            if (e.document_id, e.text) not in seen
        ]
        if not extra:
            return Retrieval(picked)
        # What speaks of the entity comes first, inside the window, then from before its end;
        # the window's chunks about other things follow.
        about_ids = {id(e) for e in about}
        named = [e for e in extra if not mentions or mentions_in(e.text, mentions[0])]
        named_ids = {id(e) for e in named}
        rest = [e for e in picked if id(e) not in about_ids]
        rest += [e for e in extra if id(e) not in named_ids]
        return Retrieval((about + named + rest)[:top_k], widened=True)

    def about_period(self, tenant: str, label: str, limit: int = 50) -> list[Evidence]:
        """Visible chunks linked to a time node, earliest publication first (a period's view).

        A chunk is linked to the nodes of the periods its text, or its document, is about, so a
        2021 biography shows under 2004 and a call held in July under the quarter it reports.
        """
        records = self._chunks.about(tenant, label, limit * 4)
        versions = self._documents.visible_versions(tenant, [r.payload["doc_id"] for r in records])
        live = [
            hit for hit in (Hit(r.id, 0.0, r.payload) for r in records) if visible(hit, versions)
        ]
        live.sort(key=lambda h: (float(h.payload["published_ts"]), h.payload["doc_id"], h.id))
        return [_evidence(h, 0.0) for h in live[:limit]]

    def _ranked_lists(
        self,
        tenant: str,
        question: str,
        scope: TimeScope,
        query_vector: np.ndarray,
        mentions: Sequence[str],
        where: Where,
        cut: float | None,
        depth: int,
        aspect_vector: np.ndarray | None = None,
    ) -> tuple[list[list[Hit]], list[list[int]]]:
        """Every ranked list, in one engine call, and the reserved groups: for each entity and
        each period asked, the indexes of the lists whose best hits are kept for it.

        Inside an entity's own documents every passage names it, so its lists search for
        what is asked of it: the lexical query and ``aspect_vector`` are the question without
        its names ("which had the highest operating margin among A, B and C" looks for
        operating margins in A's transcript, not for the passage that names A, B and C).
        """
        aspect = aspect_vector if aspect_vector is not None else query_vector
        chunks = self._chunks
        lexical = self._lexical
        requests: list[Search | None] = [
            chunks.dense(query_vector, where, depth),
            chunks.lexical(lexical.query(question), where, depth),
        ]
        if mentions:
            # Names alone: the question's other words must not drown the entity it is about.
            requests.append(chunks.lexical(lexical.query(" ".join(mentions)), where, depth))
        several = len(mentions) > 1
        if several:
            # Where each name is written: its own list, and the documents it leads to.
            for name in mentions:
                requests.append(chunks.lexical(lexical.query(name), where, ENTITY_DOCS * 4))
        found = chunks.search(requests)  # one engine call, shared with other queries
        reserved: list[list[int]] = []
        more: list[Search | None] = []
        rest = lexical.query(without_names(question, mentions) if several else question)
        entity_docs: list[list[str]] = []
        name_lists = found[len(found) - len(mentions) :] if several else []
        for name, hits in zip(mentions, name_lists, strict=False):
            # Only documents whose passages speak of the name: "Inc" or "Home" alone is not it.
            own = (h.payload["doc_id"] for h in hits if mentions_in(h.payload["text"], name))
            entity_docs.append(list(dict.fromkeys(own))[:ENTITY_DOCS])
        # Each entity: the question's other words inside that entity's own documents, so the
        # chunk that answers for it (not the one that repeats its name) gets a reserved place.
        for docs in entity_docs:
            if docs:
                ew = replace(where, must=(*where.must, Match("doc_id", any=tuple(docs))))
                reserved.append([len(found) + len(more), len(found) + len(more) + 1])
                more.extend((chunks.lexical(rest, ew, depth), chunks.dense(aspect, ew, depth)))
        every = tuple(d for docs in entity_docs for d in docs)
        for period in scope.periods:
            pw = self._period_where(tenant, period, cut)
            if every:
                pw = replace(pw, must=(*pw.must, Match("doc_id", any=every)))
            reserved.append([len(found) + len(more)])
            more.append(chunks.dense(query_vector, pw, depth))
        if more:
            found = found + chunks.search(more)
        return found, reserved

    def _period_where(self, tenant: str, period: TimeSpan, cut: float | None) -> Where:
        return self._chunks.where(
            tenant,
            published_before_ts=cut,
            published_after_ts=None,
            about_from=period.start,
            about_to=period.end,
        )

    def _rank(
        self,
        tenant: str,
        ranked_lists: list[list[Hit]],
        reserved: list[list[int]],
        scope: TimeScope,
        top_k: int,
        cap: int,
        mentions: Sequence[str] = (),
    ) -> list[Evidence]:
        fused: dict[str, float] = {}
        hits: dict[str, Hit] = {}
        for ranked in ranked_lists:
            for rank, hit in enumerate(ranked):
                fused[hit.id] = fused.get(hit.id, 0.0) + 1.0 / (RRF_K + rank + 1)
                hits.setdefault(hit.id, hit)
        if not fused:
            return []
        versions = self._documents.visible_versions(
            tenant, [h.payload["doc_id"] for h in hits.values()]
        )
        live = {h.id: h for h in hits.values() if visible(h, versions)}
        if not live:
            return []
        top = max(fused[i] for i in live)
        stamps = [float(h.payload["published_ts"]) for h in live.values()]
        lo, hi = min(stamps), max(stamps)
        window = _window_ts(scope)
        # Being about the period asked lifts a chunk only when it is on the question's topic
        # (it, or another passage of its document, names an entity asked): a window full of
        # other pages' passages about the same years must not push the subject's own down.
        topic = _topic_documents(live.values(), mentions) if window and mentions else None
        scores: dict[str, float] = {}
        about: dict[str, bool] = {}
        for h in live.values():
            recency = 0.0 if hi == lo else (float(h.payload["published_ts"]) - lo) / (hi - lo)
            fit = content_fit(_spans(h.payload), _frame(h.payload), *window) if window else 0.0
            on_topic = topic is None or h.payload["doc_id"] in topic
            about[h.id] = fit >= ABOUT_FIT and on_topic
            scores[h.id] = (
                fused[h.id] / top * (1.0 + RECENCY_WEIGHT * recency) * (1.0 + TIME_FIT_WEIGHT * fit)
            )

        def rank_key(h: Hit) -> tuple[bool, float, str]:
            return (not about[h.id], -scores[h.id], h.id)

        # Evidence about the period asked comes before evidence that only overlaps it.
        order = sorted(live.values(), key=rank_key)
        # Reserved places, in rounds: first the best chunk of every entity and period asked
        # (so five companies all show in a top ten), then the best of each group's other
        # lists; within a list, a chunk about the period asked beats a higher-ranked one that
        # is not. Each round is ordered best first; the rest of the ranking follows.
        # A group's candidates: its lists' visible hits, about-the-period first, the lists
        # interleaved; a group whose best is another group's pick takes its next (a company's
        # transcript that names a partner must not cost that partner its place).
        candidates: list[list[Hit]] = []
        for group in reserved:
            shown = [
                sorted(
                    (h for h in ranked_lists[index][:RESERVED_DEPTH] if h.id in live),
                    key=lambda h: not about[h.id],
                )
                for index in group
            ]
            merged = [h for tier in zip_longest(*shown) for h in tier if h is not None]
            candidates.append(list({h.id: h for h in merged}.values()))
        first: dict[str, Hit] = {}
        rounds: list[list[Hit]] = []
        for depth in range(max((len(g) for g in reserved), default=0)):
            picks: list[Hit] = []
            for group, cands in zip(reserved, candidates, strict=True):
                if depth >= len(group):
                    continue
                pick = next((h for h in cands if h.id not in first), None)
                if pick is not None:
                    first[pick.id] = pick
                    picks.append(pick)
            rounds.append(picks)
        ahead = [h for picks in rounds for h in sorted(picks, key=rank_key)]
        out: list[Evidence] = []
        per_doc: dict[str, int] = {}
        for h in [*ahead, *(h for h in order if h.id not in first)]:
            doc_id = h.payload["doc_id"]
            if per_doc.get(doc_id, 0) >= cap:
                continue
            per_doc[doc_id] = per_doc.get(doc_id, 0) + 1
            out.append(_evidence(h, scores[h.id]))
            if len(out) >= top_k:
                break
        return out


def _topic_documents(hits: Iterable[Hit], mentions: Sequence[str]) -> set[str]:
    """The documents with a passage among ``hits`` that names one of ``mentions``."""
    return {
        h.payload["doc_id"]
        for h in hits
        if any(mentions_in(h.payload["text"], name) for name in mentions)
    }


def per_document_cap(top_k: int, mentions: Sequence[str]) -> int:
    """How many chunks one document may hold in the evidence.

    Two, so one long document does not crowd out the others; but a question about named
    entities asks for the documents about them, so each name gets up to its share of ``top_k``
    (one entity: a long biography or report may fill the evidence with its own passages).
    """
    if not mentions:
        return 2
    return max(2, -(-top_k // len(mentions)))


def _evidence(h: Hit, score: float) -> Evidence:
    p = h.payload
    note = Annotation.from_payload(p)
    return Evidence(
        document_id=p["doc_id"],
        version=int(p["version"]),
        text=p["text"],
        published_at=from_ts(float(p["published_ts"])),
        score=round(score if math.isfinite(score) else 0.0, 6),
        title=p.get("title"),
        url=p.get("url"),
        about=tuple(p.get("content_labels") or ()),
        entities=note.entities,
        sentences=note.sentences,
    )


def _spans(payload: dict[str, Any]) -> list[tuple[float, float]]:
    spans = payload.get("content_spans")
    if spans:
        return [(float(s), float(e)) for s, e in spans]
    published = float(payload["published_ts"])
    return [(published, published + 86400.0)]


def _frame(payload: dict[str, Any]) -> tuple[float, float] | None:
    frame = payload.get("content_frame")
    return (float(frame[0]), float(frame[1])) if frame else None


def _window_ts(scope: TimeScope) -> tuple[float, float] | None:
    """The window as timestamps, an open side closed far away (fit only compares overlaps)."""
    if not scope.window:
        return None
    start = to_ts(scope.start) if scope.start else -62135596800.0  # 0001-01-01
    end = to_ts(scope.end) if scope.end else 253402300799.0  # 9999-12-31
    return start, end


def without_names(question: str, names: Sequence[str]) -> str:
    """The question's words that belong to none of the names (however each is punctuated)."""
    drop = frozenset().union(*(name_tokens(n) for n in names))
    kept = [w for w in question.split() if not (name_tokens(w) and name_tokens(w) <= drop)]
    return " ".join(kept)
