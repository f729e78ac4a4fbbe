"""Hardening found by a security probe: production refuses unsafe webhook and key settings,
admin keys are hashes, printed settings never carry a password, and webhook replay claims kept
without Redis survive a restart of the process."""

from __future__ import annotations

import json
import time
from pathlib import Path
from types import SimpleNamespace
from typing import Any
from unittest import mock

import pytest
from pydantic import ValidationError

from app.core.errors import Conflict
from app.core.security import hash_api_key, mask_url
from app.core.settings import Settings
from app.ingest.intake import Accepted, DocumentInput
from app.ingest.webhooks import (
    DELIVERY_HEADER,
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    WebhookReceiver,
    sign_chronorag,
)
from app.stores.ttl import SqliteTtlStore, build_ttl_store, claims_path

KEYS = {hash_api_key("tenant-key"): "default"}
LONG = "x" * 32


def _production(**kwargs: Any) -> Settings:
    return Settings(environment="production", api_keys=KEYS, _env_file=None, **kwargs)  # type: ignore[call-arg]


# --- production refuses unsafe settings -------------------------------------------------------


def test_production_refuses_a_short_webhook_secret() -> None:
    with pytest.raises(ValidationError, match="production needs at least 32"):
        _production(webhook_secrets={"feed": "x" * 31})
    assert _production(webhook_secrets={"feed": LONG}).webhook_secrets["feed"]


def test_short_webhook_secret_is_allowed_outside_production() -> None:
    settings = Settings(webhook_secrets={"feed": "short"}, _env_file=None)  # type: ignore[call-arg, dict-item]
    assert settings.webhook_secrets["feed"].secret.get_secret_value() == "short"


def test_serve_refuses_a_short_secret_without_showing_it(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from workers.cli import main

    monkeypatch.setenv("CHRONORAG_ENVIRONMENT", "production")
    monkeypatch.setenv("CHRONORAG_API_KEYS", json.dumps(KEYS))
    monkeypatch.setenv("CHRONORAG_WEBHOOK_SECRETS", '{"feed": "s3cret-ish"}')
    assert main(["serve", "--port", "1"]) == 2
    err = capsys.readouterr().err
    assert "invalid configuration" in err and "at least 32" in err
    assert "s3cret-ish" not in err


def test_production_webhooks_beside_a_qdrant_server_need_redis() -> None:
    with pytest.raises(ValidationError, match="needs CHRONORAG_REDIS_URL"):
        _production(webhook_secrets={"feed": LONG}, qdrant_url="http://q:6333")
    # With Redis the replicas share claims; embedded, the one process keeps them on disk.
    _production(webhook_secrets={"feed": LONG}, qdrant_url="http://q:6333", redis_url="redis://r")
    assert _production(webhook_secrets={"feed": LONG}).redis_url is None


def test_admin_keys_are_hashes_and_never_tenant_keys() -> None:
    admin = hash_api_key("operator-key")
    settings = Settings(admin_keys=[admin.upper()], _env_file=None)  # type: ignore[call-arg]
    assert settings.admin_keys == [admin]
    with pytest.raises(ValidationError, match="store hashes, never keys"):
        Settings(admin_keys=["operator-key"], _env_file=None)  # type: ignore[call-arg]
    with pytest.raises(ValidationError, match="both CHRONORAG_ADMIN_KEYS and CHRONORAG_API_KEYS"):
        Settings(api_keys=KEYS, admin_keys=list(KEYS), _env_file=None)  # type: ignore[call-arg]


def test_admin_keys_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    admin = hash_api_key("operator-key")
    monkeypatch.setenv("CHRONORAG_ADMIN_KEYS", f'["{admin}"]')
    assert Settings(_env_file=None).admin_keys == [admin]  # type: ignore[call-arg]


# --- secrets never printed --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "masked"),
    [
        ("redis://:hunter2@10.0.0.5:6379/0", "redis://:***@10.0.0.5:6379/0"),
        ("rediss://app:hunter2@cache:6380/1", "rediss://app:***@cache:6380/1"),
        ("redis://hunter2@cache", "redis://***@cache"),
        ("redis://cache/0?password=hunter2&db=1", "redis://cache/0?password=***&db=1"),
        ("https://q:6333?api_key=hunter2", "https://q:6333?api_key=***"),
        ("redis://127.0.0.1:6379/0", "redis://127.0.0.1:6379/0"),
        ("http://q:6333", "http://q:6333"),
        ("redis://cache:not-a-port", "***"),
        ("cache:hunter2@x", "***"),
        (None, "unset"),
    ],
)
def test_mask_url(url: str | None, masked: str) -> None:
    assert mask_url(url) == masked
    assert "hunter2" not in mask_url(url)


