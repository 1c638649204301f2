"""A TCP proxy on 127.0.0.1 that a test can cut and restore: "the database is down".

The app talks to PostgreSQL through it over real sockets. ``cut()`` resets every open
connection (a request in flight loses it) and closes the listening socket, so new ones
are refused; ``cut(refuse=False)`` keeps listening and resets each new connection at
once, counting them in ``turned_away`` (how a test sees a node keep trying).
``restore()`` forwards again on the same port. This makes a PostgreSQL outage without
stopping the shared server other tests use.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import struct
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from sqlalchemy.engine import make_url

_CHUNK = 65536


class TcpProxy:
    """Forwards 127.0.0.1:``port`` to ``target_host``:``target_port`` until cut."""

    def __init__(self, target_host: str, target_port: int) -> None:
        self.target_host = target_host
        self.target_port = target_port
        self.port = 0
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()
        self._pipes: set[asyncio.Task[None]] = set()
        self._down = False
        #: Connections reset on arrival while cut with ``refuse=False``.
        self.turned_away = 0

    async def start(self) -> None:
        """Listen (on a free port the first time, on the same port afterwards)."""
        self._down = False
        if self._server is not None:
            return
        self._server = await asyncio.start_server(
            self._accept, "127.0.0.1", self.port, reuse_address=True
        )
        self.port = self._server.sockets[0].getsockname()[1]

    def url_for(self, plain_url: str) -> str:
        """``plain_url`` pointed at this proxy instead of the real server."""
        url = make_url(plain_url).set(host="127.0.0.1", port=self.port)
        return url.render_as_string(hide_password=False)

    async def cut(self, *, refuse: bool = True) -> None:
        """Reset the open connections (an RST, as a crash gives) and refuse new ones
        (``refuse``), or accept and reset each new one."""
        self._down = True
        for writer in list(self._writers):
            _reset(writer)
        self._writers.clear()
        if refuse and self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None

    async def restore(self) -> None:
        await self.start()

    async def close(self) -> None:
        await self.cut()
        for pipe in list(self._pipes):
            pipe.cancel()
        await asyncio.gather(*self._pipes, return_exceptions=True)

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if self._down:
            self.turned_away += 1
            _reset(writer)
            return
        try:
            upstream_reader, upstream_writer = await asyncio.open_connection(
                self.target_host, self.target_port
            )
        except OSError:
            _reset(writer)
            return
        self._writers.update((writer, upstream_writer))
        for source, sink in ((reader, upstream_writer), (upstream_reader, writer)):
            pipe = asyncio.create_task(self._pipe(source, sink))
            self._pipes.add(pipe)
            pipe.add_done_callback(self._pipes.discard)

    async def _pipe(self, source: asyncio.StreamReader, sink: asyncio.StreamWriter) -> None:
        try:
            while chunk := await source.read(_CHUNK):
                sink.write(chunk)
                await sink.drain()
        except OSError:
            pass
        finally:
            self._writers.discard(sink)
            _reset(sink)


def _reset(writer: asyncio.StreamWriter) -> None:
    """Close with RST (linger 0) rather than FIN: the peer sees the connection die."""
    raw = writer.get_extra_info("socket")
    if raw is not None:
        with contextlib.suppress(OSError):
            raw.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    writer.close()


@asynccontextmanager
async def tcp_proxy(plain_url: str) -> AsyncIterator[TcpProxy]:
    """A started proxy in front of ``plain_url``'s server; closed when the block ends."""
    url = make_url(plain_url)
    proxy = TcpProxy(url.host or "127.0.0.1", url.port or 5432)
    await proxy.start()
    try:
        yield proxy
    finally:
        await proxy.close()
