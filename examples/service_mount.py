"""Mount the ocsea_match triage service inside a platform's own Starlette app.

    python examples/service_mount.py known_list.csv keys.json [--port 8080] [--audit-log audit.jsonl]

The platform keeps its own routes (here ``/`` and ``/reports/count``); the service answers under
``/ocsea`` (``/ocsea/v1/match-hashes``, ``/ocsea/v1/match`` ...) with its own keys, limits and
audit log. Starlette does not run a mounted app's lifespan by itself, so the host's lifespan runs
the service's (its decoding workers start, and on shutdown its audit log is flushed).
"""

from __future__ import annotations

import argparse
import contextlib
from collections.abc import AsyncIterator

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Mount, Route

from ocsea_match.service import create_app


def build(list_file: str, keys_file: str, audit_log: str | None) -> Starlette:
    ocsea = create_app([list_file], keys=keys_file, audit_log=audit_log)
    reports = {"count": 0}

    async def home(request: Request) -> JSONResponse:
        return JSONResponse({"platform": "example", "known-material check": "/ocsea/v1/match-hashes"})

    async def report_count(request: Request) -> JSONResponse:
        return JSONResponse(reports)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        async with ocsea.router.lifespan_context(ocsea):  # the service's start-up and shutdown
            yield

    return Starlette(routes=[Route("/", home), Route("/reports/count", report_count), Mount("/ocsea", app=ocsea)],
                     lifespan=lifespan)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("list_file")
    parser.add_argument("keys_file")
    parser.add_argument("--port", type=int, default=8080)
    parser.add_argument("--audit-log")
    args = parser.parse_args()
    uvicorn.run(build(args.list_file, args.keys_file, args.audit_log), host="127.0.0.1", port=args.port)


if __name__ == "__main__":
    main()
