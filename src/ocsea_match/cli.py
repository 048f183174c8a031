"""The ``ocsea-match`` command line (argparse: in the standard library, enough for a few verbs).

    ocsea-match hash PATH... [--algo pdq,phash] [--format jsonl|csv] [-o FILE] [--mode fast]
                             [--displayed] [--jobs N]
    ocsea-match match PATH... (--list FILE | --index DIR)... [--format jsonl|csv|table] ...
    ocsea-match index build LIST... -o DIR [--threshold pdq=31]
    ocsea-match scan SOURCE... [--list FILE]... [--index DIR] [--known-good NSRL.db]... -o CASE_DIR
                             [--jobs N] [--resume] [--quiet]
    ocsea-match convert IN OUT --to pdq-csv|vics|jsonl|vpdq|md5sum|sha1sum|sha256sum
    ocsea-match report CASE_DIR [-o report.html] [--thumbnails]

Exit codes: 0 every file hashed (and, for match, nothing matched); 1 finished, but some files
failed (their records say why); 2 could not run (bad arguments, unreadable list, output not
writable); 3 (match, scan) finished and at least one file matched a list.
"""

from __future__ import annotations

import argparse
import sys
import warnings
from typing import TYPE_CHECKING

from . import __version__, cli_cluster, cli_service
from ._wording import plural
from .cli_records import EXIT_CANNOT_RUN, EXIT_FILE_ERRORS, EXIT_MATCHES, EXIT_OK, print_reports, write_records
from .hashers import ALGORITHMS, DEFAULT_ALGORITHMS, MODES, PDQ_DIALECTS, VIDEO_ALGORITHMS
from .parallel import default_jobs, start_early
from .thresholds import DEFAULT_PDQ_QUALITY_FLOOR, check_quality_floor, check_thresholds

if TYPE_CHECKING:
    from .index import HashIndex

# The list formats, the index, the scan and the report are imported by the commands that use them:
# a console script's worker processes import this module (multiprocessing re-imports the main
# script in the fork server), and hashing needs none of them (tests/test_pool_imports.py).

__all__ = ["main", "EXIT_OK", "EXIT_FILE_ERRORS", "EXIT_CANNOT_RUN", "EXIT_MATCHES"]



class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # type: ignore[override]
        self.print_usage(sys.stderr)
        print(f"{self.prog}: error: {message}", file=sys.stderr)
        raise SystemExit(EXIT_CANNOT_RUN)


def _algorithms(text: str) -> tuple[str, ...]:
    names = tuple(n.strip() for n in text.split(",") if n.strip())
    unknown = [n for n in names if n not in ALGORITHMS and n not in VIDEO_ALGORITHMS]
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


def list_writers() -> list[str]:
    """The formats ``convert --to`` writes (``formats.WRITERS``; imported here, when the parser is built).

    >>> "vics" in list_writers()
    True
    """
    from .formats import WRITERS

    return sorted(WRITERS)


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="ocsea-match",
        description="Perceptual hashing of pictures for known-material matching.",
        epilog="Exit codes: 0 finished, no file failed (and, for match and scan, nothing matched); 1 finished, "
        "some files failed (their records say why); 2 could not run (bad arguments, a list or index that cannot be "
        "used, output not writable; scan: also interrupted); 3 (match, scan) finished and at least one file "
        "matched a list.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    h = sub.add_parser(
        "hash",
        help="hash files and folders (recursively), one record per file",
        description="Hash every file under the given paths; one record per file, streamed.",
        epilog="Exit codes: 0 every file hashed or skipped with a reason (not a picture, empty, a link ...); "
        "1 some files failed; 2 could not run.",
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
    _add_floor_option(m)
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
        help="match threshold (inclusive Hamming distance), e.g. pdq=31 (repeatable); pdq 0-63, "
        "phash/dhash/ahash/whash 0-15 (a quarter of the bits or more cannot mean the same picture)",
    )
    b.add_argument("--strict", action="store_true", help="refuse a list with any bad line")
    _add_floor_option(b, saved=True)
    cli_cluster.add_index_options(b)
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
    _add_anchored_option(sc)
    cli_cluster.add_options(sc)
    sc.add_argument("--quiet", action="store_true", help="no progress and no summary on standard error")
    _add_floor_option(sc)
    rp = sub.add_parser("report", help="render a case folder as one self-contained HTML report",
                        description="Render CASE_DIR (made by scan) as one offline HTML file: provenance, the SHA256SUMS "
                        "check, counts, timeline, matches, errors, method. Without -o, an existing CASE_DIR/report.html "
                        "is compared with a fresh rendering, not overwritten.",
                        epilog="Exit codes: 0 written (or reproduced) and the case verified; 1 the case folder failed "
                        "its SHA256SUMS check, or the existing report differs; 2 could not run.")
    rp.add_argument("case_dir", metavar="CASE_DIR", help="the case folder")
    rp.add_argument("-o", "--output", metavar="FILE", help="where to write (default CASE_DIR/report.html)")
    rp.add_argument("--thumbnails", action="store_true", help="embed small thumbnails of matched pictures (off by default)")
    cv = sub.add_parser("convert", help="convert a hash list to another format",
                        description="Read a hash list (any format load_list reads) and write it in another.")
    cv.add_argument("input", metavar="IN", help="the list to read")
    cv.add_argument("output", metavar="OUT", help="the file to write")
    cv.add_argument("--to", required=True, choices=sorted(list_writers()), help="the format to write")
    cv.add_argument("--strict", action="store_true", help="refuse a list with any bad line")
    cli_service.add_match_options(m)  # the service's commands (issue 13) live in cli_service.py
    cli_service.add_parsers(sub, _Parser)
    return parser


