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

Where things are: the tables and entries (``IndexParts``) are ``_index_store.py``'s, the folder
``_index_files.py``'s, adding a PDQ list read as columns ``_index_columns.py``'s; the probes are
this module's plain hashes, ``robust_match.py`` (exact too, but through ``robust_search.py``'s
substring tables, not a scan) and ``video_match.py`` (vPDQ frames) and ``tmk_lists.py``; what a
match is, and the walk over search results, ``matches.py``.

>>> from ocsea_match.formats import HashList, ListEntry
>>> known = HashList("known_list", [ListEntry("A1", "pdq", "f8f8f0cee0f4a84f06370a22038f63f0b36e2ed596621e1d33e6b39c4e9c9b22", "1")])
>>> index, reports = HashIndex.from_lists([known])
>>> index.match({"hashes": {"pdq": {"hex": "f8f8f0cee0f4a84f06370a22038f63f0b36e2ed596621e1d33e6b39c4e9c9b23", "quality": 100}}})
[{'list': 'known_list', 'entry_id': 'A1', 'category': '1', 'algorithm': 'pdq', 'distance': 1, 'threshold': 31}]
>>> index.add_hashes("export", "pdq", np.zeros((3, 32), np.uint8))  # rows: uint8 (n, 32), hex byte order
3
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np

from ._index_files import IndexFileError, load_parts, save_parts
from ._index_store import Ids, IndexParts
from ._wording import idle_sentence, plural
from .algorithms import EXACT
from .formats import EmptyListError, HashList, LoadReport, load_list
from .hashes import HASH_BITS, Hash, match_family
from .matches import Found, Match, as_hash, best_matches, hits, note
from .plain_search import prepare as prepare_plain, search_pdq
from .robust_match import match_robust, prepare_robust, robust_nbytes
from .thresholds import DEFAULT_PDQ_QUALITY_FLOOR, DEFAULT_THRESHOLDS, check_quality_floor, check_thresholds
from .video_match import VIDEO_DEFAULTS, match_frames

__all__ = ["HashIndex", "IndexFileError", "DEFAULT_THRESHOLDS", "EXACT_ALGORITHMS", "Match", "open_index"]

#: The digests matched by equality (``algorithms.EXACT``).
EXACT_ALGORITHMS = EXACT
#: Settings a saved index keeps in its manifest besides thresholds and the quality floor.
_SAVED_SETTINGS = ("video_query_share", "video_listed_share", "robust")


# --------------------------------------------------------------------------------------------- the index


