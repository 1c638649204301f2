"""uvicorn for ``onewatch serve``: the port bound before any role starts, exit 0 on a stop.

Two departures from ``uvicorn.run``, both about what a process supervisor sees:

- uvicorn starts the app's lifespan (which starts the scheduler and the dispatcher)
  before it binds the port, so a node whose port is taken would fire due events and
  claim deliveries in the moment before it gave up. ``bind_listening_socket`` binds
  first, and uvicorn serves on that socket.
- After a clean shutdown on SIGTERM or SIGINT, uvicorn raises the signal again, so the
  process ends "killed by SIGTERM" (status -15/143) although nothing went wrong. Here a
  stop that was asked for and done ends with status 0.
"""

from __future__ import annotations

import logging
import signal
import socket
from collections.abc import Iterator
from contextlib import contextmanager

import uvicorn

from onewatch.errors import ConfigurationError

_logger = logging.getLogger("uvicorn.error")
_STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


def bind_listening_socket(host: str, port: int) -> socket.socket:
    """A TCP socket bound to ``host:port``; ``ConfigurationError`` when that is refused."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    listener = socket.socket(family, socket.SOCK_STREAM)
    # As uvicorn does: a restart may rebind while old connections sit in TIME_WAIT.
    # Linux still refuses a port another socket is listening on.
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        listener.bind((host, port))
    except OSError as exc:
        listener.close()
        reason = exc.strerror or str(exc)
        raise ConfigurationError(
            f"cannot listen on {host}:{port}: {reason}; nothing was started "
            "(free the port or choose another with --port)"
        ) from None
    return listener


def _url(listener: socket.socket) -> str:
    host, port = listener.getsockname()[:2]
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


class OnewatchServer(uvicorn.Server):
    """uvicorn's server on a socket bound beforehand, ending quietly after a stop signal."""

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets)
        # uvicorn says where it listens only for sockets it bound itself.
        if self.started and sockets:
            _logger.info("Uvicorn running on %s (Press CTRL+C to quit)", _url(sockets[0]))

    @contextmanager
    def capture_signals(self) -> Iterator[None]:
        """uvicorn's handlers for the stop signals, without raising the signal again."""
        originals = {signum: signal.signal(signum, self.handle_exit) for signum in _STOP_SIGNALS}
        try:
            yield
        finally:
            for signum, handler in originals.items():
                signal.signal(signum, handler)
