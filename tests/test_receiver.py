"""``onewatch.receiver.verify`` accepts what Onewatch and the official library sign, only that."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from standardwebhooks.webhooks import Webhook

from onewatch.delivery.signing import InvalidSigningSecret, generate_secret, signature_headers
from onewatch.receiver import InvalidWebhook, VerifiedWebhook, verify

BODY = json.dumps({"report": "monthly", "city": "São Paulo"}).encode()
NOW = datetime(2030, 5, 1, 12, 0, tzinfo=UTC)


def test_onewatch_signed_call_is_accepted() -> None:
    secret = generate_secret()
    headers = signature_headers([secret], "dlv_1", NOW, BODY)
    assert verify(headers, BODY, secret, now=NOW) == VerifiedWebhook("dlv_1", NOW)
    # Frameworks hand headers over in any case; a str body is the same bytes.
    title_case = {name.title(): value for name, value in headers.items()}
    assert verify(title_case, BODY.decode(), secret, now=NOW).id == "dlv_1"


def test_the_official_library_signature_is_accepted() -> None:
    secret = generate_secret()
    signature = Webhook(secret).sign("msg_1", NOW, BODY.decode())
    headers = {
        "webhook-id": "msg_1",
        "webhook-timestamp": str(int(NOW.timestamp())),
        "webhook-signature": signature,
    }
    assert verify(headers, BODY, secret, now=NOW).id == "msg_1"


def test_during_a_rotation_either_secret_verifies() -> None:
    old, new = generate_secret(), generate_secret()
    headers = signature_headers([old, new], "dlv_2", NOW, BODY)
    assert verify(headers, BODY, old, now=NOW).id == "dlv_2"
    assert verify(headers, BODY, new, now=NOW).id == "dlv_2"
    only_new = signature_headers([new], "dlv_2", NOW, BODY)
    assert verify(only_new, BODY, [old, new], now=NOW).id == "dlv_2"


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"body": BODY.replace(b"monthly", b"yearly")}, "no signature matches"),
        ({"id": "dlv_other"}, "no signature matches"),
        ({"secret": generate_secret()}, "no signature matches"),
        ({"signed_at": NOW - timedelta(minutes=6)}, "too old"),
        ({"signed_at": NOW + timedelta(minutes=6)}, "in the future"),
    ],
)
def test_anything_else_is_refused(change: dict[str, object], reason: str) -> None:
    secret = generate_secret()
    signed_at = change.get("signed_at", NOW)
    assert isinstance(signed_at, datetime)
    headers = signature_headers([secret], "dlv_3", signed_at, BODY)
    if "id" in change:
        headers["webhook-id"] = str(change["id"])
    body = change.get("body", BODY)
    assert isinstance(body, bytes)
    with pytest.raises(InvalidWebhook, match=reason):
        verify(headers, body, str(change.get("secret", secret)), now=NOW)


def test_the_tolerance_is_the_callers() -> None:
    secret = generate_secret()
    headers = signature_headers([secret], "dlv_4", NOW - timedelta(minutes=20), BODY)
    assert verify(headers, BODY, secret, now=NOW, tolerance=timedelta(minutes=30)).id == "dlv_4"
    with pytest.raises(InvalidWebhook, match="too old"):
        verify(headers, BODY, secret, now=NOW, tolerance=60)


def test_missing_or_malformed_headers_are_named() -> None:
    secret = generate_secret()
    headers = signature_headers([secret], "dlv_5", NOW, BODY)
    with pytest.raises(InvalidWebhook, match=r"missing header.*webhook-signature"):
        verify({**headers, "webhook-signature": ""}, BODY, secret, now=NOW)
    with pytest.raises(InvalidWebhook, match="not a number"):
        verify({**headers, "webhook-timestamp": "soon"}, BODY, secret, now=NOW)
    with pytest.raises(InvalidWebhook, match="no signature"):
        verify({**headers, "webhook-signature": "v2,abc garbage"}, BODY, secret, now=NOW)


def test_an_unusable_receiver_secret_is_a_setup_error() -> None:
    headers = signature_headers([generate_secret()], "dlv_6", NOW, BODY)
    with pytest.raises(InvalidSigningSecret):
        verify(headers, BODY, "not-a-secret", now=NOW)
