"""moto in server mode on a free port of 127.0.0.1: AWS (Lambda, SQS) over real HTTP.

The tests reach it with the real aiobotocore client, as a node reaches AWS; nothing in
Onewatch knows it is not AWS. ``moto_endpoint`` starts one per test with dummy
credentials in the environment (``AWS_ENDPOINT_URL`` pointing at it, ``AWS_REGION``),
Lambda set up without Docker (an invoke answers with its own payload, or with a result
queued through ``/moto-api/static/lambda-simple/response``), and every resource
dropped afterwards.
"""

from __future__ import annotations

import json
import logging
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest

#: The dummy account moto files everything under, and the region the tests use.
ACCOUNT_ID = "123456789012"
REGION = "us-east-1"
DUMMY_CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_REGION": REGION,
    "AWS_DEFAULT_REGION": REGION,
}
#: Variables that would point botocore somewhere else than the test's server.
UNSET = ("AWS_PROFILE", "AWS_CONFIG_FILE", "AWS_SHARED_CREDENTIALS_FILE")


class MotoServer:
    """One ``ThreadedMotoServer``; port 0 lets the system pick a free one."""

    def __init__(self, host: str = "127.0.0.1") -> None:
        self.host = host
        self._server: Any = None
        self._port: int | None = None

    @property
    def endpoint_url(self) -> str:
        assert self._port is not None, "start() the server first"
        return f"http://{self.host}:{self._port}"

    def start(self) -> None:
        from moto.server import ThreadedMotoServer

        logging.getLogger("werkzeug").setLevel(logging.WARNING)  # one line per request
        self._server = ThreadedMotoServer(ip_address=self.host, port=self._port or 0, verbose=False)
        self._server.start()
        self._port = self._server.get_host_and_port()[1]
        self._post("/moto-api/config", {"lambda": {"use_docker": False}})

    def stop(self) -> None:
        if self._server is not None:
            self._server.stop()
            self._server = None

    def reset(self) -> None:
        """Forget every queue, function and message (moto's state is per process)."""
        self._post("/moto-api/reset", {})

    def _post(self, path: str, document: dict[str, Any]) -> None:
        request = urllib.request.Request(
            self.endpoint_url + path,
            data=json.dumps(document).encode(),
            headers={"Content-Type": "application/json"},
            method="POST",
        )
        with urllib.request.urlopen(request, timeout=30) as answer:
            answer.read()


@pytest.fixture
def moto_endpoint(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """The URL of a moto server of this test's own, with the environment set to reach
    it as AWS (dummy credentials, ``AWS_ENDPOINT_URL``, ``AWS_REGION``)."""
    server = MotoServer(host="127.0.0.1")
    server.start()
    for name in UNSET:
        monkeypatch.delenv(name, raising=False)
    for name, value in {**DUMMY_CREDENTIALS, "AWS_ENDPOINT_URL": server.endpoint_url}.items():
        monkeypatch.setenv(name, value)
    try:
        yield server.endpoint_url
    finally:
        server.reset()
        server.stop()
