"""A crash-tolerant, bounded process map: the engine under ``hash_files(jobs=N)`` and the scan.

Hashing hostile files in worker processes protects the caller from a decoder that crashes. This
map streams results as they are made, keeps at most ``window`` items in flight or waiting to be
yielded (bounded memory whatever the input length), can keep input order, and survives a worker
dying: when the pool breaks, every item that was in flight is re-run alone in a fresh one-worker
pool, so the innocent ones get their real result and only the item that kills its worker again
is reported through ``on_crash``. Nothing is lost and nothing is yielded twice.

>>> list(process_map(abs, [-1, -2, 3], jobs=1, on_crash=lambda x: None))
[1, 2, 3]
"""

from __future__ import annotations

import importlib
import multiprocessing
import os
import re
import select
import signal
import sys
import threading
import time
import warnings
from collections.abc import Callable, Generator, Iterable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from typing import Any, TypeVar

__all__ = [
    "process_map", "default_jobs", "usable_jobs", "TimeLimited", "WorkersCannotStart", "new_pool", "run_alone", "discard",
    "drain_ready", "worker_context", "start_early",
]

T = TypeVar("T")
R = TypeVar("R")


class TimeLimited:
    """``fn`` with a wall-clock bound, for worker processes: past ``seconds`` the kernel ends the
    worker (SIGALRM, default action), however deep in a decoder's C code it is stuck, and the
    process map reports the item through ``on_crash``. Where there is no SIGALRM (Windows) it is
    ``fn`` unbounded. Never use it in the caller's own process: it would end that process.
    """

    def __init__(self, fn: Callable[[T], R], seconds: int) -> None:
        self.fn, self.seconds = fn, max(1, int(seconds))

    def __call__(self, item: Any) -> Any:
        if not hasattr(signal, "SIGALRM"):
            return self.fn(item)
        signal.signal(signal.SIGALRM, signal.SIG_DFL)
        signal.alarm(self.seconds)
        try:
            return self.fn(item)
        finally:
            signal.alarm(0)


def default_jobs() -> int:
    """The number of cores this process may run on (its CPU affinity, not the machine's count)."""
    count = getattr(os, "process_cpu_count", None)  # Python 3.13+
    if count is not None:
        return max(1, count() or 1)
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


def usable_jobs(jobs: int, *, say: bool = True) -> int:
    """``jobs`` lowered to the CPU count (``default_jobs``), saying so on standard error.

    More worker processes than cores only add memory and start-up time (each holds the decoders
    and a picture), so ``--jobs 1000`` on two cores runs two. The one place where every command
    (``hash``, ``match``, ``scan``) and the API (``hash_files``, ``scan``, ``run_scan``) is clamped.

    >>> usable_jobs(1)
    1
    """
    cpus = default_jobs()
    if jobs <= cpus:
        return max(1, jobs)
    if say:
        print(f"ocsea-match: {jobs} jobs asked for, {cpus} used: this process may run on {cpus} "
              f"CPU{'s' if cpus != 1 else ''}, and more workers than that only cost memory and start-up time",
              file=sys.stderr)
    return cpus


#: What every worker imports before its first item, in the fork server (so each worker starts as a
#: fork of a process that has it): the file-hashing stack (NumPy, Pillow and its picture plugins,
#: the native core); and none of the scan, index, report, video or service modules, nor OpenCV
#: or SciPy, which a worker imports only when a file or an algorithm needs them (``preload``).
WORKER_PRELOAD: tuple[str, ...] = ("ocsea_match.files",)


def worker_context(preload: Sequence[str] = ()) -> Any:
    """The multiprocessing context the pool starts its workers with (a fork server, else spawn)."""
    # forkserver: workers start from a clean single-threaded server, so no lock held by another
    # thread (OpenMP, FAISS, the caller's) is inherited mid-state as it can be with fork. The
    # server imports the hashing stack once, so a new or replacement worker starts in
    # milliseconds instead of re-importing NumPy and Pillow. Its list is read once, when the
    # server starts (the first pool of this process); _worker_start imports a later pool's
    # modules itself.
    methods = multiprocessing.get_all_start_methods()
    if "forkserver" in methods:
        ctx = multiprocessing.get_context("forkserver")
        ctx.set_forkserver_preload(["__main__", *_modules(preload)])
        return ctx
    return multiprocessing.get_context("spawn")


def start_early(jobs: int, preload: Sequence[str] = ()) -> bool:
    """Start the fork server now, in the background, when ``jobs`` workers will be wanted: it
    imports the hashing stack (~0.2 s of CPU) on the other core while this process does its own
    set-up (reading lists, opening an index, walking the sources), instead of after it. Returns
    whether it started one; a later pool uses it (its own extra ``preload`` is then imported by
    each worker as it starts). A no-op with one job, without a fork server, or when it runs.

    >>> start_early(1)
    False
    """
    if usable_jobs(jobs, say=False) <= 1 or "forkserver" not in multiprocessing.get_all_start_methods():
        return False
    worker_context(preload)
    from multiprocessing import forkserver

    forkserver.ensure_running()  # spawns the server and returns; the server imports in the background
    return True


