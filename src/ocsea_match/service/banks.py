"""The hotline's own banks: what it has assessed once, kept in SQLite and matched at once.

One SQLite file (WAL mode, ``synchronous=FULL``) holds every bank. An entry is the hashes of an
assessed file (the record ``ocsea-match hash`` writes, read by the JSONL list reader, so the same
rules apply), with a category, an optional note, and who added it and when. An entry is added in
one transaction (the entry and all its hashes, or nothing), so a crash or a SIGKILL never leaves
a half-written one; an entry is never deleted, only disabled (who, when, why), and stays in the
file for the record.

Matching: the entries are held in small ``HashIndex`` segments; an addition becomes a new
segment at once (it matches from the next request on, no rebuild of the lists' index) and every
``COMPACT_AFTER`` additions the segments are rebuilt into one.

>>> import pathlib, tempfile
>>> banks = BankStore(pathlib.Path(tempfile.mkdtemp()) / "banks.sqlite")
>>> record = {"sha256": "ab" * 32, "hashes": {"pdq": {"hex": "cd" * 32, "quality": 100}}}
>>> entry = banks.add("hotline", record, category="1", note="report 4411", who="analyst-1")
>>> [(m["list"], m["entry_id"], m["algorithm"], m["distance"]) for m in banks.match_many([record])[0]]
[('bank:hotline', '1', 'pdq', 0), ('bank:hotline', '1', 'sha256', 0)]
>>> banks.close()
"""

from __future__ import annotations

import json
import re
import sqlite3
import threading
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from ..formats import HashList, ListEntry, ListError, dump_list, read_list_text
from ..index import HashIndex

__all__ = ["BankStore", "BankError", "EXPORT_FORMATS", "BANK_NAME", "backup", "check"]

EXPORT_FORMATS = ("vics", "pdq-csv", "jsonl")
BANK_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
COMPACT_AFTER = 32
LIST_PREFIX = "bank:"  # what a bank's matches name as their list

_SCHEMA = """
CREATE TABLE IF NOT EXISTS entries (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    bank TEXT NOT NULL,
    category TEXT,
    note TEXT,
    media_type TEXT,
    md5 TEXT, sha1 TEXT, sha256 TEXT,
    hash_count INTEGER NOT NULL,
    added_at TEXT NOT NULL,
    added_by TEXT NOT NULL,
    disabled_at TEXT,
    disabled_by TEXT,
    disabled_reason TEXT
);
CREATE TABLE IF NOT EXISTS hashes (
    entry INTEGER NOT NULL REFERENCES entries(id),
    algorithm TEXT NOT NULL,
    hex TEXT NOT NULL,
    quality INTEGER,
    timestamp REAL
);
CREATE INDEX IF NOT EXISTS hashes_by_entry ON hashes(entry);
CREATE INDEX IF NOT EXISTS entries_by_bank ON entries(bank);
"""


