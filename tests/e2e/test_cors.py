"""CORS: a configured browser origin may call the API; any other origin gets no CORS grant."""

from __future__ import annotations

import httpx
import pytest

from app.core.settings import Settings
from tests.conftest import CORS_ORIGIN

pytestmark = pytest.mark.e2e

PREFLIGHT = {
    "Access-Control-Request-Method": "POST",
    "Access-Control-Request-Headers": "authorization, content-type",
}


def test_preflight_from_a_configured_origin_is_allowed(client: httpx.Client) -> None:
    resp = client.options("/v1/query", headers={"Origin": CORS_ORIGIN, **PREFLIGHT})
    assert resp.status_code == 200
    assert resp.headers["access-control-allow-origin"] == CORS_ORIGIN
    assert "POST" in resp.headers["access-control-allow-methods"]
    assert "access-control-allow-credentials" not in resp.headers
    simple = client.get("/healthz", headers={"Origin": CORS_ORIGIN})
    assert simple.headers["access-control-allow-origin"] == CORS_ORIGIN


def test_preflight_from_another_origin_is_refused(client: httpx.Client) -> None:
    resp = client.options("/v1/query", headers={"Origin": "https://evil.example", **PREFLIGHT})
    assert resp.status_code == 400
    assert "access-control-allow-origin" not in resp.headers
    simple = client.get("/healthz", headers={"Origin": "https://evil.example"})
    assert "access-control-allow-origin" not in simple.headers


def test_wildcard_origin_is_refused_in_production() -> None:
    with pytest.raises(ValueError, match="CORS_ORIGINS"):
        Settings(
            environment="production",
            api_keys={"a" * 64: "default"},
            cors_origins=["*"],
        )
