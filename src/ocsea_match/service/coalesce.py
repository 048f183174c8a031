"""uvicorn's httptools protocol with an answer's writes sent as one: ``ocsea-match serve``'s HTTP.

uvicorn writes an answer's status line and headers when the app sends ``http.response.start``
and its body when it sends ``http.response.body``: two ``write`` calls, and uvloop sends each at
once, so two ``send`` system calls (and two wake-ups of the client) per answer. At 1M listed PDQ
hashes those two calls were ~45% of the event loop's time per hash-only look-up (py-spy). Here
the connection's transport keeps what is written during one turn of the event loop and sends it
with one ``write`` at the end of that turn (``loop.call_soon``), before the loop waits for
anything; closing the connection sends what is kept first. Nothing else changes: the same
uvicorn protocol, flow control and limits. The app itself (``create_app``) does not depend on
this; mounted elsewhere it runs under whatever server the host uses.

>>> import asyncio
>>> class Sink:  # a stand-in for a socket transport: counts its writes
...     def __init__(self):
...         self.writes, self.closed = [], False
...     def write(self, data):
...         self.writes.append(data)
...     def is_closing(self):
...         return self.closed
...     def close(self):
...         self.closed = True
>>> async def answer():
...     sink = Sink()
...     transport = CoalescingTransport(sink, asyncio.get_running_loop())
...     transport.write(b"HTTP/1.1 200 OK\\r\\ncontent-length: 2\\r\\n\\r\\n")
...     transport.write(b"{}")
...     before = len(sink.writes)
...     await asyncio.sleep(0)  # the loop's turn ends
...     return before, sink.writes
>>> asyncio.run(answer())
(0, [b'HTTP/1.1 200 OK\\r\\ncontent-length: 2\\r\\n\\r\\n{}'])
"""

from __future__ import annotations

import asyncio
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

__all__ = ["CoalescingTransport", "CoalescingHttpToolsProtocol"]


class CoalescingTransport:
    """A transport whose writes within one event-loop turn go out as one ``write`` of the
    transport it wraps; everything else is that transport's."""

    def __init__(self, transport: Any, loop: asyncio.AbstractEventLoop) -> None:
        self._transport = transport
        self._loop = loop
        self._kept: list[bytes] = []

    def write(self, data: bytes) -> None:
        if not data:
            return
        if not self._kept:
            self._loop.call_soon(self.flush)
        self._kept.append(data)

    def writelines(self, chunks: Any) -> None:
        for chunk in chunks:
            self.write(chunk)

    def flush(self) -> None:
        """Send what is kept now (also called at the end of the turn in which it was written)."""
        if not self._kept:
            return
        data = self._kept[0] if len(self._kept) == 1 else b"".join(self._kept)
        self._kept = []
        if not self._transport.is_closing():
            self._transport.write(data)

    def get_write_buffer_size(self) -> int:
        return self._transport.get_write_buffer_size() + sum(map(len, self._kept))

    def close(self) -> None:
        self.flush()
        self._transport.close()

    def write_eof(self) -> None:
        self.flush()
        self._transport.write_eof()

    def abort(self) -> None:
        self._kept = []
        self._transport.abort()

    def __getattr__(self, name: str) -> Any:  # get_extra_info, is_closing, pause_reading, set_protocol ...
        return getattr(self._transport, name)


class CoalescingHttpToolsProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol over a ``CoalescingTransport`` (``uvicorn.Config(http=...)``)."""

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(CoalescingTransport(transport, self.loop))  # type: ignore[arg-type]
