"""What the report says about the records: counts, a timeline and the rows of its two tables,
gathered in one streaming pass over ``records.jsonl`` (never all records in memory).

Counts are kept per distinct value (status, media type, format, reason, list, category, day of
modification), so memory grows with the number of distinct values, not of records. The table
rows are handed to a callback as they come (the renderer pages them out).

>>> from pathlib import Path
>>> stats = gather(Path("case-0042/records.jsonl"), on_match=print, on_problem=print)
>>> stats.files, dict(stats.by_status)
(1, {'ok': 1})
"""

from __future__ import annotations

import datetime as _dt
import json
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

__all__ = ["Stats", "gather", "match_rows", "problem_row", "mtime_day"]

Row = dict[str, Any]


@dataclass
class Stats:
    """Everything counted over the records; each ``by_*`` counter sums to ``files`` where it says so."""

    files: int = 0
    walked: int = 0
    archive_members: int = 0
    bytes: int = 0
    by_status: Counter[str] = field(default_factory=Counter)  # sums to files
    by_media_type: Counter[str] = field(default_factory=Counter)  # sums to files
    by_format: Counter[str] = field(default_factory=Counter)  # sums to files
    by_reason: Counter[str] = field(default_factory=Counter)  # "status: code" of skipped and failed files
    files_matched: int = 0
    files_by_list: Counter[str] = field(default_factory=Counter)  # files with a match on the list
    files_by_category: Counter[str] = field(default_factory=Counter)  # the closest match's category
    matches_by_list_category: Counter[tuple[str, str]] = field(default_factory=Counter)  # match rows
    matches_by_algorithm: Counter[str] = field(default_factory=Counter)
    match_rows: int = 0
    problem_rows: int = 0
    name_mismatches: int = 0
    truncated: int = 0
    non_utf8_names: int = 0
    mtime_days: Counter[str] = field(default_factory=Counter)  # "YYYY-MM-DD" (UTC) of each file's mtime
    matched_mtime_days: Counter[str] = field(default_factory=Counter)
    without_mtime: int = 0
    torn_last_line: bool = False
    unreadable_lines: list[int] = field(default_factory=list)  # line numbers that are not JSON


def mtime_day(value: Any) -> str | None:
    """The UTC day of a record's ``mtime`` (ISO 8601 text or seconds since the epoch), or ``None``."""
    if value is None or value == "":
        return None
    if isinstance(value, (int, float)):
        try:
            return _dt.datetime.fromtimestamp(float(value), _dt.timezone.utc).date().isoformat()
        except (OverflowError, OSError, ValueError):
            return None
    text = str(value)
    if len(text) >= 10 and text[4] == "-" and text[7] == "-" and text[:4].isdigit():
        return text[:10]
    return None


def _category(value: Any) -> str:
    return "(none)" if value is None or value == "" else str(value)


def match_rows(record: dict[str, Any]) -> list[Row]:
    """One table row per match of a record (the columns of matches.csv, plus ``path_hex``)."""
    rows = []
    for m in record.get("matches") or ():
        rows.append({
            "path": record.get("path"), "path_hex": record.get("path_hex"), "container_file": record.get("container_file"),
            "size": record.get("size"), "md5": record.get("md5"), "sha1": record.get("sha1"),
            "sha256": record.get("sha256"), "media_type": record.get("media_type"), "format": record.get("format"),
            "list": m.get("list"), "entry_id": m.get("entry_id"), "category": m.get("category"),
            "algorithm": m.get("algorithm"), "distance": m.get("distance"), "threshold": m.get("threshold"),
            "query_share": m.get("query_share"), "listed_share": m.get("listed_share"),
            "timestamps": m.get("timestamps"), "listed_timestamp": m.get("listed_timestamp"),
        })
    return rows


def problem_row(record: dict[str, Any]) -> Row | None:
    """The errors-and-skips table row of a record that was skipped or failed, or is flagged (a
    truncated picture, a name whose extension contradicts the bytes); else ``None``."""
    error = record.get("error")
    flagged = record.get("truncated") or record.get("name_mismatch")
    if record.get("status") == "ok" and not error and not flagged:
        return None
    error = error or {}
    notes = []
    if record.get("truncated"):
        notes.append("truncated: hashed from what decodes")
    if record.get("link"):
        notes.append(f"link {record['link']}")
    if record.get("known_good"):
        notes.append(f"on known-good list {record['known_good']}")
    mismatch = record.get("name_mismatch")
    if mismatch:
        notes.append(f"name says .{mismatch.get('extension')}, bytes are {mismatch.get('detected')}")
    return {"path": record.get("path"), "path_hex": record.get("path_hex"), "container_file": record.get("container_file"),
            "status": record.get("status"), "code": error.get("code"), "message": error.get("message"),
            "size": record.get("size"), "media_type": record.get("media_type"), "format": record.get("format"),
            "sha256": record.get("sha256"), "notes": "; ".join(notes)}


def _count(stats: Stats, r: dict[str, Any]) -> None:
    stats.files += 1
    if "container_file" in r:
        stats.archive_members += 1
    else:
        stats.walked += 1
    status = str(r.get("status"))
    stats.by_status[status] += 1
    stats.by_media_type[r.get("media_type") or "unknown"] += 1
    stats.by_format[r.get("format") or "(none)"] += 1
    error = r.get("error")
    if error:
        stats.by_reason[f"{status}: {error.get('code')}"] += 1
    stats.bytes += r.get("size") or 0
    stats.name_mismatches += bool(r.get("name_mismatch"))
    stats.truncated += bool(r.get("truncated"))
    stats.non_utf8_names += bool(r.get("path_hex"))
    matches = r.get("matches") or []
    if matches:
        stats.files_matched += 1
        for name in sorted({str(m.get("list")) for m in matches}):
            stats.files_by_list[name] += 1
        stats.files_by_category[_category(matches[0].get("category"))] += 1
        for m in matches:
            stats.matches_by_list_category[(str(m.get("list")), _category(m.get("category")))] += 1
            stats.matches_by_algorithm[str(m.get("algorithm"))] += 1
    day = mtime_day(r.get("mtime"))
    if day is None:
        stats.without_mtime += 1
    else:
        stats.mtime_days[day] += 1
        if matches:
            stats.matched_mtime_days[day] += 1


def gather(records: Path, on_match: Callable[[Row], None], on_problem: Callable[[Row], None]) -> Stats:
    """Count every record of ``records`` and hand each match row and error/skip row on, in order."""
    stats = Stats()
    with open(records, "rb") as f:
        for number, line in enumerate(f, 1):
            if not line.endswith(b"\n"):
                stats.torn_last_line = True  # a scan killed mid-write; resume drops it
                break
            try:
                record = json.loads(line)
            except ValueError:
                stats.unreadable_lines.append(number)
                continue
            _count(stats, record)
            for row in match_rows(record):
                stats.match_rows += 1
                on_match(row)
            problem = problem_row(record)
            if problem is not None:
                stats.problem_rows += 1
                on_problem(problem)
    return stats
