"""Uploads are decoded and hashed in worker processes, never on the event loop.

A bounded pool (``Limits.decode_workers`` processes, started through the fork server that
``parallel.py`` uses) runs ``hash_bytes`` on the upload's bytes, which reach the worker through
a pipe (never a file). Each upload is bounded in time by ``parallel.TimeLimited``: past the limit
the kernel ends the worker. When a worker dies (a decoder crash, or the time limit), the pool is
replaced and each upload that was in it is tried once more alone, as ``process_map`` does, so
that only the upload that kills its worker again gets a ``worker-crashed`` record.

>>> pool = DecodePool(workers=1, time_limit=120)
>>> record = asyncio.run(pool.hash(b"not a picture", ["pdq"]))
>>> record["path"], record["error"]["code"]
('<upload>', 'not-media')
>>> pool.close()
"""

from __future__ import annotations

import asyncio
import functools
import os
import signal
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Any

from ..decode import DEFAULT_MAX_PIXELS
from ..files import hash_bytes
from ..parallel import TimeLimited, discard, new_pool, run_alone
from ..records import crashed_record

__all__ = ["DecodePool", "Overloaded", "UPLOAD_PATH"]

UPLOAD_PATH = "<upload>"  # what an upload's record names as its path


class Overloaded(RuntimeError):
    """More uploads are waiting for a worker than the queue allows."""


def _hash_upload(item: tuple[bytes, tuple[str, ...]], **options: Any) -> dict[str, Any]:
    data, algorithms = item
    return hash_bytes(data, algorithms, path=UPLOAD_PATH, **options)


def _worker_start() -> None:
    """Workers leave Ctrl-C to the server (a terminal sends SIGINT to the whole process group):
    it stops gracefully and ends them after the uploads in flight."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def _warm() -> int:
    return os.getpid()


class DecodePool:
    """``workers`` processes hashing uploads; at most ``workers`` in flight and ``queue`` waiting."""

    def __init__(self, *, workers: int, time_limit: int, queue: int = 16,
                 mode: str = "fast", max_pixels: int = DEFAULT_MAX_PIXELS, robust: str | None = None,
                 hasher: Callable[..., dict[str, Any]] | None = None) -> None:
        self.workers, self.queue = max(1, workers), max(0, queue)
        # hasher: a module-level function of ((data, algorithms), **options), for tests
        work = functools.partial(hasher or _hash_upload, mode=mode, max_pixels=max_pixels, robust=robust)
        self._work = TimeLimited(work, time_limit)
        self._pool: ProcessPoolExecutor = new_pool(self.workers, _worker_start, ())
        self._swap = threading.Lock()
        self._slots: asyncio.Semaphore | None = None
        self.waiting = 0
        self.in_flight = 0
        self.crashes = 0

    def warm(self) -> None:
        """Start every worker now, so that the first uploads do not pay for it."""
        for fut in [self._pool.submit(_warm) for _ in range(self.workers)]:
            fut.result()

    async def hash(self, data: bytes, algorithms: Sequence[str]) -> dict[str, Any]:
        """The upload's file record, hashed with ``algorithms`` (never raises for bad media; ``Overloaded`` when full)."""
        if self._slots is None:
            self._slots = asyncio.Semaphore(self.workers)
        if self._slots.locked() and self.waiting >= self.queue:
            raise Overloaded(f"{self.waiting} uploads are waiting for a decoder")
        self.waiting += 1
        try:
            await self._slots.acquire()
        finally:
            self.waiting -= 1
        self.in_flight += 1
        try:
            pool = self._pool
            loop = asyncio.get_running_loop()
            try:
                return await loop.run_in_executor(pool, self._work, (data, tuple(algorithms)))
            except BrokenProcessPool:
                self._replace(pool)
                # it may have died for another upload: once more, alone in a fresh worker
                ok, record = await asyncio.to_thread(run_alone, self._work, (data, tuple(algorithms)), _worker_start, ())
                if ok and record is not None:
                    return record
                self.crashes += 1
                return crashed_record(UPLOAD_PATH)
        finally:
            self.in_flight -= 1
            self._slots.release()

    def _replace(self, broken: ProcessPoolExecutor) -> None:
        with self._swap:
            if self._pool is broken:
                self._pool = new_pool(self.workers, _worker_start, ())
                threading.Thread(target=discard, args=(broken,), daemon=True).start()

    def close(self) -> None:
        """Wait for the uploads in flight, then end the workers."""
        self._pool.shutdown(wait=True, cancel_futures=True)
