"""Lists added to a HashIndex without a ``HashList`` of every entry: a PDQ list read into columns
(``formats.columnar``, ``add_columns``) and any list streamed a batch at a time (``ListBuilder``,
fed by ``formats.streaming``), each as ``add_list`` adds it.

Package-internal: ``HashIndex.add_list_file`` adds through it (``HashIndex.new_list``), and
``HashIndex.add_hashes`` adds packed rows through ``add_packed``. Same entries, numbers, categories, quality-floor report lines and refusal
as ``add_list`` of the ``HashList`` that ``load_list`` reads from the same file, without a Python
object per entry when the ids are generated or plain decimal numbers.
"""

from __future__ import annotations

import gc
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from ._index_store import Ids, Split256
from ._wording import plural
from .algorithms import ALGORITHM_INFO, EXACT
from .formats import EmptyListError, ListEntry, LoadReport
from .formats.columnar import Columns
from .formats.streaming import read_streaming
from .hashes import HASH_BITS, match_family

if TYPE_CHECKING:
    from .index import HashIndex

__all__ = ["ListBuilder", "add_columns", "add_packed", "add_streamed"]

_FAMILY = {name: info.family for name, info in ALGORITHM_INFO.items()}


def add_columns(index: HashIndex, columns: Columns) -> None:
    """Add a list's columns; ``EmptyListError`` (nothing added) when every row is under the floor."""
    report, floor = columns.report, index.pdq_quality_floor
    keep = slice(None)
    if columns.quality is not None:
        under = (columns.quality >= 0) & (columns.quality < floor)
        if under.any():
            skipped = [(columns.entry_id(i), f"PDQ quality {int(columns.quality[i])} is under the floor {floor}: not matched")
                       for i in np.flatnonzero(under).tolist()]
            report.unmatched += skipped
            report.notes.append(f"{plural(len(skipped), 'PDQ entry', 'PDQ entries')} with quality under "
                                f"{floor} not matched (named above)")
            keep = np.flatnonzero(~under)
            if not len(keep):
                raise EmptyListError(f"list {columns.name!r}: no entry can be matched ({plural(len(skipped), 'PDQ entry', 'PDQ entries')} "
                                     f"under the quality floor {floor})", report)
    head, tail, codes, numbers = columns.head[keep], columns.tail[keep], columns.codes[keep], columns.numbers[keep]
    ids = columns.ids
    entry_of: np.ndarray | None = None  # per row, its entry within the list (None: one entry a row)
    if ids is None:  # generated "list:line": one entry a row, nothing stored but the line numbers
        plain = len(numbers) and int(numbers[0]) == 1 and int(numbers[-1]) == len(numbers)
        entry_ids = Ids(len(head), numbers=None if plain else numbers.astype(np.uint32))
    elif isinstance(ids, np.ndarray):  # plain decimal ids; a repeated id is one entry (its first row's)
        values = ids[keep]
        if len(values) < 2 or bool((values[1:] > values[:-1]).all()):  # ascending: no id twice
            entry_ids = Ids(len(values), values=values)
        else:
            unique, first, inverse = np.unique(values, return_index=True, return_inverse=True)
            order = np.argsort(first, kind="stable")
            rank = np.empty(len(order), np.int64)
            rank[order] = np.arange(len(order))
            entry_of, codes = rank[inverse.reshape(-1)], codes[first[order]]
            entry_ids = Ids(len(order), values=unique[order])
    else:
        kept_ids = ids if isinstance(keep, slice) else [ids[i] for i in keep.tolist()]
        local: dict[str, int] = {}
        entry_of = np.fromiter((local.setdefault(i, len(local)) for i in kept_ids), np.int64, len(kept_ids))
        codes = codes[np.flatnonzero(np.concatenate([[True], entry_of[1:] > np.maximum.accumulate(entry_of)[:-1]]))]
        entry_ids = Ids.explicit(list(local))
    vocabulary = columns.vocabulary  # codes: now one per entry
    if len(vocabulary) <= 64:
        firsts = {c: int(np.argmax(codes == c)) for c in np.flatnonzero(np.bincount(codes, minlength=len(vocabulary))).tolist()}
        appearing = np.asarray(sorted(firsts, key=firsts.__getitem__), np.int64)
    else:
        seen, at = np.unique(codes, return_index=True)
        appearing = seen[np.argsort(at)]  # categories in order of first appearance, as add_list encodes them
    table = np.zeros(len(vocabulary), np.uint32)
    with index.new_list(columns.name) as parts:
        table[appearing] = parts.entries.encode([vocabulary[c] for c in appearing.tolist()], len(appearing))
        start = parts.entries.append(columns.name, entry_ids, table[codes])
        entries = (np.arange(start, start + len(head), dtype=np.uint32) if entry_of is None
                   else (start + entry_of).astype(np.uint32))
        if "pdq" not in parts.perceptual and "pdq" not in parts.times:  # the halves become the table
            parts.perceptual["pdq"] = Split256(head, tail, entries)
        else:
            parts.add_rows("pdq", np.hstack([head, tail]), entries)


