"""PDQ lists read straight into columns: the fast path of ``HashIndex.from_lists`` for big lists.

A plain PDQ list (one hex hash a line) or a delimited one (``hash,id,category,quality``...) is
read in blocks of a few MB, every line checked at once with NumPy (hex through a lookup table,
fields found from the delimiters' positions), so that a list of 10^7 lines costs its packed rows
(32 bytes a hash) plus one block, never a Python object per line. A line the fast path does not
take (quotes, padding, a bad hash, a comment, non-ASCII text ...) is handed to the exact reader
of ``readers.py`` (``pdq_line`` / ``csv_row``), so the entries and every line of the load report
are the ones ``load_list`` gives. Any other list (VICS, JSONL, digests, UTF-16 ...) is not read
here: ``read_columns`` returns None and the caller uses ``load_list``.

>>> columns = read_columns("known_list.csv")  # doctest: +SKIP
>>> columns.rows.shape, columns.report.problems[:1]  # doctest: +SKIP
((999998, 32), [(17, 'not a 64-character PDQ hash: ...')])
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .._wording import plural
from .model import EmptyListError, HashList, ListError, LoadReport
from .readers import csv_layout, csv_row, detect_format, pdq_line, reasons

__all__ = ["Columns", "read_columns"]

BLOCK = 4 << 20  # bytes read at a time (the bounded buffer)
_LUT = np.full(256, 255, np.uint8)  # hex digit -> value, 255 for anything else
for _i, _c in enumerate(b"0123456789abcdef"):
    _LUT[_c] = _i
for _i, _c in enumerate(b"ABCDEF"):
    _LUT[_c] = 10 + _i
_SPACE = np.zeros(256, bool)  # what str.strip() takes off an ASCII field
_SPACE[[9, 10, 11, 12, 13, 28, 29, 30, 31, 32]] = True


@dataclass
class Columns:
    """A PDQ list as columns, one row per entry in line order: ``rows`` (n x 32 uint8, hex byte
    order), ``numbers`` (line numbers), ``ids`` (None: generated ``name:line``; int64 numbers when
    every id is a plain decimal one; else a list of str), category codes into ``vocabulary``
    (0: none) and ``quality`` (-1: none)."""

    name: str
    report: LoadReport
    rows: np.ndarray
    numbers: np.ndarray
    ids: np.ndarray | list[str] | None
    codes: np.ndarray
    vocabulary: list[str | None] = field(default_factory=lambda: [None])
    quality: np.ndarray | None = None

    def entry_id(self, i: int) -> str:
        if self.ids is None:
            return f"{self.name}:{int(self.numbers[i])}"
        return str(self.ids[i]) if isinstance(self.ids, list) else str(int(self.ids[i]))


class _Builder:
    """Accumulates blocks' columns; ids stay int64 until one is not a plain decimal number."""

    def __init__(self, name: str, report: LoadReport, with_ids: bool) -> None:
        self.name, self.report, self.with_ids = name, report, with_ids
        self.rows: list[np.ndarray] = []
        self.numbers: list[np.ndarray] = []
        self.ids: list[np.ndarray | list[str]] = []
        self.numeric = True
        self.codes: list[np.ndarray] = []
        self.quality: list[np.ndarray] = []
        self.vocabulary: dict[str | None, int] = {None: 0}

    def add(self, rows: np.ndarray, numbers: np.ndarray, ids: list[str] | np.ndarray | None,
            categories: list[str | None] | None, quality: np.ndarray) -> None:
        self.rows.append(rows)
        self.numbers.append(numbers.astype(np.uint32))
        self.quality.append(quality.astype(np.int16))
        if categories is None:
            self.codes.append(np.zeros(len(rows), np.uint32))
        else:
            vocab = self.vocabulary
            self.codes.append(np.fromiter((vocab.setdefault(c, len(vocab)) for c in categories), np.uint32, len(rows)))
        if self.with_ids:
            if self.numeric and isinstance(ids, list):
                numbers_only = _plain_numbers(ids)
                if numbers_only is None:
                    self.numeric = False
                    self.ids = [[str(int(v)) for v in part] if isinstance(part, np.ndarray) else part for part in self.ids]
                else:
                    ids = numbers_only
            elif not self.numeric and isinstance(ids, np.ndarray):
                ids = [str(int(v)) for v in ids]
            self.ids.append(ids)

    def columns(self) -> Columns:
        rows = np.concatenate(self.rows) if self.rows else np.zeros((0, 32), np.uint8)
        self.rows.clear()
        numbers = np.concatenate(self.numbers) if self.numbers else np.zeros(0, np.uint32)
        ids: np.ndarray | list[str] | None = None
        if self.with_ids:
            if self.numeric:
                ids = np.concatenate(self.ids) if self.ids else np.zeros(0, np.int64)
            else:
                ids = [i for part in self.ids for i in part]
        quality = np.concatenate(self.quality) if self.quality else np.zeros(0, np.int16)
        return Columns(self.name, self.report, rows, numbers, ids,
                       np.concatenate(self.codes) if self.codes else np.zeros(0, np.uint32),
                       list(self.vocabulary), quality if (quality >= 0).any() else None)


