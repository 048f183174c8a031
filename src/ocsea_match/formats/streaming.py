"""VICS, JSONL, md5sum-style and hashdeep lists read a bounded block at a time into a sink (``HashIndex.add_list_file``'s
``ListBuilder``), never whole: the fast path of big VICS and JSONL lists.

A VICS file laid out as every exporter writes it (``{"@odata.context"|"odata.metadata": "...",
"value": [items]}``) is parsed incrementally by ijson's C backend (yajl2, 64 KB at a time), one
media item at a time; a batch of items of the common shape (MediaID, Category, MD5, SHA1,
AlternativeHashes of known algorithms) is checked at once (hex through NumPy) and handed over as
columns, any other item goes through ``vics.vics_item``, the exact reader's own. A JSONL list
(an md5sum/sha1sum/sha256sum list, a hashdeep file) is read a block of lines at a time through
the exact reader's ``jsonl.jsonl_line`` (``readers.digest_line``, ``forensic.HashdeepReader``). Meanwhile every block's brackets are counted
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
from .forensic import HashdeepReader, is_sqlite, read_nsrl
from .jsonl import jsonl_line
from .model import (
    MAX_JSON_DEPTH,
    EmptyListError,
    HashList,
    ListEntry,
    ListError,
    LoadReport,
)
from .readers import detect_format, digest_line, reasons
from .vics import photodna_note
from .vics_columns import NotStreamable, vics_batch
from .vics_fast import MixedShapes, read_vics_fast

__all__ = ["Sink", "read_streaming"]

BLOCK = 1 << 16  # bytes read at a time
BATCH = 4096  # VICS items checked at once
_WS = rb"[ \t\n\r]*"
_HEAD = re.compile(_WS + rb'\{' + _WS + rb'"(@odata\.context|odata\.metadata)"' + _WS + rb":" + _WS
                   + rb'("(?:[^"\\]|\\.)*")' + _WS + rb"," + _WS + rb'"value"' + _WS + rb":" + _WS + rb"\[")
_SURROGATE = re.compile(rb"\\u[dD][89a-fA-F]")
_KEEP = b'"\\{}[]'
_DELETE = bytes(c for c in range(256) if c not in _KEEP)


class Sink(Protocol):
    """Where a streamed list's entries go (``_index_columns.ListBuilder``)."""

    def add_entries(self, entries: list[ListEntry], tmk_files: dict[str, bytes] | None = None) -> None: ...

    def add_items(self, ids: list[str], categories: list[str | None], item_of: np.ndarray, algorithms: list[str],
                  hexes: list[str], qualities: np.ndarray) -> None: ...


_Fallback = NotStreamable


class _Reader:
    """The file's bytes for ijson, each block checked on the way: UTF-8, no surrogate escapes and,
    past the head (``skip`` bytes, checked by the caller), the nesting under ``MAX_JSON_DEPTH`` and
    nothing after the ``value`` array but the document's closing brace."""

    def __init__(self, f: Any, skip: int) -> None:
        self.f, self.skip = f, skip
        self.depth, self.in_string, self.after, self.done = 2, 0, b"", False
        self.backslashes = 0  # the run of backslashes that ended the last block
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
        if b"\\" in data or self.backslashes:
            marks = self._unescaped(data)
        else:
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

    def _unescaped(self, data: bytes) -> np.ndarray:
        """The block's marks without its escaped quotes (a quote after an odd run of backslashes,
        counting those that ended the block before) and without the backslashes."""
        buf = np.frombuffer(data, np.uint8)
        slash = buf == 92
        at = np.arange(len(buf))
        last_other = np.maximum.accumulate(np.where(slash, -1, at))  # the last byte at or before i that is not '\\'
        quotes = np.flatnonzero(buf == 34)
        before = np.where(quotes > 0, last_other[np.maximum(quotes - 1, 0)], -1)
        run = quotes - 1 - before + np.where(before < 0, self.backslashes, 0)
        keep = np.zeros(len(buf), bool)
        keep[quotes[run % 2 == 0]] = True
        keep |= (buf == 123) | (buf == 125) | (buf == 91) | (buf == 93)
        tail = len(buf) - 1 - int(last_other[-1])
        self.backslashes = tail + (self.backslashes if tail == len(buf) else 0)
        return buf[keep]


