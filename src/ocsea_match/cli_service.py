"""The service's commands, kept apart from ``cli.py``: ``serve``, ``keys``, ``audit``, ``bank``,
and ``match --server URL --key-file F`` (the hash-only flow from the command line).

    ocsea-match serve (--list FILE)... | --index DIR --keys KEYS_FILE [--host 127.0.0.1] [--port 8080]
                      [--audit-log FILE] [--banks FILE] [--max-upload-mb 50] [--workers N] [--rate N]
    ocsea-match keys add NAME --scopes match,hashes,curate,admin,metrics --keys KEYS_FILE
    ocsea-match keys list --keys KEYS_FILE | keys revoke NAME --keys KEYS_FILE
    ocsea-match audit verify FILE [FILE ...]
    ocsea-match bank backup DB OUT | bank check DB

Nothing here imports Starlette or uvicorn until ``serve`` runs.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from typing import Any

__all__ = ["COMMANDS", "add_parsers", "add_match_options", "run", "match_remote"]

COMMANDS = ("serve", "keys", "audit", "bank")
EXIT_OK, EXIT_FAILED, EXIT_CANNOT_RUN = 0, 1, 2


def add_parsers(sub: Any, parser_class: type[argparse.ArgumentParser] = argparse.ArgumentParser) -> None:
    """Register the service's subcommands on ``cli.py``'s subparsers (``parser_class``: its
    parser, which exits 2 on bad arguments)."""
    from .parallel import default_jobs

    s = sub.add_parser(
        "serve", help="run the triage service (HTTP API) for hotlines",
        description="Serve the lists (or a saved index) over HTTP: uploads, the hash-only flow, the hotline's own "
        "banks, keys, an audit log. Binds to 127.0.0.1: expose it through a reverse proxy with TLS.",
        epilog="Exit codes: 0 stopped cleanly (SIGTERM or Ctrl-C), 2 could not start (bad list, index, keys file, "
        "audit log or bank database; the service extra missing).")
    s.add_argument("--list", dest="lists", action="append", default=[], metavar="FILE", help="a hash list (repeatable)")
    s.add_argument("--index", dest="index_dir", metavar="DIR", help="a saved index (ocsea-match index build)")
    s.add_argument("--keys", required=True, metavar="KEYS_FILE", help="the keys file (ocsea-match keys add)")
    s.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    s.add_argument("--port", type=int, default=8080, help="port (default 8080)")
    s.add_argument("--audit-log", metavar="FILE", help="the hash-chained audit log to append to")
    s.add_argument("--banks", metavar="FILE", help="the SQLite file of the hotline's own banks (made if absent)")
    s.add_argument("--max-upload-mb", type=float, default=50.0, help="largest upload, MB (default 50)")
    s.add_argument("--workers", type=int, default=default_jobs(), help="decoding worker processes (default: all cores)")
    s.add_argument("--rate", type=float, default=0.0, help="requests per second per key (default: no limit)")
    s.add_argument("--burst", type=int, default=0, help="requests a key may save up (default: the rate)")
    s.add_argument("--searchers", type=int, default=default_jobs(),
                   help="search threads, each answering its share of the waiting look-ups (default: all cores)")
    s.add_argument("--search-threads", type=int, default=1,
                   help="OpenMP threads a large batch is split over while it is the only search running (default 1)")
    s.add_argument("--file-time-limit", type=int, default=120, help="seconds one upload may take to decode (default 120)")
    s.add_argument("--mode", choices=("fast", "exact"), default="fast", help="how uploads are decoded (default fast)")
    s.add_argument("--no-dialects", action="store_true",
                   help="hash uploads with full-resolution PDQ only (faster; see the README's PDQ dialects)")
    s.add_argument("--strict", action="store_true", help="refuse a list with any bad line")
    s.add_argument("--substring-search", action=argparse.BooleanOptionalAction, default=None,
                   help="PDQ lookups through substring tables built at start: same matches, faster on big lists, "
                        "+64 bytes a PDQ entry (default: on from 4M listed PDQ hashes; README: service)")
    k = sub.add_parser("keys", help="make, list and revoke the service's API keys")
    ks = k.add_subparsers(dest="keys_command", required=True, parser_class=parser_class)
    ka = ks.add_parser("add", help="make a key; it is printed once, as the last line of standard output")
    ka.add_argument("name")
    ka.add_argument("--scopes", required=True, help="comma-separated: match,hashes,curate,admin,metrics")
    ka.add_argument("--keys", required=True, metavar="KEYS_FILE")
    kl = ks.add_parser("list", help="the keys (names, scopes, dates; never the keys)")
    kl.add_argument("--keys", required=True, metavar="KEYS_FILE")
    kr = ks.add_parser("revoke", help="revoke a key (kept in the file, with the time)")
    kr.add_argument("name")
    kr.add_argument("--keys", required=True, metavar="KEYS_FILE")
    a = sub.add_parser("audit", help="check the service's audit log")
    a_sub = a.add_subparsers(dest="audit_command", required=True, parser_class=parser_class)
    av = a_sub.add_parser("verify", help="check the hash chain: exit 0 intact, 1 broken (the first broken line named); "
                          "several files (oldest first): a rotated log and its successors as one chain")
    av.add_argument("file", nargs="+")
    b = sub.add_parser("bank", help="back up or check the hotline's bank database")
    b_sub = b.add_subparsers(dest="bank_command", required=True, parser_class=parser_class)
    bb = b_sub.add_parser("backup", help="copy the bank database consistently (also while the service runs)")
    bb.add_argument("db")
    bb.add_argument("output")
    bc = b_sub.add_parser("check", help="check the bank database: exit 0 sound, 1 not")
    bc.add_argument("db")


def add_match_options(m: argparse.ArgumentParser) -> None:
    """``match --server URL --key-file F``: hash locally, send only the hashes."""
    m.add_argument("--server", metavar="URL", help="match against a running service instead of local lists: only the "
                   "hashes are sent (the hash-only flow), never the files")
    m.add_argument("--key-file", metavar="FILE", help="a file holding the service key (for --server)")


def run(args: argparse.Namespace) -> int:
    """Run one of ``COMMANDS``."""
    if args.command == "serve":
        return _serve(args)
    if args.command == "keys":
        return _keys(args)
    if args.command == "audit":
        from .service.audit import verify_files

        try:
            results = verify_files(args.file)
        except OSError as exc:
            print(f"ocsea-match: {exc.filename}: {exc.strerror or exc}", file=sys.stderr)
            return EXIT_CANNOT_RUN
        for name, result in zip(args.file, results):
            print(f"{name}: {result.message}")
        return EXIT_OK if all(r.ok for r in results) and len(results) == len(args.file) else EXIT_FAILED
    return _bank(args)


def _serve(args: argparse.Namespace) -> int:
    try:
        import uvicorn

        from .service import create_app
    except ImportError:
        from .service import MISSING_EXTRA

        print(f"ocsea-match: {MISSING_EXTRA}", file=sys.stderr)
        return EXIT_CANNOT_RUN
    import sqlite3

    from .cli_records import print_reports
    from .formats import ListError
    from .index import IndexFileError
    from .service.audit import AuditError
    from .service.keys import KeyFileError
    from .service.limits import Limits
    from .service.matcher import IndexSource

    if not args.lists and not args.index_dir:
        print("ocsea-match: serve needs at least one --list or an --index", file=sys.stderr)
        return EXIT_CANNOT_RUN
    limits = Limits(max_upload_bytes=int(args.max_upload_mb * 1024 * 1024), rate=args.rate, burst=args.burst,
                    decode_workers=max(1, args.workers), decode_time_limit=args.file_time_limit,
                    searchers=max(1, args.searchers), search_threads=max(1, args.search_threads))
    source = IndexSource(lists=args.lists, index_dir=args.index_dir, strict=args.strict,
                         substring_search=args.substring_search)
    try:
        app = create_app(source, keys=args.keys, audit_log=args.audit_log, limits=limits, banks=args.banks, mode=args.mode,
                         dialects=not args.no_dialects)
    except (ListError, IndexFileError, KeyFileError, AuditError, sqlite3.Error, ValueError, OSError) as exc:
        print(f"ocsea-match: cannot start: {exc}", file=sys.stderr)
        return EXIT_CANNOT_RUN
    print_reports(source.reports, quiet=False)
    if args.host not in ("127.0.0.1", "localhost", "::1"):
        print(f"ocsea-match: warning: listening on {args.host}; put a reverse proxy with TLS in front (README)",
              file=sys.stderr)
    options: dict[str, Any] = {}
    for name, module in (("http", "httptools"), ("loop", "uvloop")):
        try:
            __import__(module)
            options[name] = module
        except ImportError:
            pass
    if options.get("http") == "httptools":  # an answer's head and body in one send (service/coalesce.py)
        from .service.coalesce import CoalescingHttpToolsProtocol

        options["http"] = CoalescingHttpToolsProtocol
    # proxy_headers off: the service never reads client addresses (uvicorn would rewrite them per request)
    config = uvicorn.Config(app, host=args.host, port=args.port, access_log=False, lifespan="on", server_header=False,
                            proxy_headers=False,
                            timeout_graceful_shutdown=30, log_level="info", **options)
    import signal

    for sig in (signal.SIGINT, signal.SIGTERM):  # uvicorn re-raises the stop signal after its graceful
        signal.signal(sig, lambda *_: None)     # shutdown: a clean stop then exits 0, not -15
    try:
        uvicorn.Server(config).run()
    except SystemExit as exc:  # uvicorn exits 1 when it cannot bind
        return EXIT_CANNOT_RUN if exc.code else EXIT_OK
    return EXIT_OK


def _keys(args: argparse.Namespace) -> int:
    from .service.keys import KeyFileError, KeyStore

    try:
        store = KeyStore.open(args.keys, create=args.keys_command == "add")
        if args.keys_command == "add":
            secret = store.add(args.name, [s.strip() for s in args.scopes.split(",") if s.strip()])
            print(f"ocsea-match: key {args.name!r} added to {args.keys}; it is shown once, here:", file=sys.stderr)
            print(secret)
        elif args.keys_command == "list":
            for key in store.keys:
                state = f"revoked {key.revoked}" if key.revoked else "live"
                print(f"{key.name}\t{','.join(sorted(key.scopes))}\tcreated {key.created}\t{state}")
        elif not store.revoke(args.name):
            print(f"ocsea-match: no live key named {args.name!r}", file=sys.stderr)
            return EXIT_FAILED
        else:
            print(f"ocsea-match: key {args.name!r} revoked", file=sys.stderr)
    except (KeyFileError, ValueError, OSError) as exc:
        print(f"ocsea-match: {exc}", file=sys.stderr)
        return EXIT_CANNOT_RUN
    return EXIT_OK


def _bank(args: argparse.Namespace) -> int:
    import sqlite3

    from .service.banks import backup, check

    try:
        if args.bank_command == "backup":
            count = backup(args.db, args.output)
            print(f"ocsea-match: {count} entries backed up to {args.output}", file=sys.stderr)
            return EXIT_OK
        problems = check(args.db)
    except (OSError, sqlite3.Error) as exc:
        print(f"ocsea-match: {exc}", file=sys.stderr)
        return EXIT_CANNOT_RUN
    for problem in problems:
        print(problem)
    print(f"ocsea-match: {args.db}: " + (f"{len(problems)} problem(s)" if problems else "sound"), file=sys.stderr)
    return EXIT_FAILED if problems else EXIT_OK


class RemoteError(RuntimeError):
    """The service could not be asked (unreachable, refused the key, answered an error)."""


class RemoteIndex:
    """What ``cli_records.write_records`` needs of an index (``match(record)``), asking a running service with
    only the record's hashes (``POST /v1/match-hashes``)."""

    def __init__(self, url: str, key: str) -> None:
        import httpx

        self._http = httpx.Client(base_url=url.rstrip("/"), headers={"Authorization": f"Bearer {key}"}, timeout=60)
        self._error = httpx.HTTPError

    def _call(self, method: str, path: str, **kwargs: Any) -> Any:
        try:
            response = self._http.request(method, path, **kwargs)
        except self._error as exc:
            raise RemoteError(f"cannot reach the service: {exc}") from None
        if response.status_code != 200:
            try:
                error = response.json()["error"]
                detail = f"{error['code']}: {error['message']}"
            except (ValueError, KeyError, TypeError):
                detail = response.text[:200]
            raise RemoteError(f"the service answered {response.status_code} ({detail})")
        return response.json()

    def lists(self) -> dict[str, Any]:
        return self._call("GET", "/v1/lists")

    def match(self, record: dict[str, Any]) -> list[dict[str, Any]]:
        from .service.matcher import QueryError, clean_query

        try:
            query = clean_query(record)
        except QueryError:
            return []  # nothing to match (a file that could not be read)
        return self._call("POST", "/v1/match-hashes", content=json.dumps(query).encode("utf-8"),
                          headers={"Content-Type": "application/json"})["matches"]


