"""The index's storage: hash tables searched exhaustively, columnar entry metadata, and
``IndexParts``, everything an index holds (what ``_index_files`` saves and loads).

Package-internal (``index.py`` says how a search is chosen); kept apart so that each module stays
one job: this one holds rows and entries, ``index.py`` turns queries into matches.
"""

from __future__ import annotations

import bisect
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from ._core import range_search_256 as native_range_search_256
from .algorithms import ALGORITHM_INFO, EXACT
from .tmk_lists import TMKTable

__all__ = ["Digests", "Entries", "EntryRuns", "Flat", "Ids", "IndexParts", "MAX_ENTRIES", "Split256", "Table", "new_table"]

MAX_ENTRIES = 2**32 - 1  # entry numbers are uint32


# --------------------------------------------------------------------------------------------- tables


class EntryRuns:
    """The entry numbers of a table's rows as runs: rows ``starts[i]`` up to the next start all
    belong to entry ``values[i]``. A listed picture's robust rows are filed one after another under
    its entry, so they cost 8 bytes a picture instead of 4 a row (~94 with ``--anchored``). Read
    like the array it stands for: ``runs[rows]``, ``len``, ``np.asarray(runs)``.

    >>> runs = EntryRuns.of(np.array([7, 7, 7, 9, 9, 4], np.uint32))
    >>> runs[np.array([0, 3, 5])].tolist(), len(runs), np.asarray(runs).tolist()
    ([7, 9, 4], 6, [7, 7, 7, 9, 9, 4])
    """

    def __init__(self, starts: np.ndarray, values: np.ndarray, count: int) -> None:
        self.starts, self.values, self.count = starts, values, count

    @classmethod
    def of(cls, numbers: np.ndarray) -> np.ndarray | EntryRuns:
        """``numbers`` (uint32) as runs when that takes at most half the bytes, else as they are."""
        numbers = np.asarray(numbers, np.uint32)
        if len(numbers) < 64:
            return numbers
        change = np.flatnonzero(numbers[1:] != numbers[:-1]) + 1
        if 2 * (len(change) + 1) > len(numbers) // 2:
            return numbers
        starts = np.concatenate([[0], change]).astype(np.uint32 if len(numbers) < 2**32 else np.int64)
        return cls(starts, numbers[starts], len(numbers))

    def __len__(self) -> int:
        return self.count

    def __getitem__(self, rows: np.ndarray) -> np.ndarray:
        return self.values[np.searchsorted(self.starts, rows, side="right") - 1]

    def __array__(self, dtype: object = None, copy: object = None) -> np.ndarray:
        lengths = np.diff(np.append(self.starts.astype(np.int64), self.count))
        return np.repeat(self.values, lengths).astype(dtype or np.uint32, copy=False)

    def tolist(self) -> list[int]:
        return np.asarray(self).tolist()

    @property
    def nbytes(self) -> int:
        return self.starts.nbytes + self.values.nbytes


