"""Standard Webhooks headers, checked by the official ``standardwebhooks`` verifier."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta

import pytest
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from onewatch.delivery.signing import (
    InvalidSigningSecret,
    generate_secret,
    secret_key,
    sign,
    signature_headers,
)

BODY = json.dumps({"event": "invoice.due", "id": 42, "name": "São Paulo"}).encode()


def test_generated_secrets_have_the_standard_shape() -> None:
    made = {generate_secret() for _ in range(50)}
    assert len(made) == 50
    for secret in made:
        assert secret.startswith("whsec_")
        assert len(base64.b64decode(secret.removeprefix("whsec_"))) == 32


def test_the_official_verifier_accepts_our_headers() -> None:
    secret = generate_secret()
    headers = signature_headers([secret], "dlv_01", datetime.now(UTC), BODY)
    assert set(headers) == {"webhook-id", "webhook-timestamp", "webhook-signature"}
    assert headers["webhook-id"] == "dlv_01"
    assert Webhook(secret).verify(BODY, headers) == json.loads(BODY)


def test_the_signature_covers_id_timestamp_and_body() -> None:
    secret = generate_secret()
    now = datetime.now(UTC)
    headers = signature_headers([secret], "dlv_02", now, BODY)
    verifier = Webhook(secret)
    with pytest.raises(WebhookVerificationError):
        verifier.verify(BODY.replace(b"42", b"43"), headers)
    with pytest.raises(WebhookVerificationError):
        verifier.verify(BODY, {**headers, "webhook-id": "dlv_03"})
    with pytest.raises(WebhookVerificationError):
        later = str(int(headers["webhook-timestamp"]) + 1)
        verifier.verify(BODY, {**headers, "webhook-timestamp": later})
    with pytest.raises(WebhookVerificationError):
        Webhook(generate_secret()).verify(BODY, headers)


def test_a_stale_timestamp_is_refused_by_the_receiver() -> None:
    secret = generate_secret()
    headers = signature_headers([secret], "dlv_04", datetime.now(UTC) - timedelta(hours=1), BODY)
    with pytest.raises(WebhookVerificationError, match="too old"):
        Webhook(secret).verify(BODY, headers)


def test_during_a_rotation_both_secrets_sign_and_either_verifies() -> None:
    old, new = generate_secret(), generate_secret()
    headers = signature_headers([new, old], "dlv_05", datetime.now(UTC), BODY)
    signatures = headers["webhook-signature"].split(" ")
    assert len(signatures) == 2
    assert all(entry.startswith("v1,") for entry in signatures)
    assert Webhook(old).verify(BODY, headers) == json.loads(BODY)
    assert Webhook(new).verify(BODY, headers) == json.loads(BODY)
    with pytest.raises(WebhookVerificationError):
        Webhook(generate_secret()).verify(BODY, headers)


def test_known_answer() -> None:
    """The example of the Standard Webhooks specification (and its libraries' tests)."""
    secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
    body = b'{"test": 2432232314}'
    expected = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
    assert sign(secret, "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, body) == expected


@pytest.mark.parametrize(
    "secret",
    ["MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "whsec_not*base64", "whsec_" + "c2hvcnQ=", "whsec_"],
)
def test_bad_secrets_are_refused_not_used_weakly(secret: str) -> None:
    with pytest.raises(InvalidSigningSecret):
        secret_key(secret)


def test_no_secret_and_naive_timestamps_are_refused() -> None:
    with pytest.raises(InvalidSigningSecret):
        signature_headers([], "dlv_06", 1_700_000_000, BODY)
    with pytest.raises(ValueError, match="naive"):
        signature_headers([generate_secret()], "dlv_07", datetime(2026, 1, 1), BODY)
