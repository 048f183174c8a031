"""The index the service answers from: loading, atomic reload, and batched look-ups.

``IndexSource`` says where the index comes from (list files, a saved index folder, or a
``HashIndex`` built by the caller) and loads a ``Snapshot``: the index with what ``/v1/lists``
shows. ``Matcher`` holds the current snapshot and swaps it whole on reload: a batch runs on the
snapshot it started with, so requests in flight finish on the old index and none fails; the old
one is freed as soon as its last batch ends.

Look-ups are batched: requests put their queries in a queue, and a search thread takes what
arrived while it searched (its share of it when there are several search threads: ``searchers``)
and answers it with one ``match_many`` (one range search per table for the whole batch), then
hands the answers to the event loop and takes the next batch at once, without waiting for the
loop. A lone request pays no wait; under load many requests share each pass over the rows.
``ocsea-match serve`` runs one search thread a core: one thread with its batches split over
OpenMP threads left the cores idle a third of the time at 10M listed (the split waits at its
join for the thread the event loop took the core from). A large batch over a large table (``PARALLEL_WORK``
queries x rows) is split over ``search_threads`` OpenMP threads; small ones stay on one, where
waking threads would cost more than it saves (run the service with ``OMP_WAIT_POLICY=passive``
so that those threads sleep between searches instead of spinning next to the event loop).

>>> import asyncio, numpy as np
>>> index = HashIndex()
>>> index.add_hashes("known", "pdq", np.zeros((1, 32), np.uint8))
1
>>> matcher = Matcher(IndexSource(index=index))
>>> query = clean_query({"path": "upload.jpg", "hashes": {"pdq": {"hex": "00" * 32, "quality": 100}}})
>>> matches, snapshot = asyncio.run(matcher.match([query]))
>>> matches
[[{'list': 'known', 'entry_id': 'known:1', 'category': None, 'algorithm': 'pdq', 'distance': 0, 'threshold': 31}]]
>>> matcher.close()
"""

from __future__ import annotations

import asyncio
import queue
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..algorithms import ALGORITHM_INFO, DIGESTS, parse_hex
from ..files import file_sha256
from ..formats import HashList
from ..hashers import ALGORITHMS, DEFAULT_ALGORITHMS, PDQ_DIALECTS
from ..hashes import HASH_BITS
from ..index import HashIndex
from .banks import BankStore

__all__ = ["AUTO_SUBSTRING_ROWS", "IndexSource", "Snapshot", "Matcher", "QueryError", "clean_query", "pdq_rows"]

# queries x rows of a batch worth splitting over threads: ~15 ms of one thread's search, so that
# waiting for the slower thread (a busy machine schedules it late) is small beside the split's gain
PARALLEL_WORK = 32_000_000
# PDQ rows from which the service searches plain PDQ through substring tables unless told not to
# (``IndexSource.substring_search=None``): the scan costs ~0.4 ms of a core per look-up per
# million rows here, so 16 concurrent look-ups at 8M rows already wait ~50 ms at p99; at 4M the
# scan still meets the goals with room to spare on a busy machine, past it the tables pay
AUTO_SUBSTRING_ROWS = 4_000_000


class QueryError(ValueError):
    """A hash-only query that is not a usable record."""


@dataclass(frozen=True)
class Snapshot:
    """One loaded index and its description; never changed once made."""

    index: HashIndex
    lists: list[dict[str, Any]]
    loaded_at: str
    generation: int

    @property
    def algorithms(self) -> tuple[str, ...]:
        """What to hash an upload with: the algorithms the lists carry (PDQ in every dialect)."""
        names = tuple(a for a in ALGORITHMS if a in self.index.algorithms) or DEFAULT_ALGORITHMS
        if "pdq" not in names:
            names = ("pdq", *names)  # the bank is PDQ
        return tuple(dict.fromkeys(names + PDQ_DIALECTS))

    @property
    def sha256(self) -> list[str | None]:
        return [item.get("sha256") for item in self.lists]


def _entry_counts(index: HashIndex) -> dict[str, int]:
    return index.list_sizes()


