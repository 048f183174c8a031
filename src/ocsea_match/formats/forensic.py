"""Forensic tools' hash sets: hashdeep text and NIST NSRL RDSv3 SQLite (a known-good list)."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from pathlib import Path
from urllib.parse import quote

from ..algorithms import DIGESTS
from ..paths import NAMES_ESCAPED, unescape_name
from .model import HashList, ListEntry, ListError, LoadReport, check_hex

__all__ = ["HashdeepReader", "is_hashdeep", "is_sqlite", "read_hashdeep", "read_nsrl"]

_SQLITE_MAGIC = b"SQLite format 3\x00"


def is_hashdeep(text: str) -> bool:
    return text.lstrip().startswith("%%%% HASHDEEP-1.0")


def read_hashdeep(text: str, hash_list: HashList, report: LoadReport) -> None:
    """``%%%% size,md5,sha256,filename`` header, ``##`` comments, then one file per line."""
    reader = HashdeepReader()
    for number, raw in enumerate(text.split("\n"), 1):
        reader.line(number, raw, hash_list, report)
    reader.finish(report)


class HashdeepReader:
    """A hashdeep file read a line at a time (every line, as ``read_hashdeep`` reads them), then ``finish``."""

    def __init__(self) -> None:
        self.columns: list[str] | None = None
        self.ignored: set[str] = set()
        self.escaped = False  # names written with \xNN escapes (an ocsea-match scan's hashdeep.txt says so)

    def line(self, number: int, raw: str, hash_list: HashList, report: LoadReport) -> None:
        line = raw.strip()
        if line.startswith(NAMES_ESCAPED):
            self.escaped = True
        if not line or line.startswith("##") or line.startswith("%%%% HASHDEEP"):
            return
        if line.startswith("%%%%"):
            self.columns = [c.strip().lower() for c in line[4:].split(",")]
            return
        columns = self.columns
        if columns is None:
            raise ListError("hashdeep: no '%%%% size,...,filename' column line before the first file")
        fields = line.split(",", len(columns) - 1)  # the file name may contain commas
        if len(fields) != len(columns):
            report.problems.append((number, f"{len(fields)} fields, the header names {len(columns)}"))
            return
        row = dict(zip(columns, fields))
        name = row.get("filename") or ""
        name = (unescape_name(name) if self.escaped else name) or f"{hash_list.name}:{number}"
        found = 0
        for column, value in row.items():
            if column in DIGESTS:
                checked = check_hex(column, value)
                if checked is None:
                    report.problems.append((number, f"bad {column}: {value.strip().lower()[:80]!r}"))
                    continue
                hash_list.entries.append(ListEntry(name, column, checked, label=name))
                found += 1
            elif column not in ("size", "filename"):
                self.ignored.add(column)
        if not found and not any(p[0] == number for p in report.problems):
            report.problems.append((number, "no MD5, SHA-1 or SHA-256 on this line"))

    def finish(self, report: LoadReport) -> None:
        for column in sorted(self.ignored):
            report.notes.append(f"hashdeep column {column!r} is not matched by this tool")


def is_sqlite(head: bytes) -> bool:
    return head.startswith(_SQLITE_MAGIC)


#: rows between two ``flush`` calls of ``read_nsrl``
NSRL_BATCH = 65536


def read_nsrl(path: Path, hash_list: HashList, report: LoadReport, flush: Callable[[list[ListEntry]], None] | None = None) -> None:
    """NSRL RDSv3: the ``DISTINCT_HASH`` view (or ``FILE``), opened read-only; category known-good.
    With ``flush``, the entries go to it every ``NSRL_BATCH`` rows (and at the end) instead of staying
    in ``hash_list``."""
    try:
        con = sqlite3.connect(f"file:{quote(str(Path(path).absolute()))}?mode=ro&immutable=1", uri=True)
    except sqlite3.Error as exc:
        raise ListError(f"{path}: cannot open as SQLite: {exc}") from None
    try:
        names = {row[0].upper() for row in con.execute("SELECT name FROM sqlite_master WHERE type IN ('table', 'view')")}
        source = "DISTINCT_HASH" if "DISTINCT_HASH" in names else "FILE" if "FILE" in names else None
        if source is None:
            raise ListError(f"{path}: an SQLite file without the NSRL RDSv3 DISTINCT_HASH or FILE view")
        report.format = f"nsrl-rdsv3 ({source})"
        cursor = con.execute(f"SELECT sha256, sha1, md5 FROM {source}")  # noqa: S608 - fixed names
        for number, (sha256, sha1, md5) in enumerate(cursor, 1):
            found = 0
            for algorithm, value in (("sha256", sha256), ("sha1", sha1), ("md5", md5)):
                if not value:
                    continue
                checked = check_hex(algorithm, str(value))
                if checked is None:
                    report.problems.append((number, f"bad {algorithm}: {str(value).strip().lower()[:80]!r}"))
                    continue
                hash_list.entries.append(ListEntry(f"{hash_list.name}:{number}", algorithm, checked, category="known-good"))
                found += 1
            if not found:
                report.problems.append((number, "a row without hashes"))
            if flush is not None and number % NSRL_BATCH == 0:
                flush(hash_list.entries)
                hash_list.entries = []
        if flush is not None:
            flush(hash_list.entries)
            hash_list.entries = []
    except sqlite3.Error as exc:
        raise ListError(f"{path}: {exc}") from None
    finally:
        con.close()
