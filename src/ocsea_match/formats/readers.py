"""Readers for PDQ lists, digest lists (md5sum/sha1sum/sha256sum), VICS JSON and JSONL records."""

from __future__ import annotations

import csv
import io
import json
import re
from pathlib import Path

from .model import HEX_LENGTHS, HashList, ListEntry, ListError, LoadReport
from .forensic import is_hashdeep, is_sqlite, read_hashdeep, read_nsrl
from .vics import is_vics, read_vics

__all__ = ["detect_format", "load_list", "read_list_text"]

_HEX = re.compile(r"^[0-9a-fA-F]+$")
_DIGEST_LINE = re.compile(r"^([0-9a-fA-F]{32}|[0-9a-fA-F]{40}|[0-9a-fA-F]{64})\s+\*?(.*)$")
_DIGEST_BY_LENGTH = {32: "md5", 40: "sha1", 64: "sha256"}
_HASH_COLUMNS = ("hash", "pdq", "pdq_hash", "signal", "value")
_ID_COLUMNS = ("id", "entry_id", "media_id", "mediaid", "name", "path")
_CATEGORY_COLUMNS = ("category", "label", "tags", "class")


def _content_lines(text: str) -> list[tuple[int, str]]:
    return [(n, line.strip()) for n, line in enumerate(text.splitlines(), 1) if line.strip() and not line.lstrip().startswith("#")]


_VPDQ_LINE = re.compile(r"^(\d+),(-?\d+),([0-9a-fA-F]{64}),(\d+(?:\.\d*)?)$")


def detect_format(text: str) -> str:
    """``pdq-lines``, ``pdq-csv``, ``vpdq``, ``digests``, ``hashdeep``, ``vics`` or ``jsonl``, from the content
    (NSRL SQLite files are recognised by ``load_list`` from their first bytes)."""
    lines = _content_lines(text)
    if not lines:
        raise ListError("the list is empty")
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
    if "," in first or "\t" in first:
        return "pdq-csv"
    return "pdq-lines"


def _check_hex(algorithm: str, value: str) -> str | None:
    """The lower-case hex, or None when the value is not a hash of that algorithm."""
    value = value.strip().lower()
    if len(value) != HEX_LENGTHS[algorithm] or not _HEX.match(value):
        return None
    return value


def _read_pdq_lines(text: str, hash_list: HashList, report: LoadReport) -> None:
    for number, line in _content_lines(text):
        value = _check_hex("pdq", line.split()[0])
        if value is None:
            report.problems.append((number, f"not a 64-character PDQ hash: {line[:80]!r}"))
            continue
        hash_list.entries.append(ListEntry(f"{hash_list.name}:{number}", "pdq", value))


def _pick(header: list[str], names: tuple[str, ...]) -> int | None:
    lowered = [h.strip().lower() for h in header]
    for name in names:
        if name in lowered:
            return lowered.index(name)
    return None


def _read_pdq_csv(text: str, hash_list: HashList, report: LoadReport) -> None:
    dialect = csv.excel_tab if "\t" in text.splitlines()[0] else csv.excel
    rows = list(csv.reader(io.StringIO(text), dialect))
    header = rows[0] if rows else []
    col_hash = _pick(header, _HASH_COLUMNS)
    if col_hash is None:
        if header and _check_hex("pdq", header[0]) is not None:
            col_hash, col_id, col_cat, col_q, start = 0, None, None, None, 0  # no header row
        else:
            raise ListError(f"no hash column in the header {header!r} (expected one of {_HASH_COLUMNS})")
    else:
        col_id, col_cat, col_q, start = _pick(header, _ID_COLUMNS), _pick(header, _CATEGORY_COLUMNS), _pick(header, ("quality",)), 1
    for number, row in enumerate(rows[start:], start + 1):
        if not row or not any(cell.strip() for cell in row):
            continue
        if len(row) <= col_hash:
            report.problems.append((number, f"no hash column in this row ({len(row)} fields)"))
            continue
        value = _check_hex("pdq", row[col_hash])
        if value is None:
            report.problems.append((number, f"not a 64-character PDQ hash: {row[col_hash][:80]!r}"))
            continue
        quality = None
        if col_q is not None and col_q < len(row) and row[col_q].strip():
            try:
                quality = int(float(row[col_q]))
            except ValueError:
                report.problems.append((number, f"quality is not a number: {row[col_q]!r}"))
                continue
        entry_id = row[col_id].strip() if col_id is not None and col_id < len(row) and row[col_id].strip() else f"{hash_list.name}:{number}"
        category = row[col_cat].strip() or None if col_cat is not None and col_cat < len(row) else None
        hash_list.entries.append(ListEntry(entry_id, "pdq", value, category=category, quality=quality))


