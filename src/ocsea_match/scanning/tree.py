"""Records for walked entries, and ``hash_tree``: what ``ocsea-match hash`` and ``match`` run.

Every command walks with ``walk.walk`` (one walker in the project): a folder that cannot be
listed, a file past PATH_MAX, a link or a FIFO each get a record, so nothing under the paths
given is silently left out.

>>> import os, tempfile
>>> with tempfile.TemporaryDirectory() as folder:
...     _ = open(os.path.join(folder, "notes.txt"), "w").write("not a picture")
...     os.symlink("notes.txt", os.path.join(folder, "link"))
...     print([(os.path.basename(r["path"]), r["error"]["code"]) for r in hash_tree([folder], ["pdq"])])
[('link', 'symlink'), ('notes.txt', 'not-media')]
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from ..errors import MediaError
from ..files import DEFAULT_FILE_TIME_LIMIT, hash_file
from ..hashers import DEFAULT_ALGORITHMS
from ..options import HashOptions
from ..parallel import TimeLimited, process_map
from ..records import FileRecord, crashed_record as _crashed_path, new_record
from .walk import Entry, walk

__all__ = ["entry_record", "crashed_record", "hash_tree"]

_KINDS = {"symlink": ("skipped", "symlink"), "special": ("skipped", "special-file"),
          "unreadable": ("error", "unreadable"), "missing": ("error", "not-found")}


def entry_record(entry: Entry) -> FileRecord:
    """The record of a walked entry that is not a regular file (a link, a FIFO, a folder that
    cannot be listed, a path that does not exist)."""
    record = new_record(entry.path)
    record["status"], code = _KINDS[entry.kind]
    message = {"symlink": "a symbolic link, not followed", "special": f"a {entry.detail}, not opened"}.get(
        entry.kind, entry.detail)
    if entry.kind == "symlink":
        record["link"] = entry.detail
    record["error"] = MediaError(code, message).to_json()
    return record


def crashed_record(entry: Entry) -> FileRecord:
    """The record of a file whose worker died twice on it (a crash, or past the time limit)."""
    return _crashed_path(entry.path, DEFAULT_FILE_TIME_LIMIT)


def _hash_entry(entry: Entry, options: HashOptions) -> FileRecord:
    if entry.kind != "file":
        return entry_record(entry)
    return hash_file(entry.path, options=options)


def hash_tree(
    paths: Iterable[str],
    algorithms: Iterable[str] | str = DEFAULT_ALGORITHMS,
    *,
    jobs: int = 1,
    executor: Any = None,
    **options: Any,
) -> Iterator[FileRecord]:
    """One record per entry under ``paths`` (folders walked as the scan walks them), in order.

    Options are ``hash_file``'s keywords or ``options=HashOptions(...)`` (``mode`` defaults to
    ``"fast"``, as in ``hash_files``); ``executor``: a cluster to hash on instead of ``jobs``
    processes (``hash_files``).
    """
    settled = options.pop("options", None)
    if settled is None:
        options.setdefault("mode", "fast")
        settled = HashOptions((algorithms,) if isinstance(algorithms, str) else tuple(algorithms), **options)
    elif options:
        raise TypeError(f"options= replaces the keywords {sorted(options)}")
    work: Callable[[Entry], FileRecord] = functools.partial(_hash_entry, options=settled)
    if executor is not None:  # on a cluster: ocsea_match.cluster
        from ..cluster import executor_map
        yield from executor_map(work, walk(list(paths)), executor, on_crash=crashed_record,
                                file_time_limit=DEFAULT_FILE_TIME_LIMIT)
        return
    if jobs > 1:
        work = TimeLimited(work, DEFAULT_FILE_TIME_LIMIT)
    yield from process_map(work, walk(list(paths)), jobs=jobs, on_crash=crashed_record)
