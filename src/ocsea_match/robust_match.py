"""The robust probe of the index (the matching side of ``robust.py``'s rule).

A query record's ``robust.query`` rows are its plain PDQ's rotations/flips (the first
``robust.DIHEDRAL - 1``) and its robust variants (trimmed, cropped). They are matched:

- rotations/flips against listed PDQ at PDQ's own threshold (PDQ-dihedral's rule, so robust never
  finds less), noted as ``pdq-dihedral`` in the ``pdq`` family;
- every variant against listed PDQ, and the plain PDQ and the variants against listed pictures'
  derived rows (the ``pdq-robust`` table), at the robust threshold, noted as ``pdq-robust``.

Both searches go through ``robust_search.for_parts`` (substring tables over the same rows, built on
the first robust query): the hits of an exhaustive scan, visiting a few thousand rows a probe.

>>> from ocsea_match._index_store import IndexParts
>>> found = [{}]
>>> match_robust([{"hashes": {}}], found, IndexParts(), thresholds={"pdq": 31, "pdq-robust": 23},
...              quality_floor=50, threads=1)
>>> found
[{}]
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np

from .matches import Found, as_hash, hits, note
from .robust_search import for_parts, parts_nbytes

__all__ = ["match_robust", "robust_nbytes"]


def match_robust(queries: Sequence[Mapping[str, Any]], found: list[Found], parts: Any, *, thresholds: Mapping[str, int],
                 quality_floor: int, threads: int,
                 plain_rows: Callable[[], tuple[list[np.ndarray], list[int], list[str]]] | None = None) -> None:
    """Note the robust hits of each query in ``found`` (one ``Found`` per query) against an
    index's ``IndexParts``. ``plain_rows``: the queries' PDQ rows ``(rows, owners, names)``, asked
    for only when the index has derived rows."""
    variants: list[np.ndarray] = []
    owners: list[int] = []
    turned: list[np.ndarray] = []
    turned_owners: list[int] = []
    for qi, query in enumerate(queries):
        rows = (query.get("robust") or {}).get("query") if isinstance(query.get("robust"), Mapping) else None
        if not rows:
            continue
        from .robust import DIHEDRAL  # only when a query carries robust rows: robust.py needs OpenCV

        for k, value in enumerate(rows):
            h = as_hash("pdq", value)
            if h is not None and (h.quality is None or h.quality >= quality_floor):
                variants.append(h.to_array())
                owners.append(qi)
                if k < DIHEDRAL - 1:
                    turned.append(variants[-1])
                    turned_owners.append(qi)
    if not variants and (parts.table("pdq-robust") is None or plain_rows is None):
        return  # nothing robust to probe with or against: no substring tables are built
    search = for_parts(parts, plain=thresholds["pdq"], robust=thresholds["pdq-robust"])
    if search is None:
        return
    if turned and search.pdq is not None:
        lims, distances, labels = search.turned(np.stack(turned), threads, shared=True)
        entries = search.pdq.entries[labels]
        for r, k in hits(lims):
            note(found[turned_owners[r]], int(entries[k]), "pdq", "pdq-dihedral", int(distances[k]))
    probes = [(variants, owners, False)]
    if search.derived is not None and plain_rows is not None:
        rows, plain_owners, names = plain_rows()
        probes.append(([rows[i] for i, name in enumerate(names) if name == "pdq"],
                       [plain_owners[i] for i, name in enumerate(names) if name == "pdq"], True))
    for rows, who, derived_only in probes:
        if not rows:
            continue
        lims, distances, entries, _ = search.variants(np.stack(rows), derived_only=derived_only, threads=threads)
        for r, k in hits(lims):
            note(found[who[r]], int(entries[k]), "pdq-robust", "pdq-robust", int(distances[k]))


def robust_nbytes(parts: Any) -> int:
    """The bytes of the robust probe's substring tables (``robust_search``), built on its first query."""
    return parts_nbytes(parts)