class BankError(ValueError):
    """A bank request that cannot be done: ``code`` says why (``bad-input``, ``not-found``)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


def _utc() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


def _connect(path: str | Path) -> sqlite3.Connection:
    conn = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None, timeout=30)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=FULL")
    conn.execute("PRAGMA foreign_keys=ON")
    return conn


def parse_record(record: Any) -> list[ListEntry]:
    """The list entries of a hash record (what ``ocsea-match hash`` writes); ``BankError`` if it has none."""
    if not isinstance(record, Mapping):
        raise BankError("bad-input", "'record' must be a JSON object: a record as 'ocsea-match hash' writes it")
    line = json.dumps({**record, "entry_id": "new", "category": None}, ensure_ascii=False)
    try:
        hash_list, report = read_list_text(line, "bank", format="jsonl")
    except ListError as exc:  # EmptyListError too: a record with no hash
        raise BankError("bad-input", str(exc)) from None
    if report.problems:
        raise BankError("bad-input", "; ".join(reason for _, reason in report.problems))
    return hash_list.entries


class BankStore:
    """Every bank in one SQLite file, with their in-memory matching segments; thread-safe."""

    def __init__(self, path: str | Path, *, thresholds: Mapping[str, int] | None = None) -> None:
        self.path = Path(path)
        self.thresholds = dict(thresholds or {})
        self._conn = _connect(self.path)
        self._conn.executescript(_SCHEMA)
        self._lock = threading.Lock()
        self._segments: tuple[HashIndex, ...] = ()
        self._disabled: frozenset[tuple[str, str]] = frozenset()
        self._added_since = 0
        with self._lock:
            self._rebuild()

    # ----------------------------------------------------------------------------- matching

    def _rebuild(self) -> None:
        """One segment of every enabled entry (caller holds the lock)."""
        index = HashIndex(thresholds=self.thresholds, threads=1)
        for name in self._bank_names():
            hash_list = self._hash_list(name)
            if hash_list.entries:
                index.add_list(hash_list)
        self._segments = (index,)
        self._disabled = frozenset()
        self._added_since = 0

    def match_many(self, queries: Sequence[Mapping[str, Any]]) -> list[list[dict[str, Any]]]:
        """The bank matches of each query (disabled entries left out)."""
        segments, disabled = self._segments, self._disabled
        out: list[list[dict[str, Any]]] = [[] for _ in queries]
        for segment in segments:
            if not len(segment):
                continue
            for found, matches in zip(out, segment.match_many(queries)):
                found.extend(m for m in matches if (m["list"], m["entry_id"]) not in disabled)
        for found in out:
            found.sort(key=lambda m: (m["distance"], m["list"], m["entry_id"]))
        return out

    def summary(self) -> list[dict[str, Any]]:
        """Each bank with its enabled and disabled entry counts."""
        with self._lock:
            rows = self._conn.execute(
                "SELECT bank, SUM(disabled_at IS NULL), SUM(disabled_at IS NOT NULL), MAX(added_at) "
                "FROM entries GROUP BY bank ORDER BY bank").fetchall()
        return [{"name": LIST_PREFIX + b, "bank": b, "format": "bank", "entries": int(n), "disabled": int(d),
                 "last_added": last, "sha256": None} for b, n, d, last in rows]

    # ----------------------------------------------------------------------------- curating

    def add(self, bank: str, record: Any, *, category: str | None, note: str | None, who: str) -> dict[str, Any]:
        """Add one assessed file's hashes as an entry (one transaction); it matches at once."""
        if not BANK_NAME.match(bank):
            raise BankError("bad-input", f"bad bank name {bank!r}: letters, digits and _.- only, at most 64")
        if category is not None and not isinstance(category, (str, int)):
            raise BankError("bad-input", "'category' must be a string or a number")
        if note is not None and (not isinstance(note, str) or len(note) > 2000):
            raise BankError("bad-input", "'note' must be a string of at most 2000 characters")
        category = None if category is None else str(category)
        entries = parse_record(record)
        now = _utc()
        with self._lock:
            cur = self._conn.cursor()
            cur.execute("BEGIN IMMEDIATE")
            try:
                cur.execute(
                    "INSERT INTO entries (bank, category, note, media_type, md5, sha1, sha256, hash_count, added_at, "
                    "added_by) VALUES (?,?,?,?,?,?,?,?,?,?)",
                    (bank, category, note, record.get("media_type"), record.get("md5"), record.get("sha1"),
                     record.get("sha256"), len(entries), now, who))
                entry_id = int(cur.lastrowid)
                cur.executemany("INSERT INTO hashes (entry, algorithm, hex, quality, timestamp) VALUES (?,?,?,?,?)",
                                [(entry_id, e.algorithm, e.hex, e.quality, e.timestamp) for e in entries])
                cur.execute("COMMIT")
            except BaseException:
                cur.execute("ROLLBACK")
                raise
            self._added_since += 1
            if self._added_since >= COMPACT_AFTER:
                self._rebuild()
            else:
                segment = HashIndex(thresholds=self.thresholds, threads=1)
                segment.add_list(HashList(LIST_PREFIX + bank, [
                    ListEntry(str(entry_id), e.algorithm, e.hex, category, None, e.quality, e.timestamp) for e in entries]))
                self._segments = (*self._segments, segment)
        return {"id": entry_id, "bank": bank, "category": category, "note": note, "hashes": len(entries),
                "added_at": now, "added_by": who}

    def disable(self, bank: str, entry_id: int, *, who: str, reason: str | None = None) -> dict[str, Any]:
        """Disable an entry (kept, with who and when); ``BankError('not-found')`` if there is none."""
        now = _utc()
        with self._lock:
            row = self._conn.execute("SELECT disabled_at FROM entries WHERE id=? AND bank=?", (entry_id, bank)).fetchone()
            if row is None:
                raise BankError("not-found", f"bank {bank!r} has no entry {entry_id}")
            if row[0] is None:
                self._conn.execute("UPDATE entries SET disabled_at=?, disabled_by=?, disabled_reason=? WHERE id=?",
                                   (now, who, reason, entry_id))
                self._disabled = self._disabled | {(LIST_PREFIX + bank, str(entry_id))}
        return self.get(bank, entry_id)

    def get(self, bank: str, entry_id: int) -> dict[str, Any]:
        """One entry with its hashes and history."""
        with self._lock:
            cur = self._conn.execute(
                "SELECT id, bank, category, note, media_type, md5, sha1, sha256, hash_count, added_at, added_by, "
                "disabled_at, disabled_by, disabled_reason FROM entries WHERE id=? AND bank=?", (entry_id, bank))
            row = cur.fetchone()
            if row is None:
                raise BankError("not-found", f"bank {bank!r} has no entry {entry_id}")
            item = dict(zip([d[0] for d in cur.description], row))
            item["hashes"] = [dict(zip(("algorithm", "hex", "quality", "timestamp"), h)) for h in self._conn.execute(
                "SELECT algorithm, hex, quality, timestamp FROM hashes WHERE entry=? ORDER BY rowid", (entry_id,))]
        return item

    def export(self, bank: str, fmt: str) -> str:
        """The bank's enabled entries as text in ``fmt`` (``vics``, ``pdq-csv`` or ``jsonl``)."""
        if fmt not in EXPORT_FORMATS:
            raise BankError("bad-input", f"cannot export {fmt!r}; choose from {', '.join(EXPORT_FORMATS)}")
        with self._lock:
            if bank not in self._bank_names():
                raise BankError("not-found", f"no bank named {bank!r}")
            hash_list = self._hash_list(bank)
        return dump_list(hash_list, fmt)

    def _bank_names(self) -> list[str]:
        return [r[0] for r in self._conn.execute("SELECT DISTINCT bank FROM entries ORDER BY bank")]

    def _hash_list(self, bank: str) -> HashList:
        rows = self._conn.execute(
            "SELECT e.id, e.category, h.algorithm, h.hex, h.quality, h.timestamp FROM entries e JOIN hashes h "
            "ON h.entry = e.id WHERE e.bank=? AND e.disabled_at IS NULL ORDER BY e.id, h.rowid", (bank,))
        return HashList(LIST_PREFIX + bank, [ListEntry(str(i), a, x, c, None, q, t) for i, c, a, x, q, t in rows])

    def close(self) -> None:
        with self._lock:
            self._conn.close()