def pdq_rows(index: HashIndex) -> int:
    """The listed plain PDQ hashes of an index (what a plain PDQ look-up searches)."""
    table = index.parts.table("pdq")
    return 0 if table is None else len(table)


@dataclass
class IndexSource:
    """Where the index comes from: ``lists`` (files or ``HashList``), ``index_dir``, or ``index``."""

    lists: Sequence[str | Path | HashList] = ()
    index_dir: str | Path | None = None
    index: HashIndex | None = None
    strict: bool = False
    thresholds: Mapping[str, int] | None = None
    substring_search: bool | None = None  # plain PDQ through substring tables built at load (plain_search);
    #                                       None: when the index holds AUTO_SUBSTRING_ROWS PDQ rows or more
    warm_robust: bool = False  # build the robust probe's tables at load even without robust lists
    reports: list[Any] = field(default_factory=list)

    @classmethod
    def of(cls, spec: Any) -> IndexSource:
        """From what ``create_app`` takes: a HashIndex, an index folder, a list file, or a sequence of lists."""
        if isinstance(spec, IndexSource):
            return spec
        if isinstance(spec, HashIndex):
            return cls(index=spec)
        if isinstance(spec, (str, Path)):
            return cls(index_dir=spec) if Path(spec).is_dir() else cls(lists=[spec])
        if isinstance(spec, HashList):
            return cls(lists=[spec])
        return cls(lists=list(spec))

    @property
    def reloadable(self) -> bool:
        return self.index is None

    def load(self, generation: int = 0) -> Snapshot:
        """Read the sources into a new snapshot (``ListError`` / ``IndexFileError`` when one cannot be used)."""
        described: list[dict[str, Any]] = []
        if self.index is not None:
            index = self.index
            described = [{"name": n, "format": "in-memory", "sha256": None} for n in index.lists]
        else:
            # one OpenMP thread: the service runs one search thread next to its event loop, and
            # OpenMP's spinning threads would fight both for the cores (measured: p99 x10)
            chosen = bool(self.substring_search)
            index = (HashIndex.load(self.index_dir, threads=1, substring_search=chosen) if self.index_dir is not None
                     else HashIndex(thresholds=self.thresholds, threads=1, substring_search=chosen))
            if self.index_dir is not None:
                digest = file_sha256(Path(self.index_dir) / "manifest.json")
                described = [{"name": n, "format": "index", "source": str(self.index_dir), "sha256": digest}
                             for n in index.lists]
            self.reports = []
            for item in self.lists:
                if isinstance(item, HashList):
                    index.add_list(item)
                    described.append({"name": item.name, "format": "in-memory", "sha256": None})
                    continue
                report = index.add_list_file(item, strict=self.strict)  # PDQ lists straight into columns
                self.reports.append(report)
                described.append({"name": report.list_name, "format": report.format, "source": str(item),
                                  "sha256": file_sha256(item), "problems": len(report.problems),
                                  "unmatched": len(report.unmatched)})  # lines not used, entries under the floor
        if self.substring_search is not None:
            index.substring_search = self.substring_search
        elif pdq_rows(index) >= AUTO_SUBSTRING_ROWS:
            index.substring_search = True
        # the tables a first request would otherwise build (seconds on a big list) before /healthz
        # answers: substring search's, and the robust probe's when robust lists are loaded (every PDQ
        # query probes their derived rows) or robust queries are expected
        index.prepare(robust=self.warm_robust or "pdq-robust" in index.algorithms)
        counts = _entry_counts(index)
        for item in described:
            item["entries"] = counts.get(item["name"], 0)
        return Snapshot(index, described, time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), generation)


def _check_hex(where: str, value: Any, algorithm: str) -> str:
    try:
        return parse_hex(algorithm, value)
    except ValueError:
        raise QueryError(f"{where}: expected {ALGORITHM_INFO[algorithm].hex_length} hex characters") from None


def _quality(where: str, value: Any) -> int | None:
    if value is None or (isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= 100):
        return value
    raise QueryError(f"{where}: quality must be an integer 0..100")


