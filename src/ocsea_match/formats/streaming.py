"""VICS and JSONL lists read a bounded block at a time into a sink (``HashIndex.add_list_file``'s
``ListBuilder``), never whole: the fast path of big VICS and JSONL lists.

A VICS file laid out as every exporter writes it (``{"@odata.context"|"odata.metadata": "...",
"value": [items]}``) is parsed incrementally by ijson's C backend (yajl2, 64 KB at a time), one
media item at a time; a batch of items of the common shape (MediaID, Category, MD5, SHA1,
AlternativeHashes of known algorithms) is checked at once (hex through NumPy) and handed over as
columns, any other item goes through ``vics.vics_item``, the exact reader's own. A JSONL list
is read line by line through ``readers.jsonl_line``. Meanwhile every block's brackets are counted
outside strings, so JSON nested deeper than 64 levels is never parsed here. Whatever this path
does not take (a UTF-16 file, another top-level layout, a case export, JSON that does not parse,
``\\uD800``-style escapes ...) makes ``read_streaming`` return None before anything is added:
the caller reads the file with ``load_list``, whose entries and report lines are the reference.
"""

from __future__ import annotations

import codecs
import json
import re
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from .._wording import plural
from .model import HEX_LENGTHS, MAX_JSON_DEPTH, EmptyListError, HashList, ListEntry, ListError, LoadReport
from .readers import detect_format, jsonl_line, reasons
from .vics import HASH_FIELDS, photodna_note, vics_item

__all__ = ["Sink", "read_streaming"]

BLOCK = 1 << 16  # bytes read at a time
BATCH = 4096  # VICS items checked at once
_WS = rb"[ \t\n\r]*"
_HEAD = re.compile(_WS + rb'\{' + _WS + rb'"(@odata\.context|odata\.metadata)"' + _WS + rb":" + _WS
                   + rb'("(?:[^"\\]|\\.)*")' + _WS + rb"," + _WS + rb'"value"' + _WS + rb":" + _WS + rb"\[")
_SURROGATE = re.compile(rb"\\u[dD][89a-fA-F]")
_KEEP = b'"\\{}[]'
_DELETE = bytes(c for c in range(256) if c not in _KEEP)
_HEX = np.full(256, False)
_HEX[list(b"0123456789abcdefABCDEF")] = True
#: item keys that send an item to the exact reader (hash fields the fast path does not take; a case's Media)
_ODD = frozenset(k for k in HASH_FIELDS if k not in ("MD5", "SHA1")) | {"PhotoDNA", "Media"}
_ALT_KEYS = frozenset({"HashName", "HashValue", "Quality"})
_ALGORITHM = {**{k.lower(): v for k, v in HASH_FIELDS.items()}, **{a: a for a in HEX_LENGTHS}}


class Sink(Protocol):
    """Where a streamed list's entries go (``_index_columns.ListBuilder``)."""

    def add_entries(self, entries: list[ListEntry], tmk_files: dict[str, bytes] | None = None) -> None: ...

    def add_items(self, ids: list[str], categories: list[str | None], item_of: list[int], algorithms: list[str],
                  hexes: list[str], qualities: list[int | None]) -> None: ...


class _Fallback(Exception):
    """The file is not one this path reads exactly: ``load_list`` reads it."""


class _Reader:
    """The file's bytes for ijson, each block checked on the way: UTF-8, no surrogate escapes and,
    past the head (``skip`` bytes, checked by the caller), the nesting under ``MAX_JSON_DEPTH`` and
    nothing after the ``value`` array but the document's closing brace."""

    def __init__(self, f: Any, skip: int) -> None:
        self.f, self.skip = f, skip
        self.depth, self.in_string, self.after, self.done = 2, 0, b"", False
        self.decoder = codecs.getincrementaldecoder("utf-8")()
        self.tail = b""

    def read(self, size: int = BLOCK) -> bytes:
        if size == 0:  # ijson's probe
            return b""
        data = self.f.read(size)
        if not data:
            if not self.done:
                self.done = True
                self._utf8(b"", final=True)
                if self.after != b"]}":
                    raise _Fallback("top level")
            return data
        body = data[self.skip:]
        self.skip = max(0, self.skip - len(data))
        if not body.isascii():
            self._utf8(body)
        if _SURROGATE.search(self.tail + body):
            raise _Fallback("surrogate escape")
        self.tail = body[-8:]
        self._scan(body)
        return data

    def _utf8(self, data: bytes, final: bool = False) -> None:
        try:
            self.decoder.decode(data, final=final)
        except UnicodeDecodeError:
            raise _Fallback("not UTF-8") from None

    def _scan(self, data: bytes) -> None:
        if b"\\" in data:
            raise _Fallback("escapes")  # (keeps the quote count simple; rare in hash lists)
        marks = np.frombuffer(data.translate(None, _DELETE), np.uint8)
        if not len(marks):
            return
        if self.after:
            self.after += marks.tobytes()
            if self.after != b"]}":
                raise _Fallback("top level")
            return
        quote = marks == 34
        parity = (np.cumsum(quote, dtype=np.int64) + self.in_string) & 1
        outside = (parity == 0) & ~quote
        steps = np.where(outside & ((marks == 123) | (marks == 91)), 1, np.where(outside, -1, 0))
        depth = self.depth + np.cumsum(steps)
        if int(depth.max()) > MAX_JSON_DEPTH:
            raise _Fallback("deep")
        closed = np.flatnonzero(depth < 2)
        if len(closed):  # the value array's end: then only the document's
            self.after = marks[int(closed[0]):].tobytes()
            if self.after not in (b"]", b"]}"):
                raise _Fallback("top level")
        self.depth, self.in_string = int(depth[-1]), int(parity[-1])