def _add_floor_option(p: argparse.ArgumentParser, saved: bool = False) -> None:
    p.add_argument(
        "--pdq-quality-floor", type=_floor, default=None, metavar="Q",
        help=f"PDQ hashes (listed or queried) with a quality under Q (0-100) are not matched (default "
        f"{DEFAULT_PDQ_QUALITY_FLOOR}" + ("; saved with the index)" if saved else ", or the --index's own)"),
    )


def _floor(text: str) -> int:
    try:
        return check_quality_floor(int(text))
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


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
        help="fast: JPEGs decoded at reduced scale, TMK from the luma plane (default); exact: the reference's pixels",
    )
    p.add_argument(
        "--displayed", action="store_true",
        help="also hash pictures as displayed (EXIF orientation applied) when the tag turns them",
    )
    p.add_argument("--jobs", type=_positive, default=default_jobs(), help="worker processes (default: all cores)")
    cli_cluster.add_options(p)
    p.add_argument("--every", type=float, default=1.0, metavar="SECONDS",
                   help="video frames: one per SECONDS of media time (default 1, vPDQ's; list videos at 0.25)")
    p.add_argument("--quiet", action="store_true", help="no summary on standard error")
    p.add_argument(
        "--robust", action="store_true",
        help="robust matching (crops, borders, banners, mirroring, small rotations): 'hash' adds the hashes to "
        "list and to query with, 'match' the hashes to query with (plain PDQ is kept and still matched)",
    )
    _add_anchored_option(p)


def _add_anchored_option(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--anchored", action="store_true",
        help="with --robust (implied): also hash squares anchored on the picture's content, for crops anywhere "
        "and screenshots; ~3x the hashing time and ~30x the robust look-up time (README, 'Robust matching')",
    )


def _threshold(text: str) -> tuple[str, int]:
    name, _, value = text.partition("=")
    if not value.strip().isdigit():
        raise argparse.ArgumentTypeError(f"expected ALGO=N (a whole number), got {text!r}")
    try:
        return next(iter(check_thresholds({name.strip(): int(value)}).items()))
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _cmd_hash(args: argparse.Namespace) -> int:
    return write_records(args, args.algo, None)


def _refused(exc: Exception) -> int:
    """A list, index or setting that cannot be used: its report (when any), the reason, exit 2."""
    from .formats import EmptyListError, LoadReport

    report = getattr(exc, "report", None)
    if isinstance(report, LoadReport) and (report.problems or report.unmatched or isinstance(exc, EmptyListError)):
        print_reports([report], quiet=False)
    print(f"ocsea-match: {exc}", file=sys.stderr)
    return EXIT_CANNOT_RUN


def _warn_idle(index: HashIndex, algorithms: tuple[str, ...]) -> None:
    """Say so when the lists carry hashes that the pictures are not hashed with."""
    note = index.idle_note(algorithms)
    if note:
        print(f"ocsea-match: warning: {note}", file=sys.stderr)


def _cmd_match(args: argparse.Namespace) -> int:
    if args.server:
        return cli_service.match_remote(args, write_records)
    if not args.lists and not args.index_dir:
        print("ocsea-match: match needs at least one --list or an --index", file=sys.stderr)
        return EXIT_CANNOT_RUN
    if getattr(args, "executor", None) is None:  # the workers' imports run beside the index and lists' loading
        start_early(args.jobs)
    from .formats import ListError, LoadReport
    from .index import IndexFileError

    reports: list[LoadReport] = []
    try:
        from .cluster.sharded_search import open_any_index  # a sharded index: searched shard by shard

        index = open_any_index(args.index_dir, pdq_quality_floor=args.pdq_quality_floor,
                               client=getattr(args, "executor", None))
        for path in args.lists:
            reports.append(index.add_list_file(path, strict=args.strict))
    except (ListError, IndexFileError, ValueError) as exc:
        print_reports(reports, args.quiet)  # the lists read before the one refused
        return _refused(exc)
    print_reports(reports, args.quiet)
    algorithms = args.algo or tuple(a for a in (*ALGORITHMS, *VIDEO_ALGORITHMS) if a in index.algorithms) or DEFAULT_ALGORITHMS
    if "pdq" in algorithms and not args.no_dialects:
        algorithms = tuple(dict.fromkeys(algorithms + PDQ_DIALECTS))
    _warn_idle(index, algorithms)
    return write_records(args, algorithms, index)


