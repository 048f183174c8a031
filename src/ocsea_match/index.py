"""HashIndex: known-material lists indexed for matching, one exhaustive table per algorithm.

Every search is exhaustive (recall 1.0 at the threshold); how depends on the hash's size, not on
the number of rows (the kernel was measured faster than FAISS from 1 row to 10M rows):

- PDQ (256 bits, every dialect in one table): ``_core.range_search_256``, a two-stage scan over
  rows kept as two arrays, the first 128 bits of every row in one and the last 128 in the other.
  The second half of a row is read only when its first half is within the threshold (the whole
  distance is never smaller), which for unrelated hashes is almost never; blocks of rows stay in
  cache while a batch of queries passes over them. 32 bytes a row, as a flat index.
- pHash/dHash/aHash/wHash (64 bits, one popcount a row, nothing to split): FAISS
  ``IndexBinaryFlat.range_search``.
- MD5, SHA-1, SHA-256: sets (exact equality).

Entry metadata is columnar: per entry a category code (a small vocabulary), per list its entry ids
as int64 numbers when they are all plain decimal ids (VICS MediaIDs), else one UTF-8 blob with
offsets, or none at all when they are generated (``"list:n"``); each row
carries its entry's number (uint32). Saved in open formats (NumPy ``.npy`` without pickle, JSON),
with a manifest of SHA-256 sums so that a corrupt or altered index is refused on load.

>>> index, reports = HashIndex.from_lists(["known_list.csv"])  # doctest: +SKIP
>>> index.match(ocsea_match.hash_file("upload.jpg", ["pdq"]))  # doctest: +SKIP
[{'list': 'known_list', 'entry_id': 'A1', 'category': '1', 'algorithm': 'pdq', 'distance': 4, 'threshold': 31}]
>>> index.add_hashes("export", "pdq", rows)  # rows: uint8 (n, 32), hex byte order  # doctest: +SKIP
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ._index_store import Entries, Flat, Ids, Split256, new_table, read_npy
from ._wording import plural
from .formats import EmptyListError, HashList, LoadReport, load_list
from .files import file_sha256 as _sha256
from .hashes import HASH_BITS, Hash, match_family
from .robust import DIHEDRAL as ROBUST_DIHEDRAL
from .thresholds import DEFAULT_PDQ_QUALITY_FLOOR, DEFAULT_THRESHOLDS, check_quality_floor, check_thresholds
from .tmk_lists import TMKTable
from .video import VIDEO_DEFAULTS, aggregate_frame_hits

__all__ = ["HashIndex", "IndexFileError", "DEFAULT_THRESHOLDS", "EXACT_ALGORITHMS", "open_index"]

EXACT_ALGORITHMS = ("md5", "sha1", "sha256")
_EXACT_BYTES = {"md5": 16, "sha1": 20, "sha256": 32}
_FORMAT_VERSION = 2


class IndexFileError(ValueError):
    """A saved index is missing, corrupt or altered."""


# --------------------------------------------------------------------------------------------- the index


class HashIndex:
    """Known-material hashes from any number of lists, matched by threshold.

    Build it (``add_list`` / ``from_lists``, or ``add_hashes`` for large packed exports), then
    query it from as many threads as you like (``match`` / ``match_many``); adding while querying
    is not supported. ``threads``: OpenMP threads of one PDQ search (0: OpenMP's default; 1 for a
    service that runs many queries on threads of its own). ``thresholds`` outside the ranges of
    ``thresholds.MAX_THRESHOLDS`` and a ``pdq_quality_floor`` outside 0-100 raise ``ValueError``.
    """

    def __init__(
        self, thresholds: Mapping[str, int] | None = None, pdq_quality_floor: int = DEFAULT_PDQ_QUALITY_FLOOR, threads: int = 0,
        video_query_share: float = VIDEO_DEFAULTS["query_share"], video_listed_share: float = VIDEO_DEFAULTS["listed_share"],
        robust: bool = True,
    ) -> None:
        self.thresholds = {**DEFAULT_THRESHOLDS, **check_thresholds(thresholds)}
        self.pdq_quality_floor = check_quality_floor(pdq_quality_floor)
        self.threads = threads
        self.video_query_share = video_query_share
        self.video_listed_share = video_listed_share
        self.robust = robust
        self._entries = Entries()
        self._perceptual: dict[str, Split256 | Flat] = {}
        self._times: dict[str, np.ndarray] = {}  # per table row: a listed video frame's time, NaN for pictures
        self._video_frames: dict[int, int] = {}  # listed video entry -> its usable frames
        self._exact: dict[str, dict[str, list[int]]] = {a: {} for a in EXACT_ALGORITHMS}
        self._tmk = TMKTable()  # listed videos' TMK+PDQF (tmk_lists.py)
        self._lock = threading.Lock()

    # ----------------------------------------------------------------------------- building

    @classmethod
    def from_lists(cls, lists: Iterable[str | Path | HashList], *, strict: bool = False, **options: Any) -> tuple[HashIndex, list[LoadReport]]:
        """An index of the given list files (or ``HashList`` objects), with one report per list.

        Raises ``ListError`` for a list that cannot be read, ``EmptyListError`` for a list with no
        entry that can be matched (or no list at all): an index that matches nothing is refused.
        """
        index = cls(**options)
        reports = []
        for item in lists:
            if isinstance(item, HashList):
                hash_list, report = item, LoadReport(item.name, "in-memory", loaded=len(item.entries))
            else:
                reports.append(index.add_list_file(item, strict=strict))
                continue
            index.add_list(hash_list, report)
            reports.append(report)
        if not reports:
            raise EmptyListError("no list given: an index of nothing would match nothing")
        return index, reports

    def add_list_file(self, path: str | Path, *, strict: bool = False) -> LoadReport:
        """Read a list file into the index: what ``load_list`` then ``add_list`` do, with the same
        entries and report, but a PDQ list (plain or delimited) goes straight into the index's
        columns (``formats.columnar``: no Python object per line, a bounded read buffer).

        >>> report = index.add_list_file("known_list.csv")  # doctest: +SKIP
        """
        from ._index_columns import add_columns
        from .formats.columnar import read_columns

        columns = read_columns(path, strict=strict)
        if columns is None:
            hash_list, report = load_list(path, strict=strict)
            self.add_list(hash_list, report)
            return report
        add_columns(self, columns)
        return columns.report

    def add_columns(self, columns: Any) -> LoadReport:
        """Add a PDQ list already read into columns (``formats.columnar.read_columns``, or a slice of
        one: a sharded index's part, ``ocsea_match.cluster``); returns its load report."""
        from ._index_columns import add_columns

        add_columns(self, columns)
        return columns.report

    def add_list(self, hash_list: HashList, report: LoadReport | None = None) -> None:
        """Add every entry of a list; entries that cannot be matched are noted in ``report`` (those
        under the PDQ quality floor by name, in ``report.unmatched``). ``EmptyListError`` (and
        nothing added) when no entry of the list can be matched."""
        skipped_quality: list[tuple[str, str]] = []
        unmatchable: dict[str, int] = {}
        local: dict[str, int] = {}  # entry id -> number within the list
        categories: list[str | None] = []
        exact: list[tuple[str, str, int]] = []
        batches: dict[str, tuple[list[bytes], list[int], list[float]]] = {}
        frame_times: dict[int, set[float]] = {}  # a listed video's usable frames
        tmks: list[tuple[int, bytes]] = []  # (entry within the list, .tmk bytes)
        for entry in hash_list.entries:
            family = match_family(entry.algorithm)
            if family == "pdq" and entry.quality is not None and entry.quality < self.pdq_quality_floor:
                where = f"frame at {entry.timestamp:g} s: " if entry.timestamp is not None else ""
                skipped_quality.append((entry.entry_id, f"{where}PDQ quality {entry.quality} is under the floor "
                                                        f"{self.pdq_quality_floor}: not matched"))
                continue
            tmk = entry.algorithm == "tmk" and entry.hex in hash_list.tmk_files
            if entry.algorithm not in EXACT_ALGORITHMS and entry.algorithm not in HASH_BITS and not tmk:
                unmatchable[entry.algorithm] = unmatchable.get(entry.algorithm, 0) + 1
                continue  # no entry number for what cannot be matched
            k = local.setdefault(entry.entry_id, len(local))
            if k == len(categories):
                categories.append(entry.category)
            if entry.algorithm in EXACT_ALGORITHMS:
                exact.append((entry.algorithm, entry.hex, k))
            elif tmk:
                tmks.append((k, hash_list.tmk_files[entry.hex]))
            elif entry.algorithm in HASH_BITS:  # every PDQ dialect goes into the one PDQ table
                rows, numbers, times = batches.setdefault(family, ([], [], []))
                rows.append(bytes.fromhex(entry.hex))
                numbers.append(k)
                times.append(np.nan if entry.timestamp is None else entry.timestamp)
                if entry.timestamp is not None:
                    frame_times.setdefault(k, set()).add(entry.timestamp)
        if report is not None:
            report.unmatched += skipped_quality
            if skipped_quality:
                report.notes.append(f"{plural(len(skipped_quality), 'PDQ entry', 'PDQ entries')} with quality under "
                                    f"{self.pdq_quality_floor} not matched (named above)")
            for algorithm, count in unmatchable.items():
                if not any(algorithm.lower() in note.lower() for note in report.notes):  # say it once
                    report.notes.append(f"{plural(count, f'{algorithm} entry', f'{algorithm} entries')} kept in the "
                                        f"list but cannot be matched by this tool")
        if not exact and not batches and not tmks:
            why = [f"{plural(len(skipped_quality), 'PDQ entry', 'PDQ entries')} under the quality floor "
                   f"{self.pdq_quality_floor}"] if skipped_quality else []
            why += [f"{plural(n, f'{a} entry', f'{a} entries')} of an algorithm this tool cannot match"
                    for a, n in unmatchable.items()]
            raise EmptyListError(f"list {hash_list.name!r}: no entry can be matched"
                                 + (f" ({'; '.join(why)})" if why else " (the list is empty)"), report)
        with self._lock:
            self._check_new(hash_list.name)
            first = self._entries.append(hash_list.name, Ids.explicit(list(local)), self._entries.encode(categories, len(categories)))
            for algorithm, value, k in exact:
                self._exact[algorithm].setdefault(value, []).append(first + k)
            for family, (rows, numbers, times) in batches.items():
                packed = np.frombuffer(b"".join(rows), np.uint8).reshape(len(rows), -1)
                self._add_rows(family, packed, first + np.asarray(numbers, np.int64),
                               np.asarray(times, np.float32) if frame_times else None)
            for k, stamps in frame_times.items():
                self._video_frames[first + k] = len(stamps)
            self._tmk.add([(first + k, data) for k, data in tmks])

    def add_hashes(
        self,
        list_name: str,
        algorithm: str,
        rows: np.ndarray,
        entry_ids: Sequence[str] | None = None,
        categories: str | Sequence[str | None] | None = None,
        qualities: Sequence[int] | np.ndarray | None = None,
    ) -> int:
        """Add a list given as packed rows (uint8, n x bytes of the hash, hex byte order), one
        entry per row; returns the number of entries added.

        ``entry_ids`` default to ``"{list_name}:{n}"`` (n = 1 for the first row), which costs no
        memory; ``categories`` is one category for every row or one per row; with ``qualities``,
        PDQ rows under ``pdq_quality_floor`` are left out, as ``add_list`` does. A list is added
        once, whole (``ValueError`` for a name already in the index).

        >>> index.add_hashes("export-2024", "pdq", np.load("export.npy"), categories="1")  # doctest: +SKIP
        """
        width = HASH_BITS[algorithm] // 8 if algorithm in HASH_BITS else _EXACT_BYTES.get(algorithm)
        if width is None:
            raise ValueError(f"unknown algorithm {algorithm!r}")
        rows = np.asarray(rows)
        if rows.dtype != np.uint8 or rows.ndim != 2 or rows.shape[1] != width:
            raise ValueError(f"{algorithm} rows must be a uint8 array of shape (n, {width}), got {rows.dtype} {rows.shape}")
        count = len(rows)
        codes = self._entries.encode(categories, count)
        if entry_ids is not None and len(entry_ids) != count:
            raise ValueError(f"{len(entry_ids)} entry ids for {count} rows")
        kept: np.ndarray | None = None
        if qualities is not None and match_family(algorithm) == "pdq":
            quality = np.asarray(qualities)
            if quality.shape != (count,):
                raise ValueError(f"{quality.size} qualities for {count} rows")
            if (quality < self.pdq_quality_floor).any():
                kept = np.flatnonzero(quality >= self.pdq_quality_floor)
                rows, codes = rows[kept], codes[kept]
        if entry_ids is not None:
            ids = Ids.explicit(entry_ids if kept is None else [entry_ids[i] for i in kept])
        else:
            ids = Ids(len(rows), numbers=None if kept is None else (kept + 1).astype(np.uint32))
        with self._lock:
            self._check_new(list_name)
            first = self._entries.append(list_name, ids, codes)
            numbers = np.arange(first, first + len(rows), dtype=np.int64)
            if algorithm in EXACT_ALGORITHMS:
                table = self._exact[algorithm]
                for value, number in zip(rows, numbers.tolist()):
                    table.setdefault(value.tobytes().hex(), []).append(number)
            else:
                self._add_rows(match_family(algorithm), rows, numbers)
        return len(rows)

    def _check_new(self, name: str) -> None:
        if name in self._entries.names:
            raise ValueError(f"a list named {name!r} is in the index already")

    def _add_rows(self, family: str, rows: np.ndarray, numbers: np.ndarray, times: np.ndarray | None = None) -> None:
        """Append rows with their entry numbers and, for listed video frames, their times."""
        if len(rows):
            table = self._perceptual.setdefault(family, new_table(family))
            before = len(table)
            if times is not None or family in self._times:
                old = self._times.get(family, np.full(before, np.nan, np.float32))
                new = np.full(len(rows), np.nan, np.float32) if times is None else np.asarray(times, np.float32)
                self._times[family] = np.concatenate([old, new])
            table.add(np.ascontiguousarray(rows, dtype=np.uint8), numbers)

    def __len__(self) -> int:
        return len(self._entries)

    @property
    def lists(self) -> list[str]:
        return list(self._entries.names)

    @property
    def algorithms(self) -> list[str]:
        """The algorithms that have entries (perceptual and exact)."""
        return sorted([a for a, t in self._perceptual.items() if len(t)] + [a for a, t in self._exact.items() if t]
                      + (["tmk"] if len(self._tmk) else []))

    def idle_tables(self, algorithms: Iterable[str]) -> dict[str, int]:
        """``{algorithm: rows}`` of the tables no picture hashed with ``algorithms`` can match
        (digests are always computed; a video's frames are always PDQ)."""
        families = {match_family(a) for a in algorithms}
        if "pdq" in families and self.robust:
            families.add("pdq-robust")
        return {family: len(table) for family, table in sorted(self._perceptual.items())
                if len(table) and family not in families}

    def idle_note(self, algorithms: Iterable[str]) -> str | None:
        """A sentence for the user when ``idle_tables(algorithms)`` is not empty, else None."""
        idle = self.idle_tables(algorithms)
        if not idle:
            return None
        tables = ", ".join(f"{algorithm} ({plural(rows, 'row')})" for algorithm, rows in idle.items())
        hashed = ",".join(a for a in algorithms if a in HASH_BITS)
        add = ",".join(dict.fromkeys("pdq" if a == "pdq-robust" else a for a in idle))
        return (f"pictures are hashed with {hashed or 'digests only'}, so the lists' {tables} cannot match them"
                + (" (a video's frames, always PDQ, still can)" if "pdq" in idle else "")
                + f"; add {add} to --algo, or leave --algo out")

    def nbytes(self) -> dict[str, int]:
        """Bytes held in arrays, by part: each table's hashes and per-row entry numbers, the
        entries' category codes and ids. Exact-hash sets (Python dicts) are not counted."""
        parts: dict[str, int] = {}
        for family, table in self._perceptual.items():
            parts[f"{family} hashes"] = table.hash_bytes
            parts[f"{family} entry numbers"] = table.entries.nbytes
        parts["entry categories"] = self._entries.codes.nbytes
        parts["entry ids"] = sum(ids.nbytes for ids in self._entries.ids)
        if len(self._tmk):
            parts["tmk features"] = self._tmk.means.nbytes + self._tmk.cos.nbytes + self._tmk.sin.nbytes
        return parts

    # ----------------------------------------------------------------------------- matching

    def match(self, query: Mapping[str, Any], *, variants: Sequence[Hash] = ()) -> list[dict[str, Any]]:
        """Matches of one file record (or ``{name: Hash}``), nearest first.

        Every PDQ dialect the query carries (``pdq``, ``pdq-thumb512``, ``pdq-nearest512``) probes
        the PDQ entries of every list, so a picture listed by any of those tools is found; the
        match names the dialect that came closest. ``variants``: extra PDQ hashes of the same
        picture (e.g. ``pdq_dihedral``) to query too.
        """
        return self.match_many([query], variants=[list(variants)])[0]

    def match_many(
        self, queries: Sequence[Mapping[str, Any]], *, variants: Sequence[Sequence[Hash]] | None = None
    ) -> list[list[dict[str, Any]]]:
        """``match`` for many queries at once (one search per algorithm)."""
        found: list[dict[tuple[int, str], tuple[int, str, float | None]]] = [{} for _ in queries]
        for qi, query in enumerate(queries):
            for algorithm in EXACT_ALGORITHMS:
                value = query.get(algorithm)
                if isinstance(value, str):
                    for entry in self._exact[algorithm].get(value.lower(), ()):
                        self._note(found[qi], entry, algorithm, algorithm, 0)
        for family, table in self._perceptual.items():
            rows, owners, names = self._query_rows(queries, family, variants)
            if not owners or len(table) == 0:
                continue
            lims, distances, labels = table.search(np.stack(rows), self.thresholds[family], self.threads)
            entries, times = table.entries[labels], self._listed_times(family, labels)
            for r in np.flatnonzero(lims[1:] > lims[:-1]).tolist():
                for k in range(lims[r], lims[r + 1]):
                    self._note(found[owners[r]], int(entries[k]), family, names[r], int(distances[k]), times[k])
        if self.robust:
            self._match_robust(queries, found)
        out = []
        for query, f in zip(queries, found):
            frames = query.get("frames")
            out.append(self._as_matches(f) + (self._match_frames(frames) if isinstance(frames, list) and frames else [])
                       + self._tmk.match_record(query, self._entries.describe))
        return out

    def _match_robust(self, queries: Sequence[Mapping[str, Any]], found: list[dict[tuple[int, str], tuple[int, str, float | None]]]) -> None:
        """The robust rule (``robust.py``): a query's rotations/flips of its plain PDQ (the first
        ``DIHEDRAL - 1`` robust rows) against listed PDQ at PDQ's own threshold (PDQ-dihedral's
        rule: robust never finds less), its robust variants against listed PDQ, and its plain PDQ
        and variants against listed pictures' derived rows, the last two at the robust threshold."""
        variants, owners, turned, turned_owners = [], [], [], []
        for qi, query in enumerate(queries):
            rows = (query.get("robust") or {}).get("query") if isinstance(query.get("robust"), Mapping) else None
            for k, value in enumerate(rows or ()):
                h = _as_hash("pdq", value)
                if h is not None and (h.quality is None or h.quality >= self.pdq_quality_floor):
                    variants.append(h.to_array())
                    owners.append(qi)
                    if k < ROBUST_DIHEDRAL - 1:
                        turned.append(variants[-1])
                        turned_owners.append(qi)
        table = self._perceptual.get("pdq")
        if turned and table is not None and len(table):
            lims, distances, labels = table.search(np.stack(turned), self.thresholds["pdq"], self.threads)
            entries = table.entries[labels]
            for r in np.flatnonzero(lims[1:] > lims[:-1]).tolist():
                for k in range(lims[r], lims[r + 1]):
                    self._note(found[turned_owners[r]], int(entries[k]), "pdq", "pdq-dihedral", int(distances[k]))
        threshold = self.thresholds["pdq-robust"]
        probes = [(variants, owners)]
        if "pdq-robust" in self._perceptual:
            plain_rows, plain_owners, names = self._query_rows(queries, "pdq", None)
            keep = [i for i, name in enumerate(names) if name == "pdq"]
            probes.append(([plain_rows[i] for i in keep] + variants, [plain_owners[i] for i in keep] + owners))
        for family, (rows, who) in zip(("pdq", "pdq-robust"), probes):
            table = self._perceptual.get(family)
            if not rows or table is None or not len(table):
                continue
            lims, distances, labels = table.search(np.stack(rows), threshold, self.threads)
            entries = table.entries[labels]
            for r in np.flatnonzero(lims[1:] > lims[:-1]).tolist():
                for k in range(lims[r], lims[r + 1]):
                    self._note(found[who[r]], int(entries[k]), "pdq-robust", "pdq-robust", int(distances[k]))

    def _listed_times(self, family: str, labels: np.ndarray) -> list[float | None]:
        """The listed video frame time of each hit row (None for a listed picture)."""
        times = self._times.get(family)
        if times is None:
            return [None] * len(labels)
        return [None if t != t else float(t) for t in times[labels].tolist()]  # NaN: a picture

    def _match_frames(self, frames: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
        """A query video's matches, vPDQ's rule: listed videos whose share of matching frames
        passes the thresholds (``algorithm: "vpdq"``), and listed pictures a frame matches."""
        table = self._perceptual.get("pdq")
        if table is None or not len(table):
            return []
        probes: list[np.ndarray] = []
        owners: list[int] = []
        usable: list[float] = []  # times of the query frames over the quality floor
        for frame in frames:
            hashes = [Hash.from_hex("pdq", frame[key]) for key, quality in (("pdq", "quality"), ("pdq_trimmed", "quality_trimmed"))
                      if isinstance(frame.get(key), str) and (frame.get(quality) or 0) >= self.pdq_quality_floor]
            if hashes:
                probes += [h.to_array() for h in hashes]
                owners += [len(usable)] * len(hashes)
                usable.append(float(frame["timestamp"]))
        if not probes:
            return []
        threshold = self.thresholds["pdq"]
        lims, distances, labels = table.search(np.stack(probes), threshold, self.threads)
        entries, times = table.entries[labels].tolist(), self._listed_times("pdq", labels)
        hits = [(owners[r], entries[k], times[k], int(distances[k]))
                for r in range(len(probes)) for k in range(lims[r], lims[r + 1])]
        results = aggregate_frame_hits(usable, hits, self._video_frames, query_share=self.video_query_share,
                                       listed_share=self.video_listed_share)
        matches: dict[tuple[str, str], dict[str, Any]] = {}
        for entry, result in results.items():
            list_name, entry_id, category = self._entries.describe(entry)
            match = {"list": list_name, "entry_id": entry_id, "category": category,
                     "algorithm": "vpdq" if "query_share" in result else "pdq", "threshold": threshold, **result}
            key = (list_name, entry_id)
            if key not in matches or match["distance"] < matches[key]["distance"]:
                matches[key] = match
        return sorted(matches.values(), key=lambda m: (m["distance"], m["list"], m["entry_id"]))

    def _query_rows(
        self, queries: Sequence[Mapping[str, Any]], family: str, variants: Sequence[Sequence[Hash]] | None
    ) -> tuple[list[np.ndarray], list[int], list[str]]:
        """The query hashes that probe one table: for PDQ, every dialect the query carries."""
        rows: list[np.ndarray] = []
        owners: list[int] = []
        names: list[str] = []
        for qi, query in enumerate(queries):
            hashes = query.get("hashes", query)
            candidates: list[Hash] = []
            if isinstance(hashes, Mapping):
                for name, value in hashes.items():
                    if isinstance(name, str) and name in HASH_BITS and match_family(name) == family:
                        h = _as_hash(name, value)
                        if h is not None:
                            candidates.append(h)
            if family == "pdq" and variants is not None and qi < len(variants):
                candidates += [v for v in variants[qi] if match_family(v.algorithm) == "pdq"]
            for c in candidates:
                if family == "pdq" and c.quality is not None and c.quality < self.pdq_quality_floor:
                    continue  # too flat a picture for PDQ to say anything
                rows.append(c.to_array())
                owners.append(qi)
                names.append(c.algorithm)
        return rows, owners, names

    @staticmethod
    def _note(found: dict[tuple[int, str], tuple[int, str, float | None]], entry: int, family: str, name: str,
              distance: int, listed_time: float | None = None) -> None:
        key = (entry, family)
        if key not in found or distance < found[key][0]:
            found[key] = (distance, name, listed_time)

    def _as_matches(self, found: dict[tuple[int, str], tuple[int, str, float | None]]) -> list[dict[str, Any]]:
        best: dict[tuple[str, str, str], dict[str, Any]] = {}  # entries given the same id twice count once
        for (entry, family), (distance, name, listed_time) in found.items():
            list_name, entry_id, category = self._entries.describe(entry)
            key = (list_name, entry_id, family)
            if key not in best or distance < best[key]["distance"]:
                best[key] = {"list": list_name, "entry_id": entry_id, "category": category, "algorithm": name,
                             "distance": distance, "threshold": self.thresholds.get(family, 0)}
                if listed_time is not None:  # a picture that is a frame of a listed video
                    best[key]["listed_timestamp"] = listed_time
        return sorted(best.values(), key=lambda m: (m["distance"], m["list"], m["entry_id"], m["algorithm"]))

    # ----------------------------------------------------------------------------- persistence

    def save(self, directory: str | Path) -> None:
        """Write the index to a folder: NumPy arrays, JSON, and a manifest of SHA-256 sums."""
        folder = Path(directory)
        folder.mkdir(parents=True, exist_ok=True)
        files: dict[str, str] = {}

        def put_array(name: str, array: np.ndarray) -> None:
            np.save(folder / name, array, allow_pickle=False)
            files[name] = _sha256(folder / name)

        entries = self._entries
        lists = []
        for i, (name, ids) in enumerate(zip(entries.names, entries.ids)):
            lists.append({"name": name, "entries": ids.count, "ids": ids.kind})
            for part in ("blob", "offsets", "numbers", "values"):
                if getattr(ids, part) is not None:
                    put_array(f"list{i}.ids_{part}.npy", getattr(ids, part))
        put_array("entries.categories.npy", entries.codes)
        for algorithm, table in self._perceptual.items():
            put_array(f"{algorithm}.rows.npy", table.rows)
            put_array(f"{algorithm}.entries.npy", table.entries)
            if algorithm in self._times:
                put_array(f"{algorithm}.times.npy", self._times[algorithm])
        if self._video_frames:
            put_array("video.entries.npy", np.fromiter(self._video_frames, np.uint32, len(self._video_frames)))
            put_array("video.frames.npy", np.fromiter(self._video_frames.values(), np.uint32, len(self._video_frames)))
        self._tmk.save(put_array)
        for algorithm, exact in self._exact.items():
            values = sorted(exact)
            packed = np.frombuffer(b"".join(bytes.fromhex(v) for v in values), np.uint8).reshape(-1, _EXACT_BYTES[algorithm])
            put_array(f"{algorithm}.values.npy", packed)
            put_array(f"{algorithm}.counts.npy", np.asarray([len(exact[v]) for v in values], dtype=np.int64))
            put_array(f"{algorithm}.entries.npy", np.asarray([m for v in values for m in exact[v]], dtype=np.uint32))
        manifest = {
            "format": "ocsea-match-index", "version": _FORMAT_VERSION, "lists": lists,
            "categories": entries.vocabulary, "thresholds": self.thresholds,
            "pdq_quality_floor": self.pdq_quality_floor, "perceptual": sorted(self._perceptual),
            "video_query_share": self.video_query_share, "video_listed_share": self.video_listed_share,
            "robust": self.robust, "files": files,
        }
        (folder / "manifest.json").write_text(json.dumps(manifest, indent=1, ensure_ascii=False), encoding="utf-8")

    @classmethod
    def load(cls, directory: str | Path, *, threads: int = 0) -> HashIndex:
        """Read a folder written by ``save``; ``IndexFileError`` if anything is missing or altered."""
        folder = Path(directory)
        try:
            manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise IndexFileError(f"{folder}: no readable manifest.json ({exc})") from None
        if not isinstance(manifest, dict) or not isinstance(manifest.get("files", {}), dict):
            raise IndexFileError(f"{folder}: manifest.json is not an ocsea-match index manifest")
        if manifest.get("format") != "ocsea-match-index" or manifest.get("version") != _FORMAT_VERSION:
            raise IndexFileError(f"{folder}: not an ocsea-match index of version {_FORMAT_VERSION} "
                                 f"(found version {manifest.get('version')!r}; build it again from its lists)")
        files: dict[str, str] = manifest.get("files", {})
        for name, digest in files.items():
            path = folder / name
            if Path(name).name != name or not path.is_file() or _sha256(path) != digest:
                raise IndexFileError(f"{path}: missing, corrupt or altered (SHA-256 differs from the manifest)")
        try:
            index = _Loader(folder, files, threads).index(manifest)
        except IndexFileError:
            raise
        except Exception as exc:  # noqa: BLE001 - whatever an altered file makes fail is a refused index
            raise IndexFileError(f"{folder}: inconsistent index ({type(exc).__name__}: {exc})") from None
        if not len(index) or not index.algorithms:
            raise IndexFileError(f"{folder}: the index holds no entry that can be matched; build it again from lists "
                                 "that have usable entries")
        return index


def open_index(index_dir: str | Path | None = None, *, pdq_quality_floor: int | None = None, **options: Any) -> HashIndex:
    """A saved index (``index_dir``) or a new empty one, with the PDQ quality floor asked for.

    A saved index keeps the floor it was built with (entries under it are not in it): asking for
    another one is a ``ValueError``; ``None`` takes the index's own (a new index: 50).

    >>> index = open_index("known.idx", pdq_quality_floor=70)  # doctest: +SKIP
    """
    if index_dir is None:
        return HashIndex(pdq_quality_floor=DEFAULT_PDQ_QUALITY_FLOOR if pdq_quality_floor is None else pdq_quality_floor,
                         **options)
    index = HashIndex.load(index_dir, **options)
    if pdq_quality_floor is not None and check_quality_floor(pdq_quality_floor) != index.pdq_quality_floor:
        raise ValueError(f"{index_dir} was built with the PDQ quality floor {index.pdq_quality_floor}, not "
                         f"{pdq_quality_floor}: build it again with --pdq-quality-floor {pdq_quality_floor}, or leave "
                         "the option out")
    return index


class _Loader:
    """Rebuilds a HashIndex from a checked folder, refusing arrays that do not fit together."""

    def __init__(self, folder: Path, files: Mapping[str, str], threads: int) -> None:
        self.folder, self.files, self.threads = folder, files, threads

    def array(self, name: str, ndim: int = 1) -> np.ndarray:
        if name not in self.files:
            raise IndexFileError(f"{self.folder}: the manifest does not list {name}")
        array = read_npy(self.folder / name)
        if array.ndim != ndim or array.dtype.kind not in "ui":
            raise IndexFileError(f"{self.folder}: {name} is not an integer array of {ndim} dimension(s)")
        return array

    def fail(self, what: str) -> IndexFileError:
        return IndexFileError(f"{self.folder}: {what}")

    def index(self, manifest: Mapping[str, Any]) -> HashIndex:
        try:  # an index saved before the floor was a setting was built with 50
            thresholds = {k: v for k, v in manifest["thresholds"].items() if k in DEFAULT_THRESHOLDS}
            floor = manifest.get("pdq_quality_floor", DEFAULT_PDQ_QUALITY_FLOOR)
            check_thresholds(thresholds), check_quality_floor(floor)
        except (AttributeError, ValueError) as exc:
            raise self.fail(f"the manifest's settings are not usable ({exc})") from None
        index = HashIndex(thresholds=thresholds, pdq_quality_floor=floor, threads=self.threads,
                          video_query_share=float(manifest.get("video_query_share", VIDEO_DEFAULTS["query_share"])),
                          video_listed_share=float(manifest.get("video_listed_share", VIDEO_DEFAULTS["listed_share"])),
                          robust=bool(manifest.get("robust", True)))
        entries = index._entries
        entries.vocabulary = list(manifest["categories"])
        if not entries.vocabulary or entries.vocabulary[0] is not None or not all(isinstance(c, str) for c in entries.vocabulary[1:]):
            raise self.fail("the category vocabulary is malformed")
        entries._code_of = {c: i for i, c in enumerate(entries.vocabulary)}
        for i, item in enumerate(manifest["lists"]):
            entries.names.append(str(item["name"]))
            entries.ids.append(self.ids(i, int(item["entries"]), item["ids"]))
            entries.starts.append(entries.starts[-1] + int(item["entries"]))
        entries.codes = self.array("entries.categories.npy")
        if len(entries.codes) != len(entries) or (len(entries.codes) and int(entries.codes.max()) >= len(entries.vocabulary)):
            raise self.fail("entry categories do not fit the entries")
        for algorithm in manifest["perceptual"]:
            family_bits = HASH_BITS[algorithm]
            rows, numbers = self.array(f"{algorithm}.rows.npy", 2), self.array(f"{algorithm}.entries.npy")
            if rows.shape[1] != family_bits // 8 or len(numbers) != len(rows) or rows.dtype != np.uint8:
                raise self.fail(f"{algorithm} rows and entries do not fit together")
            self.check_numbers(numbers, len(entries), algorithm)
            times = None
            if f"{algorithm}.times.npy" in self.files:
                times = read_npy(self.folder / f"{algorithm}.times.npy")
                if times.dtype != np.float32 or times.shape != (len(rows),):
                    raise self.fail(f"{algorithm} frame times do not fit its rows")
            index._add_rows(algorithm, rows, numbers, times)
        if "video.entries.npy" in self.files:
            videos, counts = self.array("video.entries.npy"), self.array("video.frames.npy")
            if len(videos) != len(counts):
                raise self.fail("listed videos and their frame counts do not fit together")
            self.check_numbers(videos, len(entries), "video")
            index._video_frames = dict(zip(videos.tolist(), counts.tolist()))
        index._tmk = TMKTable.load(self.folder, self.files, len(entries))
        for algorithm in EXACT_ALGORITHMS:
            values, counts, numbers = self.array(f"{algorithm}.values.npy", 2), self.array(f"{algorithm}.counts.npy"), self.array(f"{algorithm}.entries.npy")
            if values.shape[1] != _EXACT_BYTES[algorithm] or len(counts) != len(values) or int(counts.sum()) != len(numbers):
                raise self.fail(f"{algorithm} values and entries do not fit together")
            self.check_numbers(numbers, len(entries), algorithm)
            starts = np.concatenate([[0], np.cumsum(counts)])
            index._exact[algorithm] = {
                values[i].tobytes().hex(): numbers[starts[i]:starts[i + 1]].tolist() for i in range(len(values))
            }
        return index

    def ids(self, i: int, count: int, kind: str) -> Ids:
        if kind == "numeric":
            values = self.array(f"list{i}.ids_values.npy")
            if len(values) != count or values.dtype != np.int64 or (count and int(values.min()) < 0):
                raise self.fail(f"the numeric entry ids of list {i} do not fit its entries")
            return Ids(count, values=values)
        if kind == "explicit":
            blob, offsets = self.array(f"list{i}.ids_blob.npy"), self.array(f"list{i}.ids_offsets.npy")
            if (len(offsets) != count + 1 or offsets[0] != 0 or int(offsets[-1]) != len(blob)
                    or (np.diff(offsets.astype(np.int64)) < 0).any()):
                raise self.fail(f"the entry ids of list {i} do not fit their offsets")
            try:
                blob.tobytes().decode("utf-8")
            except UnicodeDecodeError:
                raise self.fail(f"the entry ids of list {i} are not UTF-8") from None
            return Ids(count, blob.astype(np.uint8), offsets)
        if kind == "generated":
            numbers = self.array(f"list{i}.ids_numbers.npy") if f"list{i}.ids_numbers.npy" in self.files else None
            if numbers is not None and len(numbers) != count:
                raise self.fail(f"the entry numbers of list {i} do not fit its entries")
            return Ids(count, numbers=numbers)
        raise self.fail(f"list {i} has ids of an unknown kind {kind!r}")

    def check_numbers(self, numbers: np.ndarray, total: int, algorithm: str) -> None:
        if len(numbers) and (int(numbers.min()) < 0 or int(numbers.max()) >= total):
            raise self.fail(f"{algorithm} rows name entries the index does not have")


def _as_hash(algorithm: str, value: Any) -> Hash | None:
    """A query hash from a record's ``{"hex", "quality"}``, a ``Hash`` or a hex string."""
    if isinstance(value, Hash):
        return value if value.algorithm == algorithm else None
    if isinstance(value, Mapping) and isinstance(value.get("hex"), str):
        return Hash.from_hex(algorithm, value["hex"], value.get("quality"))
    if isinstance(value, str):
        return Hash.from_hex(algorithm, value)
    return None
