"""Settings for tenants, webhooks and backpressure: fail fast with a fix-it message."""

from __future__ import annotations

import json
from typing import Any

import pytest
from pydantic import ValidationError

from app.core.errors import Overloaded
from app.core.security import hash_api_key, tenant_for_key
from app.core.settings import Settings
from app.ingest.backpressure import Backpressure
from tests.dispatchers import IdleDispatcher

KEY_HASH = hash_api_key("key-of-acme")


def _settings(**kw: Any) -> Settings:
    return Settings(_env_file=None, **kw)  # type: ignore[call-arg]


def test_hash_api_key_is_sha256_hex() -> None:
    assert hash_api_key("abc") == (
        "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
    )


def test_tenant_for_key_looks_up_by_hash() -> None:
    keys = {KEY_HASH: "acme"}
    assert tenant_for_key(keys, "key-of-acme") == "acme"
    assert tenant_for_key(keys, KEY_HASH) is None  # the stored hash is not itself a key
    assert tenant_for_key(keys, "") is None


def test_production_without_keys_refuses_to_start() -> None:
    with pytest.raises(ValidationError) as err:
        _settings(environment="production")
    message = str(err.value)
    assert "CHRONORAG_API_KEYS" in message and "chronorag hash-key" in message


def test_production_with_keys_starts() -> None:
    assert _settings(environment="production", api_keys={KEY_HASH: "acme"}).api_keys


def test_keys_from_env_json_are_normalised(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CHRONORAG_API_KEYS", json.dumps({KEY_HASH.upper(): "acme"}))
    assert _settings().api_keys == {KEY_HASH: "acme"}


@pytest.mark.parametrize(
    ("keys", "needle"),
    [({"key-of-acme": "acme"}, "not 64 hex digits"), ({KEY_HASH: "a b"}, "tenant 'a b'")],
)
def test_bad_api_keys_are_refused(keys: dict[str, str], needle: str) -> None:
    with pytest.raises(ValidationError, match=needle):
        _settings(api_keys=keys)


def test_webhook_sources_from_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(
        "CHRONORAG_WEBHOOK_SECRETS",
        json.dumps({"news": "s3cret-value", "gh": {"secret": "x" * 20, "mode": "github"}}),
    )
    sources = _settings().webhook_secrets
    assert sources["news"].mode == "chronorag" and sources["news"].tenant == "default"
    assert sources["news"].secret.get_secret_value() == "s3cret-value"
    assert sources["gh"].mode == "github"
    assert "s3cret-value" not in repr(sources)


def test_webhook_tenant_needs_an_api_key() -> None:
    with pytest.raises(ValidationError, match="tenant 'globex' has no API key"):
        _settings(
            api_keys={KEY_HASH: "acme"},
            webhook_secrets={"news": {"secret": "s" * 20, "tenant": "globex"}},
        )
    with pytest.raises(ValidationError, match="tenant 'acme' has no API key"):
        _settings(webhook_secrets={"news": {"secret": "s" * 20, "tenant": "acme"}})


@pytest.mark.parametrize(
    ("sources", "needle"),
    [
        ({"news": ""}, "secret is empty"),
        ({"a/b": "s" * 20}, "source names"),
        ({"news": {"secret": "s", "mode": "svix"}}, "mode"),
    ],
)
def test_bad_webhook_sources_are_refused(sources: dict[str, Any], needle: str) -> None:
    with pytest.raises(ValidationError, match=needle):
        _settings(webhook_secrets=sources)


def test_placeholder_secret_refused_in_production_only() -> None:
    assert _settings(webhook_secrets={"news": "changethis"}).webhook_secrets
    with pytest.raises(ValidationError, match="changethis"):
        _settings(
            environment="production",
            api_keys={KEY_HASH: "default"},
            webhook_secrets={"news": "changethis"},
        )


class FixedBacklog(IdleDispatcher):
    """A dispatcher whose queue length is set by the test (backpressure reads only that)."""


def test_backpressure_refuses_above_the_limit_only() -> None:
    queue = FixedBacklog(3)
    guard = Backpressure(queue, max_backlog=3, retry_after_s=7)
    guard.check()
    queue.size = 4
    with pytest.raises(Overloaded) as err:
        guard.check()
    assert err.value.status == 429 and err.value.retry_after_s == 7
    assert "CHRONORAG_MAX_BACKLOG" in err.value.detail and "4 tasks" in err.value.detail
