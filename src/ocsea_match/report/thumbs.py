"""Thumbnails of matched pictures, for ``--thumbnails`` only (never by default).

The evidence is read read-only (``open_evidence``: ``O_NOATIME``), at the exact bytes of the
recorded name (``path_hex``), archive members out of their ZIP; a file whose SHA-256 is no longer
the recorded one, or that is gone, gets a sentence instead of a picture. A thumbnail is at most
``SIDE`` pixels on its longer side, a JPEG in a ``data:`` URI.

>>> import json
>>> row = json.loads(open("case-0042/records.jsonl").readline())  # a record of the scan
>>> Thumbnailer().for_row(row)
{'uri': 'data:image/jpeg;base64,...', 'note': ''}
"""

from __future__ import annotations

import base64
import hashlib
import io
import os
import zipfile
from collections import OrderedDict
from typing import Any

from PIL import Image

from ..decode import open_image
from ..errors import MediaError
from ..files import open_evidence

__all__ = ["Thumbnailer", "SIDE"]

SIDE = 120
_MAX_BYTES = 512 * 1024 * 1024


def _read_evidence(row: dict[str, Any]) -> bytes:
    """The bytes of a record's file (an archive member out of its archives), read-only."""
    raw = bytes.fromhex(row["path_hex"]) if row.get("path_hex") else os.fsencode(row["path"])
    outer, *members = raw.split(b"!/") if row.get("container_file") else (raw,)
    fd = open_evidence(os.fsdecode(outer))
    with os.fdopen(fd, "rb") as f:
        if not members:
            return f.read(_MAX_BYTES + 1)
        data: Any = f
        for member in members:
            with zipfile.ZipFile(data) as z:
                info = z.getinfo(member.decode("utf-8", "surrogateescape"))
                if info.file_size > _MAX_BYTES:
                    raise ValueError("the archive member is too large for a thumbnail")
                data = io.BytesIO(z.read(info))
        return data.getvalue()


def _thumbnail(data: bytes) -> bytes:
    decoded = open_image(data, draft=(SIDE * 2, SIDE * 2))
    if decoded.array is not None:
        img = Image.fromarray(decoded.array[:, :, ::-1].copy())
    else:
        assert decoded.image is not None
        img = decoded.image
    img = img.convert("RGB")
    img.thumbnail((SIDE, SIDE), Image.Resampling.LANCZOS)
    out = io.BytesIO()
    img.save(out, "JPEG", quality=70, optimize=True)
    return out.getvalue()


class Thumbnailer:
    """Makes (and remembers, by SHA-256, the last few hundred) thumbnails of matched pictures."""

    def __init__(self, cache: int = 512) -> None:
        self._cache: OrderedDict[str, dict[str, str]] = OrderedDict()
        self._size = cache

    def for_row(self, row: dict[str, Any]) -> dict[str, str]:
        """``{"uri": data URI or "", "note": why there is none}`` for a match row."""
        if row.get("media_type") != "image":
            return {"uri": "", "note": "not a picture: no thumbnail"}
        key = str(row.get("sha256"))
        if key in self._cache:
            self._cache.move_to_end(key)
            return self._cache[key]
        try:
            data = _read_evidence(row)
            if len(data) > _MAX_BYTES:
                result = {"uri": "", "note": "too large for a thumbnail"}
            elif hashlib.sha256(data).hexdigest() != row.get("sha256"):
                result = {"uri": "", "note": "evidence changed since the scan (other SHA-256): no thumbnail"}
            else:
                uri = "data:image/jpeg;base64," + base64.b64encode(_thumbnail(data)).decode("ascii")
                result = {"uri": uri, "note": ""}
        except FileNotFoundError:
            result = {"uri": "", "note": "evidence not found at the recorded path"}
        except (OSError, KeyError, ValueError, zipfile.BadZipFile, MediaError) as exc:
            result = {"uri": "", "note": f"evidence not readable: {exc}"}
        self._cache[key] = result
        if len(self._cache) > self._size:
            self._cache.popitem(last=False)
        return result