def _cmd_index(args: argparse.Namespace) -> int:
    if args.shards > 1:  # for a cluster's workers (ocsea_match.cluster)
        return cli_cluster.build_shards(args, print_reports)
    from .formats import ListError
    from .index import HashIndex

    floor = DEFAULT_PDQ_QUALITY_FLOOR if args.pdq_quality_floor is None else args.pdq_quality_floor
    try:
        index, reports = HashIndex.from_lists(args.lists, strict=args.strict, thresholds=dict(args.threshold),
                                              pdq_quality_floor=floor)
    except (ListError, ValueError) as exc:
        return _refused(exc)
    print_reports(reports, quiet=False)
    try:
        index.save(args.output)
    except OSError as exc:
        print(f"ocsea-match: cannot write {args.output}: {exc.strerror or exc}", file=sys.stderr)
        return EXIT_CANNOT_RUN
    print(f"ocsea-match: index of {plural(len(index), 'entry')} from {plural(len(reports), 'list')} written to "
          f"{args.output} (PDQ quality floor {index.pdq_quality_floor})", file=sys.stderr)
    return EXIT_OK


def _cmd_convert(args: argparse.Namespace) -> int:
    """Read, convert, check what was carried by reading the text back; write only when something is."""
    from .formats import ListError, convert_list, load_list

    try:
        hash_list, report = load_list(args.input, strict=args.strict)
        print_reports([report], quiet=False)
        text, conversion = convert_list(hash_list, args.to)
    except (ListError, ValueError) as exc:
        return _refused(exc)
    try:
        with open(args.output, "x", encoding="utf-8", newline="") as f:  # never overwrite a file
            f.write(text)
    except OSError as exc:
        print(f"ocsea-match: cannot write {args.output}: {exc.strerror or exc}", file=sys.stderr)
        return EXIT_CANNOT_RUN
    lines = conversion.lines()
    print(f"ocsea-match: {lines[0]} to {args.output}", file=sys.stderr)
    for line in lines[1:]:
        print(f"  {line}", file=sys.stderr)
    return EXIT_OK


def _cmd_scan(args: argparse.Namespace, argv: list[str] | None) -> int:
    from .scanning import ScanError, run_scan

    command = ["ocsea-match", *(argv if argv is not None else sys.argv[1:])]
    try:
        summary = run_scan(
            args.sources, args.output, lists=args.lists, index_dir=args.index_dir, known_good=args.known_good,
            algorithms=args.algo, jobs=args.jobs, mode=args.mode, dialects=not args.no_dialects, resume=args.resume,
            robust=args.robust or args.anchored, anchored=args.anchored, pdq_quality_floor=args.pdq_quality_floor,
            progress="none" if args.quiet else "auto", command_line=command,
            on_list_report=lambda report: print_reports([report], args.quiet), executor=args.executor,
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
    warnings.simplefilter("ignore", category=Warning)  # decoder warnings go into the records; workers inherit this
    reconfigure = getattr(sys.stdout, "reconfigure", None)
    if reconfigure is not None:  # records are UTF-8 whatever the locale says
        reconfigure(encoding="utf-8", errors="backslashreplace")
    args = build_parser().parse_args(argv)
    try:
        if args.command in cli_service.COMMANDS:  # serve, keys, audit, bank (issue 13)
            return cli_service.run(args)
        if args.command == "hash":
            return cli_cluster.run(args, lambda: _cmd_hash(args))
        if args.command == "match":
            return cli_cluster.run(args, lambda: _cmd_match(args))
        if args.command == "index":
            return _cmd_index(args)
        if args.command == "convert":
            return _cmd_convert(args)
        if args.command == "scan":
            return cli_cluster.run(args, lambda: _cmd_scan(args, argv))
        if args.command == "report":
            from .report import report_command

            code, message = report_command(args.case_dir, args.output, args.thumbnails)
            print(f"ocsea-match: {message}", file=sys.stderr)
            return code
    except BrokenPipeError:  # e.g. piped into `head`
        return EXIT_OK
    return EXIT_CANNOT_RUN


if __name__ == "__main__":
    sys.exit(main())
