"""moto in server mode on 127.0.0.1, for the AWS parts (SQS, Lambda) of the tests.

The real aiobotocore client reaches it over HTTP (``AWS_ENDPOINT_URL``), with dummy
credentials. moto keeps its state in this process, not in the server, so ``stop`` leaves
it and ``reset`` (``POST /moto-api/reset``) forgets it: a restart empty is ``reset``,
``stop``, ``start``, on the same port.
"""

from __future__ import annotations

import json
import logging
import urllib.request

from moto.server import ThreadedMotoServer


class MotoServer:
    """One ``ThreadedMotoServer`` on a free port of ``host``, started and stopped here."""

    def __init__(self, host: str = "127.0.0.1") -> None:
        self.host = host
        #: 0 until the first start picks a free port; later starts reuse it.
        self.port = 0
        self._server: ThreadedMotoServer | None = None

    @property
    def endpoint_url(self) -> str:
        assert self.port, "start() first"
        return f"http://{self.host}:{self.port}"

    def start(self) -> None:
        # One line per request on stderr otherwise.
        logging.getLogger("werkzeug").setLevel(logging.WARNING)
        server = ThreadedMotoServer(ip_address=self.host, port=self.port, verbose=False)
        server.start()
        self.port = server.get_host_and_port()[1]
        self._server = server

    def stop(self) -> None:
        """Stop listening (clients then get connection refused); the state stays."""
        if self._server is None:
            return
        self._server.stop()
        # ``stop`` ends serving but keeps the socket bound: close it, so the port is free
        # for the next start (and connecting to it is refused meanwhile).
        wsgi = self._server._server
        if wsgi is not None:
            wsgi.server_close()
        self._server = None

    def reset(self) -> None:
        """Forget every queue, message and function (``POST /moto-api/reset``)."""
        self._post("/moto-api/reset", {})

    def restart_empty(self) -> None:
        """What a server restarted without its data looks like to a client."""
        self.reset()
        self.stop()
        self.start()

    def configure(self, settings: dict[str, object]) -> None:
        """``POST /moto-api/config`` (e.g. ``{"lambda": {"use_docker": False}}``)."""
        self._post("/moto-api/config", settings)

    def _post(self, path: str, body: dict[str, object]) -> None:
        request = urllib.request.Request(
            self.endpoint_url + path,
            data=json.dumps(body).encode(),
            headers={"Content-Type": "application/json"},
            method="POST",
        )
        with urllib.request.urlopen(request, timeout=10) as response:
            response.read()