def add_packed(index: HashIndex, list_name: str, algorithm: str, rows: np.ndarray, entry_ids: Sequence[str] | None,
               categories: str | Sequence[str | None] | None, qualities: Sequence[int] | np.ndarray | None) -> int:
    """``HashIndex.add_hashes``: a list given as packed rows, one entry per row; returns the count added."""
    info = ALGORITHM_INFO.get(algorithm)
    if info is None or info.kind == "video":
        raise ValueError(f"unknown algorithm {algorithm!r}")
    width = info.nbytes
    rows = np.asarray(rows)
    if rows.dtype != np.uint8 or rows.ndim != 2 or rows.shape[1] != width:
        raise ValueError(f"{algorithm} rows must be a uint8 array of shape (n, {width}), got {rows.dtype} {rows.shape}")
    count = len(rows)
    codes = index.parts.entries.encode(categories, count)
    if entry_ids is not None and len(entry_ids) != count:
        raise ValueError(f"{len(entry_ids)} entry ids for {count} rows")
    kept: np.ndarray | None = None
    if qualities is not None and match_family(algorithm) == "pdq":
        quality = np.asarray(qualities)
        if quality.shape != (count,):
            raise ValueError(f"{quality.size} qualities for {count} rows")
        if (quality < index.pdq_quality_floor).any():
            kept = np.flatnonzero(quality >= index.pdq_quality_floor)
            rows, codes = rows[kept], codes[kept]
    if entry_ids is not None:
        ids = Ids.explicit(entry_ids if kept is None else [entry_ids[i] for i in kept])
    else:
        ids = Ids(len(rows), numbers=None if kept is None else (kept + 1).astype(np.uint32))
    with index.new_list(list_name) as parts:
        first = parts.entries.append(list_name, ids, codes)
        numbers = np.arange(first, first + len(rows), dtype=np.int64)
        if info.exact:
            parts.exact[algorithm].add(rows, numbers)
        else:
            parts.add_rows(info.family, rows, numbers)
    return len(rows)


