"""``hash_files``: many files hashed in worker processes (or on a cluster), records streamed back.

A module of its own that imports nothing heavy at its top: with ``jobs > 1`` the pool's fork
server is started first (``parallel.start_early``), so that it imports NumPy, Pillow and the
native core on the other core while this process imports them for itself, not after it: about
0.2 s of CPU off a cold two-job run. ``files.hash_files`` is this same function.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable, Iterable, Iterator
from typing import TYPE_CHECKING, Any

from .algorithms import DEFAULT_ALGORITHMS, modules_for
from .parallel import TimeLimited, process_map, start_early
from .records import crashed_record

if TYPE_CHECKING:
    from .records import FileRecord

__all__ = ["DEFAULT_FILE_TIME_LIMIT", "hash_files"]

#: Seconds one file may keep a worker process busy (``hash_files``/scan with ``jobs > 1``).
DEFAULT_FILE_TIME_LIMIT = 900


def hash_files(
    paths: Iterable[str | os.PathLike[str]],
    algorithms: Iterable[str] | str = DEFAULT_ALGORITHMS,
    *,
    jobs: int = 1,
    ordered: bool = True,
    file_time_limit: int | None = DEFAULT_FILE_TIME_LIMIT,
    executor: Any = None,
    **options: Any,
) -> Iterator[FileRecord]:
    """Hash many files, yielding one file record per file as soon as it is ready.

    ``jobs > 1`` hashes in that many worker processes (at most the CPU count: more is lowered, with
    a note on standard error; workers end with the calling process); a worker that dies is replaced and the
    file that killed it gets an error record (``worker-crashed``). At most ``16 * jobs`` files are
    in flight or waiting for their turn, so memory stays bounded on any number of files. ``ordered=False`` yields records
    as they finish instead of in input order. Other options go to ``hash_file`` (its keywords, or
    ``options=HashOptions(...)``); unlike there, ``mode`` defaults to ``"fast"`` here, as batch work does. With ``jobs > 1`` a file that
    keeps its worker busy for more than ``file_time_limit`` seconds (a decoder stuck on a
    poisoned file) ends that worker and gets a ``worker-crashed`` record; the batch goes on.
    ``executor``: a Dask ``Client``, an ``ocsea_match.cluster.Cluster`` or any ``Executor`` runs the
    files there in shards instead (``jobs`` is then unused; ``ocsea_match.cluster.executor_map``).

    >>> [r["error"]["code"] for r in hash_files(["/no/such.jpg", "/"], ["pdq"])]
    ['not-found', 'is-directory']
    """
    names = (algorithms,) if isinstance(algorithms, str) else tuple(algorithms)
    if jobs > 1 and executor is None:
        # the fork server imports the hashing stack on the other core while this process imports
        # it for itself just below, instead of after it
        start_early(jobs, modules_for(names))
    from .files import hash_file, worker_modules
    from .options import HashOptions

    skip = options.pop("skip", None)
    settled = options.pop("options", None)
    if settled is None:
        options.setdefault("mode", "fast")
        settled = HashOptions(names, **options)
    elif options:
        raise TypeError(f"options= replaces the keywords {sorted(options)}")
    work: Callable[[Any], FileRecord] = functools.partial(hash_file, options=settled, skip=skip)
    if executor is not None:  # on a cluster: ocsea_match.cluster
        from .cluster import executor_map
        yield from executor_map(work, paths, executor, on_crash=crashed_record, ordered=ordered,
                                file_time_limit=file_time_limit)
        return
    if jobs > 1 and file_time_limit:
        work = TimeLimited(work, file_time_limit)
    yield from process_map(work, paths, jobs=jobs, on_crash=crashed_record, ordered=ordered,
                           preload=worker_modules(settled))