def read_streaming(path: str | Path, sink_for: Any, *, strict: bool = False, name: str | None = None
                   ) -> tuple[LoadReport, Any] | None:
    """A VICS or JSONL list fed to ``sink_for(name)`` (a ``Sink``): ``(report, sink)``, or None when
    the file is not one this path reads (then read it with ``load_list``). Raises what ``load_list``
    raises: ``ListError`` in strict mode, ``EmptyListError`` for no usable entry."""
    path = Path(path)
    name = name or path.stem
    try:
        f = open(path, "rb")
    except OSError:
        return None
    with f:
        head = f.read(1 << 20)
        bom = 3 if head.startswith(b"\xef\xbb\xbf") else 0
        if head[bom:].startswith((b"\xef\xbb\xbf", b"\xff\xfe", b"\xfe\xff")) or b"\0" in head[:16]:
            return None
        try:  # (a character cut at the end of the first MB is left for later)
            text = codecs.getincrementaldecoder("utf-8")().decode(head[bom:]).replace("\r\n", "\n").replace("\r", "\n")
            fmt = detect_format(text) if text.strip() else None
        except (UnicodeDecodeError, ListError):
            return None
        report = LoadReport(name, fmt or "unknown")
        sink = sink_for(name)
        f.seek(bom)
        try:
            if fmt == "jsonl":
                loaded = _jsonl(f, name, report, sink)
            elif fmt == "vics":
                loaded = _vics(f, head[bom:], bom, name, report, sink)
            else:
                return None
        except _Fallback:
            return None
    report.loaded = loaded
    if strict and report.problems:
        n, reason = report.problems[0]
        raise ListError(f"{path}: {report.unit} {n}: {reason} ({plural(len(report.problems), 'problem')} in all)", report)
    if not loaded:
        raise EmptyListError(f"{path} ({report.format}): no usable entry, so nothing could match it{reasons(report)}", report)
    return report, sink


def _jsonl(f: Any, name: str, report: LoadReport, sink: Sink) -> int:
    """Lines as ``read_list_text`` numbers them (CRLF and CR are line ends), a block of them at a time."""
    decoder = codecs.getincrementaldecoder("utf-8")()
    number, rest, loaded = 0, "", 0
    while True:
        data = f.read(1 << 20)
        try:
            text = rest + decoder.decode(data, final=not data)
        except UnicodeDecodeError:
            raise _Fallback("not UTF-8") from None
        if data:
            cut = max(text.rfind("\n"), text.rfind("\r", 0, len(text) - 1))
            text, rest = (text[:cut + 1], text[cut + 1:]) if cut >= 0 else ("", text)
            if not text:
                continue
        if "\r" in text:
            text = text.replace("\r\n", "\n").replace("\r", "\n")
        lines = text.split("\n")
        if data:
            lines.pop()  # after the last newline: nothing
        batch = HashList(name)
        for line in lines:
            number += 1
            line = line.strip()
            if line and not line.startswith("#"):
                jsonl_line(number, line, batch, report)
        loaded += len(batch.entries)
        sink.add_entries(batch.entries, batch.tmk_files)
        if not data:
            return loaded


def _vics(f: Any, head: bytes, bom: int, name: str, report: LoadReport, sink: Sink) -> int:
    import ijson

    m = _HEAD.match(head)
    if m is None or m.start(1) > 1900:
        raise _Fallback("layout")
    try:
        m.group(0).decode("utf-8")
        context = json.loads(m.group(2))
    except ValueError:
        raise _Fallback("context") from None
    if not isinstance(context, str) or context.endswith("#Cases"):
        raise _Fallback("cases")
    report.format = "vics-2.0" if m.group(1) == b"@odata.context" else "vics-1.x"
    report.unit = "item"
    f.seek(bom)
    reader = _Reader(f, m.end())
    loaded = photodna = number = 0
    batch: list[Any] = []
    try:
        for item in ijson.items(reader, "value.item", use_float=True, buf_size=BLOCK):
            batch.append(item)
            if len(batch) == BATCH:
                got = _batch(batch, number, name, report, sink)
                loaded, photodna, number, batch = loaded + got[0], photodna + got[1], number + len(batch), []
    except _Fallback:
        raise
    except Exception as exc:  # noqa: BLE001 - ijson's errors, numbers Python will not parse ...: load_list's words
        raise _Fallback(str(exc)) from None
    if not reader.done:
        raise _Fallback("not read to its end")
    got = _batch(batch, number, name, report, sink)
    loaded, photodna = loaded + got[0], photodna + got[1]
    if photodna:
        report.notes.append(photodna_note(photodna))
    return loaded


