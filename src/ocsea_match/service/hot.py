"""The service's hot route, ``POST /v1/match-hashes``, as a plain ASGI handler.

A hash-only look-up is the request a platform sends all day, and at 1M listed hashes its search
takes well under a millisecond, so what is around it counts: Starlette's middleware, routing,
``Request`` and ``Response`` objects cost about a third of the service's own CPU per look-up
(measured with ``benchmarks/service_bench.py`` and an in-memory ASGI loop). ``HashLookups``
answers the route straight from the ASGI messages with the same steps as every other route
(``routes.py``): the key check (401/403/429), the body read with its size limit (413), the
same answer and errors, ``X-Request-Id``, the audit line, the metrics. The app
(``app.ServiceApp``) hands it ``POST`` requests to that path and everything else to Starlette.

>>> import asyncio, numpy as np
>>> from ocsea_match import HashIndex
>>> from ocsea_match.service import create_app
>>> from ocsea_match.service.keys import KeyStore
>>> key = KeyStore.open("keys.json", create=True).add("intake", ["hashes"])
>>> index = HashIndex()
>>> index.add_hashes("known", "pdq", np.zeros((1, 32), np.uint8))
1
>>> app = create_app(index, keys="keys.json")
>>> sent = []
>>> async def receive():
...     return {"type": "http.request", "body": b'{"hashes": {"pdq": {"hex": "' + b"00" * 32 + b'"}}}'}
>>> async def send(message):
...     sent.append(message)
>>> scope = {"type": "http", "method": "POST", "path": "/v1/match-hashes", "headers": [
...     (b"authorization", f"Bearer {key}".encode())]}
>>> asyncio.run(app(scope, receive, send))
>>> sent[0]["status"], sent[1]["body"][:40]
(200, b'{"matches":[{"list":"known","entry_id":"')
>>> asyncio.run(app.state.service.stop())
"""

from __future__ import annotations

import os
import time
from collections.abc import Awaitable, Callable, MutableMapping
from typing import TYPE_CHECKING, Any

from starlette.requests import ClientDisconnect

from .keys import Key
from .routes import add_chunk, authorize, check_size, encode_json, log_refusal, match_hashes, refusal

if TYPE_CHECKING:
    from .app import Service

__all__ = ["HashLookups", "PATH"]

PATH = "/v1/match-hashes"
_SCOPES = ("hashes",)
_JSON = (b"content-type", b"application/json")

Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]


def route_path(scope: MutableMapping[str, Any]) -> str:
    """The request's path inside the app (without the prefix it is mounted under)."""
    path, root = scope["path"], scope.get("root_path", "")
    if root and path.startswith(root) and path[len(root):len(root) + 1] == "/":
        return path[len(root):]
    return path


class HashLookups:
    """``POST /v1/match-hashes`` of one service, answered from the ASGI messages."""

    def __init__(self, service: Service) -> None:
        self.service = service

    async def __call__(self, scope: MutableMapping[str, Any], receive: Receive, send: Send) -> None:
        service = self.service
        started = time.perf_counter()
        rid = os.urandom(16).hex()  # as uuid4().hex, 32 random hex digits, at a fifth of its cost
        authorization = declared = ""
        for name, value in scope["headers"]:
            name = name.lower()
            if name == b"authorization":
                authorization = value.decode("latin-1")
            elif name == b"content-length":
                declared = value.decode("latin-1")
        key: Key | None = None
        try:
            key = authorize(service, authorization, _SCOPES)
            doc, headers = await match_hashes(service, key, rid, await _body(receive, declared,
                                                                              service.limits.max_upload_bytes))
            status = 200
        except Exception as exc:  # noqa: BLE001 - answered, logged, and the service goes on (as routes.py)
            status, code, message, headers = refusal(exc)
            doc = {"error": {"code": code, "message": message}}
            log_refusal(service, key, rid, PATH, status, code, exc)
        payload = encode_json(doc)
        raw = [(b"content-length", str(len(payload)).encode()), _JSON]
        raw += [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in headers.items() if k.lower() != "x-request-id"]
        raw.append((b"x-request-id", rid.encode()))
        service.metrics.observe(PATH, status, time.perf_counter() - started)
        await send({"type": "http.response.start", "status": status, "headers": raw})
        await send({"type": "http.response.body", "body": payload})


async def _body(receive: Receive, declared: str, limit: int) -> bytes:
    """The body, in memory only; 413 from ``Content-Length`` before reading, or while it streams in."""
    check_size(declared, limit)
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise ClientDisconnect()
        size = add_chunk(chunks, size, message.get("body", b""), limit)
        if not message.get("more_body", False):
            return b"".join(chunks)