def _read_digests(text: str, hash_list: HashList, report: LoadReport) -> None:
    for number, line in _content_lines(text):
        m = _DIGEST_LINE.match(line)
        if not m:
            report.problems.append((number, f"not a 'digest  name' line: {line[:80]!r}"))
            continue
        value, name = m.group(1).lower(), m.group(2).strip()
        algorithm = _DIGEST_BY_LENGTH[len(value)]
        hash_list.entries.append(ListEntry(name or f"{hash_list.name}:{number}", algorithm, value, label=name or None))


def _read_jsonl(text: str, hash_list: HashList, report: LoadReport) -> None:
    for number, line in _content_lines(text):
        try:
            record = json.loads(line)
        except json.JSONDecodeError as exc:
            report.problems.append((number, f"not JSON: {exc.msg}"))
            continue
        if not isinstance(record, dict):
            report.problems.append((number, "not a JSON object"))
            continue
        if record.get("status") not in (None, "ok"):
            report.problems.append((number, f"record with status {record.get('status')!r}: no hashes to list"))
            continue
        entry_id = str(record.get("entry_id") or record.get("path") or f"{hash_list.name}:{number}")
        category = record.get("category")
        found = 0
        for algorithm in ("md5", "sha1", "sha256"):
            value = record.get(algorithm)
            if value:
                checked = _check_hex(algorithm, str(value))
                if checked is None:
                    report.problems.append((number, f"bad {algorithm}: {str(value)[:80]!r}"))
                    continue
                hash_list.entries.append(ListEntry(entry_id, algorithm, checked, category=category))
                found += 1
        found += _read_frames(record.get("frames"), entry_id, category, number, hash_list, report)
        found += _read_robust(record.get("robust"), entry_id, category, number, hash_list, report)
        if "tmk" in record:  # a video's TMK+PDQF, base64 of its .tmk file
            from ..tmk_lists import read_tmk_field
            found += read_tmk_field(record["tmk"], entry_id, category, number, hash_list, report)
        for algorithm, value in (record.get("hashes") or {}).items():
            if algorithm not in HEX_LENGTHS or not isinstance(value, dict):
                report.problems.append((number, f"unknown hash {algorithm!r}"))
                continue
            checked = _check_hex(algorithm, str(value.get("hex", "")))
            if checked is None:
                report.problems.append((number, f"bad {algorithm} hex: {str(value.get('hex'))[:80]!r}"))
                continue
            hash_list.entries.append(ListEntry(entry_id, algorithm, checked, category=category, quality=value.get("quality")))
            found += 1
        if not found:
            report.problems.append((number, "a record with no hash"))


def _read_frames(frames: object, entry_id: str, category: str | None, number: int, hash_list: HashList,
                 report: LoadReport) -> int:
    """A video record's frames: one PDQ entry per frame (and per trimmed frame) with its time."""
    if frames is None:
        return 0
    if not isinstance(frames, list):
        report.problems.append((number, "'frames' is not a list"))
        return 0
    found = 0
    for i, frame in enumerate(frames):
        if not isinstance(frame, dict) or not isinstance(frame.get("timestamp"), (int, float)):
            report.problems.append((number, f"frame {i}: not an object with a timestamp"))
            continue
        for key, quality_key in (("pdq", "quality"), ("pdq_trimmed", "quality_trimmed")):
            if key not in frame:
                continue
            checked = _check_hex("pdq", str(frame[key]))
            if checked is None:
                report.problems.append((number, f"frame {i}: bad {key}: {str(frame[key])[:80]!r}"))
                continue
            hash_list.entries.append(ListEntry(entry_id, "pdq", checked, category=category,
                                               quality=frame.get(quality_key), timestamp=float(frame["timestamp"])))
            found += 1
    return found