def clean_query(record: Any) -> dict[str, Any]:
    """The matchable part of a hash record (digests, ``hashes``, video ``frames``, ``robust.query``),
    checked; anything else in the record (its path, sizes ...) is dropped. ``QueryError`` if malformed."""
    if not isinstance(record, Mapping):
        raise QueryError("a query is a JSON object: a record as 'ocsea-match hash' writes it")
    out: dict[str, Any] = {}
    for name in DIGESTS:
        if record.get(name) is not None:
            out[name] = _check_hex(name, record[name], name)
    hashes = record.get("hashes") or {}
    if not isinstance(hashes, Mapping):
        raise QueryError("'hashes' must be an object of {algorithm: {hex, quality}}")
    clean: dict[str, Any] = {}
    for name, value in hashes.items():
        if name not in HASH_BITS:
            continue  # an algorithm this index cannot match (the record may come from a newer version)
        if not isinstance(value, Mapping):
            raise QueryError(f"hashes.{name}: expected {{hex, quality}}")
        clean[name] = {"hex": _check_hex(f"hashes.{name}", value.get("hex"), name),
                       "quality": _quality(f"hashes.{name}", value.get("quality"))}
    if clean:
        out["hashes"] = clean
    frames = record.get("frames")
    if frames is not None:
        if not isinstance(frames, list):
            raise QueryError("'frames' must be a list")
        kept = []
        for i, frame in enumerate(frames):
            if not isinstance(frame, Mapping) or not isinstance(frame.get("timestamp"), (int, float)):
                raise QueryError(f"frames[{i}]: expected {{timestamp, pdq, quality}}")
            item = {"timestamp": float(frame["timestamp"]), "pdq": _check_hex(f"frames[{i}].pdq", frame.get("pdq"), "pdq"),
                    "quality": _quality(f"frames[{i}]", frame.get("quality"))}
            if frame.get("pdq_trimmed") is not None:
                item["pdq_trimmed"] = _check_hex(f"frames[{i}].pdq_trimmed", frame["pdq_trimmed"], "pdq")
                item["quality_trimmed"] = _quality(f"frames[{i}]", frame.get("quality_trimmed"))
            kept.append(item)
        out["frames"] = kept
    robust = record.get("robust")
    if isinstance(robust, Mapping) and isinstance(robust.get("query"), list):
        out["robust"] = {"query": [{"hex": _check_hex("robust.query", v.get("hex") if isinstance(v, Mapping) else v, "pdq"),
                                    "quality": _quality("robust.query", v.get("quality") if isinstance(v, Mapping) else None)}
                                   for v in robust["query"]]}
    if not out:
        raise QueryError("the record has no hash to match (no digests, hashes or frames)")
    return out


