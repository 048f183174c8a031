"""A PDQ list read into columns (``formats.columnar``) added to a HashIndex as ``add_list`` adds it.

Package-internal: ``HashIndex.add_list_file`` adds through it (``HashIndex.new_list``), and
``HashIndex.add_hashes`` adds packed rows through ``add_packed``. Same entries, numbers, categories, quality-floor report lines and refusal
as ``add_list`` of the ``HashList`` that ``load_list`` reads from the same file, without a Python
object per entry when the ids are generated or plain decimal numbers.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

from ._index_store import Ids, Split256
from ._wording import plural
from .algorithms import ALGORITHM_INFO
from .formats import EmptyListError
from .formats.columnar import Columns
from .hashes import match_family

if TYPE_CHECKING:
    from .index import HashIndex

__all__ = ["add_columns", "add_packed"]


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
            table = parts.exact[algorithm]
            for value, number in zip(rows, numbers.tolist()):
                table.setdefault(value.tobytes().hex(), []).append(number)
        else:
            parts.add_rows(info.family, rows, numbers)
    return len(rows)
