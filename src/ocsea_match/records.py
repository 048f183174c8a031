"""The file record: the one contract between hashing, the scan, the service, the outputs and the
report (docs/ARCHITECTURE.md, "The file record"). One JSON object per file; fields are added,
never renamed.

``new_record`` makes every record's skeleton and ``crashed_record`` the record of a file whose
worker died; the CSV columns taken from records are listed here once.

>>> record = new_record("photos/a.jpg")
>>> record["path"], record["status"], record["hashes"]
('photos/a.jpg', 'error', {})
>>> crashed_record("a.jpg")["error"]["code"]
'worker-crashed'
"""

from __future__ import annotations

import os
from typing import Any, TypedDict

from .paths import display_path, path_hex

__all__ = ["FileRecord", "MATCH_CSV_COLUMNS", "MATCH_CSV_FILE_COLUMNS", "RECORD_CSV_COLUMNS", "crashed_record", "new_record"]


class _Required(TypedDict):
    path: str  # always valid UTF-8: bytes that are not are shown as \xNN (paths.display_path)
    size: int | None  # bytes read (None: nothing was read)
    md5: str | None
    sha1: str | None
    sha256: str | None
    media_type: str | None  # "image", "video", "archive", "other"
    format: str | None  # "JPEG", "PNG", "MP4", "ZIP" ...
    status: str  # "ok" | "skipped" | "error" (errors.status_of)
    error: dict[str, str] | None  # {"code", "message"}: errors.ERROR_CODES
    hashes: dict[str, dict[str, Any]]  # algorithm -> {"hex", "quality"?}


class FileRecord(_Required, total=False):
    """A file record's keys and their types (a dict at run time, JSON on disk).

    The first ten are always there; the others when they apply: a picture's geometry and decode,
    a video's frames, robust rows, matches, and what the scan adds (archive members, names).
    """

    path_hex: str  # the name's exact bytes when they are not UTF-8
    width: int
    height: int
    mode: str  # "exact" | "fast"
    decoded_size: list[int]  # fast mode: the size decoded, when smaller
    truncated: bool
    warnings: list[str]
    exif_orientation: int
    hashes_displayed: dict[str, dict[str, Any]]
    robust: dict[str, list[dict[str, Any]]]  # {"query": [...], "list": [...]}
    video: dict[str, Any]
    frames: list[dict[str, Any]]
    tmk: str  # Meta's .tmk, base64
    matches: list[dict[str, Any]]
    # what the scan adds
    mtime: str | None
    parent: str
    member: str
    container_file: str
    members: int
    name_mismatch: dict[str, Any]
    declared_size: int
    known_good: str
    link: str
    request_id: str  # the service's


def new_record(path: str | os.PathLike[str]) -> FileRecord:
    """A record's first fields, before anything is read: ``status`` ``"error"`` until something
    better is known. The name as text that is always valid UTF-8 (``paths``), and its exact bytes
    in ``path_hex`` when they are not UTF-8."""
    record: FileRecord = {
        "path": display_path(path),
        "size": None,
        "md5": None,
        "sha1": None,
        "sha256": None,
        "media_type": None,
        "format": None,
        "status": "error",
        "error": None,
        "hashes": {},
    }
    raw = path_hex(path)
    if raw:
        record["path_hex"] = raw
    return record


def crashed_record(path: str | os.PathLike[str], time_limit: int | None = None) -> FileRecord:
    """The record of a file whose worker process died twice on it (a crash, or past the per-file
    time limit: ``time_limit`` seconds when the caller knows it)."""
    limit = "the per-file time limit" if time_limit is None else f"the per-file limit of {time_limit} s"
    record = new_record(path)
    record["error"] = {
        "code": "worker-crashed",
        "message": "the worker process died while hashing this file, twice (once in the batch, once alone): "
        f"a crash, or the file kept it busy past {limit}",
    }
    return record


_FILE_COLUMNS = ["size", "md5", "sha1", "sha256", "media_type", "format"]

#: ``ocsea-match hash|match --format csv``: the record's own columns, before one per algorithm.
RECORD_CSV_COLUMNS = ["path", "path_hex", *_FILE_COLUMNS, "status", "error_code", "error_message", "truncated"]

#: A case folder's ``matches.csv``: one row per match, the file's columns then the match's.
MATCH_CSV_COLUMNS = ["path", "container_file", *_FILE_COLUMNS,
                     "list", "entry_id", "category", "algorithm", "distance", "threshold",
                     "query_share", "listed_share", "timestamps", "listed_timestamp"]
#: How many of ``MATCH_CSV_COLUMNS`` come from the file's record.
MATCH_CSV_FILE_COLUMNS = 2 + len(_FILE_COLUMNS)

