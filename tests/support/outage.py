"""A database that goes away and comes back: a TCP proxy in front of the test PostgreSQL.

`OutageProxy` listens on 127.0.0.1 and forwards every connection to the real server, until
`cut()`: live connections are dropped and new ones are closed as soon as they arrive (what a
worker sees when the database host reboots or the network partitions). `restore()` lets
connections through again. The product talks to it through an ordinary URL, so nothing in
the product knows it is being tested.

    async with OutageProxy() as proxy:
        db = await Database.open(proxy.url(TEST_DATABASE_URL), schema=schema)
        proxy.cut()       # every statement now fails with a connection error
        proxy.restore()   # and succeeds again (the pool reconnects)
"""

from __future__ import annotations

import asyncio
import contextlib
from types import TracebackType

from sqlalchemy.engine import make_url


class OutageProxy:
    """TCP forwarder to `host:port` that can be cut and restored; see the module docstring."""

    def __init__(self, host: str = "127.0.0.1", port: int = 5432) -> None:
        self.target = (host, port)
        self.down = False
        self._server: asyncio.AbstractServer | None = None
        self._writers: set[asyncio.StreamWriter] = set()
        self.port = 0

    async def __aenter__(self) -> OutageProxy:
        self._server = await asyncio.start_server(self._accept, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(
        self, et: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.cut()
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()

    def url(self, database_url: str) -> str:
        """`database_url` with its host and port replaced by the proxy's."""
        return (
            make_url(database_url)
            .set(host="127.0.0.1", port=self.port)
            .render_as_string(hide_password=False)
        )

    def cut(self) -> None:
        """Drop every live connection and refuse new ones until `restore()`."""
        self.down = True
        for writer in list(self._writers):
            writer.transport.abort()
        self._writers.clear()

    def restore(self) -> None:
        self.down = False

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if self.down:
            writer.transport.abort()
            return
        try:
            up_reader, up_writer = await asyncio.open_connection(*self.target)
        except OSError:
            writer.transport.abort()
            return
        self._writers |= {writer, up_writer}

        async def pump(src: asyncio.StreamReader, dst: asyncio.StreamWriter) -> None:
            with contextlib.suppress(Exception):
                while data := await src.read(65536):
                    if self.down:
                        break
                    dst.write(data)
                    await dst.drain()
            dst.transport.abort()

        await asyncio.gather(pump(reader, up_writer), pump(up_reader, writer))
        self._writers -= {writer, up_writer}
