"""The ``ocsea-match`` command line (argparse: in the standard library, enough for a few verbs).

    ocsea-match hash PATH... [--algo pdq,phash] [--format jsonl|csv] [-o FILE] [--mode fast]
                             [--displayed] [--jobs N]

Exit codes: 0 every file hashed; 1 finished, but some files failed (their records say why);
2 could not run (bad arguments, output not writable).
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import sys
import time
import warnings
from collections import Counter
from collections.abc import Iterator
from typing import IO, Any

from . import __version__
from .hashers import ALGORITHMS, DEFAULT_ALGORITHMS, MODES, hash_files
from .parallel import default_jobs

__all__ = ["main", "EXIT_OK", "EXIT_FILE_ERRORS", "EXIT_CANNOT_RUN"]

EXIT_OK = 0
EXIT_FILE_ERRORS = 1
EXIT_CANNOT_RUN = 2


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # type: ignore[override]
        self.print_usage(sys.stderr)
        print(f"{self.prog}: error: {message}", file=sys.stderr)
        raise SystemExit(EXIT_CANNOT_RUN)


def _algorithms(text: str) -> tuple[str, ...]:
    names = tuple(n.strip() for n in text.split(",") if n.strip())
    unknown = [n for n in names if n not in ALGORITHMS]
    if not names or unknown:
        raise argparse.ArgumentTypeError(
            f"unknown algorithm(s) {', '.join(unknown) or '(none)'}; choose from {', '.join(ALGORITHMS)}"
        )
    return names


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return value


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="ocsea-match",
        description="Perceptual hashing of pictures for known-material matching.",
        epilog="Exit codes: 0 all files hashed, 1 some files failed, 2 could not run.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    h = sub.add_parser(
        "hash",
        help="hash files and folders (recursively), one record per file",
        description="Hash every file under the given paths; one record per file, streamed.",
        epilog="Exit codes: 0 all files hashed, 1 some files failed, 2 could not run.",
    )
    h.add_argument("paths", nargs="+", metavar="PATH", help="files or folders (walked recursively)")
    h.add_argument(
        "--algo", type=_algorithms, default=DEFAULT_ALGORITHMS, metavar="LIST",
        help=f"comma-separated algorithms: {','.join(ALGORITHMS)} (default: {','.join(DEFAULT_ALGORITHMS)})",
    )
    h.add_argument("--format", choices=("jsonl", "csv"), default="jsonl", help="output format (default: jsonl)")
    h.add_argument("-o", "--output", metavar="FILE", help="write records here instead of standard output")
    h.add_argument(
        "--mode", choices=MODES, default="fast",
        help="fast: JPEGs decoded at reduced scale (default); exact: the reference's pixels",
    )
    h.add_argument(
        "--displayed", action="store_true",
        help="also hash pictures as displayed (EXIF orientation applied) when the tag turns them",
    )
    h.add_argument("--jobs", type=_positive, default=default_jobs(), help="worker processes (default: all cores)")
    h.add_argument("--quiet", action="store_true", help="no summary on standard error")
    return parser


def iter_files(paths: list[str]) -> Iterator[str]:
    """Files under the given paths, folders walked recursively in sorted order.

    Symlinked folders are not followed (no loops); a path that does not exist is passed through
    so that its record says ``not-found``.
    """
    for path in paths:
        if os.path.isdir(path):
            for root, dirs, files in os.walk(path, followlinks=False):
                dirs.sort()
                for name in sorted(files):
                    yield os.path.join(root, name)
        else:
            yield path


_CSV_BASE = ["path", "size", "md5", "sha1", "sha256", "media_type", "format", "status", "error_code", "error_message", "truncated"]


class _CsvWriter:
    def __init__(self, out: IO[str], algorithms: tuple[str, ...]) -> None:
        columns = list(_CSV_BASE)
        for name in algorithms:
            columns.append(name)
            if name == "pdq":
                columns.append("pdq_quality")
        self._columns = columns
        self._writer = csv.writer(out, lineterminator="\n")
        self._writer.writerow(columns)

    def write(self, record: dict[str, Any]) -> None:
        row: dict[str, Any] = {k: record.get(k) for k in _CSV_BASE}
        error = record.get("error") or {}
        row["error_code"] = error.get("code")
        row["error_message"] = error.get("message")
        row["truncated"] = "true" if record.get("truncated") else ""
        for name, value in record.get("hashes", {}).items():
            row[name] = value["hex"]
            if name == "pdq":
                row["pdq_quality"] = value.get("quality")
        self._writer.writerow(["" if row.get(c) is None else row[c] for c in self._columns])


def _cmd_hash(args: argparse.Namespace) -> int:
    try:
        out: IO[str] = open(args.output, "w", encoding="utf-8", newline="") if args.output else sys.stdout
    except OSError as exc:
        print(f"ocsea-match: cannot write {args.output}: {exc.strerror or exc}", file=sys.stderr)
        return EXIT_CANNOT_RUN
    counts: Counter[str] = Counter()
    started = time.monotonic()
    csv_writer = _CsvWriter(out, args.algo) if args.format == "csv" else None
    try:
        records = hash_files(
            iter_files(args.paths), args.algo, jobs=args.jobs, mode=args.mode, displayed=args.displayed
        )
        for record in records:
            counts[record["status"]] += 1
            if csv_writer is not None:
                csv_writer.write(record)
            else:
                out.write(json.dumps(record, ensure_ascii=False) + "\n")
            out.flush()
    except KeyboardInterrupt:
        print("ocsea-match: interrupted", file=sys.stderr)
        return EXIT_CANNOT_RUN
    finally:
        if out is not sys.stdout:
            out.close()
    if not args.quiet:
        total = sum(counts.values())
        elapsed = time.monotonic() - started
        rate = total / elapsed if elapsed > 0 else 0.0
        print(
            f"ocsea-match: {total} files in {elapsed:.1f} s ({rate:.1f}/s): "
            f"{counts['ok']} ok, {counts['skipped']} skipped, {counts['error']} failed",
            file=sys.stderr,
        )
    return EXIT_FILE_ERRORS if counts["error"] else EXIT_OK


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``ocsea-match``; returns the exit code."""
    warnings.simplefilter("ignore", category=Warning)  # decoder warnings go into the records
    args = build_parser().parse_args(argv)
    try:
        if args.command == "hash":
            return _cmd_hash(args)
    except BrokenPipeError:  # e.g. piped into `head`
        return EXIT_OK
    return EXIT_CANNOT_RUN


if __name__ == "__main__":
    sys.exit(main())
