"""No secret ever reaches the logs: signing secrets, JWT secret, keys, bearer tokens."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import aiohttp
import jwt
import pytest
import structlog

from onewatch.delivery.target_policy import DestinationDenied, TargetPolicy, policy_connector
from onewatch.observability.logging import configure_logging
from onewatch.security.secrets_crypto import keyring_from_settings
from onewatch.settings import Settings
from onewatch.store.signing_secrets import SigningSecretSource
from tests.security.conftest import FixedClock, bearer, build_app, served

JWT_SECRET = "Zx81-mQp4TvL0s9RbN2cWjY7hK3dF6gAe5uPiO"


@pytest.fixture
def json_logs() -> Iterator[None]:
    """Put structlog back to its defaults after the test configured it."""
    try:
        yield
    finally:
        structlog.reset_defaults()


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
    source = SigningSecretSource(runtime.engine, keyring, clock)
    signed = await source.headers("billing", "dlv_1", clock.now(), b"{}")
    structlog.get_logger("test").info("delivery.signed", headers=sorted(signed))
    connector = policy_connector(TargetPolicy(allow_loopback=False))
    async with aiohttp.ClientSession(connector=connector, trust_env=False) as session:
        with pytest.raises(DestinationDenied) as caught:
            await session.post("http://127.0.0.1:9/", headers=signed, data=b"{}")
    structlog.get_logger("test").warning("delivery.failed", error=str(caught.value))
    await runtime.engine.dispose()

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
