"""The plain PDQ probe through substring tables: ``HashIndex(substring_search=True)``.

By default a plain PDQ query scans every listed row (``_core.range_search_256``, ~4 ms a query
at 10M rows on the 2-core reference machine). With ``substring_search`` the index searches the
same rows through the multi-index hashing tables of ``robust_search`` instead (16 substrings of
16 bits at PDQ's threshold 31, the 1-bit neighbourhood of each substring probed, every candidate
checked in full): the same hits, in the same order, with the same distances, visiting a few
thousand rows a query. It costs 4 bytes a row a substring (64 bytes a row at threshold 31, next to
the row's own 36) and a build when the index is loaded or a list added, which is why it is opt-in:
for big lists behind a service, not for a one-off scan.

The tables are the robust probe's own "plain" ones (``robust_search.for_parts``): an index that
uses both builds them once. Thresholds past ``robust_search.MAX_THRESHOLD`` scan as before.

>>> from ocsea_match._index_store import IndexParts
>>> parts = IndexParts()
>>> rows = np.random.default_rng(2).integers(0, 256, (500, 32), dtype=np.uint8)
>>> parts.add_rows("pdq", rows, np.arange(500))
>>> thresholds = {"pdq": 31, "pdq-robust": 23}
>>> query = rows[3:4].copy(); query[0, 0] ^= 0x0F  # 4 bits away from row 3
>>> lims, distances, labels = search_pdq(parts, query, thresholds, threads=1)
>>> labels.tolist(), distances.tolist()
([3], [4])
>>> prepare(parts, thresholds) > 0  # bytes of the built tables
True
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from .robust_search import for_parts

__all__ = ["prepare", "search_pdq"]


def search_pdq(parts: Any, queries: np.ndarray, thresholds: Mapping[str, int],
               threads: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(lims, distances, pdq rows)`` of every listed PDQ row within ``thresholds["pdq"]`` of each
    query (uint8 (q, 32)): what ``parts.table("pdq").search`` answers, through the substring tables
    (built now if the table changed since they were)."""
    search = for_parts(parts, plain=thresholds["pdq"], robust=thresholds["pdq-robust"])
    if search is None or search.pdq is None:  # no PDQ row: nothing to find
        return np.zeros(len(queries) + 1, np.int64), np.zeros(0, np.int32), np.zeros(0, np.int64)
    return search.turned(queries, threads)


def prepare(parts: Any, thresholds: Mapping[str, int]) -> int:
    """Build the substring tables of ``parts``' PDQ rows now (not on the first query); returns the
    bytes the substring tables of these parts hold."""
    search = for_parts(parts, plain=thresholds["pdq"], robust=thresholds["pdq-robust"])
    if search is None:
        return 0
    search.prepare("plain")
    return search.nbytes
