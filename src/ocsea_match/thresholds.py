"""Which match thresholds and PDQ quality floors mean anything: one place for the CLI and the API.

A threshold is an inclusive Hamming distance. Two hashes of unrelated pictures differ in about
half their bits (PDQ: 128 of 256, median over the 5050 pairs of the 101 corpus pictures; the
64-bit hashes: 32). A threshold of a quarter of the bits or more can no longer mean "the same
picture": PDQ at 64 already pairs two unrelated corpus pictures, at 100 it pairs 21 of the 5050
(and ``pdq=300`` pairs every picture with every other). So a threshold must be below a quarter
of the hash's bits: PDQ (and its robust rows) 0-63, pHash/dHash/aHash/wHash 0-15. At 15, 3 of the
5050 unrelated pairs match by pHash (dHash 61, aHash 178, wHash 168: these weaker hashes are
already loose at their default of 10, see benchmarks/robustness).

>>> check_thresholds({"pdq": 31})
{'pdq': 31}
>>> check_thresholds({"pdq": 300})  # doctest: +IGNORE_EXCEPTION_DETAIL
Traceback (most recent call last):
ValueError: threshold pdq=300 ...
"""

from __future__ import annotations

from collections.abc import Mapping

from .algorithms import ALGORITHM_INFO

__all__ = ["DEFAULT_THRESHOLDS", "MAX_THRESHOLDS", "DEFAULT_PDQ_QUALITY_FLOOR", "check_thresholds", "check_quality_floor",
           "threshold_help"]

#: Inclusive Hamming thresholds of the index tables (``algorithms.ALGORITHM_INFO``). PDQ's 31 is
#: Meta's recommendation; the 64-bit hashes' 10 is the usual imagehash practice, to be calibrated
#: (benchmarks/robustness); pdq-robust's is ``robust.THRESHOLD``.
DEFAULT_THRESHOLDS: dict[str, int] = {a.name: a.default_threshold for a in ALGORITHM_INFO.values()
                                      if a.default_threshold is not None}
#: The largest threshold that can still mean "the same picture": below a quarter of the bits.
MAX_THRESHOLDS: dict[str, int] = {name: ALGORITHM_INFO[name].bits // 4 - 1 for name in DEFAULT_THRESHOLDS}
#: PDQ hashes with a quality under this are not matched (Meta's recommendation: flat pictures'
#: hashes say little). 0 matches every hash; above 100 nothing would match.
DEFAULT_PDQ_QUALITY_FLOOR = 50


def check_thresholds(thresholds: Mapping[str, object] | None) -> dict[str, int]:
    """The thresholds as ints, or ``ValueError`` saying which one is out of its range and why."""
    checked: dict[str, int] = {}
    for name, value in (thresholds or {}).items():
        if name not in MAX_THRESHOLDS:
            raise ValueError(f"no threshold for {name!r}: thresholds are set for {', '.join(MAX_THRESHOLDS)}"
                             + (" (every PDQ dialect is matched with the pdq threshold)" if str(name).startswith("pdq-") else ""))
        if isinstance(value, bool) or not isinstance(value, int):
            raise ValueError(f"threshold {name}={value!r} is not a whole number")
        if not 0 <= value <= MAX_THRESHOLDS[name]:
            raise ValueError(f"threshold {name}={value} is outside 0-{MAX_THRESHOLDS[name]}: {threshold_help(name)}")
        checked[name] = value
    return checked


def threshold_help(name: str) -> str:
    bits = ALGORITHM_INFO[name].bits
    return (f"{name} hashes have {bits} bits and unrelated pictures differ in about {bits // 2}; at {bits // 4} or more "
            f"differing bits a match no longer means the same picture (default {DEFAULT_THRESHOLDS[name]})")


def check_quality_floor(value: object) -> int:
    """A PDQ quality floor 0-100, or ``ValueError``."""
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 100:
        raise ValueError(f"the PDQ quality floor must be a whole number from 0 to 100 (default "
                         f"{DEFAULT_PDQ_QUALITY_FLOOR}), not {value!r}")
    return value
