"""Readers for PDQ lists (one hash a line, or any delimited list: ',', ';', tab, '|'), digest lists
(md5sum/sha1sum/sha256sum), vPDQ, VICS JSON and JSONL records; ``load_list``/``read_list_text``
are the one way in (one wrapper, one refusal of a list with no usable entry)."""

from __future__ import annotations

import csv
import re
from pathlib import Path

from .._wording import plural
from ..algorithms import ALGORITHM_INFO, DIGESTS
from .forensic import is_hashdeep, is_sqlite, read_hashdeep, read_nsrl
from .jsonl import jsonl_line, read_jsonl
from .model import (
    EmptyListError,
    HashList,
    ListEntry,
    ListError,
    LoadReport,
    check_hex,
    check_quality,
    check_timestamp,
)
from .vics import is_vics, read_vics

__all__ = ["csv_layout", "csv_row", "detect_format", "digest_line", "jsonl_line", "load_list", "pdq_line", "read_list_text", "reasons"]

#: md5sum's "HEX  NAME" (text) or "HEX *NAME" (binary): one space, then the mode; other tools' whitespace too
_DIGEST_LINE = re.compile(r"^([0-9a-fA-F]{32}|[0-9a-fA-F]{40}|[0-9a-fA-F]{64})(?: [ *]|\s+)(.*)$")
_DIGEST_BY_LENGTH = {ALGORITHM_INFO[a].hex_length: a for a in DIGESTS}
_HASH_COLUMNS = ("hash", "pdq", "pdq_hash", "signal", "value")
_ID_COLUMNS = ("id", "entry_id", "media_id", "mediaid", "name", "path", "file", "filename", "file_name")
_CATEGORY_COLUMNS = ("category", "label", "tags", "class")
#: Delimiters of delimited lists, in order of preference when a line splits as well on several:
#: spreadsheets write ',' or, where the decimal separator is a comma (much of Europe), ';'.
_DELIMITERS = ("\t", ",", ";", "|")


def _lines(text: str) -> list[str]:
    """The lines of a list whose line endings ``read_list_text`` made LF: numbered as an
    editor numbers them (``str.splitlines`` would also split on form feeds and U+2028)."""
    return text.split("\n")


def _content_lines(text: str) -> list[tuple[int, str]]:
    return [(n, line.strip()) for n, line in enumerate(_lines(text), 1)
            if line.strip() and not line.lstrip().startswith("#")]


_VPDQ_LINE = re.compile(r"^(\d+),(-?\d+),([0-9a-fA-F]{64}),(\d+(?:\.\d*)?)$")


def _split(line: str, delimiter: str) -> list[str]:
    """One line's fields (quotes as spreadsheets write them); ``ValueError`` for a line the csv
    module refuses (a NUL, an oversized field)."""
    try:
        return next(csv.reader([line], delimiter=delimiter), [])
    except csv.Error as exc:
        raise ValueError(f"not a delimited line: {exc}") from None


def _delimiter(line: str) -> str | None:
    """The delimiter that splits a line into the most fields (None: it splits on none)."""
    best, most = None, 1
    for delimiter in _DELIMITERS:
        if delimiter in line:
            try:
                count = len(_split(line, delimiter))
            except ValueError:
                continue
            if count > most:
                best, most = delimiter, count
    return best


def detect_format(text: str) -> str:
    """``pdq-lines``, ``pdq-csv``, ``vpdq``, ``digests``, ``hashdeep``, ``vics`` or ``jsonl``, from the content
    (NSRL SQLite files are recognised by ``load_list`` from their first bytes). ``pdq-csv`` is any
    delimited list: ',', ';', tab or '|'."""
    lines = _content_lines(text)
    if not lines:
        raise ListError("the list is empty (no line that is not blank or a '#' comment)")
    first = lines[0][1]
    if is_vics(text):
        return "vics"
    if first.startswith("{"):
        return "jsonl"
    if is_hashdeep(text):
        return "hashdeep"
    m = _DIGEST_LINE.match(first)
    # md5sum/sha1sum lines, or a sha256sum line ("hex  name" / "hex *name"); a PDQ line is one hex
    if m and (len(m.group(1)) != 64 or re.match(r"^[0-9a-fA-F]{64}( \*|  )\S", first)):
        return "digests"
    if _VPDQ_LINE.match(first):
        return "vpdq"
    if _delimiter(first) is not None:
        return "pdq-csv"
    return "pdq-lines"


