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
PLAIN_AFTER = 64  # items of the first block compacted and unchanged, at least, to read the rest as it is


class Compacted:
    """The bytes of ``f`` from ``start`` (just after the ``value`` array's ``[``), items compacted;
    ``read(size)`` returns whole items (b"" at the end); ``compacted`` counts the items compacted.
    The file is read into one buffer, used again for every block (the part item cut by a block's
    end moved to its front), so that no block costs new memory. When compacting changed nothing in
    the first block (``PLAIN_AFTER`` items or more: a file of hashes only, written as this writes
    them), the rest is read as it is
    (an item further on with other fields is then an odd one, read the exact way: slower, not wrong)."""

    def __init__(self, f: Any, start: int) -> None:
        f.seek(start)
        self.f, self.eof, self.ended, self.compacted = f, False, False, 0
        self.first, self.plain, self.rest = True, False, b""  # plain: the first block was not changed
        self.raw, self.kept = bytearray(), 0  # the read buffer; its first ``kept`` bytes: the item cut last time
        self.out = np.empty(0, np.uint8)
        self.decoder = codecs.getincrementaldecoder("utf-8")()

    def read(self, size: int) -> bytes:
        if self.plain:  # (the first block's items held nothing else: read as they are)
            rest, self.rest = self.rest, b""
            return rest + self.f.read(size)
        size *= 2  # (compacting halves a real export's items: blocks of the size asked for, after it)
        while not self.eof:
            kept = self.kept
            if len(self.raw) < kept + size:
                self.raw = bytearray(self.raw[:kept]) + bytearray(size + (kept + size) // 4)
            if len(self.out) < 2 * len(self.raw) + 16:
                self.out = np.empty(2 * len(self.raw) + 16, np.uint8)
            with memoryview(self.raw) as view:
                got = self.f.readinto(view[kept:kept + size])
                self.eof = not got
                with view[:kept + got] as buf:
                    if self.ended:  # after the array: as it is
                        self.kept = 0
                        return bytes(buf)
                    consumed, produced, compacted, self.ended, ascii = compact_items(buf, self.out, self.eof, LIMIT)
                    if not ascii or self.eof:  # (ASCII blocks cannot hold part of a character: not decoded)
                        try:
                            self.decoder.decode(bytes(view[kept:kept + got]), final=self.eof)
                        except UnicodeDecodeError:
                            raise NotStreamable("not UTF-8") from None
                    rest = bytes(buf[consumed:])
                    if self.first and not self.eof and compacted >= PLAIN_AFTER and produced == consumed:
                        self.plain = self.out[:produced].tobytes() == bytes(buf[:consumed])
            self.raw[:len(rest)] = rest
            self.kept = len(rest)
            self.compacted += compacted
            if produced or self.eof:
                if self.plain:
                    self.rest, self.kept = rest, 0
                self.first = False  # (decided on the first whole items)
                return self.out[:produced].tobytes()
            if self.kept > MAX_ITEM:
                raise NotStreamable("an item of over 64 MB")
        return b""
