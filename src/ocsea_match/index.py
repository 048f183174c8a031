"""HashIndex: known-material lists indexed for matching, one FAISS binary index per algorithm.

Perceptual hashes (PDQ, pHash ...) go into FAISS binary flat indexes searched with
``range_search`` at each algorithm's threshold, which is exhaustive (recall 1.0); exact hashes
(MD5, SHA-1, SHA-256) into sets. Saved in open formats (NumPy ``.npy`` without pickle, JSON), with
a manifest of SHA-256 sums so that a corrupt or altered index is refused on load.

>>> index, reports = HashIndex.from_lists(["known_list.csv"])  # doctest: +SKIP
>>> index.match(ocsea_match.hash_file("upload.jpg", ["pdq"]))  # doctest: +SKIP
[{'list': 'known_list', 'entry_id': 'A1', 'category': '1', 'algorithm': 'pdq', 'distance': 4, 'threshold': 31}]
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import faiss
import numpy as np

from .formats import HashList, LoadReport, load_list
from .hashes import HASH_BITS, Hash, match_family

__all__ = ["HashIndex", "IndexFileError", "DEFAULT_THRESHOLDS", "EXACT_ALGORITHMS"]

#: Inclusive Hamming thresholds. PDQ's 31 is Meta's recommendation; the 64-bit hashes' 10 is the
#: usual imagehash practice, to be calibrated (benchmarks/robustness).
DEFAULT_THRESHOLDS: dict[str, int] = {"pdq": 31, "phash": 10, "dhash": 10, "ahash": 10, "whash": 10}
EXACT_ALGORITHMS = ("md5", "sha1", "sha256")
_FORMAT_VERSION = 1


class IndexFileError(ValueError):
    """A saved index is missing, corrupt or altered."""


class _Perceptual:
    """One algorithm's rows: a FAISS binary index and, per row, the entry it came from."""

    def __init__(self, bits: int) -> None:
        self.nbytes = bits // 8
        self.index = faiss.IndexBinaryFlat(bits)  # holds the only copy of the rows
        self._meta: list[np.ndarray] = []
        self._meta_all: np.ndarray | None = None

    def add_many(self, rows: np.ndarray, meta: np.ndarray) -> None:
        """Add packed rows (n x nbytes uint8) in one FAISS call, with their entries' numbers."""
        if len(rows):
            rows = np.ascontiguousarray(rows, dtype=np.uint8).reshape(-1, self.nbytes)
            self.index.add(rows)
            self._meta.append(np.asarray(meta, dtype=np.int64))
            self._meta_all = None

    @property
    def rows(self) -> np.ndarray:
        """The packed rows, read back from FAISS's storage (a copy)."""
        return faiss.vector_to_array(self.index.xb).reshape(-1, self.nbytes)

    @property
    def meta(self) -> np.ndarray:
        if self._meta_all is None:
            self._meta_all = np.concatenate(self._meta) if self._meta else np.zeros(0, np.int64)
        return self._meta_all