def _batch(items: list[Any], before: int, name: str, report: LoadReport, sink: Sink) -> tuple[int, int]:
    """Items numbered ``before + 1`` ...: the plain ones as columns, the others through ``vics_item``,
    in order. Returns (entries, PhotoDNA values)."""
    if any(type(d) is dict and "Media" in d for d in items):
        raise _Fallback("a case export")
    ids: list[str] = []
    cats: list[str | None] = []
    item_of: list[int] = []
    algorithms: list[str] = []
    hexes: list[str] = []
    qualities: list[int | None] = []
    plain = [False] * len(items)
    for i, d in enumerate(items):
        if type(d) is not dict or not d.keys().isdisjoint(_ODD):
            ids.append("")
            cats.append(None)
            continue
        m, c = d.get("MediaID"), d.get("Category")
        tm, tc = type(m), type(c)
        ids.append(str(m) if tm is int else m if tm is str else "")
        cats.append(None if c is None or c == "" else str(c) if tc is int else c if tc is str else "")
        if not ids[-1] or cats[-1] == "":
            continue
        start = len(item_of)
        ok = True
        for key, algorithm in (("MD5", "md5"), ("SHA1", "sha1")):
            v = d.get(key)
            if type(v) is str:
                item_of.append(i), algorithms.append(algorithm), hexes.append(v), qualities.append(None)
        alternatives = d.get("AlternativeHashes")
        if alternatives is not None:
            if type(alternatives) is not list:
                ok = False
            else:
                for a in alternatives:
                    if type(a) is not dict or not a.keys() <= _ALT_KEYS:
                        ok = False
                        break
                    hash_name, value, q = a.get("HashName"), a.get("HashValue"), a.get("Quality")
                    algorithm = _ALGORITHM.get(hash_name.lower()) if type(hash_name) is str else None
                    if algorithm is None or type(value) is not str or not (q is None or (type(q) is int and 0 <= q <= 100)):
                        ok = False
                        break
                    item_of.append(i), algorithms.append(algorithm), hexes.append(value), qualities.append(q)
        if not ok or len(item_of) == start:
            del item_of[start:], algorithms[start:], hexes[start:], qualities[start:]
            continue
        plain[i] = True
    # every plain item's hex at once: its length and digits (one bad one sends its item to vics_item)
    if hexes:
        lengths = np.fromiter(map(len, hexes), np.int64, len(hexes))
        want = np.fromiter((HEX_LENGTHS[a] for a in algorithms), np.int64, len(algorithms))
        joined = "".join(hexes)
        if joined.isascii():
            digits = _HEX[np.frombuffer(joined.encode("ascii"), np.uint8)]
            bad_digit = np.add.reduceat(~digits, np.cumsum(lengths) - lengths) if len(digits) else np.zeros(0, np.int64)
            bad_digit = np.where(lengths > 0, bad_digit, 1)
        else:
            bad_digit = np.fromiter((not (h.isascii() and all(_HEX[ord(c)] for c in h)) for h in hexes), bool, len(hexes))
        bad = (lengths != want) | (bad_digit > 0)
        for e in np.flatnonzero(bad).tolist():
            plain[item_of[e]] = False
    loaded = photodna = 0
    slow = HashList(name)
    keep = [plain[i] for i in item_of]
    run_start = 0
    for i, d in enumerate(items + [None]):  # runs of plain items as columns; the others one by one
        if i < len(items) and plain[i]:
            continue
        _flush(sink, ids, cats, item_of, algorithms, hexes, qualities, keep, run_start, i)
        run_start = i + 1
        if i < len(items):
            photodna += vics_item(before + i + 1, d, slow, report)
            loaded += len(slow.entries)
            sink.add_entries(slow.entries)
            slow.entries = []
    loaded += sum(keep)
    return loaded, photodna


def _flush(sink: Sink, ids: list[str], cats: list[str | None], item_of: list[int], algorithms: list[str],
           hexes: list[str], qualities: list[int | None], keep: list[bool], lo: int, hi: int) -> None:
    """The plain items lo .. hi-1's entries to the sink."""
    if hi <= lo:
        return
    import bisect
    a, b = bisect.bisect_left(item_of, lo), bisect.bisect_left(item_of, hi)
    picked = [e for e in range(a, b) if keep[e]]
    if picked:
        sink.add_items(ids, cats, [item_of[e] for e in picked], [algorithms[e] for e in picked],
                       [hexes[e].lower() for e in picked], [qualities[e] for e in picked])
