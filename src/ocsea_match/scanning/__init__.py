"""Forensic scan: every file under the sources accounted for, matched, resumable, with case outputs.

``scan(...)`` is the generator for scripts (one record per file, archive members included);
``run_scan(...)`` is what ``ocsea-match scan`` runs: it journals the records into a case folder,
resumes an interrupted job, shows progress, and writes the outputs the forensic suites import.

>>> import hashlib, tempfile
>>> from PIL import Image
>>> from ocsea_match.formats import HashList, ListEntry
>>> with tempfile.TemporaryDirectory() as evidence, tempfile.TemporaryDirectory() as cases:
...     Image.new("RGB", (64, 48), "white").save(f"{evidence}/a.png")
...     md5 = hashlib.md5(open(f"{evidence}/a.png", "rb").read()).hexdigest()
...     known = HashList("known_list", [ListEntry("k1", "md5", md5)])
...     for record in scan([evidence], lists=[known]):
...         if record.get("matches"):
...             print(os.path.basename(record["path"]), record["matches"][0]["entry_id"])
...     summary = run_scan([evidence], f"{cases}/case-0042", progress="none")
...     print(summary["files"], sorted(os.listdir(f"{cases}/case-0042"))[:3])
a.png k1
1 ['SHA256SUMS', 'case.vics.json', 'hashdeep.txt']
"""

from __future__ import annotations

import datetime as _dt
import functools
import json
import os
import platform
import socket
import sys
import tempfile
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..decode import DEFAULT_MAX_PIXELS
from ..errors import SKIP_CODES, MediaError, as_media_error
from ..evidence import open_evidence
from ..files import DEFAULT_FILE_TIME_LIMIT, file_sha256, hash_bytes, hash_file
from ..hashers import DEFAULT_ALGORITHMS, PDQ_DIALECTS, check_algorithms
from ..options import DEFAULT_MAX_BYTES, HashOptions, ScanSettings
from ..parallel import TimeLimited, process_map, start_early, usable_jobs
from ..paths import path_hex, printable
from .archives import ArchiveLimits, archive_outcome, examine_zip
from .case import PROVENANCE, RECORDS, ScanError, case_writes, check_case_folder, write_outputs
from .journal import Journal
from .known_good import KnownGood
from .progress import Progress
from .tree import crashed_record, entry_record
from .walk import Entry, display_path, walk

if TYPE_CHECKING:
    from ..formats import HashList, LoadReport
    from ..index import HashIndex

# The list formats and the index are imported where the calling process uses them, not here: this
# package is what a scan's worker processes import (``_scan_entry``), and they need neither
# (tests/test_pool_imports.py).

__all__ = ["ArchiveLimits", "KnownGood", "ScanError", "ScanSettings", "run_scan", "scan"]

#: Extensions and the formats their bytes may have; any other format is a name/type mismatch.
_EXPECTED = {
    "jpg": {"JPEG"}, "jpeg": {"JPEG"}, "jpe": {"JPEG"}, "jfif": {"JPEG"}, "png": {"PNG"}, "gif": {"GIF"},
    "webp": {"WEBP"}, "bmp": {"BMP"}, "tif": {"TIFF"}, "tiff": {"TIFF"}, "heic": {"HEIF"}, "heif": {"HEIF"},
    "avif": {"AVIF"}, "ico": {"ICO"}, "psd": {"PSD"}, "jp2": {"JPEG2000"},
    "mp4": {"MP4", "MOV"}, "m4v": {"MP4", "MOV"}, "mov": {"MOV", "MP4"}, "3gp": {"3GP", "MP4"}, "avi": {"AVI"},
    "mkv": {"MATROSKA"}, "webm": {"MATROSKA"}, "flv": {"FLV"}, "wmv": {"ASF"}, "asf": {"ASF"},
    "mpg": {"MPEG"}, "mpeg": {"MPEG"}, "zip": {"ZIP"},
}
#: Extensions of documents that are not media or archives: media bytes under them are hidden.
_NOT_MEDIA = {"txt", "log", "csv", "json", "xml", "html", "htm", "md", "ini", "cfg", "dat", "tmp", "dll", "exe",
              "sys", "bin", "db", "pdf", "doc", "rtf"}