def _read_pdq_lines(text: str, hash_list: HashList, report: LoadReport) -> None:
    for number, line in _content_lines(text):
        pdq_line(number, line, hash_list, report)


def pdq_line(number: int, line: str, hash_list: HashList, report: LoadReport) -> None:
    """One line of a plain PDQ list (stripped; blank and '#' lines are passed over here too)."""
    line = line.strip()
    if not line or line.startswith("#"):
        return
    value = check_hex("pdq", line.split()[0])
    if value is None:
        report.problems.append((number, f"not a 64-character PDQ hash: {line[:80]!r}"))
        return
    hash_list.entries.append(ListEntry(f"{hash_list.name}:{number}", "pdq", value))


def _pick(header: list[str], names: tuple[str, ...]) -> int | None:
    lowered = [re.sub(r"[\s\-]+", "_", h.strip().lower()) for h in header]
    for name in names:
        if name in lowered:
            return lowered.index(name)
    return None


def _read_pdq_csv(text: str, hash_list: HashList, report: LoadReport) -> None:
    """A delimited list (',', ';', tab, '|': the header line says which) with a hash column."""
    # lines as they are: stripping would take a leading tab, an empty first cell, and shift the columns
    lines = [(n, line) for n, line in enumerate(_lines(text), 1) if line.strip()]
    layout, first_row = csv_layout(lines, report)
    for number, line in lines[first_row:]:
        csv_row(number, line, layout, hash_list, report)


def csv_layout(lines: list[tuple[int, str]], report: LoadReport) -> tuple[tuple[str, int, int | None, int | None, int | None], int]:
    """``((delimiter, hash, id, category, quality columns), index of the first row in lines)`` of a
    delimited list's non-blank ``(number, line)`` pairs; its notes go to ``report``."""
    skipped = next(i for i, (_, line) in enumerate(lines) if not line.lstrip().startswith("#"))  # comments before the header
    lines = lines[skipped:]
    header_line = lines[0][1]
    delimiter = _delimiter(header_line) or ","
    if delimiter != ",":
        report.notes.append(f"read as a {_DELIMITER_NAMES[delimiter]}-delimited list")
    header = _split(header_line, delimiter)
    col_hash, first = _pick(header, _HASH_COLUMNS), 1
    if col_hash is None:
        col_hash = next((i for i, cell in enumerate(header) if check_hex("pdq", cell) is not None), None)
        if col_hash is not None:
            first = 0  # no header row
        else:  # a header with other names: the column that holds PDQ hashes in the first row
            first_row = _split(lines[1][1], delimiter) if len(lines) > 1 else []
            col_hash = next((i for i, cell in enumerate(first_row) if check_hex("pdq", cell) is not None), None)
            if col_hash is None or col_hash >= len(header):
                raise ListError(f"no hash column in the header {header[:8]!r} (expected one of "
                                f"{', '.join(_HASH_COLUMNS)}, or PDQ hashes in a column of the first row)")
            report.notes.append(f"column {header[col_hash]!r} read as the PDQ hashes (it holds them)")
    col_id, col_cat, col_q = (_pick(header, _ID_COLUMNS), _pick(header, _CATEGORY_COLUMNS), _pick(header, ("quality",))) \
        if first else (None, None, None)
    return (delimiter, col_hash, col_id, col_cat, col_q), skipped + first


