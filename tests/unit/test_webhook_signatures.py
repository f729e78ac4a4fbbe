"""Webhook signature rules: HMAC over "{timestamp}.{body}" or GitHub's body-only scheme."""

from __future__ import annotations

import pytest

from app.core.errors import ChronoragError, Unauthorized
from app.ingest.webhooks import (
    check_delivery_id,
    sign_chronorag,
    sign_github,
    verify_chronorag,
    verify_github,
)

SECRET = "a-long-random-shared-secret"
BODY = b'{"id": "n-1", "text": "The harbour reopened."}'
NOW = 1_750_000_000


def _verify(
    signature: str | None,
    timestamp: str | None,
    body: bytes = BODY,
    now: float = NOW,
    tolerance_s: int = 300,
) -> str:
    return verify_chronorag(
        SECRET,
        signature=signature,
        timestamp=timestamp,
        body=body,
        now=now,
        tolerance_s=tolerance_s,
    )


def test_chronorag_signature_round_trip_returns_digest() -> None:
    signature = sign_chronorag(SECRET, NOW, BODY)
    assert signature.startswith("sha256=") and len(signature) == 7 + 64
    assert _verify(signature, str(NOW)) == signature.removeprefix("sha256=")


def test_chronorag_signature_covers_timestamp_and_body() -> None:
    # Known vector: HMAC-SHA256(key, "1750000000." + body), computed independently.
    import hashlib
    import hmac

    expected = hmac.new(SECRET.encode(), b"1750000000." + BODY, hashlib.sha256).hexdigest()
    assert sign_chronorag(SECRET, "1750000000", BODY) == f"sha256={expected}"


def test_uppercase_hex_is_accepted() -> None:
    signature = sign_chronorag(SECRET, NOW, BODY)
    assert _verify("sha256=" + signature[7:].upper(), str(NOW))


@pytest.mark.parametrize(
    ("signature", "needle"),
    [
        (None, "missing X-Chronorag-Signature"),
        ("", "missing X-Chronorag-Signature"),
        ("deadbeef", "must be 'sha256='"),
        ("sha1=" + "0" * 40, "must be 'sha256='"),
        ("sha256=" + "0" * 63, "must be 'sha256='"),
        ("sha256=" + "0" * 64, "does not match"),
        ("sha256=" + "é" * 64, "must be 'sha256='"),
    ],
)
def test_bad_or_missing_signature_is_unauthorized(signature: str | None, needle: str) -> None:
    with pytest.raises(Unauthorized) as err:
        _verify(signature, str(NOW))
    assert needle in err.value.detail
    assert err.value.status == 401


def test_wrong_secret_is_unauthorized() -> None:
    signature = sign_chronorag("another-secret", NOW, BODY)
    with pytest.raises(Unauthorized, match="does not match"):
        _verify(signature, str(NOW))


def test_tampered_body_is_unauthorized() -> None:
    signature = sign_chronorag(SECRET, NOW, BODY)
    with pytest.raises(Unauthorized, match="does not match"):
        _verify(signature, str(NOW), body=BODY.replace(b"reopened", b"closed"))


def test_timestamp_is_signed() -> None:
    """Moving the timestamp forward to dodge the tolerance breaks the signature."""
    signature = sign_chronorag(SECRET, NOW - 3600, BODY)
    with pytest.raises(Unauthorized, match="does not match"):
        _verify(signature, str(NOW))


@pytest.mark.parametrize("timestamp", [None, "", "soon", "1.5", "-5", "12345678901234"])
def test_missing_or_malformed_timestamp_is_unauthorized(timestamp: str | None) -> None:
    with pytest.raises(Unauthorized, match="X-Chronorag-Timestamp"):
        _verify(sign_chronorag(SECRET, NOW, BODY), timestamp)


@pytest.mark.parametrize("skew", [-301, 301, 86_400])
def test_stale_or_future_timestamp_is_unauthorized(skew: int) -> None:
    stamp = NOW + skew
    with pytest.raises(Unauthorized) as err:
        _verify(sign_chronorag(SECRET, stamp, BODY), str(stamp))
    assert f"{abs(skew)} s away" in err.value.detail
    assert "CHRONORAG_WEBHOOK_TOLERANCE_S" in err.value.detail


@pytest.mark.parametrize("skew", [-300, 0, 300])
def test_timestamp_inside_tolerance_is_accepted(skew: int) -> None:
    stamp = NOW + skew
    assert _verify(sign_chronorag(SECRET, stamp, BODY), str(stamp))


def test_tolerance_is_configurable() -> None:
    stamp = NOW - 30
    with pytest.raises(Unauthorized):
        _verify(sign_chronorag(SECRET, stamp, BODY), str(stamp), tolerance_s=10)


def test_github_documented_vector() -> None:
    # The example from GitHub's "Validating webhook deliveries" documentation.
    secret = "It's a Secret to Everybody"
    expected = "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"
    assert sign_github(secret, b"Hello, World!") == expected
    assert verify_github(secret, signature=expected, body=b"Hello, World!") == expected[7:]


@pytest.mark.parametrize(
    "signature",
    [None, "", "sha256=" + "0" * 64, sign_github("other", BODY), sign_chronorag(SECRET, NOW, BODY)],
)
def test_github_bad_signature_is_unauthorized(signature: str | None) -> None:
    with pytest.raises(Unauthorized, match="X-Hub-Signature-256"):
        verify_github(SECRET, signature=signature, body=BODY)


@pytest.mark.parametrize("value", [None, "", "   ", "has space", "x" * 201, "tab\tid"])
def test_delivery_id_is_required(value: str | None) -> None:
    with pytest.raises(ChronoragError) as err:
        check_delivery_id(value, "X-Chronorag-Delivery")
    assert err.value.status == 400
    assert "X-Chronorag-Delivery" in err.value.detail


def test_delivery_id_is_trimmed() -> None:
    assert check_delivery_id(" 7f1c-22 ", "X-GitHub-Delivery") == "7f1c-22"
