"""A PDQ list read into columns (``formats.columnar``) added to a HashIndex as ``add_list`` adds it.

Private to ``index.py``. Same entries, numbers, categories, quality-floor report lines and refusal
as ``add_list`` of the ``HashList`` that ``load_list`` reads from the same file, without a Python
object per entry when the ids are generated or plain decimal numbers.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from ._index_store import Ids
from ._wording import plural
from .formats import EmptyListError
from .formats.columnar import Columns

if TYPE_CHECKING:
    from .index import HashIndex

__all__ = ["add_columns"]


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
    rows, codes, numbers = columns.rows[keep], columns.codes[keep], columns.numbers[keep]
    ids = columns.ids
    if ids is None:  # generated "list:line": one entry a row, nothing stored but the line numbers
        entry_of = np.arange(len(rows), dtype=np.int64)
        plain = len(numbers) and int(numbers[0]) == 1 and int(numbers[-1]) == len(numbers)
        entry_ids = Ids(len(rows), numbers=None if plain else numbers.astype(np.uint32))
        first_rows = entry_of
    elif isinstance(ids, np.ndarray):  # plain decimal ids; a repeated id is one entry (its first row's)
        values = ids[keep]
        unique, first, inverse = np.unique(values, return_index=True, return_inverse=True)
        order = np.argsort(first, kind="stable")
        rank = np.empty(len(order), np.int64)
        rank[order] = np.arange(len(order))
        entry_of, first_rows = rank[inverse.reshape(-1)], first[order]
        entry_ids = Ids(len(order), values=unique[order])
    else:
        kept_ids = ids if isinstance(keep, slice) else [ids[i] for i in keep.tolist()]
        local: dict[str, int] = {}
        entry_of = np.fromiter((local.setdefault(i, len(local)) for i in kept_ids), np.int64, len(kept_ids))
        first_rows = np.flatnonzero(np.concatenate([[True], entry_of[1:] > np.maximum.accumulate(entry_of)[:-1]]))
        entry_ids = Ids.explicit(list(local))
    vocabulary = columns.vocabulary
    entry_codes = codes[first_rows]
    seen, at = np.unique(entry_codes, return_index=True)
    appearing = seen[np.argsort(at)]  # categories in order of first appearance, as add_list encodes them
    table = np.zeros(len(vocabulary), np.uint32)
    with index._lock:
        index._check_new(columns.name)
        table[appearing] = index._entries.encode([vocabulary[c] for c in appearing.tolist()], len(appearing))
        start = index._entries.append(columns.name, entry_ids, table[entry_codes])
        index._add_rows("pdq", rows, start + entry_of)