def _modules(preload: Sequence[str]) -> list[str]:
    return list(dict.fromkeys((*WORKER_PRELOAD, *preload)))


def new_pool(
    workers: int, initializer: Callable[..., None] | None, initargs: tuple, preload: Sequence[str] = (),
) -> ProcessPoolExecutor:
    """A process pool whose workers end with this process and keep its warning filters
    (``initializer(*initargs)`` runs in each after that). ``preload``: modules the work needs
    beyond ``WORKER_PRELOAD`` (e.g. ``"ocsea_match.dct"`` for pHash), imported once in the fork
    server when this pool starts it, else by each worker as it starts."""
    return ProcessPoolExecutor(
        max_workers=workers, mp_context=worker_context(preload), initializer=_worker_start,
        initargs=(os.getpid(), _portable_filters(), _modules(preload), initializer, initargs),
    )


def _worker_start(parent: int, filters: list[tuple[str, str, str, str, int]], preload: list[str],
                  initializer: Callable[..., None] | None, initargs: tuple) -> None:
    """Every worker's first act: die with the process that made the pool, take its warning
    filters (so that ``ocsea-match``'s "no library warning on the terminal" holds in workers
    too), import what the work needs (nothing to do when the fork server had it), then the
    caller's own initializer."""
    _die_with(parent)
    _apply_filters(filters)
    for name in preload:
        importlib.import_module(name)
    if initializer is not None:
        initializer(*initargs)


def _die_with(pid: int) -> None:
    """End this process within about a second of process ``pid`` ending, however it ends (kill -9
    included). A worker's parent is the fork server, not the caller, and the worker holds its task
    queue's pipe open itself, so without this watch workers, fork server and resource tracker
    outlive a killed caller forever, holding its standard output open. Linux ``pidfd_open`` wakes
    the watch at once; elsewhere it checks every half second."""
    try:
        fd: int | None = os.pidfd_open(pid)  # type: ignore[attr-defined]
    except ProcessLookupError:
        os._exit(70)  # the caller is already gone
    except (AttributeError, OSError):
        fd = None

    def watch() -> None:
        if fd is not None:
            select.select([fd], [], [])  # readable once the process has ended
        else:
            while _alive(pid):
                time.sleep(0.5)
        os._exit(70)

    threading.Thread(target=watch, name="ocsea-parent-watch", daemon=True).start()


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _portable_filters() -> list[tuple[str, str, str, str, int]]:
    """The warning filters as plain strings (any filter travels to a worker, whatever it holds)."""
    out = []
    for action, message, category, module, lineno in warnings.filters:
        out.append((action, getattr(message, "pattern", message) or "", f"{category.__module__}:{category.__qualname__}",
                    getattr(module, "pattern", module) or "", lineno))
    return out


def _apply_filters(filters: list[tuple[str, str, str, str, int]]) -> None:
    rebuilt = []
    for action, message, category_name, module, lineno in filters:
        module_name, _, qualname = category_name.partition(":")
        try:
            category: Any = importlib.import_module(module_name)
            for part in qualname.split("."):
                category = getattr(category, part)
        except (ImportError, AttributeError):
            continue  # a warning class only the caller knows: its filter cannot apply here anyway
        rebuilt.append((action, re.compile(message, re.I) if message else None, category,
                        re.compile(module) if module else None, lineno))
    warnings.filters[:] = rebuilt
    mutated = getattr(warnings, "_filters_mutated", None)  # invalidates the "already warned" caches
    if mutated is not None:
        mutated()


class WorkersCannotStart(RuntimeError):
    """Worker processes die before doing any work: a set-up problem, not a bad file."""


def discard(pool: ProcessPoolExecutor) -> None:
    """Shut a broken pool down without waiting, and end its surviving workers.

    A survivor of a broken pool can sit forever in its task queue's get() (CPython 3.11 joins it
    instead of terminating it), which then hangs the interpreter at exit.
    """
    for proc in list((getattr(pool, "_processes", None) or {}).values()):
        try:
            proc.terminate()
        except (OSError, ValueError):  # already gone
            pass
    pool.shutdown(wait=False, cancel_futures=True)
    # Let the broken pool's manager thread finish closing its pipes before a new pool opens
    # its own: closing late, it could close a descriptor number the new pool has just reused,
    # and the fork server then dies on a half-sent request (seen ~1 run in 12 of the tests).
    manager = getattr(pool, "_executor_manager_thread", None)
    if manager is not None:
        manager.join(timeout=10)


def _canary() -> int:
    return os.getpid()


