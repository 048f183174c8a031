"""PDQ lists read straight into columns: the fast path of ``HashIndex.from_lists`` for big lists.

A plain PDQ list (one hex hash a line) or a delimited one (``hash,id,category,quality``...) is
read in blocks of 1 MB, every line checked at once with NumPy (hex through a lookup table,
fields found from the delimiters' positions), so that a list of 10^7 lines costs its packed rows
(32 bytes a hash) plus one block, never a Python object per line. A line the fast path does not
take (quotes, padding, a bad hash, a comment, non-ASCII text ...) is handed to the exact reader
of ``readers.py`` (``pdq_line`` / ``csv_row``), so the entries and every line of the load report
are the ones ``load_list`` gives. Any other list (VICS, JSONL, digests, UTF-16 ...) is not read
here: ``read_columns`` returns None and the caller uses ``load_list``.

>>> import pathlib, tempfile
>>> path = pathlib.Path(tempfile.mkdtemp()) / "known_list.txt"
>>> _ = path.write_text("ab" * 32 + "\\n" + "cd" * 32 + "\\noops\\n")
>>> columns = read_columns(path)
>>> columns.rows.shape, columns.report.problems[:1]
((2, 32), [(3, "not a 64-character PDQ hash: 'oops'")])
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .._wording import plural
from .model import EmptyListError, HashList, ListError, LoadReport
from .readers import csv_layout, csv_row, detect_format, pdq_line, reasons

__all__ = ["Columns", "read_columns"]

BLOCK = 1 << 20  # bytes read at a time (the bounded buffer)
_LUT = np.full(256, 255, np.uint8)  # hex digit -> value, 255 for anything else
for _i, _c in enumerate(b"0123456789abcdef"):
    _LUT[_c] = _i
for _i, _c in enumerate(b"ABCDEF"):
    _LUT[_c] = 10 + _i
_EVEN = np.arange(0, 64, 2)
_SPACE = np.zeros(256, bool)  # what str.strip() takes off an ASCII field
_SPACE[[9, 10, 11, 12, 13, 28, 29, 30, 31, 32]] = True


@dataclass
class Columns:
    """A PDQ list as columns, one row per entry in line order: ``head`` and ``tail`` (n x 16 uint8:
    the first and last 16 bytes of each hash, as the index's PDQ table keeps them), ``numbers``
    (line numbers), ``ids`` (None: generated ``name:line``; int64 numbers when every id is a
    plain decimal one; else a list of str), category ``codes`` into ``vocabulary`` (0: none) and
    ``quality`` (-1: none)."""

    name: str
    report: LoadReport
    head: np.ndarray
    tail: np.ndarray
    numbers: np.ndarray
    ids: np.ndarray | list[str] | None
    codes: np.ndarray
    vocabulary: list[str | None] = field(default_factory=lambda: [None])
    quality: np.ndarray | None = None

    @property
    def rows(self) -> np.ndarray:
        """The packed hashes, n x 32 uint8 in hex byte order (a copy)."""
        return np.hstack([self.head, self.tail])

    def __len__(self) -> int:
        return len(self.head)

    def entry_id(self, i: int) -> str:
        if self.ids is None:
            return f"{self.name}:{int(self.numbers[i])}"
        return str(self.ids[i]) if isinstance(self.ids, list) else str(int(self.ids[i]))


class _Builder:
    """Accumulates blocks' columns; ids stay int64 until one is not a plain decimal number.

    The file's size bounds the rows (a usable line holds 64 hex digits and its newline): every
    column is allocated once for that many rows and trimmed in place at the end, never copied to grow.
    """

    _DTYPES = {"head": (np.uint8, 16), "tail": (np.uint8, 16), "numbers": (np.uint32, 0), "codes": (np.uint32, 0),
               "quality": (np.int16, 0), "ids": (np.int64, 0)}

    def __init__(self, name: str, report: LoadReport, with_ids: bool, capacity: int) -> None:
        self.name, self.report, self.with_ids = name, report, with_ids
        self.count = 0
        self.cols = {k: np.empty((capacity, w) if w else capacity, t) for k, (t, w) in self._DTYPES.items()
                     if k != "ids" or with_ids}
        self.numeric = True
        self.id_list: list[str] = []  # when an id is not a plain decimal number
        self.vocabulary: dict[str | None, int] = {None: 0}

    def add(self, rows: np.ndarray, numbers: np.ndarray, ids: list[str] | np.ndarray | None,
            categories: np.ndarray | list[str | None] | None, quality: np.ndarray) -> None:
        """One block's rows; ``categories``: codes from ``code`` or one str/None per row."""
        n, m = self.count, len(rows)
        if n + m > len(self.cols["head"]):  # a file that grew while it was read
            self.cols = {k: np.concatenate([c[:n], np.empty((n + m,) + c.shape[1:], c.dtype)]) for k, c in self.cols.items()}
        if categories is None:
            categories = np.zeros(m, np.uint32)
        elif not isinstance(categories, np.ndarray):
            categories = self.code(categories)
        new = {"head": rows[:, :16], "tail": rows[:, 16:], "numbers": numbers, "codes": categories, "quality": quality}
        if self.with_ids:
            if self.numeric and isinstance(ids, list):
                numbers_only = _plain_numbers(ids)
                if numbers_only is None:
                    self.numeric = False
                    self.id_list = [str(v) for v in self.cols.pop("ids")[:n].tolist()]
                else:
                    ids = numbers_only
            if self.numeric:
                new["ids"] = ids
            else:
                self.id_list += [str(v) for v in ids.tolist()] if isinstance(ids, np.ndarray) else ids
        for key, values in new.items():
            self.cols[key][n:n + m] = values
        self.count = n + m

    def code(self, texts: list[str | None]) -> np.ndarray:
        """Codes of a block's distinct categories."""
        vocab = self.vocabulary
        return np.fromiter((vocab.setdefault(c, len(vocab)) for c in texts), np.uint32, len(texts))

    def columns(self) -> Columns:
        n = self.count
        cols = {}
        for key, column in self.cols.items():
            try:
                column.resize((n,) + column.shape[1:], refcheck=False)  # in place: the memory past n is given back
            except ValueError:
                pass
            cols[key] = column[:n]
        self.cols = {}
        ids = (cols["ids"] if self.numeric else self.id_list) if self.with_ids else None
        quality = cols["quality"]
        return Columns(self.name, self.report, cols["head"], cols["tail"], cols["numbers"], ids, cols["codes"],
                       list(self.vocabulary), quality if (quality >= 0).any() else None)


def _plain_numbers(ids: list[str]) -> np.ndarray | None:
    """The ids as int64 when every one is a plain decimal id (as ``Ids.explicit`` stores them)."""
    if not all(i.isascii() and i.isdigit() and (i == "0" or i[0] != "0") and len(i) <= 18 for i in ids):
        return None
    return np.fromiter(map(int, ids), np.int64, len(ids))


def _fields(buf: np.ndarray, starts: np.ndarray, ends: np.ndarray) -> list[str]:
    """The ASCII fields ``buf[starts[i]:ends[i]]`` as str, through one decode and one split."""
    if not len(starts):
        return []
    lengths = ends - starts + 1  # each field with the byte after it (its delimiter or newline)
    before = np.cumsum(lengths) - lengths
    taken = buf[np.arange(int(lengths.sum())) - np.repeat(before - starts, lengths)]
    taken[before + lengths - 1] = 10
    return taken[:-1].tobytes().decode("ascii").split("\n")


def _digits(buf: np.ndarray, starts: np.ndarray, ends: np.ndarray, most: int) -> tuple[np.ndarray, np.ndarray]:
    """``(value, ok)``: fields of 0 to ``most`` decimal digits read as int64 (0 for an empty one)."""
    n = ends - starts
    ok = n <= most
    value = np.zeros(len(n), np.int64)
    for j in range(min(most, int(n.max(initial=0)))):
        inside = ok & (n > j)
        d = buf[np.where(inside, starts + j, 0)].astype(np.int64) - 48
        ok &= ~inside | ((d >= 0) & (d <= 9))
        value = np.where(inside, value * 10 + d, value)
    return value, ok


def _short_texts(buf: np.ndarray, starts: np.ndarray, ends: np.ndarray) -> tuple[list[str], np.ndarray] | None:
    """Fields of at most 8 bytes as ``(distinct texts, index of each field's)``; None when longer."""
    n = ends - starts
    if len(n) and int(n.max()) > 8:
        return None
    padded = np.zeros((len(n), 8), np.uint8)
    for j in range(8):
        inside = n > j
        padded[inside, j] = buf[starts[inside] + j]
    keys, inverse = np.unique(padded.view(np.uint64).reshape(-1), return_inverse=True)
    texts = [k.tobytes().rstrip(b"\0").decode("ascii") for k in keys.view(np.uint8).reshape(-1, 8)]
    return texts, inverse.reshape(-1)


def _block(data: bytes, first_number: int, fmt: str, layout: tuple | None, first_row: int, name: str,
           builder: _Builder, report: LoadReport) -> None:
    """One block of whole lines (LF-ended), lines numbered from ``first_number``."""
    buf = np.frombuffer(data, np.uint8)
    ends = np.flatnonzero(buf == 10)
    starts = np.concatenate([[0], ends[:-1] + 1])
    numbers = np.arange(first_number, first_number + len(ends), dtype=np.int64)
    values = _LUT[buf]
    combo = np.full(len(buf) + 64, 255, np.uint8)  # >= 16 where either byte of a pair is not hex
    np.bitwise_or(values[:-1], values[1:], out=combo[:len(buf) - 1])
    pairs = np.zeros(len(buf) + 64, np.uint8)
    pairs[:len(buf) - 1] = (values[:-1] << 4) | (values[1:] & 15)
    plain = (numbers >= first_row) & (ends - starts < 131072)  # the csv module's field limit: its word
    if not data.isascii() or b'"' in data or b"\0" in data:  # non-ASCII, quotes, NUL: the exact reader's
        plain[np.searchsorted(ends, np.flatnonzero((buf >= 128) | (buf == 34) | (buf == 0)))] = False

    def hexes(at: np.ndarray, length: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(rows, ok) of the fields of ``length`` bytes at ``at``: ok where 64 hex digits."""
        idx = np.where(length == 64, at, 0)[:, None] + _EVEN
        return pairs[idx], (length == 64) & (combo[idx] < 16).all(axis=1)

    ids = categories = None
    if fmt == "pdq-lines":
        candidates = np.flatnonzero(plain & (ends - starts == 64))
        rows, ok = hexes(starts[candidates], ends[candidates] - starts[candidates])
        good = np.zeros(len(ends), bool)
        good[candidates[ok]] = True
        rows = rows[ok]
        quality = np.full(len(rows), -1, np.int16)
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
        rows, ok = hexes(hash_start, hash_end - hash_start)
        spans = {}
        for col in (col_id, col_cat):  # fields with spaces at an end: str.strip's business
            if col is not None:
                s, e = spans[col] = span(col)
                nonempty = e > s
                ok &= ~(nonempty & (_SPACE[buf[np.minimum(s, len(buf) - 1)]] | _SPACE[buf[np.maximum(e - 1, 0)]]))
        if col_q is not None:  # a quality of 1-3 digits up to 100, or none
            s, e = span(col_q)
            digits, okq = _digits(buf, s, e, 3)
            ok &= okq & (digits <= 100)
            quality = np.where(e == s, -1, digits)[ok].astype(np.int16)
        else:
            quality = np.full(int(ok.sum()), -1, np.int16)
        rows = rows[ok]
        good[np.flatnonzero(good)[~ok]] = False
        fast_numbers = numbers[good]
        if col_id is not None:
            s, e = spans[col_id][0][ok], spans[col_id][1][ok]
            value, plain_id = _digits(buf, s, e, 18)
            plain_id &= (e > s) & ((e - s == 1) | (buf[np.minimum(s, len(buf) - 1)] != 48))
            if plain_id.all():
                ids = value
            else:
                ids = _fields(buf, s, e)
                ids = [i or f"{name}:{n}" for i, n in zip(ids, fast_numbers.tolist())] if not all(ids) else ids
        if col_cat is not None:
            s, e = spans[col_cat][0][ok], spans[col_cat][1][ok]
            short = _short_texts(buf, s, e)
            if short is not None:
                texts, inverse = short
                categories = builder.code([t or None for t in texts])[inverse]
            else:
                categories = [c or None for c in _fields(buf, s, e)]
    fast_numbers = numbers[good]
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
    if slow.entries:  # merge by line number (an entry's place decides its number in the index)
        order = np.argsort(np.concatenate([fast_numbers, np.asarray(slow_numbers, np.int64)]), kind="stable")
        rows = np.concatenate([rows, np.frombuffer(b"".join(bytes.fromhex(e.hex) for e in slow.entries), np.uint8).reshape(-1, 32)])[order]
        quality = np.concatenate([quality, np.asarray([-1 if e.quality is None else e.quality for e in slow.entries], np.int16)])[order]
        if fmt != "pdq-lines" and layout[2] is not None:
            fast_ids = [str(int(v)) for v in ids] if isinstance(ids, np.ndarray) else ids or []
            all_ids = fast_ids + [e.entry_id for e in slow.entries]
            ids = [all_ids[k] for k in order.tolist()]
        if fmt != "pdq-lines" and layout[3] is not None:
            slow_codes = builder.code([e.category for e in slow.entries])
            fast_codes = categories if isinstance(categories, np.ndarray) else builder.code(categories or [])
            categories = np.concatenate([fast_codes, slow_codes])[order]
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
        from ..tmk_lists import is_tmk  # as load_list: a .tmk file is one before it is text
        if is_tmk(head[:16]):
            return None
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
        capacity = path.stat().st_size // 65 + 1
        builder = _Builder(name, report, fmt == "pdq-csv" and layout[2] is not None, capacity)
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
    report.loaded = len(columns)
    label = str(path)
    if strict and report.problems:
        n, reason = report.problems[0]
        raise ListError(f"{label}: {report.unit} {n}: {reason} ({plural(len(report.problems), 'problem')} in all)", report)
    if not len(columns):
        raise EmptyListError(f"{label} ({report.format}): no usable entry, so nothing could match it{reasons(report)}", report)
    return columns
