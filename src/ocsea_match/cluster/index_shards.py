"""Lists bigger than one machine: an index in N shards, each loaded once on a worker, queried in batches.

``build_sharded_index(lists, folder, shards=N)`` cuts every PDQ list (read into columns,
``formats.columnar``) into N parts (every row of an entry id in the same part, so that an id listed
twice stays one entry) and puts every other list whole into the smallest shard,
and saves each shard with ``HashIndex.save`` (``.npy`` arrays and a manifest, never a pickle) under
``folder/shard-000`` ...; ``folder/manifest.json`` names the shards with the SHA-256 of each
shard's manifest. ``ShardedIndex(client, folder)`` loads each shard once, on a worker of its own
(worker-local state, read from the shared path; a worker that restarts reads it again), fans
queries out to every shard in batches and merges the matches exactly as one ``HashIndex`` orders
them: a threshold search is exact per shard, so the union is the whole index's answer.

>>> from ocsea_match import hash_file
>>> from ocsea_match.cluster import connect
>>> from PIL import Image
>>> Image.effect_noise((64, 64), 64).convert("RGB").save("noise.png")  # enough texture for PDQ's quality floor
>>> record = hash_file("noise.png", ["pdq"])
>>> _ = open("known_list.csv", "w").write(f"hash,id\\n{record['hashes']['pdq']['hex']},A1\\n{'ab' * 32},A2\\n")
>>> [report.loaded for report in build_sharded_index(["known_list.csv"], "index-2", shards=2)]
[2]
>>> with connect("local", jobs=1) as cluster:
...     index = ShardedIndex(cluster, "index-2")
...     found = [(m["entry_id"], m["distance"]) for m in index.match_many([record])[0]]
>>> len(index), found
(2, [('A1', 0)])
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import threading
import zlib
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ..formats import EmptyListError, LoadReport
from ..formats.columnar import read_columns
from ..hashes import match_family
from ..index import HashIndex, IndexFileError

__all__ = ["SHARDED_FORMAT", "ShardedIndex", "build_sharded_index", "is_sharded_index", "merge_matches", "shard_folders",
           "shard_info"]

SHARDED_FORMAT = "ocsea-match-sharded-index"


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def is_sharded_index(folder: str | Path) -> bool:
    """Whether ``folder`` holds a sharded index (its manifest says so)."""
    try:
        return json.loads((Path(folder) / "manifest.json").read_text(encoding="utf-8")).get("format") == SHARDED_FORMAT
    except (OSError, ValueError, AttributeError):
        return False


def _take(columns: Any, rows: np.ndarray | slice) -> Any:
    """Some rows of a list's columns (in their order), with a report of their own (the quality-floor lines)."""
    ids = columns.ids
    if isinstance(ids, list):
        ids = ids[rows] if isinstance(rows, slice) else [ids[i] for i in rows.tolist()]
    elif ids is not None:
        ids = ids[rows]
    quality = columns.quality[rows] if columns.quality is not None else None
    return dataclasses.replace(
        columns, head=columns.head[rows], tail=columns.tail[rows], numbers=columns.numbers[rows],
        ids=ids, codes=columns.codes[rows], quality=quality,
        report=LoadReport(columns.name, columns.report.format, unit=columns.report.unit))


def _shard_of_rows(columns: Any, shards: int) -> list[np.ndarray | slice]:
    """Which rows go to each shard: every row of an entry id to the same one (an id listed twice is
    one entry, as in one index), contiguous parts when every row is an entry of its own."""
    if columns.ids is None:
        bounds = np.linspace(0, len(columns), shards + 1).astype(np.int64)
        return [slice(int(bounds[i]), int(bounds[i + 1])) for i in range(shards)]
    if isinstance(columns.ids, list):
        keys = np.fromiter((zlib.crc32(i.encode("utf-8", "surrogatepass")) for i in columns.ids), np.uint64,
                           len(columns.ids))
    else:
        keys = columns.ids.astype(np.uint64)
    with np.errstate(over="ignore"):
        mixed = (keys * np.uint64(0x9E3779B97F4A7C15)) >> np.uint64(33)  # spread ids that share a stride
    owner = (mixed % np.uint64(shards)).astype(np.int64)
    return [np.flatnonzero(owner == i) for i in range(shards)]


