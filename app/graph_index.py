"""Wiring of the temporal-graph indexers (filled in with the graph feature)."""

from __future__ import annotations

from app.core.services import Services
from app.ingest.pipeline import KnowledgeIndexer


def build_graph_indexers(services: Services) -> list[KnowledgeIndexer]:
    return []


def build_graph_api(services: Services) -> None:
    return None
