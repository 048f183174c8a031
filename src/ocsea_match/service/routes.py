"""The HTTP endpoints: authentication, limits, the audit trail and JSON errors around each.

Errors are ``{"error": {"code", "message"}}``: 400 ``bad-input``, 401 ``unauthorized``, 403
``forbidden``, 404 ``not-found``, 413 ``too-large``, 422 (an upload that is not decodable media:
its record, whose ``error`` has the code; a list that cannot be reloaded: ``bad-list``), 429
``rate-limited`` (with ``Retry-After``), 503 ``overloaded``, 500 ``internal-error``.
"""

from __future__ import annotations

import asyncio
import json
import math
import os
import time
from collections.abc import Awaitable, Callable, Mapping
from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from ..formats import ListError
from ..index import IndexFileError
from .banks import EXPORT_FORMATS, BankError
from .decoding import Overloaded
from .keys import Key
from .matcher import QueryError, clean_query
from .metrics import CONTENT_TYPE

if TYPE_CHECKING:
    from .app import Service

__all__ = ["ApiError", "add_chunk", "authorize", "check_size", "encode_json", "error_response", "log_refusal",
           "match_hashes", "refusal", "routes"]


class ApiError(Exception):
    """A refusal: its status, code, message and headers; ``key``: the caller's key when it is known
    (a 403 or 429 names it in the audit log)."""

    def __init__(self, status: int, code: str, message: str, headers: Mapping[str, str] | None = None,
                 key: Key | None = None) -> None:
        super().__init__(message)
        self.status, self.code, self.message, self.headers = status, code, message, dict(headers or {})
        self.key = key


def encode_json(obj: Any) -> bytes:
    """An answer's body: compact UTF-8 JSON."""
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def _json(obj: Any, status: int = 200, headers: Mapping[str, str] | None = None) -> Response:
    return Response(encode_json(obj), status, headers=headers, media_type="application/json")


def error_response(status: int, code: str, message: str, headers: Mapping[str, str] | None = None) -> Response:
    return _json({"error": {"code": code, "message": message}}, status, headers)


def authorize(service: Service, authorization: str, scopes: tuple[str, ...]) -> Key:
    """The caller's key from its ``Authorization`` header: 401 without a known live key, 403
    without one of ``scopes``, 429 past its rate."""
    service.keys.refresh()
    scheme, _, token = authorization.partition(" ")
    key = service.keys.authenticate(token.strip()) if scheme.lower() == "bearer" else None
    if key is None:
        raise ApiError(401, "unauthorized", "a valid key is needed: 'Authorization: Bearer KEY'",
                       {"WWW-Authenticate": "Bearer"})
    if scopes and not key.scopes.intersection(scopes):
        raise ApiError(403, "forbidden", f"the key {key.name!r} lacks the scope {' or '.join(scopes)!r}", key=key)
    allowed, wait = service.rate.take(key.name)
    if not allowed:
        raise ApiError(429, "rate-limited", f"over {service.limits.rate:g} requests/s for this key",
                       {"Retry-After": str(max(1, math.ceil(wait)))}, key=key)
    return key


def refusal(exc: Exception) -> tuple[int, str, str, dict[str, str]]:
    """How an exception out of a handler is answered: ``(status, code, message, headers)``."""
    if isinstance(exc, ApiError):
        return exc.status, exc.code, exc.message, exc.headers
    if isinstance(exc, Overloaded):
        return 503, "overloaded", str(exc), {"Retry-After": "1"}
    return 500, "internal-error", f"{type(exc).__name__}: {exc}", {}


def log_refusal(service: Service, key: Key | None, rid: str, path: str, status: int, code: str,
                exc: Exception | None = None) -> None:
    """The audit line of a refused request, naming its key when it is known (from ``key``, or the
    refusal ``exc`` that carries it: a key without the scope, or over its rate). A log that cannot
    be written changes nothing: the answer is already an error."""
    if key is None and isinstance(exc, ApiError):
        key = exc.key
    try:
        service.log({"event": "refused", "key": key.name if key else None, "request_id": rid,
                     "endpoint": path, "status": status, "code": code})
    except OSError:
        pass


