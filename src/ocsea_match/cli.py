"""The ``ocsea-match`` command line (argparse: in the standard library, enough for a few verbs).

    ocsea-match hash PATH... [--algo pdq,phash] [--format jsonl|csv] [-o FILE] [--mode fast]
                             [--displayed] [--jobs N]
    ocsea-match match PATH... (--list FILE | --index DIR)... [--format jsonl|csv|table] ...
    ocsea-match index build LIST... -o DIR [--threshold pdq=31]
    ocsea-match scan SOURCE... [--list FILE]... [--index DIR] [--known-good NSRL.db]... -o CASE_DIR
                             [--jobs N] [--resume] [--quiet]
    ocsea-match convert IN OUT --to pdq-csv|vics|jsonl|vpdq|md5sum|sha1sum|sha256sum

Exit codes: 0 every file hashed (and, for match, nothing matched); 1 finished, but some files
failed (their records say why); 2 could not run (bad arguments, unreadable list, output not
writable); 3 (match, scan) finished and at least one file matched a list.
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

from . import __version__, cli_service
from .formats import WRITERS, ListError, LoadReport, dump_list, load_list, read_list_text
from .files import hash_files
from .hashers import ALGORITHMS, DEFAULT_ALGORITHMS, MODES, PDQ_DIALECTS
from .index import HashIndex, IndexFileError
from .parallel import default_jobs

__all__ = ["main", "EXIT_OK", "EXIT_FILE_ERRORS", "EXIT_CANNOT_RUN", "EXIT_MATCHES"]

EXIT_OK = 0
EXIT_FILE_ERRORS = 1
EXIT_CANNOT_RUN = 2
EXIT_MATCHES = 3


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
    _add_hashing_options(h, formats=("jsonl", "csv"), default_algo=DEFAULT_ALGORITHMS)
    m = sub.add_parser(
        "match",
        help="hash files and match them against hash lists or a saved index",
        description="Hash every file under the given paths and match it against the lists; one record per "
        "file with its 'matches'. Load reports go to standard error.",
        epilog="Exit codes: 0 no match, 1 some files failed, 2 could not run, 3 at least one match.",
    )
    _add_hashing_options(m, formats=("jsonl", "csv", "table"), default_algo=None)
    m.add_argument("--list", dest="lists", action="append", default=[], metavar="FILE", help="a hash list (repeatable)")
    m.add_argument("--index", dest="index_dir", metavar="DIR", help="a saved index (ocsea-match index build)")
    m.add_argument("--strict", action="store_true", help="refuse a list with any bad line")
    m.add_argument(
        "--no-dialects", action="store_true",
        help="query PDQ at full resolution only (default: also in the PDQ Python reference's and C++ tool's "
        "dialects, so that pictures listed by those tools are not missed)",
    )
    ix = sub.add_parser("index", help="build and save an index of hash lists")
    ix_sub = ix.add_subparsers(dest="index_command", required=True, parser_class=_Parser)
    b = ix_sub.add_parser("build", help="index hash lists into a folder", description="Index hash lists into DIR.")
    b.add_argument("lists", nargs="+", metavar="LIST", help="hash list files")
    b.add_argument("-o", "--output", required=True, metavar="DIR", help="the index folder to write")
    b.add_argument(
        "--threshold", action="append", default=[], type=_threshold, metavar="ALGO=N",
        help="match threshold (inclusive Hamming distance), e.g. pdq=31 (repeatable)",
    )
    b.add_argument("--strict", action="store_true", help="refuse a list with any bad line")
    sc = sub.add_parser(
        "scan", help="scan a seized folder into a case folder: every file hashed, matched and accounted for",
        description="Walk the sources (symlinks never followed, ZIP archives descended into), hash every file "
        "(MD5, SHA-1, SHA-256; pictures also perceptually), match against the lists, and write CASE_DIR: "
        "records.jsonl, matches.csv, summary.json, case.vics.json (VICS 2.0), hashdeep.txt, provenance.json, "
        "SHA256SUMS. Nothing is written inside the sources.",
        epilog="Exit codes: 0 finished, no file failed, nothing matched; 1 finished, some files failed; "
        "2 could not run (or interrupted: --resume finishes it); 3 finished and at least one file matched.",
    )
    sc.add_argument("sources", nargs="+", metavar="SOURCE", help="folders or files (a mounted image's root)")
    sc.add_argument("--list", dest="lists", action="append", default=[], metavar="FILE", help="a hash list (repeatable)")
    sc.add_argument("--index", dest="index_dir", metavar="DIR", help="a saved index (ocsea-match index build)")
    sc.add_argument("--known-good", dest="known_good", action="append", default=[], metavar="FILE",
                    help="a known-good list (NSRL RDSv3 SQLite, hashdeep, md5sum ...): those files skip perceptual "
                    "hashing (repeatable)")
    sc.add_argument("-o", "--output", required=True, metavar="CASE_DIR", help="the case folder to write")
    sc.add_argument("--algo", type=_algorithms, default=None, metavar="LIST",
                    help=f"comma-separated algorithms: {','.join(ALGORITHMS)} (default: pdq and what the lists carry)")
    sc.add_argument("--mode", choices=MODES, default="fast", help="fast (default) or exact decoding")
    sc.add_argument("--no-dialects", action="store_true", help="query PDQ at full resolution only")
    sc.add_argument("--jobs", type=_positive, default=default_jobs(), help="worker processes (default: all cores)")
    sc.add_argument("--resume", action="store_true", help="finish an interrupted scan in CASE_DIR")
    sc.add_argument("--robust", action="store_true",
                    help="also query every picture with robust hashes (crops, borders, banners, mirroring, rotations)")
    sc.add_argument("--quiet", action="store_true", help="no progress and no summary on standard error")
    cv = sub.add_parser("convert", help="convert a hash list to another format",
                        description="Read a hash list (any format load_list reads) and write it in another.")
    cv.add_argument("input", metavar="IN", help="the list to read")
    cv.add_argument("output", metavar="OUT", help="the file to write")
    cv.add_argument("--to", required=True, choices=sorted(WRITERS), help="the format to write")
    cv.add_argument("--strict", action="store_true", help="refuse a list with any bad line")
    cli_service.add_match_options(m)  # the service's commands (issue 13) live in cli_service.py
    cli_service.add_parsers(sub)
    return parser


def _add_hashing_options(p: argparse.ArgumentParser, formats: tuple[str, ...], default_algo: tuple[str, ...] | None) -> None:
    p.add_argument("paths", nargs="+", metavar="PATH", help="files or folders (walked recursively)")
    default_text = ",".join(default_algo) if default_algo else "the algorithms the lists carry"
    p.add_argument(
        "--algo", type=_algorithms, default=default_algo, metavar="LIST",
        help=f"comma-separated algorithms: {','.join(ALGORITHMS)} (default: {default_text})",
    )
    p.add_argument(
        "--format", choices=formats, default=None,
        help="output format (default: jsonl" + (", or table on a terminal)" if "table" in formats else ")"),
    )
    p.add_argument("-o", "--output", metavar="FILE", help="write records here instead of standard output")
    p.add_argument(
        "--mode", choices=MODES, default="fast",
        help="fast: JPEGs decoded at reduced scale (default); exact: the reference's pixels",
    )
    p.add_argument(
        "--displayed", action="store_true",
        help="also hash pictures as displayed (EXIF orientation applied) when the tag turns them",
    )
    p.add_argument("--jobs", type=_positive, default=default_jobs(), help="worker processes (default: all cores)")
    p.add_argument("--quiet", action="store_true", help="no summary on standard error")
    p.add_argument(
        "--robust", action="store_true",
        help="robust matching (crops, borders, banners, mirroring, small rotations): 'hash' adds the hashes to "
        "list and to query with, 'match' the hashes to query with (plain PDQ is kept and still matched)",
    )


def _threshold(text: str) -> tuple[str, int]:
    name, _, value = text.partition("=")
    if name not in ALGORITHMS or not value.isdigit():
        raise argparse.ArgumentTypeError(f"expected ALGO=N with ALGO one of {', '.join(ALGORITHMS)}")
    return name, int(value)


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
    def __init__(self, out: IO[str], algorithms: tuple[str, ...], with_matches: bool = False) -> None:
        columns = list(_CSV_BASE)
        for name in algorithms:
            columns.append(name)
            if name == "pdq":
                columns.append("pdq_quality")
        if with_matches:
            columns += ["match_count", "matches"]
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
        if "matches" in record:
            row["match_count"] = len(record["matches"])
            row["matches"] = ";".join(
                f"{m['list']}:{m['entry_id']}:{m['algorithm']}:{m['distance']}" for m in record["matches"]
            )
        self._writer.writerow(["" if row.get(c) is None else row[c] for c in self._columns])


class _TableWriter:
    """One line per file for a person at a terminal: status, then the matches."""

    def __init__(self, out: IO[str]) -> None:
        self._out = out

    def write(self, record: dict[str, Any]) -> None:
        if record.get("matches"):
            found = ", ".join(
                f"{m['list']}/{m['entry_id']} ({m['algorithm']} {m['distance']}"
                + (f", category {m['category']}" if m.get("category") else "") + ")"
                for m in record["matches"]
            )
            line = f"MATCH  {record['path']}  {found}"
        elif record["status"] == "ok":
            line = f"-      {record['path']}"
        else:
            line = f"{record['status'].upper():6} {record['path']}  {(record.get('error') or {}).get('code', '')}"
        self._out.write(line + "\n")


def _run(args: argparse.Namespace, algorithms: tuple[str, ...], index: HashIndex | None) -> int:
    """Hash (and match) every file, streaming records to the output; returns the exit code."""
    try:
        out: IO[str] = open(args.output, "w", encoding="utf-8", newline="") if args.output else sys.stdout
    except OSError as exc:
        print(f"ocsea-match: cannot write {args.output}: {exc.strerror or exc}", file=sys.stderr)
        return EXIT_CANNOT_RUN
    fmt = args.format or ("table" if index is not None and out is sys.stdout and sys.stdout.isatty() else "jsonl")
    writer: Any
    if fmt == "csv":
        writer = _CsvWriter(out, algorithms, with_matches=index is not None)
    elif fmt == "table":
        writer = _TableWriter(out)
    else:
        writer = None
    counts: Counter[str] = Counter()
    matched = 0
    started = time.monotonic()
    try:
        robust = ("query" if index is not None else "both") if args.robust else None
        records = hash_files(
            iter_files(args.paths), algorithms, jobs=args.jobs, mode=args.mode, displayed=args.displayed, robust=robust
        )
        for record in records:
            counts[record["status"]] += 1
            if index is not None:
                record["matches"] = index.match(record)
                matched += bool(record["matches"])
            if writer is not None:
                writer.write(record)
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


def _cmd_hash(args: argparse.Namespace) -> int:
    return _run(args, args.algo, None)


def _print_reports(reports: list[LoadReport], quiet: bool) -> None:
    for report in reports:
        if quiet and not report.problems:
            continue
        print(
            f"ocsea-match: list {report.list_name!r} ({report.format}): {report.loaded} entries, "
            f"{len(report.problems)} lines not used",
            file=sys.stderr,
        )
        for number, reason in report.problems[:5]:
            print(f"  line {number}: {reason}", file=sys.stderr)
        if len(report.problems) > 5:
            print(f"  ... and {len(report.problems) - 5} more", file=sys.stderr)
        for note in report.notes:
            print(f"  note: {note}", file=sys.stderr)


def _cmd_match(args: argparse.Namespace) -> int:
    if args.server:
        return cli_service.match_remote(args, _run)
    if not args.lists and not args.index_dir:
        print("ocsea-match: match needs at least one --list or an --index", file=sys.stderr)
        return EXIT_CANNOT_RUN
    try:
        index = HashIndex.load(args.index_dir) if args.index_dir else HashIndex()
        reports = []
        for path in args.lists:
            hash_list, report = load_list(path, strict=args.strict)
            index.add_list(hash_list, report)
            reports.append(report)
    except (ListError, IndexFileError, ValueError) as exc:
        print(f"ocsea-match: {exc}", file=sys.stderr)
        return EXIT_CANNOT_RUN
    _print_reports(reports, args.quiet)
    algorithms = args.algo or tuple(a for a in ALGORITHMS if a in index.algorithms) or DEFAULT_ALGORITHMS
    if "pdq" in algorithms and not args.no_dialects:
        algorithms = tuple(dict.fromkeys(algorithms + PDQ_DIALECTS))
    return _run(args, algorithms, index)


def _cmd_index(args: argparse.Namespace) -> int:
    try:
        index, reports = HashIndex.from_lists(args.lists, strict=args.strict, thresholds=dict(args.threshold))
        _print_reports(reports, quiet=False)
        index.save(args.output)
    except (ListError, ValueError) as exc:
        print(f"ocsea-match: {exc}", file=sys.stderr)
        return EXIT_CANNOT_RUN
    except OSError as exc:
        print(f"ocsea-match: cannot write {args.output}: {exc.strerror or exc}", file=sys.stderr)
        return EXIT_CANNOT_RUN
    print(f"ocsea-match: index of {len(index)} entries from {len(reports)} list(s) written to {args.output}", file=sys.stderr)
    return EXIT_OK


def _cmd_convert(args: argparse.Namespace) -> int:
    try:
        hash_list, report = load_list(args.input, strict=args.strict)
        text = dump_list(hash_list, args.to)
    except (ListError, ValueError) as exc:
        print(f"ocsea-match: {exc}", file=sys.stderr)
        return EXIT_CANNOT_RUN
    _print_reports([report], quiet=False)
    try:
        with open(args.output, "x", encoding="utf-8", newline="") as f:  # never overwrite a file
            f.write(text)
    except OSError as exc:
        print(f"ocsea-match: cannot write {args.output}: {exc.strerror or exc}", file=sys.stderr)
        return EXIT_CANNOT_RUN
    written, _ = read_list_text(text, hash_list.name, format=None if text.strip() else "pdq-lines")
    left_out = len(hash_list.entries) - len(written.entries)
    print(f"ocsea-match: {len(written.entries)} entries written to {args.output}"
          + (f"; {left_out} that {args.to} cannot carry were left out" if left_out else ""), file=sys.stderr)
    return EXIT_OK


def _cmd_scan(args: argparse.Namespace, argv: list[str] | None) -> int:
    from .scanning import ScanError, run_scan

    command = ["ocsea-match", *(argv if argv is not None else sys.argv[1:])]
    try:
        summary = run_scan(
            args.sources, args.output, lists=args.lists, index_dir=args.index_dir, known_good=args.known_good,
            algorithms=args.algo, jobs=args.jobs, mode=args.mode, dialects=not args.no_dialects, resume=args.resume,
            robust=args.robust,
            progress="none" if args.quiet else "auto", command_line=command,
            on_list_report=lambda report: _print_reports([report], args.quiet),
        )
    except ScanError as exc:
        print(f"ocsea-match: {exc}", file=sys.stderr)
        return EXIT_CANNOT_RUN
    except KeyboardInterrupt:
        print(f"ocsea-match: interrupted; 'ocsea-match scan ... -o {args.output} --resume' finishes the job",
              file=sys.stderr)
        return EXIT_CANNOT_RUN
    status = summary["by_status"]
    if not args.quiet:
        print(
            f"ocsea-match: {summary['files']} files ({summary['walked']} on disk, {summary['archive_members']} in "
            f"archives): {status.get('ok', 0)} ok, {status.get('skipped', 0)} skipped, {status.get('error', 0)} "
            f"failed; {summary['files_matched']} matched. Case folder: {args.output}",
            file=sys.stderr,
        )
    if summary["files_matched"]:
        return EXIT_MATCHES
    return EXIT_FILE_ERRORS if status.get("error") else EXIT_OK


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``ocsea-match``; returns the exit code."""
    warnings.simplefilter("ignore", category=Warning)  # decoder warnings go into the records
    args = build_parser().parse_args(argv)
    try:
        if args.command in cli_service.COMMANDS:  # serve, keys, audit, bank (issue 13)
            return cli_service.run(args)
        if args.command == "hash":
            return _cmd_hash(args)
        if args.command == "match":
            return _cmd_match(args)
        if args.command == "index":
            return _cmd_index(args)
        if args.command == "convert":
            return _cmd_convert(args)
        if args.command == "scan":
            return _cmd_scan(args, argv)
    except BrokenPipeError:  # e.g. piped into `head`
        return EXIT_OK
    return EXIT_CANNOT_RUN


if __name__ == "__main__":
    sys.exit(main())
