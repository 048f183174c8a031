"""The audit log: append-only JSON lines, hash-chained.

Every line is a compact JSON object with sorted keys carrying ``prev`` (the ``hash`` of the line
before; 64 zeros for the first) and, last, ``hash``: the SHA-256 of the line's JSON without its
``hash`` field. Altering a line breaks its own ``hash``; re-computing it breaks the next line's
``prev``; deleting or reordering lines breaks ``prev`` too. Only cutting lines off the end goes
unseen by the chain alone: note the last hash (``audit verify`` prints it) somewhere else now and
then. Lines say who asked what and what was answered (digests, PDQ, matches), never pixels or
bodies.

>>> log = AuditLog("audit.jsonl")
>>> line_hash = log.append({"event": "match", "key": "analyst-1", "status": 200})
>>> log.close()
>>> verify("audit.jsonl")
VerifyResult(ok=True, lines=1, broken_line=None, message='1 lines, chain intact; ...', last_hash='...', continues_from=None)
"""

from __future__ import annotations

import hashlib
import json
import os
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = ["AuditLog", "AuditError", "VerifyResult", "verify", "verify_files", "GENESIS"]

GENESIS = "0" * 64
_FSYNC_EVERY = 1.0  # seconds: lines reach the OS at once, the disk at least this often


class AuditError(OSError):
    """The audit log cannot be opened, continued or written."""


def _seal(entry: dict[str, Any]) -> tuple[str, str]:
    """The line for ``entry`` (which carries ``prev``), and its hash."""
    body = json.dumps(entry, sort_keys=True, separators=(",", ":"))  # ASCII: no U+2028 splitting a line
    digest = hashlib.sha256(body.encode("utf-8")).hexdigest()
    return body[:-1] + f',"hash":"{digest}"}}', digest


_second: tuple[int, str] = (-1, "")  # the last whole second formatted (strftime is a twentieth of a line's cost)


def _utc() -> str:
    global _second
    now = time.time()
    whole = int(now)
    if whole != _second[0]:
        _second = (whole, time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(whole)))
    return f"{_second[1]}.{int(now % 1 * 1e6):06d}Z"