def check_size(declared: str, limit: int) -> None:
    """413 before reading a body whose ``Content-Length`` is over ``limit``."""
    if declared.isdigit() and int(declared) > limit:
        raise ApiError(413, "too-large", f"{declared} bytes, over the limit of {limit}", {"Connection": "close"})


def add_chunk(chunks: list[bytes], size: int, chunk: bytes, limit: int) -> int:
    """Keep one chunk of a streaming body; 413 as soon as the body is over ``limit``."""
    chunks.append(chunk)
    size += len(chunk)
    if size > limit:
        raise ApiError(413, "too-large", f"over the limit of {limit} bytes", {"Connection": "close"})
    return size


async def _read_body(request: Request, limit: int) -> bytes:
    """The body, in memory only; 413 as soon as it is known to be over ``limit`` (before reading it
    when Content-Length says so, else while it streams in)."""
    check_size(request.headers.get("content-length", ""), limit)
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size = add_chunk(chunks, size, chunk, limit)
    return b"".join(chunks)  # one copy (none for a body that came in one chunk)


def _brief(matches: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{"list": m["list"], "entry_id": m["entry_id"], "algorithm": m["algorithm"], "distance": m["distance"]}
            for m in matches]


def _file(record: Mapping[str, Any]) -> dict[str, Any]:
    """What the audit log keeps of a file: digests and PDQ, never content."""
    out = {k: record.get(k) for k in ("size", "md5", "sha1", "sha256", "media_type", "format", "status")
           if record.get(k) is not None}
    pdq = (record.get("hashes") or {}).get("pdq")
    if pdq:
        out["pdq"] = pdq["hex"]
    if record.get("frames"):
        out["frames"] = len(record["frames"])
    if record.get("error"):
        out["error"] = record["error"]["code"]
    return out


Handler = Callable[[Request, "Service", Key, str], Awaitable[Response]]


def routes(service: Service) -> list[Route]:
    """The app's routes, bound to one service."""

    def endpoint(path: str, scopes: tuple[str, ...] | None, fn: Handler, methods: list[str], audit: bool = True) -> Route:
        async def handle(request: Request) -> Response:
            started = time.perf_counter()
            rid = os.urandom(16).hex()  # as uuid4().hex, 32 random hex digits, at a fifth of its cost
            key: Key | None = None
            try:
                key = authorize(service, request.headers.get("authorization", ""), scopes) if scopes is not None else None
                response = await fn(request, service, key, rid)  # type: ignore[arg-type]
            except Exception as exc:  # noqa: BLE001 - answered, logged, and the service goes on
                status, code, message, headers = refusal(exc)
                response = error_response(status, code, message, headers)
                if audit:
                    log_refusal(service, key, rid, path, status, code, exc)
            response.headers["X-Request-Id"] = rid
            service.metrics.observe(path, response.status_code, time.perf_counter() - started)
            return response

        return Route(path, handle, methods=methods)

    return [
        endpoint("/healthz", None, _healthz, ["GET"], audit=False),
        endpoint("/metrics", ("metrics", "admin"), _metrics, ["GET"], audit=False),
        endpoint("/v1/lists", (), _lists, ["GET"]),
        endpoint("/v1/reload", ("admin",), _reload, ["POST"]),
        endpoint("/v1/audit/rotate", ("admin",), _rotate_audit, ["POST"]),
        endpoint("/v1/match", ("match",), _match, ["POST"]),
        endpoint("/v1/match-hashes", ("hashes",), _match_hashes, ["POST"]),
        endpoint("/v1/banks", ("curate",), _banks, ["GET"]),
        endpoint("/v1/banks/{bank}/entries", ("curate",), _bank_add, ["POST"]),
        endpoint("/v1/banks/{bank}/entries/{entry_id:int}", ("curate",), _bank_entry, ["GET", "DELETE"]),
        endpoint("/v1/banks/{bank}/export", ("curate",), _bank_export, ["GET"]),
    ]


# --------------------------------------------------------------------------------------------- handlers


async def _healthz(request: Request, service: Service, key: Key, rid: str) -> Response:
    snapshot = service.matcher.current
    return _json({"status": "ok", "generation": snapshot.generation, "entries": len(snapshot.index)})


async def _metrics(request: Request, service: Service, key: Key, rid: str) -> Response:
    await _to_thread(service.update_gauges)  # reads the bank database: off the event loop
    return Response(service.metrics.render(), media_type=CONTENT_TYPE)