def read_streaming(path: str | Path, sink_for: Any, *, strict: bool = False, name: str | None = None
                   ) -> tuple[LoadReport, Any] | None:
    """A VICS or JSONL list fed to ``sink_for(name)`` (a ``Sink``): ``(report, sink)``, or None when
    the file is not one this path reads (then read it with ``load_list``). Raises what ``load_list``
    raises: ``ListError`` in strict mode, ``EmptyListError`` for no usable entry.

    >>> import pathlib, tempfile
    >>> class Collect:  # a sink (HashIndex.add_list_file's is _index_columns.ListBuilder)
    ...     def __init__(self, name): self.entries = []
    ...     def add_entries(self, entries, tmk_files=None): self.entries += entries
    ...     def add_items(self, ids, categories, item_of, algorithms, hexes, qualities): self.entries += hexes
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "records.jsonl"
    >>> _ = path.write_text('{"path": "a.jpg", "md5": "%s"}\\nbroken\\n' % ("0" * 32))
    >>> report, sink = read_streaming(path, Collect)
    >>> report.loaded, report.problems, sink.entries[0].entry_id
    (1, [(2, 'not JSON: Expecting value (line 1, column 1)')], 'a.jpg')
    """
    path = Path(path)
    name = name or path.stem
    try:
        f = open(path, "rb")
    except OSError:
        return None
    with f:
        head = f.read(1 << 20)
        bom = 3 if head.startswith(b"\xef\xbb\xbf") else 0
        from ..tmk_lists import is_tmk  # as load_list: a .tmk or SQLite file is one before it is text

        if is_sqlite(head):
            return _nsrl(path, name, sink_for, strict)
        if head[bom:].startswith((b"\xef\xbb\xbf", b"\xff\xfe", b"\xfe\xff")) or b"\0" in head[:16] \
                or is_tmk(head[:16]):
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
            if fmt in ("jsonl", "digests", "hashdeep"):
                if fmt != "jsonl" and "\n" not in text and len(head) == 1 << 20:
                    return None  # a first line of over 1 MB: load_list's
                if fmt == "hashdeep":
                    hashdeep = HashdeepReader()
                    loaded = _lines(f, name, report, sink, hashdeep.line, every_line=True)
                    hashdeep.finish(report)
                else:
                    loaded = _lines(f, name, report, sink, jsonl_line if fmt == "jsonl" else digest_line)
            elif fmt == "vics":
                try:
                    loaded = _vics(f, head[bom:], bom, name, report, sink)
                except MixedShapes:  # ijson's path, from the start, into a new sink and report
                    report, sink = LoadReport(name, fmt), sink_for(name)
                    loaded = _vics(f, head[bom:], bom, name, report, sink, fast=False)
            else:
                return None
        except ListError as exc:  # a reader's refusal, named as load_list names it
            raise ListError(f"{path}: {exc}", report) from None
        except Exception:  # noqa: BLE001 - _Fallback, or anything unforeseen: load_list says what it says
            return None
    return _finish(path, report, sink, loaded, strict)


def _nsrl(path: Path, name: str, sink_for: Any, strict: bool) -> tuple[LoadReport, Any] | None:
    """An NSRL RDSv3 database, ``forensic.read_nsrl``'s rows handed over a batch at a time."""
    report, sink, batch = LoadReport(name, "nsrl-rdsv3", unit="row"), sink_for(name), HashList(name)
    loaded = 0

    def flush(entries: list[ListEntry]) -> None:
        nonlocal loaded
        loaded += len(entries)
        sink.add_entries(entries)
    try:
        read_nsrl(path, batch, report, flush=flush)
    except ListError as exc:
        raise ListError(str(exc), report) from None
    except Exception:  # noqa: BLE001 - load_list says what it says
        return None
    return _finish(path, report, sink, loaded, strict)


def _finish(path: Path, report: LoadReport, sink: Any, loaded: int, strict: bool) -> tuple[LoadReport, Any]:
    """As ``readers._finish``: the count, strict mode, the refusal of a list with no entry."""
    report.loaded = loaded
    if strict and report.problems:
        n, reason = report.problems[0]
        raise ListError(f"{path}: {report.unit} {n}: {reason} ({plural(len(report.problems), 'problem')} in all)", report)
    if not loaded:
        raise EmptyListError(f"{path} ({report.format}): no usable entry, so nothing could match it{reasons(report)}", report)
    return report, sink


def _lines(f: Any, name: str, report: LoadReport, sink: Sink, read_line: Any, every_line: bool = False) -> int:
    """A line list (JSONL, md5sum ...) through the exact reader's ``read_line``, a block at a time,
    lines numbered as ``read_list_text`` numbers them (CRLF and CR are line ends)."""
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
            if every_line:
                read_line(number, line, batch, report)
                continue
            line = line.strip()
            if line and not line.startswith("#"):
                read_line(number, line, batch, report)
        loaded += len(batch.entries)
        sink.add_entries(batch.entries, batch.tmk_files)
        if not data:
            return loaded


def _vics(f: Any, head: bytes, bom: int, name: str, report: LoadReport, sink: Sink, fast: bool = True) -> int:
    try:  # the C backend only: its grammar is the one checked against json.loads (tests/test_list_streaming.py)
        import ijson
        ijson = ijson.get_backend("yajl2_c")
    except Exception:  # noqa: BLE001 - no ijson, or no compiled yajl2: load_list reads the file
        raise _Fallback("no ijson yajl2_c backend") from None
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
    try:
        if not fast:
            raise NotStreamable("no template")
        loaded, photodna = read_vics_fast(f, bom + m.end(), name, report, sink)
    except NotStreamable as exc:
        if isinstance(exc, MixedShapes) or str(exc) != "no template":
            raise
    else:
        if photodna:
            report.notes.append(photodna_note(photodna))
        return loaded
    f.seek(bom)
    reader = _Reader(f, m.end())
    loaded = photodna = number = 0
    batch: list[Any] = []
    try:
        for item in ijson.items(reader, "value.item", use_float=True, buf_size=BLOCK):
            batch.append(item)
            if len(batch) == BATCH:
                got = vics_batch(batch, number, name, report, sink)
                loaded, photodna, number, batch = loaded + got[0], photodna + got[1], number + len(batch), []
    except _Fallback:
        raise
    except Exception as exc:  # noqa: BLE001 - ijson's errors, numbers Python will not parse ...: load_list's words
        raise _Fallback(str(exc)) from None
    if not reader.done:
        raise _Fallback("not read to its end")
    got = vics_batch(batch, number, name, report, sink)
    loaded, photodna = loaded + got[0], photodna + got[1]
    if photodna:
        report.notes.append(photodna_note(photodna))
    return loaded
