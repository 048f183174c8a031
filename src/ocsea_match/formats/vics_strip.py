"""A VICS file's ``value`` array read with only the fields the exact reader reads, for ``formats.vics_fast``.

Real VICS 2.0 exports give each media item a ``MediaFiles`` array (the file names and paths it
was found under, Windows paths full of escaped backslashes; ``case.vics.json`` writes them too)
and other fields (Series, MediaSize, IsDistributed ...). The fast path's template and layout cut
take items of plain tokens only, so every such item would be an odd one. ``Compacted`` hands
``read_vics_fast`` the array's bytes a block at a time with each item that is valid JSON written
with only the keys the exact reader reads (``vics.vics_item``: MediaID, Category, the hash fields,
PhotoDNA, AlternativeHashes, Media; ``_vics.compact_items``, native, checks and writes them), each
key and value as the file wrote it, in its order. The other fields go, unparsed, into
``HashList.extra`` in the exact reader, which an index does not hold: the entries and report lines
are the same. An item the scanner does not take (invalid JSON, ``NaN``, nested too deep) is passed
as it is, and goes the exact way. The bytes read are checked as UTF-8 here, the dropped ones included.

>>> import io
>>> text = b'{"MediaID": 1, "MediaFiles": [{"FileName": "a.jpg", "FilePath": "C:\\\\\\\\x"}],"MD5":"00"}]}'
>>> Compacted(io.BytesIO(text), 0).read(1 << 20)
b'{"MediaID": 1, "MD5": "00"}]}'
"""

from __future__ import annotations

import codecs
from typing import Any

import numpy as np

from .._vics import compact_items
from .model import MAX_JSON_DEPTH
from .vics_columns import NotStreamable

__all__ = ["Compacted"]

#: levels an item may nest, itself included: the document's object and the value array are 2
LIMIT = MAX_JSON_DEPTH - 2
MAX_ITEM = 1 << 26  # an item of over 64 MB: not this path's


class Compacted:
    """The bytes of ``f`` from ``start`` (just after the ``value`` array's ``[``), items compacted;
    ``read(size)`` returns whole items (b"" at the end); ``compacted`` counts the items compacted."""

    def __init__(self, f: Any, start: int) -> None:
        f.seek(start)
        self.f, self.carry, self.eof, self.ended, self.compacted = f, b"", False, False, 0
        self.decoder = codecs.getincrementaldecoder("utf-8")()
        self.out = np.empty(0, np.uint8)

    def read(self, size: int) -> bytes:
        while True:
            if self.eof:
                data, self.carry = self.carry, b""
                return data
            data = self.f.read(size)
            self.eof = not data
            if self.eof or not data.isascii():
                try:
                    self.decoder.decode(data, final=self.eof)
                except UnicodeDecodeError:
                    raise NotStreamable("not UTF-8") from None
            buf = self.carry + data if self.carry else data
            if self.ended:  # after the array: as it is
                self.carry = b""
                return buf
            if len(self.out) < 2 * len(buf) + 16:  # (one buffer, written again each time: no new pages to fault in)
                self.out = np.empty(2 * len(buf) + (len(buf) >> 2) + 16, np.uint8)
            consumed, produced, compacted, self.ended = compact_items(buf, self.out, self.eof, LIMIT)
            self.compacted += compacted
            self.carry = b"" if self.eof else buf[consumed:]
            if produced or self.eof:
                return self.out[:produced].tobytes()
            if len(self.carry) > MAX_ITEM:
                raise NotStreamable("an item of over 64 MB")
