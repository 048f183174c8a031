"""What a match is, and how a table's search results become matches: shared by every probe
(``index.py``'s plain hashes, ``robust_match.py``, ``video_match.py``, ``tmk_lists.py``).

A search answers FAISS-style ``(lims, distances, labels)``: the hits of query row ``r`` are
``lims[r]:lims[r + 1]``. ``hits`` walks them; a probe keeps, per query, the best hit of each
(entry, family) in a ``Found`` mapping (``note``); ``best_matches`` turns that into ``Match``
records, one per listed id and family, nearest first.

>>> import numpy as np

from .hashes import Hash
>>> list(hits(np.array([0, 0, 2, 3])))
[(1, 0), (1, 1), (2, 2)]
>>> found: Found = {}
>>> note(found, 7, "pdq", "pdq-thumb512", 4)
>>> note(found, 7, "pdq", "pdq", 9)
>>> found
{(7, 'pdq'): (4, 'pdq-thumb512', None)}
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from typing import Any, TypedDict

import numpy as np

from .hashes import Hash

__all__ = ["Found", "Match", "as_hash", "best_matches", "hits", "note", "sort_key"]

#: Per query: ``(entry number, family) -> (distance, algorithm that came closest, listed frame time)``.
Found = dict[tuple[int, str], tuple[int, str, "float | None"]]


class _MatchFields(TypedDict):
    list: str
    entry_id: str
    category: str | None
    algorithm: str
    distance: int | float
    threshold: int | float


class Match(_MatchFields, total=False):
    """One match as ``HashIndex.match`` returns it and the JSON records carry it.

    Always: ``list``, ``entry_id``, ``category``, ``algorithm`` (the query's hash that came
    closest: a PDQ dialect, ``pdq-dihedral``, ``pdq-robust``, ``vpdq``, ``tmk``...), ``distance``
    and ``threshold`` (inclusive). A picture that is a frame of a listed video adds
    ``listed_timestamp``; a video's matches add vPDQ's shares and times (``video_match.py``),
    a TMK match ``level1``/``level2``.
    """

    listed_timestamp: float
    query_share: float
    listed_share: float
    timestamps: list[Any]
    level1: float
    level2: float


def hits(lims: np.ndarray) -> Iterator[tuple[int, int]]:
    """``(query row, hit)`` for every hit of a search, query rows in order."""
    for r in np.flatnonzero(lims[1:] > lims[:-1]).tolist():
        for k in range(int(lims[r]), int(lims[r + 1])):
            yield r, k


def note(found: Found, entry: int, family: str, name: str, distance: int, listed_time: float | None = None) -> None:
    """Keep a hit when it is the entry's nearest in that family so far."""
    key = (entry, family)
    if key not in found or distance < found[key][0]:
        found[key] = (distance, name, listed_time)


def sort_key(match: Mapping[str, Any]) -> tuple[Any, ...]:
    """Nearest first, then by list, id and algorithm."""
    return match["distance"], match["list"], match["entry_id"], match.get("algorithm", "")


def best_matches(found: Found, describe: Callable[[int], tuple[str, str, str | None]],
                 thresholds: Mapping[str, int]) -> list[Match]:
    """One match per listed id and family (entries given the same id twice count once), nearest first."""
    best: dict[tuple[str, str, str], Match] = {}
    for (entry, family), (distance, name, listed_time) in found.items():
        list_name, entry_id, category = describe(entry)
        key = (list_name, entry_id, family)
        if key not in best or distance < best[key]["distance"]:
            match = Match(list=list_name, entry_id=entry_id, category=category, algorithm=name, distance=distance,
                          threshold=thresholds.get(family, 0))
            if listed_time is not None:  # a picture that is a frame of a listed video
                match["listed_timestamp"] = listed_time
            best[key] = match
    return sorted(best.values(), key=sort_key)


def as_hash(algorithm: str, value: Any) -> Hash | None:
    """A query hash from a record's ``{"hex", "quality"}``, a ``Hash`` or a hex string."""
    if isinstance(value, Hash):
        return value if value.algorithm == algorithm else None
    if isinstance(value, Mapping) and isinstance(value.get("hex"), str):
        return Hash.from_hex(algorithm, value["hex"], value.get("quality"))
    if isinstance(value, str):
        return Hash.from_hex(algorithm, value)
    return None