def _plain_numbers(ids: list[str]) -> np.ndarray | None:
    """The ids as int64 when every one is a plain decimal id (as ``Ids.explicit`` stores them)."""
    if not all(i.isascii() and i.isdigit() and (i == "0" or i[0] != "0") and len(i) <= 18 for i in ids):
        return None
    return np.fromiter(map(int, ids), np.int64, len(ids))


def _fields(buf: np.ndarray, starts: np.ndarray, ends: np.ndarray, sep: int = 10) -> list[str]:
    """The ASCII fields ``buf[starts[i]:ends[i]]`` as str, through one decode and one split."""
    if not len(starts):
        return []
    lengths = ends - starts
    mark = np.zeros(len(buf) + 1, np.int32)
    mark[starts] += 1  # starts are distinct, and so are ends
    mark[ends + 1] -= 1  # each field with the byte after it (its delimiter or newline)
    taken = buf[np.cumsum(mark[:-1]) > 0].copy()
    taken[np.cumsum(lengths + 1) - 1] = sep
    return taken[:-1].tobytes().decode("ascii").split(chr(sep))


def _hex_rows(pairs: np.ndarray, starts: np.ndarray) -> np.ndarray:
    """Packed rows from the byte values ``pairs`` (hex digit pairs) of hashes starting at ``starts``."""
    return pairs[starts[:, None].astype(np.int64) + np.arange(0, 64, 2)]