class HashIndex:
    """Known-material hashes from any number of lists, matched by threshold.

    Build it (``add_list`` / ``from_lists``, or ``add_hashes`` for large packed exports), then
    query it from as many threads as you like (``match`` / ``match_many``); adding while querying
    is not supported. ``threads``: OpenMP threads of one PDQ search (0: OpenMP's default; 1 for a
    service that runs many queries on threads of its own). ``thresholds`` outside the ranges of
    ``thresholds.MAX_THRESHOLDS`` and a ``pdq_quality_floor`` outside 0-100 raise ``ValueError``.
    ``substring_search``: PDQ queries through ``plain_search``'s tables (same hits, far faster on
    big lists, +64 bytes a PDQ row; built on the first query, or by ``prepare``) instead of a scan.
    """

    def __init__(
        self, thresholds: Mapping[str, int] | None = None, pdq_quality_floor: int = DEFAULT_PDQ_QUALITY_FLOOR, threads: int = 0,
        video_query_share: float = VIDEO_DEFAULTS["query_share"], video_listed_share: float = VIDEO_DEFAULTS["listed_share"],
        robust: bool = True, substring_search: bool = False,
    ) -> None:
        self.thresholds = {**DEFAULT_THRESHOLDS, **check_thresholds(thresholds)}
        self.pdq_quality_floor = check_quality_floor(pdq_quality_floor)
        self.threads = threads
        self.video_query_share = video_query_share
        self.video_listed_share = video_listed_share
        self.robust = robust
        self.substring_search = substring_search  # plain PDQ through substring tables (plain_search)
        #: what the index holds (``_index_store.IndexParts``); changed only through ``new_list``
        self.parts = IndexParts()
        self._lock = threading.Lock()

    @classmethod
    def from_parts(cls, parts: IndexParts, **settings: Any) -> HashIndex:
        """An index holding ``parts`` (``_index_files.load_parts``), with ``HashIndex(...)``'s settings."""
        index = cls(**settings)
        index.parts = parts
        return index

    @contextmanager
    def new_list(self, name: str) -> Iterator[IndexParts]:
        """The parts, to add one list's entries and rows to, under the index's lock; ``ValueError``
        for a name already in the index. Package-internal: ``add_list``, ``add_hashes`` and
        ``_index_columns.add_columns`` add through it."""
        with self._lock:
            if name in self.parts.entries.names:
                raise ValueError(f"a list named {name!r} is in the index already")
            yield self.parts

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
        entries and report, but a PDQ list goes straight into the index's columns (``formats.columnar``),
        a VICS, JSONL, md5sum, hashdeep or NSRL list a batch at a time (``formats.streaming``).

        >>> import pathlib, tempfile
        >>> path = pathlib.Path(tempfile.mkdtemp()) / "known_list.csv"
        >>> _ = path.write_text("hash,id,category\\n%s,A1,1\\nnot a hash,A2,1\\n" % ("ab" * 32))
        >>> report = HashIndex().add_list_file(path)
        >>> report.loaded, report.problems
        (1, [(3, "not a 64-character PDQ hash: 'not a hash'")])
        """
        from ._index_columns import add_streamed
        from .formats.columnar import read_columns

        columns = read_columns(path, strict=strict)
        if columns is None:
            streamed = add_streamed(self, path, strict=strict)  # None: not a list it streams
            if streamed is not None:
                return streamed
            hash_list, report = load_list(path, strict=strict)
            self.add_list(hash_list, report)
            return report
        return self.add_columns(columns)

    def add_columns(self, columns: Any) -> LoadReport:
        """Add a PDQ list read into columns (``formats.columnar.read_columns``, or a shard's slice)."""
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
            if entry.algorithm not in EXACT and entry.algorithm not in HASH_BITS and not tmk:
                unmatchable[entry.algorithm] = unmatchable.get(entry.algorithm, 0) + 1
                continue  # no entry number for what cannot be matched
            k = local.setdefault(entry.entry_id, len(local))
            if k == len(categories):
                categories.append(entry.category)
            if entry.algorithm in EXACT:
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
        with self.new_list(hash_list.name) as parts:
            first = parts.entries.append(hash_list.name, Ids.explicit(list(local)), parts.entries.encode(categories, len(categories)))
            for algorithm in EXACT:
                picked = [(value, k) for a, value, k in exact if a == algorithm]
                if picked:
                    parts.exact[algorithm].add_hex([v for v, _ in picked], first + np.asarray([k for _, k in picked], np.int64))
            for family, (rows, numbers, times) in batches.items():
                packed = np.frombuffer(b"".join(rows), np.uint8).reshape(len(rows), -1)
                parts.add_rows(family, packed, first + np.asarray(numbers, np.int64),
                               np.asarray(times, np.float32) if frame_times else None)
            for k, stamps in frame_times.items():
                parts.video_frames[first + k] = len(stamps)
            parts.tmk.add([(first + k, data) for k, data in tmks])

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

        >>> HashIndex().add_hashes("export-2024", "pdq", np.zeros((2, 32), np.uint8), categories="1")
        2
        """
        from ._index_columns import add_packed

        return add_packed(self, list_name, algorithm, rows, entry_ids, categories, qualities)

    def __len__(self) -> int:
        return len(self.parts.entries)

    def list_sizes(self) -> dict[str, int]:
        """``{list name: its number of entries}``."""
        return self.parts.entries.sizes()

    @property
    def lists(self) -> list[str]:
        return list(self.parts.entries.names)

    @property
    def algorithms(self) -> list[str]:
        """The algorithms that have entries (perceptual and exact)."""
        return sorted([a for a, t in self.parts.perceptual.items() if len(t)] + [a for a, t in self.parts.exact.items() if t]
                      + (["tmk"] if len(self.parts.tmk) else []))

    def idle_tables(self, algorithms: Iterable[str]) -> dict[str, int]:
        """``{algorithm: rows}`` of the tables no picture hashed with ``algorithms`` can match
        (digests are always computed; a video's frames are always PDQ)."""
        families = {match_family(a) for a in algorithms}
        if "pdq" in families and self.robust:
            families.add("pdq-robust")
        return {family: len(table) for family, table in sorted(self.parts.perceptual.items())
                if len(table) and family not in families}

    def idle_note(self, algorithms: Iterable[str]) -> str | None:
        """A sentence for the user when ``idle_tables(algorithms)`` is not empty, else None."""
        return idle_sentence(self.idle_tables(algorithms), algorithms)

    def nbytes(self) -> dict[str, int]:
        """Bytes held in arrays, by part: each table's hashes and per-row entry numbers, the
        entries' category codes and ids, and each digest algorithm's sorted digests with their entry numbers."""
        parts: dict[str, int] = {}
        for family, table in self.parts.perceptual.items():
            parts[f"{family} hashes"] = table.hash_bytes
            parts[f"{family} entry numbers"] = table.entries.nbytes
        if (self.robust or self.substring_search) and robust_nbytes(self.parts):  # substring tables, once built
            parts["substring search tables" if self.substring_search else "robust search tables"] = robust_nbytes(self.parts)
        for algorithm, digests in self.parts.exact.items():
            if len(digests):
                parts[f"{algorithm} digests"] = digests.nbytes_held
        parts["entry categories"] = self.parts.entries.codes.nbytes
        parts["entry ids"] = sum(ids.nbytes for ids in self.parts.entries.ids)
        if len(self.parts.tmk):
            parts["tmk features"] = self.parts.tmk.means.nbytes + self.parts.tmk.cos.nbytes + self.parts.tmk.sin.nbytes
        return parts

    def prepare(self, robust: bool = False) -> None:
        """Build now (a service at load), not on the first query that needs them,
        ``substring_search``'s tables and, when robust matching is on, the robust probe's: when the
        lists carry robust rows, or with ``robust=True`` (robust queries expected against plain lists)."""
        if self.substring_search:
            prepare_plain(self.parts, self.thresholds)
        if self.robust:
            prepare_robust(self.parts, self.thresholds, self.threads, always=robust)

    # ----------------------------------------------------------------------------- matching

    def match(self, query: Mapping[str, Any], *, variants: Sequence[Hash] = ()) -> list[Match]:
        """Matches of one file record (or ``{name: Hash}``), nearest first.

        Every PDQ dialect the query carries (``pdq``, ``pdq-thumb512``, ``pdq-nearest512``) probes
        the PDQ entries of every list, so a picture listed by any of those tools is found; the
        match names the dialect that came closest. ``variants``: extra PDQ hashes of the same
        picture (e.g. ``pdq_dihedral``) to query too.
        """
        return self.match_many([query], variants=[list(variants)])[0]

    def match_many(self, queries: Sequence[Mapping[str, Any]], *, variants: Sequence[Sequence[Hash]] | None = None,
                   threads: int | None = None) -> list[list[Match]]:
        """``match`` for many queries at once (one search per table): the plain probe here, then
        the robust one (``robust_match``), a video's frames (``video_match``) and TMK (``tmk_lists``).
        ``threads``: OpenMP threads of this call's searches (default: the index's ``threads``)."""
        parts, threads = self.parts, self.threads if threads is None else threads
        found: list[Found] = [{} for _ in queries]
        for qi, query in enumerate(queries):
            for algorithm in EXACT:
                value = query.get(algorithm)
                if isinstance(value, str):
                    for entry in parts.exact[algorithm].get(value.lower(), ()):
                        note(found[qi], entry, algorithm, algorithm, 0)
        for family, table in parts.perceptual.items():
            rows, owners, names = self._query_rows(queries, family, variants)
            if not owners or len(table) == 0:
                continue
            if family == "pdq" and self.substring_search:
                lims, distances, labels = search_pdq(parts, np.stack(rows), self.thresholds, threads)
            else:
                lims, distances, labels = table.search(np.stack(rows), self.thresholds[family], threads)
            entries, times = table.entries[labels], parts.listed_times(family, labels)
            for r, k in hits(lims):
                note(found[owners[r]], int(entries[k]), family, names[r], int(distances[k]), times[k])
        if self.robust:
            match_robust(queries, found, parts, thresholds=self.thresholds, quality_floor=self.pdq_quality_floor,
                         threads=threads, plain_rows=lambda: self._query_rows(queries, "pdq", None))
        out = []
        for query, f in zip(queries, found):
            frames = query.get("frames")
            video = (match_frames(frames, parts, threshold=self.thresholds["pdq"], quality_floor=self.pdq_quality_floor,
                                  query_share=self.video_query_share, listed_share=self.video_listed_share,
                                  threads=threads) if isinstance(frames, list) and frames else [])
            out.append(best_matches(f, parts.entries.describe, self.thresholds) + video
                       + parts.tmk.match_record(query, parts.entries.describe))
        return out

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
                        h = as_hash(name, value)
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

    # ----------------------------------------------------------------------------- persistence

    def save(self, directory: str | Path) -> None:
        """Write the index to a folder: NumPy arrays, JSON, and a manifest of SHA-256 sums."""
        save_parts(self.parts, {"thresholds": self.thresholds, "pdq_quality_floor": self.pdq_quality_floor,
                                **{k: getattr(self, k) for k in _SAVED_SETTINGS}}, directory)

    @classmethod
    def load(cls, directory: str | Path, *, threads: int = 0, substring_search: bool = False) -> HashIndex:
        """Read a folder written by ``save``; ``IndexFileError`` if anything is missing or altered."""
        manifest, parts = load_parts(directory)
        try:  # an index saved before the floor was a setting was built with 50
            thresholds = {k: v for k, v in manifest["thresholds"].items() if k in DEFAULT_THRESHOLDS}
            floor = manifest.get("pdq_quality_floor", DEFAULT_PDQ_QUALITY_FLOOR)
            check_thresholds(thresholds), check_quality_floor(floor)
            index = cls.from_parts(
                parts, thresholds=thresholds, pdq_quality_floor=floor, threads=threads,
                video_query_share=float(manifest.get("video_query_share", VIDEO_DEFAULTS["query_share"])),
                video_listed_share=float(manifest.get("video_listed_share", VIDEO_DEFAULTS["listed_share"])),
                robust=bool(manifest.get("robust", True)), substring_search=substring_search)
        except (AttributeError, TypeError, ValueError) as exc:
            raise IndexFileError(f"{Path(directory)}: the manifest's settings are not usable ({exc})") from None
        except KeyError as exc:
            raise IndexFileError(f"{Path(directory)}: inconsistent index (KeyError: {exc})") from None
        if not len(index) or not index.algorithms:
            raise IndexFileError(f"{Path(directory)}: the index holds no entry that can be matched; build it again from lists "
                                 "that have usable entries")
        return index


def open_index(index_dir: str | Path | None = None, *, pdq_quality_floor: int | None = None, **options: Any) -> HashIndex:
    """A saved index (``index_dir``) or a new empty one, with the PDQ quality floor asked for.

    A saved index keeps the floor it was built with (entries under it are not in it): asking for
    another one is a ``ValueError``; ``None`` takes the index's own (a new index: 50).

    >>> import tempfile
    >>> folder = tempfile.mkdtemp()
    >>> built = HashIndex(pdq_quality_floor=70)
    >>> built.add_hashes("known", "pdq", np.zeros((1, 32), np.uint8))
    1
    >>> built.save(folder)
    >>> open_index(folder, pdq_quality_floor=70).pdq_quality_floor
    70
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

