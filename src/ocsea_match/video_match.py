"""The vPDQ-frame probe of the index: a query video's frames against listed videos and pictures.

vPDQ's rule, the index's side: every usable frame of the query (quality over the floor; its
trimmed hash too when it has one) probes the PDQ table; a listed video matches when the share of
query frames that hit it and the share of its frames that were hit pass the thresholds, a listed
picture when any frame hits it. Brute force, for the tests, is ``tests/video_helpers.py``.

>>> hits = [(0, "V1", 0.0, 3), (1, "V1", 1.0, 5), (1, "P1", None, 7)]
>>> result = aggregate_frame_hits([0.0, 1.0], hits, {"V1": 2})
>>> result["V1"]["query_share"], result["V1"]["distance"], result["P1"]
(1.0, 3, {'distance': 7, 'timestamps': [1.0]})
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

import numpy as np

from .hashes import Hash
from .matches import Match, hits as walk, sort_key

__all__ = ["VIDEO_DEFAULTS", "aggregate_frame_hits", "match_frames"]

#: vPDQ's matching defaults: frames under quality 50 ignored, PDQ distance <= 31, and a video
#: matches when 80% of the query's frames match it (``listed_share``: of the listed video's
#: frames, 0 = not required, as vPDQ's default).
VIDEO_DEFAULTS: dict[str, float] = {"quality_floor": 50, "distance": 31, "query_share": 0.8, "listed_share": 0.0}


def aggregate_frame_hits(
    query_times: Sequence[float],
    hits: Iterable[tuple[int, Any, float | None, int]],
    listed_frames: Mapping[Any, int],
    *,
    query_share: float = VIDEO_DEFAULTS["query_share"],
    listed_share: float = VIDEO_DEFAULTS["listed_share"],
) -> dict[Any, dict[str, Any]]:
    """Per listed item, what a query video's frame hits add up to (the index's side of vPDQ).

    ``query_times``: the times of the query's usable frames (quality over the floor; one per
    frame even when it was probed with several hashes). ``hits``: ``(query frame index, listed
    key, listed frame time or None for a still picture, distance)``. ``listed_frames``: usable
    frames per listed video. A listed video is reported when the share of query frames that hit
    it and the share of its frames that were hit pass the thresholds; a listed still picture
    when any frame hits it. Each result has ``distance`` (the closest), ``timestamps`` (query
    time, and the listed frame's time for a video, per hitting query frame, closest first per
    frame) and, for videos, both shares.
    """
    best: dict[Any, dict[int, tuple[int, float | None]]] = {}
    listed_hit: dict[Any, set[float]] = {}
    for qi, key, listed_time, dist in hits:
        per_frame = best.setdefault(key, {})
        if qi not in per_frame or dist < per_frame[qi][0]:
            per_frame[qi] = (dist, listed_time)
        if listed_time is not None:
            listed_hit.setdefault(key, set()).add(listed_time)
    out: dict[Any, dict[str, Any]] = {}
    usable = max(len(query_times), 1)
    for key, per_frame in best.items():
        distance = min(d for d, _ in per_frame.values())
        if key in listed_hit:
            q_share = len(per_frame) / usable
            l_share = len(listed_hit[key]) / max(listed_frames.get(key, 0), 1)
            if q_share + 1e-9 < query_share or l_share + 1e-9 < listed_share:
                continue
            stamps = [[query_times[qi], lt] for qi, (_, lt) in sorted(per_frame.items())]
            out[key] = {"distance": distance, "query_share": round(q_share, 4), "listed_share": round(min(l_share, 1.0), 4),
                        "timestamps": stamps}
        else:
            out[key] = {"distance": distance, "timestamps": [query_times[qi] for qi in sorted(per_frame)]}
    return out


def match_frames(frames: Sequence[Mapping[str, Any]], parts: Any, *, threshold: int, quality_floor: int,
                 query_share: float, listed_share: float, threads: int) -> list[Match]:
    """A query video's matches (``frames`` as a record carries them) in an index's ``IndexParts``:
    listed videos whose share of matching frames passes (``algorithm: "vpdq"``), and listed
    pictures a frame matches (``"pdq"``), nearest first."""
    table = parts.table("pdq")
    if table is None:
        return []
    probes: list[np.ndarray] = []
    owners: list[int] = []
    usable: list[float] = []  # times of the query frames over the quality floor
    for frame in frames:
        hashes = [Hash.from_hex("pdq", frame[key]) for key, quality in (("pdq", "quality"), ("pdq_trimmed", "quality_trimmed"))
                  if isinstance(frame.get(key), str) and (frame.get(quality) or 0) >= quality_floor]
        if hashes:
            probes += [h.to_array() for h in hashes]
            owners += [len(usable)] * len(hashes)
            usable.append(float(frame["timestamp"]))
    if not probes:
        return []
    lims, distances, labels = table.search(np.stack(probes), threshold, threads)
    entries, times = table.entries[labels].tolist(), parts.listed_times("pdq", labels)
    hits = [(owners[r], entries[k], times[k], int(distances[k]))
            for r, k in walk(lims)]
    results = aggregate_frame_hits(usable, hits, parts.video_frames, query_share=query_share, listed_share=listed_share)
    describe: Callable[[int], tuple[str, str, str | None]] = parts.entries.describe
    matches: dict[tuple[str, str], Match] = {}
    for entry, result in results.items():
        list_name, entry_id, category = describe(entry)
        match: Match = {"list": list_name, "entry_id": entry_id, "category": category,  # type: ignore[typeddict-item]
                        "algorithm": "vpdq" if "query_share" in result else "pdq", "threshold": threshold, **result}
        key = (list_name, entry_id)
        if key not in matches or match["distance"] < matches[key]["distance"]:
            matches[key] = match
    return sorted(matches.values(), key=sort_key)
