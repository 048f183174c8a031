"""The in-memory shape of a hash list, whatever format it came in."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..algorithms import hex_lengths, parse_hex

__all__ = ["ListEntry", "HashList", "LoadReport", "ListError", "EmptyListError", "check_hex", "check_quality",
           "check_timestamp", "is_text", "parse_json"]

#: Algorithms a list entry may carry as hex, with the length of their values (TMK entries, whose
#: value is their file's SHA-256, are read by ``tmk_lists``): from ``algorithms.ALGORITHM_INFO``.
HEX_LENGTHS: dict[str, int] = hex_lengths()


@dataclass(frozen=True)
class ListEntry:
    """One hash of one listed item. An item with several hashes has several entries, one id.
    A listed video has one PDQ entry per sampled frame, with the frame's ``timestamp`` (s)."""

    entry_id: str
    algorithm: str
    hex: str
    category: str | None = None
    label: str | None = None
    quality: int | None = None
    timestamp: float | None = None


@dataclass
class HashList:
    """A named list of entries (``name`` is what matches report as their ``list``)."""

    name: str
    entries: list[ListEntry] = field(default_factory=list)
    dialect: str | None = None  # the PDQ dialect the list was hashed in, when known
    #: per entry id, the fields of its item that are not hashes (VICS: Series, MediaFiles ...),
    #: kept so that writing the list back loses nothing
    extra: dict[str, dict[str, object]] = field(default_factory=dict)
    #: listed TMK+PDQF files (``.tmk`` bytes) by SHA-256, the ``hex`` of their ``tmk`` entries
    tmk_files: dict[str, bytes] = field(default_factory=dict)


@dataclass
class LoadReport:
    """What loading one list did: its format, how many entries, every line not used (``problems``:
    ``(number, reason)``, the number counting ``unit``\\ s: lines, or a VICS file's media items), and
    the entries loaded but not matched (``unmatched``: ``(entry id, reason)``, e.g. PDQ quality
    under the floor)."""

    list_name: str
    format: str
    loaded: int = 0
    problems: list[tuple[int, str]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    unit: str = "line"
    unmatched: list[tuple[str, str]] = field(default_factory=list)

    def to_json(self) -> dict[str, object]:
        return {
            "list": self.list_name,
            "format": self.format,
            "loaded": self.loaded,
            "problems": [{self.unit: n, "reason": r} for n, r in self.problems],
            "unmatched": [{"entry_id": e, "reason": r} for e, r in self.unmatched],
            "notes": self.notes,
        }


class ListError(ValueError):
    """A list cannot be read at all, or (strict mode) has a bad line. ``report``: what was read
    before it was refused, when anything was."""

    def __init__(self, message: str, report: LoadReport | None = None) -> None:
        super().__init__(message)
        self.report = report


class EmptyListError(ListError):
    """A list (or a set of lists for an index) with no entry that can be used: refused, since it
    would silently match nothing. ``report`` says why, line by line."""


def is_text(value: object) -> bool:
    """Whether ``value`` is text that can be written as UTF-8: a JSON ``\\ud800`` escape gives a
    lone surrogate, which no output (index, JSONL, CSV, report) can hold, so it names nothing.

    >>> is_text("M-1"), is_text(chr(0xD800)), is_text(7)
    (True, False, False)
    """
    if not isinstance(value, str):
        return False
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def check_hex(algorithm: str, value: object) -> str | None:
    """A list's hash value as lower-case hex (spaces around it ignored), or None when it is not a
    hash of that algorithm (``algorithms.parse_hex``; the reader says so in its report)."""
    try:
        return parse_hex(algorithm, value.strip() if isinstance(value, str) else value)
    except ValueError:
        return None


def check_quality(value: object) -> int | None:
    """A PDQ quality as lists carry it: None, or a whole number 0-100 (``"87"`` and ``87.0`` too);
    ``ValueError`` otherwise."""
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        raise ValueError(f"quality is not a number: {value!r}")
    if isinstance(value, str):
        try:
            value = float(value.strip())
        except ValueError:
            raise ValueError(f"quality is not a number: {value[:40]!r}") from None
    if not isinstance(value, (int, float)) or value != value or not 0 <= value <= 100 or value != int(value):
        raise ValueError(f"quality is not a whole number from 0 to 100: {str(value)[:40]!r}")
    return int(value)


def check_timestamp(value: object) -> float:
    """A video frame's time in seconds: a finite number, not negative; ``ValueError`` otherwise."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value < float("inf"):
        raise ValueError(f"timestamp is not a time in seconds: {str(value)[:40]!r}")
    return float(value)


#: JSON deeper than this is refused before it is parsed (a hash list needs 5 levels; Python's
#: parser would recurse until it fails on 100,000 nested brackets).
MAX_JSON_DEPTH = 64
_JSON_STRING = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"', re.S)
_NOT_BRACKET = re.compile(r"[^\[\]{}]+")


def parse_json(text: str, max_depth: int = MAX_JSON_DEPTH) -> Any:
    """``json.loads`` for untrusted text: ``ValueError`` (with a reason) for anything that is not
    JSON, nests deeper than ``max_depth``, or holds numbers Python will not parse."""
    if text.count("[") + text.count("{") > max_depth:
        brackets = _NOT_BRACKET.sub("", _JSON_STRING.sub('""', text)).encode("ascii")
        steps = np.frombuffer(brackets, np.uint8)
        depth = np.cumsum(np.where((steps == 91) | (steps == 123), 1, -1), dtype=np.int64)
        if len(depth) and int(depth.max()) > max_depth:
            raise ValueError(f"nested deeper than {max_depth} levels")
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValueError(f"not JSON: {exc.msg} (line {exc.lineno}, column {exc.colno})") from None  # msg may end in "at"
    except (ValueError, RecursionError) as exc:  # e.g. an integer of more than 4300 digits
        raise ValueError(f"not JSON this tool can read: {exc}") from None