def test_the_start_up_line_masks_passwords(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from workers import cli

    monkeypatch.setenv("CHRONORAG_REDIS_URL", "redis://:hunter2@cache:6379/0")
    monkeypatch.setenv("CHRONORAG_QDRANT_URL", "https://ops:hunter3@qdrant:6333")
    node = mock.MagicMock()
    with (
        mock.patch("workers.embedded.build_node", return_value=node),
        mock.patch("uvicorn.run"),
    ):
        assert cli.main(["serve", "--port", "1", "--data-dir", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "chronorag listening" in out and "cache:6379" in out and "qdrant:6333" in out
    assert "hunter2" not in out and "hunter3" not in out


# --- replay claims survive a restart without Redis --------------------------------------------


def test_sqlite_claims_survive_a_new_process(tmp_path: Path) -> None:
    path = claims_path(tmp_path)
    first = SqliteTtlStore(path)
    assert first.claim("k", "pending:1", 60)
    assert first.replace_if("k", "pending:1", "done", 60)
    first.close()
    second = build_ttl_store(None, path)
    assert isinstance(second, SqliteTtlStore)
    assert not second.claim("k", "pending:2", 60)
    assert second.get("k") == "done"
    assert not second.delete_if("k", "pending:2") and second.delete_if("k", "done")
    assert second.claim("k", "pending:3", 0.05)
    time.sleep(0.1)
    assert second.get("k") is None and second.claim("k", "pending:4", 60)


class _Intake:
    def __init__(self) -> None:
        self.recorded: list[str] = []

    def validate(self, doc: DocumentInput) -> DocumentInput:
        return doc

    def submit(self, tenant: str, doc: DocumentInput) -> Accepted:
        self.recorded.append(doc.text)
        return Accepted(doc_id="d", version=1, status="pending")


def _receiver(path: Path, intake: _Intake) -> WebhookReceiver:
    settings = Settings(webhook_secrets={"feed": LONG}, _env_file=None)  # type: ignore[call-arg, dict-item]
    backpressure = SimpleNamespace(check=lambda: None)
    return WebhookReceiver(settings, SqliteTtlStore(path), intake, backpressure, lease_s=5)  # type: ignore[arg-type]


def test_a_captured_delivery_is_refused_after_a_restart(tmp_path: Path) -> None:
    body = b'{"text": "The harbour reopened."}'
    stamp = int(time.time())
    headers = {
        SIGNATURE_HEADER: sign_chronorag(LONG, stamp, body),
        TIMESTAMP_HEADER: str(stamp),
        DELIVERY_HEADER: "delivery-1",
    }
    intake = _Intake()
    before = _receiver(claims_path(tmp_path), intake)
    delivery = before.verify("feed", headers, body)
    before.accept(delivery, [DocumentInput(text="The harbour reopened.")], batch=False)
    after = _receiver(claims_path(tmp_path), intake)  # a new process on the same data folder
    with pytest.raises(Conflict, match="already received"):
        after.accept(after.verify("feed", headers, body), [DocumentInput(text="x")], batch=False)
    renamed = {**headers, DELIVERY_HEADER: "delivery-2"}
    with pytest.raises(Conflict, match="a replay"):
        after.accept(after.verify("feed", renamed, body), [DocumentInput(text="x")], batch=False)
    assert intake.recorded == ["The harbour reopened."]
