"""Reading evidence: the one way a path is opened (read-only, ``O_NOATIME``, any depth) and the
one set of error records for a path that cannot be read.

>>> import tempfile
>>> with tempfile.NamedTemporaryFile() as f:
...     _ = f.write(b"abc"); f.flush()
...     read_evidence(f.name)
b'abc'
>>> read_evidence("/no/such/file")
Traceback (most recent call last):
ocsea_match.errors.MediaError: no such file
"""

from __future__ import annotations

import os
import stat

from .errors import MediaError

__all__ = ["open_evidence", "open_regular", "read_evidence"]


def open_evidence(path: str | os.PathLike[str], *, directory: bool = False) -> int:
    """Open read-only, without updating the access time where the OS allows it (``O_NOATIME``),
    never blocking on a FIFO, and at any depth: a path longer than the OS takes is opened one
    folder at a time (``openat``), as deep seized trees need."""
    flags = os.O_RDONLY | getattr(os, "O_BINARY", 0) | getattr(os, "O_NONBLOCK", 0)
    if directory:
        flags |= getattr(os, "O_DIRECTORY", 0)
    noatime = getattr(os, "O_NOATIME", 0)
    if noatime:
        try:
            return _open_deep(path, flags | noatime)
        except PermissionError:
            pass  # O_NOATIME needs ownership of the file; fall back to a plain read-only open
    return _open_deep(path, flags)


_SHORT_PATH = 3000  # bytes: under PATH_MAX (4096 on Linux) with room to spare


def _open_deep(path: str | os.PathLike[str], flags: int) -> int:
    raw = os.fsencode(path)
    if len(raw) < _SHORT_PATH or not hasattr(os, "O_DIRECTORY") or os.open not in os.supports_dir_fd:
        return os.open(path, flags)
    head, _, last = raw.rpartition(b"/")
    start = b"/" if raw.startswith(b"/") else b"."
    fd = os.open(start, os.O_RDONLY | os.O_DIRECTORY)
    try:
        for part in head.split(b"/"):
            if part in (b"", b"."):
                continue
            # the walk never follows links, and neither does this: a link swapped in is refused
            inner = os.open(part, os.O_RDONLY | os.O_DIRECTORY | getattr(os, "O_NOFOLLOW", 0), dir_fd=fd)
            os.close(fd)
            fd = inner
        return os.open(last or b".", flags, dir_fd=fd)
    finally:
        os.close(fd)


def open_regular(path: str | os.PathLike[str]) -> tuple[int, os.stat_result]:
    """``open_evidence`` for a file to read: its descriptor and ``fstat``, or a ``MediaError``
    (``not-found``, ``unreadable``, ``is-directory``, ``special-file``: a FIFO or device is never
    read) with the messages every reader of a path gives."""
    try:
        fd = open_evidence(path)
    except FileNotFoundError:
        raise MediaError("not-found", "no such file") from None
    except OSError as exc:
        raise MediaError("unreadable", f"cannot open: {exc.strerror or exc}") from None
    st = os.fstat(fd)
    if not stat.S_ISREG(st.st_mode):
        os.close(fd)
        if stat.S_ISDIR(st.st_mode):
            raise MediaError("is-directory", "a directory, not a file")
        raise MediaError("special-file", "a device, FIFO or socket: not read")
    return fd, st


def read_evidence(path: str | os.PathLike[str]) -> bytes:
    """A whole file's bytes, opened by ``open_regular`` (same errors; a read error is ``unreadable``)."""
    fd, _ = open_regular(path)
    with os.fdopen(fd, "rb", buffering=0) as f:
        try:
            return f.readall()
        except OSError as exc:
            raise MediaError("unreadable", f"read error: {exc.strerror or exc}") from None
