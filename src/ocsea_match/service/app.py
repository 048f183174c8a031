"""``create_app``: the service's state (index, keys, audit log, banks, limits, decoders) and its
Starlette application.

Starlette rather than FastAPI: the API is ten small routes over JSON and raw bodies; Starlette
gives routing, streaming request bodies and lifespan without FastAPI's pydantic layer, whose
validation we do ourselves anyway (records are checked as the list readers check them).

>>> import asyncio, numpy as np
>>> from ocsea_match import HashIndex
>>> from ocsea_match.service.keys import KeyStore
>>> key = KeyStore.open("keys.json", create=True).add("intake", ["hashes"])
>>> index = HashIndex()
>>> index.add_hashes("known", "pdq", np.zeros((1, 32), np.uint8))
1
>>> app = create_app(index, keys="keys.json", audit_log="audit.jsonl")
>>> import httpx  # uvicorn.run(app, host="127.0.0.1", port=8080) serves it; here: in memory
>>> async def ask():
...     async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://service") as client:
...         return await client.post("/v1/match-hashes", headers={"Authorization": f"Bearer {key}"},
...                                  json={"hashes": {"pdq": {"hex": "00" * 32, "quality": 100}}})
>>> answer = asyncio.run(ask())
>>> answer.status_code, [(m["list"], m["distance"]) for m in answer.json()["matches"]]
(200, [('known', 0)])
>>> asyncio.run(app.state.service.stop())  # what the lifespan does when the server stops

Mounted in a platform's own Starlette app, run its lifespan from the host's (``examples/``).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response

from ..hashers import PDQ_DIALECTS
from .audit import AuditLog
from .banks import BankStore
from .decoding import DecodePool
from .hot import PATH as HOT_PATH, HashLookups, route_path
from .keys import KeyStore
from .limits import Limits, RateLimiter
from .matcher import IndexSource, Matcher
from .metrics import Metrics
from .routes import error_response, routes

__all__ = ["create_app", "Service", "ServiceApp"]


class ServiceApp(Starlette):
    """The service's Starlette app; ``POST /v1/match-hashes`` goes straight to ``hot.HashLookups``
    (the hot route, without Starlette's per-request machinery), everything else through Starlette.
    Middleware added to this app does not see that route."""

    hot: HashLookups

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http" and scope["method"] == "POST" and route_path(scope) == HOT_PATH:
            await self.hot(scope, receive, send)
            return
        await super().__call__(scope, receive, send)


class Service:
    """Everything one app instance holds; ``app.state.service``."""

    def __init__(self, source: IndexSource, *, keys: KeyStore, audit: AuditLog | None, limits: Limits,
                 banks: BankStore | None, mode: str, robust: bool, dialects: bool = True) -> None:
        self.limits, self.keys, self.audit, self.banks = limits, keys, audit, banks
        self.mode, self.robust, self.dialects = mode, robust, dialects
        self.metrics = Metrics()
        self.matcher = Matcher(source, banks, max_batch=64, searchers=limits.searchers,
                               search_threads=limits.search_threads)
        self.matcher.on_batch = self.metrics.batch.observe
        self.rate = RateLimiter(limits.rate, limits.bucket_size)
        self.decoder: DecodePool | None = None
        self._decoder_lock = asyncio.Lock()
        self.update_gauges()

    def algorithms(self) -> tuple[str, ...]:
        """What uploads are hashed with (and hash-only clients should hash with): the lists'
        algorithms, PDQ in its three dialects unless ``dialects=False``."""
        names = self.matcher.current.algorithms
        return names if self.dialects else tuple(a for a in names if a not in PDQ_DIALECTS)

    def update_gauges(self) -> None:
        lists = list(self.matcher.current.lists)
        if self.banks is not None:
            lists += self.banks.summary()
        self.metrics.set_entries(lists)

    async def decode_pool(self) -> DecodePool:
        """The worker processes, started on first use (or at startup, by the lifespan)."""
        if self.decoder is None:
            async with self._decoder_lock:
                if self.decoder is None:
                    pool = DecodePool(workers=self.limits.decode_workers, time_limit=self.limits.decode_time_limit,
                                      queue=self.limits.decode_queue, mode=self.mode, max_pixels=self.limits.max_pixels,
                                      robust="query" if self.robust else None)
                    await asyncio.to_thread(pool.warm)
                    self.decoder = pool
        return self.decoder

    def log(self, entry: dict[str, Any]) -> None:
        if self.audit is not None:
            self.audit.append(entry)

    async def start(self) -> None:
        snapshot = self.matcher.current
        self.log({"event": "start", "lists": snapshot.lists, "generation": snapshot.generation})
        await self.decode_pool()

    async def stop(self) -> None:
        """After the server has answered the requests in flight: end the workers, flush the log."""
        if self.decoder is not None:
            await asyncio.to_thread(self.decoder.close)
        self.matcher.close()
        self.log({"event": "stop"})
        if self.audit is not None:
            self.audit.close()
        if self.banks is not None:
            self.banks.close()


def create_app(
    index_or_lists: Any,
    *,
    keys: str | Path | KeyStore,
    audit_log: str | Path | AuditLog | None = None,
    limits: Limits | None = None,
    banks: str | Path | BankStore | None = None,
    mode: str = "fast",
    robust: bool = False,
    dialects: bool = True,
    substring_search: bool | None = None,
) -> ServiceApp:
    """The service as an ASGI app.

    ``index_or_lists``: a ``HashIndex``, an index folder, a list file or a sequence of them
    (lists and folders are re-read by ``POST /v1/reload``); ``keys``: the keys file (``ocsea-match
    keys add``) or a ``KeyStore``; ``audit_log``: the hash-chained log to append to (None: no log);
    ``banks``: the SQLite file of the hotline's own banks (None: no bank endpoints); ``mode``:
    how uploads are decoded (``fast`` or ``exact``); ``robust``: also query uploads with robust hashes;
    ``dialects=False``: hash uploads with full-resolution PDQ only (faster; lists made with the
    PDQ Python reference or C++ tool may then be missed, see the README's "PDQ dialects");
    ``substring_search``: PDQ lookups through substring tables built at load (``HashIndex(substring_search=True)``:
    same matches, several times the lookups a second on big lists, +64 bytes a PDQ row); None (the
    default): on for indexes of ``matcher.AUTO_SUBSTRING_ROWS`` (4M) PDQ rows or more (an index given in
    memory is switched on too), False: always the scan. The robust probe's tables are built at load
    too when robust lists are loaded or ``robust`` is set (else the first such query would wait for them).

    Raises what the sources raise (``ListError``, ``IndexFileError``), ``KeyFileError`` and
    ``AuditError``, at once, so that a bad start is seen before the first request.
    """
    store = keys if isinstance(keys, KeyStore) else KeyStore.open(keys)
    audit = audit_log if isinstance(audit_log, AuditLog) or audit_log is None else AuditLog(audit_log)
    source = IndexSource.of(index_or_lists)
    if substring_search is not None:
        source.substring_search = substring_search
    source.warm_robust = source.warm_robust or robust
    bank_store = banks if isinstance(banks, BankStore) or banks is None else BankStore(banks)
    service = Service(source, keys=store, audit=audit, limits=limits or Limits(), banks=bank_store, mode=mode,
                      robust=robust, dialects=dialects)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        await service.start()
        try:
            yield
        finally:
            await service.stop()

    async def http_error(request: Request, exc: Exception) -> Response:
        status = getattr(exc, "status_code", 500)
        code = {404: "not-found", 405: "method-not-allowed"}.get(status, "bad-request")
        return error_response(status, code, str(getattr(exc, "detail", "")) or code)

    app = ServiceApp(routes=routes(service), lifespan=lifespan, exception_handlers={HTTPException: http_error})
    app.state.service = service
    app.hot = HashLookups(service)
    return app