def match_remote(args: argparse.Namespace, run_records: Callable[..., int]) -> int:
    """``match --server``: hash with what the service's lists need, ask it, print as ``match`` does."""
    try:
        import httpx  # noqa: F401
    except ImportError:
        from .service import MISSING_EXTRA

        print(f"ocsea-match: {MISSING_EXTRA}", file=sys.stderr)
        return EXIT_CANNOT_RUN
    if args.lists or args.index_dir or not args.key_file:
        print("ocsea-match: --server takes --key-file and no --list or --index", file=sys.stderr)
        return EXIT_CANNOT_RUN
    try:
        with open(args.key_file, encoding="utf-8") as f:
            key = f.read().strip()
    except OSError as exc:
        print(f"ocsea-match: cannot read {args.key_file}: {exc.strerror or exc}", file=sys.stderr)
        return EXIT_CANNOT_RUN
    remote = RemoteIndex(args.server, key)
    try:
        algorithms = tuple(args.algo or remote.lists()["algorithms"])
        if args.no_dialects:
            algorithms = tuple(a for a in algorithms if a not in ("pdq-thumb512", "pdq-nearest512"))
        return run_records(args, algorithms, remote)
    except RemoteError as exc:
        print(f"ocsea-match: {exc}", file=sys.stderr)
        return EXIT_CANNOT_RUN
