"""No secret ever reaches the logs: signing secrets, JWT secret, keys, bearer tokens."""

from __future__ import annotations

import logging
from pathlib import Path

import aiohttp
import jwt
import pytest
import structlog
from pydantic import SecretStr

from onewatch.delivery.signing_source import SigningSecretSource
from onewatch.delivery.target_policy import DestinationDenied, TargetPolicy, policy_connector
from onewatch.observability.logging import configure_logging
from onewatch.security.secrets_crypto import keyring_from_settings
from onewatch.settings import Settings
from tests.engine.support import Sink, wait_for
from tests.security.conftest import FixedClock, bearer, build_app, served
from tests.support.live import TEST_SECRET, live_app

JWT_SECRET = "Zx81-mQp4TvL0s9RbN2cWjY7hK3dF6gAe5uPiO"


def _configure_json_logs() -> None:
    """JSON logs to the stream ``capfd`` captures now (the test phase's ``sys.stderr``)."""
    configure_logging("json", "DEBUG")
    # Loggers cached during this test would keep this test's captured stream.
    structlog.configure(cache_logger_on_first_use=False)


async def test_no_secret_appears_in_logs(
    tmp_path: Path,
    json_logs: None,
    capfd: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    _configure_json_logs()
    settings = Settings(data_dir=tmp_path, jwt_secret=JWT_SECRET)
    clock = FixedClock()
    app = build_app(settings, clock)
    good = jwt.encode({"sub": "billing", "exp": 4102444800}, JWT_SECRET, algorithm="HS256")
    forged = jwt.encode({"sub": "billing", "exp": 4102444800}, "k" * 40, algorithm="HS256")
    shown: list[str] = []
    path = "/v1/services/billing/signing-secrets"
    async with served(app, log_level="debug") as client:
        first = await client.post(path, headers=bearer(good))
        assert first.status_code == 201, first.text
        shown.append(first.json()["secret"])
        shown.append((await client.post(path + "/rotate", headers=bearer(good))).json()["secret"])
        assert (await client.get(path, headers=bearer(good))).status_code == 200
        assert (await client.get(path, headers=bearer(forged))).status_code == 401

    keyring = keyring_from_settings(settings)
    runtime = app.state.runtime
    source = SigningSecretSource(runtime.store, keyring, clock)
    signed = await source.headers("billing", "dlv_1", clock.now(), b"{}")
    structlog.get_logger("test").info("delivery.signed", headers=sorted(signed))
    connector = policy_connector(TargetPolicy(allow_loopback=False))
    async with aiohttp.ClientSession(connector=connector, trust_env=False) as session:
        with pytest.raises(DestinationDenied) as caught:
            await session.post("http://127.0.0.1:9/", headers=signed, data=b"{}")
    structlog.get_logger("test").warning("delivery.failed", error=str(caught.value))
    await runtime.store.dispose()

    captured = capfd.readouterr()
    logs = captured.out + captured.err + caplog.text
    # The capture works: the routes' own events are there.
    assert "signing_secret.created" in logs
    assert "signing_secret.rotated" in logs
    assert "delivery.failed" in logs
    key_file = (tmp_path / "secrets-key").read_text().strip()
    secrets_seen = [*shown, JWT_SECRET, good, forged, key_file, signed["webhook-signature"]]
    secrets_seen += [entry.split(",", 1)[1] for entry in signed["webhook-signature"].split()]
    for secret in secrets_seen:
        assert secret not in logs
        assert secret.removeprefix("whsec_") not in logs


async def test_a_real_signed_fire_logs_no_secret(
    tmp_path: Path,
    json_logs: None,
    capfd: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The dispatcher's own path, at DEBUG: secrets created, rotated, used to sign a
    delivered request and a refused one; none of them, nor a signature, is logged."""
    caplog.set_level(logging.DEBUG)
    _configure_json_logs()
    sink = await Sink(host="127.0.0.2").start()
    settings = Settings(
        data_dir=tmp_path,
        jwt_secret=SecretStr(TEST_SECRET),
        log_level="DEBUG",
        signing_secret_cache_seconds=0,
        dispatcher_poll_seconds=0.2,
        outbound_denied_networks=["127.0.0.1/32"],
    )
    try:
        async with live_app(tmp_path, settings=settings) as live, live.client("billing") as http:
            path = "/v1/services/billing/signing-secrets"
            shown = [(await http.post(path)).json()["secret"]]
            shown.append((await http.post(f"{path}/rotate")).json()["secret"])
            for key, endpoint in (
                ("ok", f"{sink.base}/hook"),
                ("refused", f"http://localhost:{sink.port}/"),
            ):
                document = {
                    "key": key,
                    "webhook": {"endpoint": endpoint},
                    "schedulingPattern": {"pattern": "2099-01-01T00:00:00Z"},
                }
                assert (await http.post("/v1/events", json=document)).status_code == 201
                await http.post(f"/v1/events/billing/{key}/trigger")

            async def finished() -> bool:
                items = (await http.get("/v1/deliveries")).json()["items"]
                return sorted(item["status"] for item in items) == ["dead", "succeeded"]

            await wait_for(finished, what="one delivery sent and one refused")
    finally:
        await sink.stop()
    captured = capfd.readouterr()
    logs = captured.out + captured.err + caplog.text
    assert "signing_secret.rotated" in logs  # the capture works
    (request,) = sink.received
    signatures = [entry.split(",", 1)[1] for entry in request.headers["webhook-signature"].split()]
    assert len(signatures) == 2
    for secret in [*shown, *signatures, TEST_SECRET]:
        assert secret not in logs
        assert secret.removeprefix("whsec_") not in logs
