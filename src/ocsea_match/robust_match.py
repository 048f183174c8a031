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

from .hashes import Hash
from .matches import Found, as_hash, hits, note
from .robust_search import for_parts, parts_nbytes

__all__ = ["match_robust", "prepare_robust", "robust_nbytes"]


def match_robust(queries: Sequence[Mapping[str, Any]], found: list[Found], parts: Any, *, thresholds: Mapping[str, int],
                 quality_floor: int, threads: int,
                 plain_rows: Callable[[], tuple[list[np.ndarray], list[int], list[str]]] | None = None) -> None:
    """Note the robust hits of each query in ``found`` (one ``Found`` per query) against an
    index's ``IndexParts``. ``plain_rows``: the queries' PDQ rows ``(rows, owners, names)``, asked
    for only when the index has derived rows."""
    variants, owners, turned_at = _query_rows(queries, quality_floor)
    turned, turned_owners = variants[turned_at], [owners[i] for i in turned_at]
    if not len(variants) and (parts.table("pdq-robust") is None or plain_rows is None):
        return  # nothing robust to probe with or against: no substring tables are built
    search = for_parts(parts, plain=thresholds["pdq"], robust=thresholds["pdq-robust"])
    if search is None:
        return
    if len(turned) and search.pdq is not None:
        lims, distances, labels = search.turned(turned, threads, shared=True)
        entries = search.pdq.entries[labels]
        for r, k in hits(lims):
            note(found[turned_owners[r]], int(entries[k]), "pdq", "pdq-dihedral", int(distances[k]))
    probes = [(variants, owners, False)]
    if search.derived is not None and plain_rows is not None:
        rows, plain_owners, names = plain_rows()
        probes.append(([rows[i] for i, name in enumerate(names) if name == "pdq"],
                       [plain_owners[i] for i, name in enumerate(names) if name == "pdq"], True))
    for rows, who, derived_only in probes:
        if not len(rows):
            continue
        lims, distances, entries, _ = search.variants(np.stack(rows) if isinstance(rows, list) else rows,
                                                      derived_only=derived_only, threads=threads)
        for r, k in hits(lims):
            note(found[who[r]], int(entries[k]), "pdq-robust", "pdq-robust", int(distances[k]))


def _query_rows(queries: Sequence[Mapping[str, Any]], quality_floor: int) -> tuple[np.ndarray, list[int], list[int]]:
    """The queries' ``robust.query`` rows at or over the quality floor as one uint8 (n, 32) array,
    the query of each row, and which rows are rotations/flips of the plain PDQ. The hex of all
    rows is parsed in one go (a query carries ~150); a row that is not a plain ``{"hex",
    "quality"}`` of 64 characters goes through ``as_hash``, which says what is wrong with it."""
    texts: list[str] = []
    owners: list[int] = []
    turned_at: list[int] = []
    for qi, query in enumerate(queries):
        robust = query.get("robust")
        rows = robust.get("query") if isinstance(robust, Mapping) else None
        if not rows:
            continue
        from .robust import DIHEDRAL  # only when a query carries robust rows: robust.py needs OpenCV

        for k, value in enumerate(rows):
            text = value.get("hex") if isinstance(value, dict) else None
            quality = value.get("quality") if text is not None else None
            if not (isinstance(text, str) and len(text) == 64 and (quality is None or type(quality) is int)):
                h = as_hash("pdq", value)
                text, quality = (h.hex, h.quality) if h is not None else (None, None)
            if text is None or (quality is not None and quality < quality_floor):
                continue
            if k < DIHEDRAL - 1:
                turned_at.append(len(texts))
            texts.append(text)
            owners.append(qi)
    try:
        block = bytes.fromhex("".join(texts))
    except ValueError:
        block = b""
    if len(block) != 32 * len(texts):  # a malformed row: parse each, so that its own error is raised
        block = b"".join(Hash.from_hex("pdq", text).data for text in texts)
    return np.frombuffer(block, np.uint8).reshape(-1, 32), owners, turned_at


def prepare_robust(parts: Any, thresholds: Mapping[str, int], threads: int = 1, always: bool = False) -> int:
    """Build the robust probe's substring tables now (a service at load) when ``parts`` hold
    listed robust rows, whose list holder asked for robust matching; returns their bytes (0 when
    nothing was built: without listed robust rows they wait for the first robust query).
    ``threads``: OpenMP threads sharing the build of the substring tables (0: all). ``always``:
    build them over the plain rows too when no robust rows are listed (robust queries expected)."""
    if parts.table("pdq-robust") is None and not always:
        return 0
    search = for_parts(parts, plain=thresholds["pdq"], robust=thresholds["pdq-robust"])
    if search is None:
        return 0
    search.prepare("all", threads)
    return search.nbytes


def robust_nbytes(parts: Any) -> int:
    """The bytes of the robust probe's substring tables (``robust_search``), built on its first query."""
    return parts_nbytes(parts)
