"""The small HTTP/1.1 listener behind the broker's side ports (metrics, fault control).

One request per connection (``Connection: close``): the head is read with a size and time
limit, then ``answer(method, target, head, reader, writer)`` writes the whole response. A
client that sends garbage, stalls or goes away only ends its own connection. ``close()`` cuts
the connections still open, so a stopping broker does not wait on a slow scraper.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable

log = logging.getLogger(__name__)

MAX_HTTP_HEAD = 16 * 1024
HTTP_READ_TIMEOUT = 10.0

#: Writes the response to one request: (method, target, head, reader, writer).
Answer = Callable[[str, str, bytes, asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


class HttpEndpoint:
    """Serves ``answer`` on a port; ``what`` names it in the log ("metrics", "fault control")."""

    def __init__(self, answer: Answer, what: str, path: str) -> None:
        self._answer = answer
        self._what = what
        self._path = path
        self._server: asyncio.base_events.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()

    async def serve(self, host: str, port: int) -> int:
        """Listen on the running loop; returns the bound port (``port`` 0 picks one)."""
        self._server = await asyncio.start_server(self._handle, host, port, reuse_address=True)
        bound = int(self._server.sockets[0].getsockname()[1])
        log.info("%s on http://%s:%d%s", self._what, host, bound, self._path)
        return bound

    async def close(self) -> None:
        if self._server is None:
            return
        self._server.close()
        for writer in list(self._writers):
            writer.close()
        await self._server.wait_closed()
        self._server = None

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._writers.add(writer)
        try:
            head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), HTTP_READ_TIMEOUT)
            if len(head) > MAX_HTTP_HEAD:
                raise ValueError("request head too large")
            method, target, *_ = head.split(b"\r\n", 1)[0].decode("latin-1").split(" ")
            await self._answer(method, target, head, reader, writer)
        except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, asyncio.TimeoutError, ValueError,
                ConnectionError):
            pass
        finally:
            self._writers.discard(writer)
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()