class ListBuilder:
    """``add_list``'s work on a list fed a batch at a time, so that no ``ListEntry`` outlives its batch.

    Entries come as ``ListEntry`` batches (``add_entries``) or, for the plain items of a VICS file,
    as columns (``add_items``); ``finish`` adds the list to the index with the same entry numbers,
    categories, rows (and frame times), exact sets, TMKs, report lines and refusal as ``add_list``
    of all the entries at once. Rows wait as packed bytes (one array per batch), entry ids as one
    ``str`` per distinct id (what ``add_list``'s own id table holds).

    >>> from ocsea_match import HashIndex
    >>> builder = ListBuilder("known_list", 50)
    >>> builder.add_entries([ListEntry("A1", "md5", "0" * 32, "1")])
    >>> index = HashIndex(); builder.finish(index, None); index.parts.entries.describe(0)
    ('known_list', 'A1', '1')
    """

    def __init__(self, name: str, floor: int) -> None:
        self.name, self.floor = name, floor
        self.skipped: list[tuple[str, str]] = []
        self.unmatchable: dict[str, int] = {}
        self.local: dict[str, int] = {}  # entry id -> k (empty while the ids are kept as numbers)
        self.numeric: list[np.ndarray] | None = []  # the ids in k order as int64 while every one is a plain number
        self.top = -1  # the largest of them (ids that come in ascending order need nothing more)
        self.seen: np.ndarray | None = None  # those ids, sorted, once one came out of order
        self.categories: list[str | None] = []
        self.exact: dict[str, tuple[list[np.ndarray], list[np.ndarray]]] = {}  # algorithm -> packed digests, k
        self.rows: dict[str, tuple[list[bytes], list[np.ndarray], list[np.ndarray]]] = {}  # family -> rows, k, times
        self.frame_times: dict[int, set[float]] = {}
        self.tmks: list[tuple[int, bytes]] = []

    def _k(self, entry_id: str, category: str | None) -> int:
        self._as_text()
        local = self.local
        k = local.setdefault(entry_id, len(local))
        if k == len(self.categories):
            self.categories.append(category)
        return k

    def _as_text(self) -> None:
        """Ids kept as numbers so far go into the id table as text (an id that is not one came)."""
        if self.numeric is not None:
            if self.numeric:
                self.local = dict(zip(map(str, np.concatenate(self.numeric).tolist()), range(len(self.categories))))
            self.numeric, self.seen = None, None

    def _rows(self, family: str, hexes: list[str], ks: list[int], times: list[float]) -> None:
        if hexes:
            rows, numbers, stamps = self.rows.setdefault(family, ([], [], []))
            rows.append(bytes.fromhex("".join(hexes)))
            numbers.append(np.asarray(ks, np.int64))
            stamps.append(np.asarray(times, np.float32))

    def add_entries(self, entries: Sequence[ListEntry], tmk_files: dict[str, bytes] | None = None) -> None:
        """A batch of a list's entries, in the list's order (``tmk_files``: its ``HashList.tmk_files``)."""
        floor, exact = self.floor, self.exact
        pending: dict[str, tuple[list[str], list[int], list[float]]] = {}
        pending_exact: dict[str, tuple[list[str], list[int]]] = {}
        for entry in entries:
            family = match_family(entry.algorithm)
            if family == "pdq" and entry.quality is not None and entry.quality < floor:
                where = f"frame at {entry.timestamp:g} s: " if entry.timestamp is not None else ""
                self.skipped.append((entry.entry_id, f"{where}PDQ quality {entry.quality} is under the floor {floor}: not matched"))
                continue
            tmk = entry.algorithm == "tmk" and tmk_files is not None and entry.hex in tmk_files
            if entry.algorithm not in EXACT and entry.algorithm not in HASH_BITS and not tmk:
                self.unmatchable[entry.algorithm] = self.unmatchable.get(entry.algorithm, 0) + 1
                continue
            k = self._k(entry.entry_id, entry.category)
            if entry.algorithm in EXACT:
                values, ks = pending_exact.setdefault(entry.algorithm, ([], []))
                values.append(entry.hex)
                ks.append(k)
            elif tmk:
                self.tmks.append((k, tmk_files[entry.hex]))
            else:
                self.rows.setdefault(family, ([], [], []))  # a family's place: its first entry's
                hexes, ks, times = pending.setdefault(family, ([], [], []))
                hexes.append(entry.hex)
                ks.append(k)
                times.append(np.nan if entry.timestamp is None else entry.timestamp)
                if entry.timestamp is not None:
                    self.frame_times.setdefault(k, set()).add(entry.timestamp)
        for family, (hexes, ks, times) in pending.items():
            self._rows(family, hexes, ks, times)
        for algorithm, (values, ks) in pending_exact.items():
            table, numbers = exact.setdefault(algorithm, ([], []))
            table.append(np.frombuffer(bytes.fromhex("".join(values)), np.uint8))
            numbers.append(np.asarray(ks, np.int64))

    def add_items(self, ids: Sequence[str], categories: Sequence[str | None], item_of: np.ndarray,
                  algorithms: Sequence[str], hexes: Sequence[str], qualities: np.ndarray) -> None:
        """Items' entries as columns, in the list's order: entry e is item ``item_of[e]``'s (ascending;
        the item's id and category are ``ids[i]``, ``categories[i]``), of a known ``algorithms[e]``, with
        checked lower-case ``hexes[e]``, ``qualities[e]`` (-1: none) and no frame time."""
        floor = self.floor
        families = np.asarray(list(map(_FAMILY.__getitem__, algorithms)), object)
        under = (families == "pdq") & (qualities >= 0) & (qualities < floor)
        if under.any():
            self.skipped += [(ids[i], f"PDQ quality {q} is under the floor {floor}: not matched")
                             for i, q in zip(item_of[under].tolist(), qualities[under].tolist())]
        self._as_text()
        local, cats = self.local, self.categories
        matched = np.unique(item_of[~under])  # ascending: the items in the list's order
        ks = np.empty(len(matched), np.int64)
        for j, i in enumerate(matched.tolist()):
            k = ks[j] = local.setdefault(ids[i], len(local))
            if k == len(cats):
                cats.append(categories[i])
        k_of = ks[np.searchsorted(matched, item_of)] if len(matched) else np.zeros(len(item_of), np.int64)
        values = np.asarray(hexes, object) if len(hexes) else np.zeros(0, object)
        for family in dict.fromkeys(families.tolist()):
            picked = (families == family) & ~under
            if not picked.any():
                continue
            if family in EXACT:
                table, numbers = self.exact.setdefault(family, ([], []))
                table.append(np.frombuffer(bytes.fromhex("".join(values[picked].tolist())), np.uint8))
                numbers.append(k_of[picked])
            else:
                self.rows.setdefault(family, ([], [], []))
                self._rows(family, values[picked].tolist(), k_of[picked], np.full(int(picked.sum()), np.nan, np.float32))

    def add_unmatchable(self, algorithm: str, count: int) -> None:
        """``count`` entries of an algorithm this tool cannot match (PhotoDNA), kept out."""
        self.unmatchable[algorithm] = self.unmatchable.get(algorithm, 0) + count

    def add_plain(self, ids: np.ndarray | Sequence[str], categories: Sequence[str | None],
                  found: dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]]) -> None:
        """Items in the list's order, as columns: item i's id ``ids[i]`` (int64 ids: decimal ones) and
        category; ``found[algorithm]`` its entries ``(items, packed rows, qualities (-1: none))``, each
        algorithm's in the list's order (``formats.vics_fast``)."""
        floor, n = self.floor, len(categories)
        used = np.zeros(n, bool)
        kept = {}
        for algorithm, (items, rows, quality) in found.items():
            if algorithm == "pdq":
                under = (quality >= 0) & (quality < floor)
                if under.any():
                    self.skipped += [(str(ids[i]), f"PDQ quality {q} is under the floor {floor}: not matched")
                                     for i, q in zip(items[under].tolist(), quality[under].tolist())]
                    items, rows = items[~under], rows[~under]
            used[items] = True
            kept[algorithm] = (items, rows)
        matched = np.flatnonzero(used)
        k_of = np.zeros(n, np.int64)
        k0 = len(self.categories)
        if self.numeric is not None and isinstance(ids, np.ndarray) and len(matched):  # numbers: no text, no dict
            new = ids[matched]
            ordered = np.sort(new)
            again = bool((ordered[1:] == ordered[:-1]).any())
            if not again and (self.seen is not None or ordered[0] <= self.top):  # not all above every id so far
                if self.seen is None:
                    self.seen = np.sort(np.concatenate(self.numeric)) if self.numeric else np.zeros(0, np.int64)
                at = np.minimum(np.searchsorted(self.seen, ordered), max(len(self.seen) - 1, 0))
                again = len(self.seen) > 0 and bool((self.seen[at] == ordered).any())
                self.seen = None if again else np.sort(np.concatenate([self.seen, ordered]), kind="stable")
            if not again:  # (an id seen before: the ids become text, numbered as add_list numbers them)
                self.numeric.append(new)
                self.top = max(self.top, int(ordered[-1]))
                self.categories += [categories[i] for i in matched.tolist()]
                k_of[matched] = np.arange(k0, k0 + len(new))
                matched = matched[:0]
            else:
                self._as_text()
        if len(matched):
            self._as_text()
            keys = list(map(str, ids[matched].tolist())) if isinstance(ids, np.ndarray) else [ids[i] for i in matched.tolist()]
            local = self.local
            if len(set(keys)) == len(keys) and local.keys().isdisjoint(keys):  # all new: numbered in order
                local.update(zip(keys, range(k0, k0 + len(keys))))
                self.categories += [categories[i] for i in matched.tolist()]
                k_of[matched] = np.arange(k0, k0 + len(keys))
            else:
                k_of[matched] = [self._k(key, categories[i]) for key, i in zip(keys, matched.tolist())]
        for algorithm, (items, rows) in kept.items():
            if not len(items):
                continue
            family = _FAMILY[algorithm]
            if family in EXACT:
                table, numbers = self.exact.setdefault(family, ([], []))
                table.append(rows.reshape(-1))
                numbers.append(k_of[items])
            else:
                packed, numbers, stamps = self.rows.setdefault(family, ([], [], []))
                packed.append(rows.tobytes())
                numbers.append(k_of[items])
                stamps.append(np.full(len(items), np.nan, np.float32))

    def finish(self, index: HashIndex, report: LoadReport | None) -> None:
        """Add the list to ``index`` (``EmptyListError``, nothing added, when no entry can be matched)."""
        floor, name = self.floor, self.name
        if report is not None:
            report.unmatched += self.skipped
            if self.skipped:
                report.notes.append(f"{plural(len(self.skipped), 'PDQ entry', 'PDQ entries')} with quality under "
                                    f"{floor} not matched (named above)")
            for algorithm, count in self.unmatchable.items():
                if not any(algorithm.lower() in note.lower() for note in report.notes):
                    report.notes.append(f"{plural(count, f'{algorithm} entry', f'{algorithm} entries')} kept in the "
                                        f"list but cannot be matched by this tool")
        if not self.exact and not self.rows and not self.tmks:
            why = [f"{plural(len(self.skipped), 'PDQ entry', 'PDQ entries')} under the quality floor {floor}"] \
                if self.skipped else []
            why += [f"{plural(n, f'{a} entry', f'{a} entries')} of an algorithm this tool cannot match"
                    for a, n in self.unmatchable.items()]
            raise EmptyListError(f"list {name!r}: no entry can be matched"
                                 + (f" ({'; '.join(why)})" if why else " (the list is empty)"), report)
        with index.new_list(name) as parts:
            numeric = self.numeric
            ids = Ids(len(self.categories), values=np.concatenate(numeric)) if numeric else Ids.explicit(list(self.local))
            first = parts.entries.append(name, ids,
                                         parts.entries.encode(self.categories, len(self.categories)))
            for algorithm, (values, ks) in self.exact.items():
                parts.exact[algorithm].add(np.concatenate(values), first + np.concatenate(ks))
            for family, (rows, numbers, times) in self.rows.items():
                if not rows:
                    continue
                width = ALGORITHM_INFO[family].nbytes
                packed = np.frombuffer(b"".join(rows), np.uint8).reshape(-1, width)
                rows.clear()
                parts.add_rows(family, packed, first + np.concatenate(numbers),
                               np.concatenate(times) if self.frame_times else None)
            for k, stamps in self.frame_times.items():
                parts.video_frames[first + k] = len(stamps)
            parts.tmk.add([(first + k, data) for k, data in self.tmks])


def add_streamed(index: HashIndex, path: str | Path, *, strict: bool = False) -> LoadReport | None:
    """A VICS or JSONL list file streamed into the index (``formats.streaming``): its report, or None
    (nothing added) when the file is not one that path reads, for ``load_list`` to read."""
    collecting = gc.isenabled()
    gc.disable()  # the batches' containers are short-lived, the builder's are not cyclic: ~15% faster
    try:
        got = read_streaming(path, lambda name: ListBuilder(name, index.pdq_quality_floor), strict=strict)
        if got is None:
            return None
        report, builder = got
        builder.finish(index, report)
        return report
    finally:
        if collecting:
            gc.enable()