def _block(data: bytes, first_number: int, fmt: str, layout: tuple | None, first_row: int, name: str,
           builder: _Builder, report: LoadReport) -> None:
    """One block of whole lines (LF-ended), lines numbered from ``first_number``."""
    buf = np.frombuffer(data, np.uint8)
    ends = np.flatnonzero(buf == 10)
    starts = np.concatenate([[0], ends[:-1] + 1])
    numbers = np.arange(first_number, first_number + len(ends), dtype=np.int64)
    values = _LUT[buf]
    bad = np.concatenate([[0], np.cumsum(values == 255, dtype=np.int64)])  # non-hex bytes before a position
    pairs = np.zeros(len(buf), np.uint8)
    pairs[:-1] = (values[:-1] << 4) | (values[1:] & 15)
    awkward = (buf >= 128) | (buf == 34) | (buf == 0)  # non-ASCII, quotes, NUL: the exact reader's
    odd = np.concatenate([[0], np.cumsum(awkward, dtype=np.int64)])
    plain = (odd[ends] == odd[starts]) & (numbers >= first_row)
    if fmt == "pdq-lines":
        good = plain & (ends - starts == 64) & (bad[starts + 64 * (ends - starts == 64)] == bad[starts])
        fields = hash_start = None
    else:
        delimiter, col_hash, col_id, col_cat, col_q = layout
        width = 1 + max(c for c in (col_hash, col_id, col_cat, col_q) if c is not None)
        cuts = np.flatnonzero(buf == ord(delimiter))
        count = np.bincount(np.searchsorted(ends, cuts), minlength=len(ends))
        good = plain & (count >= width - 1)  # rows with fewer fields: the exact reader's
        line_starts, line_ends, cnt = starts[good], ends[good], count[good]
        first_cut = np.searchsorted(cuts, line_starts)
        padded = np.append(cuts, len(buf))

        def span(col: int) -> tuple[np.ndarray, np.ndarray]:
            s = line_starts if col == 0 else padded[first_cut + col - 1] + 1
            return s, np.where(cnt > col, padded[np.minimum(first_cut + col, len(cuts))], line_ends)

        hash_start, hash_end = span(col_hash)
        ok = hash_end - hash_start == 64
        ok &= bad[np.where(ok, hash_start + 64, hash_start)] == bad[hash_start]
        spans = {}
        for col in (col_id, col_cat):  # fields with spaces at an end: str.strip's business
            if col is not None:
                s, e = spans[col] = span(col)
                nonempty = e > s
                ok &= ~(nonempty & (_SPACE[buf[np.minimum(s, len(buf) - 1)]] | _SPACE[buf[np.maximum(e - 1, 0)]]))
        digits = empty_q = None
        if col_q is not None:  # a quality of 1-3 digits up to 100, or none
            s, e = span(col_q)
            n = e - s
            digits = np.zeros(len(s), np.int64)
            okq = n <= 3
            for j in range(3):
                inside = okq & (n > j)
                d = buf[np.where(inside, s + j, 0)].astype(np.int64) - 48
                okq &= ~inside | ((d >= 0) & (d <= 9))
                digits = np.where(inside, digits * 10 + d, digits)
            ok &= okq & (digits <= 100)
            digits, empty_q = digits[ok], n[ok] == 0
        fields = ({c: (s[ok], e[ok]) for c, (s, e) in spans.items()}, digits, empty_q)
        hash_start = hash_start[ok]
        good_idx = np.flatnonzero(good)
        good[good_idx[~ok]] = False
    # the lines the fast path did not take, through the exact reader, in order
    slow = HashList(name)
    slow_numbers = []
    for i in np.flatnonzero(~good & (numbers >= first_row)).tolist():
        line = data[starts[i]:ends[i]].decode("utf-8")  # UTF-8 checked by the caller
        if not line.strip():
            continue
        before = len(slow.entries)
        if fmt == "pdq-lines":
            pdq_line(int(numbers[i]), line, slow, report)
        else:
            csv_row(int(numbers[i]), line, layout, slow, report)
        slow_numbers += [int(numbers[i])] * (len(slow.entries) - before)
    fast_numbers = numbers[good]
    if fmt == "pdq-lines":
        rows = _hex_rows(pairs, starts[good])
        ids = categories = None
        quality = np.full(len(rows), -1, np.int16)
    else:
        spans, digits, empty_q = fields
        rows = _hex_rows(pairs, hash_start)
        ids = categories = None
        if col_id is not None:
            ids = _fields(buf, *spans[col_id])
            ids = [i or f"{name}:{n}" for i, n in zip(ids, fast_numbers.tolist())] if not all(ids) else ids
        if col_cat is not None:
            categories = [c or None for c in _fields(buf, *spans[col_cat])]
        quality = np.full(len(rows), -1, np.int16) if col_q is None else np.where(empty_q, -1, digits).astype(np.int16)
    if slow.entries:  # merge by line number (an entry's place decides its number in the index)
        order = np.argsort(np.concatenate([fast_numbers, np.asarray(slow_numbers, np.int64)]), kind="stable")
        rows = np.concatenate([rows, np.frombuffer(b"".join(bytes.fromhex(e.hex) for e in slow.entries), np.uint8).reshape(-1, 32)])[order]
        quality = np.concatenate([quality, np.asarray([-1 if e.quality is None else e.quality for e in slow.entries], np.int16)])[order]
        if ids is not None or (fmt != "pdq-lines" and layout[2] is not None):
            all_ids = (ids or []) + [e.entry_id for e in slow.entries]
            ids = [all_ids[k] for k in order.tolist()]
        if categories is not None or (fmt != "pdq-lines" and layout[3] is not None):
            all_cats = (categories or []) + [e.category for e in slow.entries]
            categories = [all_cats[k] for k in order.tolist()]
        fast_numbers = np.concatenate([fast_numbers, np.asarray(slow_numbers, np.int64)])[order]
    builder.add(np.ascontiguousarray(rows), fast_numbers, ids, categories, quality)