#: Archive formats the scan descends into (``archives.examine_zip``); others get a record of their own.
_DESCENDED = ("ZIP",)


@dataclass(frozen=True)
class _Work:
    """What every worker needs; small and picklable."""

    options: HashOptions
    limits: ArchiveLimits
    known_good: KnownGood | None = None


# ------------------------------------------------------------------------------------- one file


def _label(record: dict[str, Any], name: str) -> None:
    """Flag a name whose extension says another type than the bytes; settle skip statuses."""
    ext = name.rpartition(".")[2].lower() if "." in name.rpartition("/")[2] else ""
    fmt, media = record.get("format"), record.get("media_type")
    expected = _EXPECTED.get(ext)
    if record.get("size") and ((expected is not None and fmt not in expected) or (ext in _NOT_MEDIA and media in ("image", "video", "archive"))):
        record["name_mismatch"] = {"extension": ext, "detected": fmt or media}
    error = record.get("error")
    if error and error["code"] in SKIP_CODES:
        record["status"] = "skipped"


def _iso_ns(ns: int) -> str | None:
    """A file time as ISO 8601 UTC with the nanoseconds the file system keeps: ``2024-05-01T10:22:33.123456789Z``."""
    seconds, frac = divmod(ns, 10**9)
    try:
        when = _dt.datetime(1970, 1, 1, tzinfo=_dt.timezone.utc) + _dt.timedelta(seconds=seconds)
    except OverflowError:
        return None
    return f"{when:%Y-%m-%dT%H:%M:%S}.{frac:09d}Z"


def _hash_member(data: bytes, path: str, settings: _Work) -> dict[str, Any]:
    record = hash_bytes(data, path=path, options=settings.options, skip=settings.known_good)
    _label(record, path.rpartition("!/")[2])
    return record


def _scan_entry(entry: Entry, settings: _Work) -> list[dict[str, Any]]:
    """The records of one walked entry: an archive's members first, the entry's own last.

    ``hash_file`` sniffs the bytes and routes: an archive the scan descends into (``_DESCENDED``)
    comes back with its digests and no error (not known-good, readable), and is examined here."""
    if entry.kind != "file":
        return [entry_record(entry)]
    record = hash_file(entry.path, options=settings.options, skip=settings.known_good, archives=_DESCENDED)
    record["path"] = display_path(entry.path)
    if entry.mtime_ns is not None:
        record["mtime"] = _iso_ns(entry.mtime_ns)  # None for a time past year 9999
    raw = path_hex(entry.path)
    if raw:
        record["path_hex"] = raw
    _label(record, os.path.basename(record["path"]))
    members: list[dict[str, Any]] = []
    if record["media_type"] == "archive" and record["format"] in _DESCENDED and record["error"] is None:
        try:
            with os.fdopen(open_evidence(entry.path), "rb") as f:
                members, problem = examine_zip(
                    f, record["path"], functools.partial(_hash_member, settings=settings), settings.limits,
                )
        except OSError as exc:
            members, problem = [], MediaError("unreadable", f"cannot open the archive: {exc.strerror or exc}")
        except Exception as exc:  # noqa: BLE001 - a ZIP parser's surprise is this archive's record, not the scan's end
            members, problem = [], as_media_error(exc)
        archive_outcome(record, problem, sum(m["parent"] == record["path"] for m in members))
    return members + [record]


def _crashed_entry(entry: Entry) -> list[dict[str, Any]]:
    return [crashed_record(entry)]


# ------------------------------------------------------------------------------------- many files


def _algorithms_for(algorithms: Iterable[str] | None, index: HashIndex | None, dialects: bool) -> tuple[str, ...]:
    names = tuple(algorithms) if algorithms else DEFAULT_ALGORITHMS
    if index is not None and not algorithms:
        names = tuple(dict.fromkeys(names + tuple(a for a in index.algorithms if a not in ("md5", "sha1", "sha256"))))
    if dialects and index is not None and "pdq" in names and "pdq" in index.algorithms:
        names = tuple(dict.fromkeys(names + PDQ_DIALECTS))
    return check_algorithms(names)