def build_sharded_index(
    lists: Iterable[str | Path], folder: str | Path, *, shards: int, strict: bool = False, **options: Any,
) -> list[LoadReport]:
    """Write a sharded index of the list files into ``folder``; one load report per list.

    ``options`` go to every shard's ``HashIndex`` (``thresholds``, ``pdq_quality_floor``). The
    reports are what ``HashIndex.from_lists`` gives for the same files.
    """
    if shards < 1:
        raise ValueError("--shards must be at least 1")
    parts = [HashIndex(**options) for _ in range(shards)]
    sizes = [0] * shards
    reports: list[LoadReport] = []
    for path in lists:
        columns = read_columns(path, strict=strict)
        if columns is None:  # not a PDQ list: whole, into the smallest shard (VICS, JSONL ... streamed)
            smallest = sizes.index(min(sizes))
            before = len(parts[smallest])
            reports.append(parts[smallest].add_list_file(path, strict=strict))
            sizes[smallest] += len(parts[smallest]) - before
            continue
        added = 0
        unmatched: list[tuple[int, tuple[str, str]]] = []  # (row, line): the report in the list's order
        for i, rows in enumerate(_shard_of_rows(columns, shards)):
            piece = _take(columns, rows)
            if not len(piece):
                continue
            try:
                parts[i].add_columns(piece)
                added += 1
                sizes[i] += len(piece)
            except EmptyListError:  # every row of this piece under the floor; the others may hold some
                pass
            if piece.report.unmatched:
                positions = np.arange(len(columns))[rows]
                floor = parts[i].pdq_quality_floor
                under_rows = positions[(piece.quality >= 0) & (piece.quality < floor)].tolist()
                unmatched += zip(under_rows, piece.report.unmatched)
        columns.report.unmatched += [line for _, line in sorted(unmatched, key=lambda u: u[0])]
        under = len(unmatched)
        if under:
            noun = "PDQ entry" if under == 1 else "PDQ entries"
            columns.report.notes.append(f"{under} {noun} with quality under {parts[0].pdq_quality_floor} "
                                        "not matched (named above)")
        if not added:
            raise EmptyListError(f"list {columns.name!r}: no entry can be matched", columns.report)
        reports.append(columns.report)
    if not reports:
        raise EmptyListError("no list given: an index of nothing would match nothing")
    out = Path(folder)
    out.mkdir(parents=True, exist_ok=True)
    described = []
    for i, part in enumerate(parts):
        name = f"shard-{i:03d}"
        if not len(part):
            continue  # fewer rows than shards: no empty shard is written
        part.save(out / name)
        described.append({"folder": name, "entries": len(part), "manifest_sha256": _sha256(out / name / "manifest.json")})
    manifest = {"format": SHARDED_FORMAT, "version": 1, "shards": described,
                "lists": [r.list_name for r in reports], "thresholds": parts[0].thresholds,
                "pdq_quality_floor": parts[0].pdq_quality_floor}
    (out / "manifest.json").write_text(json.dumps(manifest, indent=1, ensure_ascii=False), encoding="utf-8")
    return reports


def shard_folders(folder: Path) -> list[Path]:
    """The shard folders a sharded index's manifest names, each one's manifest checked (its SHA-256)."""
    try:
        manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise IndexFileError(f"{folder}: no readable manifest.json ({exc})") from None
    if not isinstance(manifest, dict) or manifest.get("format") != SHARDED_FORMAT:
        raise IndexFileError(f"{folder}: not a sharded ocsea-match index")
    out = []
    for shard in manifest.get("shards", []):
        path = folder / str(shard.get("folder", ""))
        if Path(shard.get("folder", "")).name != shard.get("folder") or not (path / "manifest.json").is_file() \
                or _sha256(path / "manifest.json") != shard.get("manifest_sha256"):
            raise IndexFileError(f"{path}: missing or altered (its manifest's SHA-256 differs)")
        out.append(path)
    if not out:
        raise IndexFileError(f"{folder}: a sharded index with no shard")
    return out