class HashIndex:
    """Known-material hashes from any number of lists, matched by threshold.

    Build it (``add_list`` / ``from_lists``), then query it from as many threads as you like
    (``match`` / ``match_many``); adding while querying is not supported.
    """

    def __init__(self, thresholds: Mapping[str, int] | None = None, pdq_quality_floor: int = 50) -> None:
        self.thresholds = {**DEFAULT_THRESHOLDS, **(thresholds or {})}
        self.pdq_quality_floor = pdq_quality_floor
        self._meta: list[tuple[str, str, str | None]] = []  # (list, entry_id, category)
        self._perceptual: dict[str, _Perceptual] = {}
        self._exact: dict[str, dict[str, list[int]]] = {a: {} for a in EXACT_ALGORITHMS}
        self._lists: list[str] = []
        self._lock = threading.Lock()

    # ----------------------------------------------------------------------------- building

    @classmethod
    def from_lists(cls, lists: Iterable[str | Path | HashList], *, strict: bool = False, **options: Any) -> tuple[HashIndex, list[LoadReport]]:
        """An index of the given list files (or ``HashList`` objects), with one report per list."""
        index = cls(**options)
        reports = []
        for item in lists:
            if isinstance(item, HashList):
                hash_list, report = item, LoadReport(item.name, "in-memory", loaded=len(item.entries))
            else:
                hash_list, report = load_list(item, strict=strict)
            index.add_list(hash_list, report)
            reports.append(report)
        return index, reports

    def add_list(self, hash_list: HashList, report: LoadReport | None = None) -> None:
        """Add every entry of a list; entries that cannot be matched are noted in ``report``."""
        skipped_quality = 0
        unmatchable: dict[str, int] = {}
        with self._lock:
            if hash_list.name in self._lists:
                raise ValueError(f"a list named {hash_list.name!r} is in the index already")
            self._lists.append(hash_list.name)
            ids: dict[str, int] = {}
            batches: dict[str, tuple[list[bytes], list[int]]] = {}
            for entry in hash_list.entries:
                family = match_family(entry.algorithm)
                if family == "pdq" and entry.quality is not None and entry.quality < self.pdq_quality_floor:
                    skipped_quality += 1
                    continue
                key = entry.entry_id
                if key not in ids:
                    ids[key] = len(self._meta)
                    self._meta.append((hash_list.name, entry.entry_id, entry.category))
                meta = ids[key]
                if entry.algorithm in EXACT_ALGORITHMS:
                    self._exact[entry.algorithm].setdefault(entry.hex, []).append(meta)
                elif entry.algorithm in HASH_BITS:  # every PDQ dialect goes into the one PDQ table
                    rows, metas = batches.setdefault(family, ([], []))
                    rows.append(bytes.fromhex(entry.hex))
                    metas.append(meta)
                else:
                    unmatchable[entry.algorithm] = unmatchable.get(entry.algorithm, 0) + 1
            for family, (rows, metas) in batches.items():
                table = self._perceptual.setdefault(family, _Perceptual(HASH_BITS[family]))
                table.add_many(np.frombuffer(b"".join(rows), dtype=np.uint8), np.asarray(metas))
        if report is not None:
            if skipped_quality:
                report.notes.append(
                    f"{skipped_quality} PDQ entries with quality under {self.pdq_quality_floor} are not matched"
                )
            for algorithm, count in unmatchable.items():
                if not any(algorithm.lower() in note.lower() for note in report.notes):  # say it once
                    report.notes.append(f"{count} {algorithm} entries are kept in the list but cannot be matched by this tool")

    def __len__(self) -> int:
        return len(self._meta)

    @property
    def lists(self) -> list[str]:
        return list(self._lists)

    @property
    def algorithms(self) -> list[str]:
        """The algorithms that have entries (perceptual and exact)."""
        return sorted([a for a, t in self._perceptual.items() if t.index.ntotal] + [a for a, t in self._exact.items() if t])

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
        """``match`` for many queries at once (one FAISS search per algorithm)."""
        found: list[dict[tuple[str, str, str], int]] = [{} for _ in queries]
        for qi, query in enumerate(queries):
            for algorithm in EXACT_ALGORITHMS:
                value = query.get(algorithm)
                if isinstance(value, str):
                    for meta in self._exact[algorithm].get(value.lower(), ()):
                        self._note(found[qi], meta, algorithm, algorithm, 0)
        for family, table in self._perceptual.items():
            rows, owners, names = self._query_rows(queries, family, variants)
            if not owners or table.index.ntotal == 0:
                continue
            threshold = self.thresholds[family]
            lims, distances, labels = table.index.range_search(np.stack(rows), threshold + 1)
            meta_of_row = table.meta
            for r, qi in enumerate(owners):
                for k in range(lims[r], lims[r + 1]):
                    self._note(found[qi], int(meta_of_row[labels[k]]), family, names[r], int(distances[k]))
        return [self._as_matches(f) for f in found]

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
    def _note(found: dict[tuple[int, str], tuple[int, str]], meta: int, family: str, name: str, distance: int) -> None:
        key = (meta, family)
        if key not in found or distance < found[key][0]:
            found[key] = (distance, name)

    def _as_matches(self, found: dict[tuple[int, str], tuple[int, str]]) -> list[dict[str, Any]]:
        out = []
        for (meta, family), (distance, name) in found.items():
            list_name, entry_id, category = self._meta[meta]
            out.append({"list": list_name, "entry_id": entry_id, "category": category, "algorithm": name,
                        "distance": distance, "threshold": self.thresholds.get(family, 0)})
        out.sort(key=lambda m: (m["distance"], m["list"], m["entry_id"], m["algorithm"]))
        return out

    # ----------------------------------------------------------------------------- persistence

    def save(self, directory: str | Path) -> None:
        """Write the index to a folder: NumPy arrays, JSON, and a manifest of SHA-256 sums."""
        folder = Path(directory)
        folder.mkdir(parents=True, exist_ok=True)
        files: dict[str, str] = {}

        def put_array(name: str, array: np.ndarray) -> None:
            np.save(folder / name, array, allow_pickle=False)
            files[name] = _sha256(folder / name)

        for algorithm, table in self._perceptual.items():
            put_array(f"{algorithm}.rows.npy", table.rows)
            put_array(f"{algorithm}.meta.npy", table.meta)
        for algorithm, table in self._exact.items():
            values = sorted(table)
            width = {"md5": 16, "sha1": 20, "sha256": 32}[algorithm]
            packed = np.frombuffer(b"".join(bytes.fromhex(v) for v in values), np.uint8).reshape(-1, width)
            lengths = np.asarray([len(table[v]) for v in values], dtype=np.int64)
            put_array(f"{algorithm}.values.npy", packed)
            put_array(f"{algorithm}.counts.npy", lengths)
            put_array(f"{algorithm}.meta.npy", np.asarray([m for v in values for m in table[v]], dtype=np.int64))
        entries = folder / "entries.json"
        entries.write_text(json.dumps(self._meta, ensure_ascii=False), encoding="utf-8")
        files["entries.json"] = _sha256(entries)
        manifest = {
            "format": "ocsea-match-index", "version": _FORMAT_VERSION, "lists": self._lists,
            "thresholds": self.thresholds, "pdq_quality_floor": self.pdq_quality_floor,
            "perceptual": sorted(self._perceptual), "files": files,
        }
        (folder / "manifest.json").write_text(json.dumps(manifest, indent=1), encoding="utf-8")

    @classmethod
    def load(cls, directory: str | Path) -> HashIndex:
        """Read a folder written by ``save``; ``IndexFileError`` if anything is missing or altered."""
        folder = Path(directory)
        try:
            manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise IndexFileError(f"{folder}: no readable manifest.json ({exc})") from None
        if manifest.get("format") != "ocsea-match-index" or manifest.get("version") != _FORMAT_VERSION:
            raise IndexFileError(f"{folder}: not an ocsea-match index of version {_FORMAT_VERSION}")
        files: dict[str, str] = manifest.get("files", {})
        for name, digest in files.items():
            path = folder / name
            if not path.is_file() or _sha256(path) != digest:
                raise IndexFileError(f"{path}: missing, corrupt or altered (SHA-256 differs from the manifest)")

        def get_array(name: str) -> np.ndarray:
            if name not in files:
                raise IndexFileError(f"{folder}: the manifest does not list {name}")
            return np.load(folder / name, allow_pickle=False)

        index = cls(thresholds=manifest["thresholds"], pdq_quality_floor=manifest["pdq_quality_floor"])
        index._lists = list(manifest["lists"])
        index._meta = [tuple(m) for m in json.loads((folder / "entries.json").read_text(encoding="utf-8"))]  # type: ignore[misc]
        for algorithm in manifest["perceptual"]:
            rows, meta = get_array(f"{algorithm}.rows.npy"), get_array(f"{algorithm}.meta.npy")
            if rows.ndim != 2 or rows.shape[1] != HASH_BITS[algorithm] // 8 or len(meta) != len(rows):
                raise IndexFileError(f"{folder}: {algorithm} rows and entries do not fit together")
            table = _Perceptual(HASH_BITS[algorithm])
            table.add_many(rows, meta)
            index._perceptual[algorithm] = table
        for algorithm in EXACT_ALGORITHMS:
            values, counts, meta = (get_array(f"{algorithm}.{part}.npy") for part in ("values", "counts", "meta"))
            starts = np.concatenate([[0], np.cumsum(counts)])
            index._exact[algorithm] = {
                values[i].tobytes().hex(): [int(m) for m in meta[starts[i]:starts[i + 1]]] for i in range(len(values))
            }
        return index


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _as_hash(algorithm: str, value: Any) -> Hash | None:
    """A query hash from a record's ``{"hex", "quality"}``, a ``Hash`` or a hex string."""
    if isinstance(value, Hash):
        return value if value.algorithm == algorithm else None
    if isinstance(value, Mapping) and isinstance(value.get("hex"), str):
        return Hash.from_hex(algorithm, value["hex"], value.get("quality"))
    if isinstance(value, str):
        return Hash.from_hex(algorithm, value)
    return None
