"""Converting a list to another format, and saying exactly what the target format could not carry.

What was carried is not assumed from the writer's code: the written text is read back with this
project's own reader and compared entry by entry, field by field (the round trip is the proof).

>>> from ocsea_match.formats import HashList, ListEntry
>>> hash_list = HashList("known", [ListEntry("A1", "pdq", "ab" * 32, "1"), ListEntry("A1", "photodna", "00ff")])
>>> text, report = convert_list(hash_list, "pdq-csv")
>>> report.lines()
['1 of 2 entries written as pdq-csv', 'not written (pdq-csv cannot hold them): 1 photodna entry']
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from .._wording import plural
from .model import EmptyListError, HashList, ListEntry, ListError
from .readers import read_list_text
from .writers import WRITERS, dump_list

__all__ = ["ConversionReport", "convert_list"]

#: The reader that reads each writer's output back.
_READ_BACK = {"pdq-csv": "pdq-csv", "md5sum": "digests", "sha1sum": "digests", "sha256sum": "digests",
              "jsonl": "jsonl", "vics": "vics", "vpdq": "vpdq"}
_PDQ = ("pdq", "pdq-thumb512", "pdq-nearest512")


@dataclass
class ConversionReport:
    """What a conversion kept: ``entries`` in the list, ``written`` read back from the text, and
    per lost field (``"quality"``, ``"frame time"``, ``"entry id"`` ...) how many entries lost it;
    ``not_written`` counts the entries the format cannot hold at all, by kind."""

    to: str
    entries: int
    written: int = 0
    not_written: Counter[str] = field(default_factory=Counter)
    lost: Counter[str] = field(default_factory=Counter)

    def lines(self) -> list[str]:
        """The report in words, one line per kind of loss."""
        out = [f"{self.written} of {plural(self.entries, 'entry')} written as {self.to}"]
        out += [f"not written ({self.to} cannot hold them): {plural(n, kind)}" for kind, n in sorted(self.not_written.items())]
        out += [f"lost the {what}: {plural(n, 'entry')}" for what, n in sorted(self.lost.items())]
        return out


def _family(algorithm: str) -> str:
    return "pdq" if algorithm in _PDQ else algorithm


def _kind(entry: ListEntry) -> str:
    if entry.timestamp is not None:
        return "PDQ video frame"
    return {"pdq-robust": "robust PDQ row"}.get(entry.algorithm, f"{entry.algorithm} entry")


def convert_list(hash_list: HashList, to: str) -> tuple[str, ConversionReport]:
    """The list as text in format ``to`` (one of ``WRITERS``) and what it lost (``ConversionReport``).

    ``EmptyListError`` when the format can carry no entry of the list (nothing should be written
    then); ``ListError`` when the list does not fit the format at all (e.g. several videos as vPDQ).
    """
    if to not in WRITERS:
        raise ListError(f"cannot write {to!r}; choose from {', '.join(WRITERS)}")
    text = dump_list(hash_list, to)
    distinct = list(dict.fromkeys(hash_list.entries))  # identical entries are one entry
    report = ConversionReport(to, len(distinct))
    written: list[ListEntry] = []
    extra: dict[str, dict[str, object]] = {}
    if text.strip():
        try:
            back, _ = read_list_text(text, hash_list.name, format=_READ_BACK[to])
            written, extra = back.entries, back.extra
        except EmptyListError:
            pass
    report.written = len(written)
    pool: dict[tuple[str, str], list[ListEntry]] = {}
    for entry in written:
        pool.setdefault((_family(entry.algorithm), entry.hex), []).append(entry)
    ids: dict[str, str] = {}  # original entry id -> its id as written
    for entry in distinct:
        candidates = pool.get((_family(entry.algorithm), entry.hex))
        if not candidates:
            report.not_written[_kind(entry)] += 1
            continue
        same = [c for c in candidates if c.entry_id == entry.entry_id and c.timestamp == entry.timestamp]
        got = (same or candidates)[0]
        candidates.remove(got)
        ids.setdefault(entry.entry_id, got.entry_id)
        if entry.algorithm != got.algorithm:
            report.lost["PDQ dialect"] += 1
        if entry.quality is not None and entry.quality != got.quality:
            report.lost["PDQ quality"] += 1
        if entry.timestamp is not None and (got.timestamp is None or abs(entry.timestamp - got.timestamp) > 1e-6):
            report.lost["frame time (the video would match as separate pictures)"] += 1
        if entry.category is not None and entry.category != got.category:
            report.lost["category"] += 1
        if entry.entry_id != got.entry_id:
            report.lost["entry id"] += 1
        if entry.label and not entry.label.isdigit() and entry.label not in (got.label, got.entry_id):
            report.lost["label (file name)"] += 1
    for entry_id, fields in hash_list.extra.items():
        kept = extra.get(ids.get(entry_id, entry_id), {})
        if any(key not in kept for key in fields):
            report.lost["item's other fields (VICS " + ", ".join(sorted(fields)[:3]) + ("..." if len(fields) > 3 else "") + ")"] += 1
    if not report.written:
        kinds = ", ".join(plural(n, kind) for kind, n in sorted(report.not_written.items()))
        raise EmptyListError(f"{to} can carry none of the list's entries ({kinds}); nothing written")
    return text, report
