"""The algorithm vocabulary: one table of every hash this tool knows, and the one hex parser.

Bottom layer: this module imports nothing of the package. Every other table of algorithm facts
(``hashes.HASH_BITS``, ``hashers.PDQ_DIALECTS``, ``formats.model.HEX_LENGTHS``,
``thresholds.DEFAULT_THRESHOLDS``, ``index.EXACT_ALGORITHMS``, the digest names ...) is derived
from ``ALGORITHM_INFO`` below, and every hex value read from a list, a record or a query is
checked by ``parse_hex``.

Adding an algorithm is one row of ``_ROWS`` (then, for a perceptual hash, its hash function in
``hashers.ALGORITHMS``): its name, the index table it is matched in (``family``: its own name, or
``"pdq"`` for a PDQ dialect), its kind (``perceptual``, ``exact`` digest, or ``video``), its bits,
its default threshold (None where it is matched with its family's), and the algorithm it is a
dialect of. The hex length follows from the bits.

>>> ALGORITHM_INFO["pdq-thumb512"].family, ALGORITHM_INFO["pdq"].hex_length, ALGORITHM_INFO["md5"].exact
('pdq', 64, True)
>>> parse_hex("phash", "C3D0BC3C3C2BC34C")
'c3d0bc3c3c2bc34c'
>>> parse_hex("phash", "c3d0")  # doctest: +IGNORE_EXCEPTION_DETAIL
Traceback (most recent call last):
ValueError: not a phash hash: ...
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

__all__ = ["ALGORITHM_INFO", "AlgorithmInfo", "DEFAULT_ALGORITHMS", "DIGESTS", "EXACT", "PERCEPTUAL", "PDQ_DIALECTS",
           "VIDEO", "hex_lengths", "modules_for", "parse_hex"]

#: What ``hash_file`` and the CLI compute when not told otherwise (also ``hashers.DEFAULT_ALGORITHMS``).
DEFAULT_ALGORITHMS: tuple[str, ...] = ("pdq",)

#: Libraries an algorithm imports when first used (not at the import of the module computing it,
#: so that a worker process that does not need them does not start with them).
ALGORITHM_MODULES: dict[str, tuple[str, ...]] = {"phash": ("ocsea_match.dct",)}


def modules_for(names: Iterable[str]) -> tuple[str, ...]:
    """The modules ``names`` import on first use, for a worker pool to import before its first file.

    >>> modules_for(["pdq", "phash"])
    ('ocsea_match.dct',)
    """
    return tuple(dict.fromkeys(m for name in names for m in ALGORITHM_MODULES.get(name, ())))


@dataclass(frozen=True)
class AlgorithmInfo:
    """What the tool knows of one algorithm (hash functions live in ``hashers``; this is the vocabulary).

    ``kind``: ``"perceptual"`` (matched by Hamming distance), ``"exact"`` (a digest, matched by
    equality) or ``"video"`` (TMK: its list value is the SHA-256 of its ``.tmk`` file, matched by
    TMK's own scores in ``tmk_lists``). ``bits``: of a hash value (a video's: of its list value).
    ``default_threshold``: inclusive Hamming threshold of its index table, None when it has none
    (digests, TMK) or is matched with its family's (a PDQ dialect).
    """

    name: str
    family: str
    kind: str
    bits: int
    default_threshold: int | None = None
    dialect_of: str | None = None

    @property
    def hex_length(self) -> int:
        """Characters of its hex (two per byte)."""
        return self.bits // 4

    @property
    def nbytes(self) -> int:
        return self.bits // 8

    @property
    def exact(self) -> bool:
        return self.kind == "exact"

    @property
    def perceptual(self) -> bool:
        return self.kind == "perceptual"


_ROWS = (
    # name,            family,        kind,          bits, threshold, dialect of
    ("pdq",            "pdq",         "perceptual",  256,  31,   None),   # Meta's recommended threshold
    ("pdq-thumb512",   "pdq",         "perceptual",  256,  None, "pdq"),  # PDQ of a 512-px Lanczos thumbnail
    ("pdq-nearest512", "pdq",         "perceptual",  256,  None, "pdq"),  # PDQ of a 512-px nearest thumbnail
    ("phash",          "phash",       "perceptual",  64,   10,   None),   # imagehash's usual practice
    ("dhash",          "dhash",       "perceptual",  64,   10,   None),
    ("ahash",          "ahash",       "perceptual",  64,   10,   None),
    ("whash",          "whash",       "perceptual",  64,   10,   None),
    ("pdq-robust",     "pdq-robust",  "perceptual",  256,  23,   None),   # robust.py's derived rows (robust.THRESHOLD)
    ("md5",            "md5",         "exact",       128,  None, None),
    ("sha1",           "sha1",        "exact",       160,  None, None),
    ("sha256",         "sha256",      "exact",       256,  None, None),
    ("tmk",            "tmk",         "video",       256,  None, None),   # list value: SHA-256 of the .tmk file
)

#: Every algorithm the tool knows, by name, in the table's order.
ALGORITHM_INFO: dict[str, AlgorithmInfo] = {row[0]: AlgorithmInfo(*row) for row in _ROWS}

#: Names by kind, in the table's order.
PERCEPTUAL: tuple[str, ...] = tuple(a.name for a in ALGORITHM_INFO.values() if a.perceptual)
EXACT: tuple[str, ...] = tuple(a.name for a in ALGORITHM_INFO.values() if a.exact)
VIDEO: tuple[str, ...] = tuple(a.name for a in ALGORITHM_INFO.values() if a.kind == "video")
#: The file digests every record carries (the exact algorithms).
DIGESTS = EXACT
#: PDQ as other tools compute it (matched in PDQ's table at PDQ's threshold).
PDQ_DIALECTS: tuple[str, ...] = tuple(a.name for a in ALGORITHM_INFO.values() if a.dialect_of == "pdq")


def hex_lengths(kinds: tuple[str, ...] = ("perceptual", "exact")) -> dict[str, int]:
    """``{name: hex characters}`` of the algorithms of the given kinds."""
    return {a.name: a.hex_length for a in ALGORITHM_INFO.values() if a.kind in kinds}


_HEX = re.compile(r"[0-9a-fA-F]+")


def parse_hex(algorithm: str, text: object) -> str:
    """The lower-case hex of a hash of ``algorithm``, or ``ValueError`` saying what is wrong.

    ``text`` must be exactly the algorithm's number of hex characters, either case, nothing around
    it (strip it first where a format allows spaces). An algorithm not in ``ALGORITHM_INFO`` (a
    list's PhotoDNA, a name from a newer version) takes any whole number of bytes.
    """
    info = ALGORITHM_INFO.get(algorithm)
    shown = repr(text[:80]) if isinstance(text, str) else type(text).__name__
    if info is None:
        if not isinstance(text, str) or not text or len(text) % 2 or not _HEX.fullmatch(text):
            raise ValueError(f"not a hex hash: {shown}")
        return text.lower()
    if not isinstance(text, str) or len(text) != info.hex_length or not _HEX.fullmatch(text):
        raise ValueError(f"not a {algorithm} hash: expected {info.hex_length} hex characters, got {shown}")
    return text.lower()
