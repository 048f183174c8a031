"""Test oracles for video matching (moved out of the library: only tests use them): vPDQ's rule
by brute force over frame hashes, and a record's frames as hashes."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from ocsea_match.hashes import Hash
from ocsea_match.video_match import VIDEO_DEFAULTS

__all__ = ["frames_of", "match_video"]


def match_video(
    query: Sequence[tuple[float, Hash]],
    listed: Mapping[Any, Sequence[tuple[float, Hash]]],
    *,
    quality_floor: int = int(VIDEO_DEFAULTS["quality_floor"]),
    distance: int = int(VIDEO_DEFAULTS["distance"]),
    query_share: float = VIDEO_DEFAULTS["query_share"],
    listed_share: float = VIDEO_DEFAULTS["listed_share"],
) -> dict[Any, dict[str, Any]]:
    """vPDQ's rule by brute force, for small sets and as the test oracle of the index's version:
    ``{key: {"query_share", "listed_share", "pairs"}}`` for each listed video that passes."""
    q = [(t, h) for t, h in query if (h.quality or 0) >= quality_floor]
    out: dict[Any, dict[str, Any]] = {}
    for key, frames in listed.items():
        frames = [(t, h) for t, h in frames if (h.quality or 0) >= quality_floor]
        if not q or not frames:
            continue
        pairs = [(qt, lt, qh - lh) for qt, qh in q for lt, lh in frames if qh - lh <= distance]
        q_share = len({p[0] for p in pairs}) / len(q)
        l_share = len({p[1] for p in pairs}) / len(frames)
        if q_share >= query_share and l_share >= listed_share:
            out[key] = {"query_share": q_share, "listed_share": l_share, "pairs": pairs}
    return out


def frames_of(record_frames: Iterable[Mapping[str, Any]]) -> list[tuple[float, Hash]]:
    """``[(timestamp, Hash)]`` from a record's ``frames`` (or a vPDQ list's lines)."""
    return [(float(f["timestamp"]), Hash.from_hex("pdq", f["pdq"], f.get("quality"))) for f in record_frames]


def tmk_with_every_frame_decoded(clip: Any) -> Any:
    """The TMK of ``clip`` with every frame handed to the decoder (no frame skipped): what
    ``hash_video_tmk`` must equal byte for byte when it skips frames nothing refers to."""
    from ocsea_match.tmk import _hash
    from ocsea_match.video import open_video

    container, _ = open_video(clip)
    try:
        return _hash(container, 10**9, 600.0, 10**6, None)
    finally:
        container.close()
