"""The robust probe's search: multi-index hashing over the index's PDQ rows, exact at the threshold.

A robust query probes with many hashes (~15, ~140 with ``--anchored``) against every listed
picture's many rows (~7, ~25 with ``--anchored``), so the exhaustive scan that serves a plain PDQ
query (``_core.range_search_256``) costs rows x probes. Here each row's 256 bits are cut into
``m`` substrings and every substring has a table of rows grouped by its first bits (CSR arrays:
``offsets`` per key, ``ids`` uint32 row numbers, built by the native ``_mih`` module). By
pigeonhole, a row within ``t`` bits of a probe has a substring within 1 bit of the probe's when
``m >= (t + 1) / 2``, so a probe visits the buckets of its substrings' keys and of their 1-bit
neighbours only, and checks the rows found there in full: the same hits as the exhaustive scan,
each once, visiting a few thousand rows of millions.

- ``SubstringIndex``: one such index over one or two ``Split256`` tables, read in place.
- ``RobustSearch``: what the robust probe needs from an index's tables (``robust_match.py``):
  the plain PDQ's rotations/flips against listed plain PDQ at PDQ's threshold (16 substrings of
  16 bits, exact up to 31), and every robust variant against listed plain and derived rows at the
  robust threshold (12 substrings of 21-22 bits for 23). Built on first use for an
  ``IndexParts`` and kept until its tables change (``for_parts``); saved indexes keep rows only.
- ``planned_nbytes``: the bytes those tables take, for ``HashIndex.nbytes``.

Thresholds past what the tables answer exactly (over 63) fall back to the exhaustive scan.

>>> from ocsea_match._index_store import Split256
>>> rows = np.random.default_rng(1).integers(0, 256, (1000, 32), dtype=np.uint8)
>>> table = Split256(rows[:, :16], rows[:, 16:], np.arange(1000))
>>> index = SubstringIndex(table, None, threshold=23)
>>> query = rows[7:8].copy(); query[0, :2] ^= 0xFF  # 16 bits away from row 7
>>> lims, distances, labels = index.search(query, 23)
>>> labels.tolist(), distances.tolist()
([7], [16])
"""

from __future__ import annotations

import math
import threading
import weakref
from typing import Any

import numpy as np

from ._mih import build, search as native_search

__all__ = ["RobustSearch", "SubstringIndex", "planned_nbytes", "substrings_for"]

#: Substrings of at most this many bits are keyed whole; longer ones by their first bits only.
MAX_KEY_BITS = 24
#: Past this threshold (m > 32 substrings of under 8 bits) the exhaustive scan is cheaper.
MAX_THRESHOLD = 63


def substrings_for(threshold: int) -> int:
    """How many substrings make a radius-1 search exact at ``threshold``: ``ceil((t + 1) / 2)``.

    >>> substrings_for(23), substrings_for(31)
    (12, 16)
    """
    return max(1, math.ceil((threshold + 1) / 2))


def key_bits_for(m: int, rows: int) -> int:
    """Bits of each substring used as its key: all of them (the shortest substring's length, at most
    ``MAX_KEY_BITS``) or fewer for small tables, ~4 rows a bucket at most (offsets stay under
    the ids' memory)."""
    shortest = 256 // m
    wanted = max(8, math.ceil(math.log2(max(rows, 2))) - 2)
    return min(shortest, MAX_KEY_BITS, wanted)


