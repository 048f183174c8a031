"""The method section's facts: what each algorithm and threshold means, and the false-match rates
this project's benchmarks measured (the figures of the README; nothing is measured at report time).

>>> rows = algorithm_rows({"pdq": 31, "phash": 10}, used={"pdq"})
>>> rows[0]["name"], rows[0]["threshold"]
('md5, sha1, sha256', 'identical bytes')
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..algorithms import ALGORITHM_INFO
from ..thresholds import DEFAULT_THRESHOLDS

__all__ = ["ALGORITHMS", "algorithm_rows"]

_PDQ_RATE = ("On this project's benchmark (benchmarks/robustness.py: 101 benign pictures, 141,400 pairs of "
             "different pictures under 14 edits), the distance at which 1 pair in 10,000 of different pictures "
             "matched was 65 bits for plain PDQ: at the threshold of 31, fewer than 1 in 10,000 pairs of "
             "different pictures matched.")

#: name -> (what it is, how the distance is counted, the measured false-match rate or why there is none)
ALGORITHMS: dict[str, tuple[str, str, str]] = {
    "md5, sha1, sha256": (
        "Cryptographic digests of the file's bytes, compared for equality.",
        "equal or not",
        "A digest match means the same bytes as the listed file (SHA-1 and MD5 collisions can be made on "
        "purpose; none is known for SHA-256)."),
    "pdq": (
        "Meta's PDQ: a 256-bit perceptual hash of the whole picture at full resolution (as pdqhash and "
        "ThreatExchange compute it). Pictures of PDQ quality under 50 (flat pictures) are neither listed nor "
        "searched.",
        "bits that differ (Hamming distance, 0-256), inclusive threshold",
        _PDQ_RATE),
    "pdq-thumb512": (
        "PDQ of the picture reduced as the PDQ Python reference does (512-pixel thumbnail): the same picture "
        "hashed by another tool's dialect.", "as pdq", "As pdq (the benchmark measured full-resolution PDQ)."),
    "pdq-nearest512": (
        "PDQ of the picture reduced as the PDQ C++ tool does (512x512 nearest neighbour).",
        "as pdq", "As pdq (the benchmark measured full-resolution PDQ)."),
    "pdq-robust": (
        "PDQ of re-framings of the picture (its 8 rotations and flips, bars trimmed, crops) against the listed "
        "picture's: finds copies that were padded, cropped, captioned, mirrored or slightly rotated.",
        "the smallest distance over all pairs compared (~100), threshold 23",
        "On the same benchmark the 1-in-10,000 point of the robust comparison was 23 bits, set by one pair of "
        "mirrored near-duplicate renders in the test pictures; at 23, about 1 pair in 10,000 of different "
        "pictures matched."),
    "vpdq": (
        "Videos: the PDQ of one frame per second; a video matches a listed video when enough of its frames are "
        "within the PDQ threshold of the listed video's frames.",
        "distance: the closest frame pair; query share: the share of this video's frames that matched; listed "
        "share: the share of the listed video's frames",
        "Not measured for videos by this project's benchmarks; each frame pair is held to the PDQ threshold."),
    "phash, dhash, ahash, whash": (
        "imagehash's 64-bit perceptual hashes (DCT, gradient, average, wavelet).",
        "bits that differ (0-64), inclusive threshold",
        "Not measured by this project's benchmarks at the threshold of 10."),
}

def _default_threshold(name: str) -> int:
    """The shipped threshold of ``name`` (a vPDQ frame and the PDQ dialects are held to PDQ's)."""
    family = "pdq" if name == "vpdq" else ALGORITHM_INFO[name].family
    if family not in DEFAULT_THRESHOLDS:
        family = ALGORITHM_INFO[name].dialect_of or family
    return DEFAULT_THRESHOLDS[family]


def algorithm_rows(thresholds: Mapping[str, Any], used: set[str]) -> list[dict[str, Any]]:
    """One row per algorithm: the case's threshold (from provenance), meaning, rate, and whether a match used it."""
    rows = []
    for name, (what, distance, rate) in ALGORITHMS.items():
        parts = [p.strip() for p in name.split(",")]
        if name.startswith("md5"):
            threshold: Any = "identical bytes"
        elif name.startswith("phash"):
            values = {f"{p} {thresholds[p]}" for p in parts if p in thresholds}
            threshold = ", ".join(sorted(values)) or ", ".join(f"{p} {_default_threshold(p)}" for p in parts)
        elif name.startswith("pdq-") and name != "pdq-robust":
            threshold = thresholds.get("pdq", _default_threshold(name))
        elif name == "vpdq":
            threshold = thresholds.get("pdq", _default_threshold(name))
        else:
            threshold = thresholds.get(name, _default_threshold(name))
        rows.append({"name": name, "what": what, "distance": distance, "rate": rate, "threshold": threshold,
                     "used": any(p in used for p in parts)})
    return rows