def _groups(entries: Iterable[Entry], settings: _Work, index: Any, jobs: int,
            executor: Any = None) -> Iterator[list[dict[str, Any]]]:
    work: Callable[[Entry], list[dict[str, Any]]] = functools.partial(_scan_entry, settings=settings)
    if executor is not None:  # on a cluster: ocsea_match.cluster
        from ..cluster import executor_map
        groups = executor_map(work, entries, executor, on_crash=_crashed_entry, file_time_limit=DEFAULT_FILE_TIME_LIMIT)
    else:
        if jobs > 1:  # a file that keeps its worker past the limit ends it, and gets a worker-crashed record
            work = TimeLimited(work, DEFAULT_FILE_TIME_LIMIT)
        groups = process_map(work, entries, jobs=jobs, on_crash=_crashed_entry)
    for group in groups:
        if getattr(index, "sharded", False):  # a sharded index (cluster.ShardSet): one round per group
            for record, found in zip(group, index.match_many(group)):
                record["matches"] = found
            yield group
            continue
        for record in group:
            if index is not None:
                record["matches"] = index.match(record)
        yield group


def _load_lists(lists: Iterable[str | Path | HashList]) -> tuple[list[HashList], list[LoadReport]]:
    from ..formats import HashList, LoadReport, load_list

    loaded, reports = [], []
    for item in lists:
        if isinstance(item, HashList):
            loaded.append(item)
            reports.append(LoadReport(item.name, "in-memory", loaded=len(item.entries)))
        else:
            hash_list, report = load_list(item)
            loaded.append(hash_list)
            reports.append(report)
    return loaded, reports


def scan(
    sources: Sequence[str | os.PathLike[str]],
    *,
    lists: Iterable[str | Path | HashList] = (),
    index: HashIndex | None = None,
    known_good: Iterable[str | Path | HashList] = (),
    algorithms: Iterable[str] | None = None,
    jobs: int = 1,
    mode: str = "fast",
    dialects: bool = True,
    limits: ArchiveLimits = ArchiveLimits(),
    max_bytes: int = DEFAULT_MAX_BYTES,
    robust: bool = False,
    anchored: bool = False,
    options: ScanSettings | None = None,
    executor: Any = None,
) -> Iterator[dict[str, Any]]:
    """Records of every file under ``sources`` (members of ZIP archives included), matched.

    Each record is a file record (docs/ARCHITECTURE.md) with ``matches`` when lists are given; ``status`` is
    ``ok``, ``skipped`` (``error.code`` says why: known-good, not-media, symlink ...) or
    ``error``. Nothing is written anywhere; use ``run_scan`` for a case folder. ``options``: a
    ``ScanSettings`` made once, instead of the keywords from ``algorithms`` to ``anchored``. ``executor``: a Dask
    ``Client`` or an ``ocsea_match.cluster.Cluster`` to hash on instead of ``jobs`` processes.

    >>> import tempfile, zipfile
    >>> from PIL import Image
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     Image.new("RGB", (64, 48), "white").save(f"{folder}/a.png")
    ...     with zipfile.ZipFile(f"{folder}/b.zip", "w") as z:
    ...         z.write(f"{folder}/a.png", "inner.png")
    ...     found = [(os.path.basename(r["path"]), r["status"]) for r in scan([folder])]
    >>> sorted(found)
    [('a.png', 'ok'), ('b.zip', 'ok'), ('inner.png', 'ok')]
    """
    o = options or ScanSettings(algorithms, jobs, mode, dialects, limits, max_bytes, robust, anchored)
    roots = [os.fspath(s) for s in sources]
    if lists:
        from ..index import HashIndex

        index = index or HashIndex()
        for hash_list in _load_lists(lists)[0]:
            index.add_list(hash_list)
    names = _algorithms_for(o.algorithms, index, o.dialects)
    good_lists = _load_lists(known_good)[0]
    with tempfile.TemporaryDirectory(prefix="ocsea-known-good-") as tmp:
        known = KnownGood.build(good_lists, tmp) if good_lists else None
        settings = _Work(o.hash_options(names), o.limits, known)
        for group in _groups(walk(roots), settings, index, o.jobs, executor):
            yield from group


# ------------------------------------------------------------------------------------- case folder


def _utc_now() -> str:
    return _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds").replace("+00:00", "Z")