def _layout(m: int) -> tuple[np.ndarray, np.ndarray]:
    """Substring starts (int32, m) and bit masks (uint64 (m, 4)): 256 bits in m near-equal runs."""
    lengths = [256 // m + (1 if j < 256 % m else 0) for j in range(m)]
    starts = np.concatenate([[0], np.cumsum(lengths)[:-1]]).astype(np.int32)
    masks = np.zeros((m, 4), np.uint64)
    for j, (start, length) in enumerate(zip(starts.tolist(), lengths)):
        for bit in range(start, start + length):
            masks[j, bit // 64] |= np.uint64(1) << np.uint64(bit % 64)
    return starts, masks


_EMPTY = np.zeros((0, 2), np.uint64)


class SubstringIndex:
    """Multi-index hashing over the rows of ``a`` then ``b`` (``Split256`` tables or None), exact up
    to ``threshold``: 1-bit neighbourhoods of ``substrings_for(threshold)`` substrings.

    Holds 4 bytes a row a substring (uint32 row numbers) and 4 bytes a key a substring; the rows
    themselves are read from the tables, not copied.
    """

    def __init__(self, a: Any, b: Any, *, threshold: int) -> None:
        if not 0 <= threshold <= MAX_THRESHOLD:
            raise ValueError(f"a substring index answers thresholds 0-{MAX_THRESHOLD}, not {threshold}")
        self.tables = (a, b)
        self.halves = tuple(t.halves if t is not None else (_EMPTY, _EMPTY) for t in (a, b))
        self.first_b = len(self.halves[0][0])  # row numbers of b start here
        rows = self.first_b + len(self.halves[1][0])
        self.threshold = threshold
        self.m = substrings_for(threshold)
        self.key_bits = key_bits_for(self.m, rows)
        self.starts, self.masks = _layout(self.m)
        (ha, ta), (hb, tb) = self.halves
        self.offsets, self.ids = build(ha, ta, hb, tb, self.starts, self.key_bits)

    def __len__(self) -> int:
        return self.ids.shape[1]

    def search(self, queries: np.ndarray, threshold: int, *, only_b: bool = False,
               threads: int = 1) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``(lims, distances, row numbers)`` of every row within ``threshold`` of each query (uint8
        (q, 32)), as ``range_search_256`` gives them; row numbers of ``b`` follow ``a``'s.
        ``only_b``: rows of ``b`` only; ``threads``: OpenMP threads sharing the queries (0: all)."""
        if threshold > self.threshold:
            raise ValueError(f"this index is exact up to {self.threshold} bits, not {threshold}")
        (ha, ta), (hb, tb) = self.halves
        return native_search(np.ascontiguousarray(queries, np.uint8), ha, ta, hb, tb, self.offsets, self.ids,
                           self.starts, self.masks, self.key_bits, 1, threshold, self.first_b if only_b else 0, threads)

    @property
    def nbytes(self) -> int:
        return self.offsets.nbytes + self.ids.nbytes


def planned_nbytes(threshold: int, rows: int) -> int:
    """The bytes of a ``SubstringIndex`` over ``rows`` rows at ``threshold`` (0 past ``MAX_THRESHOLD``).

    >>> planned_nbytes(23, 1000) == SubstringIndex(None, None, threshold=23).nbytes + 12 * 4 * 1000
    True
    """
    if not rows or not 0 <= threshold <= MAX_THRESHOLD:
        return 0
    m = substrings_for(threshold)
    return m * 4 * ((1 << key_bits_for(m, rows)) + 1) + m * 4 * rows


class RobustSearch:
    """The robust probe's two searches over an index's ``pdq`` and ``pdq-robust`` tables.

    ``turned(queries)``: the plain PDQ's rotations/flips against listed plain PDQ at ``plain``
    (PDQ's threshold); ``variants(queries)`` every listed row, plain and derived, at ``robust``;
    ``variants(queries, derived_only=True)`` the derived rows only (what the query's own plain PDQ
    probes). Each answers ``(lims, distances, family of each hit, row in that family's table)``.
    """

    def __init__(self, pdq: Any, derived: Any, *, plain: int, robust: int) -> None:
        self.pdq, self.derived, self.plain, self.robust = pdq, derived, plain, robust
        self._heads = tuple(t.halves[0] if t is not None else None for t in (pdq, derived))
        self._indexes: dict[str, SubstringIndex | None] = {}  # built on first use: "plain", "all"
        self._lock = threading.Lock()

    def _index(self, which: str) -> SubstringIndex | None:
        """The substring index over plain rows (``"plain"``) or over all rows (``"all"``), built now
        if this is its first use; None past ``MAX_THRESHOLD`` (the exhaustive scan then)."""
        with self._lock:
            if which not in self._indexes:
                if which == "plain":
                    ok = self.pdq is not None and self.plain <= MAX_THRESHOLD
                    self._indexes[which] = SubstringIndex(self.pdq, None, threshold=self.plain) if ok else None
                else:
                    ok = self.robust <= MAX_THRESHOLD
                    self._indexes[which] = SubstringIndex(self.pdq, self.derived, threshold=self.robust) if ok else None
            return self._indexes[which]

    def fits(self, pdq: Any, derived: Any, plain: int, robust: int) -> bool:
        """Whether these are still the tables and rows (a table's arrays are replaced when rows are
        added) and the thresholds it was built for."""
        heads = tuple(t.halves[0] if t is not None else None for t in (pdq, derived))
        return ((plain, robust) == (self.plain, self.robust) and pdq is self.pdq and derived is self.derived
                and all(a is b for a, b in zip(heads, self._heads)))

    def prepare(self, robust: bool = False) -> None:
        """Build now the substring index that ``turned`` (and the plain probe's opt-in
        ``plain_search``) use, and with ``robust`` the one over all rows that ``variants`` uses,
        rather than on the first query."""
        if self.pdq is not None:
            self._index("plain")
        if robust:
            self._index("all")

    def turned(self, queries: np.ndarray, threads: int = 1) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``(lims, distances, pdq rows)`` within ``plain`` of each query."""
        index = self._index("plain")
        if index is None:
            return self.pdq.search(queries, self.plain, threads)
        return index.search(queries, self.plain, threads=threads)

    def variants(self, queries: np.ndarray, *, derived_only: bool = False,
                 threads: int = 1) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """``(lims, distances, entry numbers, is_derived)`` of listed rows within ``robust`` of each query."""
        index = self._index("all")
        if index is None:
            return self._scan(queries, derived_only, threads)
        lims, distances, labels = index.search(queries, self.robust, only_b=derived_only, threads=threads)
        first_b = index.first_b
        derived = labels >= first_b
        entries = np.empty(len(labels), np.uint32)
        if self.pdq is not None:
            entries[~derived] = self.pdq.entries[labels[~derived]]
        if self.derived is not None:
            entries[derived] = self.derived.entries[labels[derived] - first_b]
        return lims, distances, entries, derived

    def _scan(self, queries: np.ndarray, derived_only: bool, threads: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """The exhaustive scan of both tables (thresholds past ``MAX_THRESHOLD``), merged per query."""
        parts = []
        for table, is_derived in ((self.pdq, False), (self.derived, True)):
            if table is None or (derived_only and not is_derived):
                continue
            lims, distances, labels = table.search(queries, self.robust, threads)
            owners = np.repeat(np.arange(len(queries)), np.diff(lims))
            parts.append((owners, distances, table.entries[labels], np.full(len(labels), is_derived)))
        if not parts:
            return np.zeros(len(queries) + 1, np.int64), np.zeros(0, np.int32), np.zeros(0, np.uint32), np.zeros(0, bool)
        owners, distances, entries, derived = (np.concatenate(c) for c in zip(*parts))
        order = np.argsort(owners, kind="stable")
        lims = np.zeros(len(queries) + 1, np.int64)
        np.cumsum(np.bincount(owners, minlength=len(queries)), out=lims[1:])
        return lims, distances[order], entries[order], derived[order]

    @property
    def nbytes(self) -> int:
        """The bytes of the substring indexes built so far."""
        return sum(index.nbytes for index in list(self._indexes.values()) if index is not None)


_built: weakref.WeakKeyDictionary[Any, RobustSearch] = weakref.WeakKeyDictionary()
_lock = threading.Lock()


def for_parts(parts: Any, *, plain: int, robust: int) -> RobustSearch | None:
    """The ``RobustSearch`` of an ``IndexParts`` (built now if its tables changed since), or None
    when it has no PDQ rows."""
    pdq, derived = parts.table("pdq"), parts.table("pdq-robust")
    if pdq is None and derived is None:
        return None
    with _lock:
        search = _built.get(parts.entries)  # one Entries per IndexParts (a dataclass is not hashable)
        if search is None or not search.fits(pdq, derived, plain, robust):
            search = _built[parts.entries] = RobustSearch(pdq, derived, plain=plain, robust=robust)
        return search


def parts_nbytes(parts: Any) -> int:
    """The bytes ``for_parts`` holds for these parts: its substring indexes built so far (on the
    first robust query; ``planned_nbytes`` says what they will take)."""
    search = _built.get(parts.entries)
    return search.nbytes if search is not None else 0