def _workers_can_start(initializer: Callable[..., None] | None, initargs: tuple, preload: Sequence[str] = ()) -> bool:
    pool = new_pool(1, initializer, initargs, preload)
    try:
        pool.submit(_canary).result()
        return True
    except BrokenProcessPool:
        return False
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def run_alone(
    fn: Callable[[T], R], item: T, initializer: Callable[..., None] | None, initargs: tuple,
    preload: Sequence[str] = (),
) -> tuple[bool, R | None]:
    """``(True, result)``, or ``(False, None)`` when the item's worker died."""
    pool = new_pool(1, initializer, initargs, preload)
    try:
        return True, pool.submit(fn, item).result()
    except BrokenProcessPool:
        return False, None
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def drain_ready(ready: dict[int, R], next_out: int, ordered: bool) -> Generator[R, None, int]:
    """Yield the results that are ready: in input order from ``next_out`` on (``ordered``), or all
    of them; returns the new ``next_out``. The one output rule of ``process_map`` and the cluster's
    ``executor_map``.

    >>> ready = {0: "a", 2: "c"}
    >>> list(drain_ready(ready, 0, ordered=True)), ready
    (['a'], {2: 'c'})
    """
    if ordered:
        while next_out in ready:
            yield ready.pop(next_out)
            next_out += 1
    else:
        for idx in sorted(ready):
            yield ready.pop(idx)
            next_out += 1
    return next_out


def process_map(
    fn: Callable[[T], R],
    items: Iterable[T],
    *,
    jobs: int,
    on_crash: Callable[[T], R],
    ordered: bool = True,
    window: int | None = None,
    initializer: Callable[..., None] | None = None,
    initargs: tuple = (),
    preload: Sequence[str] = (),
) -> Iterator[R]:
    """Yield ``fn(item)`` for every item, computed in ``jobs`` worker processes.

    ``fn`` must be a picklable module-level function that does not raise for bad input (it
    returns an error value instead); ``on_crash(item)`` makes the value for an item whose worker
    died. ``jobs <= 1`` runs in this process (no crash protection, no start-up cost).
    ``preload``: modules ``fn`` needs besides ``WORKER_PRELOAD`` (see ``new_pool``).
    ``window`` (default ``16 * jobs``): items submitted but not yet yielded, results waiting for
    their turn included; of them at most ``2 * jobs`` are with the pool at once (what a broken
    pool makes suspects). A wide window keeps every worker busy behind one slow item in ordered
    mode: replaying the corpus's per-file times (101 pictures, two jobs), a window of 8 ends 3.6%
    after the ideal split, one of 32 0.4%.
    """
    jobs = usable_jobs(jobs)
    if jobs <= 1:
        for item in items:
            yield fn(item)
        return
    window = window or 16 * jobs
    in_pool = 2 * jobs  # one running and one queued a worker: a broken pool re-runs only these alone
    source = iter(items)
    pool = new_pool(jobs, initializer, initargs, preload)
    pending: dict[Future[R], tuple[int, T]] = {}
    ready: dict[int, R] = {}
    next_in = 0  # index of the next item to submit
    next_out = 0  # index of the next result to yield (ordered mode)
    exhausted = False
    workers_ok = False  # a worker has once done its job, so a dead worker means a bad item
    try:
        while True:
            suspects: list[tuple[int, T]] = []  # in flight when the pool broke
            # keep the window full: items in flight plus results waiting for their turn
            while not exhausted and next_in - next_out < window and len(pending) < in_pool:
                try:
                    item = next(source)
                except StopIteration:
                    exhausted = True
                    break
                try:
                    pending[pool.submit(fn, item)] = (next_in, item)
                except BrokenProcessPool:  # the pool broke since the last wait
                    suspects.append((next_in, item))
                    next_in += 1
                    break
                next_in += 1
            if not pending and not ready and not suspects:
                break
            if pending and not suspects:
                done, _ = wait(pending, return_when=FIRST_COMPLETED)
                for fut in done:
                    idx, item = pending.pop(fut)
                    exc = fut.exception()
                    if isinstance(exc, BrokenProcessPool):
                        suspects.append((idx, item))
                    elif exc is not None:
                        raise exc
                    else:
                        ready[idx] = fut.result()
                        workers_ok = True
            if suspects:
                # the pool is dead: collect what finished, re-run the rest one by one
                for fut, (idx, item) in list(pending.items()):
                    if fut.done() and fut.exception() is None:
                        ready[idx] = fut.result()
                    else:
                        suspects.append((idx, item))
                pending.clear()
                discard(pool)
                for idx, item in sorted(suspects, key=lambda s: s[0]):
                    ok, result = run_alone(fn, item, initializer, initargs, preload)
                    if ok:
                        workers_ok = True
                        ready[idx] = result  # type: ignore[assignment]
                        continue
                    if not workers_ok:
                        # is it this item, or can no worker start at all?
                        if not _workers_can_start(initializer, initargs, preload):
                            raise WorkersCannotStart(
                                "worker processes die before doing any work; a script that "
                                "uses jobs > 1 needs an 'if __name__ == \"__main__\":' guard"
                            )
                        workers_ok = True
                    ready[idx] = on_crash(item)
                pool = new_pool(jobs, initializer, initargs, preload)
            next_out = yield from drain_ready(ready, next_out, ordered)
    finally:
        pool.shutdown(wait=False, cancel_futures=True)
