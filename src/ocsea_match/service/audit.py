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
VerifyResult(ok=True, lines=1, broken_line=None, message='1 lines, chain intact; ...', last_hash='...')
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

__all__ = ["AuditLog", "AuditError", "VerifyResult", "verify", "GENESIS"]

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
        self._stop = threading.Event()
        self._syncer = threading.Thread(target=self._sync_loop, args=(os.dup(self._fd),), name="audit-fsync", daemon=True)
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

    def _sync_loop(self, fd: int) -> None:
        """fsync (its own descriptor of the file, no lock held: appends never wait for the disk),
        at most every second while there are new lines."""
        try:
            while not self._stop.wait(_FSYNC_EVERY):
                if self._dirty:
                    self._dirty = False
                    os.fsync(fd)
        finally:
            os.close(fd)

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


def verify(path: str | Path) -> VerifyResult:
    """Check the whole chain; the first broken line (1-based) and why, or ``ok``."""
    prev = GENESIS
    number = 0
    with open(path, "rb") as f:
        for number, raw in enumerate(f, 1):
            if not raw.endswith(b"\n"):
                return VerifyResult(False, number, number, f"line {number}: cut off (no end of line)", prev)
            try:
                entry = json.loads(raw)
                stored = entry.pop("hash")
            except (ValueError, KeyError, TypeError):
                return VerifyResult(False, number, number, f"line {number}: not a JSON object with a hash", prev)
            if not isinstance(entry, dict) or _seal(entry)[1] != stored:
                return VerifyResult(False, number, number, f"line {number}: altered (its hash does not match its content)", prev)
            if entry.get("prev") != prev:
                return VerifyResult(False, number, number,
                                    f"line {number}: does not follow line {number - 1} (a line was altered, removed "
                                    "or inserted before it)", prev)
            prev = stored
    return VerifyResult(True, number, None, f"{number} lines, chain intact; last hash {prev}", prev)
