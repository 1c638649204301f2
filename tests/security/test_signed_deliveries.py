"""Real fires are signed: a node's dispatcher calls a real 127.0.0.1 target, and the
official ``standardwebhooks`` verifier checks each request, across a rotation."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from pydantic import SecretStr
from sqlalchemy import select
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from onewatch.security.secrets_crypto import keyring_from_settings
from onewatch.settings import Settings
from onewatch.store.schema import deliveries, delivery_attempts, signing_secrets
from onewatch.store.signing_secrets import active_secrets
from tests.engine.support import Received, Sink, wait_for
from tests.support.databases import BACKENDS, fresh_database_url
from tests.support.live import TEST_SECRET, LiveApp, live_app

SERVICE = "billing"
SECRETS = f"/v1/services/{SERVICE}/signing-secrets"
#: A one-shot far in the future: the event fires only when the test triggers it.
NEVER = "2099-01-01T00:00:00Z"


@pytest.fixture
async def sink() -> AsyncIterator[Sink]:
    server = await Sink().start()
    try:
        yield server
    finally:
        await server.stop()


@pytest.fixture(params=BACKENDS)
async def node(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[LiveApp]:
    """A node running all three roles; secrets re-read on every delivery (no cache)."""
    async with fresh_database_url(request.param, tmp_path) as url:
        settings = Settings(
            data_dir=tmp_path,
            database_url=url,
            jwt_secret=SecretStr(TEST_SECRET),
            signing_secret_cache_seconds=0,
            dispatcher_poll_seconds=0.2,
        )
        async with live_app(tmp_path, settings=settings) as live:
            yield live


def _webhook_event(key: str, sink: Sink) -> dict[str, Any]:
    return {
        "key": key,
        "webhook": {"endpoint": f"{sink.base}/hooks/<id>", "method": "POST"},
        "params": {"url": {"id": key}, "body": {"invoice": key, "city": "São Paulo"}},
        "schedulingPattern": {"pattern": NEVER},
    }


async def _fire(http: httpx.AsyncClient, sink: Sink, key: str) -> Received:
    """Trigger the event and return the request the target got for it."""
    before = len(sink.received)
    answer = await http.post(f"/v1/events/{SERVICE}/{key}/trigger")
    assert answer.status_code == 202, answer.text
    await wait_for(lambda: len(sink.received) > before, seconds=30, what=f"the target to get {key}")
    return sink.received[before]


def _verifies(secret: str, request: Received) -> bool:
    try:
        Webhook(secret).verify(request.body, request.headers)
    except WebhookVerificationError:
        return False
    return True


def _signatures(request: Received) -> list[str]:
    return request.headers["webhook-signature"].split()


async def test_fires_verify_across_a_rotation_and_a_revocation(node: LiveApp, sink: Sink) -> None:
    async with node.client(SERVICE) as http:
        first = (await http.post(SECRETS)).json()
        old = first["secret"]
        answer = await http.post("/v1/events", json=_webhook_event("invoice-7", sink))
        assert answer.status_code == 201, answer.text

        before = await _fire(http, sink, "invoice-7")
        assert _verifies(old, before)
        assert json.loads(before.body) == {"invoice": "invoice-7", "city": "São Paulo"}
        assert before.headers["webhook-id"] == before.headers["Idempotency-Key"]
        assert len(_signatures(before)) == 1

        rotated = await http.post(f"{SECRETS}/rotate", json={"overlapSeconds": 3600})
        assert rotated.status_code == 201, rotated.text
        new = rotated.json()["secret"]
        during = await _fire(http, sink, "invoice-7")
        assert len(_signatures(during)) == 2
        assert _verifies(old, during), "receivers still holding the old secret accept"
        assert _verifies(new, during), "receivers already on the new secret accept"

        assert (await http.delete(f"{SECRETS}/{first['id']}")).status_code == 204
        after = await _fire(http, sink, "invoice-7")
        assert _verifies(new, after)
        assert not _verifies(old, after), "a revoked secret no longer signs"
        assert len(_signatures(after)) == 1

        ended = await http.post(f"{SECRETS}/rotate", json={"overlapSeconds": 0})
        newest = ended.json()["secret"]
        last = await _fire(http, sink, "invoice-7")
        assert _verifies(newest, last)
        assert not _verifies(new, last), "an overlap of 0 ends the old secret at once"


async def test_graphql_requests_are_signed_too(node: LiveApp, sink: Sink) -> None:
    async with node.client(SERVICE) as http:
        secret = (await http.post(SECRETS)).json()["secret"]
        document = {
            "key": "sync",
            "graphql": {"endpoint": f"{sink.base}/graphql", "query": "mutation { sync }"},
            "params": {"body": {"limit": 3}},
            "schedulingPattern": {"pattern": NEVER},
        }
        assert (await http.post("/v1/events", json=document)).status_code == 201
        request = await _fire(http, sink, "sync")
    assert Webhook(secret).verify(request.body, request.headers) == {
        "query": "mutation { sync }",
        "variables": {"limit": 3},
    }


async def test_first_delivery_creates_one_secret_and_no_record_holds_it(
    node: LiveApp, sink: Sink
) -> None:
    """A service without a secret gets one on its first delivery, once, even when several
    deliveries start together; no delivery row or attempt row contains it."""
    engine = node.runtime.store.engine
    async with node.client(SERVICE) as http:
        assert (await http.post("/v1/events", json=_webhook_event("burst", sink))).status_code
        for _ in range(5):
            assert (await http.post(f"/v1/events/{SERVICE}/burst/trigger")).status_code == 202
        await wait_for(lambda: len(sink.received) == 5, seconds=30, what="five signed requests")

        async def recorded() -> bool:
            items = (await http.get("/v1/deliveries")).json()["items"]
            return [item["status"] for item in items] == ["succeeded"] * 5

        await wait_for(recorded, what="five deliveries recorded as succeeded")
        listed = (await http.get(SECRETS)).json()["items"]
    assert len(listed) == 1 and listed[0]["active"]
    assert "secret" not in listed[0]
    async with engine.connect() as connection:
        (secret,) = await active_secrets(
            connection,
            SERVICE,
            node.runtime.clock.now(),
            keyring=keyring_from_settings(node.runtime.settings),
        )
        stored = [
            json.dumps([str(value) for value in row])
            for table in (deliveries, delivery_attempts, signing_secrets)
            for row in await connection.execute(select(table))
        ]
    assert all(_verifies(secret, request) for request in sink.received)
    signatures = [sig.split(",", 1)[1] for r in sink.received for sig in _signatures(r)]
    for text in stored:
        assert secret.removeprefix("whsec_") not in text
        assert not any(signature in text for signature in signatures)
