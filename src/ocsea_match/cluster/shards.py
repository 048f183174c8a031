"""The cluster's map: files in shards over a Dask ``Client`` (or any ``concurrent.futures.Executor``).

``executor_map`` has ``parallel.process_map``'s contract (one result per item, input order kept,
bounded memory, a crash reported through ``on_crash``, nothing lost, nothing yielded twice), but
sends *shards* — batches of items, bounded by count and by bytes — so the scheduler handles one
task per few dozen files instead of one per file, and results stream back as shards finish. When
the number of items is known (a list), shards shrink towards the end (a shard is at most the
remaining items over twice the threads), so no worker idles while another finishes a big one.

Faults. A worker that dies mid-shard (killed, its machine lost, out of memory) loses nothing: the
Dask scheduler re-runs its shard on another worker, and a shard's records come back only whole.
A shard that keeps killing its workers ends with Dask's ``KilledWorker``; it is then split (into
up to ``SPLIT`` parts, again and again) until the file that kills every worker it lands on is
alone. Dask also blames the tasks queued behind it on the dying worker, so an item that fails
alone is run once more as the only suspect in flight; failing again, it gets ``on_crash(item)``
(the same ``worker-crashed`` record as the process pool) while the rest of the shard is hashed. A per-file time limit holds on the workers: a
watchdog thread ends a worker process whose current file has run past it (SIGALRM, which the
process pool uses, cannot be used in a Dask worker's task thread), which is then that file's crash.

>>> from concurrent.futures import ThreadPoolExecutor
>>> list(executor_map(abs, [-1, -2, 3], ThreadPoolExecutor(2), on_crash=lambda x: None))
[1, 2, 3]
"""

from __future__ import annotations

import os
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sized
from concurrent.futures import FIRST_COMPLETED, wait as wait_futures
from dataclasses import dataclass, field
from typing import Any, TypeVar

from ..parallel import drain_ready
from .pathmap import PathMap

__all__ = ["SPLIT", "Cluster", "executor_map", "run_shard"]

T = TypeVar("T")
R = TypeVar("R")

#: A shard that killed its workers is split into at most this many parts, until the culprit is alone.
SPLIT = 8


@dataclass
class Cluster:
    """A Dask ``Client`` (or any ``concurrent.futures.Executor``) with the shard sizes and path map
    to use; what ``hash_files(executor=...)``, ``scan`` and ``run_scan`` accept besides a bare client.

    >>> import os
    >>> from concurrent.futures import ThreadPoolExecutor
    >>> from ocsea_match import hash_files
    >>> here = os.path.abspath("seized")  # the workers would see the same files under /srv/evidence
    >>> with ThreadPoolExecutor(1) as pool:
    ...     cluster = Cluster(pool, path_map=PathMap.parse([f"{here}={here}"]))
    ...     records = list(hash_files([f"{here}/gradient.png"], ["pdq"], executor=cluster))
    >>> records[0]["status"], records[0]["path"] == f"{here}/gradient.png"
    ('ok', True)
    """

    executor: Any
    path_map: PathMap = field(default_factory=PathMap)
    files_per_shard: int = 32
    bytes_per_shard: int = 64 << 20
    address: str | None = None  # the scheduler's, for the provenance

    @classmethod
    def of(cls, executor: Any) -> Cluster:
        """``executor`` itself when it is a ``Cluster``, else a ``Cluster`` with the default shard sizes."""
        return executor if isinstance(executor, Cluster) else cls(executor)

    @property
    def is_dask(self) -> bool:
        """Whether the executor is a ``dask.distributed.Client`` (duck-typed: Dask stays optional)."""
        return hasattr(self.executor, "scheduler_info") and hasattr(self.executor, "nthreads")

    def threads(self) -> int:
        """Worker threads the executor has now (at least 1)."""
        if self.is_dask:
            return max(1, sum(self.executor.nthreads().values()))
        return max(1, int(getattr(self.executor, "_max_workers", 0) or 4))


# --------------------------------------------------------------------------------- on the worker


class _Watchdog:
    """Ends this process when the file a thread is on has run past its deadline.

    One daemon thread per process, started on first use; a no-op in the calling process itself
    (a ``ThreadPoolExecutor`` runs shards there, and ending the caller would lose everything).
    """

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.deadlines: dict[int, float] = {}
        self.pid = 0

    def arm(self, seconds: float) -> None:
        with self.lock:
            if self.pid != os.getpid():  # first use in this process (or a forked child)
                self.pid, self.deadlines = os.getpid(), {}
                threading.Thread(target=self._watch, name="ocsea-file-time-limit", daemon=True).start()
            self.deadlines[threading.get_ident()] = time.monotonic() + seconds

    def disarm(self) -> None:
        with self.lock:
            self.deadlines.pop(threading.get_ident(), None)

    def _watch(self) -> None:
        while True:
            time.sleep(0.2)
            with self.lock:
                late = any(time.monotonic() > deadline for deadline in self.deadlines.values())
            if late:  # stuck in a decoder's C code: nothing but the process's end stops it
                os._exit(70)


_watchdog = _Watchdog()


def run_shard(fn: Callable[[T], R], items: list[T], caller_pid: int, file_time_limit: float | None,
              path_map: PathMap | None = None) -> list[R]:
    """``[fn(item) for item in items]`` on a worker: each item under the time limit (not in the
    caller's own process), its paths mapped to the worker's and the result's mapped back."""
    guard = bool(file_time_limit) and os.getpid() != caller_pid
    out = []
    for item in items:
        if guard:
            _watchdog.arm(float(file_time_limit))  # type: ignore[arg-type]
        try:
            result = fn(path_map.to_remote(item) if path_map else item)
        finally:
            if guard:
                _watchdog.disarm()
        out.append(path_map.to_local(result) if path_map else result)
    return out