def csv_row(number: int, line: str, layout: tuple[str, int, int | None, int | None, int | None], hash_list: HashList,
            report: LoadReport) -> None:
    """One row of a delimited list: an entry, a problem, or nothing (a blank or comment row)."""
    delimiter, col_hash, col_id, col_cat, col_q = layout
    try:
        row = _split(line, delimiter)
    except ValueError as exc:
        report.problems.append((number, str(exc)))
        return
    if not any(cell.strip() for cell in row):
        return
    if len(row) <= col_hash:
        if line.lstrip().startswith("#"):
            return  # a comment line
        report.problems.append((number, f"no hash column in this row ({plural(len(row), 'field')})"))
        return
    value = check_hex("pdq", row[col_hash])
    if value is None and line.lstrip().startswith("#"):
        return  # a comment line (a row whose first cell starts with '#' but holds a hash is a row)
    if value is None:
        report.problems.append((number, f"not a 64-character PDQ hash: {row[col_hash][:80]!r}"))
        return
    try:
        quality = check_quality(row[col_q]) if col_q is not None and col_q < len(row) else None
    except ValueError as exc:
        report.problems.append((number, str(exc)))
        return
    entry_id = row[col_id].strip() if col_id is not None and col_id < len(row) and row[col_id].strip() else f"{hash_list.name}:{number}"
    category = row[col_cat].strip() or None if col_cat is not None and col_cat < len(row) else None
    hash_list.entries.append(ListEntry(entry_id, "pdq", value, category=category, quality=quality))


_DELIMITER_NAMES = {"\t": "tab", ",": "comma", ";": "semicolon", "|": "'|'"}


def _read_digests(text: str, hash_list: HashList, report: LoadReport) -> None:
    for number, line in _content_lines(text):
        digest_line(number, line, hash_list, report)


def digest_line(number: int, line: str, hash_list: HashList, report: LoadReport) -> None:
    """One md5sum/sha1sum/sha256sum line (stripped, neither blank nor a '#' comment)."""
    m = _DIGEST_LINE.match(line)
    if not m:
        report.problems.append((number, f"not a 'digest  name' line: {line[:80]!r}"))
        return
    value, name = m.group(1).lower(), m.group(2).strip()
    hash_list.entries.append(ListEntry(name or f"{hash_list.name}:{number}", _DIGEST_BY_LENGTH[len(value)], value,
                                       label=name or None))


def _read_vpdq(text: str, hash_list: HashList, report: LoadReport) -> None:
    """vPDQ's per-frame lines ``frameNumber,quality,hex,timestamp``: one video, named after the list."""
    for number, line in _content_lines(text):
        m = _VPDQ_LINE.match(line)
        if not m:
            report.problems.append((number, f"not a 'frameNumber,quality,hex,timestamp' line: {line[:80]!r}"))
            continue
        try:
            quality, timestamp = check_quality(int(m.group(2))), check_timestamp(float(m.group(4)))
        except ValueError as exc:
            report.problems.append((number, str(exc)))
            continue
        hash_list.entries.append(ListEntry(hash_list.name, "pdq", m.group(3).lower(), quality=quality,
                                           label=m.group(1), timestamp=timestamp))


_READERS = {
    "pdq-lines": _read_pdq_lines, "pdq-csv": _read_pdq_csv, "digests": _read_digests, "jsonl": read_jsonl,
    "vics": read_vics, "hashdeep": read_hashdeep, "vpdq": _read_vpdq,
}


def read_list_text(
    text: str, name: str, *, strict: bool = False, format: str | None = None, dialect: str | None = None,
    source: str | None = None,
) -> tuple[HashList, LoadReport]:
    """Parse a list's text; ``format`` overrides detection; ``dialect`` names the PDQ dialect
    the list's PDQ hashes were made in (``pdq-thumb512``, ``pdq-nearest512``), kept with them.
    A UTF-8 BOM and any line endings (LF, CRLF, CR) are accepted. ``source`` names the list in
    messages (default ``name``).

    Raises ``ListError`` for a list that cannot be read, and ``EmptyListError`` (a ``ListError``)
    for one with no usable entry; both carry the ``report`` of what was read.
    """
    if dialect is not None and dialect not in ("pdq", "pdq-thumb512", "pdq-nearest512"):
        raise ListError(f"unknown PDQ dialect {dialect!r}")
    label = source or name
    text = text.lstrip("\ufeff")
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    hash_list = HashList(name)
    report = LoadReport(name, format or "unknown")
    try:
        report.format = fmt = format or detect_format(text)
        if fmt not in _READERS:
            raise ListError(f"unknown list format {fmt!r}; known: {sorted(_READERS)}")
        _READERS[fmt](text, hash_list, report)
    except ListError as exc:
        raise ListError(f"{label}: {exc}", report) from None
    except Exception as exc:  # noqa: BLE001 - the one wrapper: a reader's oversight is a refusal, never a traceback
        raise ListError(f"{label}: cannot be read ({type(exc).__name__}: {exc}); please report this", report) from None
    if dialect is not None and dialect != "pdq":
        hash_list.dialect = dialect
        hash_list.entries = [
            ListEntry(e.entry_id, dialect, e.hex, e.category, e.label, e.quality, e.timestamp)
            if e.algorithm == "pdq" and e.timestamp is None else e
            for e in hash_list.entries
        ]
    return _finish(hash_list, report, label, strict)