class Matcher:
    """The current snapshot, atomic reloads, and batched look-ups against it and the banks."""

    def __init__(self, source: IndexSource, banks: BankStore | None = None, *, max_batch: int = 64,
                 searchers: int = 1, search_threads: int = 1) -> None:
        self.source, self.banks, self.max_batch, self.searchers = source, banks, max_batch, max(1, searchers)
        self.search_threads = max(1, search_threads)
        self.current = source.load()
        # look-ups waiting for a search thread: (queries, future, its loop); None tells a thread to end
        self._pending: queue.SimpleQueue[_Waiting | None] = queue.SimpleQueue()
        self._active = 0  # searches running now
        self._active_lock = threading.Lock()
        self._threads: list[threading.Thread] = []
        self._closed = False
        self._reload_lock: asyncio.Lock | None = None
        self.on_batch: Any = None  # called with each batch's size (metrics), in the search thread

    async def match(self, queries: list[dict[str, Any]]) -> tuple[list[list[dict[str, Any]]], Snapshot]:
        """The matches of each query, and the snapshot they were found in."""
        if self._closed:
            raise RuntimeError("the matcher is closed")
        if not self._threads:
            self._start()
        loop = asyncio.get_running_loop()
        future: asyncio.Future[Any] = loop.create_future()
        self._pending.put((queries, future, loop))
        return await future

    def _start(self) -> None:
        for n in range(self.searchers):
            thread = threading.Thread(target=self._search_loop, name=f"ocsea-search-{n}", daemon=True)
            thread.start()
            self._threads.append(thread)

    def _search_loop(self) -> None:
        """One search thread: wait for a look-up, take it with every other one waiting (up to
        ``_share`` queries), search them in one call on the current snapshot, hand the answers
        to their event loop, and start on what arrived meanwhile at once (no hop through the loop
        between two batches: at 1M listed that hop left the search idle ~20% of the time)."""
        carried: _Waiting | None = None
        while True:
            first = carried if carried is not None else self._pending.get()
            carried = None
            if first is None:
                return
            batch, size = [first], len(first[0])
            limit = self._share()
            while size < limit:
                try:
                    item = self._pending.get_nowait()
                except queue.Empty:
                    break
                if item is None:
                    self._pending.put(None)  # this thread's stop: answer the batch first
                    break
                if size + len(item[0]) > limit:
                    carried = item  # the next batch's first
                    break
                batch.append(item)
                size += len(item[0])
            snapshot = self.current
            flat = [q for queries, _, _ in batch for q in queries]
            with self._active_lock:
                self._active += 1
            try:
                found: Any = self._lookup(snapshot, flat, self._threads_for(snapshot, len(flat)))
                if self.on_batch is not None:
                    self.on_batch(size)
            except Exception as exc:  # noqa: BLE001 - answered to each waiting request
                found = exc
            finally:
                with self._active_lock:
                    self._active -= 1
            by_loop: dict[asyncio.AbstractEventLoop, list[tuple[asyncio.Future[Any], Any]]] = {}
            start = 0
            for queries, future, loop in batch:
                answer = found if isinstance(found, Exception) else (found[start:start + len(queries)], snapshot)
                by_loop.setdefault(loop, []).append((future, answer))
                start += len(queries)
            for loop, answers in by_loop.items():
                try:
                    loop.call_soon_threadsafe(_deliver, answers)
                except RuntimeError:
                    pass  # that loop is closed: nobody waits for these answers any more

    def _share(self) -> int:
        """Queries one search thread takes at once: everything waiting (up to ``max_batch``) when it
        is the only one; with several, its share of what waits (at least one look-up), so that the
        next free thread has work too (taking all of it left the other thread idle: 1.4 of 2 cores
        busy at 10M listed)."""
        if self.searchers == 1:
            return self.max_batch
        return max(1, min(self.max_batch, -(-(self._pending.qsize() + 1) // self.searchers)))

    def _threads_for(self, snapshot: Snapshot, queries: int) -> int:
        """Threads of one batch's search: more than one only for a large batch over a large table
        while no other search runs (for small ones, waking threads costs more than it saves)."""
        if self.search_threads == 1 or self._active > 1 or queries * len(snapshot.index) < PARALLEL_WORK:
            return 1
        return self.search_threads

    def _lookup(self, snapshot: Snapshot, queries: list[dict[str, Any]], threads: int = 1) -> list[list[dict[str, Any]]]:
        found = snapshot.index.match_many(queries, threads=threads) if len(snapshot.index) else [[] for _ in queries]
        if self.banks is not None:
            for matches, extra in zip(found, self.banks.match_many(queries)):
                if extra:
                    matches.extend(extra)
                    matches.sort(key=lambda m: (m["distance"], m["list"], m["entry_id"]))
        return found

    async def reload(self) -> tuple[Snapshot, Snapshot]:
        """Load the sources again and swap; ``(old, new)``. One reload at a time; errors leave the old one."""
        if self._reload_lock is None:
            self._reload_lock = asyncio.Lock()
        async with self._reload_lock:
            old = self.current
            new = await asyncio.to_thread(self.source.load, old.generation + 1)
            self.current = new
            return old, new

    def close(self) -> None:
        """End the search threads once the look-ups queued before are answered."""
        self._closed = True
        for _ in self._threads:
            self._pending.put(None)
        for thread in self._threads:
            thread.join()
        self._threads = []


_Waiting = tuple[list[dict[str, Any]], "asyncio.Future[Any]", asyncio.AbstractEventLoop]


def _deliver(answers: list[tuple[asyncio.Future[Any], Any]]) -> None:
    """In the event loop: settle the futures of one batch (a request that gave up is skipped)."""
    for future, answer in answers:
        if future.done():
            continue
        if isinstance(answer, Exception):
            future.set_exception(answer)
        else:
            future.set_result(answer)