# --------------------------------------------------------------------------------- on the client


def _size_of(item: Any) -> int:
    """Bytes an item will read: a walked entry's size, a path's ``stat``; 0 when unknown."""
    size = getattr(item, "size", None)
    if isinstance(size, int):
        return size
    if isinstance(item, (str, bytes, os.PathLike)):
        try:
            return os.stat(item).st_size
        except (OSError, ValueError):
            return 0
    return 0


def _is_killed_worker(exc: BaseException) -> bool:
    return type(exc).__name__ == "KilledWorker"


class _Submitter:
    """Submits shards and hands back finished ones, for a Dask client or an Executor alike."""

    def __init__(self, cluster: Cluster, fn: Callable[[Any], Any], file_time_limit: float | None) -> None:
        self.cluster, self.fn, self.limit = cluster, fn, file_time_limit
        self.pending: dict[Any, tuple[int, list[Any], Any, bool]] = {}
        self.tag = uuid.uuid4().hex[:8]
        self.done_queue: Any = None
        if cluster.is_dask:
            from distributed import as_completed

            self.done_queue = as_completed(loop=cluster.executor.loop)

    def submit(self, first: int, items: list[Any], solo: bool = False) -> None:
        args = (self.fn, items, os.getpid(), self.limit, self.cluster.path_map or None)
        if self.cluster.is_dask:
            future = self.cluster.executor.submit(run_shard, *args, pure=False,
                                                  key=f"ocsea-shard-{self.tag}-{first}-{len(items)}-{uuid.uuid4().hex[:6]}")
            self.done_queue.add(future)
        else:
            future = self.cluster.executor.submit(run_shard, *args)
        self.pending[self._key(future)] = (first, items, future, solo)

    def _key(self, future: Any) -> Any:
        return future.key if self.cluster.is_dask else future

    def finished(self) -> list[tuple[int, list[Any], Any, bool]]:
        """At least one finished shard: ``(first index, items, future, solo)``."""
        if self.cluster.is_dask:
            futures = [next(self.done_queue)]
        else:
            futures = list(wait_futures(list(self.pending), return_when=FIRST_COMPLETED)[0])
        return [self.pending.pop(self._key(f)) for f in futures]

    def cancel(self) -> None:
        for _, _, future, _ in self.pending.values():
            future.cancel()
        self.pending.clear()


def executor_map(
    fn: Callable[[T], R],
    items: Iterable[T],
    executor: Any,
    *,
    on_crash: Callable[[T], R],
    ordered: bool = True,
    file_time_limit: float | None = None,
) -> Iterator[R]:
    """Yield ``fn(item)`` for every item, computed in shards on ``executor``.

    ``executor``: a ``dask.distributed.Client``, a ``Cluster`` (a client with shard sizes and a
    path map) or any ``concurrent.futures.Executor`` (no crash recovery there: a broken executor
    raises). ``fn`` must not raise for bad input; ``on_crash(item)`` makes the value of an item that
    kills every worker it runs on. At most about ``2 * threads + 2`` shards are in flight or waiting
    to be yielded, whatever the input's length.
    """
    cluster = Cluster.of(executor)
    threads = cluster.threads()
    files, size_cap = max(1, cluster.files_per_shard), max(1, cluster.bytes_per_shard)
    total = len(items) if isinstance(items, Sized) else None  # the scan's entries: a known count
    window = (2 * threads + 2) * files
    source = iter(items)
    sub = _Submitter(cluster, fn, file_time_limit)
    ready: dict[int, R] = {}
    suspects: deque[tuple[int, T]] = deque()  # alone, it killed its workers: run again, one at a time
    solo_busy = False
    next_in = next_out = 0
    exhausted = False
    try:
        while True:
            while not exhausted and next_in - next_out < window:
                shard: list[T] = []
                size = 0
                count = files
                if total is not None:  # shards shrink towards the end, so no worker idles while one finishes
                    count = max(1, min(files, -(-(total - next_in) // (2 * threads))))
                while len(shard) < count and size < size_cap:
                    try:
                        item = next(source)
                    except StopIteration:
                        exhausted = True
                        break
                    shard.append(item)
                    size += _size_of(item)
                if shard:
                    sub.submit(next_in, shard)
                    next_in += len(shard)
            if suspects and not solo_busy:
                idx, item = suspects.popleft()
                sub.submit(idx, [item], solo=True)
                solo_busy = True
            if not sub.pending and not ready:
                break
            if sub.pending:
                for first, shard_items, future, solo in sub.finished():
                    solo_busy = solo_busy and not solo
                    exc = future.exception()
                    if exc is None:
                        for offset, result in enumerate(future.result()):
                            ready[first + offset] = result
                    elif not _is_killed_worker(exc):
                        raise exc
                    elif solo:  # it killed its workers again, with no other suspect in flight: the culprit
                        ready[first] = on_crash(shard_items[0])
                    elif len(shard_items) == 1:  # or a task queued on the same worker as the culprit
                        suspects.append((first, shard_items[0]))
                    else:  # split until the item that kills its workers is alone
                        step = -(-len(shard_items) // SPLIT)
                        for start in range(0, len(shard_items), step):
                            sub.submit(first + start, shard_items[start:start + step])
            next_out = yield from drain_ready(ready, next_out, ordered)
    finally:
        sub.cancel()
