"""What route handlers reach through ``request.app.state``; built by `app.wiring`."""

from __future__ import annotations

from dataclasses import dataclass

from app.ingest.backpressure import Backpressure
from app.ingest.idempotency import IdempotencyService
from app.ingest.intake import IntakeService
from app.ingest.webhooks import WebhookReceiver
from app.retrieval.graph_answer import GraphAnswerer
from app.retrieval.service import QueryService
from app.services import Services


@dataclass
class ApiContext:
    services: Services
    intake: IntakeService
    queries: QueryService
    backpressure: Backpressure
    idempotency: IdempotencyService
    webhooks: WebhookReceiver
    # The graph's entity, timeline and period reads; None where the graph is not built.
    graph: GraphAnswerer | None = None