async def _lists(request: Request, service: Service, key: Key, rid: str) -> Response:
    snapshot = service.matcher.current
    banks = await _to_thread(service.banks.summary) if service.banks else []  # off the event loop
    return _json({"lists": snapshot.lists, "banks": banks,
                  "generation": snapshot.generation, "loaded_at": snapshot.loaded_at,
                  "algorithms": list(service.algorithms())})


async def _reload(request: Request, service: Service, key: Key, rid: str) -> Response:
    if not service.matcher.source.reloadable:
        raise ApiError(409, "not-reloadable", "this service was given an index in memory; it has no sources to re-read")
    try:
        old, new = await service.matcher.reload()
    except (ListError, IndexFileError, ValueError, OSError) as exc:
        service.metrics.reloads.labels("failed").inc()
        raise ApiError(422, "bad-list", f"reload failed, the previous index stays in use: {exc}") from None
    service.metrics.reloads.labels("ok").inc()
    await _to_thread(service.update_gauges)
    service.log({"event": "reload", "key": key.name, "request_id": rid, "endpoint": "/v1/reload", "status": 200,
                 "previous": {"generation": old.generation, "lists": old.lists},
                 "lists": new.lists, "generation": new.generation})
    return _json({"generation": new.generation, "previous_generation": old.generation, "lists": new.lists})


async def _rotate_audit(request: Request, service: Service, key: Key, rid: str) -> Response:
    if service.audit is None:
        raise ApiError(409, "no-audit-log", "this service was started without --audit-log")
    archived, ends_with = await _to_thread(service.audit.rotate, {"key": key.name, "request_id": rid,
                                                                  "endpoint": "/v1/audit/rotate", "status": 200})
    return _json({"archived": str(archived.resolve()), "ends_with": ends_with, "log": str(service.audit.path.resolve())})


async def _match(request: Request, service: Service, key: Key, rid: str) -> Response:
    data = await _read_body(request, service.limits.max_upload_bytes)
    pool = await service.decode_pool()
    service.metrics.decoding.inc()
    try:
        record = await pool.hash(data, service.algorithms())
    finally:
        service.metrics.decoding.dec()
    del data
    (found,), snapshot = await service.matcher.match([record])
    record["matches"] = found
    record["request_id"] = rid
    status = 200 if record["status"] == "ok" else 422
    service.metrics.count_matches(found)
    service.log({"event": "match", "key": key.name, "request_id": rid, "endpoint": "/v1/match", "status": status,
                 "file": _file(record), "lists": snapshot.sha256, "generation": snapshot.generation,
                 "matches": _brief(found)})
    return _json(record, status)


async def _match_hashes(request: Request, service: Service, key: Key, rid: str) -> Response:
    doc, headers = await match_hashes(service, key, rid, await _read_body(request, service.limits.max_upload_bytes))
    return Response(encode_json(doc), 200, headers=headers, media_type="application/json")


async def match_hashes(service: Service, key: Key, rid: str, body: bytes) -> tuple[Any, dict[str, str]]:
    """``POST /v1/match-hashes`` after its key check: the answer's JSON and extra headers
    (``ApiError`` for a bad body). Logs the request and counts its matches."""
    try:
        doc = json.loads(body)
    except (ValueError, RecursionError) as exc:
        raise ApiError(400, "bad-input", f"the body is not JSON: {exc}") from None
    single = isinstance(doc, dict)
    items = [doc] if single else doc
    if not isinstance(items, list) or not items:
        raise ApiError(400, "bad-input", "expected a record (a JSON object) or a non-empty array of records")
    if len(items) > service.limits.max_batch:
        raise ApiError(413, "too-large", f"{len(items)} records, over the limit of {service.limits.max_batch}")
    try:
        queries = [clean_query(item) for item in items]
    except QueryError as exc:
        where = "" if single else f"record {next(i for i, r in enumerate(items) if _bad(r))}: "
        raise ApiError(400, "bad-input", f"{where}{exc}") from None
    found, snapshot = await service.matcher.match(queries)
    for matches in found:
        service.metrics.count_matches(matches)
    service.log({"event": "match-hashes", "key": key.name, "request_id": rid, "endpoint": "/v1/match-hashes",
                 "status": 200, "lists": snapshot.sha256, "generation": snapshot.generation,
                 "items": [{**_file(q), "matches": _brief(m)} for q, m in zip(queries, found)]})
    if single:
        return {"matches": found[0], "request_id": rid}, {}
    return [{"matches": m} for m in found], {"X-Request-Id": rid}