class AuditLog:
    """An append-only, hash-chained JSON-lines file; thread-safe.

    Opening an existing log checks its last line and continues its chain (a log whose tail does
    not verify is refused: ``AuditError``). Each ``append`` writes its line to the OS before it
    returns, so a crash of the process loses nothing; a background thread fsyncs at most every
    second while lines come in, and ``close`` does at once. A line that cannot be written whole
    (a full disk) raises ``AuditError`` and what was written of it is cut off again, so the chain
    stays intact and the next line follows it once there is room.
    """

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._lock = threading.Lock()
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._prev = self._tail()
            self._fd: int | None = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        except AuditError:
            raise
        except OSError as exc:
            raise AuditError(f"{self.path}: cannot open the audit log: {exc.strerror or exc}") from None
        self._dirty = False
        self._cut: str | None = None  # why appends are refused: a partial line could not be taken back
        self._continues: str | None = None  # the archived log a new file's first line must name (``rotate``)
        self._stop = threading.Event()
        self._sync_lock = threading.Lock()  # the syncer's own descriptor, swapped by ``rotate``
        self._sync_fd = os.dup(self._fd)
        self._syncer = threading.Thread(target=self._sync_loop, name="audit-fsync", daemon=True)
        self._syncer.start()

    def _tail(self) -> str:
        """The last line's hash of an existing log (read from its end only)."""
        if not self.path.exists() or self.path.stat().st_size == 0:
            return GENESIS
        with open(self.path, "rb") as f:
            end = f.seek(0, os.SEEK_END)
            tail, start = b"", end
            while start > 0 and tail.count(b"\n") < 2:  # read back to the start of the last line
                start = max(0, start - (1 << 16))
                f.seek(start)
                tail = f.read(end - start)
        if not tail.endswith(b"\n"):
            raise AuditError(f"{self.path}: the last line is cut off (a crash while writing, or an edit); "
                             "check it with 'ocsea-match audit verify' and start a new log")
        lines = tail.split(b"\n")[:-1]
        try:
            last = json.loads(lines[-1])
            stored = last.pop("hash")
            if _seal(last)[1] != stored:
                raise ValueError("its hash does not match")
        except (ValueError, KeyError, TypeError) as exc:
            raise AuditError(f"{self.path}: the last line does not verify ({exc}); "
                             "check it with 'ocsea-match audit verify' and start a new log") from None
        return stored

    def append(self, entry: dict[str, Any]) -> str:
        """Chain and write one entry (``time`` is added); returns its hash."""
        with self._lock:
            if self._fd is None:
                raise AuditError(f"{self.path}: the audit log is closed")
            if self._cut is not None:
                raise AuditError(self._cut)
            if self._continues is not None:  # a rotated log's first line, not written yet (a full disk)
                self._write({"event": "continue", "from": self._continues})
                self._continues = None
            return self._write(entry)

    def _write(self, entry: dict[str, Any]) -> str:
        """``append`` with the lock held."""
        line, digest = _seal({"time": _utc(), **entry, "prev": self._prev})
        data = (line + "\n").encode("utf-8")
        size = len(data)
        try:
            while data:  # one write(2) per line, straight to the OS (no buffer to lose in a crash)
                data = data[os.write(self._fd, data):]
        except OSError as exc:
            self._take_back(size - len(data))
            raise AuditError(f"{self.path}: cannot write the audit log: {exc.strerror or exc}") from None
        self._prev = digest
        self._dirty = True
        return digest

    def _take_back(self, written: int) -> None:
        """After a failed write (a full disk): cut off the part of the line that was written, so
        that the log still verifies and the next line can follow; if that fails too, refuse every
        later append rather than write after a broken line."""
        if not written:
            return
        start = None
        try:  # the part written is the file's last bytes (appends, under the lock)
            start = os.fstat(self._fd).st_size - written  # type: ignore[arg-type]
            os.ftruncate(self._fd, start)  # type: ignore[arg-type]
        except OSError as exc:
            self._cut = (f"{self.path}: a line was cut off at byte {start} and could not be taken back "
                         f"({exc.strerror or exc}); check it with 'ocsea-match audit verify' and start a new log")

    def rotate(self, entry: dict[str, Any] | None = None) -> tuple[Path, str]:
        """Keep the log so far as ``NAME.YYYYmmddTHHMMSSZ`` and go on in a new ``NAME``, the chain
        unbroken: the old file ends with a ``rotate`` line (``entry``'s fields, ``archived_as``), the
        new one starts with a ``continue`` line (``from``) whose ``prev`` is that line's hash, so
        ``audit verify OLD NEW`` checks both as one chain. Returns the archived file and the hash
        it ends with. No restart, no line lost: appends wait while it runs.

        >>> log = AuditLog("rotating.jsonl")
        >>> _ = log.append({"event": "match"})
        >>> archived, ends_with = log.rotate()
        >>> _ = log.append({"event": "match"})
        >>> log.close()
        >>> verify(archived).ok, verify("rotating.jsonl").continues_from == ends_with
        (True, True)
        """
        with self._lock:
            if self._fd is None:
                raise AuditError(f"{self.path}: the audit log is closed")
            stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
            archived = self.path.with_name(f"{self.path.name}.{stamp}")
            n = 1
            while archived.exists():
                n += 1
                archived = self.path.with_name(f"{self.path.name}.{stamp}-{n}")
            if self._cut is None:  # a log with a cut line is archived as it is (it already fails verify)
                self._write({**(entry or {}), "event": "rotate", "archived_as": archived.name})
            try:
                os.fsync(self._fd)
                os.rename(self.path, archived)
            except OSError as exc:  # the log goes on in the same file, after its rotate line
                raise AuditError(f"{self.path}: cannot rotate the audit log: {exc.strerror or exc}") from None
            try:
                fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_EXCL, 0o600)
            except OSError as exc:
                os.rename(archived, self.path)  # back: the log goes on in the same file
                raise AuditError(f"{self.path}: cannot start a new audit log: {exc.strerror or exc}") from None
            os.close(self._fd)
            self._fd, self._cut, ends_with = fd, None, self._prev
            with self._sync_lock:
                os.close(self._sync_fd)
                self._sync_fd = os.dup(fd)
            self._continues = archived.name
            self._write({"event": "continue", "from": archived.name})  # if this fails, the next append writes it
            self._continues = None
            return archived, ends_with

    def _sync_loop(self) -> None:
        """fsync (its own descriptor of the file, without the appends' lock: appends never wait for
        the disk), at most every second while there are new lines."""
        try:
            while not self._stop.wait(_FSYNC_EVERY):
                if self._dirty:
                    self._dirty = False
                    with self._sync_lock:
                        os.fsync(self._sync_fd)
        finally:
            with self._sync_lock:
                os.close(self._sync_fd)

    @property
    def last_hash(self) -> str:
        return self._prev

    def close(self) -> None:
        """Flush and fsync; later appends raise ``AuditError``."""
        self._stop.set()
        self._syncer.join()
        with self._lock:
            if self._fd is not None:
                os.fsync(self._fd)
                os.close(self._fd)
                self._fd = None


