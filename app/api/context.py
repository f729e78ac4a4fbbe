"""What route handlers reach through ``request.app.state``; built by the composition root."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from app.core.services import Services
from app.ingest.intake import IntakeService
from app.retrieval.service import QueryService


@dataclass
class ApiContext:
    services: Services
    intake: IntakeService
    queries: QueryService
    graph: Any | None = None
