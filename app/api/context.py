"""What route handlers reach through ``request.app.state``; built by the composition root."""

from __future__ import annotations

from dataclasses import dataclass

from app.core.services import Services
from app.graph_index import Graph
from app.ingest.backpressure import Backpressure
from app.ingest.idempotency import IdempotencyService
from app.ingest.intake import IntakeService
from app.ingest.webhooks import WebhookReceiver
from app.retrieval.service import QueryService


@dataclass
class ApiContext:
    services: Services
    intake: IntakeService
    queries: QueryService
    graph: Graph | None = None
    # Intake guards; ``build_node`` sets them (``deps`` refuses to run without them).
    backpressure: Backpressure | None = None
    idempotency: IdempotencyService | None = None
    webhooks: WebhookReceiver | None = None
