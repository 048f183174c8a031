"""The ``Hash`` value type, packing of many hashes into a uint8 matrix, Hamming distances.

A hash is a fixed number of bits (256 for PDQ, 64 for pHash/dHash/aHash/wHash) kept as bytes in
hex order: the first byte holds the first two hex characters, its most significant bit first.
That is the row layout FAISS's binary indexes take, and the hex is the one the reference tools
print (PDQ reference / pdqhash, imagehash 4.x).

>>> a = Hash.from_hex("pdq", "f8f8f0cee0f4a84f06370a22038f63f0b36e2ed596621e1d33e6b39c4e9c9b22")
>>> a - a
0
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np

from ._core import (
    hamming_many_to_many as native_hamming_many_to_many,
    hamming_one_to_many as native_hamming_one_to_many,
)
from .algorithms import ALGORITHM_INFO, parse_hex

__all__ = ["Hash", "HASH_BITS", "match_family", "pack_hashes", "hamming_one_to_many", "hamming_many_to_many"]

#: Number of bits of each perceptual algorithm's hash (derived from ``algorithms.ALGORITHM_INFO``).
HASH_BITS: dict[str, int] = {a.name: a.bits for a in ALGORITHM_INFO.values() if a.perceptual}


def match_family(algorithm: str) -> str:
    """The index table a hash is matched in: every PDQ dialect is matched against PDQ entries."""
    info = ALGORITHM_INFO.get(algorithm)
    return algorithm if info is None else info.family


@dataclass(frozen=True)
class Hash:
    """A perceptual hash: algorithm name, packed bits, and (PDQ) quality.

    ``a - b`` is the Hamming distance; equality compares algorithm and bits (not quality).

    >>> h = Hash.from_hex("phash", "c3d0bc3c3c2bc34c")
    >>> h.hex, h.nbits, h - Hash.from_hex("phash", "c3d0bc3c3c2bc34d")
    ('c3d0bc3c3c2bc34c', 64, 1)
    """

    algorithm: str
    data: bytes
    quality: int | None = field(default=None, compare=False)

    def __post_init__(self) -> None:
        if not isinstance(self.data, (bytes, bytearray)):
            raise TypeError("Hash.data must be bytes")
        object.__setattr__(self, "data", bytes(self.data))
        expected = HASH_BITS.get(self.algorithm)
        if expected is not None and len(self.data) * 8 != expected:
            raise ValueError(
                f"a {self.algorithm} hash has {expected} bits, got {len(self.data) * 8}"
            )

    @classmethod
    def from_hex(cls, algorithm: str, hex_string: str, quality: int | None = None) -> Hash:
        """Parse a hex string (either case, spaces around it ignored; ``algorithms.parse_hex``)."""
        text = hex_string.strip() if isinstance(hex_string, str) else hex_string
        return cls(algorithm, bytes.fromhex(parse_hex(algorithm, text)), quality)

    @classmethod
    def from_bits(cls, algorithm: str, bits: np.ndarray, quality: int | None = None) -> Hash:
        """Build from a boolean array flattened in row-major order (imagehash's ``.hash``)."""
        flat = np.asarray(bits, dtype=bool).ravel()
        if flat.size % 8:
            raise ValueError("the number of bits must be a multiple of 8")
        return cls(algorithm, np.packbits(flat).tobytes(), quality)

    @property
    def hex(self) -> str:
        """Lower-case hex, as pdqhash / the PDQ reference and imagehash print it."""
        return self.data.hex()

    @property
    def nbits(self) -> int:
        return len(self.data) * 8

    @property
    def bits(self) -> np.ndarray:
        """The bits as a uint8 array of 0/1, most significant first."""
        return np.unpackbits(np.frombuffer(self.data, dtype=np.uint8))

    def to_array(self) -> np.ndarray:
        """The packed bytes as a uint8 row (what FAISS binary indexes take)."""
        return np.frombuffer(self.data, dtype=np.uint8).copy()

    def __sub__(self, other: Hash) -> int:
        if not isinstance(other, Hash):
            return NotImplemented
        if other.algorithm != self.algorithm or len(other.data) != len(self.data):
            raise TypeError(
                f"cannot compare a {self.algorithm} hash with a {other.algorithm} hash"
            )
        return int(
            native_hamming_one_to_many(
                np.frombuffer(self.data, dtype=np.uint8),
                np.frombuffer(other.data, dtype=np.uint8).reshape(1, -1),
            )[0]
        )

    def __str__(self) -> str:
        return self.hex

    def __repr__(self) -> str:
        q = "" if self.quality is None else f", quality={self.quality}"
        return f"Hash({self.algorithm!r}, {self.hex!r}{q})"

    def to_json(self) -> dict[str, object]:
        """The record form: ``{"hex": ..., "quality": ...}`` (quality only where there is one)."""
        out: dict[str, object] = {"hex": self.hex}
        if self.quality is not None:
            out["quality"] = self.quality
        return out


def pack_hashes(hashes: Iterable[Hash | str], algorithm: str | None = None) -> np.ndarray:
    """Pack hashes (``Hash`` objects or hex strings) into a contiguous uint8 matrix, one per row.

    >>> pack_hashes(["00ff00ff00ff00ff", "ffffffffffffffff"]).shape
    (2, 8)
    """
    rows: list[bytes] = []
    for h in hashes:
        if isinstance(h, Hash):
            if algorithm is not None and h.algorithm != algorithm:
                raise ValueError(f"expected {algorithm} hashes, got {h.algorithm}")
            rows.append(h.data)
        else:
            rows.append(Hash.from_hex(algorithm or "", str(h)).data)
    if not rows:
        nbytes = HASH_BITS.get(algorithm or "", 0) // 8
        return np.zeros((0, nbytes), dtype=np.uint8)
    width = len(rows[0])
    if any(len(r) != width for r in rows):
        raise ValueError("all hashes must have the same number of bits")
    return np.frombuffer(b"".join(rows), dtype=np.uint8).reshape(len(rows), width).copy()


def _as_matrix(x: np.ndarray | Sequence[Hash] | Hash) -> np.ndarray:
    if isinstance(x, Hash):
        return x.to_array().reshape(1, -1)
    if isinstance(x, np.ndarray):
        arr = np.ascontiguousarray(x, dtype=np.uint8)
        return arr.reshape(1, -1) if arr.ndim == 1 else arr
    return pack_hashes(x)


def hamming_one_to_many(query: Hash | np.ndarray, rows: np.ndarray | Sequence[Hash]) -> np.ndarray:
    """Distances (int32) from one hash to each row of a packed matrix (or list of hashes).

    >>> hamming_one_to_many(Hash.from_hex("ahash", "ff" * 8), pack_hashes(["ff" * 8, "00" * 8]))
    array([ 0, 64], dtype=int32)
    """
    q = _as_matrix(query)
    if q.shape[0] != 1:
        raise ValueError("query must be a single hash")
    return native_hamming_one_to_many(q[0], _as_matrix(rows))


def hamming_many_to_many(
    a: np.ndarray | Sequence[Hash], b: np.ndarray | Sequence[Hash], threads: int = 0
) -> np.ndarray:
    """All pairwise distances (int32, ``len(a) x len(b)``), rows of ``a`` over OpenMP threads."""
    return native_hamming_many_to_many(_as_matrix(a), _as_matrix(b), threads)
