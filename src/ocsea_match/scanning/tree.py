"""Records for walked entries, and ``hash_tree``: what ``ocsea-match hash`` and ``match`` run.

Every command walks with ``walk.walk`` (one walker in the project): a folder that cannot be
listed, a file past PATH_MAX, a link or a FIFO each get a record, so nothing under the paths
given is silently left out.

>>> for record in hash_tree(["evidence/"], ["pdq"], jobs=2):  # doctest: +SKIP
...     print(record["path"], record["status"])
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from ..errors import MediaError
from ..files import DEFAULT_FILE_TIME_LIMIT, _new_record, hash_file
from ..hashers import DEFAULT_ALGORITHMS, _check_algorithms, _draft_for
from ..parallel import TimeLimited, process_map
from .walk import Entry, walk

__all__ = ["entry_record", "crashed_record", "hash_tree"]

_KINDS = {"symlink": ("skipped", "symlink"), "special": ("skipped", "special-file"),
          "unreadable": ("error", "unreadable"), "missing": ("error", "not-found")}


def entry_record(entry: Entry) -> dict[str, Any]:
    """The record of a walked entry that is not a regular file (a link, a FIFO, a folder that
    cannot be listed, a path that does not exist)."""
    record = _new_record(entry.path)
    record["status"], code = _KINDS[entry.kind]
    message = {"symlink": "a symbolic link, not followed", "special": f"a {entry.detail}, not opened"}.get(
        entry.kind, entry.detail)
    if entry.kind == "symlink":
        record["link"] = entry.detail
    record["error"] = MediaError(code, message).to_json()
    return record


def crashed_record(entry: Entry) -> dict[str, Any]:
    """The record of a file whose worker died twice on it (a crash, or past the time limit)."""
    record = _new_record(entry.path)
    record["error"] = MediaError(
        "worker-crashed", "the worker process died while hashing this file, twice (once in the batch, once "
        f"alone): a crash, or the file kept it busy past the per-file limit of {DEFAULT_FILE_TIME_LIMIT} s",
    ).to_json()
    return record


def _hash_entry(entry: Entry, **options: Any) -> dict[str, Any]:
    if entry.kind != "file":
        return entry_record(entry)
    return hash_file(entry.path, **options)


def hash_tree(
    paths: Iterable[str],
    algorithms: Iterable[str] | str = DEFAULT_ALGORITHMS,
    *,
    jobs: int = 1,
    executor: Any = None,
    **options: Any,
) -> Iterator[dict[str, Any]]:
    """One record per entry under ``paths`` (folders walked as the scan walks them), in order.

    Options go to ``hash_file`` (``mode`` defaults to ``"fast"``, as in ``hash_files``);
    ``executor``: a cluster to hash on instead of ``jobs`` processes (``hash_files``).
    """
    names = _check_algorithms(algorithms)
    options.setdefault("mode", "fast")
    _draft_for(options["mode"], names)
    work: Callable[[Entry], dict[str, Any]] = functools.partial(_hash_entry, algorithms=names, **options)
    if executor is not None:  # on a cluster: ocsea_match.cluster
        from ..cluster import executor_map
        yield from executor_map(work, walk(list(paths)), executor, on_crash=crashed_record, file_time_limit=DEFAULT_FILE_TIME_LIMIT)
        return
    if jobs > 1:
        work = TimeLimited(work, DEFAULT_FILE_TIME_LIMIT)
    yield from process_map(work, walk(list(paths)), jobs=jobs, on_crash=crashed_record)
