"""The in-memory shape of a hash list, whatever format it came in."""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = ["ListEntry", "HashList", "LoadReport", "ListError"]

#: Algorithms a list entry may carry, with the hex length of their values.
HEX_LENGTHS: dict[str, int] = {"pdq": 64, "pdq-thumb512": 64, "pdq-nearest512": 64, "pdq-robust": 64, "phash": 16, "dhash": 16, "ahash": 16, "whash": 16, "md5": 32, "sha1": 40, "sha256": 64}


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
    """What loading one list did: its format, how many entries, and every line not used."""

    list_name: str
    format: str
    loaded: int = 0
    problems: list[tuple[int, str]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, object]:
        return {
            "list": self.list_name,
            "format": self.format,
            "loaded": self.loaded,
            "problems": [{"line": n, "reason": r} for n, r in self.problems],
            "notes": self.notes,
        }


class ListError(ValueError):
    """A list cannot be read at all, or (strict mode) has a bad line."""