class Split256:
    """PDQ rows for ``range_search_256``: first and last 16 bytes of every row in two arrays
    (their entry numbers as ``EntryRuns`` when rows come in runs of one entry)."""

    nbytes = 32

    def __init__(self, head: np.ndarray | None = None, tail: np.ndarray | None = None,
                 entries: np.ndarray | None = None) -> None:
        """Empty, or the rows given as halves (n x 16 uint8 each), kept without a copy when they
        are contiguous, with their entry numbers."""
        if head is None or tail is None or entries is None:
            empty = np.zeros((0, 2), np.uint64)
            head, tail, entries = empty, empty, np.zeros(0, np.uint32)
        else:
            head, tail = (np.ascontiguousarray(h, np.uint8).view(np.uint64).reshape(-1, 2) for h in (head, tail))
        # replaced whole on every add, so that a search reads one consistent snapshot
        self._data: tuple[np.ndarray, np.ndarray, np.ndarray | EntryRuns] = (head, tail, EntryRuns.of(entries))

    def __len__(self) -> int:
        return len(self._data[2])

    def add(self, rows: np.ndarray, entries: np.ndarray) -> None:
        """Append packed rows (n x 32 uint8) with their entry numbers (one copy of the old rows)."""
        old_head, old_tail, old_entries = self._data
        n0, n = len(old_entries), len(old_entries) + len(rows)
        head, tail = np.empty((n, 2), np.uint64), np.empty((n, 2), np.uint64)
        for half, old, columns in ((head, old_head, slice(0, 16)), (tail, old_tail, slice(16, 32))):
            half[:n0] = old
            half.view(np.uint8).reshape(n, 16)[n0:] = rows[:, columns]
        self._data = (head, tail, EntryRuns.of(np.concatenate([np.asarray(old_entries), entries.astype(np.uint32)])))

    def search(self, queries: np.ndarray, threshold: int, threads: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``(lims, distances, row numbers)`` of every row within ``threshold`` of each query."""
        head, tail, _ = self._data
        return native_range_search_256(queries, head, tail, threshold, threads=threads)

    @property
    def rows(self) -> np.ndarray:
        """The packed rows, n x 32 uint8 in hex byte order (a copy)."""
        head, tail, _ = self._data
        return np.hstack([head.view(np.uint8).reshape(-1, 16), tail.view(np.uint8).reshape(-1, 16)])

    @property
    def entries(self) -> np.ndarray | EntryRuns:
        return self._data[2]

    @property
    def halves(self) -> tuple[np.ndarray, np.ndarray]:
        """The rows as kept: ``(head, tail)``, (n, 2) uint64 each (no copy; for ``robust_search``)."""
        return self._data[0], self._data[1]

    @property
    def hash_bytes(self) -> int:
        return self._data[0].nbytes + self._data[1].nbytes


class Flat:
    """64-bit hashes: a FAISS binary flat index, which holds the only copy of the rows."""

    def __init__(self, bits: int) -> None:
        self.nbytes = bits // 8
        import faiss  # here, not at the top: only a 64-bit table needs FAISS (issue #12)

        self.index = faiss.IndexBinaryFlat(bits)
        self._entries = np.zeros(0, np.uint32)

    def __len__(self) -> int:
        return len(self._entries)

    def add(self, rows: np.ndarray, entries: np.ndarray) -> None:
        self.index.add(rows)
        self._entries = np.concatenate([self._entries, entries.astype(np.uint32)])

    def search(self, queries: np.ndarray, threshold: int, threads: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        return self.index.range_search(queries, threshold + 1)

    @property
    def rows(self) -> np.ndarray:
        import faiss

        return faiss.vector_to_array(self.index.xb).reshape(-1, self.nbytes)

    @property
    def entries(self) -> np.ndarray:
        return self._entries

    @property
    def hash_bytes(self) -> int:
        return len(self) * self.nbytes


Table = Split256 | Flat


def new_table(family: str) -> Table:
    bits = ALGORITHM_INFO[family].bits
    return Split256() if bits == 256 else Flat(bits)


class Digests:
    """One exact algorithm's digests (MD5, SHA-1, SHA-256): fixed-width rows kept sorted with their
    entry numbers and searched by ``np.searchsorted`` (about 20-36 bytes a digest, not a Python
    dict's ~800). Rows are added in batches and sorted (stably: a value's entries stay in the order
    they were added) at the first search after.

    >>> table = Digests(16)
    >>> table.add_hex(["00" * 16, "ff" * 16, "00" * 16], np.array([4, 5, 6]))
    >>> table.get("00" * 16), table.get("FF" * 16), table.get("ab"), len(table)
    ([4, 6], [5], [], 3)
    """

    def __init__(self, nbytes: int) -> None:
        self.nbytes = nbytes
        self._keys = np.zeros(0, f"S{nbytes}")  # sorted
        self._entries = np.zeros(0, np.uint32)
        self._pending: list[tuple[np.ndarray, np.ndarray]] = []

    def __len__(self) -> int:
        return len(self._entries) + sum(len(e) for _, e in self._pending)

    def add(self, rows: np.ndarray, entries: np.ndarray) -> None:
        """Rows (n x nbytes uint8) with their entry numbers."""
        rows = np.ascontiguousarray(rows, np.uint8).reshape(-1, self.nbytes)
        if len(rows) != len(entries):
            raise ValueError(f"{len(rows)} digests for {len(entries)} entries")
        if len(rows):
            self._pending.append((rows.view(f"S{self.nbytes}").reshape(-1), np.asarray(entries, np.uint32)))

    def add_hex(self, values: Sequence[str], entries: np.ndarray) -> None:
        """Checked hex digests (``2 * nbytes`` hex digits each) with their entry numbers."""
        self.add(np.frombuffer(bytes.fromhex("".join(values)), np.uint8), entries)

    def _settled(self) -> tuple[np.ndarray, np.ndarray]:
        if self._pending:
            keys = np.concatenate([self._keys] + [k for k, _ in self._pending])
            entries = np.concatenate([self._entries] + [e for _, e in self._pending])
            self._pending = []
            order = np.argsort(keys, kind="stable")
            self._keys, self._entries = keys[order], entries[order]
        return self._keys, self._entries

    def get(self, value: str, default: Sequence[int] = ()) -> list[int]:
        """The entry numbers of a hex digest (either case), in the order they were added."""
        try:
            key = bytes.fromhex(value)
        except ValueError:
            return list(default)
        if len(key) != self.nbytes:
            return list(default)
        keys, entries = self._settled()
        probe = np.array([key], f"S{self.nbytes}")
        lo, hi = np.searchsorted(keys, probe, "left")[0], np.searchsorted(keys, probe, "right")[0]
        return entries[lo:hi].tolist() if hi > lo else list(default)

    def columns(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``(distinct rows sorted (m x nbytes uint8), entries per row, entry numbers)``: what is saved."""
        keys, entries = self._settled()
        if not len(keys):
            return np.zeros((0, self.nbytes), np.uint8), np.zeros(0, np.int64), entries
        starts = np.flatnonzero(np.concatenate([[True], keys[1:] != keys[:-1]]))
        counts = np.diff(np.append(starts, len(keys))).astype(np.int64)
        rows = np.frombuffer(keys[starts].tobytes(), np.uint8).reshape(-1, self.nbytes)
        return rows, counts, entries

    @classmethod
    def from_columns(cls, rows: np.ndarray, counts: np.ndarray, entries: np.ndarray) -> Digests:
        """The table ``columns`` gave (rows sorted and distinct)."""
        table = cls(rows.shape[1])
        keys = np.ascontiguousarray(rows, np.uint8).view(f"S{table.nbytes}").reshape(-1)
        table._keys, table._entries = np.repeat(keys, counts), np.asarray(entries, np.uint32)
        return table

    def as_dict(self) -> dict[str, list[int]]:
        """``{hex: entry numbers}`` (for tests and small tables)."""
        rows, counts, entries = self.columns()
        starts = np.concatenate([[0], np.cumsum(counts)])
        return {rows[i].tobytes().hex(): entries[starts[i]:starts[i + 1]].tolist() for i in range(len(rows))}

    @property
    def nbytes_held(self) -> int:
        keys, entries = self._settled()
        return keys.nbytes + entries.nbytes


# --------------------------------------------------------------------------------------------- entries


@dataclass
class Ids:
    """The entry ids of one list: explicit (one UTF-8 blob and offsets), numeric (decimal ids such
    as VICS MediaIDs, 8 bytes each) or generated ``list:n``.

    Generated ids are ``f"{list}:{n}"`` with n = 1, 2, ... or, when rows were left out, the
    ``numbers`` kept; nothing is stored per entry for them.
    """

    count: int
    blob: np.ndarray | None = None  # uint8
    offsets: np.ndarray | None = None  # count + 1, uint32 (int64 past 4 GiB of ids)
    numbers: np.ndarray | None = None  # uint32, generated ids' n
    values: np.ndarray | None = None  # int64, numeric ids

    @classmethod
    def explicit(cls, ids: Sequence[str]) -> Ids:
        try:
            text = "".join(ids)
        except TypeError:
            raise TypeError("entry ids must be strings") from None
        if ids and all(_is_plain_number(i) for i in ids):
            return cls(len(ids), values=np.fromiter(map(int, ids), dtype=np.int64, count=len(ids)))
        blob = text.encode("utf-8")
        lengths = np.fromiter(map(len, ids), dtype=np.int64, count=len(ids))
        if len(blob) != len(text):  # not all ASCII: count bytes, not characters
            lengths = np.fromiter((len(i.encode("utf-8")) for i in ids), dtype=np.int64, count=len(ids))
        offsets = np.zeros(len(ids) + 1, np.int64)
        np.cumsum(lengths, out=offsets[1:])
        if offsets[-1] < 2**32:
            offsets = offsets.astype(np.uint32)
        return cls(len(ids), np.frombuffer(blob, np.uint8), offsets)

    def get(self, list_name: str, k: int) -> str:
        if self.values is not None:
            return str(int(self.values[k]))
        if self.blob is not None and self.offsets is not None:
            return self.blob[int(self.offsets[k]):int(self.offsets[k + 1])].tobytes().decode("utf-8")
        return f"{list_name}:{int(self.numbers[k]) if self.numbers is not None else k + 1}"

    @property
    def nbytes(self) -> int:
        return sum(a.nbytes for a in (self.blob, self.offsets, self.numbers, self.values) if a is not None)

    @property
    def kind(self) -> str:
        return "numeric" if self.values is not None else "explicit" if self.blob is not None else "generated"


def _is_plain_number(text: str) -> bool:
    """A decimal id that int() and str() give back unchanged and that fits in int64."""
    return text.isascii() and text.isdigit() and (text == "0" or text[0] != "0") and len(text) <= 18


class Entries:
    """Entry metadata, columnar: list by ranges of entry numbers, ids per list, category codes."""

    def __init__(self, vocabulary: Sequence[str | None] = (None,)) -> None:
        """No entries; categories coded by ``vocabulary`` (code 0: no category)."""
        self.names: list[str] = []
        self.starts: list[int] = [0]  # list i has entries starts[i] .. starts[i + 1] - 1
        self.ids: list[Ids] = []
        self.codes = np.zeros(0, np.uint16)
        self.vocabulary: list[str | None] = list(vocabulary)  # code 0: no category
        if not self.vocabulary or self.vocabulary[0] is not None or not all(isinstance(c, str) for c in self.vocabulary[1:]):
            raise ValueError("the category vocabulary is malformed")
        self._code_of: dict[str | None, int] = {c: i for i, c in enumerate(self.vocabulary)}

    def __len__(self) -> int:
        return self.starts[-1]

    def encode(self, categories: str | Sequence[str | None] | None, count: int) -> np.ndarray:
        """Category codes of ``count`` entries: one category for all, or one each."""
        if categories is None or isinstance(categories, str):
            categories = [categories]
        elif len(categories) != count:
            raise ValueError(f"{len(categories)} categories for {count} rows")
        for category in dict.fromkeys(categories):  # new ones get codes in order of appearance
            if category in self._code_of:
                continue
            if not isinstance(category, str):
                raise TypeError(f"categories must be strings or None, got {type(category).__name__}")
            self._code_of[category] = len(self.vocabulary)
            self.vocabulary.append(category)
        codes = np.fromiter(map(self._code_of.__getitem__, categories), dtype=np.uint32, count=len(categories))
        return codes if len(codes) == count else np.full(count, codes[0], np.uint32)

    def append(self, name: str, ids: Ids, codes: np.ndarray) -> int:
        """Add a list's entries; returns the first one's number."""
        first = len(self)
        if first + ids.count > MAX_ENTRIES:
            raise ValueError(f"an index holds at most {MAX_ENTRIES} entries")
        dtype = np.uint16 if len(self.vocabulary) <= 2**16 else np.uint32
        self.codes = np.concatenate([self.codes.astype(dtype, copy=False), codes.astype(dtype)])
        self.names.append(name)
        self.ids.append(ids)
        self.starts.append(first + ids.count)
        return first

    def describe(self, entry: int) -> tuple[str, str, str | None]:
        """``(list, entry_id, category)`` of an entry number."""
        i = bisect.bisect_right(self.starts, entry) - 1
        return self.names[i], self.ids[i].get(self.names[i], entry - self.starts[i]), self.vocabulary[self.codes[entry]]

    def sizes(self) -> dict[str, int]:
        """``{list name: its number of entries}``."""
        return {name: self.starts[i + 1] - self.starts[i] for i, name in enumerate(self.names)}


# --------------------------------------------------------------------------------------------- all of it


@dataclass
class IndexParts:
    """Everything an index holds: entries, a table per perceptual family (with, for rows of listed
    video frames, their times), listed videos' frame counts, exact-digest sets, listed TMKs."""

    entries: Entries = field(default_factory=Entries)
    perceptual: dict[str, Table] = field(default_factory=dict)
    times: dict[str, np.ndarray] = field(default_factory=dict)  # per table row: its frame's time, NaN for pictures
    video_frames: dict[int, int] = field(default_factory=dict)  # listed video entry -> its usable frames
    exact: dict[str, Digests] = field(default_factory=lambda: {a: Digests(ALGORITHM_INFO[a].nbytes) for a in EXACT})
    tmk: TMKTable = field(default_factory=TMKTable)

    def add_rows(self, family: str, rows: np.ndarray, numbers: np.ndarray, times: np.ndarray | None = None) -> None:
        """Append rows with their entry numbers and, for listed video frames, their times."""
        if len(rows):
            table = self.perceptual.setdefault(family, new_table(family))
            before = len(table)
            if times is not None or family in self.times:
                old = self.times.get(family, np.full(before, np.nan, np.float32))
                new = np.full(len(rows), np.nan, np.float32) if times is None else np.asarray(times, np.float32)
                self.times[family] = np.concatenate([old, new])
            table.add(np.ascontiguousarray(rows, dtype=np.uint8), numbers)

    def table(self, family: str) -> Table | None:
        """The family's table when it has rows."""
        table = self.perceptual.get(family)
        return table if table is not None and len(table) else None

    def listed_times(self, family: str, labels: np.ndarray) -> list[float | None]:
        """The listed video frame time of each hit row (None for a listed picture)."""
        times = self.times.get(family)
        if times is None:
            return [None] * len(labels)
        return [None if t != t else float(t) for t in times[labels].tolist()]  # NaN: a picture


