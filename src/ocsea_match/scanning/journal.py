"""records.jsonl as a journal: appended and flushed as records are made, checked on resume.

The records of one walked file (an archive's members, then the archive) are written in one
``write`` call, the walked file's own record last. On resume, a file counts as done only when its
own record is there; member records without their archive's (a scan killed mid-write) and a torn
last line are dropped, so that the job is finished without losing or repeating a record.

>>> import tempfile
>>> with tempfile.TemporaryDirectory() as case:
...     journal = Journal(f"{case}/records.jsonl")
...     journal.write([{"path": "a.zip!/x.jpg", "container_file": "a.zip"}, {"path": "a.zip"}])
...     journal.close()
...     Journal(f"{case}/records.jsonl").resume()  # keys of the files already done
{'a.zip'}
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

__all__ = ["Journal", "record_key", "read_records"]


def record_key(record: dict[str, Any]) -> str:
    """The walked path (as displayed) that a record stands for: its own, or its archive's on disk."""
    return record.get("container_file") or record["path"]


def read_records(path: str | Path) -> Iterator[dict[str, Any]]:
    """The complete records of a journal, in order (a torn last line is left out)."""
    with open(path, "rb") as f:
        for line in f:
            if not line.endswith(b"\n"):
                return
            yield json.loads(line)


class Journal:
    """Append-only JSON lines file of records; ``resume()`` before the first ``write``."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._fd: int | None = None

    def resume(self) -> set[str]:
        """Keys of the walked files whose records are complete; the file cut back to them."""
        if not self.path.exists():
            return set()
        kept: list[bytes] = []
        done: set[str] = set()
        pending: list[tuple[bytes, dict[str, Any]]] = []
        with open(self.path, "rb") as f:
            for line in f:
                if not line.endswith(b"\n"):
                    break  # torn by a kill
                try:
                    record = json.loads(line)
                except (ValueError, RecursionError):
                    break
                if not _is_record(record):
                    break  # not a line this tool wrote: the journal is trusted up to here only
                if "container_file" in record:
                    pending.append((line, record))
                    continue
                key = record_key(record)
                kept += [ln for ln, r in pending if r["container_file"] == key]
                kept.append(line)
                done.add(key)
                pending = []
        tmp = self.path.with_name(self.path.name + ".tmp")
        with open(tmp, "wb") as f:
            f.writelines(kept)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, self.path)
        return done

    def write(self, records: list[dict[str, Any]]) -> None:
        """Append one walked file's records (members first, its own last), flushed to the OS."""
        if self._fd is None:
            self._fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        blob = b"".join(_line(r) for r in records)
        view = memoryview(blob)
        while view:
            written = os.write(self._fd, view)
            view = view[written:]

    def close(self) -> None:
        if self._fd is not None:
            os.fsync(self._fd)
            os.close(self._fd)
            self._fd = None


def _is_record(record: Any) -> bool:
    """A line this tool could have written: an object with a text ``path`` (and a text
    ``container_file`` for an archive member). Found by fuzz/: anything else used to raise."""
    return (isinstance(record, dict) and isinstance(record.get("path"), str)
            and isinstance(record.get("container_file", ""), str))


def _line(record: dict[str, Any]) -> bytes:
    text = json.dumps(record, ensure_ascii=False)
    try:
        return text.encode("utf-8") + b"\n"
    except UnicodeEncodeError:  # a lone surrogate from an undecodable name: escape it, lose nothing
        return json.dumps(record).encode("ascii") + b"\n"