def backup(source: str | Path, target: str | Path) -> int:
    """Copy a bank database consistently (SQLite's online backup; the service may be running);
    never overwrites ``target``. Returns the number of entries copied."""
    target = Path(target)
    if target.exists():
        raise FileExistsError(f"{target} exists; choose a new name")
    if not Path(source).is_file():
        raise FileNotFoundError(f"{source}: no such bank database")
    src = sqlite3.connect(f"file:{source}?mode=ro", uri=True)
    dst = sqlite3.connect(str(target))
    try:
        src.backup(dst)
        return int(dst.execute("SELECT COUNT(*) FROM entries").fetchone()[0])
    finally:
        dst.close()
        src.close()


def check(path: str | Path) -> list[str]:
    """Problems in a bank database: SQLite's integrity check, and entries whose hashes are not
    all there (none can be, as each entry is one transaction). Empty when all is well."""
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        problems = [r[0] for r in conn.execute("PRAGMA integrity_check") if r[0] != "ok"]
        for entry_id, expected, found in conn.execute(
                "SELECT e.id, e.hash_count, (SELECT COUNT(*) FROM hashes h WHERE h.entry = e.id) FROM entries e"):
            if expected != found:
                problems.append(f"entry {entry_id}: {found} of its {expected} hashes")
        return problems
    finally:
        conn.close()
