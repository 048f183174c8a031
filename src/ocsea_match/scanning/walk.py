"""Walking seized folders: every entry once, in a stable order, nothing followed out of the tree.

Symbolic links are never followed: a link's target is either inside a source (and then scanned
at its own path) or outside it (and then not evidence we may read), so following adds nothing but
duplicates, loops and escapes. Devices, FIFOs and sockets are reported, never opened (opening a
FIFO blocks). Folders are listed, and files read, with ``O_NOATIME`` where the OS allows, so
access times stay as they were; only a link's own access time may change (Linux updates it on
every ``readlink``, which reporting the target needs). Names are kept as the OS gives them (``str`` with surrogate escapes for bytes that
are not UTF-8), and ``display_path``/``path_hex`` report them losslessly.

>>> import tempfile
>>> with tempfile.TemporaryDirectory() as folder:
...     _ = open(os.path.join(folder, "a.jpg"), "wb").write(b"x")
...     os.symlink("/etc/passwd", os.path.join(folder, "b"))
...     print([(entry.kind, os.path.basename(entry.path)) for entry in walk([folder])])
[('file', 'a.jpg'), ('symlink', 'b')]
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from ..files import open_evidence
from ..paths import display_path, path_hex

__all__ = ["Entry", "list_folder", "walk", "display_path", "path_hex", "is_inside"]


@dataclass(frozen=True)
class Entry:
    """One walked path. ``kind``: ``file``, ``symlink``, ``special``, ``unreadable`` or ``missing``."""

    path: str
    kind: str
    size: int = 0
    detail: str = ""  # a link's target, a special file's type, an OS error's text
    mtime_ns: int | None = None  # a regular file's modification time (lstat), for the case report's timeline


def is_inside(path: str, roots: Iterable[str]) -> bool:
    """Whether ``path`` (resolved) is one of ``roots`` (resolved) or under one."""
    real = os.path.realpath(path)
    for root in roots:
        r = os.path.realpath(root)
        if real == r or real.startswith(r.rstrip(os.sep) + os.sep):
            return True
    return False


def _special_kind(mode: int) -> str:
    for test, name in ((stat.S_ISFIFO, "FIFO"), (stat.S_ISSOCK, "socket"), (stat.S_ISCHR, "character device"),
                       (stat.S_ISBLK, "block device")):
        if test(mode):
            return name
    return "special file"


def _link_entry(path: str, roots: list[str]) -> Entry:
    try:
        folder = open_evidence(os.path.dirname(path) or ".", directory=True)  # any depth
        try:
            target = os.readlink(os.path.basename(path), dir_fd=folder)
            try:
                os.stat(target, dir_fd=folder)  # where the link leads, resolved from its folder
                exists = True
            except OSError:
                exists = False
        finally:
            os.close(folder)
    except OSError as exc:
        return Entry(path, "symlink", detail=f"unreadable link: {exc.strerror or exc}")
    where = os.path.join(os.path.dirname(path), target)
    if not exists:
        place = "dangling"
    elif is_inside(where, roots):
        place = "inside the source, scanned at its own path"
    else:
        place = "outside the source, not read"
    return Entry(path, "symlink", detail=f"-> {display_path(target)} ({place})")


def list_folder(folder: str) -> list[tuple[str, os.stat_result | OSError]]:
    """A folder's entries (name, lstat or the error), sorted by their bytes, read without
    touching the folder's access time where the OS allows (``O_NOATIME`` on the folder)."""
    fd = open_evidence(folder, directory=True)
    try:
        out: list[tuple[str, os.stat_result | OSError]] = []
        with os.scandir(fd) as it:
            for child in it:
                try:
                    out.append((child.name, child.stat(follow_symlinks=False)))
                except OSError as exc:
                    out.append((child.name, exc))
    finally:
        os.close(fd)
    out.sort(key=lambda item: os.fsencode(item[0]))
    return out


def walk(sources: Iterable[str]) -> Iterator[Entry]:
    """Every entry under the sources, depth first, names sorted by their bytes.

    A source given as a symbolic link is resolved (the examiner named it); the same folder given
    twice, or reached again through a bind mount, is walked once.
    """
    roots = [os.fspath(s) for s in sources]
    seen_dirs: set[tuple[int, int]] = set()
    for root in roots:
        try:
            st = os.stat(root)
        except FileNotFoundError:
            yield Entry(root, "missing", detail="no such file or folder")
            continue
        except OSError as exc:
            yield Entry(root, "unreadable", detail=exc.strerror or str(exc))
            continue
        if stat.S_ISDIR(st.st_mode):
            yield from _walk_dir(root, st, roots, seen_dirs)
        elif stat.S_ISREG(st.st_mode):
            yield Entry(root, "file", st.st_size, mtime_ns=st.st_mtime_ns)
        else:
            yield Entry(root, "special", detail=_special_kind(st.st_mode))


def _walk_dir(top: str, top_stat: os.stat_result, roots: list[str], seen: set[tuple[int, int]]) -> Iterator[Entry]:
    stack: list[tuple[str, os.stat_result]] = [(top, top_stat)]
    while stack:
        folder, st = stack.pop()
        key = (st.st_dev, st.st_ino)
        if key in seen:
            continue
        seen.add(key)
        try:
            children = list_folder(folder)
        except OSError as exc:
            yield Entry(folder, "unreadable", detail=f"cannot list the folder: {exc.strerror or exc}")
            continue
        subfolders: list[tuple[str, os.stat_result]] = []
        for name, cst in children:
            path = os.path.join(folder, name)
            if isinstance(cst, OSError):
                yield Entry(path, "unreadable", detail=cst.strerror or str(cst))
            elif stat.S_ISLNK(cst.st_mode):
                yield _link_entry(path, roots)
            elif stat.S_ISDIR(cst.st_mode):
                subfolders.append((path, cst))
            elif stat.S_ISREG(cst.st_mode):
                yield Entry(path, "file", cst.st_size, mtime_ns=cst.st_mtime_ns)
            else:
                yield Entry(path, "special", detail=_special_kind(cst.st_mode))
        stack.extend(reversed(subfolders))  # files of a folder first, then its subfolders in order