def _blocks(f, first: bytes):
    """Blocks of whole lines (ending in LF, CR and CRLF made LF as ``read_list_text`` does)."""
    rest = first
    while True:
        more = f.read(BLOCK)
        data = rest + more
        if not more:
            if data:
                if not data.endswith(b"\n") and not data.endswith(b"\r"):
                    data += b"\n"
                yield _lf(data)
            return
        cut = max(data.rfind(b"\n"), data.rfind(b"\r", 0, len(data) - 1))
        if cut < 0:
            rest = data
            continue
        rest = data[cut + 1:]
        yield _lf(data[:cut + 1])


def _lf(data: bytes) -> bytes:
    return data.replace(b"\r\n", b"\n").replace(b"\r", b"\n") if b"\r" in data else data


def read_columns(path: str | Path, *, strict: bool = False, name: str | None = None) -> Columns | None:
    """A plain or delimited PDQ list file read into ``Columns`` (None: not such a list, read it
    with ``load_list``). Raises what ``load_list`` raises for the file: ``ListError`` in strict
    mode on the first problem, ``EmptyListError`` when no line holds a usable entry."""
    path = Path(path)
    name = name or path.stem
    if path.is_dir():
        return None
    try:
        f = open(path, "rb")
    except OSError:
        return None
    with f:
        head = f.read(BLOCK)
        whole = len(head) < BLOCK
        if head.startswith(b"\xef\xbb\xbf"):
            head = head[3:]
        if head.startswith((b"\xef\xbb\xbf", b"\xff\xfe", b"\xfe\xff", b"SQLite format 3\x00")) or b"\x00" in head[:16]:
            return None
        cut = max(head.rfind(b"\n"), head.rfind(b"\r", 0, len(head) - 1))
        if cut < 0:
            return None
        try:
            text = head[:cut + 1].decode("utf-8").replace("\r\n", "\n").replace("\r", "\n")
            fmt = detect_format(text)
        except (UnicodeDecodeError, ListError):
            return None
        if fmt not in ("pdq-lines", "pdq-csv") or text.lstrip().startswith("{"):
            return None
        report = LoadReport(name, fmt)
        layout, first_row = None, 1
        if fmt == "pdq-csv":
            lines = [(n, line) for n, line in enumerate(text.split("\n"), 1) if line.strip()]
            try:
                layout, first = csv_layout(lines, report)
            except Exception:  # noqa: BLE001 - the exact reader says why, in its words
                return None
            if first >= len(lines) and not whole:
                return None
            first_row = lines[first][0] if first < len(lines) else 10**18
        builder = _Builder(name, report, fmt == "pdq-csv" and layout[2] is not None)
        number = 1
        for data in _blocks(f, head):
            if not data.isascii():
                try:
                    data.decode("utf-8")
                except UnicodeDecodeError:
                    return None  # load_list names the byte
            _block(data, number, fmt, layout, first_row, name, builder, report)
            number += data.count(b"\n")
    columns = builder.columns()
    report.loaded = len(columns.rows)
    label = str(path)
    if strict and report.problems:
        n, reason = report.problems[0]
        raise ListError(f"{label}: {report.unit} {n}: {reason} ({plural(len(report.problems), 'problem')} in all)", report)
    if not len(columns.rows):
        raise EmptyListError(f"{label} ({report.format}): no usable entry, so nothing could match it{reasons(report)}", report)
    return columns