def _bad(record: Any) -> bool:
    try:
        clean_query(record)
        return False
    except QueryError:
        return True


def _banks_or_404(service: Service) -> Any:
    if service.banks is None:
        raise ApiError(404, "not-found", "this service has no bank database (ocsea-match serve --banks FILE)")
    return service.banks


async def _banks(request: Request, service: Service, key: Key, rid: str) -> Response:
    return _json({"banks": await _to_thread(_banks_or_404(service).summary)})


async def _bank_add(request: Request, service: Service, key: Key, rid: str) -> Response:
    banks = _banks_or_404(service)
    bank = request.path_params["bank"]
    try:
        doc = json.loads(await _read_body(request, service.limits.max_upload_bytes))
    except (ValueError, RecursionError) as exc:
        raise ApiError(400, "bad-input", f"the body is not JSON: {exc}") from None
    single = isinstance(doc, dict)
    items = [doc] if single else doc
    if not isinstance(items, list) or not items or not all(isinstance(i, dict) for i in items):
        raise ApiError(400, "bad-input", 'expected {"record": ..., "category": ..., "note": ...} or an array of those')
    added = []
    for item in items:
        record = item.get("record", item)
        try:
            entry = await _to_thread(banks.add, bank, record, category=item.get("category"), note=item.get("note"),
                                     who=key.name)
        except BankError as exc:
            raise ApiError(404 if exc.code == "not-found" else 400, exc.code,
                           f"entry {len(added)}: {exc}" if not single else str(exc)) from None
        added.append(entry)
        service.log({"event": "bank-add", "key": key.name, "request_id": rid, "endpoint": "/v1/banks/{bank}/entries",
                     "status": 201, "bank": bank, "entry": entry["id"], "category": entry["category"],
                     "file": _file(record)})
    return _json({"entry": added[0]} if single else {"entries": added}, 201)


async def _bank_entry(request: Request, service: Service, key: Key, rid: str) -> Response:
    banks = _banks_or_404(service)
    bank, entry_id = request.path_params["bank"], request.path_params["entry_id"]
    try:
        if request.method == "DELETE":
            entry = await _to_thread(banks.disable, bank, entry_id, who=key.name, reason=request.query_params.get("reason"))
            service.log({"event": "bank-disable", "key": key.name, "request_id": rid,
                         "endpoint": "/v1/banks/{bank}/entries/{id}", "status": 200, "bank": bank, "entry": entry_id})
        else:
            entry = await _to_thread(banks.get, bank, entry_id)
    except BankError as exc:
        raise ApiError(404, exc.code, str(exc)) from None
    return _json({"entry": entry})


async def _bank_export(request: Request, service: Service, key: Key, rid: str) -> Response:
    banks = _banks_or_404(service)
    bank, fmt = request.path_params["bank"], request.query_params.get("format", "jsonl")
    if fmt not in EXPORT_FORMATS:
        raise ApiError(400, "bad-input", f"format must be one of {', '.join(EXPORT_FORMATS)}")
    try:
        text = await _to_thread(banks.export, bank, fmt)
    except BankError as exc:
        raise ApiError(404 if exc.code == "not-found" else 400, exc.code, str(exc)) from None
    service.log({"event": "bank-export", "key": key.name, "request_id": rid, "endpoint": "/v1/banks/{bank}/export",
                 "status": 200, "bank": bank, "format": fmt})
    media = {"vics": "application/json", "jsonl": "application/x-ndjson", "pdq-csv": "text/csv"}[fmt]
    ext = {"vics": "json", "jsonl": "jsonl", "pdq-csv": "csv"}[fmt]
    return Response(text.encode("utf-8"), media_type=media,
                    headers={"Content-Disposition": f'attachment; filename="{bank}.{ext}"'})


async def _to_thread(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    return await asyncio.to_thread(fn, *args, **kwargs)
