"""Tokens of VICS media items, a column at a time (``formats.vics_fast``): hex digests checked and
packed, qualities and AlternativeHashes names read, columns given as NumPy arrays (``vics_split``)
turned into tokens where a token is needed.

>>> import numpy as np
>>> at, rows = hexes((b'"00ff"', b'null', b'"0g0g"'), np.arange(3), 4, plain := np.ones(3, bool))
>>> at.tolist(), rows.tolist(), plain.tolist()
([0], [[0, 255]], [True, True, False])
"""

from __future__ import annotations

import binascii
from typing import Any

import numpy as np

from .model import HEX_LENGTHS
from .vics import HASH_FIELDS

__all__ = ["alt_algorithm", "as_list", "hexes", "interleave", "photodna", "qualities"]

_HEX = np.full(256, False)
_HEX[list(b"0123456789abcdefABCDEF")] = True
_NIBBLE = np.zeros(256, np.uint8)
for _i, _c in enumerate(b"0123456789abcdef"):
    _NIBBLE[_c] = _NIBBLE[ord(chr(_c).upper())] = _i
#: algorithms the template's items may carry: digests, and perceptual hashes that are their own family
PLAIN = {"md5", "sha1", "sha256", "pdq", "phash", "dhash", "ahash", "whash"}


def interleave(columns: list[Any]) -> Any:
    """Columns a, b ... as a0, b0, a1, b1 ... (arrays of one width stay an array)."""
    if len(columns) == 1:
        return columns[0]
    if all(isinstance(c, np.ndarray) for c in columns) and len({c.shape[1] for c in columns}) == 1:
        return np.stack(columns, axis=1).reshape(-1, columns[0].shape[1])
    columns = [as_list(c) for c in columns]
    return tuple(x for row in zip(*columns) for x in row)

def as_list(column: Any) -> Any:
    """Tokens as bytes (a column given as an (n, width) array of them: ``vics_split``)."""
    if not isinstance(column, np.ndarray):
        return column
    return np.ascontiguousarray(column).view(f"S{column.shape[1]}").reshape(-1).tolist() if column.shape[1] else [b""] * len(column)

def alt_algorithm(token: bytes) -> str | None:
    """The algorithm of a plain ``HashName`` token, or None (the exact reader's to read)."""
    if token[:1] != b'"' or not token.isascii():
        return None
    field = token[1:-1].decode("ascii").upper()
    algorithm = HASH_FIELDS.get(field) or (field.lower() if field.lower() in HEX_LENGTHS else None)
    return algorithm if algorithm in PLAIN else None

def qualities(tokens: tuple[bytes, ...]) -> np.ndarray:
    """Quality tokens: -1 for null, the number for a whole 0-100, 999 for anything else."""
    if b"".join(tokens).isdigit() and max(map(len, tokens)) <= 3:
        q = np.array(tokens, "S3").astype(np.int64)
        return np.where(q <= 100, q, 999)
    return np.fromiter((-1 if t == b"null" else int(t) if t.isdigit() and len(t) <= 3 and int(t) <= 100 else 999
                        for t in tokens), np.int64, len(tokens))

def photodna(tokens: tuple[bytes, ...], plain: np.ndarray) -> np.ndarray:
    """Per item, 1 for a plain PhotoDNA value (kept, not matched); odd ones to the exact reader."""
    out = np.zeros(len(tokens), np.int64)
    for i, t in enumerate(tokens):
        if t[:1] == b'"' and len(t) > 2:
            if t.isascii() and t[1:-1].strip(b" \t\x0b\x0c\x1c\x1d\x1e\x1f") == t[1:-1]:
                out[i] = 1
            else:
                plain[i] = False
    return out

def hexes(tokens: tuple[bytes, ...], items: np.ndarray, width: int, plain: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Where (positions in ``tokens``) a token is ``width`` hex digits in quotes, and those rows
    (packed bytes); a string of anything else but ``""`` makes its item (``items``) not plain;
    other tokens (``null``, numbers, ``true``) are no value, as for the exact reader."""
    if isinstance(tokens, np.ndarray):  # strings of one width (vics_split): quoted and unescaped, checked there
        if tokens.shape[1] == width + 2:
            try:
                rows = np.frombuffer(binascii.a2b_hex(np.ascontiguousarray(tokens[:, 1:-1]).tobytes()), np.uint8)
                return np.arange(len(tokens)), rows.reshape(len(tokens), -1)
            except binascii.Error:
                pass
        tokens = as_list(tokens)
    joined = b"".join(tokens)
    if len(joined) == len(tokens) * (width + 2) and joined.count(b'"') == 2 * len(tokens):
        text = np.frombuffer(joined, np.uint8).reshape(-1, width + 2)
        if (text[:, 0] == 34).all() and (text[:, -1] == 34).all():  # every token a string of the width
            try:  # every one hex: binascii checks and converts at once
                rows = np.frombuffer(binascii.a2b_hex(text[:, 1:-1].tobytes()), np.uint8).reshape(len(tokens), -1)
                return np.arange(len(tokens)), rows
            except binascii.Error:
                lengths = np.full(len(tokens), width + 2)
    if "lengths" not in locals():
        lengths = np.fromiter(map(len, tokens), np.int64, len(tokens))
    sized = lengths == width + 2
    if not sized.all():
        first = np.frombuffer(bytes(t[0] for t in tokens), np.uint8)
        plain[items[~sized & (first == 34) & (lengths > 2)]] = False
        joined = b"".join(t for t, s in zip(tokens, sized.tolist()) if s)
    text = np.frombuffer(joined, np.uint8).reshape(-1, width + 2)
    quoted = (text[:, 0] == 34) & (text[:, -1] == 34)
    digits = text[:, 1:-1]
    hexed = quoted & _HEX[digits].all(axis=1)
    at = np.flatnonzero(sized)
    plain[items[at[quoted & ~hexed]]] = False
    digits = digits[hexed]
    return at[hexed], (_NIBBLE[digits[:, 0::2]] << 4) | _NIBBLE[digits[:, 1::2]]
