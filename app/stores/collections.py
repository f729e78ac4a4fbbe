"""The collections chronorag keeps in Qdrant, and their payload indexes."""

from __future__ import annotations

from app.stores.engines import CollectionSpec

DENSE = "dense"
LEXICAL = "bm25"


def documents_spec(prefix: str) -> CollectionSpec:
    # Document records need no similarity search; a 1-d vector keeps both engines happy.
    return CollectionSpec(
        f"{prefix}_documents",
        {DENSE: 1},
        indexes={
            "tenant": "keyword",
            "doc_id": "keyword",
            "status": "keyword",
            "updated_ts": "float",
            # GET /v1/documents filters on these.
            "source": "keyword",
            "published_at": "float",
        },
    )


def chunks_spec(prefix: str, dim: int) -> CollectionSpec:
    return CollectionSpec(
        f"{prefix}_chunks",
        {DENSE: dim},
        (LEXICAL,),
        indexes={
            "tenant": "keyword",
            "doc_id": "keyword",
            "version": "integer",
            "published_ts": "float",
            "content_from_ts": "float",
            "content_to_ts": "float",
            "time_nodes": "keyword",
        },
    )


def facts_spec(prefix: str, dim: int) -> CollectionSpec:
    return CollectionSpec(
        f"{prefix}_facts",
        {DENSE: dim},
        indexes={
            "tenant": "keyword",
            "subject_key": "keyword",
            "object_key": "keyword",
            "relation": "keyword",
            "doc_ids": "keyword",
            "known_from_ts": "float",
            "valid_from_ts": "float",
            "time_nodes": "keyword",
        },
    )


def timenodes_spec(prefix: str, dim: int) -> CollectionSpec:
    return CollectionSpec(
        f"{prefix}_timenodes",
        {DENSE: dim},
        indexes={
            "tenant": "keyword",
            "label": "keyword",
            "granularity": "keyword",
            "dirty": "bool",
        },
    )