def _finish(hash_list: HashList, report: LoadReport, label: str, strict: bool) -> tuple[HashList, LoadReport]:
    """Every reader ends here: the count, strict mode, and the refusal of a list with no entry."""
    report.loaded = len(hash_list.entries)
    if strict and report.problems:
        number, reason = report.problems[0]
        raise ListError(f"{label}: {report.unit} {number}: {reason} ({plural(len(report.problems), 'problem')} in all)", report)
    if not hash_list.entries:
        raise EmptyListError(f"{label} ({report.format}): no usable entry, so nothing could match it{reasons(report)}", report)
    return hash_list, report


def reasons(report: LoadReport, shown: int = 3) -> str:
    """``": line 2: ...; line 3: ... (and N more)"``: why a report's list is unusable, in brief."""
    if not report.problems:
        return ""
    listed = "; ".join(f"{report.unit} {n}: {r}" for n, r in report.problems[:shown])
    more = len(report.problems) - shown
    return f": {listed}" + (f" (and {more} more)" if more > 0 else "")


def load_list(
    path: str | Path, *, strict: bool = False, format: str | None = None, dialect: str | None = None,
    name: str | None = None,
) -> tuple[HashList, LoadReport]:
    """Read a hash list file: ``(HashList, LoadReport)``. The list is named after the file.

    Text lists may be UTF-8 (with or without a BOM) or UTF-16 with a BOM (spreadsheets' "Unicode
    text"). Raises ``ListError`` when the file cannot be read as a list, ``EmptyListError`` (a
    ``ListError``) when it has no usable entry; never another exception for what the file holds.
    """
    path = Path(path)
    from ..tmk_lists import is_tmk, read_tmk_file, read_tmk_folder
    if path.is_dir() or format == "tmk":  # a folder of Meta's .tmk files
        hash_list, report = HashList(name or path.stem), LoadReport(name or path.stem, "tmk")
        (read_tmk_folder if path.is_dir() else read_tmk_file)(path, hash_list, report)
        report.loaded = len(hash_list.entries)
        if strict and report.problems:
            raise ListError(f"{path}: {report.problems[0][1]}")
        return hash_list, report
    try:
        with open(path, "rb") as f:
            head = f.read(16)
    except OSError as exc:
        raise ListError(f"{path}: cannot read: {exc.strerror or exc}") from None
    if is_tmk(head):
        return load_list(path, name=name, strict=strict, format="tmk")
    if is_sqlite(head) or format == "nsrl":
        hash_list, report = HashList(name or path.stem), LoadReport(name or path.stem, "nsrl-rdsv3", unit="row")
        try:
            read_nsrl(path, hash_list, report)
        except ListError as exc:
            raise ListError(str(exc), report) from None
        except Exception as exc:  # noqa: BLE001 - as in read_list_text
            raise ListError(f"{path}: cannot be read ({type(exc).__name__}: {exc}); please report this", report) from None
        return _finish(hash_list, report, str(path), strict)
    encoding = "utf-16" if head.startswith((b"\xff\xfe", b"\xfe\xff")) else "utf-8-sig"
    try:
        text = path.read_text(encoding=encoding)
    except UnicodeDecodeError as exc:
        raise ListError(f"{path}: not {'UTF-16' if encoding == 'utf-16' else 'UTF-8'} text ({exc.reason} at byte {exc.start})") from None
    except OSError as exc:
        raise ListError(f"{path}: cannot read: {exc.strerror or exc}") from None
    return read_list_text(text, name or path.stem, strict=strict, format=format, dialect=dialect, source=str(path))
