"""This project's JSON lines records as a list (what ``ocsea-match hash``/``scan`` write, ``convert
--to jsonl``): every hash of every record, a video's frames with their times, robust rows, TMKs."""

from __future__ import annotations

from typing import Any

from ..algorithms import DIGESTS
from .model import (
    HEX_LENGTHS,
    HashList,
    ListEntry,
    LoadReport,
    check_hex,
    check_quality,
    check_timestamp,
    is_text,
    parse_json,
)

__all__ = ["jsonl_line", "read_jsonl"]


def _content_lines(text: str) -> list[tuple[int, str]]:
    return [(n, line.strip()) for n, line in enumerate(text.split("\n"), 1)
            if line.strip() and not line.lstrip().startswith("#")]


def read_jsonl(text: str, hash_list: HashList, report: LoadReport) -> None:
    """This project's JSON lines records (``hash``/``scan`` output, ``convert --to jsonl``)."""
    for number, line in _content_lines(text):
        jsonl_line(number, line, hash_list, report)


def jsonl_line(number: int, line: str, hash_list: HashList, report: LoadReport) -> None:
    """One JSONL record (a stripped line, neither blank nor a '#' comment): entries or report lines."""
    try:
        record = parse_json(line)
    except ValueError as exc:
        report.problems.append((number, str(exc)))
        return
    if not isinstance(record, dict):
        report.problems.append((number, "not a JSON object"))
        return
    if record.get("status") not in (None, "ok"):
        report.problems.append((number, f"record with status {str(record.get('status'))[:40]!r}: no hashes to list"))
        return
    before = len(hash_list.entries)
    try:
        _read_record(record, number, hash_list, report)
    except ValueError as exc:  # the whole record is refused: half an item would mislead
        del hash_list.entries[before:]
        report.problems.append((number, str(exc)))
        return
    if len(hash_list.entries) == before:
        report.problems.append((number, "a record with no hash"))


def _text_field(record: dict[str, Any], key: str) -> str | None:
    value = record.get(key)
    if value is None or value == "":
        return None
    if isinstance(value, bool) or not (is_text(value) or isinstance(value, int)):
        raise ValueError(f"{key!r} is not text (UTF-8) or a number: {str(value)[:40]!r}")
    return str(value)


def _read_record(record: dict[str, Any], number: int, hash_list: HashList, report: LoadReport) -> None:
    entry_id = _text_field(record, "entry_id") or _text_field(record, "path") or f"{hash_list.name}:{number}"
    category = _text_field(record, "category")
    for algorithm in DIGESTS:
        value = record.get(algorithm)
        if value:
            checked = check_hex(algorithm, value)
            if checked is None:
                report.problems.append((number, f"bad {algorithm}: {str(value)[:80]!r}"))
                continue
            hash_list.entries.append(ListEntry(entry_id, algorithm, checked, category=category))
    _read_frames(record.get("frames"), entry_id, category, number, hash_list, report)
    _read_robust(record.get("robust"), entry_id, category, number, hash_list, report)
    if "tmk" in record:  # a video's TMK+PDQF, base64 of its .tmk file
        from ..tmk_lists import read_tmk_field

        read_tmk_field(record["tmk"], entry_id, category, number, hash_list, report)
    hashes = record.get("hashes")
    if hashes is None:
        return
    if not isinstance(hashes, dict):
        raise ValueError("'hashes' is not an object of {algorithm: {hex, quality}}")
    for algorithm, value in hashes.items():
        if algorithm not in HEX_LENGTHS or not isinstance(value, dict):
            report.problems.append((number, f"unknown hash {algorithm[:40]!r}" if algorithm not in HEX_LENGTHS
                                    else f"{algorithm}: not an object with 'hex'"))
            continue
        hex_value = value.get("hex")
        checked = check_hex(algorithm, hex_value)
        if checked is None:
            report.problems.append((number, f"bad {algorithm} hex: {str(hex_value)[:80]!r}"))
            continue
        hash_list.entries.append(ListEntry(entry_id, algorithm, checked, category=category,
                                           quality=check_quality(value.get("quality"))))


def _read_frames(frames: object, entry_id: str, category: str | None, number: int, hash_list: HashList,
                 report: LoadReport) -> None:
    """A video record's frames: one PDQ entry per frame (and per trimmed frame) with its time."""
    if frames is None:
        return
    if not isinstance(frames, list):
        raise ValueError("'frames' is not a list")
    for i, frame in enumerate(frames):
        if not isinstance(frame, dict) or "timestamp" not in frame:
            report.problems.append((number, f"frame {i}: not an object with a timestamp"))
            continue
        try:
            timestamp = check_timestamp(frame["timestamp"])
        except ValueError as exc:
            report.problems.append((number, f"frame {i}: {exc}"))
            continue
        for key, quality_key in (("pdq", "quality"), ("pdq_trimmed", "quality_trimmed")):
            if key not in frame:
                continue
            checked = check_hex("pdq", frame[key])
            if checked is None:
                report.problems.append((number, f"frame {i}: bad {key}: {str(frame[key])[:80]!r}"))
                continue
            try:
                quality = check_quality(frame.get(quality_key))
            except ValueError as exc:
                report.problems.append((number, f"frame {i}: {exc}"))
                continue
            hash_list.entries.append(ListEntry(entry_id, "pdq", checked, category=category, quality=quality,
                                               timestamp=timestamp))


def _read_robust(robust: object, entry_id: str, category: str | None, number: int, hash_list: HashList,
                 report: LoadReport) -> None:
    """A record's robust list rows (``robust.list``): PDQ of its trimmed picture and crops."""
    if robust is None:
        return
    rows = robust.get("list") if isinstance(robust, dict) else None
    if not isinstance(rows, list):
        return  # a query-only record: nothing to list
    for i, row in enumerate(rows):
        hex_value = row.get("hex") if isinstance(row, dict) else None
        checked = check_hex("pdq-robust", hex_value)
        if checked is None:
            report.problems.append((number, f"robust row {i}: not a PDQ hash"))
            continue
        try:
            quality = check_quality(row.get("quality"))
        except ValueError as exc:
            report.problems.append((number, f"robust row {i}: {exc}"))
            continue
        hash_list.entries.append(ListEntry(entry_id, "pdq-robust", checked, category=category, quality=quality))
