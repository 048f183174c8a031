"""What ``ocsea-match hash`` and ``match`` print: the records (JSON lines, CSV or a table) with the
run's summary and exit code, and the lists' load reports (also ``serve``'s, in ``cli_service``).

>>> from ocsea_match.formats import LoadReport
>>> import contextlib, io
>>> err = io.StringIO()
>>> with contextlib.redirect_stderr(err):
...     print_reports([LoadReport("known", "pdq-csv", loaded=2)], quiet=False)
>>> print(err.getvalue().strip())
ocsea-match: list 'known' (pdq-csv): 2 entries, no problem
"""

from __future__ import annotations

import argparse
import sys
import time
from collections import Counter
from typing import IO, TYPE_CHECKING, Any

from ._wording import plural
from .output import CsvWriter, TableWriter
from .parallel import WorkersCannotStart
from .paths import json_line
from .scanning.tree import hash_tree

if TYPE_CHECKING:  # types only: the command line's worker processes import no list format nor index
    from .formats import LoadReport
    from .index import HashIndex

__all__ = ["EXIT_CANNOT_RUN", "EXIT_FILE_ERRORS", "EXIT_MATCHES", "EXIT_OK", "print_reports", "write_records"]

EXIT_OK = 0
EXIT_FILE_ERRORS = 1
EXIT_CANNOT_RUN = 2
EXIT_MATCHES = 3


def write_records(args: argparse.Namespace, algorithms: tuple[str, ...], index: HashIndex | None) -> int:
    """Hash (and match) every file, streaming records to the output; returns the exit code."""
    try:
        out: IO[str] = open(args.output, "w", encoding="utf-8", newline="") if args.output else sys.stdout
    except OSError as exc:
        print(f"ocsea-match: cannot write {args.output}: {exc.strerror or exc}", file=sys.stderr)
        return EXIT_CANNOT_RUN
    fmt = args.format or ("table" if index is not None and out is sys.stdout and sys.stdout.isatty() else "jsonl")
    writer: Any
    if fmt == "csv":
        writer = CsvWriter(out, algorithms, with_matches=index is not None)
    elif fmt == "table":
        writer = TableWriter(out)
    else:
        writer = None
    counts: Counter[str] = Counter()
    matched = 0
    started = time.monotonic()
    try:
        robust = ("query" if index is not None else "both") if args.robust or args.anchored else None
        records = hash_tree(
            args.paths, algorithms, jobs=args.jobs, mode=args.mode, displayed=args.displayed, robust=robust,
            anchored=args.anchored, every_seconds=args.every, executor=getattr(args, "executor", None),
        )
        if getattr(index, "sharded", False):  # a sharded index (cluster.ShardSet): matched 256 records a round
            records = _matched_in_batches(records, index)
        for record in records:
            counts[record["status"]] += 1
            if index is not None:
                if "matches" not in record:
                    record["matches"] = index.match(record)
                matched += bool(record["matches"])
            try:
                if writer is not None:
                    writer.write(record)
                else:
                    out.write(json_line(record) + "\n")
                out.flush()
            except BrokenPipeError:
                raise
            except OSError as exc:  # disk full, a file system gone read-only ...
                print(f"ocsea-match: cannot write {args.output or 'standard output'}: {exc.strerror or exc}",
                      file=sys.stderr)
                return EXIT_CANNOT_RUN
    except KeyboardInterrupt:
        print("ocsea-match: interrupted", file=sys.stderr)
        return EXIT_CANNOT_RUN
    except WorkersCannotStart as exc:
        print(f"ocsea-match: {exc}", file=sys.stderr)
        return EXIT_CANNOT_RUN
    finally:
        if out is not sys.stdout:
            try:
                out.close()
            except OSError:
                pass  # already reported
    if not args.quiet:
        total = sum(counts.values())
        elapsed = time.monotonic() - started
        rate = total / elapsed if elapsed > 0 else 0.0
        summary = (
            f"ocsea-match: {total} files in {elapsed:.1f} s ({rate:.1f}/s): "
            f"{counts['ok']} ok, {counts['skipped']} skipped, {counts['error']} failed"
        )
        if index is not None:
            summary += f"; {matched} matched"
        print(summary, file=sys.stderr)
    if matched:
        return EXIT_MATCHES
    return EXIT_FILE_ERRORS if counts["error"] else EXIT_OK


def print_reports(reports: list[LoadReport], quiet: bool) -> None:
    """Every load report on standard error: every line not used and every entry not matched, each
    with its number or id and the reason (all of them: a report is what an examiner checks)."""
    for report in reports:
        if quiet and not report.problems and not report.unmatched:
            continue
        lines = len({number for number, _ in report.problems})
        problems = "no problem" if not lines else f"problems on {plural(lines, report.unit)}" + (
            f" ({len(report.problems)} problems)" if len(report.problems) > lines else "")
        print(f"ocsea-match: list {report.list_name!r} ({report.format}): {plural(report.loaded, 'entry')}, {problems}",
              file=sys.stderr)
        for number, reason in report.problems:
            print(f"  {report.unit} {number}: {reason}", file=sys.stderr)
        for entry_id, reason in report.unmatched:
            print(f"  entry {entry_id}: {reason}", file=sys.stderr)
        for note in report.notes:
            print(f"  note: {note}", file=sys.stderr)


def _matched_in_batches(records: Any, index: Any, size: int = 256) -> Any:
    """The records, in order, each with its matches, found ``size`` records at a time (one round
    to a sharded index's shards per batch, not one per record)."""
    batch: list[dict[str, Any]] = []
    for record in records:
        batch.append(record)
        if len(batch) == size:
            yield from _with_matches(batch, index)
            batch = []
    yield from _with_matches(batch, index)


def _with_matches(batch: list[dict[str, Any]], index: Any) -> list[dict[str, Any]]:
    for record, found in zip(batch, index.match_many(batch) if batch else []):
        record["matches"] = found
    return batch