def _list_info(path: str | Path, report: LoadReport) -> dict[str, Any]:
    """What provenance says of a list: where, its SHA-256, and what loading it found."""
    return {"path": os.path.abspath(path), "sha256": file_sha256(path), "name": report.list_name,
            "format": report.format, "loaded": report.loaded, "problems": len(report.problems), "notes": report.notes}


def _library_versions() -> dict[str, str]:
    from importlib import metadata

    versions = {}
    for name in ("ocsea-match", "numpy", "scipy", "pillow", "opencv-python-headless", "av", "faiss-cpu", "tqdm"):
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = "not installed"
    return versions


def run_scan(
    sources: Sequence[str | os.PathLike[str]],
    case_dir: str | os.PathLike[str],
    *,
    lists: Sequence[str | Path] = (),
    index_dir: str | Path | None = None,
    known_good: Sequence[str | Path] = (),
    algorithms: Sequence[str] | None = None,
    jobs: int = 1,
    mode: str = "fast",
    dialects: bool = True,
    limits: ArchiveLimits = ArchiveLimits(),
    max_bytes: int = DEFAULT_MAX_BYTES,
    resume: bool = False,
    progress: str = "auto",
    robust: bool = False,
    anchored: bool = False,
    pdq_quality_floor: int | None = None,
    command_line: Sequence[str] | None = None,
    on_list_report: Callable[[LoadReport], None] | None = None,
    options: ScanSettings | None = None,
    executor: Any = None,
) -> dict[str, Any]:
    """Scan into ``case_dir`` (records.jsonl, matches.csv, summary.json, case.vics.json,
    hashdeep.txt, provenance.json, SHA256SUMS) and return the summary.

    ``resume=True`` finishes an interrupted scan of the same sources with the same settings:
    files already in records.jsonl are not hashed again. ``progress``: ``auto`` (a bar on a
    terminal, log lines otherwise), ``bar``, ``log`` or ``none``. ``pdq_quality_floor``: PDQ
    hashes under it are not matched (default 50, or the saved index's own). ``options``: a
    ``ScanSettings`` instead of the keywords it holds. Raises ``ScanError`` when the scan cannot
    run; bad files never raise, they get records. ``executor``: a Dask ``Client`` or an
    ``ocsea_match.cluster.Cluster`` to hash on (same case folder; the run's provenance names the cluster).
    """
    o = options or ScanSettings(algorithms, jobs, mode, dialects, limits, max_bytes, robust, anchored)
    roots = [os.path.abspath(os.fspath(s)) for s in sources]
    case = Path(case_dir).absolute()
    check_case_folder(case, roots, resume)  # before anything is written: a typo must not make a case
    if executor is None:  # the workers' imports run beside the lists, index and walk below
        start_early(o.jobs, ("ocsea_match.scanning",))
    try:
        from ..cluster.sharded_search import open_any_index  # a sharded index: searched shard by shard

        index = open_any_index(index_dir, pdq_quality_floor=pdq_quality_floor, client=executor)
        reports = [index.add_list_file(path) for path in lists]  # PDQ lists straight into columns
        good_lists, good_reports = _load_lists(known_good)
    except (OSError, ValueError) as exc:
        raise ScanError(str(exc)) from None
    names = _algorithms_for(o.algorithms, index if (lists or index_dir) else None, o.dialects)
    idle = index.idle_note(names) if reports and (lists or index_dir) else None
    if idle:  # e.g. --algo phash against PDQ lists: said in the load report, not silently nothing
        reports[-1].notes.append(idle)
    jobs = usable_jobs(o.jobs)
    for report in reports + good_reports:
        if on_list_report is not None:
            on_list_report(report)
    parameters = {
        "algorithms": list(names), "mode": o.mode, "dialects": o.dialects, "thresholds": index.thresholds,
        "pdq_quality_floor": index.pdq_quality_floor, "archive_limits": asdict(o.limits), "max_bytes": o.max_bytes,
        "max_pixels": DEFAULT_MAX_PIXELS, "robust": o.robust,
    }
    if o.robust and o.anchored:  # named only when on, so a case made before the option still resumes
        parameters["anchored"] = True
    inputs = printable({"sources": roots, "parameters": parameters,
              "lists": [_list_info(p, r) for p, r in zip(lists, reports)],
              "known_good": [_list_info(p, r) for p, r in zip(known_good, good_reports)],
              "index_dir": os.path.abspath(index_dir) if index_dir else None})  # names as text, always UTF-8
    provenance = _provenance(case, inputs, resume, command_line)
    if executor is not None:  # scheduler, workers, their versions; refused when they differ, before any write
        from ..cluster import ClusterError, describe_cluster
        try:
            cluster = describe_cluster(executor)
        except ClusterError as exc:
            raise ScanError(str(exc)) from None
    with case_writes(case):  # cannot create or write it: ScanError, and nothing left behind
        case.mkdir(parents=True, exist_ok=True)
        for stale in case.glob(".work-*"):  # scratch space of a killed run
            for leftover in stale.iterdir():
                leftover.unlink()
            stale.rmdir()
        journal = Journal(case / RECORDS)
        done = journal.resume() if resume else set()
        journal.write([])  # records.jsonl exists from the start, even for a source with no file
        run = {"start": _utc_now(), "end": None, "resumed": resume, "files_done_before": len(done),
               "jobs": jobs, "interrupted": False}
        if executor is not None:
            run["cluster"] = cluster
        provenance["runs"].append(run)
        (case / PROVENANCE).write_text(json.dumps(printable(provenance), ensure_ascii=False, indent=1), encoding="utf-8")
        work = Path(tempfile.mkdtemp(prefix=".work-", dir=case))
    entries = [e for e in walk(roots) if display_path(e.path) not in done]
    known = KnownGood.build(good_lists, work) if good_lists else None
    settings = _Work(o.hash_options(names), o.limits, known)
    bar = Progress(progress, total_files=len(entries), total_bytes=sum(e.size for e in entries))
    started = time.monotonic()
    files = size = 0
    finished = False
    try:
        for group in _groups(entries, settings, index if index.algorithms else None, jobs, executor):
            if not index.algorithms:
                for record in group:
                    record["matches"] = []
            journal.write(group)
            files += len(group)
            size += group[-1].get("size") or 0
            bar.update(group)
        finished = True
    except KeyboardInterrupt:
        run["interrupted"] = True
        raise
    except OSError as exc:  # the case folder filled up or went away: what is journaled stays resumable
        run["interrupted"] = True
        raise ScanError(f"cannot go on writing {case}: {exc.strerror or exc}; once fixed, --resume finishes "
                        "the scan") from None
    finally:
        bar.close()
        run["end"] = _utc_now()
        try:
            journal.close()
            (case / PROVENANCE).write_text(json.dumps(printable(provenance), ensure_ascii=False, indent=1),
                                           encoding="utf-8")
            for leftover in work.iterdir():
                leftover.unlink()
            work.rmdir()
        except OSError as exc:
            if finished:  # else the error already on its way says what went wrong
                raise ScanError(f"cannot write {case}: {exc.strerror or exc}; once fixed, --resume finishes "
                                "the scan") from None
    elapsed = time.monotonic() - started
    timings = {"seconds": round(elapsed, 3), "records_this_run": files, "bytes_this_run": size,
               "files_per_second": round(files / elapsed, 2) if elapsed else None,
               "mb_per_second": round(size / 1e6 / elapsed, 2) if elapsed else None}
    try:
        return write_outputs(case, provenance, timings)
    except OSError as exc:
        raise ScanError(f"cannot write the case outputs in {case}: {exc.strerror or exc}; once fixed, "
                        "--resume writes them") from None


def _provenance(case: Path, inputs: dict[str, Any], resume: bool, command_line: Sequence[str] | None) -> dict[str, Any]:
    """The provenance document: a new one, or the interrupted scan's after checking it matches."""
    if resume:
        try:
            old = json.loads((case / PROVENANCE).read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise ScanError(f"cannot resume: {case / PROVENANCE} cannot be read ({exc})") from None
        for key, value in inputs.items():
            if json.loads(json.dumps(value)) != old.get(key):
                raise ScanError(f"cannot resume: {key} differ from the interrupted scan's ({case / PROVENANCE})")
        return old
    import shlex

    return {
        "tool": "ocsea-match", "versions": _library_versions(), "python": sys.version.split()[0],
        "platform": platform.platform(), "host": socket.gethostname(),
        "command_line": shlex.join(command_line if command_line is not None else sys.argv),
        "working_directory": os.getcwd(), "case_dir": str(case), **inputs, "runs": [],
    }
