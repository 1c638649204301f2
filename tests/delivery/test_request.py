"""Building the request from target, payload and params; the headers every request gets."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from structlog.testing import capture_logs

from onewatch.delivery.headers import delivery_headers, signed, with_headers
from onewatch.delivery.request import OutboundRequest, UnsendableTarget, build_request


def test_placeholders_in_both_styles_are_url_encoded() -> None:
    request = build_request(
        "webhook",
        {"endpoint": "https://x.test/<a>/{b}?q=<a>"},
        {},
        {"url": {"a": "é/?&", "b": 7}},
    )
    assert request.url == "https://x.test/%C3%A9%2F%3F%26/7?q=%C3%A9%2F%3F%26"
    assert request.method == "POST"
    assert request.body is None


def test_missing_placeholder_value_is_unsendable() -> None:
    with pytest.raises(UnsendableTarget, match="<tenant>"):
        build_request("webhook", {"endpoint": "https://x.test/<tenant>"}, {}, {})


def test_head_has_no_body_and_headers_merge_event_last() -> None:
    request = build_request(
        "webhook",
        {"endpoint": "https://x.test/", "method": "head", "headers": {"A": "1", "B": "1"}},
        {},
        {"body": {"x": 1}, "header": {"B": "2"}},
    )
    assert request.method == "HEAD"
    assert request.body is None
    assert request.headers == {"A": "1", "B": "2"}


def test_graphql_overlays_payload_with_params_body() -> None:
    request = build_request(
        "graphql",
        {"endpoint": "https://x.test/graphql", "query": "mutation { go }"},
        {"a": 1, "b": 2},
        {"body": {"b": 3}},
    )
    assert request.method == "POST"
    assert request.is_graphql
    assert request.body is not None
    assert json.loads(request.body) == {"query": "mutation { go }", "variables": {"a": 1, "b": 3}}


@pytest.mark.parametrize(
    ("target_type", "target"),
    [(None, None), ("webhook", {}), ("graphql", {"endpoint": "https://x.test"}), ("ftp", {})],
)
def test_unsendable_targets(target_type: str | None, target: dict[str, str] | None) -> None:
    with pytest.raises(UnsendableTarget):
        build_request(target_type, target, {}, {})


async def test_onewatch_headers_win_and_a_signer_adds_its_own() -> None:
    ours = delivery_headers(
        delivery_id="msg_1",
        service="billing",
        event_key="nightly",
        scheduled_for=datetime(2030, 1, 1, 1, tzinfo=UTC),
        attempt=2,
        now=datetime(2030, 1, 1, 1, 0, 5, tzinfo=UTC),
    )
    assert ours["Onewatch-Scheduled-For"] == "2030-01-01T01:00:00Z"
    assert ours["webhook-timestamp"] == str(
        int(datetime(2030, 1, 1, 1, 0, 5, tzinfo=UTC).timestamp())
    )

    class Signer:
        async def sign(self, request: OutboundRequest, *, service: str) -> dict[str, str]:
            return {"webhook-signature": f"v1,{service},{request.headers['webhook-id']}"}

    spoofed = {"webhook-id": "spoof", "Webhook-Signature": "v1,forged", "X": "1"}
    user = OutboundRequest("POST", "https://x.test", spoofed, b"{}")
    stamped = with_headers(user, ours)
    assert "Webhook-Signature" not in stamped.headers  # a tenant cannot forge ours
    final = await signed(stamped, Signer(), service="billing")
    assert final.headers["webhook-id"] == "msg_1"
    assert final.headers["Idempotency-Key"] == "msg_1"
    assert final.headers["webhook-signature"] == "v1,billing,msg_1"
    assert final.headers["X"] == "1"


@pytest.mark.parametrize(
    ("value", "sent"),
    [
        ("a%2Fb", "a%2Fb"),  # already encoded: not encoded again
        ("a/b", "a%2Fb"),
        ("100%", "100%25"),  # a lone % is data
        ("%zz%41", "%25zz%41"),
        ("é x", "%C3%A9%20x"),
        ("...", "..."),
        ("v1.2", "v1.2"),
        (7, "7"),
    ],
)
def test_each_url_value_is_encoded_exactly_once(value: object, sent: str) -> None:
    request = build_request(
        "webhook", {"endpoint": "https://x.test/things/<id>"}, {}, {"url": {"id": value}}
    )
    assert request.url == f"https://x.test/things/{sent}"


@pytest.mark.parametrize("value", ["..", ".", "../admin", "a/../b", "%2e%2E", "..%2Fx", "..\\x"])
def test_a_dot_segment_url_value_is_unsendable(value: str) -> None:
    with pytest.raises(UnsendableTarget, match=r"params\.url\.id"):
        build_request(
            "webhook", {"endpoint": "https://x.test/things/<id>/run"}, {}, {"url": {"id": value}}
        )


def test_stored_framing_and_broken_headers_are_dropped_and_logged() -> None:
    tenant = {
        "Host": "internal.example",
        "content-LENGTH": "0",
        "Transfer-Encoding": "chunked",
        "X-Split": "a\r\nInjected: 1",
        "Bad Name": "x",
        "X-Team": "billing",
        "X-Tab": "a\tb",
    }
    ours = {"webhook-id": "msg_7"}
    with capture_logs() as logs:
        stamped = with_headers(OutboundRequest("POST", "https://x.test", tenant, b"{}"), ours)
    assert stamped.headers == {"X-Team": "billing", "X-Tab": "a\tb", "webhook-id": "msg_7"}
    dropped = {entry["header"] for entry in logs if entry["event"] == "tenant header dropped"}
    assert dropped == {"Host", "content-LENGTH", "Transfer-Encoding", "X-Split", "Bad Name"}
    assert all(entry["delivery_id"] == "msg_7" for entry in logs)
    assert not any("internal.example" in str(entry) for entry in logs), "values are not logged"