@dataclass(frozen=True)
class VerifyResult:
    ok: bool
    lines: int
    broken_line: int | None
    message: str
    last_hash: str
    continues_from: str | None = None  # the hash a rotated log's first line follows (the log before it ends with it)


def verify(path: str | Path) -> VerifyResult:
    """Check the whole chain; the first broken line (1-based) and why, or ``ok``. A log that starts
    with a ``continue`` line (``AuditLog.rotate``) follows the hash in that line's ``prev``:
    ``continues_from``, which ``verify_files`` checks against the log before it."""
    prev = GENESIS
    number = 0
    start: str | None = None
    with open(path, "rb") as f:
        for number, raw in enumerate(f, 1):
            if not raw.endswith(b"\n"):
                return VerifyResult(False, number, number, f"line {number}: cut off (no end of line)", prev, start)
            try:
                entry = json.loads(raw)
                stored = entry.pop("hash")
            except (ValueError, KeyError, TypeError, AttributeError):
                return VerifyResult(False, number, number, f"line {number}: not a JSON object with a hash", prev, start)
            if not isinstance(entry, dict) or _seal(entry)[1] != stored:
                return VerifyResult(False, number, number, f"line {number}: altered (its hash does not match its content)",
                                    prev, start)
            if number == 1 and entry.get("event") == "continue" and isinstance(entry.get("prev"), str):
                start = prev = entry["prev"]
            if entry.get("prev") != prev:
                return VerifyResult(False, number, number,
                                    f"line {number}: does not follow line {number - 1} (a line was altered, removed "
                                    "or inserted before it)", prev, start)
            prev = stored
    after = f"; continues the log that ends with {start}" if start else ""
    return VerifyResult(True, number, None, f"{number} lines, chain intact{after}; last hash {prev}", prev, start)


def verify_files(paths: list[str | Path]) -> list[VerifyResult]:
    """``verify`` each log, oldest first, and check that each one continues the one before it (its
    ``continue`` line follows that log's last hash): a rotated log and its successors as one chain.
    Stops at the first file that fails.

    >>> log = AuditLog("audit.jsonl")
    >>> older, _ = log.rotate()
    >>> log.close()
    >>> [r.ok for r in verify_files([older, "audit.jsonl"])], verify_files(["audit.jsonl", older])[-1].ok
    ([True, True], False)
    """
    results: list[VerifyResult] = []
    for path in paths:
        result = verify(path)
        if result.ok and results and result.continues_from != results[-1].last_hash:
            result = VerifyResult(False, result.lines, 1, "line 1: does not continue the log before it (that one ends "
                                  f"with {results[-1].last_hash}; a log is missing between them, or they are out of order)",
                                  result.last_hash, result.continues_from)
        results.append(result)
        if not result.ok:
            break
    return results