def _read_robust(robust: object, entry_id: str, category: str | None, number: int, hash_list: HashList,
                 report: LoadReport) -> int:
    """A record's robust list rows (``robust.list``): PDQ of its trimmed picture and crops."""
    if robust is None:
        return 0
    rows = robust.get("list") if isinstance(robust, dict) else None
    if not isinstance(rows, list):
        return 0  # a query-only record: nothing to list
    found = 0
    for i, row in enumerate(rows):
        checked = _check_hex("pdq-robust", str(row.get("hex", "")) if isinstance(row, dict) else "")
        if checked is None:
            report.problems.append((number, f"robust row {i}: not a PDQ hash"))
            continue
        hash_list.entries.append(ListEntry(entry_id, "pdq-robust", checked, category=category, quality=row.get("quality")))
        found += 1
    return found


def _read_vpdq(text: str, hash_list: HashList, report: LoadReport) -> None:
    """vPDQ's per-frame lines ``frameNumber,quality,hex,timestamp``: one video, named after the list."""
    for number, line in _content_lines(text):
        m = _VPDQ_LINE.match(line)
        if not m:
            report.problems.append((number, f"not a 'frameNumber,quality,hex,timestamp' line: {line[:80]!r}"))
            continue
        hash_list.entries.append(ListEntry(hash_list.name, "pdq", m.group(3).lower(), quality=int(m.group(2)),
                                           label=m.group(1), timestamp=float(m.group(4))))


_READERS = {
    "pdq-lines": _read_pdq_lines, "pdq-csv": _read_pdq_csv, "digests": _read_digests, "jsonl": _read_jsonl,
    "vics": read_vics, "hashdeep": read_hashdeep, "vpdq": _read_vpdq,
}


def read_list_text(
    text: str, name: str, *, strict: bool = False, format: str | None = None, dialect: str | None = None
) -> tuple[HashList, LoadReport]:
    """Parse a list's text; ``format`` overrides detection; ``dialect`` names the PDQ dialect
    the list's PDQ hashes were made in (``pdq-thumb512``, ``pdq-nearest512``), kept with them."""
    if dialect is not None and dialect not in ("pdq", "pdq-thumb512", "pdq-nearest512"):
        raise ListError(f"unknown PDQ dialect {dialect!r}")
    text = text.lstrip("\ufeff")
    fmt = format or detect_format(text)
    if fmt not in _READERS:
        raise ListError(f"unknown list format {fmt!r}; known: {sorted(_READERS)}")
    hash_list = HashList(name)
    report = LoadReport(name, fmt)
    _READERS[fmt](text, hash_list, report)
    if dialect is not None and dialect != "pdq":
        hash_list.dialect = dialect
        hash_list.entries = [
            ListEntry(e.entry_id, dialect, e.hex, e.category, e.label, e.quality, e.timestamp)
            if e.algorithm == "pdq" and e.timestamp is None else e
            for e in hash_list.entries
        ]
    report.loaded = len(hash_list.entries)
    if strict and report.problems:
        number, reason = report.problems[0]
        raise ListError(f"{name}: line {number}: {reason} ({len(report.problems)} problem(s) in all)")
    return hash_list, report


def load_list(
    path: str | Path, *, name: str | None = None, strict: bool = False, format: str | None = None,
    dialect: str | None = None,
) -> tuple[HashList, LoadReport]:
    """Read a hash list file: ``(HashList, LoadReport)``. The list is named after the file."""
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
        hash_list, report = HashList(name or path.stem), LoadReport(name or path.stem, "nsrl-rdsv3")
        read_nsrl(path, hash_list, report)
        report.loaded = len(hash_list.entries)
        if strict and report.problems:
            raise ListError(f"{path}: row {report.problems[0][0]}: {report.problems[0][1]}")
        return hash_list, report
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ListError(f"{path}: not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    except OSError as exc:
        raise ListError(f"{path}: cannot read: {exc.strerror or exc}") from None
    return read_list_text(text, name or path.stem, strict=strict, format=format, dialect=dialect)