# ------------------------------------------------------------------------------------- on the workers

_loaded: dict[str, HashIndex] = {}  # per worker process: shard folder -> its index, loaded once
_load_lock = threading.Lock()


def load_shard(path: str) -> dict[str, Any]:
    """Load the shard at ``path`` into this worker (once; ``HashIndex.load`` checks every file) and
    return what it holds (``shard_info``)."""
    with _load_lock:
        if path not in _loaded:
            _loaded[path] = HashIndex.load(path, threads=1)
        return shard_info(_loaded[path])


def shard_info(index: HashIndex) -> dict[str, Any]:
    """A shard's entries, algorithms and rows per perceptual table (what match and scan ask of an index)."""
    return {"entries": len(index), "algorithms": index.algorithms, "robust": index.robust,
            "tables": {family: len(table) for family, table in index.parts.perceptual.items() if len(table)}}


def match_shard(path: str, queries: list[dict[str, Any]]) -> list[list[dict[str, Any]]]:
    """``match_many`` of one shard on this worker (loaded again if the worker restarted)."""
    load_shard(path)
    return _loaded[path].match_many(queries)


def merge_matches(per_shard: Sequence[list[dict[str, Any]]]) -> list[dict[str, Any]]:
    """One query's matches from every shard, as one ``HashIndex`` gives them: an entry (list, id,
    family) once at its smallest distance, nearest first (distance, list, entry id, algorithm)."""
    best: dict[tuple[str, str, str], dict[str, Any]] = {}
    others: list[dict[str, Any]] = []
    for matches in per_shard:
        for m in matches:
            if "distance" not in m or m.get("algorithm") in ("vpdq", "tmk"):
                others.append(m)  # video lists are never cut: one shard holds each whole
                continue
            key = (m["list"], m["entry_id"], match_family(m["algorithm"]))
            if key not in best or m["distance"] < best[key]["distance"]:
                best[key] = m
    plain = sorted(best.values(), key=lambda m: (m["distance"], m["list"], m["entry_id"], m["algorithm"]))
    return plain + others


class ShardedIndex:
    """A sharded index served by a Dask cluster: each shard loaded once on a worker, queries fanned out.

    ``client``: a ``dask.distributed.Client`` (or a ``Cluster``); the workers read the shards at
    ``folder`` (a shared path). ``batch``: queries sent to a shard per task.
    """

    def __init__(self, client: Any, folder: str | Path, *, batch: int = 2048) -> None:
        self.client = getattr(client, "executor", client)
        self.folder = Path(folder).absolute()
        self.batch = max(1, batch)
        self.shards = [os.fspath(p) for p in shard_folders(self.folder)]
        workers = sorted(self.client.scheduler_info()["workers"])
        self.placement = {path: workers[i % len(workers)] for i, path in enumerate(self.shards)}
        loads = [self.client.submit(load_shard, path, workers=[w], allow_other_workers=True, pure=False)
                 for path, w in self.placement.items()]
        self.infos = [f.result() for f in loads]
        self.entries = sum(info["entries"] for info in self.infos)

    def __len__(self) -> int:
        return self.entries

    def match(self, query: Mapping[str, Any]) -> list[dict[str, Any]]:
        """Matches of one file record, as ``HashIndex.match`` gives them."""
        return self.match_many([dict(query)])[0]

    def match_many(self, queries: Sequence[Mapping[str, Any]]) -> list[list[dict[str, Any]]]:
        """``match`` for many records: every shard searched in batches, the matches merged exactly."""
        queries = [dict(q) for q in queries]
        futures = []
        for start in range(0, len(queries), self.batch):
            part = queries[start:start + self.batch]
            futures.append([self.client.submit(match_shard, path, part, workers=[w], allow_other_workers=True,
                                               pure=False) for path, w in self.placement.items()])
        out: list[list[dict[str, Any]]] = []
        for per_batch in futures:
            results = [f.result() for f in per_batch]
            out += [merge_matches([r[i] for r in results]) for i in range(len(results[0]))]
        return out
